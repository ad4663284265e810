#!/usr/bin/env python3
"""SQL mutation run over the report catalog: how many deliberate bugs do the report tests catch?

For each crates/query/sql/<report>.sql it makes mutants (one small change each: a comparison
operator, a removed coalesce/nullif/lower/DISTINCT/round, AND <-> OR, a dropped join or grouping
key, a changed rounding, sort direction, NULLS placement or constant), runs every case of
tests/reports/<report>.slt against the mutant, and counts the mutant killed when any case prints
something else than its expected block (or fails). The expected blocks are the ones the report
tests use, derived by derive.py, so a survivor is a change the suite would let ship.

How a mutant runs: the report binary embeds its SQL, so rebuilding per mutant would take minutes
each. Instead the mutated text goes through `pstn-lake sql` (the same session, engine and output
writer as `pstn-lake report`) on a lake landed as tests/it/reports.rs lands it (fixture/,
fixture-dialout/, fixture-users/), with each `$name` parameter written as the typed literal `report`
would bind (`DATE '...'`, `CAST(NULL AS VARCHAR)`, ...) and a `--mapping` file's rows as a
`chargeback_mapping` CTE (`pstn-lake sql` holds that table empty). The unmutated SQL must reproduce
every expected block this way first, or the run stops: the harness is then not faithful.

    python3 tests/reports/mutate.py [--bin target/debug/pstn-lake] [--jobs 2] [report ...]

Prints each survivor (report, line, the change) and the score; exit 1 when the score is under
--min (95 by default) or the baseline fails. Mutants that do not plan (invalid SQL: every case
fails with a planning error) are "stillborn": listed apart, not counted either way.
Survivors judged equivalent (no input can tell them apart) are listed in EQUIVALENT below, with
the reason; they are excluded from the score and printed as such.
"""

import argparse
import concurrent.futures
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SQL_DIR = ROOT / "crates" / "query" / "sql"


FRAGMENT_DIR = SQL_DIR / "fragments"


def fragment_text(name):
    return (FRAGMENT_DIR / f"{name}.sql").read_text(encoding="utf-8")


def expand(sql, fragments=None):
    """`sql` as `pstn-lake report` runs it: each `{fragment}` (sql/fragments/) in place, from
    `fragments` (name -> text) where given, else from its file."""
    for path in sorted(FRAGMENT_DIR.glob("*.sql")):
        text = (fragments or {}).get(path.stem) or fragment_text(path.stem)
        sql = sql.replace("{" + path.stem + "}", text.rstrip())
    return sql


