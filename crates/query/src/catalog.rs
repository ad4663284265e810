//! The report catalog: one SQL file per report in `sql/`, embedded into the binary.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;

use crate::params::placeholders;
use crate::{Error, LakeSession, Param, ReportParams, Result};

/// The report files, by name (sorted). The first header comment line is the report's description.
const REPORTS: &[(&str, &str)] = &[
    ("blocked-users", include_str!("../sql/blocked-users.sql")),
    (
        "calling-plan-minutes",
        include_str!("../sql/calling-plan-minutes.sql"),
    ),
    (
        "charges-by-country",
        include_str!("../sql/charges-by-country.sql"),
    ),
    (
        "charges-by-department",
        include_str!("../sql/charges-by-department.sql"),
    ),
    (
        "charges-by-user",
        include_str!("../sql/charges-by-user.sql"),
    ),
    (
        "credits-dialout",
        include_str!("../sql/credits-dialout.sql"),
    ),
    ("daily-volume", include_str!("../sql/daily-volume.sql")),
    (
        "direct-routing-quality",
        include_str!("../sql/direct-routing-quality.sql"),
    ),
    (
        "duration-by-call-type",
        include_str!("../sql/duration-by-call-type.sql"),
    ),
    (
        "duration-by-user",
        include_str!("../sql/duration-by-user.sql"),
    ),
    (
        "fraud-signal-check",
        include_str!("../sql/fraud-signal-check.sql"),
    ),
    (
        "international-outbound",
        include_str!("../sql/international-outbound.sql"),
    ),
    ("monthly-cost", include_str!("../sql/monthly-cost.sql")),
    (
        "operator-summary",
        include_str!("../sql/operator-summary.sql"),
    ),
    ("sms-charges", include_str!("../sql/sms-charges.sql")),
    (
        "toll-fraud-signals",
        include_str!("../sql/toll-fraud-signals.sql"),
    ),
    (
        "top-destinations",
        include_str!("../sql/top-destinations.sql"),
    ),
];

/// SQL shared by reports, put in place of `{name}` in a report's file (after `WITH`: CTEs), so
/// that two reports asking about the same thing compute it one way. `--show-sql` prints the
/// report as run, fragments in place.
const FRAGMENTS: &[(&str, &str)] = &[("signals", include_str!("../sql/fragments/signals.sql"))];

/// The reports' SQL with their fragments in place, by name.
static EXPANDED: std::sync::LazyLock<Vec<(&'static str, String)>> =
    std::sync::LazyLock::new(|| {
        REPORTS
            .iter()
            .map(|(name, sql)| (*name, expand(sql)))
            .collect()
    });

/// `sql` with each `{fragment}` replaced by its text.
fn expand(sql: &str) -> String {
    FRAGMENTS.iter().fold(sql.to_owned(), |sql, (name, text)| {
        sql.replace(&format!("{{{name}}}"), text.trim_end())
    })
}

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
    /// The parameters it takes: those its SQL refers to (`$currency`), in [`Param::ALL`] order.
    pub params: Vec<Param>,
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
    EXPANDED
        .iter()
        .map(|(name, sql)| (*name, sql.as_str()))
        .map(|(name, sql)| Report {
            name,
            description: description(sql),
            sql,
            chart: chart_spec(sql),
            params: Param::ALL
                .into_iter()
                .filter(|p| placeholders(sql).contains(&p.name()))
                .collect(),
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

impl LakeSession {
    /// Runs a report with its parameters bound as SQL parameters (never spliced into the text);
    /// see [`Report::bind`] for what is refused.
    pub async fn run_report(
        &self,
        report: &Report,
        params: &ReportParams,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let values = report.bind(params)?;
        let df = self.query_with_params(report.sql, values).await?;
        let planned = df.schema().inner().clone();
        let batches = df.collect().await?;
        // The rows' own schema when there are rows: execution may choose other string layouts
        // (Utf8View) than the plan says.
        let schema = batches.first().map_or(planned, RecordBatch::schema);
        Ok((schema, batches))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_report_has_a_header_a_chart_and_known_parameters() {
        let all = reports();
        assert!(
            all.windows(2).all(|w| w[0].name < w[1].name),
            "sorted by name"
        );
        for r in &all {
            let (title, what) = r.description.split_once(": ").unwrap_or_default();
            assert!(
                !title.is_empty() && !what.is_empty(),
                "{}: `-- Title: what it answers`",
                r.name
            );
            let chart = r
                .chart
                .as_ref()
                .unwrap_or_else(|| panic!("{} has no `-- Chart:` line", r.name));
            if chart.y.contains("charge") {
                assert_eq!(chart.split.as_deref(), Some("currency"), "{}", r.name);
            }
            assert!(r.sql.contains("\n-- Parameters: "), "{}", r.name);
            for name in placeholders(r.sql) {
                assert!(
                    Param::ALL.iter().any(|p| p.name() == name),
                    "{}: unknown parameter ${name}",
                    r.name
                );
            }
            for p in [Param::From, Param::To, Param::Limit] {
                assert!(r.params.contains(&p), "{} does not take {p}", r.name);
            }
        }
        assert!(
            report("nope")
                .unwrap_err()
                .to_string()
                .contains("charges-by-country")
        );
    }
}
