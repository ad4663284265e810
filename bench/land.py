#!/usr/bin/env python3
"""Landing benchmark: pstn-lake `ingest` against DuckDB on the same Graph pages, same machine, same run.

It writes N pstnCallLogRow rows as Graph pages with the simulator (`pstn-lake simulate
--write-pages`, seed 42) and lands them as day-partitioned zstd Parquet with

  * pstn-lake:    pstn-lake ingest PAGES --lake OUT        (zstd level 1: crates/sink/src/day.rs)
  * DuckDB auto:  read_json (type detection, its fastest path; money is detected as DOUBLE and cast
                  back to DECIMAL(18,6)) + COPY ... (FORMAT parquet, PARTITION_BY (call_date),
                  COMPRESSION zstd, COMPRESSION_LEVEL 1 | 3); level 1 is pstn-lake's, 3 DuckDB's default
  * DuckDB typed: read_json(columns = the typed schema) + the same COPY at level 3

each --runs times, and prints, per engine, the median wall time, rows/s, peak RSS of the process,
the Parquet bytes written and the compression used. Before any number is printed, every output is
checked to hold the same rows, distinct ids, days and exact sum(charge) as pstn-lake's landing of
the simulator's pages, and DuckDB's outputs to have pstn-lake's types (DECIMAL(18,6) money,
TIMESTAMP WITH TIME ZONE).

Two more inputs hold the same rows written differently (pstn-lake against DuckDB auto):

  * other: the simulator's pages rewritten by Python's json module as another exporter would write
    them: every row's keys in its own order (shuffled, seed 42), indent=1;
  * escaped: the same rows with escaped strings: ensure_ascii=True (non-ASCII as \\uXXXX), an "é"
    in every tenth user's display name (so every page has \\u00e9), every "/" written as "\\/".
    pstn-lake's page scanner hands a page with any escape to its serde path, the slower one.

    python3 bench/land.py --bin B               # 10 days x 100,000 rows, 3 runs, all three inputs
    python3 bench/land.py --bin B --days 2 --rows-per-day 10000 --runs 1   # quick look
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from query import measured  # noqa: E402  (wall time and peak RSS of one process: one implementation)

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

# The zstd level pstn-lake writes (crates/sink/src/day.rs, ZSTD_LEVEL); DuckDB's default is 3.
PSTN_LAKE_ZSTD = 1

DUCKDB_SCRIPT = r"""
import duckdb, sys
mode, level, pages, out, struct = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
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
con.execute(f"COPY ({select}) TO '{out}' "
            f"(FORMAT parquet, PARTITION_BY (call_date), COMPRESSION zstd, COMPRESSION_LEVEL {level})")
"""

# (label, DuckDB mode or None for pstn-lake, zstd level)
ENGINES = [
    ("pstn-lake", None, PSTN_LAKE_ZSTD),
    ("DuckDB auto, zstd 1", "auto", 1),
    ("DuckDB auto, zstd 3", "auto", 3),
    ("DuckDB typed, zstd 3", "typed", 3),
]
INPUTS = {
    "simulator": "pages as the simulator writes them (Graph's shape: one line, keys in Graph's order, no escapes)",
    "other": "the same rows rewritten by Python's json module: each row's keys shuffled (seed 42), indent=1",
    "escaped": "the same rows with escapes: ensure_ascii=True, \\u00e9 in every tenth display name, \"/\" as \"\\/\"",
}
ENGINES_OF = {"simulator": [e[0] for e in ENGINES], "other": [e[0] for e in ENGINES[:3]],
              "escaped": [e[0] for e in ENGINES[:3]]}


def parquet_bytes(folder):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs
               if f.endswith(".parquet"))


def summary(con, glob, name_column):
    """Rows, distinct ids, exact sum(charge), days, display names with an é."""
    return con.sql(f"SELECT count(*), count(DISTINCT id), CAST(sum(charge) AS VARCHAR), count(DISTINCT call_date), "
                   f"count(*) FILTER (WHERE {name_column} LIKE '%é%') "
                   f"FROM read_parquet('{glob}', hive_partitioning = true)").fetchall()[0]


def check(out, duckdb_mode, expected):
    """Checks an output against `expected` (pstn-lake's landing of the simulator's pages, with the
    é count of this input); returns the output's summary."""
    import duckdb
    con = duckdb.connect()
    if duckdb_mode is None:
        got = summary(con, f"{out}/pstn_calls/*/*.parquet", "user_display_name")
    else:
        got = summary(con, f"{out}/*/*.parquet", '"userDisplayName"')
        kinds = {r[0]: r[1] for r in con.sql(f"DESCRIBE SELECT * FROM read_parquet('{out}/*/*.parquet')").fetchall()}
        if kinds.get("charge") != "DECIMAL(18,6)" or kinds.get("startDateTime") != "TIMESTAMP WITH TIME ZONE":
            sys.exit(f"DuckDB wrote other types than pstn-lake: {kinds}")
    if expected is not None and got != expected:
        sys.exit(f"{out}: {got} (rows, ids, sum(charge), days, names with é), expected {expected}")
    return got


