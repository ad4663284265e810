//! Toll-fraud episodes of a [`Traffic::Business`](crate::Traffic::Business) tenant: a
//! compromised account dialling high-cost international ranges (IRSF) at night or over a
//! weekend, in the account holder's own time zone.

use crate::data::HIGH_COST;
use crate::people::USERS;
use crate::rhythm::{self, weekday};
use crate::rng::hash;

const EPISODE_TAG: u64 = 0x4652_4155;

/// One episode: who, where to, and how many calls in which UTC hours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Episode {
    /// The compromised user (`0..USERS`).
    pub user: u64,
    /// Indices into [`HIGH_COST`] of the ranges it dials.
    pub destinations: [usize; 3],
    /// `(UTC hour since 1970-01-01 00:00, calls)`, in order.
    pub hours: Vec<(i64, u64)>,
}

/// The episodes of a business tenant of `days` days from `first_day_num`: none under 28 days,
/// two under 60, three from 60 on, spread over the range. They alternate between an account
/// taken over for a weekend (Friday night to Sunday morning, local time, a few calls an hour)
/// and an IRSF burst over two weekday nights (01:00-05:00 local, a dozen calls an hour).
pub(crate) fn episodes(seed: u64, first_day_num: i64, days: u32) -> Vec<Episode> {
    let at: &[i64] = match days {
        0..28 => &[],
        28..60 => &[40, 80],
        _ => &[30, 55, 80],
    };
    let end_hour = (first_day_num + i64::from(days)) * 24;
    at.iter()
        .enumerate()
        .map(|(k, percent)| {
            let h = hash(&[seed, EPISODE_TAG, k as u64]);
            let user = h % USERS;
            let offset_hours =
                i64::from(rhythm::user_country(seed, user).utc_offset_min).div_euclid(60);
            let anchor = first_day_num + i64::from(days) * percent / 100;
            // (local day, first local hour, hours, calls an hour)
            let local: Vec<(i64, i64, i64, u64)> = if k % 2 == 0 {
                let saturday = next_weekday(anchor, 5);
                vec![
                    (saturday - 1, 22, 2, 2),
                    (saturday, 0, 6, 3),
                    (saturday, 20, 4, 3),
                    (saturday + 1, 0, 5, 3),
                ]
            } else {
                let tuesday = next_weekday(anchor, 1);
                vec![(tuesday, 1, 4, 12), (tuesday + 1, 1, 3, 10)]
            };
            let hours = local
                .into_iter()
                .flat_map(|(day, first, len, calls)| {
                    (first..first + len).map(move |hour| (day * 24 + hour - offset_hours, calls))
                })
                .filter(|&(hour, _)| (first_day_num * 24..end_hour).contains(&hour))
                .collect();
            let first = (h >> 32) as usize % HIGH_COST.len();
            Episode {
                user,
                destinations: [0, 1, 3].map(|step| (first + step) % HIGH_COST.len()),
                hours,
            }
        })
        .collect()
}

/// The first day on or after `day_num` that is weekday `want` (Monday = 0).
fn next_weekday(day_num: i64, want: usize) -> i64 {
    day_num + ((want + 7 - weekday(day_num)) % 7) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episodes_fall_inside_the_tenant_at_night_or_on_a_weekend() {
        let first = 20_000;
        assert!(episodes(42, first, 27).is_empty());
        assert_eq!(episodes(42, first, 30).len(), 2);
        let all = episodes(42, first, 90);
        assert_eq!(all.len(), 3);
        assert_ne!(all[0].hours, all[1].hours);
        for e in &all {
            let offset = i64::from(rhythm::user_country(42, e.user).utc_offset_min);
            assert!(!e.hours.is_empty());
            for &(hour, calls) in &e.hours {
                assert!((first * 24..(first + 90) * 24).contains(&hour));
                assert!(calls > 0);
                let ticks = hour * 36_000_000_000;
                assert!(!rhythm::in_office_hours(ticks, offset as i32), "{e:?}");
            }
        }
    }
}
