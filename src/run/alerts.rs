//! Alert rules over report results: each runs a catalog report for its period and reads the
//! figures the report prints, so any alert can be checked by running that report (money as exact
//! decimals, never floats). A rule that holds is sent once per period (the run log).

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, Days, NaiveDate};
use pstn_lake_query::{LakeSession, ReportParams};

use super::config::{AlertEntry, Source};
use super::period::{self, Period};

/// One `[[alert]]`, checked.
#[derive(Debug)]
pub struct Rule {
    /// Unique among the rules (the run log's key); the rule's kind unless `name` is given.
    pub name: String,
    pub kind: Kind,
    pub send_to: Vec<String>,
}

#[derive(Debug)]
pub enum Kind {
    /// Any row of `toll-fraud-signals` for yesterday.
    TollFraud,
    /// Yesterday's spend per currency (`monthly-cost` for the day: total_charge + sms_charge +
    /// dialout_charge) above the currency's threshold, in millionths.
    DailySpend { threshold: BTreeMap<String, i128> },
    /// Yesterday's international outbound minutes (`international-outbound`: the sum of its
    /// minutes) above this many.
    InternationalMinutes { minutes: u64 },
    /// This month's spend to yesterday above the mean of the three months before it times the
    /// factor (in thousandths), per currency (`monthly-cost`).
    MonthlySpike { factor_milli: i128 },
    /// A calling-plan pool (`calling-plan-minutes`: this month's outbound minutes of a usage
    /// country to domestic or international numbers) used past `percent` of `minutes`.
    MinutePool {
        country: String,
        destination: String,
        minutes: u64,
        percent: u8,
    },
}

/// What a rule that holds says: a title, a sentence, and the figures behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub title: String,
    pub text: String,
    pub facts: Vec<(String, String)>,
}

const RULES: &str = "toll-fraud, daily-spend, international-minutes, monthly-spike, minute-pool";

