#!/usr/bin/env python3
"""Every performance target in one run: landing, decoding, memory, query and sync, each with
pstn-lake's figure, the peer's (where there is one), the ratio and the goal.

It runs the other scripts of bench/ (and the decode `cargo bench`), prints each one's output as it
goes, and ends with the summary table. Each script's output is kept in WORK/results/ with its
command, commit, time and load average. With --write FILE it writes FILE (BENCHMARKS.md) from
scratch out of those results: a fixed header, the commit, machine, each script's time, load and
command, the summary and each script's output, so that every number in that file is one a script
printed. A script whose run was disturbed (the machine is shared) can be run again alone with
--only; --write then takes the newest result of each script, all six from the same commit. Use a
release build with every feature, and the same CARGO_TARGET_DIR for the decode `cargo bench`:

    CARGO_TARGET_DIR=T cargo build --release
    CARGO_TARGET_DIR=T python3 bench/all.py --bin T/release/pstn-lake --write BENCHMARKS.md   # 20-30 min
    CARGO_TARGET_DIR=T python3 bench/all.py --bin T/release/pstn-lake --only land --write BENCHMARKS.md
    CARGO_TARGET_DIR=T python3 bench/all.py --bin T/release/pstn-lake --quick   # small sizes, a smoke test

On a machine shared with other jobs, niced processes in other sessions still take an equal share of
the CPUs when Linux's autogroup scheduling is on (kernel.sched_autogroup_enabled = 1). A session of
its own with a negative autogroup nice (root) lets them yield; each result records the priority:

    setsid sh -c 'echo -10 > /proc/self/autogroup; exec python3 bench/all.py --bin ... --only land,decode,query'
"""

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

HEADER = """\
# Benchmarks

This file is written by `bench/all.py --write BENCHMARKS.md`; do not edit it by hand. Every number
in it was printed by the scripts of `bench/`, in the runs described below (one per script, all at
one commit), on the machine described below. Measurements made once by hand while changing the
code (perf profiles, A/B runs of two builds, what was tried and dropped) are logged, with their
commands, in [`docs/performance-notes.md`](docs/performance-notes.md); they are history, not this
benchmark.
"""

SECTIONS = {
    "land": ("Landing: `pstn-lake ingest` against DuckDB",
             "Each engine turns the same Graph pages into day-partitioned zstd Parquet of the same types. The "
             "fair figure is DuckDB's fastest path to those types: `read_json` with type detection, money cast "
             "back to DECIMAL(18,6). Each row shows the zstd level it wrote and the bytes it wrote. pstn-lake also "
             "de-duplicates by id, merges with what the lake holds and sorts each day by start time, which "
             "DuckDB's `COPY` does not do."),
    "decode": ("Decoding: page bytes to Arrow",
               "`PageDecoder` alone (no Parquet): the simulator's pages decoded into the exact schema on one "
               "thread and on every core, median of three."),
    "query": ("Query: `report charges-by-country` against the DuckDB CLI",
              "The query lake is synced from the unthrottled simulator on every run (the sync's peak RSS is a "
              "target), then both engines answer the report as whole processes over the same files."),
    "delta": ("Delta beside Parquet",
              "The same pages landed with `--table-format parquet` and `--table-format delta`, and the query "
              "benchmark's lake answered as Parquet and, copied and made Delta by `convert --to delta` (the same "
              "data files), as Delta: what the Delta format costs or saves in pstn-lake itself."),
    "catalog": ("The catalog: every report over a year, against the DuckDB CLI",
                "A year of a large tenant synced once from the unthrottled simulator and reused; every report with "
                "its default options and with the last month, pstn-lake's whole process against the DuckDB CLI "
                "running the report's own SQL over the `ddl --engine duckdb` views; the answers compared row by row "
                "first. The scale table at the end says where one machine stops being enough (the slowest report "
                "reaching a minute): beyond that, `pstn-lake ddl --engine spark|trino|athena` registers the same "
                "files in a cluster engine (Databricks runs the Spark DDL), and the reports' SQL (`report NAME "
                "--show-sql`) runs there."),
    "sync": ("Sync against a rate-limited Graph",
             "The simulator delays each page and answers requests beyond its rate with 429 and Retry-After, like "
             "Graph; the rate is pages over the whole sync's wall time."),
}


KEYS = ["land", "decode", "query", "delta", "sync", "catalog"]


