//! The user directory: `GET /users/delta` pages decoded into rows of the `users` table
//! ([`Table::Users`]), and those rows to and from Arrow.
//!
//! The directory is small (a row per user, not per call) and its rows are entities with a complex
//! property (`employeeOrgData`) and delta annotations (`@removed`), so it is read with
//! `serde_json` into [`UserRow`]s rather than by the call-log decoder: a snapshot is the previous
//! snapshot's rows with the changes applied ([`apply_changes`]), compared, and written whole only
//! when it differs.
//!
//! A delta page's user carries every selected property that was ever set, changed or not (Graph
//! sends changed properties only when asked with `Prefer: return=minimal`, which pstn-lake does
//! not send): a property left out is null, and a user on a page replaces its previous row.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray};
use serde_json::{Map, Value};

use crate::table::{EXTRA_PROPERTIES, REMOVED, Table};
use crate::{Error, Result};

/// The properties a directory read selects (`$select`): the [`Table::Users`] properties, with
/// `employeeOrgData` for the cost center and division.
pub const SELECT: [&str; 13] = [
    "id",
    "userPrincipalName",
    "displayName",
    "department",
    "jobTitle",
    "companyName",
    "officeLocation",
    "city",
    "country",
    "usageLocation",
    "employeeId",
    "employeeOrgData",
    "accountEnabled",
];

/// How many string columns a user row starts with: the [`Table::Users`] properties before
/// `accountEnabled` (`costCenter` and `division`, the last two, come from `employeeOrgData`).
const TEXT: usize = 13;

/// One user of a snapshot: a row of the `users` table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UserRow {
    /// The string columns, `id` first, in the schema's order.
    pub text: [Option<String>; TEXT],
    /// `accountEnabled`.
    pub account_enabled: Option<bool>,
    /// Properties the schema does not know, as a JSON object text.
    pub extra_properties: Option<String>,
    /// Why the user left the directory ([`REMOVED`]); `None` while in it.
    pub removed: Option<String>,
}

impl UserRow {
    /// The user's `id`.
    pub fn id(&self) -> &str {
        self.text[0].as_deref().unwrap_or_default()
    }
}

/// One page of a directory read.
#[derive(Debug, Clone, Default)]
pub struct DirectoryPage {
    /// Its users in page order: changed or new ones with their values, removed ones with only
    /// their `id` and [`UserRow::removed`].
    pub rows: Vec<UserRow>,
    /// `@odata.nextLink`: the read goes on.
    pub next_link: Option<String>,
    /// `@odata.deltaLink`: the read is over; the next one starts here.
    pub delta_link: Option<String>,
    /// Properties the schema does not know, with row counts.
    pub unknown_properties: BTreeMap<String, u64>,
}

fn field(row: usize, id: Option<&str>, field: &str, message: impl Into<String>) -> Error {
    Error::Field {
        row,
        id: id.map(str::to_owned),
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A string property: absent and null are `None`.
fn text(
    object: &Map<String, Value>,
    name: &str,
    row: usize,
    id: Option<&str>,
) -> Result<Option<String>> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(field(
            row,
            id,
            name,
            format!("expected a string, found {other}"),
        )),
    }
}

