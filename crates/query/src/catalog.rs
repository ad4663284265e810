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
}

/// Every report, sorted by name.
pub fn reports() -> Vec<Report> {
    REPORTS
        .iter()
        .map(|(name, sql)| Report {
            name,
            description: description(sql),
            sql,
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

/// The parameters every report takes.
#[derive(Debug, Clone, Default)]
pub struct ReportParams {
    /// First `call_date` (inclusive); all days when `None`.
    pub from: Option<NaiveDate>,
    /// Last `call_date` (inclusive); all days when `None`.
    pub to: Option<NaiveDate>,
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