def report_sql(name):
    """A report's own file (fragments not in place: each source line is mutated once)."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def including(fragment, names):
    """The reports among `names` that put `{fragment}` in their SQL."""
    return [n for n in names if "{" + fragment + "}" in report_sql(n)]

# (report, line, the mutant's description) -> why no input can tell it from the original.
EQUIVALENT = {
    ("charges-by-user", 34, "swap: `user_id` -> `user_principal_name`"):
        "names keeps rows without a user_id, but `names.user_id = per_user.user_id` never joins a "
        "NULL user_id, so they change nothing",
    ("charges-by-user", 64, "swap: `user_id` -> `user_principal_name`"):
        "the last tie-break (user_id) only orders two users with the same total and the same latest "
        "user principal name; the mutant leaves that tie to row_number's arbitrary order, which no "
        "fixture can pin (and a tenant's names are unique at any one time)",
    ("daily-volume", 39, "swap: `NULLS LAST` -> `NULLS FIRST`"):
        "`started` is never NULL: a PSTN call has a start and a Direct Routing attempt an invite "
        "time (Graph always sets inviteDateTime), so no NULL hour competes",
    ("daily-volume", 29, "coalesce removed: `coalesce(sum(CAST(duration AS BIGINT)), 0)` -> "
                         "`sum(CAST(duration AS BIGINT))`"):
        "the final SELECT applies coalesce(per_day.seconds, 0) again",
    **{("duration-by-call-type", line, "swap: `max(` -> `min(`"):
        "one row per position in a group (row_number), and the fractions are constant per group: "
        "max and min of one value agree" for line in range(53, 59)},
    ("charges-by-department", 76, "swap: `DISTINCT ` -> ``"):
        "snapshots is only read through max and min of snapshot_date (as_of): a day listed once per "
        "user gives the same max and min",
    ("charges-by-department", 82, "swap: `DISTINCT ` -> ``"):
        "as_of groups by call_date, so a day listed once per row still gives one row per day with "
        "the same latest snapshot",
    ("charges-by-department", 115, "lower removed: `lower(c.user_id)` -> `c.user_id`"):
        "Graph writes user ids as lower-case GUIDs and the mapping's keys are lower-cased as they are "
        "read (crates/query/src/mapping.rs), so lower() of a user id changes nothing",
    **{("fragments/signals", line, "swap: `UNION ALL` -> `UNION`"):
        "each branch has its own `signal` literal and gives at most one row per call id, so no two "
        "rows are ever identical and UNION removes nothing" for line in (87, 95, 104)},
}

# Every other mutant is killed by some .slt case (the test fails when the score drops under --min),
# but for two known survivors, not equivalent: charges-by-department's `nullif(user_id, '')` of
# pstn_calls and of pstn_dialout_report (only sms_logs has a row with userId "" in the fixture: such
# a call would change charges-by-user's rows, and such a dial-out credits-dialout's organizers).
# tests/it/chargeback.rs kills the pstn_calls one on the simulator, whose auto attendant and call
# queue rows carry userId "".

# ---------------------------------------------------------------------------------------------
# Cases: the report commands of an .slt file and their expected output (as tests/it/reports.rs)


def cases(report):
    lines = (HERE / f"{report}.slt").read_text(encoding="utf-8").split("\n")
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            i += 1
            continue
        marker = lines[i + 1]
        end = i + 2
        while end < len(lines) and lines[end].strip():
            end += 1
        expected = "\n".join(lines[i + 2:end])
        if marker.strip() == "----":
            out.append((line, expected + "\n" if expected else ""))
        i = end
    return out


def quoted(text):
    return "'" + text.replace("'", "''") + "'"


def literal_params(command):
    """The `$name` values `pstn-lake report` binds for the command, as typed SQL literals, the
    output format, and the `--mapping` file's rows (None without one)."""
    words = command.split()
    values = {
        "from": "DATE '0001-01-01'", "to": "DATE '9999-12-31'",
        "currency": "CAST(NULL AS VARCHAR)", "country": "CAST(NULL AS VARCHAR)",
        "user": "CAST(NULL AS VARCHAR)", "limit": "CAST(NULL AS BIGINT)",
        "by": "CAST(NULL AS VARCHAR)",
    }
    fmt, mapping = "csv", None
    it = iter(words[2:])
    for word in it:
        value = next(it)
        name = word.removeprefix("--")
        if name in ("from", "to"):
            values[name] = f"DATE '{value}'"
        elif name in ("currency", "country"):
            values[name] = "'" + value.upper() + "'"
        elif name == "user":
            values[name] = quoted(value)
        elif name == "limit":
            values[name] = f"CAST({int(value)} AS BIGINT)"
        elif name == "by":
            # `report` binds the canonical name (department, cost-center, ...: lower case).
            values[name] = quoted(value.strip().lower())
        elif name == "mapping":
            mapping = mapping_rows(ROOT / value)
        elif name == "format":
            fmt = value
        else:
            raise SystemExit(f"mutate.py does not know {word} in `{command}`")
    return values, fmt, mapping


PARAM = re.compile(r"\$(from|to|currency|country|user|limit|by)\b")


def bind(sql, values):
    return PARAM.sub(lambda m: values[m.group(1)], sql)


