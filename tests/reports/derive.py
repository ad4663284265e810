#!/usr/bin/env python3
"""Derives the expected output of every case in tests/reports/*.slt from the fixture pages alone.

This is the independent side of the report tests: plain Python over the Graph JSON in
tests/reports/fixture/, fixture-dialout/ and fixture-users/ (and a case's --mapping CSV), exact
money with decimal.Decimal, no SQL and no DataFusion. Each report is implemented here from the
rules its crates/query/sql/*.sql header states, not from its SQL.

    python3 tests/reports/derive.py            # check: every expected block agrees (exit 1 if not)
    python3 tests/reports/derive.py --write    # rewrite the expected blocks from the fixture

`---- error` cases are not derived (they check messages); they are left as they are.
"""

import csv
import datetime as dt
import json
import sys
from collections import defaultdict
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent  # paths in .slt command lines are relative to the repository
FIXTURE = HERE / "fixture"

# ---------------------------------------------------------------------------------------------
# The fixture, as `pstn-lake ingest` lands it


def pages(path):
    """Every page of a file holding one or more JSON pages one after the other."""
    text = path.read_text(encoding="utf-8")
    decoder = json.JSONDecoder(parse_float=Decimal)
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return
        page, at = decoder.raw_decode(text, at)
        yield page


def timestamp(text):
    """A Graph DateTimeOffset as a UTC datetime; `0001-01-01T00:00:00Z` and null are None."""
    if text is None or text.startswith("0001-01-01"):
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def load(name):
    rows = {}
    for page in pages(FIXTURE / name):
        for row in page["value"]:
            row = dict(row)
            for key in ("startDateTime", "endDateTime", "inviteDateTime", "failureDateTime"):
                if key in row:
                    row[key] = timestamp(row[key])
            for key in ("charge", "connectionCharge"):
                if row.get(key) is not None:
                    row[key] = Decimal(row[key])
            started = row["startDateTime"] or row.get("inviteDateTime")
            row["call_date"] = started.date()
            rows[row["id"]] = row  # later rows win by id, as in the lake
    return list(rows.values())


PSTN = load("pstn.json")
DR = load("direct_routing.json")


def micro_timestamp(text):
    """A date-time as the lake holds it: Graph's 7th fractional digit (100 ns) truncated."""
    if text is None:
        return None
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    return timestamp(text)


def load_log(path, day_of, key_of, money_keys, day=None):
    """The rows of a beta-only log, keyed as the lake keys them (later rows win)."""
    rows = {}
    for page in pages(path):
        for row in page["value"]:
            row = dict(row)
            for key in ("sentDateTime", "blockDateTime"):
                if key in row:
                    row[key] = micro_timestamp(row[key])
            for key in money_keys:
                if row.get(key) is not None:
                    row[key] = Decimal(row[key])
            row["call_date"] = day or day_of(row).date()
            rows[(row["call_date"], key_of(row))] = row
    return list(rows.values())


SMS = load_log(FIXTURE / "sms.json", lambda r: r["sentDateTime"], lambda r: r["id"], ["callCharge"])
BLOCKS = load_log(
    FIXTURE / "blocked.json",
    lambda r: r["blockDateTime"],
    lambda r: (r.get("remediationId"), r.get("userId"), r["blockDateTime"]),
    [],
)
DIALOUT = [
    row
    for path in sorted((HERE / "fixture-dialout").glob("*.json"))
    for row in load_log(
        path,
        None,
        lambda r: (r.get("userId"), r.get("usageLocation"), r.get("destinationContext"), r.get("currency")),
        ["totalCallCharge"],
        day=dt.date.fromisoformat(path.stem),
    )
]


# What `--by` groups users by: the user's property (costCenter and division are employeeOrgData's).
BY = {
    "department": lambda u, org: u.get("department"),
    "cost-center": lambda u, org: org.get("costCenter"),
    "division": lambda u, org: org.get("division"),
    "company": lambda u, org: u.get("companyName"),
    "office": lambda u, org: u.get("officeLocation"),
    "country": lambda u, org: u.get("country"),
}


def load_directory():
    """The directory snapshots (day -> user id -> {--by value: the user's value}), as
    `ingest FILE --table users --day DAY` lands the fixture-users/DAY.json listings in date order:
    each lists the whole directory on its day; a user it leaves out that an earlier snapshot held
    stays, with their last values."""
    snapshots, held = {}, {}
    for path in sorted((HERE / "fixture-users").glob("*.json")):
        listed = {}
        for page in pages(path):
            for user in page["value"]:
                org = user.get("employeeOrgData") or {}
                listed[user["id"]] = {by: value(user, org) for by, value in BY.items()}
        held = {**held, **listed}
        snapshots[dt.date.fromisoformat(path.stem)] = held
    return snapshots


