//! `pstn-lake purge --before DATE`: retention by hand. Every day before `DATE` of the chosen tables
//! is deleted (rows, raw pages, quarantined rows; see [`pstn_lake_sink::delete_days`]), holding
//! the lake lock. The directory's snapshots are the exception that keeps reports right: the
//! snapshot in force on `DATE` (the latest one before it, when none is dated `DATE`) stays, since
//! the days from `DATE` on are charged as of it.

use chrono::NaiveDate;
use pstn_lake_fetch::Table;
use pstn_lake_sink::{Lake, delete_days};

use crate::Result;
use crate::lake::locked;

/// What to purge.
#[derive(Debug, Clone)]
pub struct PurgeOptions {
    /// Days before this one are deleted.
    pub before: NaiveDate,
    /// The tables (empty: every table the lake holds).
    pub tables: Vec<Table>,
    /// Only say what would be deleted.
    pub dry_run: bool,
}

/// What a purge did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    /// The table.
    pub table: Table,
    /// The days deleted (on a dry run: that would be).
    pub days: Vec<NaiveDate>,
    /// Data files removed (0 on a dry run).
    pub files: usize,
    /// A snapshot before the date kept because the days from it on are read as of it.
    pub kept: Option<NaiveDate>,
}

/// What a purge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    /// Each table, in the lake's order.
    pub tables: Vec<Purged>,
    /// The first day kept.
    pub before: NaiveDate,
    /// Whether nothing was deleted.
    pub dry_run: bool,
}

impl std::fmt::Display for PurgeReport {
    /// A line per table.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.dry_run {
            "would be deleted"
        } else {
            "deleted"
        };
        for (i, t) in self.tables.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match (t.days.first(), t.days.last()) {
                (Some(first), Some(last)) => write!(
                    f,
                    "{}: {} days {verb} ({first} to {last})",
                    t.table,
                    t.days.len()
                )?,
                _ => write!(f, "{}: no day before {}", t.table, self.before)?,
            }
            if let Some(kept) = t.kept {
                write!(
                    f,
                    "; the snapshot of {kept} stays: the days from {} on are charged as of it",
                    self.before
                )?;
            }
        }
        Ok(())
    }
}

/// Deletes the days before `options.before` of the tables it names (see the module
/// documentation).
pub async fn purge(lake: &Lake, options: &PurgeOptions) -> Result<PurgeReport> {
    lake.check().await?;
    let work = async {
        let held = lake.tables().await?;
        let tables: Vec<Table> = if options.tables.is_empty() {
            Table::ALL
                .into_iter()
                .filter(|t| held.iter().any(|h| h == t.name()))
                .collect()
        } else {
            options.tables.clone()
        };
        let mut report = PurgeReport {
            tables: Vec::new(),
            before: options.before,
            dry_run: options.dry_run,
        };
        for table in tables {
            let held = lake.days(table.name()).await?;
            let mut days: Vec<NaiveDate> = held
                .iter()
                .copied()
                .filter(|d| *d < options.before)
                .collect();
            let kept = if table.is_snapshot() && !held.contains(&options.before) {
                days.pop()
            } else {
                None
            };
            let files = if options.dry_run {
                0
            } else {
                delete_days(lake, table.name(), &days).await?
            };
            report.tables.push(Purged {
                table,
                days,
                files,
                kept,
            });
        }
        Ok(report)
    };
    if options.dry_run {
        work.await
    } else {
        locked(lake, "purge", None, work).await
    }
}
