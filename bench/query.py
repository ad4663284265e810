#!/usr/bin/env python3
"""Query benchmark: `pstn-lake report charges-by-country` against DuckDB on the same Parquet files.

It lands N days x M PSTN calls into a lake with `pstn-lake sync` from the bundled Graph simulator
(default 100 days x 100,000 = 10,000,000 rows; the sync's wall time and peak RSS are printed too,
since that sync is the memory target "10 M rows stays bounded by about one day's data"), then runs

  * pstn-lake:  pstn-lake report charges-by-country --lake LAKE --format csv
  * DuckDB:     duckdb -csv -c "<the same SQL over read_parquet(..., hive_partitioning = true)>"

each --runs times as whole processes (process start included), checks that both print the same
rows and exact sums, and prints the median wall time and the ratio. It then runs the report for
one day under EXPLAIN ANALYZE and prints the scan's metrics, which show that only that day's file
was opened. Last, start-up: the binary's size and the wall time of `pstn-lake --version` and
`pstn-lake sql --lake LAKE "SELECT 1"` against `duckdb -c "SELECT 1"` (median of 20 runs each).

DuckDB is its native CLI (PyPI `duckdb-cli`), so neither side pays for a Python interpreter: the
`duckdb` command that package puts on PATH is a Python launcher that starts the native binary
beside it, so the benchmark runs that binary directly (see `duckdb_cli()`).

    python3 bench/query.py --bin <release pstn-lake>                 # 10 M rows, 5 runs
    python3 bench/query.py --bin <pstn-lake> --days 10 --calls-per-day 20000 --runs 3   # quick look
"""

import argparse
import datetime
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The report's aggregates in DuckDB's SQL: the same grouping, the same exact decimal sums.
DUCKDB_SQL = """
SELECT usage_country_code AS country, currency, count(*) AS calls,
       sum(CAST(duration AS BIGINT)) AS seconds,
       sum(charge) AS charge, sum(connection_charge) AS connection_charge
FROM read_parquet('{lake}/pstn_calls/*/*.parquet', hive_partitioning = true)
GROUP BY ALL ORDER BY country NULLS LAST, currency NULLS LAST
"""

COMPARED = ["country", "currency", "calls", "seconds", "charge", "connection_charge"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measured(cmd, env=None):
    """Runs cmd; returns (wall seconds, peak RSS MB of that process, stdout). The peak is GNU time's
    (`%M`) for the command alone, not the rusage of the child this process forks: Linux keeps a
    process's peak RSS across exec, so that child would start from this interpreter's peak (tens of
    MB once duckdb is imported) and a small command would show it."""
    if not os.path.exists("/usr/bin/time"):
        sys.exit("GNU time is needed for peak RSS: apt-get install time")
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "--"] + cmd, stdout=subprocess.PIPE, stderr=err,
                                env=env)
        out = proc.stdout.read()
        status = proc.wait()
        wall = time.perf_counter() - start
        proc.stdout.close()
        err.seek(0)
        lines = err.read().decode(errors="replace").splitlines()
        if status != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n" + "\n".join(lines))
    return wall, int(lines[-1]) / 1024.0, out.decode()


def duckdb_cli():
    """The native DuckDB CLI. PyPI's `duckdb-cli` installs `duckdb` as a Python script that starts
    `<site-packages>/duckdb_cli/duckdb`; timing the script would add a Python start-up (tens of ms) to
    every DuckDB run. The script's own interpreter says where that package is."""
    path = shutil.which("duckdb")
    if not path:
        sys.exit("the DuckDB CLI is needed: python3 -m pip install duckdb-cli")
    with open(path, "rb") as f:
        first = f.readline()
    if not first.startswith(b"#!"):
        return path
    python = first[2:].decode().strip().split()[0]
    found = subprocess.run([python, "-c", "import duckdb_cli, os; print(os.path.dirname(duckdb_cli.__file__))"],
                           capture_output=True, text=True)
    native = os.path.join(found.stdout.strip(), "duckdb")
    if found.returncode != 0 or not os.path.isfile(native):
        sys.exit(f"{path} is a script and the native DuckDB CLI beside its package was not found")
    return native


# The simulator's tenant and app (any secret; it only checks the shape of the token request).
CREDENTIALS = {"AZURE_TENANT_ID": "00000000-0000-0000-0000-000000000001",
               "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000002",
               "AZURE_CLIENT_SECRET": "sim-client-secret"}


