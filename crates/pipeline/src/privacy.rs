//! Pseudonymisation at landing (docs/privacy.md): the columns a lake's writers replace by keyed
//! tokens, checked against the tables' schemas, and the one way rows are pseudonymised on their
//! way to the lake — [`page`] for decoded call-log pages (sync, rebuild and ingest) and [`users`]
//! for directory rows.
//!
//! The tokens and the lake's record of the setting are the sink's ([`Pseudonymiser`],
//! `_pstn_lake/privacy.json`); which columns hold phone numbers, which columns the lake keys on
//! and how a quarantined row's JSON names its properties are Graph's, and so live here.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use pstn_lake_fetch::directory::{UserRow, from_batches, to_batch};
use pstn_lake_fetch::{BadRow, DecodedPage, Table, snake_case};
use pstn_lake_sink::{Lake, PrivacyKeys, PrivacySetting, Pseudonymiser};
use serde_json::value::RawValue;

use crate::{Error, Result};

/// Which columns a lake's writers pseudonymise, and the environment variable that holds the key
/// (never the key itself). Recorded in the lake by its first writer that asks for it; later
/// writers use it without being told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Privacy {
    setting: PrivacySetting,
}

impl Privacy {
    /// Pseudonymises `columns` (in every table that has them) with the key in the environment
    /// variable `key_env`. Refused: no column, a column no table has, or one that cannot be
    /// pseudonymised ([`check_pseudonymised_column`]), and a `key_env` that is not a variable
    /// name. Neither the environment nor a lake is read.
    pub fn new<I, S>(columns: I, key_env: impl Into<String>) -> Result<Privacy>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let columns: Vec<String> = columns.into_iter().map(Into::into).collect();
        if columns.is_empty() {
            return Err(Error::PrivacyColumn {
                column: String::new(),
                reason: "no column is named: name the columns to pseudonymise, e.g. \
                         caller_number, callee_number, user_principal_name"
                    .to_owned(),
            });
        }
        for column in &columns {
            check_pseudonymised_column(column)?;
        }
        let key_env = key_env.into();
        let is_name = key_env
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && key_env
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !is_name {
            return Err(Error::PrivacyKeyEnv { name: key_env });
        }
        Ok(Privacy {
            setting: PrivacySetting::new(columns, key_env),
        })
    }

    /// The columns, sorted.
    pub fn columns(&self) -> &[String] {
        self.setting.columns()
    }

    /// The name of the environment variable that holds the key.
    pub fn key_env(&self) -> &str {
        self.setting.key_env()
    }

    pub(crate) fn setting(&self) -> &PrivacySetting {
        &self.setting
    }
}

impl std::fmt::Display for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.setting.fmt(f)
    }
}

/// Refuses a column that no table has, that is not a string in every table that has it, or that
/// the lake cannot hold as a token: a row key (`id`, `row_key`) or a value a row key is made of
/// (`user_id`, …; the key would keep it in cleartext), a day column, and the columns pstn-lake
/// derives. The error names the column and says why.
pub fn check_pseudonymised_column(column: &str) -> Result<()> {
    let refuse = |reason: String| {
        Err(Error::PrivacyColumn {
            column: column.to_owned(),
            reason,
        })
    };
    let mut found = false;
    for table in Table::ALL {
        let schema = table.schema();
        let Ok(field) = schema.field_with_name(column) else {
            continue;
        };
        found = true;
        if table.key() == column {
            return refuse(format!(
                "it is the row key of {table}: the lake merges and de-duplicates rows by it"
            ));
        }
        if table.key_parts().contains(&column) {
            return refuse(format!(
                "it is part of {table}'s row key ({}), which would keep it in cleartext",
                table.key()
            ));
        }
        if table.partition_columns().contains(&column) {
            return refuse(format!("it places {table}'s rows in their day"));
        }
        if table.derived_columns().contains(&column) {
            return refuse(format!("pstn-lake derives it in {table}"));
        }
        if field.data_type() != &arrow::datatypes::DataType::Utf8 {
            return refuse(format!(
                "it is {} in {table}: only string columns can be pseudonymised",
                field.data_type()
            ));
        }
    }
    if !found {
        return refuse(
            "no table has such a column (`pstn-lake schema` lists them; e.g. caller_number, \
             callee_number, user_principal_name)"
                .to_owned(),
        );
    }
    Ok(())
}

/// Whether `column` holds phone numbers, whose tokens keep the country calling code:
/// `caller_number`, `callee_number`, `source_number`, `destination_number` and
/// `user_telephone_number` (every Graph `…Number` property is a phone number).
pub fn is_phone_number(column: &str) -> bool {
    column.ends_with("_number")
}