def sh(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip()


def run(cmd, commands, key, **kw):
    """Runs cmd, echoing its output; keeps the command line for the file (as typed at the
    repository's root)."""
    line = " ".join(shlex.quote(c) for c in cmd)
    commands[key] = " ".join("python3" if c == sys.executable else shlex.quote(os.path.relpath(c, ROOT))
                             if c.startswith(HERE) else shlex.quote(c) for c in cmd)
    print(f"$ {line}", flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    sys.stdout.write(out.stdout)
    sys.stdout.flush()
    if out.returncode != 0:
        sys.exit(f"failed:\n{out.stderr}")
    return out.stdout


def cell(text, row_label, column, after=""):
    """The value in the markdown row starting with `row_label`, column index `column`, in the first
    table after the line containing `after`: the first number of the cell."""
    start = text.find(after)
    if start < 0:
        sys.exit(f"no {after!r} in:\n{text}")
    for line in text[start:].splitlines():
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        if line.startswith("|") and parts[0] == row_label:
            m = re.search(r"-?[\d,]+(\.\d+)?", parts[column])
            return float(m.group(0).replace(",", ""))
    sys.exit(f"no row {row_label!r} after {after!r} in:\n{text}")


def ratio(text, pattern):
    """The ratio a script printed (from unrounded times) on the line matching `pattern`."""
    m = re.search(pattern + r".*?([\d.]+)x", text, re.M)
    if not m:
        sys.exit(f"no ratio {pattern!r} in:\n{text}")
    return float(m.group(1))


def report_lines(text):
    """A script's output without its progress lines (indented by two spaces), with a blank line
    before each table."""
    lines = []
    for line in text.splitlines():
        if line.startswith("  "):
            continue
        if line.startswith("|") and lines and lines[-1] and not lines[-1].startswith("|"):
            lines.append("")
        lines.append(line)
    return "\n".join(lines).strip()


def scheduling():
    """This process's CPU priority as the kernel applies it: with autogroup scheduling on, a nice
    value counts only within its session, and sessions share the CPUs by their autogroup's nice."""
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            autogroup = f.read().strip() == "1"
        with open("/proc/self/autogroup") as f:
            group_nice = f.read().split("nice")[-1].strip()
    except OSError:
        autogroup, group_nice = False, "?"
    nice = os.nice(0)
    return f"nice {nice}, session autogroup nice {group_nice}" if autogroup else f"nice {nice}, no autogroup"


def cpu_probe():
    """Seconds for a fixed single-core workload (ten million Python additions), timed before each
    script. The machine is shared and its speed varies (1 M rows have landed in 1.1 s and in 2.5 s
    eight hours apart, DuckDB's time moving with pstn-lake's), so load averages alone do not say
    how fast it was: runs are comparable when their probes are."""
    start, total = time.perf_counter(), 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - start


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(next(l for l in f if l.startswith("MemTotal")).split()[1])
    return (f"{os.cpu_count()} cores (`nproc`: {sh('nproc')}), {model}, {mem_kb / 1024 / 1024:.1f} GiB memory, "
            f"{sh('uname', '-sr')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="a release pstn-lake built with every feature")
    ap.add_argument("--quick", action="store_true", help="small sizes: checks the scripts, not the targets")
    ap.add_argument("--work", default="/tmp/pstn-lake-bench", help="scratch folder (the landing's pages are reused)")
    ap.add_argument("--write", metavar="FILE", help="write FILE (BENCHMARKS.md) from the newest result of each script")
    ap.add_argument("--only", help="comma-separated subset of " + ",".join(KEYS) + " to run")
    ap.add_argument("--catalog-baseline", metavar="BIN",
                    help="bench/catalog.py --baseline: a release build of an earlier commit, to show what changed")
    ap.add_argument("--catalog-baseline-label", metavar="TEXT", help="what that binary is (its commit)")
    ap.add_argument("--no-run", action="store_true", help="run nothing: the summary (and --write) from the saved results")
    args = ap.parse_args()
    q = args.quick
    only = [] if args.no_run else args.only.split(",") if args.only else KEYS
    if any(k not in KEYS for k in only):
        sys.exit(f"--only: a subset of {','.join(KEYS)}")
    if args.write and q:
        sys.exit("--write takes full sizes: no --quick")
    results_dir = os.path.join(args.work, "results")
    os.makedirs(results_dir, exist_ok=True)
    rev = sh("git", "rev-parse", "--short", "HEAD")
    dirty = bool([l for l in sh("git", "status", "--porcelain").splitlines() if not l.endswith("BENCHMARKS.md")])

    land_rows = 20_000 if q else 1_000_000
    query_days, query_calls = (5, 20_000) if q else (100, 100_000)
    catalog_days, catalog_calls = (20, 5_000) if q else (365, 100_000)
    cmds = {
        "land": ([sys.executable, f"{HERE}/land.py", "--bin", args.bin, "--work", f"{args.work}/land-{land_rows}",
                  "--runs", "1" if q else "3"] + (["--days", "2", "--rows-per-day", "10000"] if q else []), {}),
        "decode": (["cargo", "bench", "--quiet", "-p", "pstn-lake-fetch", "--bench", "decode", "--", str(land_rows)],
                   {"cwd": ROOT}),
        "query": ([sys.executable, f"{HERE}/query.py", "--bin", args.bin, "--lake",
                   f"{args.work}/query-{query_days}x{query_calls}", "--days", str(query_days),
                   "--calls-per-day", str(query_calls), "--runs", "3" if q else "5"], {}),
        "delta": ([sys.executable, f"{HERE}/delta.py", "--bin", args.bin, "--work", f"{args.work}/delta",
                   "--query-lake", f"{args.work}/query-{query_days}x{query_calls}", "--runs", "1" if q else "3"]
                  + (["--days", "2", "--rows-per-day", "10000", "--query-days", str(query_days),
                      "--query-calls-per-day", str(query_calls)] if q else []), {}),
        "sync": ([sys.executable, f"{HERE}/sync.py", "--bin", args.bin]
                 + (["--days", "5", "--calls-per-day", "5000"] if q else []), {}),
        # The year's lake is kept between runs (it takes minutes to sync and gigabytes of disk).
        "catalog": ([sys.executable, f"{HERE}/catalog.py", "--bin", args.bin, "--lake",
                     f"{args.work}/catalog-{catalog_days}x{catalog_calls}", "--days", str(catalog_days),
                     "--calls-per-day", str(catalog_calls), "--runs", "1" if q else "5"]
                    + (["--baseline", args.catalog_baseline] if args.catalog_baseline else [])
                    + (["--baseline-label", args.catalog_baseline_label] if args.catalog_baseline_label else []), {}),
    }
    for key in only:
        if key == "query":
            # Synced again on every run: the sync's peak RSS is one of the targets.
            shutil.rmtree(cmds["query"][0][cmds["query"][0].index("--lake") + 1], ignore_errors=True)
        probe = cpu_probe()
        started, uptime_start = datetime.datetime.now(datetime.timezone.utc), sh("uptime")
        print(f"# {uptime_start}", flush=True)
        commands = {}
        output = run(cmds[key][0], commands, key, **cmds[key][1])
        ended, uptime_end = datetime.datetime.now(datetime.timezone.utc), sh("uptime")
        print(f"# {uptime_end}", flush=True)
        result = {"key": key, "command": commands[key], "output": output, "commit": rev, "dirty": dirty,
                  "quick": q, "bin": args.bin, "started": f"{started:%Y-%m-%d %H:%M}", "ended": f"{ended:%H:%M}",
                  "scheduling": scheduling(), "cpu_probe": round(probe, 2),
                  "load_start": uptime_start.split("load average:")[-1].strip(),
                  "load_end": uptime_end.split("load average:")[-1].strip()}
        with open(os.path.join(results_dir, f"{key}{'-quick' if q else ''}.json"), "w") as f:
            json.dump(result, f, indent=1)

    # The summary: from this run's results and, for the scripts not run now, the newest saved ones.
    saved = {}
    for key in KEYS:
        path = os.path.join(results_dir, f"{key}{'-quick' if q else ''}.json")
        if os.path.exists(path):
            with open(path) as f:
                saved[key] = json.load(f)
    out = {k: r["output"] for k, r in saved.items()}

    yes = lambda ok: "yes" if ok else "**no**"
    table = ["| target | pstn-lake | peer | ratio | goal | met |", "|---|---:|---:|---:|---|---|"]
    if "land" in out:
        land = out["land"]
        for kind in ("simulator", "other", "escaped"):
            after = f"| engine ({kind})"
            fair = re.search(rf"^- fair figure \({kind}\): DuckDB's fastest path to the same types is (.+?):", land, re.M)
            ours = cell(land, "pstn-lake", 2, after)
            peer = cell(land, fair.group(1), 2, after)
            what = {"simulator": "the simulator's pages", "other": "pages of another exporter",
                    "escaped": "pages with JSON escapes"}[kind]
            r = ratio(land, rf"^- fair figure \({kind}\):")
            goal, met = ("≥ 3x", yes(r >= 3)) if kind == "simulator" else ("none", "n/a")
            table.append(f"| landing {land_rows:,} rows, {what} (wall) | {ours:.2f} s | {fair.group(1)} {peer:.2f} s "
                         f"| {r:.2f}x | {goal} | {met} |")
            if kind == "simulator":
                typed = cell(land, "DuckDB typed, zstd 3", 2, after)
                r = ratio(land, rf"^- pstn-lake / DuckDB typed, zstd 3 throughput ratio \({kind}\):")
                table.append(f"| landing {land_rows:,} rows, {what} (wall) | {ours:.2f} s | DuckDB typed, zstd 3 "
                             f"{typed:.2f} s | {r:.2f}x | ≥ 3x | {yes(r >= 3)} |")
            # The memory bound holds on any valid pages, not only the simulator's (issue 16).
            rss = cell(land, "pstn-lake", 5, after)
            table.append(f"| peak RSS, landing {land_rows:,} rows, {what} | {rss:,.0f} MB | | | ≤ 300 MB "
                         f"| {yes(rss <= 300)} |")
    if "decode" in out:
        rate = cell(out["decode"], str(os.cpu_count()), 2, "| threads")
        table.append(f"| decode, {os.cpu_count()} cores | {rate:,.0f} rows/s | | | ≥ 1,000,000 rows/s | {yes(rate >= 1e6)} |")
    if "query" in out:
        query = out["query"]
        sync_rss = re.search(r"^- sync: .*peak RSS ([\d,]+) MB", query, re.M)
        one_day_rss = re.search(r"^- one-day sync .*peak RSS ([\d,]+) MB", query, re.M)
        if not (sync_rss and one_day_rss):
            sys.exit("bench/query.py printed no sync figures")
        # "About one day": at most twice the peak of syncing one day of the same size.
        many, one = (float(m.group(1).replace(",", "")) for m in (sync_rss, one_day_rss))
        r = ratio(query, r"^- one-day sync .*?peaks at")
        table.append(f"| peak RSS, sync of {query_days * query_calls:,} rows | {many:,.0f} MB | one-day sync {one:,.0f} MB "
                     f"| {r:.2f}x | ≤ 2x a one-day sync | {yes(r <= 2)} |")
        ours_q, duck_q = cell(query, "pstn-lake", 1, "| engine"), cell(query, "DuckDB", 1, "| engine")
        r = ratio(query, r"^DuckDB / pstn-lake wall-time ratio:")
        table.append(f"| charges-by-country, {query_days * query_calls:,} rows, whole process | {ours_q:.3f} s "
                     f"| DuckDB CLI {duck_q:.3f} s | {r:.2f}x | ≥ 1x | {yes(r >= 1)} |")
        ours_s = cell(query, '`pstn-lake sql --lake LAKE "SELECT 1"`', 1, "| command")
        duck_s = cell(query, '`duckdb -c "SELECT 1"`', 1, "| command")
        size = re.search(r"the binary is ([\d,.]+) MB", query).group(1)
        table.append(f"| start-up, `sql \"SELECT 1\"`, whole process (binary {size} MB) | {ours_s:.1f} ms "
                     f"| DuckDB CLI {duck_s:.1f} ms | {duck_s / ours_s:.2f}x | none (reported) | n/a |")
    if "delta" in out:
        delta = out["delta"]
        p, d = cell(delta, "parquet", 1, "| format"), cell(delta, "delta", 1, "| format")
        table.append(f"| landing {land_rows:,} rows into Delta tables (wall) | {d:.2f} s | Parquet lake {p:.2f} s "
                     f"| {p / d:.2f}x | none (shown beside Parquet) | n/a |")
        p, d = cell(delta, "all days", 1, "| range"), cell(delta, "all days", 2, "| range")
        table.append(f"| charges-by-country, {query_days * query_calls:,} rows, Delta lake | {d:.3f} s "
                     f"| Parquet lake {p:.3f} s | {p / d:.2f}x | none (shown beside Parquet) | n/a |")
    if "sync" in out:
        limit = float(re.search(r"([\d,]+) requests/min", out["sync"]).group(1).replace(",", ""))
        sync_wall = cell(out["sync"], "default (4)", 1, "| concurrency")
        pages = cell(out["sync"], "default (4)", 3, "| concurrency")
        sync_rate = 100 * pages / sync_wall * 60 / limit  # from the exact page count, not the rounded %
        window = cell(out["sync"], "default (4)", 6, "| concurrency")
        table.append(f"| sync against a rate limit, default concurrency, {sync_wall / 60:.1f} min run "
                     f"| {sync_rate:.1f}% of the limit ({window:.0f}% of what its sliding window admits in that time) "
                     f"| | | within 10%, over ≥ 5 min "
                     f"| {yes(90 <= sync_rate <= 110 and sync_wall >= 300)} |")
    if "catalog" in out:
        catalog = out["catalog"]
        pstn_rows = cell(catalog, "pstn_calls", 1, "| table")
        for line in re.findall(r"^- (all \d+ days|\d{4}-\d{2}): geometric mean of the ratios ([\d.]+)x over (\d+) "
                               r"reports; pstn-lake slower than DuckDB in (\d+)", catalog, re.M):
            label, mean, reports, slower = line
            what = f"{label} ({pstn_rows:,.0f} PSTN rows)" if label.startswith("all") else f"one month ({label})"
            table.append(f"| every report, {what}, whole process: geometric mean of DuckDB / pstn-lake | "
                         f"slower in {slower} of {reports} | DuckDB CLI | {float(mean):.2f}x | ≥ 1.5x, and ≥ 1x in each "
                         f"| {yes(float(mean) >= 1.5 and slower == '0')} |")
    print()
    print("\n".join(table))

    if args.write:
        missing = [k for k in KEYS if k not in saved]
        commits = {f"{r['commit']}{' (with uncommitted changes)' if r['dirty'] else ''}" for r in saved.values()}
        if missing or len(commits) != 1:
            sys.exit(f"--write needs a result of each script from one commit: missing {missing}, commits {commits}")
        env = f"CARGO_TARGET_DIR={os.environ['CARGO_TARGET_DIR']} " if "CARGO_TARGET_DIR" in os.environ else ""
        doc = [HEADER, "## The run", ""]
        measured = commits.pop()
        head = sh("git", "rev-parse", "--short", "HEAD")
        doc.append(f"- commit: `{measured}`; binary: `{saved['land']['bin']}` (release build of that commit)"
                   + (f"; this file written by `bench/all.py` of `{head}`" if head != measured else ""))
        doc.append(f"- machine: {machine()}; shared with other jobs")
        doc.append(f"- toolchain: {sh('rustc', '-V')}; DuckDB {sh(sys.executable, '-c', 'import duckdb; print(duckdb.__version__)')} "
                   f"for Python (landing), DuckDB CLI {sh('duckdb', '--version')} (query)")
        doc.append("")
        doc.append("Each script's run, the load average (`uptime`: 1, 5 and 15 minutes, of all processes, the "
                   "benchmark's own included) and the benchmark's CPU priority. Linux's autogroup scheduling shares the CPUs between sessions by "
                   "each session's autogroup nice, whatever the nice of the processes in them; a negative one lets "
                   "the other jobs' sessions yield to the benchmark.")
        doc.append("")
        doc.append("CPU probe: seconds for ten million Python additions on one core, timed just before the "
                   "script (lower is faster; the machine's speed varies between runs, see `cpu_probe` in "
                   "`bench/all.py`).")
        doc.append("")
        doc.append("| script | run (UTC) | load at the start | load at the end | priority | CPU probe (s) |")
        doc.append("|---|---|---|---|---|---:|")
        for key in KEYS:
            r = saved[key]
            doc.append(f"| {key} | {r['started']}–{r['ended']} | {r['load_start']} | {r['load_end']} "
                       f"| {r.get('scheduling', 'not recorded')} | {r.get('cpu_probe', 'not recorded')} |")
        doc.append("")
        doc.append("Commands, from the repository's root: `bench/all.py` runs the six below it (or those named by "
                   "`--only`; each result keeps its own time, load and priority, above) and writes this file from "
                   "the newest result of each:")
        doc.append("")
        doc.append(f"    {env}python3 bench/all.py --bin {shlex.quote(args.bin)} --work {shlex.quote(args.work)} --write {args.write}")
        for key in KEYS:
            doc.append(f"    {saved[key]['command']}")
        doc += ["", "## Every target in one table", ""] + table
        for key in KEYS:
            title, text = SECTIONS[key]
            doc += ["", f"## {title}", "", text, "", f"    {saved[key]['command']}", "", report_lines(out[key])]
        with open(args.write, "w") as f:
            f.write("\n".join(doc) + "\n")
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
