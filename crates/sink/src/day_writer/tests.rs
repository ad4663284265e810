use std::sync::Arc;

use arrow::array::AsArray;
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::PageIndexPolicy;

use super::*;
use crate::test_util::{batch, contents, day, spec, temp_lake};

/// A writer that writes a part every `part_rows` rows.
fn writer(lake: &Lake, part_rows: usize) -> DayWriter {
    let spool = Arc::new(Spool::create(lake).unwrap());
    DayWriter::in_spool(spool, &spec(), day(), EncodeSlots::new(1), part_rows)
}

async fn write(lake: &Lake, batches: Vec<RecordBatch>) -> DayCommit {
    let mut writer = DayWriter::new(lake, &spec(), day(), &EncodeSlots::new(1)).unwrap();
    for b in batches {
        writer.push(b).unwrap();
    }
    writer.commit(lake).await.unwrap()
}

fn pairs(v: &[(&str, i64)]) -> Vec<(String, i64)> {
    v.iter().map(|(k, a)| ((*k).to_owned(), *a)).collect()
}

/// `n` rows in order, ids `id-00000000`…, in batches of 1,000.
fn in_order(n: i64) -> (Vec<String>, Vec<RecordBatch>) {
    let ids: Vec<String> = (0..n).map(|i| format!("id-{i:08}")).collect();
    let batches = (0..n)
        .step_by(1000)
        .map(|start| {
            let part: Vec<(&str, i64, i64)> = (start..(start + 1000).min(n))
                .map(|i| (ids[i as usize].as_str(), i / 10, i))
                .collect();
            batch(&part)
        })
        .collect();
    (ids, batches)
}