/// The pseudonymiser a landing run uses (call it holding the lake lock, before anything is
/// fetched or written): the lake's setting, or `wanted` recorded for a new lake (see
/// [`Lake::settle_privacy`]). A pseudonymised lake refuses `keep_raw`: the raw archive keeps
/// pages as Graph served them. `record` false checks without recording.
pub(crate) async fn settle(
    lake: &Lake,
    wanted: Option<&Privacy>,
    keys: &PrivacyKeys,
    keep_raw: bool,
    record: bool,
) -> Result<Option<Pseudonymiser>> {
    let wanted = wanted.map(Privacy::setting);
    let checked = lake.check_privacy(wanted, keys).await?;
    if let Some(p) = &checked
        && keep_raw
    {
        return Err(Error::KeepRawPseudonymised {
            lake: lake.url().to_string(),
            setting: p.setting().to_string(),
        });
    }
    if !record {
        return Ok(checked);
    }
    Ok(lake.settle_privacy(wanted, keys).await?)
}

/// `batch` of `table`'s schema with its pseudonymised columns replaced by tokens.
pub(crate) fn batch(p: &Pseudonymiser, batch: &RecordBatch) -> Result<RecordBatch> {
    Ok(p.batch(batch, is_phone_number)?)
}

/// A decoded page with its rows pseudonymised, and its rows set aside too
/// ([`bad_row`]); unchanged without a pseudonymiser.
pub(crate) fn page(p: Option<&Pseudonymiser>, mut page: DecodedPage) -> Result<DecodedPage> {
    let Some(p) = p else {
        return Ok(page);
    };
    for b in &mut page.batches {
        *b = batch(p, b)?;
    }
    page.bad_rows = page.bad_rows.into_iter().map(|r| bad_row(p, r)).collect();
    Ok(page)
}

/// Directory rows with their pseudonymised columns replaced by tokens (through the same batch
/// transform as the call logs); unchanged without a pseudonymiser.
pub(crate) fn users(p: Option<&Pseudonymiser>, rows: Vec<UserRow>) -> Result<Vec<UserRow>> {
    let Some(p) = p else {
        return Ok(rows);
    };
    let pseudonymised = batch(p, &to_batch(&rows))?;
    from_batches(&[pseudonymised]).map_err(|source| Error::Graph(Box::new(source)))
}

/// A row set aside for the quarantine, which keeps it as served: its pseudonymised properties
/// (named as Graph names them) replaced by tokens in its JSON (the other properties' values kept
/// as served, a number too large for the lake included), and its message withheld when it is
/// about one of them (a message may quote the value). A row that is not a JSON object keeps no
/// JSON at all.
pub(crate) fn bad_row(p: &Pseudonymiser, mut row: BadRow) -> BadRow {
    let covered = |property: &str| p.covers(&snake_case(property));
    if covered(&row.field) {
        row.message = format!(
            "(withheld: `{}` is pseudonymised, and the message may quote its value)",
            row.field
        );
    }
    // Values kept as their JSON text: a value the lake refused may be one serde_json cannot hold.
    let object = serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(&row.json);
    row.json = match object {
        Ok(object) if !object.keys().any(|k| covered(k)) => row.json,
        Ok(mut object) => {
            for (property, value) in object.iter_mut() {
                if covered(property) {
                    *value = token_value(p, &snake_case(property), value);
                }
            }
            serde_json::to_string(&object).expect("JSON texts serialise")
        }
        Err(_) => "(withheld: the row is not a JSON object, so its pseudonymised properties \
                   cannot be told apart)"
            .to_owned(),
    };
    row
}