impl Rule {
    pub fn from_entry(entry: &AlertEntry, send_to: Vec<String>, source: &Source) -> Result<Rule> {
        let rule = entry.rule.get_ref().as_str();
        let at = |message: String| source.error(entry.rule.span(), message);
        // Keys a rule does not read are refused: a misplaced key is a mistake, not a default.
        let given: Vec<(&str, bool)> = vec![
            ("threshold", entry.threshold.is_some()),
            ("minutes", entry.minutes.is_some()),
            ("factor", entry.factor.is_some()),
            ("country", entry.country.is_some()),
            ("destination", entry.destination.is_some()),
            ("percent", entry.percent.is_some()),
        ];
        let takes: &[&str] = match rule {
            "toll-fraud" => &[],
            "daily-spend" => &["threshold"],
            "international-minutes" => &["minutes"],
            "monthly-spike" => &["factor"],
            "minute-pool" => &["country", "destination", "minutes", "percent"],
            other => return Err(at(format!("`{other}` is not a rule: one of {RULES}"))),
        };
        for (key, set) in &given {
            if *set && !takes.contains(key) {
                return Err(at(format!("rule {rule} does not take `{key}`")));
            }
            if !*set && takes.contains(key) {
                return Err(at(format!("rule {rule} needs `{key}`")));
            }
        }
        let kind = match rule {
            "toll-fraud" => Kind::TollFraud,
            "daily-spend" => {
                let mut threshold = BTreeMap::new();
                for (currency, amount) in entry.threshold.iter().flatten() {
                    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
                        return Err(source.error(
                            amount.span(),
                            format!("`{currency}` is not a currency code (ISO 4217: EUR, USD)"),
                        ));
                    }
                    let micros = micros(amount.get_ref()).ok_or_else(|| {
                        source.error(
                            amount.span(),
                            format!(
                                "`{}` is not an amount: a decimal string with at most 6 \
                                 decimals (\"500.00\"), never a float",
                                amount.get_ref()
                            ),
                        )
                    })?;
                    threshold.insert(currency.to_ascii_uppercase(), micros);
                }
                if threshold.is_empty() {
                    return Err(at(
                        "threshold needs a currency (threshold = { EUR = \"500.00\" })".into(),
                    ));
                }
                Kind::DailySpend { threshold }
            }
            "international-minutes" => Kind::InternationalMinutes {
                minutes: entry.minutes.unwrap_or_default(),
            },
            "monthly-spike" => {
                let factor = entry.factor.as_ref().expect("checked above");
                let text = match factor.get_ref() {
                    toml::Value::Float(f) => format!("{f}"),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::String(s) => s.clone(),
                    _ => String::new(),
                };
                let factor_milli = micros(&text)
                    .filter(|m| m % 1000 == 0 && *m > 1_000_000)
                    .map(|m| m / 1000)
                    .ok_or_else(|| {
                        source.error(
                            factor.span(),
                            format!(
                                "`{text}` is not a factor above 1 with at most 3 decimals (1.5)"
                            ),
                        )
                    })?;
                Kind::MonthlySpike { factor_milli }
            }
            "minute-pool" => {
                let destination = entry.destination.as_ref().expect("checked above");
                let d = destination.get_ref().to_ascii_lowercase();
                if d != "domestic" && d != "international" {
                    return Err(
                        source.error(destination.span(), "destination: domestic or international")
                    );
                }
                let percent = entry.percent.unwrap_or_default();
                if !(1..=100).contains(&percent) {
                    return Err(at("percent: from 1 to 100".into()));
                }
                let country = entry
                    .country
                    .clone()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                if country.len() != 2 {
                    return Err(at(format!(
                        "country: `{country}` is not an ISO 3166 alpha-2 code (US, GB)"
                    )));
                }
                if entry.minutes == Some(0) {
                    return Err(at("minutes: the pool's size, above 0".into()));
                }
                Kind::MinutePool {
                    country,
                    destination: d,
                    minutes: entry.minutes.unwrap_or_default(),
                    percent,
                }
            }
            _ => unreachable!("matched above"),
        };
        Ok(Rule {
            name: entry.name.clone().unwrap_or_else(|| rule.to_owned()),
            kind,
            send_to,
        })
    }

    /// The period the rule looks at on `today`: yesterday, or the month to yesterday.
    pub fn period(&self, today: NaiveDate) -> Period {
        let yesterday = today - Days::new(1);
        match self.kind {
            Kind::MonthlySpike { .. } | Kind::MinutePool { .. } => period::month_to(yesterday),
            _ => period::day(yesterday),
        }
    }

    /// The report the rule reads, and its parameters for `p`.
    pub fn report(&self, p: &Period) -> (&'static str, ReportParams) {
        let mut params = ReportParams {
            from: Some(p.from),
            to: Some(p.to),
            ..ReportParams::default()
        };
        let name = match &self.kind {
            Kind::TollFraud => "toll-fraud-signals",
            Kind::DailySpend { .. } => "monthly-cost",
            Kind::InternationalMinutes { .. } => "international-outbound",
            Kind::MonthlySpike { .. } => {
                params.from = Some(months_before(p.from, 3));
                "monthly-cost"
            }
            Kind::MinutePool { country, .. } => {
                params.country = Some(country.clone());
                "calling-plan-minutes"
            }
        };
        (name, params)
    }

    /// Runs the rule's report for `p` and says whether the rule holds.
    pub async fn evaluate(&self, session: &LakeSession, p: &Period) -> Result<Option<Fired>> {
        let (name, params) = self.report(p);
        let report = pstn_lake_query::report(name)?;
        let (_, batches) = session
            .run_report(&report, &params)
            .await
            .with_context(|| format!("alert {}: report {name} failed", self.name))?;
        let rows = Rows::new(&batches)?;
        Ok(self.judge(&rows, p))
    }

    fn judge(&self, rows: &Rows, p: &Period) -> Option<Fired> {
        let when = if p.from == p.to {
            p.from.to_string()
        } else {
            format!("{} to {}", p.from, p.to)
        };
        match &self.kind {
            Kind::TollFraud => {
                if rows.len() == 0 {
                    return None;
                }
                let mut by_signal: BTreeMap<String, usize> = BTreeMap::new();
                for i in 0..rows.len() {
                    *by_signal.entry(rows.text("signal", i)).or_default() += 1;
                }
                let mut facts: Vec<(String, String)> = by_signal
                    .iter()
                    .map(|(s, n)| (s.clone(), n.to_string()))
                    .collect();
                for i in 0..rows.len().min(5) {
                    facts.push((
                        rows.text("start_utc", i),
                        format!(
                            "{} {} → {} ({}) {} {}",
                            rows.text("signal", i),
                            rows.text("user_principal_name", i),
                            rows.text("callee_number", i),
                            rows.text("destination", i),
                            rows.text("charge", i),
                            rows.text("currency", i)
                        ),
                    ));
                }
                Some(Fired {
                    title: format!("Toll fraud signals on {when}"),
                    text: format!(
                        "{} signal{} (`pstn-lake report toll-fraud-signals --from {} --to {}`)",
                        rows.len(),
                        if rows.len() == 1 { "" } else { "s" },
                        p.from,
                        p.to
                    ),
                    facts,
                })
            }
            Kind::DailySpend { threshold } => {
                let spend = spend_by_currency(rows, None);
                let facts: Vec<(String, String)> = threshold
                    .iter()
                    .filter_map(|(currency, limit)| {
                        let spent = *spend.get(currency)?;
                        (spent > *limit).then(|| {
                            (
                                currency.clone(),
                                format!("{} (threshold {})", decimal(spent), decimal(*limit)),
                            )
                        })
                    })
                    .collect();
                (!facts.is_empty()).then(|| Fired {
                    title: format!("Spend over the daily threshold on {when}"),
                    text: "calls + SMS + dial-outs (`pstn-lake report monthly-cost`)".into(),
                    facts,
                })
            }
            Kind::InternationalMinutes { minutes } => {
                let used: i128 = (0..rows.len())
                    .filter_map(|i| rows.micros("minutes", i))
                    .sum();
                (used > i128::from(*minutes) * 1_000_000).then(|| Fired {
                    title: format!("International minutes over {minutes} on {when}"),
                    text: "`pstn-lake report international-outbound`".into(),
                    facts: vec![
                        ("minutes".into(), decimal(used)),
                        ("threshold".into(), minutes.to_string()),
                        ("users".into(), rows.len().to_string()),
                    ],
                })
            }
            Kind::MonthlySpike { factor_milli } => {
                let month = p.from.format("%Y-%m").to_string();
                let earlier: Vec<String> = (1..=3)
                    .map(|n| months_before(p.from, n).format("%Y-%m").to_string())
                    .collect();
                let now = spend_by_currency(rows, Some(&month));
                let mut facts = Vec::new();
                for (currency, spent) in &now {
                    let before: Vec<i128> = earlier
                        .iter()
                        .filter_map(|m| spend_by_currency(rows, Some(m)).get(currency).copied())
                        .collect();
                    // Without three earlier months in the currency there is no mean to compare.
                    if before.len() < 3 {
                        continue;
                    }
                    let sum: i128 = before.iter().sum();
                    if spent * 1000 * 3 > sum * factor_milli {
                        facts.push((
                            currency.clone(),
                            format!(
                                "{} this month, mean of {} to {}: {}",
                                decimal(*spent),
                                earlier[2],
                                earlier[0],
                                decimal(sum / 3)
                            ),
                        ));
                    }
                }
                (!facts.is_empty()).then(|| Fired {
                    title: format!(
                        "Spend in {month} over {} × the last three months' mean",
                        decimal(factor_milli * 1000)
                    ),
                    text: format!("month to {} (`pstn-lake report monthly-cost`)", p.to),
                    facts,
                })
            }
            Kind::MinutePool {
                country,
                destination,
                minutes,
                percent,
            } => {
                let month = p.from.format("%Y-%m").to_string();
                let used: i128 = (0..rows.len())
                    .filter(|&i| {
                        rows.text("month", i) == month
                            && rows.text("country", i) == *country
                            && rows.text("destination", i) == *destination
                    })
                    .filter_map(|i| rows.micros("minutes", i))
                    .sum();
                let pool = i128::from(*minutes) * 1_000_000;
                (used * 100 >= pool * i128::from(*percent)).then(|| Fired {
                    title: format!(
                        "{country} {destination} calling-plan pool {percent}% used in {month}"
                    ),
                    text: format!(
                        "month to {} (`pstn-lake report calling-plan-minutes`)",
                        p.to
                    ),
                    facts: vec![
                        ("used minutes".into(), decimal(used)),
                        ("pool minutes".into(), minutes.to_string()),
                        ("used".into(), format!("{}%", decimal(used * 100 / pool))),
                    ],
                })
            }
        }
    }
}

