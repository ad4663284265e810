//! Report parameters: the `$name` placeholders a report's SQL refers to, checked and bound as
//! typed SQL parameter values (never spliced into the SQL text).

use chrono::NaiveDate;
use datafusion::scalar::ScalarValue;

use crate::{Error, Report, Result};

/// A report parameter: the SQL placeholder `$name`, set by the command-line flag `--name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Param {
    /// `$from`: the first `call_date` (Date32).
    From,
    /// `$to`: the last `call_date` (Date32).
    To,
    /// `$currency`: an ISO 4217 code (Utf8).
    Currency,
    /// `$country`: an ISO 3166 alpha-2 code (Utf8).
    Country,
    /// `$user`: a user principal name or user id (Utf8).
    User,
    /// `$limit`: a row count (Int64).
    Limit,
    /// `$by`: what a chargeback groups users by, one of [`BY`] (Utf8).
    By,
}

/// What `charges-by-department --by` groups users by: the directory's `department`,
/// `cost_center`, `division`, `company_name`, `office_location` or `country`, or the
/// administrative unit the call rows carry.
pub const BY: [&str; 7] = [
    "department",
    "cost-center",
    "division",
    "company",
    "office",
    "country",
    "admin-unit",
];

impl Param {
    /// Every parameter, in the order they are listed.
    pub const ALL: [Param; 7] = [
        Param::From,
        Param::To,
        Param::Currency,
        Param::Country,
        Param::User,
        Param::Limit,
        Param::By,
    ];

    /// The placeholder's name, without `$` (also the flag's name, without `--`).
    pub fn name(self) -> &'static str {
        match self {
            Param::From => "from",
            Param::To => "to",
            Param::Currency => "currency",
            Param::Country => "country",
            Param::User => "user",
            Param::Limit => "limit",
            Param::By => "by",
        }
    }
}

impl std::fmt::Display for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--{}", self.name())
    }
}