def mapping_rows(path):
    """A `--mapping` CSV as `report` loads it into `chargeback_mapping` (crates/query/src/
    mapping.rs): after the `user,group` header, each row's user lower-cased and its group, both
    trimmed; blank rows skipped."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return [(r[0].strip().lower(), r[1].strip()) for r in rows[1:] if any(c.strip() for c in r)]


def with_mapping(sql, rows):
    """`sql` reading `rows` as its `chargeback_mapping`: `pstn-lake sql` has that table, but empty
    (only `report --mapping` fills it), so a `--mapping` case runs with a CTE of the same name and
    rows in front of the report's own (a CTE hides a table of its name). The baseline run checks
    that this reproduces the expected blocks, which tests/it/reports.rs gets through `report`."""
    values = ", ".join(f"({quoted(user)}, {quoted(group)})" for user, group in rows)
    cte = (f"chargeback_mapping AS (SELECT column1 AS user_key, column2 AS group_name "
           f"FROM (VALUES {values})), ")
    spans = code_spans(sql)
    m = next(m for m in re.finditer(r"\bWITH\s+", sql) if in_code(spans, m.start()))
    return sql[:m.end()] + cte + sql[m.end():]


# ---------------------------------------------------------------------------------------------
# Mutants


def code_spans(sql):
    """(start, end) of the SQL text outside `--` comments and '...' string literals."""
    spans, i, start, n = [], 0, 0, len(sql)
    while i < n:
        if sql.startswith("--", i):
            spans.append((start, i))
            i = sql.find("\n", i)
            i = n if i < 0 else i
            start = i
        elif sql[i] == "'":
            spans.append((start, i))
            i = sql.find("'", i + 1) + 1
            start = i
        else:
            i += 1
    spans.append((start, n))
    return [(a, b) for a, b in spans if b > a]


def in_code(spans, at):
    return any(a <= at < b for a, b in spans)


def matching_paren(sql, open_at):
    depth = 0
    for i in range(open_at, len(sql)):
        if sql[i] == "(":
            depth += 1
        elif sql[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced")


def split_args(text):
    """Top-level comma-separated parts of `text` (no parentheses crossed)."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append((start, i))
            start = i + 1
    parts.append((start, len(text)))
    return parts


COMPARISONS = {
    "<=": ["<", ">"], ">=": [">", "<"], "<>": ["="], "!=": ["="],
    "<": ["<=", ">="], ">": [">=", "<="], "=": ["<>"],
}
SWAPS = [
    (r"\bAND\b", "OR"), (r"\bOR\b", "AND"), (r"\bDESC\b", "ASC"), (r"\bASC\b", "DESC"),
    (r"\bNULLS LAST\b", "NULLS FIRST"), (r"\bNULLS FIRST\b", "NULLS LAST"),
    (r"\bIS NULL\b", "IS NOT NULL"), (r"\bIS NOT NULL\b", "IS NULL"),
    (r"\bLEFT JOIN\b", "JOIN"), (r"\bmax\(", "min("), (r"\bmin\(", "max("),
    (r"\bround\(", "trunc("), (r"\bUNION ALL\b", "UNION"), (r"\bDISTINCT ", ""),
    (r"\bNOT ", ""), (r"\bFILTER \(WHERE [^)]*\)", ""),
    (r"\buser_id\b", "user_principal_name"),
]
UNWRAP = ["coalesce", "nullif", "lower"]


