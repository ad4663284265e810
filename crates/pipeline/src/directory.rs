//! A snapshot table in a sync: the user directory read incrementally from Graph's
//! `/users/delta`, and a snapshot written for the sync's day only when the directory changed.

use chrono::NaiveDate;
use pstn_lake_fetch::directory::{UserRow, apply_changes, from_batches, to_batch};
use pstn_lake_fetch::{GraphClient, Table};
use pstn_lake_sink::{DayWriter, EncodeSlots, Lake, Pseudonymiser, read_day};

use crate::{Error, Result, table_spec};

/// What reading the directory gave.
pub(crate) struct Snapshot {
    /// The users of the snapshot written; `None` when the directory had not changed.
    pub written: Option<usize>,
    /// The delta link the next read starts from.
    pub delta_link: String,
}

/// Reads the directory from Graph (from `delta_link`, the one the last snapshot was landed with;
/// a full listing when there is none, or when Graph answers 410 Gone because the link expired),
/// applies it to the latest snapshot on or before `day`, and writes the result as the snapshot of
/// `day` when it differs. The caller records the returned delta link.
pub(crate) async fn snapshot(
    client: &GraphClient,
    lake: &Lake,
    delta_link: Option<&str>,
    table: Table,
    day: NaiveDate,
    encoding: &EncodeSlots,
    privacy: Option<&Pseudonymiser>,
) -> Result<Snapshot> {
    let fetch_failed = move |source| Error::Fetch {
        table,
        day,
        source: Box::new(source),
    };
    let previous = previous(lake, table, day).await?;
    // Changes apply to a snapshot: without one (a new lake, or its snapshots deleted) the read
    // starts with a full listing whatever link the state holds.
    let link = delta_link.filter(|_| !previous.is_empty());
    let (changes, delta_link, full) = match read(client, link).await {
        // The link expired (Graph keeps them for a limited time): a full listing again.
        Err(pstn_lake_fetch::Error::Graph { status: 410, .. }) if link.is_some() => {
            let (changes, delta_link) = read(client, None).await.map_err(fetch_failed)?;
            (changes, delta_link, true)
        }
        read => {
            let (changes, delta_link) = read.map_err(fetch_failed)?;
            (changes, delta_link, link.is_none())
        }
    };
    let written = land(lake, table, day, previous, changes, full, encoding, privacy).await?;
    Ok(Snapshot {
        written: written.map(|(_, users)| users),
        delta_link,
    })
}

/// The users of the latest snapshot of `table` on or before `day` (none when there is none).
pub(crate) async fn previous(lake: &Lake, table: Table, day: NaiveDate) -> Result<Vec<UserRow>> {
    let lake_failed = move |source| Error::WriteDay {
        table,
        day,
        source: Box::new(source),
    };
    let previous_day = lake
        .days(table.name())
        .await
        .map_err(lake_failed)?
        .into_iter()
        .rev()
        .find(|d| *d <= day);
    let Some(d) = previous_day else {
        return Ok(Vec::new());
    };
    let batches = read_day(lake, &table_spec(table), d)
        .await
        .map_err(lake_failed)?;
    from_batches(&batches).map_err(|source| Error::Fetch {
        table,
        day,
        source: Box::new(source),
    })
}

/// Lands a snapshot of `table` for `day`: `previous` (see [`previous`]) with `changes` applied
/// (`full`: the changes list every user, so users they leave out have left), written only when it
/// differs. With `privacy`, the changes are pseudonymised first, so they compare with (and
/// merge into) the pseudonymised snapshot the lake holds. Returns the users of the snapshot it
/// was made from and of the one written, `None` when nothing changed.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn land(
    lake: &Lake,
    table: Table,
    day: NaiveDate,
    previous: Vec<UserRow>,
    changes: Vec<UserRow>,
    full: bool,
    encoding: &EncodeSlots,
    privacy: Option<&Pseudonymiser>,
) -> Result<Option<(usize, usize)>> {
    let changes = crate::privacy::users(privacy, changes)?;
    let spec = table_spec(table);
    let lake_failed = move |source| Error::WriteDay {
        table,
        day,
        source: Box::new(source),
    };
    let rows = apply_changes(previous.clone(), changes, full);
    if rows == previous {
        return Ok(None);
    }
    let users = (previous.len(), rows.len());
    let mut writer = DayWriter::new(lake, &spec, day, encoding).map_err(lake_failed)?;
    writer = tokio::task::spawn_blocking(move || -> Result<DayWriter> {
        writer.push(to_batch(&rows)).map_err(lake_failed)?;
        Ok(writer)
    })
    .await??;
    // Every previously held user is in `rows`: merged by key with a snapshot of the same day
    // written earlier, this one replaces it.
    writer.commit(lake).await.map_err(lake_failed)?;
    Ok(Some(users))
}

/// Every page of one directory read: the users on them, and the delta link it ended with.
async fn read(
    client: &GraphClient,
    link: Option<&str>,
) -> pstn_lake_fetch::Result<(Vec<UserRow>, String)> {
    let mut pages = client.directory_pages(link)?;
    let mut rows = Vec::new();
    while let Some(page) = pages.next_page().await? {
        rows.extend(page.rows);
        if let Some(delta_link) = page.delta_link {
            return Ok((rows, delta_link));
        }
    }
    // Not reached: the pages end with the one that carries the delta link, or an error.
    Err(pstn_lake_fetch::Error::NoDeltaLink {
        url: "users/delta".to_owned(),
    })
}
