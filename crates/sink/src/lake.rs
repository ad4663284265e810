//! Where a lake lives: a local folder or an object-store URL, and the paths inside it.

use std::sync::Arc;

use chrono::NaiveDate;
use futures::TryStreamExt;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, ObjectStoreScheme, RetryConfig};
use url::Url;

use crate::error::store;
use crate::{Error, Result};

/// The folder under the lake root that holds pstn-lake's own state, outside every table folder.
pub const STATE_DIR: &str = "_pstn_lake";

/// The partition column of every table but the snapshot tables: the UTC day of the rows, as
/// Hive-style folders `call_date=YYYY-MM-DD`.
pub const PARTITION_COLUMN: &str = "call_date";

/// The partition column of a snapshot table ([`SNAPSHOT_TABLES`]): the UTC day a snapshot was
/// taken, as folders `snapshot_date=YYYY-MM-DD`. Each partition holds the whole table as on
/// that day.
pub const SNAPSHOT_COLUMN: &str = "snapshot_date";

/// The tables whose partitions are snapshots ([`SNAPSHOT_COLUMN`]) rather than days of rows:
/// the user directory.
pub const SNAPSHOT_TABLES: [&str; 1] = ["users"];

/// The partition column of `table`: [`SNAPSHOT_COLUMN`] for a snapshot table, else
/// [`PARTITION_COLUMN`].
pub fn partition_column(table: &str) -> &'static str {
    if SNAPSHOT_TABLES.contains(&table) {
        SNAPSHOT_COLUMN
    } else {
        PARTITION_COLUMN
    }
}

/// The one data object of a day, in its partition folder.
pub const DAY_FILE: &str = "data.parquet";

/// Where a local lake's writers spool encoded days and files on their way into place, under the
/// state folder (on the lake's own file system, so they are renamed into place, not copied).
pub(crate) const SPOOL_DIR: &str = "spool";

/// Object-store requests are retried a few times within half a minute, so a wrong endpoint or
/// bad credentials surface as one clear error rather than minutes of retries.
fn retry_config() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(30),
        ..RetryConfig::default()
    }
}

/// The environment variables (lowercased) that configure a store: `aws_*` for S3,
/// `azure_storage_*` (and `azure_allow_http`) for Azure — never the Graph app's `AZURE_CLIENT_*` —
/// and `google_*` for GCS.
fn store_options(
    vars: impl Iterator<Item = (String, String)>,
    prefixes: &[&str],
) -> Vec<(String, String)> {
    vars.map(|(k, v)| (k.to_ascii_lowercase(), v))
        .filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p)))
        .collect()
}

/// Applies every environment option a builder understands (unknown keys are not its business).
macro_rules! configured {
    ($builder:expr, $vars:expr, $prefixes:expr) => {{
        let mut b = $builder;
        for (k, v) in store_options($vars, $prefixes) {
            if let Ok(key) = k.parse() {
                b = b.with_config(key, v);
            }
        }
        b.build()?
    }};
}

/// The store of a lake URL, configured from `vars` (the environment's variables).
fn build_store(
    url: &Url,
    vars: impl Iterator<Item = (String, String)>,
) -> object_store::Result<(Arc<dyn ObjectStore>, Path)> {
    let (scheme, path) = ObjectStoreScheme::parse(url)?;
    let root = Path::parse(path)?;
    let store: Arc<dyn ObjectStore> = match scheme {
        ObjectStoreScheme::Local => Arc::new(LocalFileSystem::new()),
        ObjectStoreScheme::AmazonS3 => Arc::new(configured!(
            AmazonS3Builder::new()
                .with_url(url.as_str())
                .with_retry(retry_config()),
            vars,
            &["aws_"]
        )),
        ObjectStoreScheme::MicrosoftAzure => Arc::new(configured!(
            MicrosoftAzureBuilder::new()
                .with_url(url.as_str())
                .with_retry(retry_config()),
            vars,
            &["azure_storage_", "azure_allow_http"]
        )),
        ObjectStoreScheme::GoogleCloudStorage => Arc::new(configured!(
            GoogleCloudStorageBuilder::new()
                .with_url(url.as_str())
                .with_retry(retry_config()),
            vars,
            &["google_"]
        )),
        other => {
            return Err(object_store::Error::Generic {
                store: "pstn-lake",
                source: format!("{other:?} is not a supported lake store").into(),
            });
        }
    };
    Ok((store, root))
}

