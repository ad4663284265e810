//! The periods `run` reports and alerts on: each is a range of whole UTC days that is over by
//! the run's day, named by a key the run log records (so a period is sent once).

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// How often a report is sent: each run sends the latest period that is over, if no earlier run
/// sent it (a run missed by cron is caught up by the next one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    /// Yesterday.
    Day,
    /// The 7 days before the latest given weekday (Monday: last Monday to Sunday).
    Week(Weekday),
    /// The last complete calendar month.
    Month,
}

/// A range of UTC days, both ends inclusive, and its name in the run log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub key: String,
}

impl Every {
    pub fn parse(every: &str, on: Option<&str>) -> Result<Every, String> {
        let every = match every {
            "day" => Every::Day,
            "week" => Every::Week(match on {
                None => Weekday::Mon,
                Some(day) => day.parse::<Weekday>().map_err(|_| {
                    format!("`{day}` is not a weekday (monday, tuesday, ... sunday)")
                })?,
            }),
            "month" => Every::Month,
            other => {
                return Err(format!(
                    "`{other}` is not a period: day (yesterday), week (the 7 days before `on`) \
                     or month (the last complete month)"
                ));
            }
        };
        if on.is_some() && !matches!(every, Every::Week(_)) {
            return Err("`on` (a weekday) only goes with every = \"week\"".into());
        }
        Ok(every)
    }

    /// The latest period over on `today`.
    pub fn latest(self, today: NaiveDate) -> Period {
        match self {
            Every::Day => day(today - Days::new(1)),
            Every::Week(on) => {
                let back =
                    (7 + today.weekday().num_days_from_monday() - on.num_days_from_monday()) % 7;
                let end = today - Days::new(u64::from(back)); // the latest `on`, today included
                let (from, to) = (end - Days::new(7), end - Days::new(1));
                Period {
                    from,
                    to,
                    key: format!("{from}..{to}"),
                }
            }
            Every::Month => {
                let first = today.with_day(1).expect("day 1");
                let to = first - Days::new(1);
                month_of(to.with_day(1).expect("day 1"), to)
            }
        }
    }
}

/// One day.
pub fn day(d: NaiveDate) -> Period {
    Period {
        from: d,
        to: d,
        key: d.to_string(),
    }
}

/// The month of `to`, from its first day to `to` (named by the month).
pub fn month_to(to: NaiveDate) -> Period {
    month_of(to.with_day(1).expect("day 1"), to)
}

fn month_of(from: NaiveDate, to: NaiveDate) -> Period {
    Period {
        from,
        to,
        key: from.format("%Y-%m").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_latest_period_is_over_and_a_missed_run_catches_it_up() {
        // 2026-12-01 is a Tuesday.
        let p = Every::Month.latest(d("2026-12-01"));
        assert_eq!(
            (p.from, p.to, p.key.as_str()),
            (d("2026-11-01"), d("2026-11-30"), "2026-11")
        );
        assert_eq!(Every::Month.latest(d("2026-12-31")).key, "2026-11");
        assert_eq!(Every::Month.latest(d("2027-01-01")).key, "2026-12");
        assert_eq!(Every::Month.latest(d("2026-03-15")).from, d("2026-02-01"));
        assert_eq!(Every::Month.latest(d("2026-03-15")).to, d("2026-02-28"));
        assert_eq!(Every::Day.latest(d("2026-12-01")), day(d("2026-11-30")));
        // Monday 2026-11-30: the week is Monday 23rd to Sunday 29th, on the Monday and after.
        for today in ["2026-11-30", "2026-12-01", "2026-12-06"] {
            let w = Every::Week(Weekday::Mon).latest(d(today));
            assert_eq!(
                (w.from, w.to),
                (d("2026-11-23"), d("2026-11-29")),
                "{today}"
            );
        }
        let w = Every::Week(Weekday::Mon).latest(d("2026-12-07"));
        assert_eq!(w.key, "2026-11-30..2026-12-06");
        let f = Every::Week(Weekday::Fri).latest(d("2026-12-01"));
        assert_eq!((f.from, f.to), (d("2026-11-20"), d("2026-11-26")));
        assert_eq!(month_to(d("2026-12-05")).key, "2026-12");
    }

    #[test]
    fn a_period_that_is_not_one_is_refused_naming_the_choices() {
        assert!(
            Every::parse("fortnight", None)
                .unwrap_err()
                .contains("day (yesterday)")
        );
        assert!(
            Every::parse("week", Some("someday"))
                .unwrap_err()
                .contains("weekday")
        );
        assert!(
            Every::parse("month", Some("monday"))
                .unwrap_err()
                .contains("only goes with")
        );
        assert_eq!(
            Every::parse("week", Some("friday")),
            Ok(Every::Week(Weekday::Fri))
        );
    }
}
