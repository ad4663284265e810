//! Durable writes to a lake on the local file system.
//!
//! A file is put in place in the order that survives a power cut at any instant:
//!
//! 1. its bytes are written to a temporary file in the lake's spool (same file system) and the
//!    file is fsynced;
//! 2. every folder on the way to the target that did not exist is created, and the folder that
//!    received each new entry is fsynced;
//! 3. the file is renamed over the target in one step (readers see the old file or the new one);
//! 4. the target's folder is fsynced, so the rename itself is on disk.
//!
//! Only then does the caller record anything (a day as done in the sync state, say). No other
//! writer can interleave: every pstn-lake writer of a local lake holds the lake's OS file lock
//! for its whole run (see [`crate::LakeLock`]).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The name prefix of a file on its way into place in the spool.
pub(crate) const PUT_PREFIX: &str = "put-";

/// Fsyncs a folder, so the entries created, removed or renamed in it are on disk.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and its missing parents, fsyncing each folder that received a new entry.
pub(crate) fn create_dir_durably(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = dir.parent().ok_or_else(|| {
        std::io::Error::other(format!("`{}` has no parent folder", dir.display()))
    })?;
    create_dir_durably(parent)?;
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    }
    sync_dir(parent)
}

/// Moves the file at `from` (on the lake's file system) over `to`: fsyncs the file, creates the
/// target's folders durably, renames, fsyncs the target's folder.
pub(crate) fn rename_durably(from: &Path, to: &Path) -> std::io::Result<()> {
    File::open(from)?.sync_all()?;
    let dir = parent(to)?;
    create_dir_durably(dir)?;
    std::fs::rename(from, to)?;
    sync_dir(dir)
}

/// Writes `bytes` as the file `to`, durably and in one step (see the module doc); the temporary
/// file goes in `spool` (a folder on the same file system), and is removed if anything fails.
pub(crate) fn write_durably(spool: &Path, to: &Path, bytes: &[u8]) -> std::io::Result<()> {
    create_dir_durably(spool)?;
    let mut temp = tempfile::Builder::new().prefix("put-").tempfile_in(spool)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    let dir = parent(to)?;
    create_dir_durably(dir)?;
    temp.persist(to).map_err(|e| e.error)?;
    sync_dir(dir)
}

fn parent(path: &Path) -> std::io::Result<&Path> {
    path.parent()
        .ok_or_else(|| std::io::Error::other(format!("`{}` has no folder", path.display())))
}

/// The local file of an object path of a lake rooted at the folder `root` whose store root is
/// `store_root` (the object path of `root`).
pub(crate) fn file_of(
    root: &Path,
    store_root: &object_store::path::Path,
    object: &object_store::path::Path,
) -> PathBuf {
    let mut file = root.to_path_buf();
    let rest: Vec<_> = object
        .prefix_match(store_root)
        .into_iter()
        .flatten()
        .collect();
    for part in rest {
        file.push(part.as_ref());
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_file_replaces_the_old_one_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("_pstn_lake/spool");
        let target = dir.path().join("t/call_date=2026-01-01/data.parquet");
        write_durably(&spool, &target, b"one").unwrap();
        write_durably(&spool, &target, b"two").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
        let moved = spool.join("x");
        std::fs::write(&moved, b"three").unwrap();
        rename_durably(&moved, &target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"three");
        assert!(!moved.exists());
    }

    #[test]
    fn a_folder_cannot_be_made_under_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t");
        std::fs::write(&file, b"x").unwrap();
        let err = create_dir_durably(&file.join("call_date=2026-01-01")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotADirectory, "{err}");
        create_dir_durably(&dir.path().join("u/call_date=2026-01-01")).unwrap();
        assert!(dir.path().join("u/call_date=2026-01-01").is_dir());
    }

    #[test]
    fn object_paths_map_to_files_under_the_root() {
        let root = Path::new("/data/lake");
        let store_root = object_store::path::Path::from("data/lake");
        let object =
            object_store::path::Path::from("data/lake/t/call_date=2026-01-01/data.parquet");
        assert_eq!(
            file_of(root, &store_root, &object),
            Path::new("/data/lake/t/call_date=2026-01-01/data.parquet")
        );
    }
}
