//! The report catalog: one SQL file per report in `sql/`, embedded into the binary.

use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::scalar::ScalarValue;

use crate::{Error, LakeSession, Result};

/// The report files, by name. The first header comment line is the report's description.
const REPORTS: &[(&str, &str)] = &[
    (
        "charges-by-country",
        include_str!("../../../sql/charges-by-country.sql"),
    ),
    (
        "direct-routing-by-trunk",
        include_str!("../../../sql/direct-routing-by-trunk.sql"),
    ),
    (
        "duration-by-user",
        include_str!("../../../sql/duration-by-user.sql"),
    ),
];

/// A report: a named, parameterised SQL query over the lake.
#[derive(Debug, Clone)]
pub struct Report {
    /// Its name (`charges-by-country`).
    pub name: &'static str,
    /// What it answers: the first line of the file's header comment.
    pub description: String,
    /// The SQL text, header included.
    pub sql: &'static str,
    /// How to draw it, from the header line `-- Chart: ...` (`None` without one).
    pub chart: Option<ChartSpec>,
}

/// The kind of chart a report is drawn as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// One bar per row (categories on the x axis).
    Bar,
    /// A line through the rows in order (days or months on the x axis).
    Line,
}

/// How a report is drawn, parsed from its header line
/// `-- Chart: <bar|line> x=<column> y=<column> [unit=<word>] [split=<column>]`.
///
/// `x` labels the categories, `y` is the plotted number. The y axis is labelled `y (unit)`. With
/// `split` (for money, `split=currency`), one panel is drawn per distinct value of that column and
/// the axis is labelled `y (value)`, so amounts in different currencies never share an axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartSpec {
    /// Bar or line.
    pub kind: ChartKind,
    /// The category / x column.
    pub x: String,
    /// The value / y column.
    pub y: String,
    /// The y unit shown on the axis (`minutes`, `calls`, `%`), when not split by currency.
    pub unit: Option<String>,
    /// One panel per value of this column (`currency`).
    pub split: Option<String>,
}

/// Every report, sorted by name.
pub fn reports() -> Vec<Report> {
    REPORTS
        .iter()
        .map(|(name, sql)| Report {
            name,
            description: description(sql),
            sql,
            chart: chart_spec(sql),
        })
        .collect()
}

/// The report called `name`.
pub fn report(name: &str) -> Result<Report> {
    reports()
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| Error::UnknownReport {
            name: name.to_owned(),
            available: REPORTS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

fn description(sql: &str) -> String {
    sql.lines()
        .next()
        .and_then(|l| l.strip_prefix("--"))
        .map(|l| l.trim().to_owned())
        .unwrap_or_default()
}

/// The header line `-- Chart: ...`, parsed; `None` when the report has none or it does not parse.
fn chart_spec(sql: &str) -> Option<ChartSpec> {
    let line = sql
        .lines()
        .take_while(|l| l.starts_with("--"))
        .find_map(|l| l.strip_prefix("--")?.trim().strip_prefix("Chart:"))?;
    let mut words = line.split_whitespace();
    let kind = match words.next()? {
        "bar" => ChartKind::Bar,
        "line" => ChartKind::Line,
        _ => return None,
    };
    let (mut x, mut y, mut unit, mut split) = (None, None, None, None);
    for word in words {
        let (key, value) = word.split_once('=')?;
        let value = Some(value.to_owned());
        match key {
            "x" => x = value,
            "y" => y = value,
            "unit" => unit = value,
            "split" => split = value,
            _ => return None,
        }
    }
    Some(ChartSpec {
        kind,
        x: x?,
        y: y?,
        unit,
        split,
    })
}

/// The parameters every report takes. Each is bound as a SQL parameter (`$from`, `$to`,
/// `$currency`, `$country`, `$user`, `$limit`), never spliced into the text; `None` means "all".
#[derive(Debug, Clone, Default)]
pub struct ReportParams {
    /// First `call_date` (inclusive); all days when `None`.
    pub from: Option<NaiveDate>,
    /// Last `call_date` (inclusive); all days when `None`.
    pub to: Option<NaiveDate>,
    /// Only this currency (ISO code, `USD`).
    pub currency: Option<String>,
    /// Only this country (ISO 3166 alpha-2, as in `usage_country_code`).
    pub country: Option<String>,
    /// Only this user (`user_principal_name`).
    pub user: Option<String>,
    /// At most this many rows (top N for ranked reports).
    pub limit: Option<u64>,
}

fn date32(day: NaiveDate) -> ScalarValue {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid");
    ScalarValue::Date32(Some((day - epoch).num_days() as i32))
}

impl LakeSession {
    /// Runs a report with its parameters bound as SQL parameters (never spliced into the text).
    pub async fn run_report(
        &self,
        report: &Report,
        params: &ReportParams,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let from = params
            .from
            .unwrap_or(NaiveDate::MIN.max(NaiveDate::from_ymd_opt(1, 1, 1).expect("valid")));
        let to = params
            .to
            .unwrap_or(NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid"));
        let df = self
            .query_with_params(
                report.sql,
                vec![("from".into(), date32(from)), ("to".into(), date32(to))],
            )
            .await?;
        let schema = df.schema().inner().clone();
        let batches = df.collect().await?;
        Ok((schema, batches))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_report_has_a_description_and_binds_from_and_to() {
        let all = reports();
        assert!(
            all.windows(2).all(|w| w[0].name < w[1].name),
            "sorted by name"
        );
        for r in all {
            assert!(!r.description.is_empty(), "{} has no description", r.name);
            assert!(
                r.sql.contains("$from") && r.sql.contains("$to"),
                "{}",
                r.name
            );
        }
        assert!(
            report("nope")
                .unwrap_err()
                .to_string()
                .contains("charges-by-country")
        );
    }
}
