//! `pstnBlockedUsersLogRow` generation (beta `getPstnBlockedUsersLog`): the users Microsoft
//! blocked from PSTN calls, and unblocked. A [`Traffic::Business`] tenant's toll-fraud episodes
//! each lead to a block some hours after their last call; weekend takeovers are unblocked a day
//! or more later, once the account is secured; and one user is blocked on Microsoft's own
//! signals, with no fraud in the call log before it.

use crate::fraud::Episode;
use crate::json::{Obj, TICKS_PER_DAY, TICKS_PER_MS};
use crate::people::{self, USERS};
use crate::rhythm::Traffic;
use crate::rng::hash;
use crate::tenant::{RowFacts, Tenant};

const BLOCK_TAG: u64 = 0x424c_4f43;
const HOUR_MS: u64 = 3_600_000;
const TICKS_PER_HOUR: i64 = TICKS_PER_DAY / 24;

/// `blockReason` of a block that follows a fraud episode.
pub(crate) const FRAUD_REASON: &str = "Suspected toll fraud: unusual international calling";
/// `blockReason` of an unblock.
pub(crate) const UNBLOCK_REASON: &str = "Tenant Requested";
/// `blockReason` of the block on Microsoft's own signals.
pub(crate) const SIGNAL_REASON: &str = "High Overall Usage";

/// One block or unblock action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Block {
    /// `blockDateTime`, in ticks (whole milliseconds).
    pub ticks: i64,
    /// The user (`0..USERS`).
    pub user: u64,
    /// A block (`true`) or an unblock.
    pub blocked: bool,
    pub reason: &'static str,
}

impl Block {
    /// `userBlockMode`.
    pub(crate) fn mode(&self) -> &'static str {
        if self.blocked { "blocked" } else { "unblocked" }
    }
}

/// The block actions of a tenant of `days` days from `first_day_num` with these fraud
/// `episodes`, in time order, those outside the tenant's days left out. None for
/// [`Traffic::Flat`]. For [`Traffic::Business`]:
///
/// - episode `k` (in order; one whose calls all fall outside the tenant has none) is followed by
///   a `blocked` action of its user at `end + 2 h + hash % 28 h` (millisecond precision), where
///   `end` is the end of the episode's last hour with calls: 2 to 30 hours after it;
/// - when `k` is even (the weekend takeovers), an `unblocked` action of the same user follows the
///   block by `24 h + hash % 48 h`: 1 to 3 days;
/// - a tenant of 7 days or more also blocks one user who had no episode, at a random time of
///   a day from its fourth to its fourth-last.
pub(crate) fn blocks(
    seed: u64,
    traffic: Traffic,
    first_day_num: i64,
    days: u32,
    episodes: &[Episode],
) -> Vec<Block> {
    let mut blocks = Vec::new();
    if traffic != Traffic::Business {
        return blocks;
    }
    let ms = |ms: u64| ms as i64 * TICKS_PER_MS;
    for (k, episode) in episodes.iter().enumerate() {
        let Some(&(last_hour, _)) = episode.hours.last() else {
            continue;
        };
        let end = (last_hour + 1) * TICKS_PER_HOUR;
        let h = hash(&[seed, BLOCK_TAG, k as u64]);
        let blocked = end + ms(2 * HOUR_MS + h % (28 * HOUR_MS));
        blocks.push(Block {
            ticks: blocked,
            user: episode.user,
            blocked: true,
            reason: FRAUD_REASON,
        });
        if k % 2 == 0 {
            let h = hash(&[seed, BLOCK_TAG, k as u64, 1]);
            blocks.push(Block {
                ticks: blocked + ms(24 * HOUR_MS + h % (48 * HOUR_MS)),
                user: episode.user,
                blocked: false,
                reason: UNBLOCK_REASON,
            });
        }
    }
    if days >= 7 {
        let h = hash(&[seed, BLOCK_TAG, u64::MAX]);
        let day_num = first_day_num + 3 + (h % u64::from(days - 6)) as i64;
        let mut user = hash(&[h, 1]) % USERS;
        // Fewer episodes than users: this ends.
        while episodes.iter().any(|e| e.user == user) {
            user = (user + 1) % USERS;
        }
        blocks.push(Block {
            ticks: day_num * TICKS_PER_DAY + ms(hash(&[h, 2]) % (24 * HOUR_MS)),
            user,
            blocked: true,
            reason: SIGNAL_REASON,
        });
    }
    let served = first_day_num * TICKS_PER_DAY..(first_day_num + i64::from(days)) * TICKS_PER_DAY;
    blocks.retain(|b| served.contains(&b.ticks));
    blocks.sort_by_key(|b| b.ticks);
    blocks
}