/// `monthly-cost` rows: total_charge + sms_charge + dialout_charge per currency, for `month`
/// (every row when `None`).
fn spend_by_currency(rows: &Rows, month: Option<&str>) -> BTreeMap<String, i128> {
    let mut spend = BTreeMap::new();
    for i in 0..rows.len() {
        if month.is_some_and(|m| rows.text("month", i) != m) {
            continue;
        }
        let amount: i128 = ["total_charge", "sms_charge", "dialout_charge"]
            .iter()
            .filter_map(|c| rows.micros(c, i))
            .sum();
        *spend.entry(rows.text("currency", i)).or_insert(0) += amount;
    }
    spend
}

/// The first day of the month `n` months before `first`'s.
fn months_before(first: NaiveDate, n: u32) -> NaiveDate {
    let months = first.year() * 12 + first.month0() as i32 - n as i32;
    NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1)
        .expect("a month")
}

/// A report's rows as the text it prints (decimals exact), by column name.
pub struct Rows {
    columns: BTreeMap<String, Vec<Option<String>>>,
    len: usize,
}

impl Rows {
    pub fn new(batches: &[RecordBatch]) -> Result<Rows> {
        let mut columns: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
        let mut len = 0;
        for batch in batches {
            len += batch.num_rows();
            for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
                let options = arrow::util::display::FormatOptions::default();
                let format = arrow::util::display::ArrayFormatter::try_new(array, &options)?;
                let out = columns.entry(field.name().clone()).or_default();
                for i in 0..array.len() {
                    out.push(array.is_valid(i).then(|| format.value(i).to_string()));
                }
            }
        }
        Ok(Rows { columns, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The cell as printed; empty when null or when the report has no such column.
    pub fn text(&self, column: &str, row: usize) -> String {
        self.columns
            .get(column)
            .and_then(|c| c.get(row).cloned().flatten())
            .unwrap_or_default()
    }

    /// A decimal cell in millionths (exact).
    pub fn micros(&self, column: &str, row: usize) -> Option<i128> {
        micros(&self.text(column, row))
    }
}

/// `"12.345"` as 12_345_000 millionths; `None` unless a plain decimal with at most 6 decimals.
pub fn micros(text: &str) -> Option<i128> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || frac.len() > 6
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || whole.len() > 24
    {
        return None;
    }
    let mut value: i128 = whole.parse().ok()?;
    value = value * 1_000_000 + format!("{frac:0<6}").parse::<i128>().ok()?;
    Some(if negative { -value } else { value })
}

/// Millionths as a decimal with 2 to 6 decimals (trailing zeros past 2 dropped).
pub fn decimal(micros: i128) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    let mut frac = format!("{:06}", m % 1_000_000);
    while frac.len() > 2 && frac.ends_with('0') {
        frac.pop();
    }
    format!("{sign}{}.{frac}", m / 1_000_000)
}

