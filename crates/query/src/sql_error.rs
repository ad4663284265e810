//! DataFusion's errors about a user's SQL, said in the user's terms: the unknown column (with close
//! matches and the columns there are), the unknown table (with the tables there are), where the
//! SQL does not parse (once), and which literal is not a date.

use datafusion::arrow::error::ArrowError;
use datafusion::common::SchemaError;
use datafusion::error::DataFusionError;
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::parser::ParserError;

use crate::Error;

/// Maps a planning or execution error of the user's `sql` to a variant saying what is wrong, or
/// keeps DataFusion's error when there is nothing to add. `tables` are the lake's tables.
pub(crate) fn explain(
    error: DataFusionError,
    statement: Option<&Statement>,
    ctx: &datafusion::execution::context::SessionContext,
    tables: &[String],
) -> Error {
    // A missing table first: DataFusion says so only in the text of a planning error.
    if let Some(statement) = statement
        && let Ok(refs) = ctx.state().resolve_table_references(statement)
        && let Some(missing) = refs
            .iter()
            .find(|r| !ctx.table_exist((*r).clone()).unwrap_or(true))
    {
        return Error::UnknownTable {
            table: missing.to_string(),
            available: tables.join(", "),
            error: Box::new(error),
        };
    }
    match error.find_root() {
        DataFusionError::SQL(parser, _) => Error::Syntax {
            message: match parser.as_ref() {
                ParserError::ParserError(m) | ParserError::TokenizerError(m) => m.clone(),
                ParserError::RecursionLimitExceeded => "it is nested too deeply".to_owned(),
            },
            error: Box::new(error),
        },
        DataFusionError::SchemaError(schema, _) => match schema.as_ref() {
            SchemaError::FieldNotFound {
                field,
                valid_fields,
            } => {
                let mut columns: Vec<String> =
                    valid_fields.iter().map(|c| c.name.clone()).collect();
                columns.dedup();
                let similar = close_matches(&field.name, &columns);
                Error::UnknownColumn {
                    column: field.name.clone(),
                    similar,
                    columns,
                    error: Box::new(error),
                }
            }
            _ => Error::DataFusion(error),
        },
        DataFusionError::ArrowError(arrow, _) => match arrow.as_ref() {
            ArrowError::CastError(text) | ArrowError::ParseError(text) => {
                // Arrow names the literal only in its text: `Cannot cast string '2026-13-01' to
                // value of Date32 type`, `Error parsing timestamp from 'yesterday': …`.
                match quoted(text) {
                    Some(literal) => Error::BadLiteral {
                        literal: literal.to_owned(),
                        expected: if text.contains("Date32") || text.contains("Date64") {
                            "a date: write 'YYYY-MM-DD'"
                        } else if text.to_ascii_lowercase().contains("timestamp") {
                            "a timestamp: write 'YYYY-MM-DD HH:MM:SS' (UTC)"
                        } else {
                            "a value of the column's type"
                        },
                        error: Box::new(error),
                    },
                    None => Error::DataFusion(error),
                }
            }
            _ => Error::DataFusion(error),
        },
        _ => Error::DataFusion(error),
    }
}

/// The first `'…'` in `text`.
fn quoted(text: &str) -> Option<&str> {
    let start = text.find('\'')? + 1;
    let len = text[start..].find('\'')?;
    Some(&text[start..start + len])
}

/// Columns within a small edit distance of `name` (a third of its length, at least 1), closest first.
fn close_matches(name: &str, columns: &[String]) -> Vec<String> {
    let name = name.to_ascii_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    let mut near: Vec<(usize, &String)> = columns
        .iter()
        .map(|c| (distance(&name, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= limit || c.to_ascii_lowercase().contains(&name))
        .collect();
    near.sort();
    near.into_iter().take(3).map(|(_, c)| c.clone()).collect()
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_matches_find_typos_first() {
        let columns: Vec<String> = ["charge", "connection_charge", "currency", "call_type"]
            .map(String::from)
            .to_vec();
        assert_eq!(close_matches("chrge", &columns), ["charge"]);
        assert_eq!(
            close_matches("CHARGE", &columns),
            ["charge", "connection_charge"]
        );
        assert!(close_matches("zzz", &columns).is_empty());
        assert_eq!(
            quoted("Cannot cast string '2026-13-01' to"),
            Some("2026-13-01")
        );
    }
}