/// Writes one action as a row, with `remediationId` `id`, and returns its facts.
pub(crate) fn write_row(t: &Tenant, block: &Block, id: (u64, u64), out: &mut Vec<u8>) -> RowFacts {
    let user = people::user(t.seed(), block.user);
    let mut obj = Obj::open(out);
    user.write_fields(&mut obj);
    obj.timestamp("blockDateTime", block.ticks, 3);
    user.number().write(obj.key("userTelephoneNumber"));
    obj.str("userBlockMode", block.mode());
    obj.str("blockReason", block.reason);
    obj.guid("remediationId", id.0, id.1);
    obj.close();
    RowFacts {
        id: Some(id),
        user: Some(block.user),
        at: Some(block.ticks),
        block_mode: Some(block.mode()),
        ..RowFacts::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use chrono::{Duration, NaiveDate};
    use serde_json::Value;

    use super::*;
    use crate::tenant::{ApiVersion, ExpectedRow, Function, TenantConfig};

    const KEYS: [&str; 8] = [
        "blockDateTime",
        "blockReason",
        "remediationId",
        "userBlockMode",
        "userDisplayName",
        "userId",
        "userPrincipalName",
        "userTelephoneNumber",
    ];

    /// Monday 2 February 2026 for 12 weeks, as the tenant's business tests use.
    fn business(days: u32) -> Tenant {
        let first = NaiveDate::from_ymd_opt(2026, 2, 2).unwrap();
        Tenant::new(TenantConfig::new(42, first, days, 200).with_traffic(Traffic::Business))
    }

    fn served(t: &Tenant) -> Vec<Value> {
        t.days()
            .flat_map(|d| {
                let rows = t.rows(Function::BlockedUsers, ApiVersion::Beta, d);
                serde_json::from_slice::<Vec<Value>>(&rows).unwrap()
            })
            .collect()
    }

    fn all(t: &Tenant) -> Vec<ExpectedRow> {
        let (first, last) = (t.config().first_day, t.config().last_day());
        t.expected(Function::BlockedUsers, first, last)
    }

    #[test]
    fn blocked_user_rows_carry_exactly_the_documented_properties() {
        let t = business(84);
        let rows = served(&t);
        let want: BTreeSet<&str> = KEYS.into_iter().collect();
        for row in &rows {
            let keys: BTreeSet<&str> = row.as_object().unwrap().keys().map(|k| &**k).collect();
            assert_eq!(keys, want);
            let at = row["blockDateTime"].as_str().unwrap();
            assert_eq!(at.len(), "2022-11-23T13:51:09.796Z".len(), "{at}");
            assert!(
                row["userTelephoneNumber"]
                    .as_str()
                    .unwrap()
                    .starts_with('+')
            );
        }
        let expected = all(&t);
        let ids: Vec<&str> = rows
            .iter()
            .map(|r| r["remediationId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, expected.iter().map(|r| &*r.id).collect::<Vec<_>>());
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        assert!(expected.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn every_fraud_episode_leads_to_a_block_of_its_user_after_it_ends() {
        let t = business(84);
        let episodes = t.fraud_episodes();
        assert_eq!(episodes.len(), 3);
        let rows = all(&t);
        for e in &episodes {
            let blocks: Vec<&ExpectedRow> = rows
                .iter()
                .filter(|r| r.user_principal_name.as_deref() == Some(&e.user_principal_name))
                .collect();
            let block = blocks[0];
            assert_eq!(block.block_mode.as_deref(), Some("blocked"));
            let after = block.at.unwrap() - e.to;
            assert!(
                (Duration::hours(2)..Duration::hours(30)).contains(&after),
                "{after}"
            );
            assert_eq!(block.day, block.at.unwrap().date_naive());
            if let Some(unblock) = blocks.get(1) {
                assert_eq!(unblock.block_mode.as_deref(), Some("unblocked"));
                let later = unblock.at.unwrap() - block.at.unwrap();
                assert!((Duration::days(1)..Duration::days(3)).contains(&later));
            }
            assert!(blocks.len() <= 2);
        }
        let unblocks = rows
            .iter()
            .filter(|r| r.block_mode.as_deref() == Some("unblocked"))
            .count();
        assert_eq!(unblocks, 2, "the two weekend takeovers are unblocked");

        // The blocked number is the one the fraud calls came from.
        let (first, last) = (t.config().first_day, t.config().last_day());
        let fraud_days: BTreeSet<NaiveDate> = t
            .expected(Function::Pstn, first, last)
            .into_iter()
            .filter(|r| r.fraud)
            .map(|r| r.day)
            .collect();
        let served = served(&t);
        for day in fraud_days {
            let pstn: Vec<Value> =
                serde_json::from_slice(&t.rows(Function::Pstn, ApiVersion::V1, day)).unwrap();
            for call in pstn.iter().filter(|c| {
                episodes
                    .iter()
                    .any(|e| c["userPrincipalName"] == e.user_principal_name.as_str())
                    && c["callType"] == "user_out"
            }) {
                let block = served
                    .iter()
                    .find(|b| b["userId"] == call["userId"])
                    .unwrap();
                assert_eq!(block["userTelephoneNumber"], call["callerNumber"]);
            }
        }
    }

    #[test]
    fn one_user_is_blocked_without_a_prior_signal() {
        for days in [7, 20, 84] {
            let t = business(days);
            let fraudsters: HashSet<String> = t
                .fraud_episodes()
                .into_iter()
                .map(|e| e.user_principal_name)
                .collect();
            let (first, last) = (t.config().first_day, t.config().last_day());
            let pstn = t.expected(Function::Pstn, first, last);
            let no_signal: Vec<ExpectedRow> = all(&t)
                .into_iter()
                .filter(|r| !fraudsters.contains(r.user_principal_name.as_ref().unwrap()))
                .collect();
            assert_eq!(no_signal.len(), 1, "{days} days");
            let block = &no_signal[0];
            assert_eq!(block.block_mode.as_deref(), Some("blocked"));
            // No fraud call of that user before it.
            assert!(!pstn.iter().any(|r| r.fraud
                && r.user_principal_name == block.user_principal_name
                && r.at < block.at));
            let rows = t.rows(Function::BlockedUsers, ApiVersion::Beta, block.day);
            let rows: Vec<Value> = serde_json::from_slice(&rows).unwrap();
            let row = rows
                .iter()
                .find(|r| r["remediationId"] == block.id.as_str())
                .unwrap();
            assert_eq!(row["blockReason"], SIGNAL_REASON);
        }
        assert!(all(&business(6)).is_empty());
    }

    #[test]
    fn a_flat_tenant_blocks_nobody() {
        let first = NaiveDate::from_ymd_opt(2026, 2, 2).unwrap();
        let t = Tenant::new(TenantConfig::new(42, first, 84, 200));
        assert!(all(&t).is_empty());
        assert!(t.days().all(|d| t.calls_on(Function::BlockedUsers, d) == 0));
    }

    #[test]
    fn blocks_outside_the_tenant_are_not_served() {
        let episode = Episode {
            user: 5,
            destinations: [0, 1, 2],
            // The last hour of the tenant's last day.
            hours: vec![((20_000 + 30) * 24 - 1, 3)],
        };
        let blocks = blocks(1, Traffic::Business, 20_000, 30, &[episode]);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].reason, SIGNAL_REASON);
    }
}