/// Decodes one `/users` or `/users/delta` page.
pub fn decode_page(bytes: &[u8]) -> Result<DirectoryPage> {
    let page: Value = serde_json::from_slice(bytes).map_err(|source| Error::Json {
        line: source.line(),
        column: source.column(),
        source,
    })?;
    let Some(Value::Array(values)) = page.get("value") else {
        return Err(Error::MissingValue);
    };
    let link = |name: &'static str| -> Result<Option<String>> {
        match page.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::RepeatedKey(name)),
        }
    };
    let mut out = DirectoryPage {
        next_link: link("@odata.nextLink")?,
        delta_link: link("@odata.deltaLink")?,
        ..DirectoryPage::default()
    };
    for (i, value) in values.iter().enumerate() {
        let Value::Object(object) = value else {
            return Err(field(i, None, "value", "a user is not a JSON object"));
        };
        let id = match object.get("id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => return Err(field(i, None, "id", "a user without an id")),
        };
        let mut row = UserRow {
            text: Default::default(),
            account_enabled: None,
            extra_properties: None,
            removed: None,
        };
        row.text[0] = Some(id.clone());
        if let Some(removed) = object.get("@removed") {
            let reason = removed
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("deleted");
            row.removed = Some(reason.to_owned());
            out.rows.push(row);
            continue;
        }
        let id = Some(id.as_str());
        // The user's own string properties; the last two are `employeeOrgData`'s.
        for (n, property) in Table::Users.properties()[..TEXT - 2]
            .iter()
            .enumerate()
            .skip(1)
        {
            row.text[n] = text(object, property.graph_name, i, id)?;
        }
        match object.get("employeeOrgData") {
            None | Some(Value::Null) => {}
            Some(Value::Object(org)) => {
                row.text[11] = text(org, "costCenter", i, id)?;
                row.text[12] = text(org, "division", i, id)?;
            }
            Some(other) => {
                return Err(field(
                    i,
                    id,
                    "employeeOrgData",
                    format!("expected an object, found {other}"),
                ));
            }
        }
        row.account_enabled = match object.get("accountEnabled") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                return Err(field(
                    i,
                    id,
                    "accountEnabled",
                    format!("expected true or false, found {other}"),
                ));
            }
        };
        let extra: Map<String, Value> = object
            .iter()
            .filter(|(k, _)| {
                !k.starts_with('@') && !k.contains("@odata") && !SELECT.contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for k in extra.keys() {
            *out.unknown_properties.entry(k.clone()).or_default() += 1;
        }
        if !extra.is_empty() {
            row.extra_properties = Some(Value::Object(extra).to_string());
        }
        out.rows.push(row);
    }
    Ok(out)
}

/// The snapshot after a read: `previous` with the read's `changes` applied (in order; a user's
/// last change wins). A changed or new user replaces its row; a removed one keeps its last
/// values, marked [`UserRow::removed`] (a removal of a user the snapshot never held is dropped).
/// After a `full` read (every user listed), a user of `previous` the read did not list is
/// marked `missing`. The result is sorted by `id`.
pub fn apply_changes(previous: Vec<UserRow>, changes: Vec<UserRow>, full: bool) -> Vec<UserRow> {
    let mut users: BTreeMap<String, UserRow> = previous
        .into_iter()
        .map(|row| (row.id().to_owned(), row))
        .collect();
    let mut listed = HashSet::new();
    for change in changes {
        let id = change.id().to_owned();
        listed.insert(id.clone());
        match (&change.removed, users.get_mut(&id)) {
            (Some(reason), Some(held)) => held.removed = Some(reason.clone()),
            (Some(_), None) => {}
            (None, _) => {
                users.insert(id, change);
            }
        }
    }
    if full {
        for (id, row) in &mut users {
            if !listed.contains(id) && row.removed.is_none() {
                row.removed = Some("missing".to_owned());
            }
        }
    }
    users.into_values().collect()
}

/// The rows as a record batch of the [`Table::Users`] schema.
pub fn to_batch(rows: &[UserRow]) -> RecordBatch {
    let schema = Table::Users.schema();
    let mut columns: Vec<ArrayRef> = (0..TEXT)
        .map(|n| {
            Arc::new(
                rows.iter()
                    .map(|r| r.text[n].as_deref())
                    .collect::<StringArray>(),
            ) as ArrayRef
        })
        .collect();
    columns.push(Arc::new(
        rows.iter()
            .map(|r| r.account_enabled)
            .collect::<BooleanArray>(),
    ));
    columns.push(Arc::new(
        rows.iter()
            .map(|r| r.extra_properties.as_deref())
            .collect::<StringArray>(),
    ));
    columns.push(Arc::new(
        rows.iter()
            .map(|r| r.removed.as_deref())
            .collect::<StringArray>(),
    ));
    RecordBatch::try_new(schema, columns).expect("the users schema's columns")
}

