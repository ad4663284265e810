#!/usr/bin/env python3
"""Same answers: every report of the catalog, answered by pstn-lake and by DuckDB, compared row by row.

For each report of `pstn-lake report --list` it runs

  * pstn-lake: `pstn-lake report NAME --lake LAKE --format json [parameters]`
  * DuckDB:    the report's own SQL (`pstn-lake report NAME --show-sql`, `{fragments}` already in
               place) with the few rewrites DuckDB's dialect needs (`REWRITES` below: each says
               what differs and why, and must still match the report's SQL), over the views
               `pstn-lake ddl --engine duckdb --lake LAKE` prints, each `$name` parameter written as the typed literal `report` binds
               (tests/reports/mutate.py's `literal_params`, NULL when not given)

and compares the two results: the same columns in the same order, the same number of rows, the
rows in the same order (every report's SQL ends in an ORDER BY its header states), decimals exactly
(as decimal.Decimal: 1.50 and 1.5 are the same number, 1.50 and 1.51 are not), a DuckDB DOUBLE
rounded half away from zero to the places pstn-lake prints for that cell (DuckDB divides
DECIMALs in DOUBLE: the table lists those columns), times as instants. It prints a table of report / rows / verdict (the first difference) and exits 1 on any difference.

    python3 bench/catalog_check.py --bin BIN --lake LAKE [--from D --to D] [report ...]
    python3 bench/catalog_check.py --bin BIN --fixtures [report ...]

`--fixtures` lands the report fixture lake in a temporary folder as tests/it/reports.rs does and
runs every case of tests/reports/*.slt that expects output (its parameters, `--mapping` and `--by`
included) on both engines.

The functions are importable (`bench/catalog.py`, the timing, reuses them): `report_names`,
`duckdb_setup`, `duckdb_connection`, `duckdb_sql`, `run_pstn_lake`, `run_duckdb`, `compare`, `check`.

Python 3.11 with the `duckdb` package (the test venv has it).
"""

import argparse
import concurrent.futures
import datetime
import decimal
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
REPORTS_DIR = ROOT / "tests" / "reports"

sys.path.insert(0, str(REPORTS_DIR))
import mutate  # noqa: E402  (the literals `report` binds: one implementation, shared)


# ---------------------------------------------------------------------------------------------
# The catalog


