#!/usr/bin/env python3
"""Landing benchmark: pstn-lake `ingest` against DuckDB on the same Graph pages, same machine, same run.

It generates N realistic pstnCallLogRow rows as Graph pages (deterministic: `pstn-lake simulate
--write-pages`, seed 42), then lands them as day-partitioned zstd Parquet with

  * pstn-lake:  pstn-lake ingest PAGES --lake OUT
  * DuckDB typed: read_json(columns = the typed schema) + COPY ... (FORMAT parquet, PARTITION_BY (call_date), COMPRESSION zstd)
  * DuckDB auto:  read_json (type detection; money detected as DOUBLE, cast back to DECIMAL(18,6)) + the same COPY

each --runs times, and prints the median wall time, rows/s, peak RSS (of the whole process) and the
ratio. Both outputs are checked to hold the same rows and the same exact sum(charge) before any
number is printed.

    python3 bench/land.py                       # 10 days x 100,000 rows, 3 runs
    python3 bench/land.py --days 2 --rows-per-day 20000 --runs 1   # quick look
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PSTN_COLUMNS = [
    ("id", "VARCHAR"), ("callId", "VARCHAR"), ("userId", "VARCHAR"), ("userPrincipalName", "VARCHAR"),
    ("userDisplayName", "VARCHAR"), ("startDateTime", "TIMESTAMPTZ"), ("endDateTime", "TIMESTAMPTZ"),
    ("duration", "INTEGER"), ("charge", "DECIMAL(18,6)"), ("connectionCharge", "DECIMAL(18,6)"),
    ("currency", "VARCHAR"), ("callType", "VARCHAR"), ("calleeNumber", "VARCHAR"), ("callerNumber", "VARCHAR"),
    ("usageCountryCode", "VARCHAR"), ("tenantCountryCode", "VARCHAR"), ("destinationContext", "VARCHAR"),
    ("destinationName", "VARCHAR"), ("conferenceId", "VARCHAR"), ("licenseCapability", "VARCHAR"),
    ("inventoryType", "VARCHAR"), ("operator", "VARCHAR"), ("callDurationSource", "VARCHAR"),
    ("otherPartyCountryCode", "VARCHAR"), ("administrativeUnitInfos", "STRUCT(id VARCHAR)[]"),
    ("clientLocalIpV4Address", "VARCHAR"), ("clientLocalIpV6Address", "VARCHAR"),
    ("clientPublicIpV4Address", "VARCHAR"), ("clientPublicIpV6Address", "VARCHAR"),
]

DUCKDB_SCRIPT = r"""
import duckdb, sys
mode, pages, out, struct = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
if mode == "typed":
    # The schema given, as pstn-lake has it: exact DECIMAL(18,6) money, TIMESTAMPTZ.
    source = f"read_json('{pages}/*.json', columns = {{'value': '{struct}[]'}})"
    select = "SELECT r.*, CAST(r.startDateTime AS DATE) AS call_date FROM (SELECT unnest(value) AS r FROM " + source + ")"
else:
    # DuckDB's own type detection (its fastest path): money is detected as DOUBLE, so it is cast
    # to DECIMAL(18,6) on the way out (exact again for values with at most 6 decimals).
    source = f"read_json('{pages}/*.json')"
    select = ("SELECT * REPLACE (CAST(charge AS DECIMAL(18,6)) AS charge, "
              "CAST(connectionCharge AS DECIMAL(18,6)) AS connectionCharge), CAST(startDateTime AS DATE) AS call_date "
              "FROM (SELECT unnest(value, recursive := true) FROM " + source + ")")