/// Refuses two rules with one name (the run log tells periods apart by name).
pub fn check_unique(rules: &[Rule]) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for r in rules {
        if !seen.insert(r.name.as_str()) {
            bail!(
                "two [[alert]] entries are named `{}`: give each a distinct `name`",
                r.name
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Decimal128Array, StringArray};

    use super::*;

    fn text(values: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn money(values: &[Option<i128>], scale: i8) -> ArrayRef {
        Arc::new(
            Decimal128Array::from(values.to_vec())
                .with_precision_and_scale(28, scale)
                .unwrap(),
        )
    }

    fn rule(kind: Kind) -> Rule {
        Rule {
            name: "r".into(),
            kind,
            send_to: vec!["x".into()],
        }
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// `monthly-cost` rows: month, currency, total_charge, sms_charge, dialout_charge (6 decimals).
    /// month, currency, total_charge, sms_charge, dialout_charge.
    type MonthRow<'a> = (&'a str, &'a str, i128, Option<i128>, Option<i128>);

    fn monthly(rows: &[MonthRow]) -> Rows {
        let batch = RecordBatch::try_from_iter([
            ("month", text(&rows.iter().map(|r| r.0).collect::<Vec<_>>())),
            (
                "currency",
                text(&rows.iter().map(|r| r.1).collect::<Vec<_>>()),
            ),
            (
                "total_charge",
                money(&rows.iter().map(|r| Some(r.2)).collect::<Vec<_>>(), 6),
            ),
            (
                "sms_charge",
                money(&rows.iter().map(|r| r.3).collect::<Vec<_>>(), 6),
            ),
            (
                "dialout_charge",
                money(&rows.iter().map(|r| r.4).collect::<Vec<_>>(), 6),
            ),
        ])
        .unwrap();
        Rows::new(&[batch]).unwrap()
    }

    #[test]
    fn daily_spend_holds_only_above_the_threshold_of_its_currency() {
        let p = period::day(d("2026-11-30"));
        let r = rule(Kind::DailySpend {
            threshold: [("EUR".to_owned(), 100_000_000)].into(),
        });
        // 90 + 6 SMS + 4 dial-outs = 100.000000: not above.
        let at = monthly(&[(
            "2026-11",
            "EUR",
            90_000_000,
            Some(6_000_000),
            Some(4_000_000),
        )]);
        assert_eq!(r.judge(&at, &p), None);
        let above = monthly(&[
            (
                "2026-11",
                "EUR",
                90_000_000,
                Some(6_000_000),
                Some(4_000_001),
            ),
            ("2026-11", "USD", 900_000_000, None, None),
        ]);
        let fired = r.judge(&above, &p).unwrap();
        assert_eq!(
            fired.facts,
            [("EUR".to_owned(), "100.000001 (threshold 100.00)".to_owned())]
        );
    }

    #[test]
    fn a_monthly_spike_needs_three_earlier_months_and_holds_above_factor_times_their_mean() {
        let p = period::month_to(d("2026-11-20"));
        let r = rule(Kind::MonthlySpike { factor_milli: 1500 });
        let months = |now: i128| {
            monthly(&[
                ("2026-08", "EUR", 100_000_000, None, None),
                ("2026-09", "EUR", 200_000_000, None, None),
                ("2026-10", "EUR", 300_000_000, Some(0), None),
                ("2026-11", "EUR", now, None, None),
                // Only two earlier months in USD: no mean to compare with.
                ("2026-10", "USD", 1_000_000, None, None),
                ("2026-09", "USD", 1_000_000, None, None),
                ("2026-11", "USD", 900_000_000, None, None),
            ])
        };
        // Mean 200, factor 1.5: 300 is not above, 300.000001 is.
        assert_eq!(r.judge(&months(300_000_000), &p), None);
        let fired = r.judge(&months(300_000_001), &p).unwrap();
        assert_eq!(fired.facts.len(), 1, "{fired:?}");
        assert_eq!(fired.facts[0].0, "EUR");
        assert!(
            fired.facts[0]
                .1
                .contains("mean of 2026-08 to 2026-10: 200.00"),
            "{fired:?}"
        );
        assert_eq!(r.report(&p).1.from, Some(d("2026-08-01")));
    }

    #[test]
    fn a_minute_pool_holds_from_its_percentage_of_the_pool() {
        let p = period::month_to(d("2026-11-20"));
        let r = rule(Kind::MinutePool {
            country: "US".into(),
            destination: "domestic".into(),
            minutes: 1000,
            percent: 80,
        });
        let rows = |us: i128| {
            let batch = RecordBatch::try_from_iter([
                ("month", text(&["2026-11", "2026-11", "2026-11", "2026-10"])),
                ("country", text(&["US", "US", "GB", "US"])),
                (
                    "destination",
                    text(&["domestic", "international", "domestic", "domestic"]),
                ),
                (
                    "minutes",
                    money(&[Some(us), Some(50_000), Some(90_000), Some(90_000)], 2),
                ),
            ])
            .unwrap();
            Rows::new(&[batch]).unwrap()
        };
        // 799.99 of 1000 minutes is under 80%; 800.00 reaches it. Other months, countries and
        // destinations do not count.
        assert_eq!(r.judge(&rows(79_999), &p), None);
        let fired = r.judge(&rows(80_000), &p).unwrap();
        assert_eq!(
            fired.facts[0],
            ("used minutes".to_owned(), "800.00".to_owned())
        );
    }

    #[test]
    fn amounts_are_exact_decimals() {
        assert_eq!(micros("500"), Some(500_000_000));
        assert_eq!(micros("0.000001"), Some(1));
        assert_eq!(micros("-12.5"), Some(-12_500_000));
        assert_eq!(micros("1e3"), None);
        assert_eq!(micros("1.0000001"), None);
        assert_eq!(micros(""), None);
        assert_eq!(decimal(12_500_000), "12.50");
        assert_eq!(decimal(1), "0.000001");
        assert_eq!(decimal(-1_230_000), "-1.23");
        assert_eq!(
            months_before(NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(), 3),
            NaiveDate::from_ymd_opt(2025, 11, 1).unwrap()
        );
    }
}
