#!/usr/bin/env python3
"""Catalog benchmark: every report, over a year of a large tenant, pstn-lake against the DuckDB CLI
on the same files, with the same answers.

The lake (made once, then reused: `--lake`) is synced from `pstn-lake simulate` without a rate
limit: `--days` days (365) of `--calls-per-day` PSTN calls a day (100,000; business traffic: busy
weekdays, quiet weekends, toll-fraud episodes, blocked users), with the SMS, meeting dial-outs,
blocked users and directory of the same tenant, and Direct Routing at a third of the PSTN rate from
a second simulator of the same tenant (same seed, same people). Nothing but the lake is written: the
pages go over loopback HTTP straight into Parquet.

For every report of `pstn-lake report --list`, with its default options (the whole year) and with
the lake's last month as `--from/--to`, it runs, each as a whole process (process start included):

  * pstn-lake: `pstn-lake report NAME --lake LAKE --format json [--from D --to D]`
  * DuckDB:    the native CLI (PyPI `duckdb-cli`, `-json`) running the views `pstn-lake ddl --engine
               duckdb` prints and then the report's own SQL (`report NAME --show-sql`), its
               parameters written as literals, with the dialect rewrites bench/catalog_check.py
               lists (the same text bench/catalog_check.py gives DuckDB)

`--runs` times (5) each, the two engines alternating, and prints the best and the median of each and
the ratio of the medians (DuckDB / pstn-lake: above 1, pstn-lake is faster), then the geometric mean
of the ratios and the cases where pstn-lake is slower.

Same answers, before the timing: each case is answered once more by pstn-lake and by DuckDB in this
process (the `duckdb` Python package, bench/requirements.txt's version), and compared row by row by
bench/catalog_check.py (money exactly; a DuckDB DOUBLE rounded to the places pstn-lake prints); every
timed DuckDB run must print as many rows as pstn-lake. Any difference stops the benchmark (exit 1).

    python3 bench/catalog.py --bin <release pstn-lake> --lake /tmp/pstn-lake-bench/catalog-365x100000
    python3 bench/catalog.py --bin <pstn-lake> --lake /tmp/cat-small --days 20 --calls-per-day 5000 --runs 1
    python3 bench/catalog.py --bin <pstn-lake> --lake LAKE --runs 3 monthly-cost daily-volume

Needs the `duckdb-cli` and `duckdb` packages (bench/requirements.txt).
"""

import argparse
import datetime
import json
import math
import os
import shutil
import statistics
import subprocess
import sys

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import catalog_check  # noqa: E402  (the same SQL for DuckDB, the same comparison)
from query import duckdb_cli, land, measured  # noqa: E402

FIRST_DAY = datetime.date(2025, 1, 1)
# What the lake holds, from the main simulator; Direct Routing comes from the second.
MAIN_TABLES = ["pstn_calls", "sms_logs", "pstn_blocked_users", "pstn_dialout_report", "users"]
ALL_TABLES = MAIN_TABLES + ["direct_routing_calls"]


def sync(binary, lake, days, calls_per_day, tables):
    """Syncs `tables` of a business-traffic tenant of `days` days × `calls_per_day` into `lake` from
    a simulator of its own; returns the sync's (wall s, peak RSS MB)."""
    return land(binary, lake, days, calls_per_day, FIRST_DAY, tables, simulate_args=["--traffic", "business"],
                sync_args=["--api", "beta"])


