//! Which tables and days a sync or a rebuild covers.

use chrono::NaiveDate;
use pstn_lake_fetch::Table;

/// Tables and an inclusive range of UTC days, either end open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Days {
    pub(crate) tables: Vec<Table>,
    pub(crate) from: Option<NaiveDate>,
    pub(crate) to: Option<NaiveDate>,
}

impl Default for Days {
    /// No table named (the command's default: for a sync the two call tables and every other
    /// table the lake holds, for a rebuild every table), no bound.
    fn default() -> Self {
        Days {
            tables: Vec::new(),
            from: None,
            to: None,
        }
    }
}

impl Days {
    /// The tables (for a sync, none: the two call tables and every other table the lake holds).
    pub fn with_tables(mut self, tables: impl IntoIterator<Item = Table>) -> Self {
        self.tables = tables.into_iter().collect();
        self
    }

    /// The first day, inclusive (`None`: the command's default).
    pub fn with_from(mut self, from: Option<NaiveDate>) -> Self {
        self.from = from;
        self
    }

    /// The last day, inclusive (`None`: the command's default).
    pub fn with_to(mut self, to: Option<NaiveDate>) -> Self {
        self.to = to;
        self
    }

    /// Whether `day` is within the bounds.
    pub(crate) fn covers(&self, day: NaiveDate) -> bool {
        self.from.is_none_or(|f| day >= f) && self.to.is_none_or(|t| day <= t)
    }
}
