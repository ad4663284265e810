//! One writer at a time, as a courtesy: the lock says early who else is writing. It is not what
//! keeps the lake correct — every commit is (see `crate::day`): a day object is replaced only if
//! it is still the version the merge read, so a second writer, a paused writer or a wrong clock
//! can make a run stop or merge again, never lose rows.
//!
//! - **A local lake** (a folder): an OS file lock (`flock`) on `<lake>/_pstn_lake/lock`, held for
//!   the whole run and released by the kernel when the process ends, however it ends. The file
//!   says who holds it, for the message a second writer gets; the holder removes it as it lets
//!   go, and one a killed holder left behind is simply locked by the next writer.
//! - **An object store**: an object `<lake>/_pstn_lake/lock.json`, created only if absent. The
//!   holder refreshes it every [`REFRESH`], each time only if it is still the version it wrote; a
//!   lock whose object the store has not seen change for the time to live (the store's own
//!   timestamp, so the holder's clock does not matter), or whose holder ran in this very process
//!   namespace of this boot and is gone, is taken over, again only if unchanged. A holder that
//!   finds its lock taken over stops before its next commit ([`Error::LockLost`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use tokio::task::JoinHandle;

use crate::error::store;
use crate::{Error, Lake, Result};

/// Which lock: the writers' lock, or the lock a `pstn-lake run` holds for its whole run (its
/// sync then takes the writers' lock like any writer; a second `run` is refused at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Write,
    Run,
}

impl Kind {
    /// The lock object of a lake on an object store.
    fn object(self) -> &'static str {
        match self {
            Kind::Write => "lock.json",
            Kind::Run => "run-lock.json",
        }
    }

    /// The lock file of a local lake (an OS lock is taken on it).
    fn file(self) -> &'static str {
        match self {
            Kind::Write => "lock",
            Kind::Run => "run-lock",
        }
    }

    /// What the holder is doing, for a second process's message.
    fn doing(self) -> &'static str {
        match self {
            Kind::Write => "is writing to this lake",
            Kind::Run => "is running `pstn-lake run` on this lake",
        }
    }
}
/// A lock object not refreshed for this long is stale (`PSTN_LAKE_LOCK_TTL_SECS` overrides it,
/// for tests that pause a writer past it).
const TTL: Duration = Duration::from_secs(120);
/// How often a holder refreshes its lock object (a quarter of the time to live).
const REFRESH_PARTS: u32 = 4;