def make_lake(binary, lake, days, calls_per_day):
    """The lake, synced unless an earlier run left it complete (the marker file is written last)."""
    marker = os.path.join(lake, "_catalog_bench.json")
    want = {"days": days, "calls_per_day": calls_per_day, "first_day": FIRST_DAY.isoformat(),
            "direct_routing_per_day": calls_per_day // 3}
    if os.path.exists(marker):
        with open(marker) as f:
            made = json.load(f)
        if {k: made.get(k) for k in want} != want:
            sys.exit(f"{lake} holds another lake ({made}); remove it or name another --lake")
        return made, False
    shutil.rmtree(lake, ignore_errors=True)
    print(f"  syncing {days} days x {calls_per_day:,} PSTN calls (and the other tables) into {lake} ...", flush=True)
    main_wall, main_rss = sync(binary, lake, days, calls_per_day, MAIN_TABLES)
    print(f"  syncing {days} days x {calls_per_day // 3:,} Direct Routing calls ...", flush=True)
    dr_wall, dr_rss = sync(binary, lake, days, calls_per_day // 3, ["direct_routing_calls"])
    made = dict(want, sync_s=round(main_wall + dr_wall, 1), sync_peak_rss_mb=round(max(main_rss, dr_rss)))
    with open(marker, "w") as f:
        json.dump(made, f)
    return made, True


def describe(lake, con):
    """(lines about each table: rows, days, bytes; total bytes; first and last day of calls)."""
    lines, total = [], 0
    for table in ALL_TABLES:
        folder = os.path.join(lake, table)
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)
        total += size
        rows, days = con.execute(f'SELECT count(*), count(DISTINCT {"snapshot_date" if table == "users" else "call_date"}) '
                                 f'FROM "{table}"').fetchone()
        lines.append(f"| {table} | {rows:,} | {days} | {size / 1e6:,.1f} |")
    first, last = con.execute("SELECT min(call_date), max(call_date) FROM pstn_calls").fetchone()
    return lines, total, first, last


def cli_rows(out):
    """Rows the DuckDB CLI printed in -json mode (an empty result prints nothing)."""
    text = out.strip()
    return len(json.loads(text)) if text else 0


def months_before(last, months):
    """The first day of the range of `months` calendar months that ends with `last`'s month."""
    index = last.year * 12 + last.month - 1 - (months - 1)
    return datetime.date(index // 12, index % 12 + 1, 1)


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the pstn-lake binary (a release build)")
    ap.add_argument("--lake", required=True, help="the lake: made here on the first run, reused after")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--calls-per-day", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scale-runs", type=int, default=3,
                    help="runs of each point of the scale curve (0: no curve)")
    ap.add_argument("--baseline", metavar="BIN",
                    help="a pstn-lake of an earlier commit: each case is also run once with it (its answer must "
                         "be this binary's) and a table shows what the changes since bought")
    ap.add_argument("--baseline-label", help="what the baseline binary is, for the table (e.g. its commit)")
    ap.add_argument("reports", nargs="*", help="only these reports (default: the whole catalog)")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    lake = os.path.abspath(args.lake)
    cli = duckdb_cli()
    cli_version = subprocess.run([cli, "--version"], capture_output=True, text=True).stdout.split()[0].lstrip("v")
    names = catalog_check.report_names(binary)
    unknown = [n for n in args.reports if n not in names]
    if unknown:
        sys.exit(f"not in the catalog: {', '.join(unknown)}")
    names = args.reports or names

    made, synced = make_lake(binary, lake, args.days, args.calls_per_day)
    setup = catalog_check.duckdb_setup(binary, lake)
    con = catalog_check.duckdb_connection(binary, lake)
    tables, total, first, last = describe(lake, con)
    month_from = last.replace(day=1)
    ranges = [(f"all {args.days} days", {"from": None, "to": None}), (f"{month_from:%Y-%m}", {"from": month_from.isoformat(),
                                                                            "to": last.isoformat()})]

    # Same answers first (this is also every file's first read: the timed runs find them cached).
    cases = [(name, label, catalog_check.command_line(name, params)) for name in names for label, params in ranges]
    failed = []
    for name, label, command in cases:
        result = catalog_check.check(binary, lake, con, name, command)
        if result[4] is not None:
            failed.append(f"{command}: {result[4]}")
        print(f"  same answers: {command}: {result[3]} rows, {'same' if result[4] is None else result[4]}", flush=True)
    if failed:
        print("the engines' answers differ:\n" + "\n".join(failed))
        sys.exit(1)

    timed, before = [], []
    baseline = os.path.abspath(args.baseline) if args.baseline else None
    for name, label, command in cases:
        sql, source, _ = catalog_check.duckdb_sql(binary, name, command)
        script = f"{setup}\n{sql.strip().rstrip(';')};\n"  # the views, then the report
        ours_cmd = catalog_check.pstn_lake_args(binary, lake, command)
        duck_cmd = [cli, "-json", "-c", script]
        times, rss = {"pstn-lake": [], "DuckDB": []}, {"pstn-lake": 0.0, "DuckDB": 0.0}
        rows = None
        for run in range(args.runs):
            wall, peak, out = measured(ours_cmd)
            times["pstn-lake"].append(wall)
            rss["pstn-lake"] = max(rss["pstn-lake"], peak)
            ours_rows = json.loads(out)
            rows = len(ours_rows)
            wall, peak, out = measured(duck_cmd)
            times["DuckDB"].append(wall)
            rss["DuckDB"] = max(rss["DuckDB"], peak)
            if cli_rows(out) != rows:
                sys.exit(f"{command}: the DuckDB CLI printed {cli_rows(out)} rows, pstn-lake {rows}")
        if baseline:
            base_cmd = [baseline] + ours_cmd[1:]
            wall, _, out = measured(base_cmd)
            if json.loads(out) != ours_rows:
                sys.exit(f"{command}: the baseline binary's answer differs from this binary's")
            before.append((name, label, wall, statistics.median(times["pstn-lake"])))
        ours, theirs = statistics.median(times["pstn-lake"]), statistics.median(times["DuckDB"])
        timed.append((name, label, source, rows, min(times["pstn-lake"]), ours, min(times["DuckDB"]), theirs,
                      rss["pstn-lake"], rss["DuckDB"]))
        print(f"  {name} ({label}): pstn-lake {ours:.3f} s, DuckDB {theirs:.3f} s, {theirs / ours:.2f}x", flush=True)

    # How each report's time grows with the range: 1, 3, 6 and 12 months ending on the lake's last day.
    curve = []
    if args.scale_runs:
        spans = [m for m in (1, 3, 6, 12) if months_before(last, m) >= first]
        for name in names:
            points = []
            for months in spans:
                params = {"from": months_before(last, months).isoformat(), "to": last.isoformat()}
                command = catalog_check.command_line(name, params)
                cmd = catalog_check.pstn_lake_args(binary, lake, command)
                walls = [measured(cmd)[0] for _ in range(args.scale_runs)]
                points.append(statistics.median(walls))
            curve.append((name, points))
            print(f"  scale {name}: {', '.join(f'{p:.3f}' for p in points)} s", flush=True)

    print()
    print(f"The lake: {lake}, {args.days} days ({first} to {last}) of a business-traffic tenant of "
          f"{args.calls_per_day:,} PSTN calls a day on average and Direct Routing at a third of that, "
          f"{total / 1e9:,.2f} GB on disk:")
    print()
    print("| table | rows | days | MB on disk |")
    print("|---|---:|---:|---:|")
    print("\n".join(tables))
    print()
    if synced:
        print(f"Synced from the unthrottled simulator in this run: {made['sync_s']:,.1f} s, peak RSS "
              f"{made['sync_peak_rss_mb']:,} MB.")
    else:
        print(f"Synced by an earlier run ({made['sync_s']:,.1f} s, peak RSS {made['sync_peak_rss_mb']:,} MB), reused.")
    print()
    print(f"Every report, whole process (process start included), best and median of {args.runs} runs each, the "
          f"engines alternating; DuckDB CLI {cli_version} (`-json`) over the `ddl --engine duckdb` views. Ratio: "
          f"DuckDB's median / pstn-lake's (above 1: pstn-lake is faster). DuckDB SQL: the report's own SQL "
          f"\"as is\", or with bench/catalog_check.py's dialect rewrites. Both engines gave the same answers "
          f"in every case (bench/catalog_check.py, row by row, DuckDB {duckdb.__version__} for Python; and every "
          f"timed CLI run printed as many rows as pstn-lake).")
    print()
    print("| report | range | DuckDB SQL | rows | pstn-lake best (s) | pstn-lake median (s) | DuckDB best (s) "
          "| DuckDB median (s) | ratio | pstn-lake peak RSS (MB) | DuckDB peak RSS (MB) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, label, source, rows, ob, om, tb, tm, orss, trss in timed:
        print(f"| {name} | {label} | {source} | {rows:,} | {ob:.3f} | {om:.3f} | {tb:.3f} | {tm:.3f} | {tm / om:.2f}x "
              f"| {orss:,.0f} | {trss:,.0f} |")
    print()
    for label, _ in ranges:
        ratios = [tm / om for _, lb, _, _, _, om, _, tm, _, _ in timed if lb == label]
        slower = [f"{name} {tm / om:.2f}x" for name, lb, _, _, _, om, _, tm, _, _ in timed if lb == label and tm < om]
        print(f"- {label}: geometric mean of the ratios {geomean(ratios):.2f}x over {len(ratios)} reports; "
              f"pstn-lake slower than DuckDB in {len(slower)}" + (f" ({', '.join(slower)})" if slower else ""))
    every = [tm / om for *_, om, _, tm, _, _ in timed]
    print(f"- every case: geometric mean of the ratios {geomean(every):.2f}x over {len(every)} cases")
    if before:
        print()
        print(f"What the changes since the baseline bought: each case run once by the baseline binary "
              f"({args.baseline_label or baseline}), the same answer, against this binary's median above:")
        print()
        print("| report | range | baseline (s) | now (s) | now / baseline |")
        print("|---|---|---:|---:|---:|")
        for name, label, was, now in before:
            print(f"| {name} | {label} | {was:.3f} | {now:.3f} | {now / was:.2f} |")
    if curve:
        print()
        print(f"Scale: pstn-lake's time (whole process, median of {args.scale_runs}) for the last 1, 3, 6 and 12 "
              f"months of the lake (`--from` that many months before {last}, `--to` {last}), and the growth from "
              f"the first range to the last against the growth in PSTN rows:")
        print()
        counts = [con.execute("SELECT count(*) FROM pstn_calls WHERE call_date >= ?",
                              [months_before(last, m)]).fetchone()[0] for m in spans]
        print("| report | " + " | ".join(f"{m} month{'s' if m > 1 else ''} (s)" for m in spans)
              + " | time growth | row growth |")
        print("|---|" + "---:|" * (len(spans) + 2))
        for name, points in curve:
            print(f"| {name} | " + " | ".join(f"{p:.3f}" for p in points)
                  + f" | {points[-1] / points[0]:.1f}x | {counts[-1] / counts[0]:.1f}x |")
        print()
        print("PSTN rows in each range: " + ", ".join(f"{m} month{'s' if m > 1 else ''} {c:,}"
                                                      for m, c in zip(spans, counts)) + ".")
        # Where one machine stops being enough: the slowest report's time per row (from the widest
        # range) taken as linear, the lake at which it would take a minute, and the largest peak RSS.
        slowest, points = max(curve, key=lambda c: c[1][-1])
        per_row = points[-1] / counts[-1]
        minute_rows = 60 / per_row
        rows_a_year = counts[-1] * 12 / spans[-1]
        heaviest = max(timed, key=lambda t: t[8])
        print()
        print(f"- slowest report over the widest range: {slowest}, {points[-1]:.2f} s for {counts[-1]:,} PSTN rows "
              f"({per_row * 1e9:,.0f} ns a row); growing linearly it would take a minute at about "
              f"{minute_rows / 1e6:,.0f} M PSTN rows, {minute_rows / rows_a_year:,.1f} years of this tenant")
        print(f"- largest peak RSS of a report: {heaviest[0]} ({heaviest[1]}), {heaviest[8]:,.0f} MB "
              f"(DuckDB {heaviest[9]:,.0f} MB)")


if __name__ == "__main__":
    main()
