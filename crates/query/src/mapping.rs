//! `charges-by-department --mapping FILE.csv`: the shop's own user → group table, which wins
//! over the directory. In SQL it is the table `chargeback_mapping` (`user_key`, the user
//! principal name lower-cased or the user id as written; `group_name`), empty without a file.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;

use crate::{Error, Result};

/// The mapping's table name in SQL.
pub const MAPPING_TABLE: &str = "chargeback_mapping";

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("user_key", DataType::Utf8, false),
        Field::new("group_name", DataType::Utf8, false),
    ]))
}

/// The mapping table holding `rows` (user key, group).
pub(crate) fn table(rows: &[(String, String)]) -> Result<Arc<MemTable>> {
    let users: StringArray = rows.iter().map(|(u, _)| Some(u.as_str())).collect();
    let groups: StringArray = rows.iter().map(|(_, g)| Some(g.as_str())).collect();
    let batch = RecordBatch::try_new(schema(), vec![Arc::new(users), Arc::new(groups)])
        .map_err(|e| Error::DataFusion(e.into()))?;
    Ok(Arc::new(MemTable::try_new(schema(), vec![vec![batch]])?))
}

/// Reads a mapping CSV: a header `user,group` (any case, in that order; more columns are
/// ignored), then one row per user: a user principal name (matched in any case) or a user id,
/// and the group to charge. An empty value, a missing column or a user listed twice is an
/// error naming the file, the line and the column.
pub fn read_mapping(path: &Path) -> Result<Vec<(String, String)>> {
    let file = path.display().to_string();
    let bad = |line: u64, column: &str, message: String| Error::Mapping {
        file: file.clone(),
        line,
        column: column.to_owned(),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| bad(0, "-", e.to_string()))?;
    let header = reader
        .headers()
        .map_err(|e| bad(1, "-", e.to_string()))?
        .clone();
    let named = |i: usize, name: &str| header.get(i).is_some_and(|h| h.eq_ignore_ascii_case(name));
    if !(named(0, "user") && named(1, "group")) {
        return Err(bad(
            1,
            "header",
            format!(
                "the first line must be `user,group` (a user principal name or user id, and the group to charge), not `{}`",
                header.iter().collect::<Vec<_>>().join(",")
            ),
        ));
    }
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            bad(line, "-", e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        let value = |i: usize, column: &str| -> Result<String> {
            match record.get(i) {
                Some(v) if !v.is_empty() => Ok(v.to_owned()),
                _ => Err(bad(line, column, "is empty".into())),
            }
        };
        let (user, group) = (value(0, "user")?, value(1, "group")?);
        // User principal names are matched in any case; ids (GUIDs) as written, lower-cased too.
        let key = user.to_lowercase();
        if let Some(first) = seen.insert(key.clone(), line) {
            return Err(bad(
                line,
                "user",
                format!("`{user}` is listed twice (first on line {first}): one group per user"),
            ));
        }
        rows.push((key, group));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<(String, String)>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.csv");
        std::fs::write(&path, text).unwrap();
        read_mapping(&path)
    }

    #[test]
    fn a_mapping_reads_users_and_groups_and_names_what_is_wrong() {
        let rows = read("User,Group\nAnna@Contoso.com, Sales EMEA\n\nb-id,IT\n").unwrap();
        assert_eq!(
            rows,
            [
                ("anna@contoso.com".to_owned(), "Sales EMEA".to_owned()),
                ("b-id".to_owned(), "IT".to_owned())
            ]
        );
        for (text, want) in [
            ("upn,cost center\na,b\n", "line 1, column header"),
            ("user,group\na,\n", "line 2, column group: is empty"),
            ("user,group\na,x\nb\n", "line 3, column group: is empty"),
            (
                "user,group\nA,x\na,y\n",
                "line 3, column user: `a` is listed twice (first on line 2)",
            ),
        ] {
            let e = read(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(e.contains("map.csv"), "{e}");
        }
    }
}
