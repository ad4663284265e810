#!/usr/bin/env python3
"""Sync benchmark: how close `pstn-lake sync` gets to Graph's request-rate limit.

Starts `pstn-lake simulate` with a per-page latency and a request-rate limit (answered with 429 +
Retry-After, like Graph), syncs N days of PSTN calls with the default concurrency, and prints the
wall time, pages/minute against the allowed rate, 429s, retries and whether the run succeeded with
exactly the tenant's rows. The simulator's limit is a sliding one-minute window, so a run of T
seconds can be admitted at most limit x (floor(T / 60) + 1) requests (a full window at its start,
then one a minute): the table gives the rate against both. The default size (200 days x 20,000 calls: 21 pages a day, 4,200 pages)
takes seven minutes at the allowed rate (six at 10% over it), so a burst at the start cannot make
the rate; the table says whether the run lasted five minutes. --concurrency-1 adds a run with one request at
a time (the same size: another five minutes or more).

    python3 bench/sync.py --bin B                  # 200 days x 20,000 calls, 100 ms/page, 600 requests/min
    python3 bench/sync.py --bin B --days 5 --calls-per-day 5000 --rate-limit 120   # quick look
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_once(binary, args, concurrency, work):
    port = free_port()
    sim = subprocess.Popen([binary, "simulate", "--port", str(port), "--days", str(args.days),
                            "--calls-per-day", str(args.calls_per_day), "--first-day", "2026-06-01",
                            "--latency-ms", str(args.latency_ms), "--rate-limit", str(args.rate_limit)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        sim.stdout.readline()  # "Graph simulator on …": it is listening
        lake = os.path.join(work, f"lake-{concurrency}")
        shutil.rmtree(lake, ignore_errors=True)
        env = dict(os.environ, AZURE_TENANT_ID="00000000-0000-0000-0000-000000000001",
                   AZURE_CLIENT_ID="00000000-0000-0000-0000-000000000002", AZURE_CLIENT_SECRET="sim-client-secret")
        url = f"http://127.0.0.1:{port}"
        last = time.strftime("%Y-%m-%d", time.gmtime(time.mktime(time.strptime("2026-06-01", "%Y-%m-%d")) + (args.days - 1) * 86400 + 43200))
        cmd = [binary, "sync", "--graph-url", url, "--login-url", url, "--tables", "pstn_calls",
               "--from", "2026-06-01", "--to", last, "--lake", lake]
        if concurrency:
            cmd += ["--concurrency", str(concurrency)]
        start = time.perf_counter()
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    finally:
        sim.terminate()
        sim.wait()
    if out.returncode != 0:
        return {"ok": False, "wall": wall, "error": out.stderr.strip().splitlines()[-1]}
    summary = next(l for l in out.stderr.splitlines() if l.startswith("synced"))
    num = lambda pat: int(re.search(pat, summary).group(1))
    rows = num(r"pstn_calls (\d+) rows")
    return {"ok": rows == args.days * args.calls_per_day, "wall": wall, "rows": rows,
            "pages": num(r"(\d+) pages"), "retries": num(r"(\d+) retries"), "throttled": num(r"(\d+) throttled")}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=200)
    ap.add_argument("--calls-per-day", type=int, default=20_000)
    ap.add_argument("--latency-ms", type=int, default=100)
    ap.add_argument("--rate-limit", type=int, default=600, help="requests a minute the simulator allows")
    ap.add_argument("--concurrency-1", action="store_true", help="also sync with --concurrency 1")
    ap.add_argument("--bin", help="a pstn-lake binary (default: build target/release/pstn-lake without the query feature)")
    args = ap.parse_args()

    binary = args.bin
    if not binary:
        subprocess.run(["cargo", "build", "--release", "--no-default-features", "--quiet"], cwd=ROOT, check=True)
        binary = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "pstn-lake")

    work = tempfile.mkdtemp(prefix="pstn-lake-sync-bench-")
    rows = []
    for concurrency in (None, 1) if args.concurrency_1 else (None,):
        print(f"  syncing with concurrency {concurrency or 'default'} ...", flush=True)
        rows.append((concurrency, run_once(binary, args, concurrency, work)))
    shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"Sync of {args.days} days x {args.calls_per_day:,} PSTN calls; simulator: {args.latency_ms} ms a page, "
          f"{args.rate_limit} requests/min, 429 + Retry-After beyond. Rate = pages / wall time of the whole "
          f"`pstn-lake sync` process.")
    print()
    print("| concurrency | wall | ≥ 5 min | pages | pages/min | % of allowed rate | % of what the window admits "
          "in that time | 429s | retries | exact rows |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for concurrency, r in rows:
        label = "default (4)" if concurrency is None else str(concurrency)
        wall = f"{r['wall']:.1f} s ({int(r['wall'] // 60)} min {r['wall'] % 60:.0f} s)"
        long_enough = "yes" if r["wall"] >= 300 else "**no**"
        if "pages" not in r:
            print(f"| {label} | {wall} | {long_enough} | failed: {r['error']} |")
            continue
        rate = r["pages"] / r["wall"] * 60
        admissible = args.rate_limit * (int(r["wall"] // 60) + 1)
        print(f"| {label} | {wall} | {long_enough} | {r['pages']} | {rate:.0f} | {100 * rate / args.rate_limit:.0f}% "
              f"| {100 * r['pages'] / admissible:.0f}% of {admissible} | {r['throttled']} | {r['retries']} "
              f"| {'yes' if r['ok'] else 'NO'} |")


if __name__ == "__main__":
    main()
