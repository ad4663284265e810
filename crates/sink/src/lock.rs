//! One writer at a time: a lock object at `<lake>/_pstn_lake/lock.json`, created with the store's
//! conditional put (create only if absent), kept fresh while the writer runs, removed at the end.
//!
//! A lock is stale — and taken over — when it was not refreshed within its time to live, or when
//! its holder ran on this host and that process is gone (a killed run can be re-run at once).

use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use tokio::task::JoinHandle;

use crate::{Error, Lake, Result};

const LOCK_FILE: &str = "lock.json";
/// A lock not refreshed for this long is stale.
const TTL: Duration = Duration::from_secs(120);
/// How often a holder refreshes its lock.
const REFRESH: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Holder {
    command: String,
    host: String,
    pid: u32,
    started: DateTime<Utc>,
    refreshed: DateTime<Utc>,
}

impl Holder {
    fn is_stale(&self, now: DateTime<Utc>) -> bool {
        let expired = now - self.refreshed > chrono::Duration::from_std(TTL).expect("small");
        let dead_here = self.host == hostname() && !process_alive(self.pid);
        expired || dead_here
    }
}

/// The lake's write lock, held until [`LakeLock::release`] (or, if the process dies, until it is
/// found stale).
#[derive(Debug)]
pub struct LakeLock {
    lake: Lake,
    refresher: JoinHandle<()>,
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown-host".into())
}

fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

impl LakeLock {
    /// Takes the lake's write lock for `command`, or fails saying who holds it.
    pub async fn acquire(lake: &Lake, command: &str) -> Result<LakeLock> {
        let path = lake.state_path(LOCK_FILE);
        let now = Utc::now();
        let me = Holder {
            command: command.to_owned(),
            host: hostname(),
            pid: std::process::id(),
            started: now,
            refreshed: now,
        };
        let body = serde_json::to_vec_pretty(&me).expect("serialises");
        for _ in 0..3 {
            let create = PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            };
            match lake
                .store()
                .put_opts(&path, PutPayload::from(body.clone()), create)
                .await
            {
                Ok(_) => {
                    // No other writer can be running: whatever is staged is a crashed writer's.
                    crate::landing::remove_staging(lake, None).await;
                    return Ok(Self::hold(lake, me));
                }
                Err(
                    object_store::Error::AlreadyExists { .. }
                    | object_store::Error::Precondition { .. },
                ) => {}
                Err(object_store::Error::NotImplemented { .. }) => {
                    // A store without conditional writes: the best it allows is check-then-put.
                    tracing::warn!(
                        "the lake's store has no conditional writes; the lock is best effort"
                    );
                    if let Some(holder) = Self::holder(lake).await?
                        && !holder.is_stale(Utc::now())
                    {
                        return Err(locked(lake, &holder));
                    }
                    lake.store()
                        .put(&path, PutPayload::from(body.clone()))
                        .await
                        .map_err(|source| Error::Store {
                            action: "writing",
                            path: path.to_string(),
                            source,
                        })?;
                    return Ok(Self::hold(lake, me));
                }
                Err(source) => {
                    return Err(Error::Store {
                        action: "locking",
                        path: path.to_string(),
                        source,
                    });
                }
            }
            match Self::holder(lake).await? {
                Some(holder) if !holder.is_stale(Utc::now()) => return Err(locked(lake, &holder)),
                Some(holder) => {
                    tracing::warn!(?holder, "taking over a stale lake lock");
                    lake.store()
                        .delete(&path)
                        .await
                        .map_err(|source| Error::Store {
                            action: "removing the stale lock",
                            path: path.to_string(),
                            source,
                        })?;
                }
                None => {}
            }
        }
        Err(Error::Locked(format!(
            "the lake lock `{path}` keeps changing hands: another pstn-lake is starting on this lake"
        )))
    }

    async fn holder(lake: &Lake) -> Result<Option<Holder>> {
        let path = lake.state_path(LOCK_FILE);
        let Some(bytes) = lake.get_optional(&path).await? else {
            return Ok(None);
        };
        // An unreadable lock (cut short by a crash) is treated as stale.
        Ok(Some(serde_json::from_slice(&bytes).unwrap_or(Holder {
            command: "?".into(),
            host: String::new(),
            pid: 0,
            started: DateTime::<Utc>::MIN_UTC,
            refreshed: DateTime::<Utc>::MIN_UTC,
        })))
    }

    fn hold(lake: &Lake, me: Holder) -> LakeLock {
        let (lake2, path) = (lake.clone(), lake.state_path(LOCK_FILE));
        let refresher = tokio::spawn(async move {
            let mut me = me;
            loop {
                tokio::time::sleep(REFRESH).await;
                me.refreshed = Utc::now();
                let body = serde_json::to_vec_pretty(&me).expect("serialises");
                if let Err(e) = lake2.store().put(&path, PutPayload::from(body)).await {
                    tracing::warn!(error = %e, "refreshing the lake lock failed");
                }
            }
        });
        LakeLock {
            lake: lake.clone(),
            refresher,
        }
    }

    /// Removes the lock (and any staging object left by crashed writers: none can be in use now).
    pub async fn release(self) -> Result<()> {
        self.refresher.abort();
        crate::landing::remove_staging(&self.lake, None).await;
        let path = self.lake.state_path(LOCK_FILE);
        self.lake
            .store()
            .delete(&path)
            .await
            .map_err(|source| Error::Store {
                action: "unlocking",
                path: path.to_string(),
                source,
            })
    }
}

impl Drop for LakeLock {
    fn drop(&mut self) {
        // Stop refreshing, so a lock that was not released goes stale within its TTL.
        self.refresher.abort();
    }
}

fn locked(lake: &Lake, h: &Holder) -> Error {
    Error::Locked(format!(
        "another pstn-lake ({} on {}, pid {}, since {}) is writing to this lake; wait for it to finish. \
         If it died on another host, its lock `{}` goes stale {} s after its last refresh ({}).",
        h.command,
        h.host,
        h.pid,
        h.started.format("%Y-%m-%d %H:%M:%S UTC"),
        lake.state_path(LOCK_FILE),
        TTL.as_secs(),
        h.refreshed.format("%H:%M:%S UTC"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_writer_is_refused_until_the_first_releases() {
        let (_dir, lake) = crate::test_util::temp_lake();
        let first = LakeLock::acquire(&lake, "sync").await.unwrap();
        let err = LakeLock::acquire(&lake, "ingest").await.unwrap_err();
        assert!(
            err.to_string().contains("another pstn-lake (sync on"),
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

    #[tokio::test]
    async fn a_lock_of_a_dead_process_is_taken_over() {
        let (_dir, lake) = crate::test_util::temp_lake();
        let dead = Holder {
            command: "sync".into(),
            host: hostname(),
            pid: u32::MAX - 1,
            started: Utc::now(),
            refreshed: Utc::now(),
        };
        lake.store()
            .put(
                &lake.state_path(LOCK_FILE),
                PutPayload::from(serde_json::to_vec(&dead).unwrap()),
            )
            .await
            .unwrap();
        LakeLock::acquire(&lake, "sync")
            .await
            .unwrap()
            .release()
            .await
            .unwrap();
        // Held by a live process elsewhere, but not refreshed for longer than the TTL: stale too.
        let old = Holder {
            host: "elsewhere".into(),
            refreshed: Utc::now() - chrono::Duration::seconds(600),
            ..dead
        };
        assert!(old.is_stale(Utc::now()));
        let fresh = Holder {
            refreshed: Utc::now(),
            ..old
        };
        assert!(!fresh.is_stale(Utc::now()));
    }
}
