//! What every writing run does around its work: the lake lock, and no empty lake left behind.

use std::future::Future;
use std::path::Path;

use pstn_lake_sink::{Lake, LakeLock, PRIVACY_RECORD, STATE_DIR, TableFormat};

use crate::{Error, Result};

/// Runs `work` holding the lake's write lock for `command`, then releases it. The work's error
/// wins over a failed release. Under the lock and before the work, the lake's table format is
/// settled: a new lake records `format` (Parquet when `None`), and a `format` other than an
/// existing lake's is refused (see [`Lake::settle_format`]).
pub(crate) async fn locked<T>(
    lake: &Lake,
    command: &str,
    format: Option<TableFormat>,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let lock = LakeLock::acquire(lake, command).await?;
    let outcome = match lake.settle_format(format).await {
        Ok(_) => work.await,
        Err(e) => Err(e.into()),
    };
    let released = lock.release().await;
    let value = outcome?;
    released.map_err(|e| Error::ReleaseLock(Box::new(e)))?;
    Ok(value)
}

/// Runs the writing part of a sync, ingest or rebuild: when it fails, a local lake folder that it
/// created and left holding nothing (only empty folders, and the privacy record the run made
/// before it failed) is removed again, so a failed first run leaves no lake behind for reading
/// commands to accept.
pub(crate) async fn leave_no_empty_lake<T>(
    lake: &Lake,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let created = lake.url().to_file_path().ok().filter(|path| !path.exists());
    let outcome = work.await;
    if outcome.is_err()
        && let Some(path) = created
    {
        let record = path.join(STATE_DIR).join(PRIVACY_RECORD);
        if files_but(&path, &record) == 0 {
            let _ = std::fs::remove_file(&record);
        }
        remove_empty_folders(&path);
    }
    outcome
}

/// How many files `dir` holds below it, other than `except` (unreadable entries count).
fn files_but(dir: &Path, except: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 1;
    };
    entries
        .map(|entry| match entry {
            Ok(entry) if entry.file_type().is_ok_and(|t| t.is_dir()) => {
                files_but(&entry.path(), except)
            }
            Ok(entry) => usize::from(entry.path() != except),
            Err(_) => 1,
        })
        .sum()
}

/// Removes `dir` and the folders below it when they hold no file (keeps any folder with a file).
fn remove_empty_folders(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut empty = true;
    for entry in entries {
        let Ok(entry) = entry else {
            empty = false;
            continue;
        };
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        empty &= is_dir && remove_empty_folders(&path);
    }
    empty && std::fs::remove_dir(dir).is_ok()
}
