use std::sync::Mutex;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use object_store::memory::InMemory;
use object_store::{ObjectStore, PutMode, PutOptions};

use super::*;
use crate::test_util::{HookedStore, PutHook, batch, spec};
use crate::{Landing, TableFormat};

/// A Delta lake over `store` (the in-memory store, or one wrapping it).
async fn delta_lake(store: Arc<dyn ObjectStore>) -> Lake {
    let lake = Lake::with_store(
        store,
        Path::from("lake"),
        Url::parse("memory:///lake").unwrap(),
    );
    lake.settle_format(Some(TableFormat::Delta)).await.unwrap();
    lake
}

async fn land(lake: &Lake, rows: &[(&str, i64, i64)]) -> Vec<DayCommit> {
    let mut landing = Landing::new(lake.clone(), spec());
    landing.push(&batch(rows)).unwrap();
    landing.commit().await.unwrap().days
}

/// The table's rows in its latest snapshot, as (id, amount), sorted by id.
async fn rows(lake: &Lake) -> Vec<(String, i64)> {
    let table = open_table(lake, "calls").await.unwrap().unwrap();
    let files: Vec<_> = table
        .get_active_add_actions_by_partitions(&[])
        .try_collect()
        .await
        .unwrap();
    let mut out = Vec::new();
    for file in files {
        let bytes = read_table_file(lake, &spec(), &file.path()).await.unwrap();
        for b in decode_parquet(&spec(), bytes, "test").unwrap() {
            let ids = b.column(0).as_string::<i32>();
            let amounts = b.column(2).as_primitive::<Int64Type>();
            for i in 0..b.num_rows() {
                out.push((ids.value(i).to_owned(), amounts.value(i)));
            }
        }
    }
    out.sort();
    out
}

/// The log file of the first commit after the table's creation, in a [`delta_lake`]'s store.
const FIRST_COMMIT: &str = "lake/calls/_delta_log/00000000000000000001.json";

fn pairs(rows: &[(&str, i64)]) -> Vec<(String, i64)> {
    rows.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test]
