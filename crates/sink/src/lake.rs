//! Where a lake lives: a local folder or an object-store URL, and the paths inside it.

use std::sync::Arc;

use chrono::NaiveDate;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore};
use url::Url;

use crate::{Error, Result};

/// The folder under the lake root that holds pstn-lake's own state, outside every table folder.
pub const STATE_DIR: &str = "_pstn_lake";

/// A lake: an object store and the root path of the lake inside it.
#[derive(Debug, Clone)]
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    root: Path,
    url: Url,
}

impl Lake {
    /// Opens a lake at a local path (`./lake`) or URL (`file:///…`, `s3://bucket/prefix`,
    /// `az://container/prefix`, `abfss://container@account.dfs.core.windows.net/prefix`,
    /// `gs://bucket/prefix`). Object stores are configured from the environment: `AWS_*` for S3,
    /// `AZURE_STORAGE_*` for Azure (the Graph credentials in `AZURE_CLIENT_*` are never used for
    /// storage), `GOOGLE_*` for GCS.
    pub fn open(location: &str) -> Result<Lake> {
        let fail = |reason: String| Error::Location {
            location: location.to_owned(),
            reason,
        };
        let url = if location.contains("://") {
            Url::parse(location).map_err(|e| fail(e.to_string()))?
        } else {
            let path = std::path::absolute(location).map_err(|e| fail(e.to_string()))?;
            Url::from_directory_path(&path)
                .map_err(|()| fail("the path cannot be made absolute".into()))?
        };
        let prefix = match url.scheme() {
            "s3" | "s3a" => "aws_",
            "az" | "adl" | "azure" | "abfs" | "abfss" => "azure_storage_",
            "gs" => "google_",
            _ => "\0",
        };
        let options = std::env::vars()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .filter(|(k, _)| k.starts_with(prefix));
        let (store, root) =
            object_store::parse_url_opts(&url, options).map_err(|e| fail(e.to_string()))?;
        Ok(Lake {
            store: Arc::from(store),
            root,
            url,
        })
    }

    /// A lake over a store you built yourself (tests, custom credentials).
    pub fn with_store(store: Arc<dyn ObjectStore>, root: Path, url: Url) -> Lake {
        Lake { store, root, url }
    }

    /// The object store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The URL of the lake root (`file:///work/lake/`, `s3://bucket/prefix`).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The root path inside the store.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the lake is on the local file system.
    pub fn is_local(&self) -> bool {
        self.url.scheme() == "file"
    }

    /// `<root>/<table>`.
    pub fn table_path(&self, table: &str) -> Path {
        self.root.clone().join(table)
    }

    /// `<root>/<table>/call_date=YYYY-MM-DD`.
    pub fn day_dir(&self, table: &str, day: NaiveDate) -> Path {
        self.table_path(table)
            .join(format!("call_date={}", day.format("%Y-%m-%d")))
    }

    /// The one data object of a day: `<root>/<table>/call_date=YYYY-MM-DD/data.parquet`.
    pub fn day_file(&self, table: &str, day: NaiveDate) -> Path {
        self.day_dir(table, day).join("data.parquet")
    }

    /// `<root>/_pstn_lake/<rest>`.
    pub fn state_path(&self, rest: &str) -> Path {
        let mut path = self.root.clone().join(STATE_DIR);
        for part in rest.split('/').filter(|p| !p.is_empty()) {
            path = path.join(part);
        }
        path
    }

    /// The tables present in the lake (top-level folders not starting with `_` or `.`).
    pub async fn tables(&self) -> Result<Vec<String>> {
        let listing = self
            .store
            .list_with_delimiter(Some(&self.root))
            .await
            .map_err(|source| Error::Store {
                action: "listing",
                path: self.root.to_string(),
                source,
            })?;
        let mut names: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_owned))
            .filter(|n| !n.starts_with('_') && !n.starts_with('.'))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The days a table holds, in order.
    pub async fn days(&self, table: &str) -> Result<Vec<NaiveDate>> {
        let prefix = self.table_path(table);
        let listing = self
            .store
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(|source| Error::Store {
                action: "listing",
                path: prefix.to_string(),
                source,
            })?;
        let mut days: Vec<NaiveDate> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename()?.strip_prefix("call_date=").map(str::to_owned))
            .filter_map(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
            .collect();
        days.sort();
        Ok(days)
    }

    /// The Parquet objects of one day (normally exactly one, `data.parquet`).
    pub async fn day_objects(&self, table: &str, day: NaiveDate) -> Result<Vec<ObjectMeta>> {
        let prefix = self.day_dir(table, day);
        let mut objects: Vec<ObjectMeta> = self
            .store
            .list(Some(&prefix))
            .try_filter(|m| futures::future::ready(m.location.extension() == Some("parquet")))
            .try_collect()
            .await
            .map_err(|source| Error::Store {
                action: "listing",
                path: prefix.to_string(),
                source,
            })?;
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(objects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_and_urls_open() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        assert!(lake.is_local());
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let file = lake.day_file("pstn_calls", day);
        assert!(
            file.as_ref()
                .ends_with("pstn_calls/call_date=2026-11-01/data.parquet"),
            "{file}"
        );
        assert!(
            lake.state_path("state/x.json")
                .as_ref()
                .ends_with("_pstn_lake/state/x.json")
        );
        let err = Lake::open("nope://bucket/x").unwrap_err();
        assert!(err.to_string().contains("is not a lake location"), "{err}");
    }
}
