#!/usr/bin/env python3
"""Every performance target in one run: landing, decoding, memory, query and sync, each with
pstn-lake's figure, the peer's (where there is one), the ratio and the goal.

It runs the other scripts of bench/ (and the decode `cargo bench`), prints each one's own table
as it goes, and ends with the summary table. Use a release build with every feature:

    CARGO_TARGET_DIR=... cargo build --release
    python3 bench/all.py --bin <target>/release/pstn-lake          # full size, about 6 minutes
    python3 bench/all.py --bin <target>/release/pstn-lake --quick  # small sizes, a smoke test
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(cmd, **kw):
    print(f"$ {' '.join(cmd)}", flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    sys.stdout.write(out.stdout)
    if out.returncode != 0:
        sys.exit(f"failed:\n{out.stderr}")
    return out.stdout


def cell(table_text, row_label, column):
    """The value in the markdown row starting with `row_label`, column index `column`."""
    for line in table_text.splitlines():
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        if parts and parts[0] == row_label:
            return float(parts[column].replace(",", "").rstrip("%"))
    sys.exit(f"no row {row_label!r} in:\n{table_text}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="a release pstn-lake built with every feature")
    ap.add_argument("--quick", action="store_true", help="small sizes: checks the scripts, not the targets")
    ap.add_argument("--work", default="/tmp/pstn-lake-bench", help="scratch folder (the landing's pages are reused)")
    args = ap.parse_args()
    q = args.quick
    os.makedirs(args.work, exist_ok=True)

    land_rows = 20_000 if q else 1_000_000
    land = run([sys.executable, f"{HERE}/land.py", "--bin", args.bin, "--work", f"{args.work}/land-{land_rows}",
                "--runs", "1" if q else "3"] + (["--days", "2", "--rows-per-day", "10000"] if q else []))
    decode = run(["cargo", "bench", "--quiet", "-p", "pstn-lake-fetch", "--bench", "decode", "--",
                  str(land_rows)], cwd=ROOT)
    query_days, query_calls = (5, 20_000) if q else (100, 100_000)
    # Synced again on every run: the sync's peak RSS is one of the targets.
    query_lake = f"{args.work}/query-{query_days}x{query_calls}"
    shutil.rmtree(query_lake, ignore_errors=True)
    query = run([sys.executable, f"{HERE}/query.py", "--bin", args.bin, "--lake", query_lake,
                 "--days", str(query_days),
                 "--calls-per-day", str(query_calls), "--runs", "3" if q else "5"])
    sync = run([sys.executable, f"{HERE}/sync.py", "--bin", args.bin]
               + (["--days", "5", "--calls-per-day", "5000"] if q else []))

    ours_land = cell(land, "pstn-lake", 1)
    typed, auto = cell(land, "DuckDB typed", 1), cell(land, "DuckDB auto", 1)
    land_rss = cell(land, "pstn-lake", 4)
    decode_rate = cell(decode, "2", 2)
    ours_q, duck_q = cell(query, "pstn-lake", 1), cell(query, "DuckDB", 1)
    sync_rss = re.search(r"^sync: .*peak RSS ([\d,]+) MB", query, re.M)
    one_day_rss = re.search(r"^one-day sync .*peak RSS ([\d,]+) MB", query, re.M)
    sync_rate = cell(sync, "default (4)", 4)

    print()
    print("| target | pstn-lake | peer | ratio | goal | met |")
    print("|---|---:|---:|---:|---|---|")
    yes = lambda ok: "yes" if ok else "**no**"
    print(f"| landing {land_rows:,} rows (wall) | {ours_land:.2f} s | DuckDB typed {typed:.2f} s | "
          f"{typed / ours_land:.2f}x | ≥ 3x | {yes(typed / ours_land >= 3)} |")
    print(f"| landing {land_rows:,} rows (wall) | {ours_land:.2f} s | DuckDB auto-detect {auto:.2f} s | "
          f"{auto / ours_land:.2f}x | ≥ 3x | {yes(auto / ours_land >= 3)} |")
    print(f"| decode, 2 cores | {decode_rate:,.0f} rows/s | | | ≥ 1,000,000 rows/s | {yes(decode_rate >= 1e6)} |")
    print(f"| peak RSS, landing {land_rows:,} rows | {land_rss:,.0f} MB | | | ≤ 300 MB | {yes(land_rss <= 300)} |")
    if sync_rss and one_day_rss:
        # "About one day": at most twice the peak of syncing one day of the same size.
        many, one = (float(m.group(1).replace(",", "")) for m in (sync_rss, one_day_rss))
        print(f"| peak RSS, sync of {query_days * query_calls:,} rows | {many:,.0f} MB | one-day sync {one:,.0f} MB | "
              f"{many / one:.2f}x | ≤ 2x a one-day sync | {yes(many <= 2 * one)} |")
    else:
        sys.exit("bench/query.py printed no sync figures")
    print(f"| charges-by-country, {query_days * query_calls:,} rows, whole process | {ours_q:.3f} s | DuckDB CLI {duck_q:.3f} s | "
          f"{duck_q / ours_q:.2f}x | ≥ 1x | {yes(duck_q / ours_q >= 1)} |")
    print(f"| sync against a rate limit | {sync_rate:.0f}% of the limit | | | within 10% | {yes(90 <= sync_rate <= 110)} |")


if __name__ == "__main__":
    main()
