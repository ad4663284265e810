//! When each row happens. Row `i` of a day gets a time in its own stratum of the day's call
//! distribution (busy office hours, quiet nights), so times are sorted by index and any row's
//! time is computed without generating the others: selecting a range is a binary search.

use std::ops::Range;

use crate::json::{TICKS_PER_DAY, TICKS_PER_MS};
use crate::rng::hash;
use crate::tenant::Function;

/// Rows of one day selected by a query: indices `start..end` of day `day_num`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub day_num: i64,
    pub start: u32,
    pub end: u32,
}

/// How many rows a day holds and how they spread over its UTC hours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DayPlan {
    /// Rows the day holds.
    pub n: u32,
    /// Relative volume by UTC hour, fraud episodes' calls included (not all 0).
    pub hours: [u64; 24],
    /// The part of each hour's volume that is a fraud episode's calls.
    pub fraud: [u64; 24],
    /// Which of the tenant's episodes calls in each hour (when `fraud` is not 0).
    pub episode: [u8; 24],
}
/// Sub-steps of one weight unit: enough for every 100 ns tick of an hour to be reachable.
const STEPS: u128 = 1 << 40;
const SLOT_TAG: u64 = 0x534c_4f54;

/// The key time of row `index` of `n` on `day_num`, in ticks since the Unix epoch: its start (for
/// a Direct Routing row without a start, its invite; for an SMS, its `sentDateTime`). The first
/// row of a day is at exactly midnight and the last at the day's final tick (Direct Routing:
/// final millisecond).
pub(crate) fn key_ticks(
    seed: u64,
    function: Function,
    day_num: i64,
    index: u32,
    plan: &DayPlan,
) -> i64 {
    let n = plan.n;
    // Direct Routing timestamps have millisecond precision.
    let unit = match function {
        Function::DirectRouting => TICKS_PER_MS,
        _ => 1,
    };
    let units_per_day = TICKS_PER_DAY / unit;
    let in_day = if index == 0 {
        0
    } else if index + 1 == n {
        units_per_day - 1
    } else {
        let total: u128 = plan.hours.iter().map(|&w| u128::from(w)).sum::<u128>() * STEPS;
        let r = u128::from(hash(&[
            seed,
            SLOT_TAG,
            function.tag(),
            day_num as u64,
            u64::from(index),
        ]));
        // Stratified: position in [index/n, (index+1)/n) of the day's volume.
        let p = (u128::from(index) * total + r % total) / u128::from(n);
        let units_per_hour = (units_per_day / 24) as u128;
        let mut cumulative = 0;
        let mut t = 0;
        for (hour, &weight) in plan.hours.iter().enumerate() {
            let width = u128::from(weight) * STEPS;
            if p < cumulative + width {
                t = hour as u128 * units_per_hour + (p - cumulative) * units_per_hour / width;
                break;
            }
            cumulative += width;
        }
        // Only the first and last rows sit on the day's edges.
        (t as i64).clamp(1, units_per_day - 2)
    };
    day_num * TICKS_PER_DAY + in_day * unit
}

/// The rows whose key lies in `from..=last`, day by day, among the days in `days`: day `d` holds
/// `count(d)` rows whose keys `key(d, i)` never decrease with `i`.
pub(crate) fn select(
    days: Range<i64>,
    count: impl Fn(i64) -> u32,
    key: impl Fn(i64, u32) -> i64,
    from: i64,
    last: i64,
) -> Vec<Segment> {
    if last < from {
        return Vec::new();
    }
    let lo = from.div_euclid(TICKS_PER_DAY).max(days.start);
    let hi = last.div_euclid(TICKS_PER_DAY).min(days.end - 1);
    let mut segments = Vec::new();
    for day_num in lo..=hi {
        let n = count(day_num);
        let start = partition(n, |i| key(day_num, i) < from);
        let end = partition(n, |i| key(day_num, i) <= last);
        if start < end {
            segments.push(Segment {
                day_num,
                start,
                end,
            });
        }
    }
    segments
}

/// The first index in `0..n` for which `pred` is false (`pred` must be true, then false).
fn partition(n: u32, pred: impl Fn(u32) -> bool) -> u32 {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat tenant's day of `n` rows, office hours busier than nights.
    pub(crate) fn plan(n: u32) -> DayPlan {
        DayPlan {
            n,
            hours: [
                2, 1, 1, 1, 1, 2, 4, 10, 20, 28, 30, 29, 24, 27, 30, 28, 24, 16, 9, 6, 5, 4, 3, 2,
            ],
            fraud: [0; 24],
            episode: [0; 24],
        }
    }

    #[test]
    fn times_are_sorted_and_pinned_to_the_day_edges() {
        for function in [Function::Pstn, Function::DirectRouting, Function::Sms] {
            for n in [1, 2, 3, 10, 1000] {
                let times: Vec<i64> = (0..n)
                    .map(|i| key_ticks(9, function, 20_000, i, &plan(n)))
                    .collect();
                assert!(times.windows(2).all(|w| w[0] <= w[1]), "{function:?} {n}");
                assert_eq!(times[0], 20_000 * TICKS_PER_DAY);
                if n > 1 {
                    let last = *times.last().unwrap();
                    let unit = if function == Function::DirectRouting {
                        TICKS_PER_MS
                    } else {
                        1
                    };
                    assert_eq!(last, 20_001 * TICKS_PER_DAY - unit);
                    assert!(
                        times[1..n as usize - 1]
                            .iter()
                            .all(|&t| t > times[0] && t < last)
                    );
                }
            }
        }
    }

    #[test]
    fn rows_follow_the_hours_of_the_plan() {
        let n = 10_000;
        let plan = plan(n);
        let hour = |i| (key_ticks(1, Function::Pstn, 0, i, &plan) / (TICKS_PER_DAY / 24)) as usize;
        let mut per_hour = [0u64; 24];
        for i in 0..n {
            per_hour[hour(i)] += 1;
        }
        let total: u64 = plan.hours.iter().sum();
        for (count, weight) in per_hour.iter().zip(plan.hours) {
            // Stratified: each hour holds its share of the rows, within one row each side.
            let share = u64::from(n) * weight;
            assert!((count * total).abs_diff(share) <= 2 * total, "{per_hour:?}");
        }
    }
}
