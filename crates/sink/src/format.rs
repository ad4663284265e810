//! The lake's table format (Hive-partitioned Parquet or Delta Lake), chosen when the lake is
//! created and recorded in `<lake>/_pstn_lake/format.json`, so every later command uses it
//! without being told.

use crate::day::{EncodedDay, Expected, Put, put_day};
use crate::{Error, Lake, Result};

/// The object under the state folder that records the lake's table format.
const FORMAT_OBJECT: &str = "format.json";

/// How a lake's tables are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    /// Hive-partitioned Parquet: one file a day, `<table>/call_date=D/data.parquet`.
    #[default]
    Parquet,
    /// Delta Lake tables: `<table>/_delta_log/` plus the day partitions' data files.
    Delta,
}

impl TableFormat {
    /// The name used on the command line and in the record: `parquet` or `delta`.
    pub fn name(self) -> &'static str {
        match self {
            TableFormat::Parquet => "parquet",
            TableFormat::Delta => "delta",
        }
    }
}

impl std::fmt::Display for TableFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TableFormat {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "parquet" => Ok(TableFormat::Parquet),
            "delta" => Ok(TableFormat::Delta),
            other => Err(format!(
                "`{other}` is not a table format: `parquet` or `delta`"
            )),
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct FormatRecord {
    table_format: TableFormat,
}

impl Lake {
    /// The lake's table format: the one recorded when it was created, or Parquet for a lake
    /// without a record (every lake written before Delta support, and a lake not created yet).
    pub async fn table_format(&self) -> Result<TableFormat> {
        if let Some(format) = *self.format.lock().expect("not poisoned") {
            return Ok(format);
        }
        let format = self.recorded_format().await?.unwrap_or_default();
        *self.format.lock().expect("not poisoned") = Some(format);
        Ok(format)
    }