def mutants(sql):
    """(line, description, mutated sql) for every mutant of `sql`."""
    spans = code_spans(sql)
    out = []

    def add(at, end, new, what):
        line = sql.count("\n", 0, at) + 1
        out.append((line, f"{what}: `{sql[at:end]}` -> `{new}`", sql[:at] + new + sql[end:]))

    # comparison operators
    for m in re.finditer(r"<=|>=|<>|!=|<|>|=", sql):
        if not in_code(spans, m.start()) or sql[m.end():m.end() + 1] == ">":
            continue
        for new in COMPARISONS[m.group()]:
            add(m.start(), m.end(), new, "comparison")
    # keyword and function swaps
    for pattern, new in SWAPS:
        for m in re.finditer(pattern, sql):
            if not in_code(spans, m.start()):
                continue
            # the AND of `BETWEEN a AND b` is not a conjunction
            if m.group() == "AND" and re.search(r"BETWEEN\s+\S+\s+$", sql[:m.start()]):
                continue
            add(m.start(), m.end(), new, "swap")
    # function removal: f(x, ...) -> x
    for name in UNWRAP:
        for m in re.finditer(rf"\b{name}\(", sql):
            if not in_code(spans, m.start()):
                continue
            close = matching_paren(sql, m.end() - 1)
            inner = sql[m.end():close]
            first = inner[: split_args(inner)[0][1]].strip()
            add(m.start(), close + 1, first, f"{name} removed")
    # rounding: round(x, n) -> round(x, n - 1) and round(x, n + 1)
    for m in re.finditer(r"\bround\(", sql):
        if not in_code(spans, m.start()):
            continue
        close = matching_paren(sql, m.end() - 1)
        inner = sql[m.end():close]
        parts = split_args(inner)
        if len(parts) == 2:
            a, b = parts[1]
            places = int(inner[a:b])
            for new in (places - 1, places + 1):
                at = m.end() + a
                add(at, m.end() + b, f" {new}", "rounding places")
    # grouping, partition and ORDER BY keys, join conditions: drop one key
    for m in re.finditer(r"\b(GROUP BY|PARTITION BY)\s+", sql):
        if not in_code(spans, m.start()):
            continue
        start = m.end()
        end = start
        depth = 0
        while end < len(sql):
            c = sql[end]
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and (sql.startswith("ORDER BY", end) or sql[end] == "\n"):
                break
            end += 1
        keys = split_args(sql[start:end])
        if len(keys) < 2:
            continue
        for i, (a, b) in enumerate(keys):
            rest = [sql[start + x:start + y].strip() for j, (x, y) in enumerate(keys) if j != i]
            add(start, end, ", ".join(rest) + " ", f"{m.group(1)} key dropped")
    for m in re.finditer(r"\bON\s+", sql):
        if not in_code(spans, m.start()):
            continue
        start = m.end()
        end = sql.find("\n", start)
        nxt = re.match(r"\s+AND\b[^\n]*", sql[end:])
        while nxt:  # conditions continued on the next lines
            end += nxt.end()
            nxt = re.match(r"\s+AND\b[^\n]*", sql[end:])
        conds = re.split(r"\s+AND\s+", sql[start:end])
        for i in range(len(conds)):
            rest = [c for j, c in enumerate(conds) if j != i] or ["true"]
            add(start, end, " AND ".join(rest), "join condition dropped")
    # integer constants: n -> n + 1 (not inside a type such as DECIMAL(20, 2))
    for m in re.finditer(r"(?<![\w.])(\d+)(?![\w.])", sql):
        if not in_code(spans, m.start()) or re.search(r"DECIMAL\(\s*\d*\s*,?\s*$", sql[:m.start()]):
            continue
        add(m.start(), m.end(), str(int(m.group(1)) + 1), "constant")
    return out


# ---------------------------------------------------------------------------------------------
# Running


