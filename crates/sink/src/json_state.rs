//! A versioned JSON object under `<lake>/_pstn_lake/` that several processes update: read with
//! the version it was read at, saved only if it is still that version (the same conditional,
//! durable put as a day's: see `crate::day::put_day`), and on a conflict read again and merged.
//! The sync state and the run log are two.

use object_store::{ObjectStoreExt, UpdateVersion};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::day::{EncodedDay, Expected, Put, put_day};
use crate::error::store;
use crate::{Error, Lake, Result};

/// How many times a save reads the object again when another writer saved in between.
const MAX_ATTEMPTS: usize = 8;

/// The object version a state was read at; not part of what a state is (equality ignores it).
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadAt(pub(crate) Option<UpdateVersion>);

impl PartialEq for ReadAt {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ReadAt {}

/// A state object: where it lives, its format version, and how two writers' copies merge.
pub(crate) trait JsonState: Serialize + DeserializeOwned {
    /// Its file under `<lake>/_pstn_lake/`.
    const FILE: &'static str;
    /// The format version this pstn-lake writes.
    const VERSION: u32;
    /// What an unreadable object's message tells the user to do.
    const START_OVER: &'static str;
    /// The state before anything was recorded.
    fn empty() -> Self;
    fn version(&self) -> u32;
    fn set_version(&mut self, version: u32);
    fn read_at(&mut self) -> &mut ReadAt;
    /// Takes in what another writer saved since this copy was read (`theirs`, read just now).
    fn merge(&mut self, theirs: Self);
}

/// Reads the lake's `T` (empty when there is none yet).
pub(crate) async fn load<T: JsonState>(lake: &Lake) -> Result<T> {
    let path = lake.state_path(T::FILE);
    let got = match lake.store().get(&path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => {
            let mut empty = T::empty();
            empty.set_version(T::VERSION);
            return Ok(empty);
        }
        Err(source) => return Err(store("reading", &path)(source)),
    };
    let read_at = UpdateVersion {
        e_tag: got.meta.e_tag.clone(),
        version: got.meta.version.clone(),
    };
    let bytes = got.bytes().await.map_err(store("reading", &path))?;
    let mut state: T = serde_json::from_slice(&bytes).map_err(|e| Error::State {
        path: path.to_string(),
        reason: format!("{e}; {}", T::START_OVER),
    })?;
    if state.version() != T::VERSION {
        return Err(Error::State {
            path: path.to_string(),
            reason: format!(
                "version {} is not {}: it was written by another pstn-lake version",
                state.version(),
                T::VERSION
            ),
        });
    }
    *state.read_at() = ReadAt(Some(read_at));
    Ok(state)
}

/// Writes `state` in one step (readers see the old object or the new one), only if the object is
/// still the version `state` was read at. When another writer saved in between, its object is
/// read and merged into `state` ([`JsonState::merge`]), then saved again: no writer's record is
/// lost.
pub(crate) async fn save<T: JsonState>(state: &mut T, lake: &Lake) -> Result<()> {
    let path = lake.state_path(T::FILE);
    for _ in 0..MAX_ATTEMPTS {
        state.set_version(T::VERSION);
        let json = serde_json::to_vec_pretty(&*state).expect("a state serialises");
        let expected = match &state.read_at().0 {
            Some(v) => Expected::Version(v.clone()),
            None => Expected::Absent,
        };
        match put_day(lake, &path, &expected, EncodedDay::Bytes(json.into())).await? {
            Put::Done(_, version) => {
                *state.read_at() = ReadAt(Some(version));
                return Ok(());
            }
            Put::Conflict => {
                let mut theirs: T = load(lake).await?;
                let read_at = std::mem::take(theirs.read_at());
                state.merge(theirs);
                *state.read_at() = read_at;
            }
        }
    }
    Err(Error::State {
        path: path.to_string(),
        reason: format!(
            "another writer kept changing it ({MAX_ATTEMPTS} tries); run the command again"
        ),
    })
}