def rewrite(source, target, kind):
    """Writes the pages of `source` into `target` in another shape (see the docstring); returns
    how many display names hold an é."""
    os.makedirs(target, exist_ok=True)
    rng = random.Random(42)
    accented = 0
    for name in sorted(os.listdir(source)):
        with open(os.path.join(source, name), encoding="utf-8") as f:
            page = json.load(f)
        rows = []
        for i, row in enumerate(page["value"]):
            if kind == "other":
                keys = list(row)
                rng.shuffle(keys)
                rows.append({k: row[k] for k in keys})
            else:
                if i % 10 == 0 and row.get("userDisplayName"):
                    row["userDisplayName"] = "é" + row["userDisplayName"]
                rows.append(row)
            accented += "é" in (row.get("userDisplayName") or "")
        page["value"] = rows
        if kind == "other":
            text = json.dumps(page, ensure_ascii=False, indent=1)
        else:
            # "/" appears only inside strings (JSON's syntax has none), so this only escapes.
            text = json.dumps(page, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")
        with open(os.path.join(target, name), "w", encoding="utf-8") as f:
            f.write(text)
    return accented


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--rows-per-day", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--inputs", default="simulator,other,escaped", help="comma-separated: " + ", ".join(INPUTS))
    ap.add_argument("--bin", help="a pstn-lake binary (default: build target/release/pstn-lake without the query feature)")
    ap.add_argument("--work", help="scratch folder; its pages are reused (default: a temporary one, removed at the end)")
    args = ap.parse_args()
    inputs = args.inputs.split(",")
    if inputs[0] != "simulator" or any(i not in INPUTS for i in inputs):
        sys.exit(f"--inputs: 'simulator' first, then any of {', '.join(INPUTS)}")

    try:
        import duckdb  # noqa: F401
    except ImportError:
        sys.exit("DuckDB for Python is needed: python3 -m pip install duckdb")

    binary = args.bin
    if not binary:
        print("  building pstn-lake (release, ingest only: --no-default-features) ...", flush=True)
        subprocess.run(["cargo", "build", "--release", "--no-default-features", "--quiet"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        binary = os.path.join(target, "release", "pstn-lake")

    work = args.work or tempfile.mkdtemp(prefix="pstn-lake-bench-")
    os.makedirs(work, exist_ok=True)
    rows = args.days * args.rows_per_day
    sim_root = os.path.join(work, "pages")
    if not os.path.isdir(os.path.join(sim_root, "pstn_calls")):
        print(f"  generating {rows:,} PSTN rows as Graph pages ...", flush=True)
        subprocess.run([binary, "simulate", "--write-pages", sim_root, "--days", str(args.days),
                        "--calls-per-day", str(args.rows_per_day), "--first-day", "2026-08-01", "--seed", "42", "-q"],
                       check=True)
    pages = {"simulator": os.path.join(sim_root, "pstn_calls")}
    accented = {}  # display names with an é, per input; the simulator's is counted in its landing
    for kind in inputs[1:]:
        pages[kind] = os.path.join(work, f"pages-{kind}", "pstn_calls")
        done = os.path.join(work, f"pages-{kind}", "done")
        if not os.path.exists(done):
            print(f"  rewriting the pages: {kind} ...", flush=True)
            shutil.rmtree(os.path.dirname(pages[kind]), ignore_errors=True)
            n = rewrite(pages["simulator"], pages[kind], kind)
            with open(done, "w") as f:
                f.write(str(n))
        with open(done) as f:
            accented[kind] = int(f.read())
    struct = "STRUCT(" + ", ".join(f'"{n}" {t}' for n, t in PSTN_COLUMNS) + ")"
    level = {name: lvl for name, _, lvl in ENGINES}
    mode = {name: m for name, m, _ in ENGINES}

    baseline = None  # (rows, ids, sum(charge), days) of pstn-lake's landing of the simulator's pages
    results = {}
    sizes = {}
    for kind in inputs:
        for run in range(args.runs):
            for name in ENGINES_OF[kind]:
                out = os.path.join(work, "out")
                shutil.rmtree(out, ignore_errors=True)
                if mode[name] is None:
                    cmd = [binary, "ingest", pages[kind], "--lake", out, "-q"]
                else:
                    cmd = [sys.executable, "-c", DUCKDB_SCRIPT, mode[name], str(level[name]), pages[kind], out, struct]
                wall, rss, _ = measured(cmd)
                if baseline is None:
                    *baseline, accented["simulator"] = check(out, None, None)
                    baseline = tuple(baseline)
                    if baseline[0] != rows:
                        sys.exit(f"pstn-lake landed {baseline[0]} rows of {rows}")
                check(out, mode[name], baseline + (accented[kind],))
                results.setdefault((kind, name), []).append((wall, rss))
                sizes[(kind, name)] = parquet_bytes(out)
                print(f"  {kind} run {run + 1}: {name:<20} {wall:6.2f} s  {rss:7.0f} MB peak RSS", flush=True)
    shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)

    print()
    print(f"Every output below holds the same {baseline[0]:,} rows, {baseline[1]:,} distinct ids, {baseline[3]} days "
          f"and sum(charge) = {baseline[2]} (checked after every run); DuckDB's outputs have pstn-lake's types "
          f"(DECIMAL(18,6) money, TIMESTAMP WITH TIME ZONE). Median of {args.runs} run(s), each a whole process "
          f"(process start included); peak RSS is the largest of the runs; output = Parquet bytes written.")
    for kind in inputs:
        size = sum(os.path.getsize(os.path.join(pages[kind], f)) for f in os.listdir(pages[kind]))
        print()
        print(f"**Input: {kind}** ({size / 1e6:,.0f} MB of JSON in {len(os.listdir(pages[kind]))} pages): {INPUTS[kind]}.")
        print()
        print(f"| engine ({kind}) | compression | wall (s) | rows/s | MB/s of JSON | peak RSS (MB) | output (MB) | runs (s) |")
        print("|---|---|---:|---:|---:|---:|---:|---|")
        medians = {name: statistics.median(w for w, _ in results[(kind, name)]) for name in ENGINES_OF[kind]}
        # The fair figure: DuckDB's fastest path to the same types (an auto-detect row) comes first.
        autos = sorted((n for n in ENGINES_OF[kind] if mode[n] == "auto"), key=lambda n: medians[n])
        fair = autos[0]
        order = ["pstn-lake"] + autos + [n for n in ENGINES_OF[kind] if mode[n] == "typed"]
        for name in order:
            runs = results[(kind, name)]
            wall = medians[name]
            rss = max(r for _, r in runs)
            compression = f"zstd level {level[name]}" + (" (DuckDB's default)" if mode[name] and level[name] == 3 else "")
            print(f"| {name} | {compression} | {wall:.2f} | {rows / wall:,.0f} | {size / 1e6 / wall:,.0f} | {rss:,.0f} "
                  f"| {sizes[(kind, name)] / 1e6:,.1f} | {', '.join(f'{w:.2f}' for w, _ in runs)} |")
        print()
        print(f"- fair figure ({kind}): DuckDB's fastest path to the same types is {fair}: "
              f"pstn-lake / {fair} throughput ratio {medians[fair] / medians['pstn-lake']:.2f}x")
        for name in order[2:]:
            print(f"- pstn-lake / {name} throughput ratio ({kind}): {medians[name] / medians['pstn-lake']:.2f}x")
        if level[fair] != PSTN_LAKE_ZSTD:
            print(f"- note: the fair figure compresses at zstd level {level[fair]}, pstn-lake at level {PSTN_LAKE_ZSTD}")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