con.execute(f"COPY ({select}) TO '{out}' (FORMAT parquet, PARTITION_BY (call_date), COMPRESSION zstd)")
"""


def run_measured(cmd, env=None):
    """Runs cmd; returns (wall seconds, peak RSS in MB of the process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{stderr}")
    return wall, usage.ru_maxrss / 1024.0


def check_same(lake, duck, rows):
    import duckdb
    con = duckdb.connect()
    ours = con.sql(f"SELECT count(*), count(DISTINCT id), CAST(sum(charge) AS VARCHAR), count(DISTINCT call_date) "
                   f"FROM read_parquet('{lake}/pstn_calls/*/*.parquet', hive_partitioning = true)").fetchall()[0]
    theirs = con.sql(f"SELECT count(*), count(DISTINCT id), CAST(sum(charge) AS VARCHAR), count(DISTINCT call_date) "
                     f"FROM read_parquet('{duck}/*/*.parquet', hive_partitioning = true)").fetchall()[0]
    if ours != theirs or ours[0] != rows:
        sys.exit(f"outputs differ: pstn-lake {ours}, DuckDB {theirs}, expected {rows} rows")
    kinds = {r[0]: r[1] for r in con.sql(f"DESCRIBE SELECT * FROM read_parquet('{duck}/*/*.parquet')").fetchall()}
    if kinds.get("charge") != "DECIMAL(18,6)" or kinds.get("startDateTime") != "TIMESTAMP WITH TIME ZONE":
        sys.exit(f"DuckDB wrote other types than pstn-lake: {kinds}")
    return ours


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--rows-per-day", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", help="a pstn-lake binary (default: build target/release/pstn-lake without the query feature)")
    ap.add_argument("--work", help="scratch folder (default: a temporary one, removed at the end)")
    args = ap.parse_args()

    try:
        import duckdb  # noqa: F401
    except ImportError:
        sys.exit("DuckDB for Python is needed: python3 -m pip install duckdb")

    binary = args.bin
    if not binary:
        print("building pstn-lake (release, ingest only: --no-default-features) ...", flush=True)
        subprocess.run(["cargo", "build", "--release", "--no-default-features", "--quiet"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        binary = os.path.join(target, "release", "pstn-lake")

    work = args.work or tempfile.mkdtemp(prefix="pstn-lake-bench-")
    os.makedirs(work, exist_ok=True)
    pages_root = os.path.join(work, "pages")
    rows = args.days * args.rows_per_day
    if not os.path.isdir(os.path.join(pages_root, "pstn_calls")):
        print(f"generating {rows:,} PSTN rows as Graph pages ...", flush=True)
        subprocess.run([binary, "simulate", "--write-pages", pages_root, "--days", str(args.days),
                        "--calls-per-day", str(args.rows_per_day), "--first-day", "2026-08-01", "--seed", "42"],
                       check=True)
    pages = os.path.join(pages_root, "pstn_calls")
    size = sum(os.path.getsize(os.path.join(pages, f)) for f in os.listdir(pages))
    struct = "STRUCT(" + ", ".join(f'"{n}" {t}' for n, t in PSTN_COLUMNS) + ")"

    engines = ["pstn-lake", "DuckDB typed", "DuckDB auto"]
    results = {name: [] for name in engines}
    lake, duck = os.path.join(work, "lake"), os.path.join(work, "duck")
    for run in range(args.runs):
        for name in engines:
            out = lake if name == "pstn-lake" else duck
            shutil.rmtree(out, ignore_errors=True)
            if name == "pstn-lake":
                cmd = [binary, "ingest", pages, "--lake", out]
            else:
                cmd = [sys.executable, "-c", DUCKDB_SCRIPT, name.split()[1], pages, out, struct]
            wall, rss = run_measured(cmd)
            results[name].append((wall, rss))
            print(f"  run {run + 1}: {name:<12} {wall:6.2f} s  {rss:7.0f} MB peak RSS", flush=True)
            if name != "pstn-lake":
                check_same(lake, duck, rows)

    print()
    print(f"Landing {rows:,} pstnCallLogRow rows ({size / 1e6:,.0f} MB of Graph pages, {args.days} days) "
          f"as day-partitioned zstd Parquet; median of {args.runs} run(s); {os.cpu_count()} cores")
    print(f"| engine | wall (s) | rows/s | MB/s of JSON | peak RSS (MB) |")
    print(f"|---|---:|---:|---:|---:|")
    medians = {}
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        rss = max(r for _, r in runs)
        medians[name] = wall
        print(f"| {name} | {wall:.2f} | {rows / wall:,.0f} | {size / 1e6 / wall:,.0f} | {rss:,.0f} |")
    for peer in engines[1:]:
        print(f"pstn-lake / {peer} throughput ratio: {medians[peer] / medians['pstn-lake']:.2f}x")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
