//! When the tenant's people call: each user's office day in their own time zone, and (with
//! [`Traffic::Business`]) the week, the holidays and the trend that set how many calls a day holds.

use crate::data::Country;
use crate::json::{self, TICKS_PER_DAY};
use crate::people::{self, USERS};
use crate::rng::{Rng, hash};

/// The shape of the tenant's traffic over days.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Traffic {
    /// Every day holds exactly `calls_per_day` rows in each table, and nothing unusual happens:
    /// predictable sizes for tests and benchmarks.
    #[default]
    Flat,
    /// A business: weekdays busy and weekends quiet, slow holidays (Thanksgiving, Christmas to
    /// New Year, late summer), 3% growth a month, and a few toll-fraud episodes (see
    /// [`Tenant::fraud_episodes`](crate::Tenant::fraud_episodes)), each followed by a block of
    /// the user in the blocked-users log. `calls_per_day` is the average over the tenant's days
    /// before holidays and episodes.
    Business,
}

/// Relative call volume of an office by local hour (0-23) on a working day.
const LOCAL_HOURS: [u32; 24] = [
    1, 1, 1, 1, 1, 1, 2, 6, 18, 28, 30, 28, 20, 24, 28, 26, 20, 10, 5, 3, 2, 2, 1, 1,
];
/// A weekend hour's volume against a working day's, in percent ([`Traffic::Business`]).
const WEEKEND_PERCENT: u32 = 15;
/// Volume by UTC weekday (Monday first) in per mille of the average day ([`Traffic::Business`]).
const WEEKDAY_PERMILLE: [u64; 7] = [1330, 1360, 1340, 1320, 1250, 220, 180];
/// Half hours in a week: the picker's slots (India is UTC+05:30).
const SLOTS: usize = 7 * 48;
const TICKS_PER_MINUTE: i64 = 600_000_000;
const NOISE_TAG: u64 = 0x4e4f_4953;

/// The weekday of a day number, Monday = 0 (1970-01-01 was a Thursday).
pub(crate) fn weekday(day_num: i64) -> usize {
    (day_num + 3).rem_euclid(7) as usize
}

/// Whether `ticks` (UTC) falls in office hours, Monday to Friday 08:00-17:59, at `offset_min`
/// from UTC: when ordinary people make business calls abroad.
pub(crate) fn in_office_hours(ticks: i64, offset_min: i32) -> bool {
    let minutes = ticks.div_euclid(TICKS_PER_MINUTE) + i64::from(offset_min);
    let (day, minute) = (minutes.div_euclid(1440), minutes.rem_euclid(1440));
    weekday(day) < 5 && (8 * 60..18 * 60).contains(&minute)
}

/// Picks who makes a call at a given time: users weighted by how busy their own local hour is.
#[derive(Debug)]
pub(crate) struct UserPicker {
    /// Per half-hour of the UTC week, the cumulative weights of users `0..USERS`.
    cumulative: Vec<[u32; USERS as usize]>,
}

impl UserPicker {
    pub(crate) fn new(seed: u64, traffic: Traffic) -> Self {
        let offsets: Vec<i64> = (0..USERS)
            .map(|u| i64::from(people::user(seed, u).country.utc_offset_min))
            .collect();
        let weekend = match traffic {
            Traffic::Flat => 100,
            Traffic::Business => WEEKEND_PERCENT,
        };
        let cumulative = (0..SLOTS)
            .map(|slot| {
                let mut sums = [0; USERS as usize];
                let mut total = 0;
                for (sum, offset) in sums.iter_mut().zip(&offsets) {
                    // The middle of the half hour, in the user's local week (Monday 00:00 = 0).
                    let minute = (slot as i64 * 30 + 15 + offset).rem_euclid(7 * 1440);
                    let hour = LOCAL_HOURS[(minute % 1440 / 60) as usize];
                    total += if minute / 1440 < 5 {
                        hour * 100
                    } else {
                        hour * weekend
                    };
                    *sum = total;
                }
                sums
            })
            .collect();
        Self { cumulative }
    }

    /// The user (`0..USERS`) who makes a call starting at `ticks`.
    pub(crate) fn pick(&self, ticks: i64, rng: &mut Rng) -> u64 {
        let day = ticks.div_euclid(TICKS_PER_DAY);
        let half_hour = ticks.rem_euclid(TICKS_PER_DAY) / (30 * TICKS_PER_MINUTE);
        let sums = &self.cumulative[weekday(day) * 48 + half_hour as usize];
        let r = rng.below(u64::from(sums[sums.len() - 1])) as u32;
        sums.partition_point(|&s| s <= r) as u64
    }