    async fn recorded_format(&self) -> Result<Option<TableFormat>> {
        let path = self.state_path(FORMAT_OBJECT);
        let Some(bytes) = self.get_optional(&path).await? else {
            return Ok(None);
        };
        let record: FormatRecord = serde_json::from_slice(&bytes).map_err(|e| Error::Format {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Some(record.table_format))
    }

    /// The format a writer lands in: the recorded one, or for a lake without a record, `wanted`
    /// when it holds no table yet (a new lake; Parquet when `wanted` is `None`) and Parquet when
    /// it holds tables (every lake written before formats were recorded). A `wanted` format other
    /// than the lake's is refused ([`Error::FormatMismatch`]): a lake has one format.
    ///
    /// Nothing is written here: a Parquet lake needs no record (none means Parquet), and a Delta
    /// lake is recorded just before its first table is created (see [`Lake::record_format`]), so
    /// a run that fails before landing anything leaves no lake behind.
    pub async fn settle_format(&self, wanted: Option<TableFormat>) -> Result<TableFormat> {
        let format = match self.recorded_format().await? {
            Some(recorded) => recorded,
            // Only Delta needs a lake without tables (listed only then).
            None if wanted == Some(TableFormat::Delta) && self.tables().await?.is_empty() => {
                TableFormat::Delta
            }
            None => TableFormat::Parquet,
        };
        if let Some(wanted) = wanted
            && wanted != format
        {
            return Err(Error::FormatMismatch {
                url: self.url().to_string(),
                recorded: format,
                wanted,
            });
        }
        // Remembered for this run's commits (and every clone of this lake).
        *self.format.lock().expect("not poisoned") = Some(format);
        Ok(format)
    }

    /// Records `format` as the lake's, unless a record exists already: then it must be the same
    /// ([`Error::FormatMismatch`] otherwise, e.g. when another writer created the lake as the
    /// other format meanwhile).
    #[cfg_attr(not(feature = "delta"), allow(dead_code))]
    pub(crate) async fn record_format(&self, format: TableFormat) -> Result<()> {
        let json = serde_json::to_vec_pretty(&FormatRecord {
            table_format: format,
        })
        .expect("serialises");
        let path = self.state_path(FORMAT_OBJECT);
        let recorded = match put_day(
            self,
            &path,
            &Expected::Absent,
            EncodedDay::Bytes(json.into()),
        )
        .await?
        {
            Put::Done(..) => format,
            Put::Conflict => self.recorded_format().await?.unwrap_or_default(),
        };
        if recorded != format {
            return Err(Error::FormatMismatch {
                url: self.url().to_string(),
                recorded,
                wanted: format,
            });
        }
        // `convert` records Delta in a run that settled on Parquet.
        *self.format.lock().expect("not poisoned") = Some(format);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_format_is_named_as_the_command_line_takes_it() {
        for (format, name) in [
            (TableFormat::Parquet, "parquet"),
            (TableFormat::Delta, "delta"),
        ] {
            assert_eq!(format.name(), name);
            assert_eq!(format.to_string(), name);
            assert_eq!(name.parse::<TableFormat>(), Ok(format));
        }
        let err = "iceberg".parse::<TableFormat>().unwrap_err();
        assert!(err.contains("`iceberg`"), "{err}");
    }

    #[cfg(feature = "delta")]
    #[tokio::test]
    async fn a_new_lake_records_the_format_asked_for_with_its_first_table_and_keeps_it() {
        let (dir, lake) = crate::test_util::temp_lake();
        assert_eq!(lake.table_format().await.unwrap(), TableFormat::Parquet);
        assert_eq!(
            lake.settle_format(Some(TableFormat::Delta)).await.unwrap(),
            TableFormat::Delta
        );
        // Nothing is written until a table is.
        assert!(!dir.path().join("_pstn_lake/format.json").exists());
        let mut landing = crate::Landing::new(lake.clone(), crate::test_util::spec());
        landing
            .push(&crate::test_util::batch(&[("a", 1, 1)]))
            .unwrap();
        landing.commit().await.unwrap();
        assert!(dir.path().join("calls/_delta_log").is_dir());
        // Later commands use it without being told, and refuse the other one.
        let later = Lake::open(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(later.table_format().await.unwrap(), TableFormat::Delta);
        assert_eq!(later.settle_format(None).await.unwrap(), TableFormat::Delta);
        let err = later
            .settle_format(Some(TableFormat::Parquet))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::FormatMismatch {
                    recorded: TableFormat::Delta,
                    wanted: TableFormat::Parquet,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("leave out --table-format"),
            "{err}"
        );
        // A writer that settled on Parquet before the record appeared cannot record Delta's
        // rival.
        let err = later.record_format(TableFormat::Parquet).await.unwrap_err();
        assert!(matches!(err, Error::FormatMismatch { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_parquet_lake_needs_no_record() {
        let (dir, lake) = crate::test_util::temp_lake();
        assert_eq!(
            lake.settle_format(None).await.unwrap(),
            TableFormat::Parquet
        );
        let mut landing = crate::Landing::new(lake.clone(), crate::test_util::spec());
        landing
            .push(&crate::test_util::batch(&[("a", 1, 1)]))
            .unwrap();
        landing.commit().await.unwrap();
        assert!(!dir.path().join("_pstn_lake/format.json").exists());
        assert_eq!(lake.table_format().await.unwrap(), TableFormat::Parquet);
    }

    #[tokio::test]
    async fn a_lake_with_tables_but_no_record_is_parquet() {
        let (_dir, lake) = crate::test_util::temp_lake();
        let mut landing = crate::Landing::new(lake.clone(), crate::test_util::spec());
        landing
            .push(&crate::test_util::batch(&[("a", 1, 1)]))
            .unwrap();
        landing.commit().await.unwrap();
        let err = lake
            .settle_format(Some(TableFormat::Delta))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::FormatMismatch {
                    recorded: TableFormat::Parquet,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(lake.table_format().await.unwrap(), TableFormat::Parquet);
        assert_eq!("delta".parse::<TableFormat>().unwrap(), TableFormat::Delta);
        assert!(
            "orc"
                .parse::<TableFormat>()
                .unwrap_err()
                .contains("`parquet` or `delta`")
        );
    }
}