/// The day's file as the lake holds it.
async fn day_file(lake: &Lake) -> bytes::Bytes {
    let path = lake.day_file(&spec().name, day());
    lake.store()
        .get(&path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
}

#[tokio::test]
async fn rows_in_order_in_several_parts_become_one_row_group() {
    for local in [true, false] {
        let (_dir, local_lake) = temp_lake();
        let lake = if local {
            local_lake
        } else {
            let store = Arc::new(object_store::memory::InMemory::new());
            Lake::with_store(store, "lake".into(), "memory:///lake".parse().unwrap())
        };
        // 10,500 rows, a part every 3,000: four parts, one row group.
        let (_, batches) = in_order(10_500);
        let mut w = writer(&lake, 3000);
        for b in batches {
            w.push(b).unwrap();
        }
        assert_eq!(w.parts.len(), 3, "parts are written as the rows come");
        let commit = w.commit(&lake).await.unwrap();
        assert_eq!(
            (
                commit.rows_before,
                commit.rows_in,
                commit.rows_after,
                commit.merged
            ),
            (0, 10_500, 10_500, false),
            "local: {local}"
        );
        let file = day_file(&lake).await;
        assert_eq!(file.len() as u64, commit.bytes);
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let reader =
            ParquetRecordBatchReaderBuilder::try_new_with_options(file.clone(), options).unwrap();
        let meta = reader.metadata().clone();
        let groups: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, [10_500]);
        // The lake's writer settings: statistics, sort order, page indexes.
        let start = meta.row_groups()[0].column(1);
        assert!(
            start
                .statistics()
                .is_some_and(|s| s.min_bytes_opt().is_some())
        );
        assert!(meta.row_groups()[0].sorting_columns().is_some());
        assert!(meta.offset_index().is_some_and(|o| o.len() == 1));
        assert!(meta.column_index().is_some_and(|c| c.len() == 1));
        let rows: Vec<i64> = reader
            .build()
            .unwrap()
            .flat_map(|b| {
                let b = b.unwrap();
                let a = b.column(2).as_primitive::<arrow::datatypes::Int64Type>();
                a.values().to_vec()
            })
            .collect();
        assert_eq!(rows, (0..10_500).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn rows_in_order_in_one_part_are_the_day_file_as_encoded() {
    let (_dir, lake) = temp_lake();
    let (_, batches) = in_order(2_500);
    let commit = write(&lake, batches).await;
    assert_eq!((commit.rows_after, commit.merged), (2_500, false));
    let file = day_file(&lake).await;
    let meta = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .metadata()
        .clone();
    assert_eq!(meta.num_row_groups(), 1);
    let got = contents(&lake).await;
    assert!(got.iter().enumerate().all(|(i, (_, a))| *a == i as i64));
}

/// Several days fetched at once, as a sync does: pushes interleave, the commits run together
/// (their parts are encoded one at a time), and each day holds exactly its own rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn days_written_at_once_each_land_their_own_rows() {
    let (_dir, lake) = temp_lake();
    let days: Vec<NaiveDate> = (0..4).map(|k| day() + chrono::Days::new(k)).collect();
    let slots = EncodeSlots::new(1);
    let spool = Arc::new(Spool::create(&lake).unwrap());
    let mut writers: Vec<DayWriter> = days
        .iter()
        .map(|&d| DayWriter::in_spool(Arc::clone(&spool), &spec(), d, slots.clone(), 1200))
        .collect();
    let ids: Vec<Vec<String>> = (0..4)
        .map(|k| (0..3000).map(|i| format!("d{k}-{i:05}")).collect())
        .collect();
    for start in (0..3000).step_by(500) {
        for (k, writer) in writers.iter_mut().enumerate() {
            let rows: Vec<(&str, i64, i64)> = (start..start + 500)
                .map(|i| (ids[k][i].as_str(), k as i64 * 86_400 + i as i64, i as i64))
                .collect();
            writer.push(batch(&rows)).unwrap();
        }
    }
    let commits = futures::future::join_all(writers.into_iter().map(|w| w.commit(&lake))).await;
    for (k, commit) in commits.into_iter().enumerate() {
        let commit = commit.unwrap();
        assert_eq!(
            (commit.day, commit.rows_in, commit.rows_after, commit.merged),
            (days[k], 3000, 3000, false)
        );
        let got: Vec<(String, i64)> = crate::read_day(&lake, &spec(), days[k])
            .await
            .unwrap()
            .iter()
            .flat_map(|b| {
                let ids = b.column(0).as_string::<i32>().clone();
                let amounts = b
                    .column(2)
                    .as_primitive::<arrow::datatypes::Int64Type>()
                    .clone();
                (0..b.num_rows()).map(move |i| (ids.value(i).to_owned(), amounts.value(i)))
            })
            .collect();
        let want: Vec<(String, i64)> = (0..3000).map(|i| (ids[k][i].clone(), i as i64)).collect();
        assert_eq!(got, want, "day {}", days[k]);
    }
}

#[tokio::test]
async fn rows_out_of_order_or_repeated_are_merged() {
    for part_rows in [1, usize::MAX] {
        let (_dir, lake) = temp_lake();
        // b comes before a in time; c repeats with a later value, which wins.
        let mut w = writer(&lake, part_rows);
        for b in [
            batch(&[("a", 20, 1), ("c", 30, 2)]),
            batch(&[("b", 10, 3)]),
            batch(&[("c", 30, 4)]),
        ] {
            w.push(b).unwrap();
        }
        let commit = w.commit(&lake).await.unwrap();
        // In one part the rows are merged within it and the part is put in place as it is;
        // in several parts out of order, the parts are read back and merged.
        assert_eq!(
            (commit.rows_in, commit.rows_after, commit.merged),
            (4, 3, part_rows == 1)
        );
        assert_eq!(
            contents(&lake).await,
            pairs(&[("b", 3), ("a", 1), ("c", 4)])
        );
    }
}

#[tokio::test]
async fn a_day_the_lake_holds_is_merged_with_it() {
    let (_dir, lake) = temp_lake();
    write(&lake, vec![batch(&[("a", 10, 1), ("b", 20, 2)])]).await;
    // In order by itself, but the lake holds the day: b is replaced, a is kept, c is added.
    let commit = write(&lake, vec![batch(&[("b", 20, 5), ("c", 30, 6)])]).await;
    assert_eq!(
        (
            commit.rows_before,
            commit.rows_in,
            commit.rows_after,
            commit.merged
        ),
        (2, 2, 3, true)
    );
    assert_eq!(
        contents(&lake).await,
        pairs(&[("a", 1), ("b", 5), ("c", 6)])
    );
    // A day with no rows leaves the lake as it is.
    let empty = DayWriter::new(&lake, &spec(), day(), &EncodeSlots::new(1)).unwrap();
    assert_eq!(empty.commit(&lake).await.unwrap().rows_after, 0);
    assert_eq!(contents(&lake).await.len(), 3);
}

#[test]
fn encode_slots_hold_back_the_encoders_past_their_number() {
    let slots = EncodeSlots::new(1);
    let taken = slots.acquire();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = {
        let slots = slots.clone();
        std::thread::spawn(move || {
            let _slot = slots.acquire();
            tx.send(()).unwrap();
        })
    };
    // The second taker waits while the only slot is held, and gets it once it is given back.
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(200))
            .is_err()
    );
    drop(taken);
    rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
    waiter.join().unwrap();
}

/// A spool folder in the temporary folder whose process died (its owner lock free) is removed by
/// the next run; a live one (locked), one being created (no owner file yet) and other folders
/// are left alone.
#[test]
fn spools_killed_runs_left_in_the_temporary_folder_are_removed_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let abandoned = tmp.path().join(format!("{TMP_SPOOL_PREFIX}dead"));
    std::fs::create_dir_all(&abandoned).unwrap();
    File::create(abandoned.join(OWNER_FILE)).unwrap();
    std::fs::write(abandoned.join("pstn_calls-2026-11-01-0.parquet"), "part").unwrap();
    let creating = tmp.path().join(format!("{TMP_SPOOL_PREFIX}new"));
    std::fs::create_dir_all(&creating).unwrap();
    let other = tmp.path().join("someone-else");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join(OWNER_FILE), "").unwrap();

    remove_abandoned_spools(tmp.path());
    let live = Spool::in_temp(tmp.path()).unwrap();
    assert!(!abandoned.exists(), "the abandoned spool is removed");
    assert!(creating.exists() && other.exists());
    // The live spool is locked: the next run leaves it, and removes it only once it is gone.
    remove_abandoned_spools(tmp.path());
    let next = Spool::in_temp(tmp.path()).unwrap();
    assert!(live.path().exists());
    let live_path = live.path().to_owned();
    drop(live);
    assert!(
        !live_path.exists(),
        "a spool is removed when its writer ends"
    );
    drop(next);
    let left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(
        left,
        [format!("{TMP_SPOOL_PREFIX}new"), "someone-else".to_owned()]
    );
}