DIRECTORY = load_directory()

# ---------------------------------------------------------------------------------------------
# Values that print the way the reports print them


class Dec:
    """A decimal with a fixed number of decimals (a SQL DECIMAL(p, scale))."""

    def __init__(self, value, scale):
        self.value = Decimal(value).quantize(Decimal(1).scaleb(-scale)) if value is not None else None
        self.scale = scale

    def text(self):
        return f"{self.value:.{self.scale}f}"


def money(value):
    return Dec(value, 6) if value is not None else None


def rounded(value, places):
    """Rounded half away from zero (Decimal's ROUND_HALF_UP) to `places` decimals."""
    if value is None:
        return None
    return Dec(Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), places)


def minutes(seconds):
    return rounded(Decimal(seconds) / 60, 2)


def dsum(values):
    """SQL sum: None when every value is None."""
    values = [v for v in values if v is not None]
    return sum(values, Decimal(0)) if values else None


def cell_csv(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Dec):
        return v.text() if v.value is not None else ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    text = str(v)
    if isinstance(v, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # `--format csv` is for spreadsheets: text they would run as a formula starts with '.
        text = "'" + text
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def cell_json(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Dec):
        return v.text() if v.value is not None else "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dt.datetime):
        return json.dumps(v.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if isinstance(v, dt.date):
        return json.dumps(v.isoformat())
    return json.dumps(v, ensure_ascii=False)


def render(columns, rows, fmt):
    if fmt == "csv":
        lines = [",".join(columns)] + [",".join(cell_csv(v) for v in row) for row in rows]
        return "\n".join(lines) + "\n"
    objects = [
        "{" + ",".join(f"{json.dumps(c)}:{cell_json(v)}" for c, v in zip(columns, row)) + "}"
        for row in rows
    ]
    if fmt == "json":
        return "[" + ",".join(objects) + "]\n"
    if fmt == "ndjson":
        return "".join(o + "\n" for o in objects)
    raise SystemExit(f"derive.py does not render --format {fmt}")


# ---------------------------------------------------------------------------------------------
# Parameters and the filters every report shares


def read_mapping(path):
    """A --mapping CSV: a `user,group` header, then a user (user principal name or user id) and
    its group per line."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert [c.strip().lower() for c in rows[0][:2]] == ["user", "group"], rows[0]
    return [(r[0].strip(), r[1].strip()) for r in rows[1:] if any(c.strip() for c in r)]


class Params:
    def __init__(self, words):
        self.report = words[1]
        self.start = dt.date.min
        self.end = dt.date.max
        self.currency = self.country = self.user = self.limit = self.by = self.mapping = None
        self.format = "csv"
        it = iter(words[2:])
        for word in it:
            value = next(it)
            if word == "--from":
                self.start = dt.date.fromisoformat(value)
            elif word == "--to":
                self.end = dt.date.fromisoformat(value)
            elif word == "--currency":
                self.currency = value.upper()
            elif word == "--country":
                self.country = value.upper()
            elif word == "--user":
                self.user = value
            elif word == "--limit":
                self.limit = int(value)
            elif word == "--format":
                self.format = value
            elif word == "--by":
                self.by = value.strip().lower()
            elif word == "--mapping":
                self.mapping = read_mapping(ROOT / value)
            else:
                raise SystemExit(f"derive.py does not know {word}")

    def days(self, row):
        return self.start <= row["call_date"] <= self.end

    def user_ok(self, row):
        if self.user is None:
            return True
        upn = row.get("userPrincipalName")
        return (upn is not None and upn.lower() == self.user.lower()) or row.get("userId") == self.user

    def selects(self, row, country_key):
        """The filters every money report shares: days, currency, the country in `country_key`,
        user."""
        return (
            self.days(row)
            and (self.currency is None or row.get("currency") == self.currency)
            and (self.country is None or row.get(country_key) == self.country)
            and self.user_ok(row)
        )

    def pstn(self, row):
        """The PSTN filters: days, currency, usage country, user."""
        return self.selects(row, "usageCountryCode")

    def head(self, rows):
        return rows if self.limit is None else rows[: self.limit]


def outbound(row):
    return "out" in (row.get("callType") or "").lower()


def international(row):
    return (row.get("destinationContext") or "").lower() == "international"


def nulls_last(*values):
    """A sort key that orders like SQL `ORDER BY ... NULLS LAST`: None after every value."""
    return tuple((v is None, v if v is not None else "") for v in values)


def upn(row):
    return row.get("userPrincipalName") or ""


def total(row):
    return (row.get("charge") or Decimal(0)) + (row.get("connectionCharge") or Decimal(0))


def seconds(rows):
    return sum(r["duration"] for r in rows if r.get("duration") is not None)


def display_name(rows):
    names = [r["userDisplayName"] for r in rows if r.get("userDisplayName") is not None]
    return max(names) if names else ""


def ranked(groups, key, p):
    """Groups of one currency numbered 1.. by `key`, keeping the top --limit of each currency."""
    out = []
    by_currency = defaultdict(list)
    for g in groups:
        by_currency[g["currency"]].append(g)
    for currency in sorted(by_currency, key=nulls_last):
        for rank, g in enumerate(sorted(by_currency[currency], key=key), start=1):
            if p.limit is None or rank <= p.limit:
                g["rank"] = rank
                out.append(g)
    return out


# ---------------------------------------------------------------------------------------------
# The reports, from the rules in their headers


def charges_by_country(p):
    groups = defaultdict(list)
    for r in PSTN:
        if p.pstn(r):
            groups[(r["usageCountryCode"], r["currency"])].append(r)
    rows = []
    for (country, currency), calls in sorted(groups.items(), key=lambda kv: nulls_last(*kv[0])):
        s = seconds(calls)
        rows.append([
            country, currency, len(calls), s, minutes(s),
            money(dsum(r.get("charge") for r in calls)),
            money(dsum(r.get("connectionCharge") for r in calls)),
        ])
    return ["country", "currency", "calls", "seconds", "minutes", "charge", "connection_charge"], p.head(rows)


NO_USER = "(no user: auto attendant / call queue)"


def charges_by_user(p):
    groups = defaultdict(list)
    for r in PSTN:
        if p.pstn(r):
            groups[(r["currency"], r.get("userId"))].append(r)
    summaries = []
    for (c, user_id), calls in groups.items():
        if user_id is None:
            name, display = NO_USER, ""
        else:
            # the names of the user's latest selected call in any currency (by start, then id) with a name
            named = [r for r in PSTN if p.pstn(r) and r.get("userId") == user_id
                     and r.get("userPrincipalName") is not None]
            latest = max(named, key=lambda r: (r["startDateTime"], r["id"])) if named else {}
            name, display = latest.get("userPrincipalName") or "", latest.get("userDisplayName") or ""
        summaries.append({"currency": c, "user_id": user_id or "", "user": name, "display": display,
                          "calls": calls, "total": sum((total(r) for r in calls), Decimal(0))})
    rows = []
    for g in ranked(summaries, lambda g: (-g["total"], g["user"], g["user_id"]), p):
        calls = g["calls"]
        rows.append([
            g["currency"], g["rank"], g["user"], g["display"], len(calls),
            minutes(seconds(calls)),
            money(dsum(r.get("charge") for r in calls)),
            money(dsum(r.get("connectionCharge") for r in calls)),
            money(g["total"]),
        ])
    columns = ["currency", "rank", "user_principal_name", "user_display_name", "calls", "minutes",
               "charge", "connection_charge", "total_charge"]
    return columns, rows


def month_of(day):
    return (day.year, day.month)


def month_before(month):
    year, m = month
    return (year - 1, 12) if m == 1 else (year, m - 1)


def monthly_cost(p):
    groups = defaultdict(list)
    for r in PSTN:
        if p.pstn(r):
            groups[(month_of(r["call_date"]), r["currency"])].append(r)
    sms, dialout = defaultdict(list), defaultdict(list)
    for r in SMS:
        if p.selects(r, "userCountryCode"):
            sms[(month_of(r["call_date"]), r.get("currency"))].append(r.get("callCharge"))
    for r in DIALOUT:
        if p.selects(r, "usageLocation"):
            dialout[(month_of(r["call_date"]), r.get("currency"))].append(r.get("totalCallCharge"))
    keys = set(groups) | set(sms) | set(dialout)
    # A month without calls in a currency has a call total of 0.
    totals = {k: sum((total(r) for r in groups.get(k, [])), Decimal(0)) for k in keys}
    first = min((m for m, _ in keys), default=None)
    rows = []
    for month, currency in sorted(keys, key=lambda k: (k[0], nulls_last(k[1]))):
        calls = groups.get((month, currency), [])
        t = totals[(month, currency)]
        if month == first:
            previous = None
        else:
            previous = totals.get((month_before(month), currency), Decimal(0))
        change = t - previous if previous is not None else None
        pct = rounded(100 * change / previous, 1) if previous else None
        rows.append([
            f"{month[0]:04d}-{month[1]:02d}", currency, len(calls), minutes(seconds(calls)),
            money(dsum(r.get("charge") for r in calls)),
            money(dsum(r.get("connectionCharge") for r in calls)),
            money(t),
            money(dsum(sms.get((month, currency), []))),
            money(dsum(dialout.get((month, currency), []))),
            money(previous), money(change), pct,
        ])
    columns = ["month", "currency", "calls", "minutes", "charge", "connection_charge", "total_charge",
               "sms_charge", "dialout_charge", "previous_total", "change", "change_pct"]
    return columns, p.head(rows)


def percentile(sorted_values, fraction):
    """PERCENTILE.INC: position 1 + fraction * (n - 1), interpolating between neighbours."""
    n = len(sorted_values)
    if n == 0:
        return None
    position = 1 + fraction * (n - 1)
    low = int(position)  # floor: position >= 1
    part = position - low
    value = Decimal(sorted_values[low - 1])
    if part:
        value += part * (sorted_values[low] - sorted_values[low - 1])
    return Dec(value, 2)


def duration_by_call_type(p):
    groups = defaultdict(list)
    for r in PSTN:
        if p.days(r) and p.user_ok(r):
            groups[("pstn", r.get("callType") or "")].append(r)
    for r in DR:
        if p.days(r) and p.user_ok(r) and r.get("successfulCall") is True:
            groups[("direct_routing", r.get("callType") or "")].append(r)
    rows = []
    # pstn first, then direct_routing; call types alphabetically
    for (source, call_type), calls in sorted(groups.items(), key=lambda kv: (kv[0][0] != "pstn", kv[0][1])):
        lengths = sorted(r["duration"] for r in calls if r.get("duration") is not None)
        s = sum(lengths)
        rows.append([
            source, call_type, len(calls), minutes(s),
            rounded(Decimal(s) / len(lengths), 2) if lengths else None,
            percentile(lengths, Decimal("0.5")), percentile(lengths, Decimal("0.95")),
        ])
    columns = ["source", "call_type", "calls", "minutes", "mean_seconds", "p50_seconds", "p95_seconds"]
    return columns, p.head(rows)


def duration_by_user(p):
    groups = defaultdict(lambda: {"pstn": 0, "dr": 0, "seconds": 0})
    for source, table in (("pstn", PSTN), ("dr", DR)):
        for r in table:
            if p.days(r) and p.user_ok(r):
                g = groups[upn(r)]
                g[source] += 1
                g["seconds"] += r.get("duration") or 0
    rows = [
        [u, g["pstn"], g["dr"], g["seconds"], minutes(g["seconds"])]
        for u, g in sorted(groups.items(), key=lambda kv: (-kv[1]["seconds"], kv[0]))
    ]
    return ["user_principal_name", "pstn_calls", "direct_routing_calls", "seconds", "minutes"], p.head(rows)


def top_destinations(p):
    groups = defaultdict(list)
    for r in PSTN:
        if p.pstn(r) and outbound(r):
            groups[(r["currency"], r.get("destinationName") or "")].append(r)
    summaries = [
        {"currency": c, "destination": d, "calls": calls, "total": sum((total(r) for r in calls), Decimal(0))}
        for (c, d), calls in groups.items()
    ]
    rows = []
    for g in ranked(summaries, lambda g: (-g["total"], -len(g["calls"]), g["destination"]), p):
        calls = g["calls"]
        users = {r["userPrincipalName"] for r in calls if r.get("userPrincipalName") is not None}
        rows.append([
            g["currency"], g["rank"], g["destination"], len(calls), len(users),
            minutes(seconds(calls)),
            money(dsum(r.get("charge") for r in calls)),
            money(dsum(r.get("connectionCharge") for r in calls)),
            money(g["total"]),
        ])
    columns = ["currency", "rank", "destination", "calls", "users", "minutes", "charge",
               "connection_charge", "total_charge"]
    return columns, rows


def international_outbound(p):
    groups = defaultdict(list)
    for r in PSTN:
        if p.pstn(r) and outbound(r) and international(r):
            groups[(r["currency"], upn(r))].append(r)
    summaries = [
        {"currency": c, "user": u, "calls": calls, "total": sum((total(r) for r in calls), Decimal(0))}
        for (c, u), calls in groups.items()
    ]
    rows = []
    for g in ranked(summaries, lambda g: (-g["total"], g["user"]), p):
        calls = g["calls"]
        destinations = sorted({r["destinationName"] for r in calls if r.get("destinationName") is not None})
        rows.append([
            g["currency"], g["rank"], g["user"], display_name(calls), len(calls),
            len(destinations), ", ".join(destinations), minutes(seconds(calls)),
            money(dsum(r.get("charge") for r in calls)),
            money(dsum(r.get("connectionCharge") for r in calls)),
            money(g["total"]),
        ])
    columns = ["currency", "rank", "user_principal_name", "user_display_name", "calls", "destinations",
               "destination_list", "minutes", "charge", "connection_charge", "total_charge"]
    return columns, rows


def operator_summary(p):
    groups = defaultdict(list)
    for r in PSTN:
        if p.pstn(r):
            groups[(r.get("operator") or "", r.get("licenseCapability") or "", r["currency"])].append(r)
    rows = []
    for (operator, license, currency), calls in sorted(groups.items(), key=lambda kv: (kv[0][:2], nulls_last(kv[0][2]))):
        users = {r["userPrincipalName"] for r in calls if r.get("userPrincipalName") is not None}
        rows.append([
            operator, license, currency, len(calls), len(users), minutes(seconds(calls)),
            money(dsum(r.get("charge") for r in calls)),
            money(dsum(r.get("connectionCharge") for r in calls)),
            f"{operator} / {license}",
        ])
    columns = ["operator", "license_capability", "currency", "calls", "users", "minutes", "charge",
               "connection_charge", "operator_and_license"]
    return columns, p.head(rows)


def daily_volume(p):
    calls = [("pstn", r, r["startDateTime"]) for r in PSTN if p.days(r) and p.user_ok(r)]
    calls += [("dr", r, r["startDateTime"] or r["inviteDateTime"]) for r in DR if p.days(r) and p.user_ok(r)]
    if not calls:
        days = []
    else:
        first = min(r["call_date"] for _, r, _ in calls)
        last = max(r["call_date"] for _, r, _ in calls)
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    rows = []
    for day in days:
        today = [(s, r, t) for s, r, t in calls if r["call_date"] == day]
        hours = defaultdict(int)
        for _, _, started in today:
            hours[started.hour] += 1
        busiest = min(hours.items(), key=lambda kv: (-kv[1], kv[0])) if hours else (None, None)
        s = sum(r.get("duration") or 0 for _, r, _ in today)
        rows.append([
            day,
            sum(1 for source, _, _ in today if source == "pstn"),
            sum(1 for source, _, _ in today if source == "dr"),
            len(today), minutes(s), busiest[0], busiest[1],
        ])
    columns = ["day", "pstn_calls", "direct_routing_calls", "calls", "minutes", "busiest_hour_utc",
               "busiest_hour_calls"]
    return columns, p.head(rows)


def direct_routing_quality(p):
    groups = defaultdict(list)
    for r in DR:
        if p.days(r) and p.user_ok(r):
            groups[r.get("trunkFullyQualifiedDomainName") or ""].append(r)
    rows = []
    for trunk, calls in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        ok = [r for r in calls if r.get("successfulCall") is True]
        failed = [r for r in calls if r.get("successfulCall") is not True]
        codes = defaultdict(int)
        for r in failed:
            codes[r.get("finalSipCode")] += 1
        top = sorted(codes.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or 0))[:3]
        rows.append([
            trunk, len(calls), len(ok), len(failed),
            rounded(Decimal(len(ok)) * 100 / len(calls), 1),
            minutes(seconds(ok)),
            ", ".join(f"{'none' if code is None else code} ({n})" for code, n in top),
        ])
    columns = ["trunk", "calls", "successful", "failed", "success_rate_pct", "minutes", "top_failure_codes"]
    return columns, p.head(rows)


# Standard-time UTC offsets (minutes) of usage countries, as the toll-fraud-signals header lists.
OFFSETS = {
    -300: "US CA CO", -360: "MX", -180: "BR AR", -240: "CL PR",
    0: "GB IE PT IS",
    60: "DE FR NL BE LU CH AT IT ES SE NO DK PL CZ SK HU SI HR RS NG",
    120: "FI EE LV LT GR RO BG ZA IL EG", 180: "TR SA KE", 240: "AE", 300: "PK", 330: "IN",
    420: "TH VN ID", 480: "SG MY PH HK CN TW", 540: "JP KR", 600: "AU", 720: "NZ",
}
OFFSET = {country: minutes for minutes, countries in OFFSETS.items() for country in countries.split()}


def offset_label(minutes):
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def median(values):
    values = sorted(values)
    n = len(values)
    if n % 2:
        return values[n // 2]
    # the mean of the two middle values, truncated to 6 decimals (all charges are positive here)
    return ((values[n // 2 - 1] + values[n // 2]) / 2).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)


def signals_of(p):
    """Every toll-fraud signal over --from/--to, before the currency, country and user filters:
    (signal, call row, detail)."""
    history = [r for r in PSTN if outbound(r) and r["call_date"] <= p.end]
    selected = [r for r in history if r["call_date"] >= p.start]
    signals = []  # (signal, row, detail)
    for r in selected:
        if not international(r) or r["startDateTime"] is None:
            continue
        country = r.get("usageCountryCode")
        if country in OFFSET:
            local = r["startDateTime"] + dt.timedelta(minutes=OFFSET[country])
            label = offset_label(OFFSET[country])
        else:
            local = r["startDateTime"]
            label = f"taken as UTC: no offset known for {country or 'an empty country'}"
        if local.weekday() >= 5 or local.hour < 8 or local.hour >= 18:
            signals.append(("after_hours_international", r,
                            f"started {local.strftime('%a %H:%M')} local time ({label})"))
    for r in selected:
        d = r.get("duration")
        if d is not None and d > 14400:
            signals.append(("long_call", r, f"lasted {d // 3600} h {d % 3600 // 60} min, over 4 h"))
    charged = defaultdict(list)
    for r in selected:
        if r.get("charge") is not None and r["charge"] > 0:
            charged[r["currency"]].append(r["charge"])
    medians = {c: median(v) for c, v in charged.items()}
    for r in selected:
        m = medians.get(r["currency"])
        if m is not None and r.get("charge") is not None and r["charge"] > 20 * m:
            signals.append(("costly_call", r,
                            f"charge {r['charge']:.6f} is over 20 x the median {m:.6f} of charged "
                            f"outbound calls in {r['currency']}"))
    firsts = {}
    for r in sorted(history, key=lambda r: (r["startDateTime"], r["id"])):
        if international(r) and r.get("userPrincipalName") and r.get("destinationName"):
            firsts.setdefault((r["userPrincipalName"].lower(), r["destinationName"]), r)
    for r in firsts.values():
        if r["call_date"] >= p.start:
            signals.append(("new_destination", r, f"first call from this user to {r['destinationName']}"))
    return signals


def first_block_after(row):
    """When Microsoft first blocked the call's user (same userId) at or after the call's start."""
    times = [
        b["blockDateTime"] for b in BLOCKS
        if row.get("userId") is not None and b.get("userId") == row["userId"]
        and (b.get("userBlockMode") or "").lower() == "blocked"
        and b["blockDateTime"] >= row["startDateTime"]
    ]
    return min(times) if times else None


def toll_fraud_signals(p):
    signals = signals_of(p)
    keep = [
        (s, r, d) for s, r, d in signals
        if (p.currency is None or r["currency"] == p.currency)
        and (p.country is None or r["usageCountryCode"] == p.country)
        and p.user_ok(r)
    ]
    keep.sort(key=lambda x: (x[1]["startDateTime"], x[0], x[1]["id"]))
    rows = [
        [s, r["startDateTime"], upn(r), r.get("calleeNumber"), r.get("destinationName") or "",
         r.get("usageCountryCode"), r.get("duration"), money(r.get("charge")), r["currency"], d,
         first_block_after(r)]
        for s, r, d in keep
    ]
    columns = ["signal", "start_utc", "user_principal_name", "callee_number", "destination", "country",
               "duration_seconds", "charge", "currency", "detail", "blocked_utc"]
    return columns, p.head(rows)


def month_text(day):
    return f"{day.year:04d}-{day.month:02d}"


def sms_charges(p):
    groups = defaultdict(list)
    for r in SMS:
        if p.selects(r, "userCountryCode"):
            groups[(month_text(r["call_date"]), r.get("currency"), r.get("smsType"),
                    r.get("destinationContext"))].append(r)
    rows = [
        [month, currency, kind, context, len(sms),
         sum(r["smsUnits"] for r in sms if r.get("smsUnits") is not None),
         money(dsum(r.get("callCharge") for r in sms))]
        for (month, currency, kind, context), sms in sorted(
            groups.items(), key=lambda kv: (kv[0][0],) + nulls_last(*kv[0][1:]))
    ]
    columns = ["month", "currency", "sms_type", "destination_context", "messages", "units", "charge"]
    return columns, p.head(rows)


def credits_dialout(p):
    groups = defaultdict(list)
    for r in DIALOUT:
        if p.selects(r, "usageLocation"):
            groups[(month_text(r["call_date"]), r.get("currency"), r.get("destinationContext"))].append(r)
    rows = [
        [month, currency, context,
         len({r["userId"] for r in totals if r.get("userId") is not None}),
         sum(r["totalCalls"] for r in totals if r.get("totalCalls") is not None),
         minutes(sum(r["totalCallSeconds"] for r in totals if r.get("totalCallSeconds") is not None)),
         money(dsum(r.get("totalCallCharge") for r in totals))]
        for (month, currency, context), totals in sorted(
            groups.items(), key=lambda kv: (kv[0][0],) + nulls_last(*kv[0][1:]))
    ]
    columns = ["month", "currency", "destination_context", "organizers", "calls", "minutes", "charge"]
    return columns, p.head(rows)


def block_key(b):
    """The lake's row_key of a block: remediation|user|time (RFC 3339, microseconds)."""
    at = b["blockDateTime"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{b.get('remediationId') or ''}|{b.get('userId') or ''}|{at}"


def blocked_users(p):
    rows = []
    blocks = [b for b in BLOCKS if p.days(b) and p.user_ok(b)]
    for b in sorted(blocks, key=lambda b: (b["blockDateTime"], block_key(b))):
        at = b["blockDateTime"]
        calls = [
            c for c in PSTN
            if b.get("userId") is not None and c.get("userId") == b["userId"]
            and c["startDateTime"] is not None
            and at - dt.timedelta(days=7) <= c["startDateTime"] < at
        ]
        head = [at, b.get("userPrincipalName"), b.get("userBlockMode"), b.get("blockReason"),
                b.get("userTelephoneNumber")]
        if not calls:
            rows.append(head + [0, 0, minutes(0), None, None])
            continue
        by_currency = defaultdict(list)
        for c in calls:
            by_currency[c.get("currency")].append(c)
        for currency in sorted(by_currency, key=nulls_last):
            group = by_currency[currency]
            rows.append(head + [
                len(group), sum(1 for c in group if international(c)), minutes(seconds(group)),
                money(sum((total(c) for c in group), Decimal(0))), currency,
            ])
    columns = ["block_utc", "user_principal_name", "mode", "reason", "telephone_number", "calls_7d",
               "international_7d", "minutes_7d", "charge_7d", "currency"]
    return columns, p.head(rows)


def fraud_signal_check(p):
    signals = signals_of(p)
    blocks = [
        b for b in BLOCKS
        if p.days(b) and (b.get("userBlockMode") or "").lower() == "blocked" and p.user_ok(b)
    ]
    rows = []
    for b in sorted(blocks, key=lambda b: (b["blockDateTime"], block_key(b))):
        before = sorted(
            ((r["startDateTime"], s, r["id"]) for s, r, _ in signals
             if b.get("userId") is not None and r.get("userId") == b["userId"]
             and r["startDateTime"] < b["blockDateTime"]),
        )
        head = [b["blockDateTime"], b.get("userPrincipalName"), b.get("blockReason"), len(before)]
        if not before:
            rows.append(head + [None, None, None])
            continue
        start, signal, _ = before[0]
        delta = b["blockDateTime"] - start
        micros = (delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds
        days = Decimal(micros) / Decimal(86400 * 10**6)
        rows.append(head + [signal, start, rounded(days, 1)])
    columns = ["block_utc", "user_principal_name", "reason", "signals_before", "first_signal",
               "first_signal_utc", "days_earlier"]
    return columns, p.head(rows)


def snapshot_of(day):
    """The directory of `day`: the latest snapshot on or before it, else the first one (None when
    the lake holds none)."""
    days = sorted(DIRECTORY)
    on_or_before = [d for d in days if d <= day]
    if on_or_before:
        return DIRECTORY[on_or_before[-1]]
    return DIRECTORY[days[0]] if days else None


def charged_to(row, p):
    """The group a PSTN call, SMS or dial-out (`row`) is charged to, in the header's order."""
    user_id = row.get("userId") or None  # Graph writes "" on conferencing rows
    upn = row.get("userPrincipalName")
    for user, group in p.mapping or []:
        if upn is not None and user.lower() == upn.lower():
            return group
    for user, group in p.mapping or []:
        if user_id is not None and user == user_id:
            return group
    if user_id is None:
        return NO_USER
    by = p.by or "department"
    if by == "admin-unit":
        units = row.get("administrativeUnitInfos") or []
        return (units[0].get("id") if units else None) or "(not set)"
    directory = snapshot_of(row["call_date"])
    if directory is None or user_id not in directory:
        return "(not in directory)"
    return directory[user_id][by] or "(not set)"  # null or empty


def charges_by_department(p):
    groups = defaultdict(lambda: {"users": set(), "calls": 0, "call": Decimal(0), "sms": 0,
                                  "sms_charge": Decimal(0), "dialout_calls": 0, "dialout": Decimal(0)})

    def selected(r):
        return p.days(r) and (p.currency is None or r.get("currency") == p.currency)

    def group(r):
        g = groups[(r.get("currency"), charged_to(r, p))]
        if r.get("userId"):
            g["users"].add(r["userId"])
        return g

    for r in filter(selected, PSTN):
        g = group(r)
        g["calls"] += 1
        g["call"] += total(r)
    for r in filter(selected, SMS):
        g = group(r)
        g["sms"] += 1
        g["sms_charge"] += r.get("callCharge") or Decimal(0)
    for r in filter(selected, DIALOUT):
        g = group(r)  # a dial-out carries no administrative unit: (not set) by admin-unit
        g["dialout_calls"] += r.get("totalCalls") or 0
        g["dialout"] += r.get("totalCallCharge") or Decimal(0)
    for g in groups.values():
        g["total"] = g["call"] + g["sms_charge"] + g["dialout"]
    currency_total = defaultdict(Decimal)
    for (currency, _), g in groups.items():
        currency_total[currency] += g["total"]
    ordered = sorted(groups.items(), key=lambda kv: (nulls_last(kv[0][0]), -kv[1]["total"], kv[0][1]))
    rows = []
    for (currency, name), g in ordered:
        whole = currency_total[currency]
        rows.append([
            currency, name, len(g["users"]), g["calls"], money(g["call"]), g["sms"], money(g["sms_charge"]),
            g["dialout_calls"], money(g["dialout"]), money(g["total"]),
            rounded(100 * g["total"] / whole, 1) if whole else None,
        ])
    columns = ["currency", "charged_to", "users", "calls", "call_charge", "sms", "sms_charge", "dialout_calls",
               "dialout_charge", "total_charge", "share_pct"]
    return columns, p.head(rows)


def calling_plan_minutes(p):
    groups = defaultdict(list)
    for r in PSTN:
        if p.pstn(r) and outbound(r):
            key = (month_text(r["call_date"]), r["usageCountryCode"], (r.get("destinationContext") or "").lower())
            groups[key].append(r)
    rows = []
    for (month, country, destination), calls in sorted(groups.items(), key=lambda kv: nulls_last(*kv[0])):
        s = seconds(calls)
        users = len({r["userId"] for r in calls if r.get("userId") is not None})
        rows.append([month, country, destination, len(calls), users, s, minutes(s)])
    return ["month", "country", "destination", "calls", "users", "seconds", "minutes"], p.head(rows)


REPORTS = {
    "blocked-users": blocked_users,
    "calling-plan-minutes": calling_plan_minutes,
    "charges-by-country": charges_by_country,
    "charges-by-department": charges_by_department,
    "credits-dialout": credits_dialout,
    "charges-by-user": charges_by_user,
    "daily-volume": daily_volume,
    "direct-routing-quality": direct_routing_quality,
    "duration-by-call-type": duration_by_call_type,
    "duration-by-user": duration_by_user,
    "fraud-signal-check": fraud_signal_check,
    "international-outbound": international_outbound,
    "monthly-cost": monthly_cost,
    "operator-summary": operator_summary,
    "sms-charges": sms_charges,
    "toll-fraud-signals": toll_fraud_signals,
    "top-destinations": top_destinations,
}


def expected(command):
    words = command.split()
    if words[0] != "report":
        raise SystemExit(f"derive.py derives `report` cases only: {command}")
    p = Params(words)
    columns, rows = REPORTS[p.report](p)
    return render(columns, rows, p.format)


# ---------------------------------------------------------------------------------------------
# The .slt files: `# comment` lines; a case is a command line, `----` (or `---- error`), and the
# expected output up to the next blank line.


def cases(lines):
    """(command, marker line index, end index exclusive) of every case."""
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            i += 1
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("----"):
            raise SystemExit(f"line {i + 1}: `{line}` is not followed by a `----` line")
        end = i + 2
        while end < len(lines) and lines[end].strip():
            end += 1
        yield line, i + 1, end
        i = end


def main():
    write = "--write" in sys.argv[1:]
    files = [Path(a) for a in sys.argv[1:] if not a.startswith("--")] or sorted(HERE.glob("*.slt"))
    bad = 0
    for path in files:
        lines = path.read_text(encoding="utf-8").split("\n")
        out, at = [], 0
        for command, marker, end in cases(lines):
            out += lines[at:marker + 1]
            at = end
            if lines[marker].strip() != "----":
                out += lines[marker + 1:end]
                continue
            want = expected(command).rstrip("\n").split("\n") if expected(command) else []
            have = lines[marker + 1:end]
            if want != have:
                bad += 1
                print(f"{path.name}:{marker}: {command}\n  slt:    {have}\n  derive: {want}")
            out += want
        out += lines[at:]
        if write:
            path.write_text("\n".join(out), encoding="utf-8")
    if bad and not write:
        print(f"{bad} case(s) differ from the derivation")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