    /// Relative volume by UTC hour of a working day: the sum of every user's local hour.
    pub(crate) fn utc_hours(seed: u64) -> [u64; 24] {
        let mut hours = [0; 24];
        for u in 0..USERS {
            let offset = i64::from(people::user(seed, u).country.utc_offset_min);
            for (h, slot) in hours.iter_mut().enumerate() {
                let minute = (h as i64 * 60 + 30 + offset).rem_euclid(1440);
                *slot += u64::from(LOCAL_HOURS[(minute / 60) as usize]);
            }
        }
        hours
    }
}

/// How many ordinary rows a day holds, in per mille of `calls_per_day`: 1000 for
/// [`Traffic::Flat`]; for [`Traffic::Business`] the weekday, the holidays, a trend of 3% a month
/// centred on the tenant's middle day, and ±5% of day-to-day noise.
pub(crate) fn day_permille(
    seed: u64,
    traffic: Traffic,
    first_day_num: i64,
    days: u32,
    day_num: i64,
) -> u64 {
    if traffic == Traffic::Flat {
        return 1000;
    }
    let middle = first_day_num + i64::from(days) / 2;
    let trend = (1000 + day_num - middle).max(500) as u64;
    let noise = 950 + hash(&[seed, NOISE_TAG, day_num as u64]) % 101;
    WEEKDAY_PERMILLE[weekday(day_num)] * holiday_permille(day_num) / 1000 * trend / 1000 * noise
        / 1000
}

/// The share of a usual day's calls a holiday keeps, in per mille.
fn holiday_permille(day_num: i64) -> u64 {
    let (_, month, day) = json::civil_from_days(day_num);
    match (month, day) {
        (12, 24..=31) | (1, 1) => 300,
        (12, 23) | (1, 2) => 600,
        (11, 22..=29) if is_thanksgiving_week(day_num) => 550,
        (7, 15..=31) | (8, _) => 850,
        _ => 1000,
    }
}

/// Whether `day_num` is the fourth Thursday of November (US Thanksgiving) or the Friday after.
fn is_thanksgiving_week(day_num: i64) -> bool {
    let (_, _, day) = json::civil_from_days(day_num);
    let thursday = match weekday(day_num) {
        3 => day,
        4 => day - 1,
        _ => return false,
    };
    (22..=28).contains(&thursday)
}

/// The country of user `u`.
pub(crate) fn user_country(seed: u64, u: u64) -> &'static Country {
    people::user(seed, u).country
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::tenant::day_number;

    fn day(y: i32, m: u32, d: u32) -> i64 {
        day_number(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    #[test]
    fn weekdays_and_office_hours_are_local() {
        assert_eq!(weekday(day(2026, 11, 30)), 0, "a Monday");
        let monday_0700_utc = day(2026, 11, 30) * TICKS_PER_DAY + 7 * 60 * TICKS_PER_MINUTE;
        assert!(!in_office_hours(monday_0700_utc, 0));
        assert!(in_office_hours(monday_0700_utc, 60));
        // 07:00 UTC Monday is Sunday 23:00 in New York and Monday 16:00 in Tokyo.
        assert!(!in_office_hours(monday_0700_utc, -300));
        assert!(in_office_hours(monday_0700_utc, 540));
        assert!(!in_office_hours(
            monday_0700_utc + 3 * 60 * TICKS_PER_MINUTE,
            540
        ));
    }

    #[test]
    fn holidays_are_quiet() {
        for ((y, m, d), permille) in [
            ((2026, 11, 26), 550), // Thanksgiving 2026
            ((2026, 11, 27), 550),
            ((2026, 11, 19), 1000),
            ((2025, 11, 27), 550), // Thanksgiving 2025
            ((2026, 12, 25), 300),
            ((2026, 10, 14), 1000),
        ] {
            assert_eq!(holiday_permille(day(y, m, d)), permille, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn a_week_averages_calls_per_day() {
        assert_eq!(WEEKDAY_PERMILLE.iter().sum::<u64>(), 7000);
    }

    #[test]
    fn people_call_in_their_own_office_hours() {
        let picker = UserPicker::new(42, Traffic::Business);
        let mut rng = Rng::new(1);
        // Monday 02:00 UTC: office hours in Tokyo, Sydney and India, night in Europe and America.
        let t = day(2026, 11, 30) * TICKS_PER_DAY + 2 * 60 * TICKS_PER_MINUTE;
        let at_work = (0..1000)
            .filter(|_| {
                in_office_hours(t, user_country(42, picker.pick(t, &mut rng)).utc_offset_min)
            })
            .count();
        assert!(
            at_work > 800,
            "{at_work} of 1000 calls in the caller's office hours"
        );
    }
}