async fn landing_twice_is_idempotent_and_new_rows_win_by_key() {
    let lake = delta_lake(Arc::new(InMemory::new())).await;
    let first = land(&lake, &[("a", 1, 1), ("b", 2, 2)]).await;
    assert_eq!((first[0].rows_before, first[0].rows_after), (0, 2));
    let again = land(&lake, &[("a", 1, 1), ("b", 2, 2)]).await;
    assert_eq!((again[0].rows_before, again[0].rows_after), (2, 2));
    land(&lake, &[("b", 2, 20), ("c", 3, 3)]).await;
    assert_eq!(rows(&lake).await, pairs(&[("a", 1), ("b", 20), ("c", 3)]));
    // One file a day in the snapshot; the replaced ones are removed from it (not deleted: an
    // earlier version still reads them).
    let table = open_table(&lake, "calls").await.unwrap().unwrap();
    assert_eq!(table.version(), Some(3), "created, then three commits");
    assert_eq!(table.get_file_uris().unwrap().count(), 1);
    assert_eq!(
        days(&lake, "calls").await.unwrap(),
        [crate::test_util::day()]
    );
    // Version 1 still holds the first landing.
    let first = delta_table(&lake, "calls", Some(AsOf::Version(1)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.get_file_uris().unwrap().count(), 1);
    let err = delta_table(&lake, "calls", Some(AsOf::Version(9)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AsOf { .. }), "{err}");
}

#[tokio::test]
async fn the_table_has_the_spec_s_columns_and_a_date_partition() {
    let lake = delta_lake(Arc::new(InMemory::new())).await;
    land(&lake, &[("a", 1, 1)]).await;
    let table = open_table(&lake, "calls").await.unwrap().unwrap();
    let snapshot = table.snapshot().unwrap();
    assert_eq!(
        snapshot.metadata().partition_columns(),
        &[crate::PARTITION_COLUMN]
    );
    let schema: Vec<String> = snapshot
        .schema()
        .fields()
        .map(|f| format!("{} {:?}", f.name(), f.data_type()))
        .collect();
    assert_eq!(
        schema,
        [
            "id Primitive(String)",
            "start Primitive(Timestamp)",
            "amount Primitive(Long)",
            "call_date Primitive(Date)"
        ]
    );
}

/// Rows `(id, second-of-day, amount)` another writer lands.
type Rows = Vec<(&'static str, i64, i64)>;

/// Lets another writer commit to the table just before this writer's next commit (the put of a
/// `_delta_log/N.json`): the race Delta's conflict check must catch.
#[derive(Debug, Default)]
struct Race {
    race: Mutex<Option<Rows>>,
}

#[async_trait::async_trait]
impl PutHook for Race {
    async fn before_put(
        &self,
        inner: &InMemory,
        location: &Path,
        opts: &PutOptions,
    ) -> object_store::Result<()> {
        let commit = location.as_ref().contains("/_delta_log/")
            && location.extension() == Some("json")
            && matches!(opts.mode, PutMode::Create);
        let race = if commit {
            self.race.lock().unwrap().take()
        } else {
            None
        };
        if let Some(theirs) = race {
            let other = Lake::with_store(
                Arc::new(inner.clone()),
                Path::from("lake"),
                Url::parse("memory:///lake").unwrap(),
            );
            land(&other, &theirs).await;
        }
        Ok(())
    }
}

/// A Delta lake over `inner` whose next commit another writer can race (see [`Race`]).
async fn raced_lake(inner: &InMemory) -> (Arc<HookedStore<Race>>, Lake) {
    let store = Arc::new(HookedStore {
        inner: inner.clone(),
        hook: Race::default(),
    });
    let lake = delta_lake(Arc::clone(&store) as Arc<dyn ObjectStore>).await;
    (store, lake)
}

#[tokio::test]
async fn a_commit_that_loses_to_another_writer_is_merged_again_never_overwriting_its_rows() {
    let inner = InMemory::new();
    let (store, lake) = raced_lake(&inner).await;
    land(&lake, &[("a", 1, 1), ("b", 2, 2)]).await;
    // Between this writer's read of the day and its commit, another writer changes `b` and adds
    // `c` to the same day.
    *store.race.lock().unwrap() = Some(vec![("b", 2, 20), ("c", 3, 3)]);
    let ours = land(&lake, &[("a", 1, 10), ("d", 4, 4)]).await;
    assert!(store.race.lock().unwrap().is_none(), "the race happened");
    assert_eq!(
        rows(&lake).await,
        pairs(&[("a", 10), ("b", 20), ("c", 3), ("d", 4)])
    );
    assert_eq!(ours[0].rows_before, 3, "merged with the other writer's day");
    let table = open_table(&lake, "calls").await.unwrap().unwrap();
    assert_eq!(
        table.version(),
        Some(3),
        "created, ours, theirs, ours again"
    );
    // The losing attempt's data file was deleted: every data file in the store is one a
    // version of the table added.
    let all: Vec<String> = inner
        .list(Some(&Path::from("lake/calls")))
        .map_ok(|m| m.location.to_string())
        .try_filter(|p| futures::future::ready(p.ends_with(".parquet")))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
}

/// Two writers creating the table at once (a sync's days committed in parallel on a new lake):
/// the one that loses the creation uses the winner's table instead of failing its days.
#[tokio::test]
async fn a_table_another_writer_created_first_is_used_and_merged_into() {
    let inner = InMemory::new();
    let (store, lake) = raced_lake(&inner).await;
    // Between this writer's look for the table and its creating commit (the first commit put),
    // another writer creates the table and lands `b`.
    *store.race.lock().unwrap() = Some(vec![("b", 2, 2)]);
    let ours = land(&lake, &[("a", 1, 1)]).await;
    assert!(store.race.lock().unwrap().is_none(), "the race happened");
    assert_eq!(rows(&lake).await, pairs(&[("a", 1), ("b", 2)]));
    assert_eq!(ours[0].rows_before, 1, "merged with the other writer's day");
    let table = open_table(&lake, "calls").await.unwrap().unwrap();
    // Theirs created, theirs, ours: one CREATE TABLE, never a second one over the winner's.
    assert_eq!(table.version(), Some(2));
}

#[tokio::test]
async fn days_of_one_landing_are_one_transaction() {
    let lake = delta_lake(Arc::new(InMemory::new())).await;
    let mut landing = Landing::new(lake.clone(), spec());
    landing.push(&batch(&[("a", 1, 1)])).unwrap();
    // The next day: 86,400 s later.
    landing.push(&batch(&[("b", 86_400 + 5, 2)])).unwrap();
    let summary = landing.commit().await.unwrap();
    assert_eq!(summary.days.len(), 2);
    let table = open_table(&lake, "calls").await.unwrap().unwrap();
    assert_eq!(table.version(), Some(1), "one commit for both days");
    assert_eq!(days(&lake, "calls").await.unwrap().len(), 2);
}

#[tokio::test]
async fn the_history_lists_each_commit_with_its_days_and_rows() {
    let lake = delta_lake(Arc::new(InMemory::new())).await;
    land(&lake, &[("a", 1, 1), ("b", 2, 2)]).await;
    land(&lake, &[("c", 3, 3)]).await;
    let commits = history(&lake, "calls", None).await.unwrap();
    let listed: Vec<(u64, &str, Option<&str>, Option<u64>)> = commits
        .iter()
        .map(|c| {
            (
                c.version,
                c.operation.as_str(),
                c.predicate.as_deref(),
                c.rows,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (2, "WRITE", Some("call_date IN ('1970-01-02')"), Some(3)),
            (1, "WRITE", Some("call_date IN ('1970-01-02')"), Some(2)),
            (0, "CREATE TABLE", None, None),
        ]
    );
    assert!(commits.iter().all(|c| c.time.is_some()));
    assert!(history(&lake, "nothing", None).await.unwrap().is_empty());
}

/// delta-rs knows only `file` and `memory` URLs without its per-cloud crates; every object
/// store's scheme the lake opens gets a log store over the lake's own store (see
/// `register_log_stores`), so a table on S3, Azure or GCS commits through the store the lake
/// built, with its credentials and retry settings.
#[tokio::test]
async fn a_table_on_each_object_store_s_url_commits_through_the_lake_s_own_store() {
    for url in [
        "s3://bucket/lake",
        "s3a://bucket/lake",
        "az://container/lake",
        "azure://container/lake",
        "abfs://container@account.dfs.core.windows.net/lake",
        "abfss://Finance@onelake.dfs.fabric.microsoft.com/lake",
        "adl://container/lake",
        "gs://bucket/lake",
    ] {
        let store = Arc::new(InMemory::new());
        let lake = Lake::with_store(store.clone(), Path::from("lake"), Url::parse(url).unwrap());
        lake.settle_format(Some(TableFormat::Delta)).await.unwrap();
        land(&lake, &[("a", 1, 1), ("b", 2, 2)]).await;
        assert_eq!(rows(&lake).await, pairs(&[("a", 1), ("b", 2)]), "{url}");
        let commit = Path::from(FIRST_COMMIT);
        assert!(store.head(&commit).await.is_ok(), "{url}: no {commit}");
    }
}

/// On a local lake each commit's files are put on disk before the commit is reported (the
/// fsyncs themselves are checked with strace by `tests/it`); a commit whose log file is not
/// there is an error, not a commit silently taken as durable, while the checkpoint files that
/// only every hundredth version has may be absent.
#[tokio::test]
async fn a_local_commit_is_made_durable_and_a_missing_one_is_an_error() {
    let (_dir, lake) = crate::test_util::temp_lake();
    lake.settle_format(Some(TableFormat::Delta)).await.unwrap();
    land(&lake, &[("a", 1, 1)]).await;
    make_durable(&lake, "calls", 1).await.unwrap();
    let err = make_durable(&lake, "calls", 2).await.unwrap_err();
    let Error::Store { action, source, .. } = &err else {
        panic!("not a store error: {err:?}");
    };
    assert_eq!(*action, "writing");
    assert!(
        source.to_string().contains("making commit 2 durable"),
        "{source}"
    );
}

/// The `add` action of a commit is what other engines plan with: a new file whose rows change
/// the table (`dataChange`, which change feeds and streaming readers follow), its row count
/// (`stats`, for skipping and `COUNT(*)` without reading it) and when it was written. A new day
/// whose rows came in order goes in as it was encoded; a day the table held is merged.
#[tokio::test]
async fn a_commit_adds_each_day_s_file_with_its_rows_and_time() {
    let store = Arc::new(InMemory::new());
    let lake = delta_lake(store.clone()).await;
    let before = chrono::Utc::now().timestamp_millis();
    let first = land(&lake, &[("a", 1, 1), ("b", 2, 2)]).await;
    assert!(!first[0].merged, "a new day in order is not merged");
    let log = store
        .get(&Path::from(FIRST_COMMIT))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let adds: Vec<serde_json::Value> = log
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice::<serde_json::Value>(l).unwrap())
        .filter_map(|action| action.get("add").cloned())
        .collect();
    assert_eq!(adds.len(), 1, "{adds:?}");
    let add = &adds[0];
    assert_eq!(add["dataChange"], true, "{add}");
    let stats: serde_json::Value =
        serde_json::from_str(add["stats"].as_str().expect("stats")).unwrap();
    assert_eq!(stats["numRecords"], 2, "{add}");
    let time = add["modificationTime"].as_i64().expect("modificationTime");
    assert!(
        (before..=chrono::Utc::now().timestamp_millis()).contains(&time),
        "{add}"
    );
    let again = land(&lake, &[("c", 3, 3)]).await;
    assert!(again[0].merged, "a day the table held is merged");
}