fn ttl() -> Duration {
    std::env::var("PSTN_LAKE_LOCK_TTL_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(TTL, Duration::from_secs)
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Holder {
    command: String,
    host: String,
    pid: u32,
    /// This boot of the host and the process's PID namespace: a PID is only meaningful within
    /// both (containers share hostnames but not PID namespaces).
    #[serde(default)]
    boot: String,
    #[serde(default)]
    pid_namespace: String,
    started: DateTime<Utc>,
}

impl Holder {
    fn me(command: &str) -> Holder {
        Holder {
            command: command.to_owned(),
            host: hostname(),
            pid: std::process::id(),
            boot: boot_id(),
            pid_namespace: pid_namespace(),
            started: Utc::now(),
        }
    }

    /// Whether the holder ran on this boot of this host, in this PID namespace, and is gone.
    fn is_dead_here(&self) -> bool {
        let here = Holder::me("");
        !self.boot.is_empty()
            && !self.pid_namespace.is_empty()
            && (
                self.host.as_str(),
                self.boot.as_str(),
                self.pid_namespace.as_str(),
            ) == (
                here.host.as_str(),
                here.boot.as_str(),
                here.pid_namespace.as_str(),
            )
            && self.pid != here.pid
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    fn describe(&self) -> String {
        format!(
            "{} on {}, pid {}, since {}",
            self.command,
            self.host,
            self.pid,
            self.started.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown-host".into())
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|b| b.trim().to_owned())
        .unwrap_or_default()
}

fn pid_namespace() -> String {
    std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// The lake's write lock, held until [`LakeLock::release`] or the end of the process.
#[derive(Debug)]
pub struct LakeLock {
    held: Held,
    kind: Kind,
}

#[derive(Debug)]
enum Held {
    /// The OS lock on the local lake's lock file (released when the file is closed).
    Local { file: std::fs::File, path: PathBuf },
    /// The lock object, the version this writer last wrote, the task refreshing it, and how
    /// to tell that task to stop between refreshes.
    Object {
        lake: Lake,
        version: Arc<Mutex<UpdateVersion>>,
        refresher: JoinHandle<()>,
        stop: Arc<tokio::sync::Notify>,
    },
}

impl LakeLock {
    /// Takes the lake's write lock for `command`, or fails saying who holds it. On a local lake
    /// this also removes what crashed writers left in the lake's spool (no other writer can be
    /// running).
    pub async fn acquire(lake: &Lake, command: &str) -> Result<LakeLock> {
        Self::take(lake, command, Kind::Write).await
    }

    /// Takes the lake's run lock, held by a `pstn-lake run` for its whole run (sync, reports,
    /// delivery, alerts, retention), or fails saying who holds it. It is not the writers' lock:
    /// the run's own sync and purge take that one as every writer does.
    pub async fn acquire_run(lake: &Lake) -> Result<LakeLock> {
        Self::take(lake, "run", Kind::Run).await
    }

    async fn take(lake: &Lake, command: &str, kind: Kind) -> Result<LakeLock> {
        let me = Holder::me(command);
        if let Some(folder) = lake.folder() {
            let (file, path) = lock_local(folder, &me, kind)?;
            if kind == Kind::Write {
                crate::landing::remove_spool(lake).await;
            }
            return Ok(LakeLock {
                held: Held::Local { file, path },
                kind,
            });
        }
        let path = lake.state_path(kind.object());
        let body = serde_json::to_vec_pretty(&me).expect("serialises");
        for _ in 0..3 {
            let create = PutOptions::from(PutMode::Create);
            let taken = match lake
                .store()
                .put_opts(&path, PutPayload::from(body.clone()), create)
                .await
            {
                Ok(put) => put,
                Err(object_store::Error::AlreadyExists { .. }) => {
                    let Some((holder, version)) = current(lake, kind).await? else {
                        continue; // released meanwhile
                    };
                    if !holder.stale {
                        return Err(locked(lake, &holder.holder, kind));
                    }
                    tracing::warn!(holder = %holder.holder.describe(), "taking over a stale lake lock");
                    let update = PutOptions::from(PutMode::Update(version));
                    match lake
                        .store()
                        .put_opts(&path, PutPayload::from(body.clone()), update)
                        .await
                    {
                        Ok(put) => put,
                        Err(object_store::Error::Precondition { .. }) => continue,
                        Err(source) => return Err(store("locking", &path)(source)),
                    }
                }
                Err(source @ object_store::Error::NotImplemented { .. }) => {
                    return Err(Error::NoConditionalWrites {
                        url: lake.url().to_string(),
                        source,
                    });
                }
                Err(source) => return Err(store("locking", &path)(source)),
            };
            return Ok(Self::hold(lake, me, UpdateVersion::from(taken), kind));
        }
        Err(Error::Locked(format!(
            "the lake lock `{path}` keeps changing hands: another pstn-lake is starting on this lake"
        )))
    }

    fn hold(lake: &Lake, me: Holder, version: UpdateVersion, kind: Kind) -> LakeLock {
        let version = Arc::new(Mutex::new(version));
        let (lake2, mine) = (lake.clone(), Arc::clone(&version));
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopped = Arc::clone(&stop);
        let refresher = tokio::spawn(async move {
            let body = serde_json::to_vec_pretty(&me).expect("serialises");
            loop {
                tokio::select! {
                    () = tokio::time::sleep(ttl() / REFRESH_PARTS) => {}
                    () = stopped.notified() => return,
                }
                // Never cut short: a refresh the store received is recorded in `mine`.
                if !refresh(&lake2, &body, &mine, kind).await {
                    return;
                }
            }
        });
        LakeLock {
            held: Held::Object {
                lake: lake.clone(),
                version,
                refresher,
                stop,
            },
            kind,
        }
    }

    /// Gives the lock up. A lock object is removed only while it is still the one this writer
    /// wrote (one taken over meanwhile belongs to its new holder).
    pub async fn release(mut self) -> Result<()> {
        let Held::Object {
            lake,
            version,
            refresher,
            stop,
        } = &mut self.held
        else {
            return Ok(()); // the lock file goes when the lock is dropped
        };
        // The refresher stops between refreshes: one in flight finishes and records the version
        // it wrote. (Aborted mid-request, its PUT could still reach the store after the version
        // below was read, and the lock would stay behind a finished run.)
        stop.notify_one();
        let _ = (&mut *refresher).await;
        let mine = version.lock().expect("not poisoned").clone();
        let path = lake.state_path(self.kind.object());
        if let Some((_, now)) = current(lake, self.kind).await?
            && now.e_tag == mine.e_tag
            && now.version == mine.version
        {
            lake.store()
                .delete(&path)
                .await
                .map_err(store("unlocking", &path))?;
        }
        Ok(())
    }
}

impl Drop for LakeLock {
    fn drop(&mut self) {
        match &self.held {
            // Removed while still locked (see `lock_local`); the OS lock goes with the file.
            Held::Local { file, path } => {
                let _ = std::fs::remove_file(path);
                let _ = file.unlock();
            }
            // Stop refreshing, so a lock object that was not released goes stale within its TTL.
            Held::Object { refresher, .. } => refresher.abort(),
        }
    }
}

/// Rewrites the lock object if it is still the version this writer last wrote. Answers whether
/// the lock is still held; when another writer took it over, the lake is fenced (no further
/// commits: see [`Lake::check_fence`]).
async fn refresh(lake: &Lake, body: &[u8], mine: &Mutex<UpdateVersion>, kind: Kind) -> bool {
    let path = lake.state_path(kind.object());
    let expected = mine.lock().expect("not poisoned").clone();
    let update = PutOptions::from(PutMode::Update(expected));
    match lake
        .store()
        .put_opts(&path, PutPayload::from(body.to_vec()), update)
        .await
    {
        Ok(put) => *mine.lock().expect("not poisoned") = UpdateVersion::from(put),
        Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => {
            let by = match current(lake, kind).await {
                Ok(Some((seen, _))) => seen.holder.describe(),
                _ => "its holder is unknown".into(),
            };
            tracing::error!(%by, lock = kind.object(), "the lake lock was taken over by another process");
            // Only the writers' lock fences commits; a run whose run lock was taken over
            // still commits through the writers' lock its sync holds.
            if kind == Kind::Write {
                lake.fence().lose(by);
            }
            return false;
        }
        // A passing failure: the lock is still ours, the next refresh tries again.
        Err(e) => tracing::warn!(error = %e, "refreshing the lake lock failed"),
    }
    true
}

/// The OS lock on `<folder>/_pstn_lake/lock`, with `me` written into the file for a second
/// writer's message. The holder removes the file when it is done (see [`Drop`]), still holding
/// the lock; so a writer that locked a file another holder has just removed (it opened the path
/// before the removal) finds the path no longer leads to its file and tries again.
fn lock_local(
    folder: &std::path::Path,
    me: &Holder,
    kind: Kind,
) -> Result<(std::fs::File, PathBuf)> {
    use std::io::{Read, Seek, Write};
    let dir = folder.join(crate::STATE_DIR);
    crate::local::create_dir_durably(&dir).map_err(crate::error::local("creating", &dir))?;
    let path = dir.join(kind.file());
    for _ in 0..8 {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(crate::error::local("opening the lock", &path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = serde_json::from_str::<Holder>(&text)
                    .map(|h| h.describe())
                    .unwrap_or_else(|_| "a process that is starting".into());
                return Err(Error::Locked(format!(
                    "another pstn-lake ({holder}) {}; wait for it to finish \
                     (its lock on `{}` ends with the process)",
                    kind.doing(),
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(crate::error::local("locking", &path)(e));
            }
        }
        if !same_file(&file, &path) {
            continue; // removed by the holder before us: lock the new one
        }
        let json = serde_json::to_vec_pretty(me).expect("serialises");
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(&json))
            .map_err(crate::error::local("writing the lock", &path))?;
        return Ok((file, path));
    }
    Err(Error::Locked(format!(
        "the lake lock `{}` keeps changing hands: another pstn-lake is starting on this lake",
        path.display()
    )))
}

/// Whether `path` still names the open `file`.
fn same_file(file: &std::fs::File, path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

struct Seen {
    holder: Holder,
    stale: bool,
}

/// The lock object now: its holder (and whether it is stale), and its version.
async fn current(lake: &Lake, kind: Kind) -> Result<Option<(Seen, UpdateVersion)>> {
    let path = lake.state_path(kind.object());
    let got = match lake.store().get(&path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(source) => return Err(store("reading", &path)(source)),
    };
    let meta = got.meta.clone();
    let bytes = got.bytes().await.map_err(store("reading", &path))?;
    let version = UpdateVersion {
        e_tag: meta.e_tag.clone(),
        version: meta.version.clone(),
    };
    // An unreadable lock (not written by pstn-lake) is judged by its age alone.
    let holder = serde_json::from_slice::<Holder>(&bytes).unwrap_or(Holder {
        command: "?".into(),
        host: "?".into(),
        pid: 0,
        boot: String::new(),
        pid_namespace: String::new(),
        started: meta.last_modified,
    });
    let age = Utc::now() - meta.last_modified;
    let expired = age > chrono::Duration::from_std(ttl()).expect("small");
    let stale = expired || holder.is_dead_here();
    Ok(Some((Seen { holder, stale }, version)))
}

fn locked(lake: &Lake, h: &Holder, kind: Kind) -> Error {
    Error::Locked(format!(
        "another pstn-lake ({}) {}; wait for it to finish. \
         If it died on another host, its lock `{}` goes stale {} s after its last refresh.",
        h.describe(),
        kind.doing(),
        lake.state_path(kind.object()),
        ttl().as_secs(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory_lake() -> Lake {
        Lake::with_store(
            Arc::new(object_store::memory::InMemory::new()),
            object_store::path::Path::from("lake"),
            url::Url::parse("memory:///lake").unwrap(),
        )
    }

    #[tokio::test]
    async fn a_second_writer_is_refused_until_the_first_releases() {
        let (_dir, local) = crate::test_util::temp_lake();
        for lake in [local, memory_lake()] {
            let first = LakeLock::acquire(&lake, "sync").await.unwrap();
            let err = LakeLock::acquire(&lake, "ingest").await.unwrap_err();
            assert!(
                err.to_string().contains("another pstn-lake (sync on"),
                "{err}"
            );
            // The holder is named with this machine's host name.
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
            assert!(
                err.to_string()
                    .contains(&format!("sync on {},", host.trim())),
                "{err}"
            );
            first.release().await.unwrap();
            LakeLock::acquire(&lake, "ingest")
                .await
                .unwrap()
                .release()
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn taking_a_local_lock_removes_dead_writers_files_but_not_live_landings() {
        let (dir, lake) = crate::test_util::temp_lake();
        let spool = dir.path().join("_pstn_lake/spool");
        std::fs::create_dir_all(spool.join("ingest-live")).unwrap();
        std::fs::write(spool.join("ingest-live/d.parquet"), b"x").unwrap();
        std::fs::write(spool.join("put-dead"), b"x").unwrap();
        // A landing's folder untouched for longer than any landing runs (six hours): its writer
        // is gone. One untouched for two hours may still be in use.
        for (folder, hours) in [("ingest-old", 7), ("ingest-slow", 2)] {
            std::fs::create_dir_all(spool.join(folder)).unwrap();
            std::fs::File::open(spool.join(folder))
                .unwrap()
                .set_modified(std::time::SystemTime::now() - Duration::from_secs(hours * 3600))
                .unwrap();
        }
        let _lock = LakeLock::acquire(&lake, "ingest").await.unwrap();
        assert!(!spool.join("put-dead").exists());
        assert!(spool.join("ingest-live/d.parquet").exists());
        assert!(!spool.join("ingest-old").exists(), "older than six hours");
        assert!(spool.join("ingest-slow").exists(), "two hours old");
    }

    #[tokio::test]
    async fn a_local_lock_ends_with_its_holder() {
        let (dir, lake) = crate::test_util::temp_lake();
        let first = LakeLock::acquire(&lake, "sync").await.unwrap();
        assert!(LakeLock::acquire(&lake, "sync").await.is_err());
        drop(first);
        assert!(
            !dir.path().join("_pstn_lake/lock").exists(),
            "the lock file goes with it"
        );
        LakeLock::acquire(&lake, "sync").await.unwrap();
        // A lock file left by a killed writer (the kernel dropped its lock) is simply taken.
        std::fs::write(dir.path().join("_pstn_lake/lock"), b"{}").unwrap();
        LakeLock::acquire(&lake, "sync").await.unwrap();
    }

    #[tokio::test]
    async fn a_second_run_is_refused_while_writers_still_lock_on_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let local = Lake::open(dir.path().to_str().unwrap()).unwrap();
        for lake in [local, memory_lake()] {
            let run = LakeLock::acquire_run(&lake).await.unwrap();
            let second = LakeLock::acquire_run(&lake).await.unwrap_err().to_string();
            assert!(
                second.contains("is running `pstn-lake run` on this lake"),
                "{second}"
            );
            // The run's own sync takes the writers' lock, which a second writer cannot.
            let write = LakeLock::acquire(&lake, "sync").await.unwrap();
            let writer = LakeLock::acquire(&lake, "ingest")
                .await
                .unwrap_err()
                .to_string();
            assert!(writer.contains("is writing to this lake"), "{writer}");
            write.release().await.unwrap();
            run.release().await.unwrap();
            drop(LakeLock::acquire_run(&lake).await.unwrap());
        }
    }

    #[tokio::test]
    async fn a_dead_holder_is_taken_over_and_a_taken_over_holder_is_fenced() {
        let lake = memory_lake();
        let path = lake.state_path(Kind::Write.object());
        // A holder of this boot and PID namespace whose process is gone.
        let dead = Holder {
            pid: u32::MAX - 1,
            ..Holder::me("sync")
        };
        assert!(dead.is_dead_here());
        lake.store()
            .put(&path, PutPayload::from(serde_json::to_vec(&dead).unwrap()))
            .await
            .unwrap();
        let lock = LakeLock::acquire(&lake, "sync").await.unwrap();
        // Another writer replaces the object (it judged this one stale): this writer's next
        // refresh fails its condition, and the lake refuses further commits.
        let Held::Object { version, .. } = &lock.held else {
            panic!("an object lock")
        };
        let other = Holder {
            host: "elsewhere".into(),
            ..Holder::me("ingest")
        };
        let mine = version.lock().unwrap().clone();
        lake.store()
            .put_opts(
                &path,
                PutPayload::from(serde_json::to_vec(&other).unwrap()),
                PutOptions::from(PutMode::Update(mine)),
            )
            .await
            .unwrap();
        lake.check_fence().unwrap();
        assert!(
            !refresh(&lake, b"{}", version, Kind::Write).await,
            "the refresh must fail"
        );
        let err = lake.check_fence().unwrap_err();
        assert!(
            matches!(&err, Error::LockLost { by, .. } if by.starts_with("ingest on elsewhere")),
            "{err}"
        );
        // Releasing leaves the other writer's lock alone.
        lock.release().await.unwrap();
        let (seen, _) = current(&lake, Kind::Write).await.unwrap().unwrap();
        assert_eq!(seen.holder.host, "elsewhere");
        // A holder elsewhere is not judged dead by its PID.
        assert!(!other.is_dead_here());
        // Nor by a PID that runs nowhere here.
        let gone_elsewhere = Holder {
            pid: u32::MAX - 1,
            ..other
        };
        assert!(!gone_elsewhere.is_dead_here());
    }

    /// Answers to PUTs of the lock object come this long after the store applied them, as from a
    /// loaded server.
    #[derive(Debug, Default)]
    struct SlowAnswers(Duration);

    #[async_trait::async_trait]
    impl crate::test_util::PutHook for SlowAnswers {
        async fn before_put(
            &self,
            _inner: &object_store::memory::InMemory,
            _location: &object_store::path::Path,
            _opts: &PutOptions,
        ) -> object_store::Result<()> {
            Ok(())
        }

        async fn after_put(&self, location: &object_store::path::Path) {
            if location.as_ref().ends_with(Kind::Write.object()) {
                tokio::time::sleep(self.0).await;
            }
        }
    }

    /// A release while a refresh's PUT is applied but not yet answered still removes the lock: the
    /// refresh is let finish (aborted instead, its new version would be unknown to the release,
    /// which would then leave the lock behind a finished run).
    #[tokio::test(start_paused = true)]
    async fn a_release_during_a_refresh_still_removes_the_lock() {
        let store = crate::test_util::HookedStore {
            inner: object_store::memory::InMemory::new(),
            hook: SlowAnswers(Duration::from_secs(10)),
        };
        let lake = Lake::with_store(
            Arc::new(store),
            object_store::path::Path::from("lake"),
            url::Url::parse("memory:///lake").unwrap(),
        );
        let path = lake.state_path(Kind::Write.object());
        // Taken at 0 s (answered at 10 s); refreshed at 40 s (answered at 50 s).
        let lock = LakeLock::acquire(&lake, "sync").await.unwrap();
        let first = lake.store().head(&path).await.unwrap().e_tag;
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert_ne!(
            lake.store().head(&path).await.unwrap().e_tag,
            first,
            "the refresh reached the store"
        );
        lock.release().await.unwrap();
        assert!(lake.store().head(&path).await.is_err(), "released");
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_lock_object_is_rewritten_every_quarter_of_its_time_to_live_until_released() {
        let lake = memory_lake();
        let path = lake.state_path(Kind::Write.object());
        let tag = || async { lake.store().head(&path).await.unwrap().e_tag };
        let lock = LakeLock::acquire(&lake, "sync").await.unwrap();
        let mut seen = vec![tag().await];
        // The clock is paused: each sleep runs every timer due before it ends, at once. The
        // refreshes are due at 30, 60 and 90 s; they are looked for 1 s before and after each.
        tokio::time::sleep(Duration::from_secs(1)).await;
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(28)).await;
            assert_eq!(tag().await, *seen.last().unwrap(), "not refreshed early");
            tokio::time::sleep(Duration::from_secs(2)).await;
            let now = tag().await;
            assert!(
                !seen.contains(&now),
                "refreshed every 30 s: {seen:?} then {now:?}"
            );
            seen.push(now);
        }
        lock.release().await.unwrap();
        assert!(lake.store().head(&path).await.is_err(), "released");
    }
}