def land(binary, lake, days, calls, first_day=datetime.date(2026, 1, 1), tables=("pstn_calls",),
         simulate_args=(), sync_args=()):
    """Syncs `tables` of `days` days x `calls` calls a day from `first_day` into `lake`, from a
    simulator of its own (`simulate_args` added to its command line, `sync_args` to the sync's);
    returns the sync's (wall s, peak RSS MB)."""
    port = free_port()
    sim = subprocess.Popen([binary, "simulate", "--port", str(port), "--days", str(days),
                            "--calls-per-day", str(calls), "--first-day", first_day.isoformat(), "-q",
                            *simulate_args],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        sim.stdout.readline()  # the simulator prints its URL once it listens
        url = f"http://127.0.0.1:{port}"
        last = first_day + datetime.timedelta(days=days - 1)
        wall, rss, _ = measured([binary, "sync", "--graph-url", url, "--login-url", url, *sync_args,
                                 "--tables", ",".join(tables), "--from", first_day.isoformat(),
                                 "--to", last.isoformat(), "--lake", lake, "-q"],
                                env=dict(os.environ, **CREDENTIALS))
    finally:
        sim.terminate()
        sim.wait()
    return wall, rss


def rows_of(csv_text):
    lines = csv_text.strip().splitlines()
    header = lines[0].split(",")
    idx = [header.index(c) for c in COMPARED]
    norm = lambda v: re.sub(r"\.?0+$", "", v) if "." in v else v  # 1.500000 and 1.5 are the same number
    return [tuple(norm(r.split(",")[i]) for i in idx) for r in lines[1:]]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="a pstn-lake binary with the query feature (release)")
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--calls-per-day", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--lake", help="reuse (or create) the lake here instead of a temporary folder")
    args = ap.parse_args()
    duckdb = duckdb_cli()

    lake = args.lake or tempfile.mkdtemp(prefix="pstn-lake-query-")
    rows = args.days * args.calls_per_day
    report = []
    if not os.path.isdir(os.path.join(lake, "pstn_calls")):
        print(f"  syncing {rows:,} PSTN rows ({args.days} days) from the simulator into {lake} ...", flush=True)
        wall, rss = land(args.bin, lake, args.days, args.calls_per_day)
        report.append(f"- sync: {wall:.1f} s, {rows / wall:,.0f} rows/s, peak RSS {rss:,.0f} MB "
                      f"(unthrottled simulator, excluded from the RSS: it is another process)")
        # What "about one day's data" means here: the peak of syncing a single day of the same size.
        print(f"  syncing one day of {args.calls_per_day:,} rows ...", flush=True)
        one_day = tempfile.mkdtemp(prefix="pstn-lake-one-day-")
        try:
            _, rss1 = land(args.bin, one_day, 1, args.calls_per_day)
        finally:
            shutil.rmtree(one_day, ignore_errors=True)
        report.append(f"- one-day sync ({args.calls_per_day:,} rows): peak RSS {rss1:,.0f} MB; "
                      f"the {args.days}-day sync peaks at {rss / rss1:.2f}x that")
    else:
        report.append(f"- the lake was synced by an earlier run (no sync figures): {lake}")
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(lake, "pstn_calls")) for f in fs)

    ours_cmd = [args.bin, "report", "charges-by-country", "--lake", lake, "--format", "csv"]
    duck_cmd = [duckdb, "-csv", "-c", DUCKDB_SQL.format(lake=lake)]
    times = {"pstn-lake": [], "DuckDB": []}
    outputs = {}
    for run in range(args.runs):
        for name, cmd in (("pstn-lake", ours_cmd), ("DuckDB", duck_cmd)):
            wall, _, out = measured(cmd)
            times[name].append(wall)
            outputs[name] = out
            print(f"  run {run + 1}: {name:<9} {wall:6.3f} s", flush=True)  # progress: indented
    ours, theirs = rows_of(outputs["pstn-lake"]), rows_of(outputs["DuckDB"])
    if ours != theirs:
        sys.exit(f"the outputs differ:\npstn-lake: {ours[:5]}\nDuckDB:    {theirs[:5]}")
    total_calls = sum(int(r[2]) for r in ours)
    if total_calls != rows:
        sys.exit(f"the report counts {total_calls} calls, the lake holds {rows}")

    print()
    print(f"The lake: {rows:,} PSTN rows synced from the simulator ({args.days} days x {args.calls_per_day:,} calls), "
          f"{args.days} day files, {size / 1e6:,.0f} MB of Parquet.")
    print()
    print("\n".join(report))
    print()
    print(f"charges-by-country over the lake, whole process (process start included), median of {args.runs}; "
          f"both print the same {len(ours)} result rows with the same exact sums:")
    print()
    print("| engine | wall (s) | runs (s) |")
    print("|---|---:|---|")
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, t in med.items():
        print(f"| {name} | {t:.3f} | {', '.join(f'{x:.3f}' for x in times[name])} |")
    print()
    print(f"DuckDB / pstn-lake wall-time ratio: {med['DuckDB'] / med['pstn-lake']:.2f}x (above 1: pstn-lake is faster)")

    # One day: the plan's metrics show what was read.
    day = sorted(os.listdir(os.path.join(lake, "pstn_calls")))[args.days // 2].split("=", 1)[1]
    report_sql = subprocess.run([args.bin, "report", "charges-by-country", "--show-sql"], capture_output=True,
                                text=True, check=True).stdout
    body = "\n".join(l for l in report_sql.splitlines() if not l.lstrip().startswith("--"))
    body = re.sub(r"\$from\b", f"DATE '{day}'", body)
    body = re.sub(r"\$to\b", f"DATE '{day}'", body)
    body = re.sub(r"\$\w+\b", "NULL", body)
    plan = subprocess.run([args.bin, "sql", "--lake", lake, "--format", "csv", f"EXPLAIN ANALYZE {body}"],
                          capture_output=True, text=True)
    if plan.returncode != 0:
        sys.exit(f"EXPLAIN ANALYZE failed: {plan.stderr}")
    scan = [l for l in plan.stdout.splitlines() if "DataSourceExec" in l]
    print()
    print(f"One day ({day}): `pstn-lake sql \"EXPLAIN ANALYZE <the report's SQL for that day>\"`, the scan:")
    print()
    for line in scan:
        files = re.search(r"file_groups=\{(\d+) groups?: \[(.*?)\]\}", line)
        if files:
            listed = set(re.findall(r"call_date=([\d-]+)/", files.group(2)))
            print(f"- file groups: {files.group(1)}; days listed: {', '.join(sorted(listed))} "
                  f"(of {args.days} day files in the lake)")
        for metric in ("files_ranges_pruned_statistics", "bytes_scanned", "output_rows", "time_elapsed_opening",
                       "row_groups_pruned_statistics"):
            m = re.search(rf"{metric}=([^,\]]+)", line)
            if m:
                print(f"- {metric} = {m.group(1)}")
    startup(args.bin, duckdb, lake)
    if not args.lake:
        shutil.rmtree(lake, ignore_errors=True)


def startup(binary, duckdb, lake, runs=20):
    """Start-up cost: what a script calling pstn-lake many times, or a shell user, pays per call.
    `sql` opens the lake (its tables are registered before the statement runs), so it is timed on the
    benchmark's lake; DuckDB opens nothing."""
    cmds = [("pstn-lake --version", [binary, "--version"]),
            ('pstn-lake sql --lake LAKE "SELECT 1"', [binary, "sql", "--lake", lake, "SELECT 1"]),
            ('duckdb -c "SELECT 1"', [duckdb, "-c", "SELECT 1"])]
    for _, cmd in cmds:  # once each, so that the files are in the page cache for every measured run
        measured(cmd)
    times = {name: sorted(measured(cmd)[0] for _ in range(runs)) for name, cmd in cmds}
    print()
    print(f"Start-up, whole process, median and best of {runs} runs; the binary is "
          f"{os.path.getsize(binary) / 1e6:,.1f} MB ({binary}), the DuckDB CLI "
          f"{os.path.getsize(duckdb) / 1e6:,.1f} MB ({duckdb}):")
    print()
    print("| command | median (ms) | best (ms) |")
    print("|---|---:|---:|")
    for name, t in times.items():
        print(f"| `{name}` | {statistics.median(t) * 1e3:.1f} | {t[0] * 1e3:.1f} |")


if __name__ == "__main__":
    main()