/// The rows of record batches of the [`Table::Users`] schema (a snapshot read back).
pub fn from_batches(batches: &[RecordBatch]) -> Result<Vec<UserRow>> {
    let schema = Table::Users.schema();
    let mut rows = Vec::new();
    for batch in batches {
        let column = |name: &str| -> Result<&dyn Array> {
            batch
                .column_by_name(name)
                .map(|c| c.as_ref())
                .ok_or_else(|| field(0, None, name, "the snapshot has no such column"))
        };
        let strings = |name: &str| -> Result<&StringArray> {
            column(name)?
                .as_string_opt::<i32>()
                .ok_or_else(|| field(0, None, name, "not a string column"))
        };
        let text: Vec<&StringArray> = schema.fields()[..TEXT]
            .iter()
            .map(|f| strings(f.name()))
            .collect::<Result<_>>()?;
        let enabled = column("account_enabled")?
            .as_boolean_opt()
            .ok_or_else(|| field(0, None, "account_enabled", "not a boolean column"))?;
        let (extra, removed) = (strings(EXTRA_PROPERTIES)?, strings(REMOVED)?);
        let value = |a: &StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_owned());
        for i in 0..batch.num_rows() {
            rows.push(UserRow {
                text: std::array::from_fn(|n| value(text[n], i)),
                account_enabled: enabled.is_valid(i).then(|| enabled.value(i)),
                extra_properties: value(extra, i),
                removed: value(removed, i),
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(json: &str) -> DirectoryPage {
        decode_page(json.as_bytes()).unwrap()
    }

    #[test]
    fn users_decode_with_their_org_data_and_removals() {
        let p = page(
            r#"{"@odata.context":"x","value":[
              {"id":"u1","userPrincipalName":"a@x","department":"Sales","accountEnabled":true,
               "employeeOrgData":{"costCenter":"CC-1","division":"East"},"mail":"a@x"},
              {"id":"u2","@removed":{"reason":"changed"}}],
              "@odata.deltaLink":"https://graph/v1.0/users/delta?$deltatoken=t"}"#,
        );
        assert_eq!(p.rows.len(), 2);
        let u1 = &p.rows[0];
        assert_eq!(u1.text[3].as_deref(), Some("Sales"));
        assert_eq!(u1.text[11].as_deref(), Some("CC-1"));
        assert_eq!(u1.text[12].as_deref(), Some("East"));
        assert_eq!(u1.text[4], None);
        assert_eq!(u1.account_enabled, Some(true));
        assert_eq!(u1.extra_properties.as_deref(), Some(r#"{"mail":"a@x"}"#));
        assert_eq!(p.unknown_properties["mail"], 1);
        assert_eq!(p.rows[1].removed.as_deref(), Some("changed"));
        assert!(p.delta_link.is_some() && p.next_link.is_none());
        let batch = to_batch(&p.rows);
        assert_eq!(batch.schema(), Table::Users.schema());
        assert_eq!(from_batches(&[batch]).unwrap(), p.rows);
    }

    #[test]
    fn a_bad_user_names_its_row_and_field() {
        for (json, want) in [
            (
                r#"{"value":[{"id":"u1"},{"department":"x"}]}"#,
                "row 1 field `id`",
            ),
            (
                r#"{"value":[{"id":"u1","department":7}]}"#,
                "row 0 (id u1) field `department`",
            ),
            (
                r#"{"value":[{"id":"u1","accountEnabled":"yes"}]}"#,
                "row 0 (id u1) field `accountEnabled`",
            ),
            (
                r#"{"value":[{"id":"u1","employeeOrgData":{"costCenter":1}}]}"#,
                "row 0 (id u1) field `costCenter`",
            ),
        ] {
            let e = decode_page(json.as_bytes()).unwrap_err().to_string();
            assert!(e.starts_with(want), "{json}: {e}");
        }
        assert!(matches!(decode_page(b"{}"), Err(Error::MissingValue)));
    }

    fn user(id: &str, department: &str) -> UserRow {
        let mut row = page(&format!(
            r#"{{"value":[{{"id":"{id}","department":"{department}"}}]}}"#
        ))
        .rows;
        row.remove(0)
    }

    #[test]
    fn changes_replace_rows_removals_keep_the_last_values() {
        let previous = vec![user("a", "Sales"), user("b", "Legal"), user("c", "IT")];
        let removed = page(
            r#"{"value":[{"id":"b","@removed":{"reason":"deleted"}},{"id":"zz","@removed":{}}]}"#,
        )
        .rows;
        let changes = [vec![user("a", "Finance"), user("d", "HR")], removed].concat();
        let next = apply_changes(previous.clone(), changes, false);
        let summary: Vec<(&str, Option<&str>, Option<&str>)> = next
            .iter()
            .map(|r| (r.id(), r.text[3].as_deref(), r.removed.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                ("a", Some("Finance"), None),
                ("b", Some("Legal"), Some("deleted")),
                ("c", Some("IT"), None),
                ("d", Some("HR"), None),
            ]
        );
        // A full listing without `c` marks it missing; nothing changed gives the same rows.
        let full = apply_changes(
            previous.clone(),
            vec![user("a", "Sales"), user("b", "Legal")],
            true,
        );
        assert_eq!(full[2].removed.as_deref(), Some("missing"));
        assert_eq!(apply_changes(previous.clone(), Vec::new(), false), previous);
    }
}