/// The partition folder of a day of `table`: `call_date=YYYY-MM-DD` (`snapshot_date=…` for a
/// snapshot table).
pub fn day_folder(table: &str, day: NaiveDate) -> String {
    format!("{}={}", partition_column(table), day.format("%Y-%m-%d"))
}

/// A lake: an object store and the root path of the lake inside it.
#[derive(Debug, Clone)]
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    root: Path,
    url: Url,
    /// The lake's folder, when it is a folder on the local file system opened by [`Lake::open`]:
    /// its files are then written durably with `std::fs` (see `crate::local`) under the lake's OS
    /// file lock, rather than through the store.
    folder: Option<std::path::PathBuf>,
    /// Set when this process's hold on the lake lock was taken over by another writer (shared by
    /// every clone): no commit is made after that.
    fence: Arc<Fence>,
    /// The lake's table format once read or settled (see `crate::format`), shared by every clone:
    /// read once per process rather than before every day's commit.
    pub(crate) format: Arc<std::sync::Mutex<Option<crate::TableFormat>>>,
}

/// Whether the writer still holds the lake lock (see [`crate::LakeLock`]).
#[derive(Debug, Default)]
pub(crate) struct Fence {
    lost: std::sync::Mutex<Option<String>>,
}

impl Fence {
    /// Records that the lock was taken over, by whom.
    pub(crate) fn lose(&self, by: String) {
        *self.lost.lock().expect("not poisoned") = Some(by);
    }
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
            // `..` and `.` are resolved as a shell's `cd` would (object paths may not hold them).
            let path = path
                .components()
                .fold(std::path::PathBuf::new(), |mut out, c| {
                    match c {
                        std::path::Component::ParentDir => {
                            out.pop();
                        }
                        std::path::Component::CurDir => {}
                        other => out.push(other),
                    }
                    out
                });
            Url::from_directory_path(&path)
                .map_err(|()| fail("the path cannot be made absolute".into()))?
        };
        let (store, root) = build_store(&url, std::env::vars()).map_err(|e| fail(e.to_string()))?;
        let folder = if url.scheme() == "file" {
            Some(
                url.to_file_path()
                    .map_err(|()| fail("not a local path".into()))?,
            )
        } else {
            None
        };
        Ok(Lake {
            store,
            root,
            url,
            folder,
            fence: Arc::default(),
            format: Arc::default(),
        })
    }

    /// A lake over a store you built yourself (tests, custom credentials). Every write goes
    /// through the store, with conditional puts: the store must support them (S3, Azure, GCS and
    /// the in-memory store do; a `LocalFileSystem` built by hand does not: open a folder with
    /// [`Lake::open`] instead).
    pub fn with_store(store: Arc<dyn ObjectStore>, root: Path, url: Url) -> Lake {
        Lake {
            store,
            root,
            url,
            folder: None,
            fence: Arc::default(),
            format: Arc::default(),
        }
    }

    /// The lake's folder on the local file system, when it was opened as one.
    pub(crate) fn folder(&self) -> Option<&std::path::Path> {
        self.folder.as_deref()
    }

    /// The local file of an object of a lake opened as a folder.
    pub(crate) fn file_of(&self, object: &Path) -> Option<std::path::PathBuf> {
        self.folder
            .as_deref()
            .map(|root| crate::local::file_of(root, &self.root, object))
    }

    pub(crate) fn fence(&self) -> &Arc<Fence> {
        &self.fence
    }

    /// Fails when this process no longer holds the lake lock: another writer took it over (this
    /// process was paused past the lock's time to live, say). Checked before every commit.
    pub(crate) fn check_fence(&self) -> Result<()> {
        match self.fence.lost.lock().expect("not poisoned").as_ref() {
            None => Ok(()),
            Some(by) => Err(Error::LockLost {
                url: self.url.to_string(),
                by: by.clone(),
            }),
        }
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

    /// `<root>/<table>/call_date=YYYY-MM-DD` (see [`day_folder`]).
    pub fn day_dir(&self, table: &str, day: NaiveDate) -> Path {
        self.table_path(table).join(day_folder(table, day))
    }

    /// The one data object of a day: `<root>/<table>/call_date=YYYY-MM-DD/data.parquet`.
    pub fn day_file(&self, table: &str, day: NaiveDate) -> Path {
        self.day_dir(table, day).join(DAY_FILE)
    }

    /// `<root>/_pstn_lake/<rest>`.
    pub fn state_path(&self, rest: &str) -> Path {
        let mut path = self.root.clone().join(STATE_DIR);
        for part in rest.split('/').filter(|p| !p.is_empty()) {
            path = path.join(part);
        }
        path
    }

    /// Checks that the lake can be listed (credentials, endpoint, bucket), so a misconfigured store
    /// fails at once with one message that says what to check.
    pub async fn check(&self) -> Result<()> {
        match self.store.list_with_delimiter(Some(&self.root)).await {
            Ok(_) => Ok(()),
            Err(source) => {
                let hint = match self.url.scheme() {
                    "s3" | "s3a" => {
                        "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and, for an S3-compatible server, AWS_ENDPOINT_URL and AWS_ALLOW_HTTP"
                    }
                    "az" | "abfs" | "abfss" | "adl" | "azure" => {
                        "check AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY (or AZURE_STORAGE_USE_EMULATOR for Azurite)"
                    }
                    "gs" => "check GOOGLE_SERVICE_ACCOUNT or GOOGLE_APPLICATION_CREDENTIALS",
                    _ => "check that the folder can be read and written",
                };
                Err(Error::Unreachable {
                    url: self.url.to_string(),
                    hint,
                    source,
                })
            }
        }
    }

    /// The tables present in the lake (top-level folders not starting with `_` or `.`).
    pub async fn tables(&self) -> Result<Vec<String>> {
        let listing = self
            .store
            .list_with_delimiter(Some(&self.root))
            .await
            .map_err(store("listing", &self.root))?;
        let mut names: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_owned))
            .filter(|n| !n.starts_with('_') && !n.starts_with('.'))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The URL of a table's folder (ending in `/`): what other engines and readers are given.
    pub fn table_url(&self, table: &str) -> Result<Url> {
        let mut url = self.url.clone();
        url.path_segments_mut()
            .map_err(|()| Error::Location {
                location: self.url.to_string(),
                reason: "a lake URL without a path".into(),
            })?
            .pop_if_empty()
            .push(table)
            .push("");
        Ok(url)
    }

    /// The days a table holds, in order (of a Delta table: its latest snapshot's).
    pub async fn days(&self, table: &str) -> Result<Vec<NaiveDate>> {
        match self.table_format().await? {
            crate::TableFormat::Parquet => {
                self.partition_days(&self.table_path(table), partition_column(table))
                    .await
            }
            #[cfg(feature = "delta")]
            crate::TableFormat::Delta => crate::delta::days(self, table).await,
            #[cfg(not(feature = "delta"))]
            crate::TableFormat::Delta => Err(Error::NoDelta {
                url: self.url().to_string(),
            }),
        }
    }

    /// The `{column}=YYYY-MM-DD` folders directly under `prefix`, as days in order.
    pub(crate) async fn partition_days(
        &self,
        prefix: &Path,
        column: &str,
    ) -> Result<Vec<NaiveDate>> {
        let listing = self
            .store
            .list_with_delimiter(Some(prefix))
            .await
            .map_err(store("listing", prefix))?;
        let mut days: Vec<NaiveDate> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| {
                p.filename()?
                    .strip_prefix(column)?
                    .strip_prefix('=')
                    .map(str::to_owned)
            })
            .filter_map(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
            .collect();
        days.sort();
        Ok(days)
    }

    /// An object's bytes, or `None` when there is no such object.
    pub(crate) async fn get_optional(&self, path: &Path) -> Result<Option<bytes::Bytes>> {
        match self.store.get(path).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(store("reading", path))?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(store("reading", path)(source)),
        }
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
            .map_err(store("listing", &prefix))?;
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(objects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Fabric lakehouse's `Tables` folder in OneLake opens as an Azure store on the Fabric
    /// endpoint (`object_store` reads the workspace as the container and `onelake` as the account),
    /// with the lakehouse path as the lake's root and each table a folder under it.
    #[test]
    fn a_onelake_url_opens_on_the_fabric_endpoint() {
        let lake = Lake::open(
            "abfss://Finance@onelake.dfs.fabric.microsoft.com/Telephony.Lakehouse/Tables",
        )
        .unwrap();
        let store = format!("{:?}", lake.store());
        // OneLake's Blob API, which `object_store` speaks to it.
        assert!(
            store.contains(r#"host: Some(Domain("onelake.blob.fabric.microsoft.com"))"#),
            "{store}"
        );
        assert!(
            store.contains(r#"account: "onelake", container: "Finance""#),
            "{store}"
        );
        assert_eq!(
            lake.table_path("pstn_calls").as_ref(),
            "Telephony.Lakehouse/Tables/pstn_calls"
        );
        assert_eq!(
            lake.table_url("pstn_calls").unwrap().as_str(),
            "abfss://Finance@onelake.dfs.fabric.microsoft.com/Telephony.Lakehouse/Tables/pstn_calls/"
        );
    }

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

    #[test]
    fn store_options_are_the_variables_of_a_prefix_lowercased() {
        let vars = [
            ("AWS_REGION", "eu-west-1"),
            ("aws_endpoint", "http://x"),
            ("AZURE_CLIENT_SECRET", "not for storage"),
            ("PATH", "/bin"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let pairs = |options: Vec<(String, String)>| {
            options
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            pairs(store_options(vars.clone().into_iter(), &["aws_"])),
            ["aws_region=eu-west-1", "aws_endpoint=http://x"]
        );
        assert_eq!(
            pairs(store_options(vars.into_iter(), &["azure_storage_"])),
            Vec::<String>::new()
        );
    }

    #[tokio::test]
    async fn a_store_answering_with_server_errors_is_tried_four_times_then_refused() {
        // An S3 endpoint on loopback that answers every request with 503: a lake opened on it
        // retries three times (object_store's default would be ten, over minutes), then says
        // what to check.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&requests);
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                let counted = Arc::clone(&counted);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    // Each request is answered and its connection closed.
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let _ = conn
                        .write_all(
                            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\
                              Connection: close\r\n\r\n",
                        )
                        .await;
                });
            }
        });
        let vars = [
            ("AWS_ENDPOINT", format!("http://127.0.0.1:{port}")),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "k".into()),
            ("AWS_SECRET_ACCESS_KEY", "s".into()),
        ]
        .map(|(k, v)| (k.to_owned(), v));
        let url = Url::parse("s3://lake/x").unwrap();
        let (store, root) = build_store(&url, vars.into_iter()).unwrap();
        let lake = Lake::with_store(store, root, url);
        let err = lake.check().await.unwrap_err();
        assert!(
            matches!(&err, Error::Unreachable { hint, .. } if hint.contains("AWS_ACCESS_KEY_ID")),
            "{err}"
        );
        assert_eq!(
            requests.load(std::sync::atomic::Ordering::SeqCst),
            4,
            "one request and three retries"
        );
        server.abort();
    }

    #[tokio::test]
    async fn an_unreachable_store_is_refused_with_what_to_check_for_its_kind() {
        // An S3 endpoint nothing listens on, not retried: listing fails at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store: Arc<dyn ObjectStore> = Arc::new(
            AmazonS3Builder::new()
                .with_bucket_name("lake")
                .with_region("us-east-1")
                .with_access_key_id("k")
                .with_secret_access_key("s")
                .with_endpoint(format!("http://127.0.0.1:{port}"))
                .with_allow_http(true)
                .with_retry(RetryConfig {
                    max_retries: 0,
                    ..RetryConfig::default()
                })
                .build()
                .unwrap(),
        );
        // What to check goes by the kind of store the lake's URL names.
        for (url, what) in [
            ("s3://lake/x", "AWS_ACCESS_KEY_ID"),
            ("s3a://lake/x", "AWS_ACCESS_KEY_ID"),
            ("az://lake/x", "AZURE_STORAGE_ACCOUNT_NAME"),
            ("gs://lake/x", "GOOGLE_APPLICATION_CREDENTIALS"),
            ("file:///lake/x", "the folder can be read and written"),
        ] {
            let lake = Lake::with_store(
                Arc::clone(&store),
                Path::from("x"),
                Url::parse(url).unwrap(),
            );
            assert_eq!(lake.is_local(), url.starts_with("file:"), "{url}");
            let err = lake.check().await.unwrap_err();
            assert!(
                matches!(&err, Error::Unreachable { hint, .. } if hint.contains(what)),
                "{url}: {err}"
            );
        }
    }

    #[tokio::test]
    async fn tables_and_days_are_the_folders_the_lake_holds() {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "pstn_calls/call_date=2026-11-02/data.parquet",
            "pstn_calls/call_date=2026-11-01/data.parquet",
            "pstn_calls/call_date=someday/data.parquet",
            "pstn_calls/other/data.parquet",
            "_pstn_lake/sync-state.json",
            ".trash/x",
        ] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        assert_eq!(lake.tables().await.unwrap(), ["pstn_calls"]);
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        assert_eq!(lake.days("pstn_calls").await.unwrap(), [day(1), day(2)]);
    }
}