/// The names of the `$name` placeholders in `sql`, outside `--` comments and string literals.
pub(crate) fn placeholders(sql: &str) -> Vec<&str> {
    let mut names = Vec::new();
    for line in sql.lines() {
        let mut in_string = false;
        let mut rest = line;
        while let Some(c) = rest.chars().next() {
            if c == '\'' {
                in_string = !in_string;
            } else if !in_string && rest.starts_with("--") {
                break;
            } else if !in_string && c == '$' {
                let name = &rest[1..];
                let end = name
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(name.len());
                if end > 0 && !names.contains(&&name[..end]) {
                    names.push(&name[..end]);
                }
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    names
}

/// A report's parameters. Each is bound as a SQL parameter (`$from`, `$to`, `$currency`,
/// `$country`, `$user`, `$limit`), never spliced into the text; `None` means "all" (the filter is
/// bound as a typed NULL, and the SQL reads `($currency IS NULL OR currency = $currency)`).
#[derive(Debug, Clone, Default)]
pub struct ReportParams {
    /// First `call_date` (inclusive); all days when `None`.
    pub from: Option<NaiveDate>,
    /// Last `call_date` (inclusive); all days when `None`.
    pub to: Option<NaiveDate>,
    /// Only this currency (ISO 4217, `USD`; any case).
    pub currency: Option<String>,
    /// Only this country (ISO 3166 alpha-2, as in `usage_country_code`; any case).
    pub country: Option<String>,
    /// Only this user: a `user_principal_name` (any case) or a `user_id`.
    pub user: Option<String>,
    /// At most this many rows, or the top N of each currency in ranked reports.
    pub limit: Option<u64>,
    /// What a chargeback groups users by (one of [`BY`]; `department` when `None`).
    pub by: Option<String>,
}

impl ReportParams {
    /// The parameters that are set.
    pub fn set(&self) -> Vec<Param> {
        let set = [
            self.from.is_some(),
            self.to.is_some(),
            self.currency.is_some(),
            self.country.is_some(),
            self.user.is_some(),
            self.limit.is_some(),
            self.by.is_some(),
        ];
        Param::ALL
            .into_iter()
            .zip(set)
            .filter_map(|(p, set)| set.then_some(p))
            .collect()
    }
}

fn date32(day: NaiveDate) -> ScalarValue {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid");
    ScalarValue::Date32(Some((day - epoch).num_days() as i32))
}

/// `value` upper-cased when it is `len` ASCII letters.
fn code(param: Param, value: &str, len: usize, expected: &'static str) -> Result<String> {
    if value.len() == len && value.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(value.to_ascii_uppercase())
    } else {
        Err(Error::InvalidParameter {
            parameter: param,
            value: value.to_owned(),
            expected,
        })
    }
}

impl Report {
    /// The parameters as SQL parameter values, checked: a parameter this report does not take (its
    /// SQL has no `$name`) is an error, as are a malformed currency or country code, an empty user,
    /// a zero limit and `from` after `to`. Unset parameters are bound as typed NULLs (the dates as
    /// the widest range).
    pub fn bind(&self, params: &ReportParams) -> Result<Vec<(String, ScalarValue)>> {
        if let Some(param) = params.set().into_iter().find(|p| !self.params.contains(p)) {
            return Err(Error::UnsupportedParameter {
                report: self.name.to_owned(),
                parameter: param,
                accepted: self
                    .params
                    .iter()
                    .map(Param::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if let (Some(from), Some(to)) = (params.from, params.to)
            && from > to
        {
            return Err(Error::InvalidParameter {
                parameter: Param::From,
                value: from.to_string(),
                expected: "a day on or before --to",
            });
        }
        let currency = params
            .currency
            .as_deref()
            .map(|c| {
                code(
                    Param::Currency,
                    c,
                    3,
                    "a 3-letter ISO 4217 currency code such as EUR or USD",
                )
            })
            .transpose()?;
        let country = params
            .country
            .as_deref()
            .map(|c| {
                code(
                    Param::Country,
                    c,
                    2,
                    "a 2-letter ISO 3166 country code such as DE or US",
                )
            })
            .transpose()?;
        if params.user.as_deref().is_some_and(|u| u.trim().is_empty()) {
            return Err(Error::InvalidParameter {
                parameter: Param::User,
                value: String::new(),
                expected: "a user principal name (anna@contoso.com) or a user id",
            });
        }
        let limit = match params.limit {
            Some(0) => {
                return Err(Error::InvalidParameter {
                    parameter: Param::Limit,
                    value: "0".into(),
                    expected: "a number of rows of at least 1",
                });
            }
            Some(n) => Some(i64::try_from(n).unwrap_or(i64::MAX)),
            None => None,
        };
        let by = match params.by.as_deref() {
            None => None,
            Some(by) => match BY.iter().find(|b| b.eq_ignore_ascii_case(by.trim())) {
                Some(b) => Some((*b).to_owned()),
                None => {
                    return Err(Error::InvalidParameter {
                        parameter: Param::By,
                        value: by.to_owned(),
                        expected: "department, cost-center, division, company, office, country or admin-unit",
                    });
                }
            },
        };
        let from = params
            .from
            .unwrap_or(NaiveDate::from_ymd_opt(1, 1, 1).expect("valid"));
        let to = params
            .to
            .unwrap_or(NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid"));
        Ok(self
            .params
            .iter()
            .map(|p| {
                let value = match p {
                    Param::From => date32(from),
                    Param::To => date32(to),
                    Param::Currency => ScalarValue::Utf8(currency.clone()),
                    Param::Country => ScalarValue::Utf8(country.clone()),
                    Param::User => ScalarValue::Utf8(params.user.clone()),
                    Param::Limit => ScalarValue::Int64(limit),
                    Param::By => ScalarValue::Utf8(by.clone()),
                };
                (p.name().to_owned(), value)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report;

    #[test]
    fn placeholders_outside_comments_and_strings() {
        let sql = "-- $currency\nSELECT '$user', a -- $country\nFROM t WHERE d >= $from AND d <= $to AND $from < 1";
        assert_eq!(placeholders(sql), ["from", "to"]);
    }

    #[test]
    fn bind_refuses_what_the_report_cannot_use_and_bad_values() {
        let quality = report("direct-routing-quality").unwrap();
        let err = quality
            .bind(&ReportParams {
                currency: Some("EUR".into()),
                ..ReportParams::default()
            })
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("does not take --currency")
                && err.contains("--from, --to, --user, --limit"),
            "{err}"
        );

        let charges = report("charges-by-country").unwrap();
        let bound = charges
            .bind(&ReportParams {
                currency: Some("eur".into()),
                country: Some("de".into()),
                ..ReportParams::default()
            })
            .unwrap();
        let value = |name: &str| bound.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(value("currency"), ScalarValue::Utf8(Some("EUR".into())));
        assert_eq!(value("country"), ScalarValue::Utf8(Some("DE".into())));
        assert_eq!(value("user"), ScalarValue::Utf8(None));
        assert_eq!(value("limit"), ScalarValue::Int64(None));

        for (params, message) in [
            (
                ReportParams {
                    currency: Some("EURO".into()),
                    ..ReportParams::default()
                },
                "--currency `EURO` is not valid",
            ),
            (
                ReportParams {
                    country: Some("D1".into()),
                    ..ReportParams::default()
                },
                "--country `D1` is not valid",
            ),
            (
                ReportParams {
                    user: Some(" ".into()),
                    ..ReportParams::default()
                },
                "--user `` is not valid",
            ),
            (
                ReportParams {
                    limit: Some(0),
                    ..ReportParams::default()
                },
                "--limit `0` is not valid",
            ),
            (
                ReportParams {
                    from: NaiveDate::from_ymd_opt(2026, 2, 1),
                    to: NaiveDate::from_ymd_opt(2026, 1, 1),
                    ..ReportParams::default()
                },
                "--from `2026-02-01` is not valid: expected a day on or before --to",
            ),
        ] {
            let err = charges.bind(&params).unwrap_err().to_string();
            assert!(err.contains(message), "{err}");
        }
    }
}