def report_names(binary):
    """The reports `pstn-lake report --list` lists, in its order."""
    out = subprocess.run([binary, "report", "--list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip() and not line.startswith(" ")]


def show_sql(binary, name):
    """The report's SQL as `report` runs it (fragments in place), header included."""
    return subprocess.run([binary, "report", name, "--show-sql"], capture_output=True, text=True,
                          check=True).stdout


# What DuckDB's SQL says otherwise, applied to a report's own SQL: (pattern, replacement, why).
# A rewrite that no longer matches stops the check, naming it: the report's SQL changed.
EVERY_REPORT = [
    (r"\bto_char\(", "strftime(",
     "DuckDB has no to_char; its strftime takes the same arguments (a date or time, a format)"),
    (r"\bfirst_value\((\w+) ORDER BY", r"first(\1 ORDER BY",
     "DuckDB's ordered aggregate is first(x ORDER BY …); its first_value is a window function only"),
]
# `/` on two integers is an integer division in DataFusion and a float division in DuckDB.
SIGNALS = [
    (r"duration / 3600\b", "duration // 3600", "whole hours: integer division"),
    (r"duration % 3600 / 60\b", "duration % 3600 // 60", "whole minutes: integer division"),
]
REWRITES = {
    # Run as it is, DuckDB finds no row at a fractional percentile position (7 / 2 = 3.5) and
    # prints empty percentiles.
    "duration-by-call-type": [
        (r"\* \(n - 1\) / 100\b", "* (n - 1) // 100", "the lower position: integer division"),
    ],
    "toll-fraud-signals": SIGNALS,
    "fraud-signal-check": SIGNALS + [
        (r"CAST\((\w+\.\w*date_time) AS BIGINT\)", r"epoch_us(\1)",
         "DuckDB casts no TIMESTAMP WITH TIME ZONE to an integer; epoch_us gives the same microseconds"),
    ],
}


def to_duckdb(name, sql):
    """(the report's SQL in DuckDB's dialect, whether it needed a rewrite)."""
    out = sql
    for pattern, replacement, why in REWRITES.get(name, []):
        out, n = re.subn(pattern, replacement, out)
        if n == 0:
            sys.exit(f"{name}: the DuckDB rewrite `{pattern}` ({why}) no longer matches the "
                     "report's SQL: update REWRITES in bench/catalog_check.py")
    for pattern, replacement, _ in EVERY_REPORT:
        out = re.sub(pattern, replacement, out)
    return out, out != sql


def command_line(name, params):
    """`report NAME --k v ...` as an .slt case writes it (mutate.literal_params reads that)."""
    words = ["report", name]
    for key, value in params.items():
        if value is not None:
            words += [f"--{key}", str(value)]
    return " ".join(words)


def duckdb_sql(binary, name, command):
    """(the SQL DuckDB runs for the case `command`, 'rewritten' or 'as is', the --mapping rows or
    None): the report's own SQL in DuckDB's dialect, its `$name` parameters as typed literals."""
    values, _, mapping = mutate.literal_params(command)
    sql, rewritten = to_duckdb(name, show_sql(binary, name))
    return mutate.bind(sql, values), "rewritten" if rewritten else "as is", mapping


# ---------------------------------------------------------------------------------------------
# The engines


def duckdb_setup(binary, lake):
    """What a DuckDB session runs before a report, as SQL (for the Python package and the CLI
    alike): UTC, the views `pstn-lake ddl --engine duckdb` prints for the lake, and
    `chargeback_mapping` (empty; filled per case from a `--mapping` file)."""
    ddl = subprocess.run([binary, "ddl", "--engine", "duckdb", "--lake", str(lake)], capture_output=True,
                         text=True, check=True).stdout
    return (f"SET TimeZone = 'UTC';\n{ddl.strip()}\n"
            "CREATE TABLE chargeback_mapping (user_key VARCHAR, group_name VARCHAR);\n")


def duckdb_connection(binary, lake):
    """A DuckDB session (Python) with `duckdb_setup` run."""
    con = duckdb.connect()
    con.execute(duckdb_setup(binary, lake))
    return con


def run_duckdb(con, sql, mapping=None):
    """(columns, rows, the columns DuckDB typed DOUBLE) of `sql` in a cursor of `con`; `mapping`
    the chargeback_mapping rows."""
    cur = con.cursor()
    cur.execute("SET TimeZone = 'UTC'")
    if mapping is not None:
        # A temporary table of this cursor's own hides the shared empty one.
        cur.execute("CREATE TEMP TABLE chargeback_mapping (user_key VARCHAR, group_name VARCHAR)")
        if mapping:
            cur.executemany("INSERT INTO chargeback_mapping VALUES (?, ?)", mapping)
    cur.execute(sql)
    columns = [d[0] for d in cur.description]
    rows = cur.fetchall()
    floats = [d[0] for d in cur.description if str(d[1]).upper() in ("DOUBLE", "FLOAT")]
    cur.close()
    return columns, rows, floats


def pstn_lake_args(binary, lake, command):
    """The pstn-lake command line of `command` (an .slt case's words), JSON out: its --format
    dropped, a --mapping file relative to the repository root made absolute."""
    words = command.split()
    args = [binary] + words[:2]
    it = iter(words[2:])
    for word in it:
        value = next(it)
        if word == "--format":
            continue
        if word == "--mapping" and not os.path.isabs(value):
            value = str(ROOT / value)
        args += [word, value]
    return args + ["--lake", str(lake), "--format", "json"]


def run_pstn_lake(binary, lake, command):
    """(columns, rows) `pstn-lake report` prints as JSON: numbers with a point as Decimal, the
    columns from the first object (from `csv-raw`'s header when there is no row)."""
    args = pstn_lake_args(binary, lake, command)
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {out.stderr.strip()}")
    objects = json.loads(out.stdout, parse_float=decimal.Decimal)
    if objects:
        columns = list(objects[0])
    else:
        raw = subprocess.run(args[:-1] + ["csv-raw"], capture_output=True, text=True, check=True).stdout
        columns = raw.splitlines()[0].split(",") if raw.strip() else []
    return columns, [tuple(o[c] for c in columns) for o in objects]


# ---------------------------------------------------------------------------------------------
# Comparing


def same_cell(ours, theirs):
    """Whether pstn-lake's JSON value `ours` and DuckDB's Python value `theirs` are the same."""
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if isinstance(theirs, bool) or isinstance(ours, bool):
        return ours is theirs or ours == theirs and type(ours) is type(theirs)
    if isinstance(theirs, float):
        if not isinstance(ours, (int, decimal.Decimal)):
            return False
        # A float: to the places pstn-lake prints (the rounding the header states), half away from 0.
        places = decimal.Decimal(ours).as_tuple().exponent
        try:
            rounded = decimal.Decimal(repr(theirs)).quantize(decimal.Decimal(1).scaleb(places),
                                                             rounding=decimal.ROUND_HALF_UP)
        except decimal.InvalidOperation:
            return False
        return rounded == decimal.Decimal(ours)
    if isinstance(theirs, (int, decimal.Decimal)):
        return isinstance(ours, (int, decimal.Decimal)) and decimal.Decimal(ours) == decimal.Decimal(theirs)
    if isinstance(theirs, datetime.datetime):
        if not isinstance(ours, str):
            return False
        try:
            parsed = datetime.datetime.fromisoformat(ours)
        except ValueError:
            return False
        if theirs.tzinfo is None or parsed.tzinfo is None:
            return parsed.replace(tzinfo=None) == theirs.replace(tzinfo=None) and \
                (theirs.tzinfo is None) == (parsed.tzinfo is None)
        return parsed == theirs
    if isinstance(theirs, datetime.date):
        return ours == theirs.isoformat()
    return ours == theirs


def show(value):
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


def compare(ours, theirs):
    """None when pstn-lake's (columns, rows) and DuckDB's are the same, else the first difference."""
    (ocols, orows), (tcols, trows) = ours, theirs
    if ocols != tcols:
        return f"columns: pstn-lake {ocols}, DuckDB {tcols}"
    for i, (a, b) in enumerate(zip(orows, trows)):
        for col, x, y in zip(ocols, a, b):
            if not same_cell(x, y):
                note = ""
                if len(orows) == len(trows) and _same_multiset(orows, trows):
                    note = " (the same rows in another order)"
                return f"row {i + 1}, {col}: pstn-lake {show(x)}, DuckDB {show(y)}{note}"
    if len(orows) != len(trows):
        extra, who = (orows, "pstn-lake") if len(orows) > len(trows) else (trows, "DuckDB")
        return (f"rows: pstn-lake {len(orows)}, DuckDB {len(trows)}; {who} has also "
                f"{tuple(show(v) for v in extra[min(len(orows), len(trows))])}")
    return None


def _same_multiset(orows, trows):
    left = list(trows)
    for row in orows:
        match = next((j for j, t in enumerate(left) if all(same_cell(x, y) for x, y in zip(row, t))), None)
        if match is None:
            return False
        left.pop(match)
    return True


def check(binary, lake, con, name, command):
    """One case: (report, command, source, rows, difference or None, pstn-lake s, DuckDB s, the
    columns DuckDB computed as DOUBLE)."""
    sql, source, mapping = duckdb_sql(binary, name, command)
    started = time.perf_counter()
    try:
        ours = run_pstn_lake(binary, lake, command)
    except Exception as e:  # noqa: BLE001  (reported as the case's difference)
        return name, command, source, "-", f"pstn-lake failed: {e}", None, None, []
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    try:
        theirs = run_duckdb(con, sql, mapping)
    except duckdb.Error as e:
        return (name, command, source, len(ours[1]), f"DuckDB failed: {str(e).splitlines()[0]}", ours_s,
                None, [])
    theirs_s = time.perf_counter() - started
    return (name, command, source, len(ours[1]), compare(ours, theirs[:2]), ours_s, theirs_s,
            theirs[2])


# ---------------------------------------------------------------------------------------------
# Lakes and cases


def fixture_lake(binary, folder):
    """The report fixture lake, landed as tests/it/reports.rs lands it (`fixture_lake`)."""
    lake = Path(folder) / "lake"

    def ingest(*args):
        subprocess.run([binary, "ingest", *map(str, args), "--lake", str(lake), "-q"], check=True,
                       capture_output=True)

    ingest(REPORTS_DIR / "fixture")
    for page in sorted((REPORTS_DIR / "fixture-dialout").glob("*.json")):
        ingest(page, "--day", page.stem)
    for listing in sorted((REPORTS_DIR / "fixture-users").glob("*.json")):
        ingest(listing, "--table", "users", "--day", listing.stem)
    return lake


def slt_commands(name):
    """The commands of tests/reports/NAME.slt that expect output (not `---- error`)."""
    path = REPORTS_DIR / f"{name}.slt"
    if not path.exists():
        return []
    return [command for command, _ in mutate.cases(name)]


def print_table(results):
    """The results as a Markdown table; `DuckDB DOUBLE`: the columns DuckDB computes in binary
    floating point (its DECIMAL / DECIMAL is a DOUBLE), compared to the places pstn-lake prints."""
    print("| report | case | DuckDB runs | rows | same answers | DuckDB DOUBLE |")
    print("|---|---|---|---:|---|---|")
    for name, command, source, rows, diff, _, _, floats in results:
        case = command.split(None, 2)[2] if len(command.split(None, 2)) > 2 else "(no options)"
        verdict = "same" if diff is None else f"**differs**: {diff}"
        print(f"| {name} | {case} | {source} | {rows} | {verdict} | {', '.join(floats)} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the pstn-lake binary")
    ap.add_argument("--lake", help="the lake (a folder); not with --fixtures")
    ap.add_argument("--fixtures", action="store_true",
                    help="land the report fixture lake and run every .slt case on both engines")
    ap.add_argument("--from", dest="from_", metavar="D")
    ap.add_argument("--to", metavar="D")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("reports", nargs="*")
    args = ap.parse_args(argv)
    if bool(args.lake) == args.fixtures:
        ap.error("give either --lake LAKE or --fixtures")
    started = time.monotonic()
    binary = os.path.abspath(args.bin)
    names = report_names(binary)
    unknown = [n for n in args.reports if n not in names]
    if unknown:
        ap.error(f"not in the catalog: {', '.join(unknown)}")
    stale = [n for n in REWRITES if n not in names]
    if stale:
        sys.exit(f"REWRITES names reports the catalog does not hold: {', '.join(stale)}")
    names = args.reports or names

    with tempfile.TemporaryDirectory(prefix="pstn-lake-catalog-check-") as tmp:
        if args.fixtures:
            lake = fixture_lake(binary, tmp)
            cases = [(n, c) for n in names for c in (slt_commands(n) or [f"report {n}"])]
        else:
            lake = Path(args.lake).resolve()
            params = {"from": args.from_, "to": args.to}
            cases = [(n, command_line(n, params)) for n in names]
        con = duckdb_connection(binary, lake)
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            results = list(pool.map(lambda case: check(binary, lake, con, *case), cases))

    print_table(results)
    failed = [r for r in results if r[4] is not None]
    as_is = sorted({r[0] for r in results if r[2] == "as is"})
    rewritten = sorted({r[0] for r in results if r[2] == "rewritten"})
    print()
    print(f"{len(results) - len(failed)} of {len(results)} cases give the same answers "
          f"({len(set(r[0] for r in results))} reports: {len(as_is)} run by DuckDB as is, "
          f"{len(rewritten)} with the dialect rewrites) in {time.monotonic() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