class Runner:
    def __init__(self, binary, lake):
        self.binary, self.lake = binary, lake

    def run(self, sql, command):
        values, fmt, mapping = literal_params(command)
        sql = bind(sql, values)
        if mapping is not None:
            sql = with_mapping(sql, mapping)
        proc = subprocess.run(
            [self.binary, "sql", "--format", fmt, "--lake", self.lake, "--", sql],
            capture_output=True, text=True,
        )
        return proc.returncode, proc.stdout, proc.stderr

    def verdict(self, sql, report_cases):
        """'killed', 'survived' or 'stillborn' (no case planned)."""
        planned = False
        for command, expected in report_cases:
            code, out, err = self.run(sql, command)
            if code != 0 and "refused" in err:
                continue  # does not plan; decided below if no case plans
            planned = True
            if code != 0 or out != expected:
                return "killed"
        return "survived" if planned else "stillborn"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    parser.add_argument("--bin", default=str(target / "debug" / "pstn-lake"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--min", type=float, default=95.0)
    parser.add_argument("reports", nargs="*")
    args = parser.parse_args()
    started = time.monotonic()
    names = args.reports or sorted(p.stem for p in SQL_DIR.glob("*.sql"))

    with tempfile.TemporaryDirectory() as tmp:
        lake = str(Path(tmp) / "lake")
        subprocess.run([args.bin, "ingest", str(HERE / "fixture"), "--lake", lake],
                       check=True, capture_output=True)
        # Each day's dial-out report with its day (the file's name), as tests/it/reports.rs does.
        for page in sorted((HERE / "fixture-dialout").glob("*.json")):
            subprocess.run([args.bin, "ingest", str(page), "--day", page.stem, "--lake", lake],
                           check=True, capture_output=True)
        # Each directory listing as the users snapshot of its day, in date order.
        for listing in sorted((HERE / "fixture-users").glob("*.json")):
            subprocess.run([args.bin, "ingest", str(listing), "--table", "users", "--day",
                            listing.stem, "--lake", lake], check=True, capture_output=True)
        runner = Runner(args.bin, lake)

        # The harness must reproduce every expected block with the unmutated SQL.
        for name in names:
            sql = expand(report_sql(name))
            for command, expected in cases(name):
                code, out, err = runner.run(sql, command)
                if code != 0 or out != expected:
                    print(f"baseline differs: {name}: {command}\n{err}{out}\nexpected:\n{expected}")
                    return 1

        # A job: (unit, line, what, [(report, its SQL with the mutant)]). A report's own lines are
        # mutated in it; a fragment's lines once, run through every report that includes it
        # (killed when any of their cases tells the mutant apart).
        jobs = []
        for name in names:
            for line, what, mutated in mutants(report_sql(name)):
                jobs.append((name, line, what, [(name, expand(mutated))]))
        for path in sorted(FRAGMENT_DIR.glob("*.sql")):
            users = including(path.stem, names)
            if not users:
                continue
            for line, what, mutated in mutants(fragment_text(path.stem)):
                runs = [(n, expand(report_sql(n), {path.stem: mutated})) for n in users]
                jobs.append((f"fragments/{path.stem}", line, what, runs))

        def verdict(job):
            verdicts = [runner.verdict(sql, cases(report)) for report, sql in job[3]]
            for v in ("killed", "survived"):
                if v in verdicts:
                    return v
            return "stillborn"

        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            verdicts = list(pool.map(verdict, jobs))

    counts = {"killed": 0, "survived": 0, "stillborn": 0, "equivalent": 0}
    per_report = {}
    for (name, line, what, _), verdict in zip(jobs, verdicts):
        if verdict == "survived" and (name, line, what) in EQUIVALENT:
            verdict = "equivalent"
        counts[verdict] += 1
        k, n = per_report.get(name, (0, 0))
        if verdict in ("killed", "survived"):
            per_report[name] = (k + (verdict == "killed"), n + 1)
        if verdict == "survived":
            print(f"SURVIVED {name}.sql:{line}: {what}")
        elif verdict == "equivalent":
            print(f"equivalent {name}.sql:{line}: {what} ({EQUIVALENT[(name, line, what)]})")
    for name, (k, n) in sorted(per_report.items()):
        print(f"  {name:<24} {k}/{n} killed")
    scored = counts["killed"] + counts["survived"]
    score = 100.0 * counts["killed"] / scored if scored else 100.0
    every = scored + counts["equivalent"]
    print(f"mutation score: {counts['killed']}/{scored} killed = {score:.1f}% "
          f"({counts['equivalent']} equivalent and {counts['stillborn']} stillborn not counted; "
          f"{counts['killed']}/{every} = {100.0 * counts['killed'] / max(every, 1):.1f}% with the "
          f"equivalent ones counted as survivors) in {time.monotonic() - started:.0f} s")
    return 0 if score >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
