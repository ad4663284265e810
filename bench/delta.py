#!/usr/bin/env python3
"""Delta beside Parquet: the same pages landed, and the same report answered, by pstn-lake on a
Parquet lake and on a Delta lake, on the same machine in the same run.

  * Landing: N PSTN rows as the simulator's Graph pages (`simulate --write-pages`, seed 42; 10 days
    x 100,000 by default, reused from WORK/pages) ingested into a new lake with
    `--table-format parquet` and with `--table-format delta`, --runs times each: median wall
    time, rows/s, peak RSS and the bytes written (Delta's: data files and `_delta_log`). Both lakes
    are checked to hold the same rows, distinct ids and exact sum(charge).
  * Query: a Parquet lake synced from the simulator (100 days x 100,000 by default; --query-lake
    reuses one, such as bench/query.py's), copied and made a Delta lake in place with `pstn-lake
    convert --to delta` (the same data files plus a log), then `report charges-by-country` over
    each as a whole process, all days and one day, --runs times: median wall time; the outputs of
    the two lakes are compared.

    python3 bench/delta.py --bin <release pstn-lake> --work /tmp/pstn-lake-bench/delta
    python3 bench/delta.py --bin <pstn-lake> --days 2 --rows-per-day 10000 --query-days 5 \\
        --query-calls-per-day 20000 --runs 1                               # quick look
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from query import land as sync_lake, measured  # noqa: E402  the query benchmark's sync and timing

FORMATS = ["parquet", "delta"]


def disk_bytes(folder):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)


def figures(binary, lake):
    """(rows, distinct ids, exact sum(charge)) of the lake's PSTN calls, from pstn-lake's SQL."""
    out = subprocess.run([binary, "sql", "--lake", lake, "--format", "csv",
                          "SELECT count(*), count(DISTINCT id), CAST(sum(charge) AS VARCHAR) FROM pstn_calls"],
                         capture_output=True, text=True, check=True).stdout
    return tuple(out.strip().splitlines()[1].split(","))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="a pstn-lake binary with the query and delta features (release)")
    ap.add_argument("--work", required=True, help="scratch folder: the pages are reused, the lakes replaced")
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--rows-per-day", type=int, default=100_000)
    ap.add_argument("--query-days", type=int, default=100)
    ap.add_argument("--query-calls-per-day", type=int, default=100_000)
    ap.add_argument("--query-lake", help="a Parquet lake to query (synced here when it does not exist)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    # Landing.
    rows = args.days * args.rows_per_day
    pages = os.path.join(args.work, "pages")
    if not os.path.isdir(os.path.join(pages, "pstn_calls")):
        print(f"  generating {rows:,} PSTN rows as Graph pages ...", flush=True)
        subprocess.run([args.bin, "simulate", "--write-pages", pages, "--days", str(args.days),
                        "--calls-per-day", str(args.rows_per_day), "--first-day", "2026-08-01", "--seed", "42",
                        "-q"], check=True)
    landing = {f: [] for f in FORMATS}
    size = {}
    seen = {}
    for run in range(args.runs):
        for fmt in FORMATS:
            out = os.path.join(args.work, f"land-{fmt}")
            shutil.rmtree(out, ignore_errors=True)
            wall, rss, _ = measured([args.bin, "ingest", os.path.join(pages, "pstn_calls"), "--lake", out,
                                     "--table-format", fmt, "-q"])
            landing[fmt].append((wall, rss))
            size[fmt] = disk_bytes(os.path.join(out, "pstn_calls"))
            seen[fmt] = figures(args.bin, out)
            print(f"  landing run {run + 1}: {fmt:<8} {wall:6.2f} s  {rss:7.0f} MB peak RSS", flush=True)
    if seen["parquet"] != seen["delta"] or int(seen["parquet"][0]) != rows:
        sys.exit(f"the lakes differ (rows, ids, sum(charge)): {seen}")

    # Query.
    parquet_lake = args.query_lake or os.path.join(args.work, "query-parquet")
    qrows = args.query_days * args.query_calls_per_day
    if not os.path.isdir(os.path.join(parquet_lake, "pstn_calls")):
        print(f"  syncing {qrows:,} PSTN rows into {parquet_lake} ...", flush=True)
        sync_lake(args.bin, parquet_lake, args.query_days, args.query_calls_per_day)
    delta_lake = os.path.join(args.work, "query-delta")
    shutil.rmtree(delta_lake, ignore_errors=True)
    print("  copying the Parquet lake and converting the copy to Delta ...", flush=True)
    shutil.copytree(parquet_lake, delta_lake)
    convert_wall, _, _ = measured([args.bin, "convert", "--to", "delta", "--lake", delta_lake, "-q"])
    lakes = {"parquet": parquet_lake, "delta": delta_lake}
    days = sorted(d.split("=", 1)[1] for d in os.listdir(os.path.join(parquet_lake, "pstn_calls"))
                  if d.startswith("call_date="))
    day = days[len(days) // 2]
    ranges = {"all days": [], f"one day ({day})": ["--from", day, "--to", day]}
    times = {(r, f): [] for r in ranges for f in FORMATS}
    outputs = {}
    for run in range(args.runs):
        for label, extra in ranges.items():
            for fmt in FORMATS:
                cmd = [args.bin, "report", "charges-by-country", "--lake", lakes[fmt], "--format", "csv"] + extra
                wall, _, out = measured(cmd)
                times[(label, fmt)].append(wall)
                outputs[(label, fmt)] = out
                print(f"  query run {run + 1}: {label:<20} {fmt:<8} {wall:6.3f} s", flush=True)
    for label in ranges:
        if outputs[(label, "parquet")] != outputs[(label, "delta")]:
            sys.exit(f"{label}: the Delta lake's report differs from the Parquet lake's")

    print()
    print(f"Landing {rows:,} PSTN rows (the simulator's pages, {args.days} days) into a new lake, whole process, "
          f"median of {args.runs}; both lakes hold the same {int(seen['parquet'][1]):,} distinct ids and "
          f"sum(charge) = {seen['parquet'][2]}:")
    print()
    print("| format | wall (s) | rows/s | peak RSS (MB) | bytes on disk | runs (s) |")
    print("|---|---:|---:|---:|---:|---|")
    med = {}
    for fmt in FORMATS:
        walls = [w for w, _ in landing[fmt]]
        med[fmt] = statistics.median(walls)
        rss = statistics.median(r for _, r in landing[fmt])
        print(f"| {fmt} | {med[fmt]:.2f} | {rows / med[fmt]:,.0f} | {rss:,.0f} | {size[fmt]:,} | "
              f"{', '.join(f'{w:.2f}' for w in walls)} |")
    print()
    print(f"Delta / Parquet landing wall-time ratio: {med['delta'] / med['parquet']:.2f}x (above 1: Delta is slower)")
    print()
    print(f"charges-by-country over {qrows:,} PSTN rows ({len(days)} days): the Parquet lake, and a copy made Delta "
          f"by `convert --to delta` in {convert_wall:.2f} s (the same data files); whole process, median of "
          f"{args.runs}; both lakes print the same report:")
    print()
    print("| range | Parquet (s) | Delta (s) | Delta / Parquet |")
    print("|---|---:|---:|---:|")
    for label in ranges:
        p, d = (statistics.median(times[(label, f)]) for f in FORMATS)
        print(f"| {label} | {p:.3f} | {d:.3f} | {d / p:.2f}x |")


if __name__ == "__main__":
    main()