/// The token of a JSON value of `column`, as JSON: a string's as the column's would be, null
/// stays null, anything else the token of its JSON text.
fn token_value(p: &Pseudonymiser, column: &str, value: &RawValue) -> Box<RawValue> {
    let token = match serde_json::from_str::<Option<String>>(value.get()) {
        Ok(None) => return RawValue::from_string("null".to_owned()).expect("JSON"),
        Ok(Some(s)) if is_phone_number(column) => p.phone_token(&s),
        Ok(Some(s)) => p.token(&s),
        Err(_) => p.token(value.get()),
    };
    serde_json::value::to_raw_value(&token).expect("a string serialises")
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn pseudonymiser(columns: &[&str]) -> Pseudonymiser {
        Pseudonymiser::new(
            PrivacySetting::new(columns.iter().copied(), "K"),
            b"a key long enough for a test",
        )
    }

    #[test]
    fn columns_are_checked_against_every_table() {
        let p = Privacy::new(
            [
                "user_principal_name",
                "caller_number",
                "callee_number",
                "caller_number",
            ],
            "PSTN_LAKE_PSEUDONYM_KEY",
        )
        .unwrap();
        assert_eq!(
            p.columns(),
            ["callee_number", "caller_number", "user_principal_name"]
        );
        assert_eq!(p.key_env(), "PSTN_LAKE_PSEUDONYM_KEY");
        for (column, why) in [
            ("caller_nmber", "no table has such a column"),
            ("id", "row key of pstn_calls"),
            ("row_key", "row key of pstn_blocked_users"),
            ("user_id", "part of pstn_blocked_users's row key"),
            ("currency", "part of pstn_dialout_report's row key"),
            ("start_date_time", "places pstn_calls's rows"),
            ("removed", "derives it in users"),
            ("duration", "Int32 in pstn_calls"),
            ("account_enabled", "Boolean in users"),
        ] {
            let err = Privacy::new([column], "K").unwrap_err();
            let message = err.to_string();
            assert!(matches!(err, Error::PrivacyColumn { .. }), "{message}");
            assert!(message.contains(&format!("`{column}`")), "{message}");
            assert!(message.contains(why), "{column}: {message}");
        }
        assert!(Privacy::new(Vec::<String>::new(), "K").is_err());
        for name in ["", "1KEY", "MY-KEY", "A B", "K=V"] {
            let err = Privacy::new(["caller_number"], name).unwrap_err();
            assert!(matches!(err, Error::PrivacyKeyEnv { .. }), "{name}: {err}");
        }
    }

    #[test]
    fn the_phone_number_columns_are_every_number_of_every_table() {
        let mut numbers: Vec<String> = Table::ALL
            .into_iter()
            .flat_map(|t| {
                t.schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect::<Vec<_>>()
            })
            .filter(|c| is_phone_number(c))
            .collect();
        numbers.sort();
        numbers.dedup();
        assert_eq!(
            numbers,
            [
                "callee_number",
                "caller_number",
                "destination_number",
                "source_number",
                "user_telephone_number"
            ]
        );
        for column in numbers {
            check_pseudonymised_column(&column).unwrap();
        }
    }

    #[test]
    fn a_quarantined_row_keeps_no_value_of_a_pseudonymised_property() {
        let p = pseudonymiser(&["caller_number", "user_principal_name"]);
        let row = |field: &str, json: &str| BadRow {
            row: 3,
            id: Some("r1".to_owned()),
            field: field.to_owned(),
            message: "expected a string, found 442079460000".to_owned(),
            json: json.to_owned(),
        };
        let served = r#"{"id":"r1","callerNumber":"+442079460000","userPrincipalName":"a@x.com","charge":1e9223372036854775807,"calleeNumber":"+15550100","userDisplayName":null}"#;
        let out = bad_row(&p, row("charge", served));
        assert!(!out.json.contains("+442079460000") && !out.json.contains("a@x.com"));
        let json: Value =
            serde_json::from_str(&out.json.replace("1e9223372036854775807", "0")).unwrap();
        assert_eq!(json["callerNumber"], p.phone_token("+442079460000"));
        assert_eq!(json["userPrincipalName"], p.token("a@x.com"));
        assert_eq!(json["calleeNumber"], "+15550100", "not pseudonymised");
        assert!(
            out.json.contains(r#""charge":1e9223372036854775807"#),
            "{}",
            out.json
        );
        assert_eq!(out.message, "expected a string, found 442079460000");

        // The field at fault is pseudonymised: its message is withheld, a number is tokenised.
        let out = bad_row(
            &p,
            row("callerNumber", r#"{"id":"r1","callerNumber":442079460000}"#),
        );
        assert!(!out.message.contains("442079460000"), "{}", out.message);
        assert!(!out.json.contains("442079460000"), "{}", out.json);
        assert!(out.message.contains("withheld"));
        // Nothing pseudonymised: the row as served, byte for byte.
        let plain = r#"{"id":"r1",  "charge":"x"}"#;
        assert_eq!(bad_row(&p, row("charge", plain)).json, plain);
        // Not an object: no JSON kept.
        let out = bad_row(&p, row("value", r#""+442079460000""#));
        assert!(!out.json.contains("4420"), "{}", out.json);
    }

    #[test]
    fn directory_rows_are_pseudonymised_like_the_call_logs() {
        let p = pseudonymiser(&["user_principal_name"]);
        let mut user = UserRow {
            text: Default::default(),
            account_enabled: Some(true),
            extra_properties: None,
            removed: None,
        };
        user.text[0] = Some("guid-1".to_owned());
        user.text[1] = Some("alice@contoso.com".to_owned());
        user.text[2] = Some("Alice".to_owned());
        let removed = UserRow {
            text: std::array::from_fn(|i| (i == 0).then(|| "guid-2".to_owned())),
            account_enabled: None,
            extra_properties: None,
            removed: Some("deleted".to_owned()),
        };
        let out = users(Some(&p), vec![user.clone(), removed.clone()]).unwrap();
        assert_eq!(
            out[0].text[1].as_deref(),
            Some(p.token("alice@contoso.com").as_str())
        );
        assert_eq!(out[0].text[2].as_deref(), Some("Alice"));
        assert_eq!(out[0].text[0].as_deref(), Some("guid-1"));
        assert_eq!(out[1], removed);
        assert_eq!(users(None, vec![user.clone()]).unwrap(), [user]);
    }
}
