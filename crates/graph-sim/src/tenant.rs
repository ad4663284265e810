//! The simulated tenant: its configuration and the deterministic call-log rows it holds.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::clock::{self, DayPlan, Segment};
use crate::data::{HIGH_COST, TRUNKS};
use crate::fraud::{self, Episode};
use crate::json::{self, TICKS_PER_DAY};
use crate::page::{self, PageRequest};
use crate::rhythm::{self, Traffic, UserPicker};
use crate::rng::{Rng, hash, mix};
use crate::{direct_routing, people, pstn};

/// What the tenant looks like: which days hold calls and how many.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantConfig {
    /// Seed of every generated value; the same seed gives the same bytes.
    pub seed: u64,
    /// The first day with calls (UTC).
    pub first_day: NaiveDate,
    /// How many consecutive days hold calls.
    pub days: u32,
    /// Rows each day holds, for each function: exactly with [`Traffic::Flat`], on average with
    /// [`Traffic::Business`].
    pub calls_per_day: u32,
    /// The shape of the traffic over the days (default [`Traffic::Flat`]).
    pub traffic: Traffic,
}

impl Default for TenantConfig {
    /// Seed 42, the 30 days before today (UTC), 200 calls a day.
    fn default() -> Self {
        let today = Utc::now().date_naive();
        Self {
            seed: 42,
            first_day: today - Duration::days(30),
            days: 30,
            calls_per_day: 200,
            traffic: Traffic::Flat,
        }
    }
}

impl TenantConfig {
    /// A [`Traffic::Flat`] tenant of `days` days from `first_day` with `calls_per_day` rows a day.
    pub fn new(seed: u64, first_day: NaiveDate, days: u32, calls_per_day: u32) -> Self {
        Self {
            seed,
            first_day,
            days,
            calls_per_day,
            traffic: Traffic::Flat,
        }
    }

    /// Sets the shape of the traffic over the days.
    pub fn with_traffic(mut self, traffic: Traffic) -> Self {
        self.traffic = traffic;
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the first day with calls.
    pub fn with_first_day(mut self, first_day: NaiveDate) -> Self {
        self.first_day = first_day;
        self
    }

    /// Sets the number of days with calls.
    pub fn with_days(mut self, days: u32) -> Self {
        self.days = days;
        self
    }

    /// Sets the rows per day.
    pub fn with_calls_per_day(mut self, calls_per_day: u32) -> Self {
        self.calls_per_day = calls_per_day;
        self
    }

    /// The last day with calls (`first_day` when `days` is 0).
    pub fn last_day(&self) -> NaiveDate {
        self.first_day + Duration::days(i64::from(self.days.max(1)) - 1)
    }
}

/// A Graph call-log function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    /// `getPstnCalls`: Calling Plan, Operator Connect and conferencing rows (`pstnCallLogRow`).
    Pstn,
    /// `getDirectRoutingCalls`: rows of the customer's own SBCs (`directRoutingLogRow`).
    DirectRouting,
}

impl Function {
    /// Both functions.
    pub const ALL: [Function; 2] = [Function::Pstn, Function::DirectRouting];

    /// The function's name in a URL (`getPstnCalls`).
    pub fn graph_name(self) -> &'static str {
        match self {
            Self::Pstn => "getPstnCalls",
            Self::DirectRouting => "getDirectRoutingCalls",
        }
    }

    /// The row type's name (`pstnCallLogRow`), without the `microsoft.graph.callRecords.` namespace.
    pub fn row_type(self) -> &'static str {
        match self {
            Self::Pstn => "pstnCallLogRow",
            Self::DirectRouting => "directRoutingLogRow",
        }
    }

    /// Whether `toDateTime` is inclusive: the PSTN documentation says so, Direct Routing's says exclusive.
    pub fn to_is_inclusive(self) -> bool {
        matches!(self, Self::Pstn)
    }

    pub(crate) fn tag(self) -> u64 {
        match self {
            Self::Pstn => 1,
            Self::DirectRouting => 2,
        }
    }
}

/// A Graph API version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiVersion {
    /// `v1.0`.
    V1,
    /// `beta`: rows carry the beta-only properties too.
    Beta,
}

impl ApiVersion {
    /// The URL path segment (`v1.0`, `beta`).
    pub fn path_segment(self) -> &'static str {
        match self {
            Self::V1 => "v1.0",
            Self::Beta => "beta",
        }
    }

    /// Parses a URL path segment.
    pub fn from_path_segment(segment: &str) -> Option<Self> {
        match segment {
            "v1.0" => Some(Self::V1),
            "beta" => Some(Self::Beta),
            _ => None,
        }
    }
}

/// What a correct client must land for one row.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExpectedRow {
    /// The row's `id`.
    pub id: String,
    /// The row's day: the UTC date of its start (of its invite when the start is null).
    pub day: NaiveDate,
    /// `charge` in millionths of the currency (PSTN only).
    pub charge_micros: Option<i128>,
    /// `connectionCharge` in millionths of the currency (PSTN only).
    pub connection_charge_micros: Option<i128>,
    /// `currency` (PSTN only).
    pub currency: Option<String>,
    /// `duration` in seconds.
    pub duration: Option<i32>,
    /// Whether the row is a call of a toll-fraud episode ([`Tenant::fraud_episodes`]).
    pub fraud: bool,
}

/// A toll-fraud episode of a [`Traffic::Business`] tenant: the calls a compromised account made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FraudEpisode {
    /// The compromised user's `userPrincipalName`.
    pub user_principal_name: String,
    /// The `destinationName`s of the high-cost ranges it dialled.
    pub destinations: Vec<&'static str>,
    /// The start of the first hour with its calls.
    pub from: DateTime<Utc>,
    /// The end of the last hour with its calls.
    pub to: DateTime<Utc>,
}

/// The facts of one generated row that [`ExpectedRow`] reports.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowFacts {
    pub id: (u64, u64),
    pub charge_e4: Option<u64>,
    pub connection_charge_e4: Option<u64>,
    pub currency: Option<&'static str>,
    pub duration: Option<i32>,
    pub fraud: bool,
}

/// A deterministic tenant: every row is a pure function of (seed, function, day, index).
#[derive(Clone, Debug)]
pub struct Tenant {
    config: TenantConfig,
    first_day_num: i64,
    pub(crate) trunks: Vec<&'static str>,
    /// Each day's plan, PSTN then Direct Routing.
    plans: Arc<[Vec<DayPlan>; 2]>,
    picker: Arc<UserPicker>,
    episodes: Arc<[Episode]>,
}

const ID_TAG: u64 = 0x4944;

impl Tenant {
    /// Builds the tenant (cheap: rows are generated on demand).
    pub fn new(config: TenantConfig) -> Self {
        let first = (config.seed % TRUNKS.len() as u64) as usize;
        let count = 3 + (mix(config.seed) % 3) as usize;
        let trunks = (0..count)
            .map(|k| TRUNKS[(first + k) % TRUNKS.len()])
            .collect();
        let first_day_num = day_number(config.first_day);
        let episodes: Arc<[Episode]> = match config.traffic {
            Traffic::Flat => Arc::new([]),
            Traffic::Business => fraud::episodes(config.seed, first_day_num, config.days).into(),
        };
        Self {
            plans: Arc::new(plans(&config, first_day_num, &episodes)),
            picker: Arc::new(UserPicker::new(config.seed, config.traffic)),
            episodes,
            first_day_num,
            config,
            trunks,
        }
    }

    /// Rows `function` holds on `day` (0 outside the tenant's days).
    pub fn calls_on(&self, function: Function, day: NaiveDate) -> u32 {
        self.plan(function, day_number(day)).map_or(0, |p| p.n)
    }

    /// The toll-fraud episodes hidden in the PSTN rows (none for [`Traffic::Flat`]), in order;
    /// [`ExpectedRow::fraud`] marks their calls.
    pub fn fraud_episodes(&self) -> Vec<FraudEpisode> {
        const TICKS_PER_HOUR: i64 = TICKS_PER_DAY / 24;
        let time = |hour: i64| {
            DateTime::from_timestamp(hour * TICKS_PER_HOUR / json::TICKS_PER_SEC, 0)
                .unwrap_or_default()
        };
        self.episodes
            .iter()
            .map(|e| FraudEpisode {
                user_principal_name: people::user(self.config.seed, e.user).upn(),
                destinations: e
                    .destinations
                    .iter()
                    .map(|&d| HIGH_COST[d].country.name)
                    .collect(),
                from: time(e.hours.first().map_or(0, |h| h.0)),
                to: time(e.hours.last().map_or(0, |h| h.0 + 1)),
            })
            .collect()
    }

    /// The configuration the tenant was built from.
    pub fn config(&self) -> &TenantConfig {
        &self.config
    }

    /// The days that hold calls, in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        (0..self.config.days).map(|k| self.config.first_day + Duration::days(i64::from(k)))
    }

    /// Whether `day` holds calls.
    pub fn holds(&self, day: NaiveDate) -> bool {
        self.holds_day_num(day_number(day))
    }

    /// Writes the rows of `day` as a JSON array (`[]` for a day without calls), in start-time order.
    pub fn rows(&self, function: Function, version: ApiVersion, day: NaiveDate) -> Vec<u8> {
        let day_num = day_number(day);
        let n = self.plan(function, day_num).map_or(0, |p| p.n);
        let mut out = Vec::with_capacity((n as usize * 1100 + 2).min(page::MAX_RESERVE));
        out.push(b'[');
        for index in 0..n {
            if index > 0 {
                out.push(b',');
            }
            self.write_row(function, version, day_num, index, &mut out);
        }
        out.push(b']');
        out
    }

    /// Appends row `index` of `day` as a JSON object; `None` when the tenant has no such row.
    pub fn row_json(
        &self,
        function: Function,
        version: ApiVersion,
        day: NaiveDate,
        index: u32,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        let day_num = day_number(day);
        let n = self.plan(function, day_num).map_or(0, |p| p.n);
        (index < n).then(|| {
            self.write_row(function, version, day_num, index, out);
        })
    }

    /// The rows whose day (start date, or invite date when the start is null) lies in
    /// `from..=to_inclusive`, in order: what a correct client must land for those days.
    pub fn expected(
        &self,
        function: Function,
        from: NaiveDate,
        to_inclusive: NaiveDate,
    ) -> Vec<ExpectedRow> {
        let mut scratch = Vec::with_capacity(2048);
        let mut rows = Vec::new();
        let (lo, hi) = (
            day_number(from).max(self.first_day_num),
            day_number(to_inclusive),
        );
        for day_num in lo..=hi.min(self.end_day_num() - 1) {
            let day = date_of(day_num);
            for index in 0..self.plan(function, day_num).map_or(0, |p| p.n) {
                scratch.clear();
                let facts = self.write_row(function, ApiVersion::V1, day_num, index, &mut scratch);
                rows.push(ExpectedRow {
                    id: json::guid_string(facts.id.0, facts.id.1),
                    day,
                    charge_micros: facts.charge_e4.map(|v| i128::from(v) * 100),
                    connection_charge_micros: facts
                        .connection_charge_e4
                        .map(|v| i128::from(v) * 100),
                    currency: facts.currency.map(str::to_owned),
                    duration: facts.duration,
                    fraud: facts.fraud,
                });
            }
        }
        rows
    }

    /// Hands `sink` the page bodies the server serves for
    /// `{function}(fromDateTime={from}T00:00:00Z,toDateTime={to_inclusive + 1}T00:00:00Z)`, in order,
    /// with links on `https://graph.microsoft.com`.
    ///
    /// Like the server (and Graph), PSTN pages also hold the first row of the day after
    /// `to_inclusive` when the tenant has one, since PSTN's `toDateTime` is inclusive and that row
    /// starts at exactly midnight. No 90-day limit applies here.
    pub fn write_pages(
        &self,
        function: Function,
        version: ApiVersion,
        from: NaiveDate,
        to_inclusive: NaiveDate,
        page_size: usize,
        mut sink: impl FnMut(Vec<u8>),
    ) {
        let from_ticks = day_number(from) * TICKS_PER_DAY;
        let to_ticks = (day_number(to_inclusive) + 1) * TICKS_PER_DAY;
        let selection = self.select(function, from_ticks, to_ticks);
        let (from_literal, to_literal) = (midnight_literal(from_ticks), midnight_literal(to_ticks));
        let base = "https://graph.microsoft.com";
        let mut skip = 0;
        loop {
            let request = PageRequest {
                function,
                version,
                context_base: base,
                next_base: base,
                from_literal: &from_literal,
                to_literal: &to_literal,
                skip,
                page_size,
                repeat_next_link: false,
            };
            let page = page::render(self, &selection, &request);
            sink(page.body);
            match page.next_skip {
                Some(next) => skip = next,
                None => break,
            }
        }
    }

    /// The rows a query selects: `from <= key <= to` for PSTN, `from <= key < to` for Direct
    /// Routing, where the key is the start (or the invite when the start is null), in ticks.
    pub(crate) fn select(&self, function: Function, from: i64, to: i64) -> Vec<Segment> {
        let days = self.first_day_num..self.end_day_num();
        let plans = &self.plans[function_slot(function)];
        let first = self.first_day_num;
        clock::select(
            self.config.seed,
            days,
            |day_num| &plans[(day_num - first) as usize],
            function,
            from,
            to,
        )
    }

    /// Writes one row; the returned facts describe what was written.
    pub(crate) fn write_row(
        &self,
        function: Function,
        version: ApiVersion,
        day_num: i64,
        index: u32,
        out: &mut Vec<u8>,
    ) -> RowFacts {
        match function {
            Function::Pstn => pstn::write_row(self, version, day_num, index, out),
            Function::DirectRouting => {
                direct_routing::write_row(self, version, day_num, index, out)
            }
        }
    }

    pub(crate) fn seed(&self) -> u64 {
        self.config.seed
    }

    /// The seed of a row's random stream.
    pub(crate) fn row_seed(&self, function: Function, day_num: i64, index: u32) -> u64 {
        hash(&[
            self.config.seed,
            function.tag(),
            day_num as u64,
            u64::from(index),
        ])
    }

    /// The row's `id`: the first half is a bijection of (function, day, index), so ids never collide.
    pub(crate) fn row_id(&self, function: Function, day_num: i64, index: u32) -> (u64, u64) {
        let key =
            ((day_num as u64 & 0xff_ffff) << 33) | ((function.tag() & 1) << 32) | u64::from(index);
        let hi = mix(key ^ mix(self.config.seed ^ ID_TAG));
        let lo = hash(&[
            self.config.seed,
            ID_TAG,
            function.tag(),
            day_num as u64,
            u64::from(index),
        ]);
        (hi, lo)
    }

    /// The start time of a row, in ticks since the Unix epoch.
    pub(crate) fn slot_ticks(&self, function: Function, day_num: i64, index: u32) -> i64 {
        match self.plan(function, day_num) {
            Some(plan) => clock::key_ticks(self.config.seed, function, day_num, index, plan),
            None => day_num * TICKS_PER_DAY,
        }
    }

    /// Rows `function` holds on `day_num`.
    pub(crate) fn rows_on(&self, function: Function, day_num: i64) -> u32 {
        self.plan(function, day_num).map_or(0, |p| p.n)
    }

    /// The user (`0..USERS`) making an ordinary call that starts at `ticks`.
    pub(crate) fn pick_user(&self, ticks: i64, rng: &mut Rng) -> u64 {
        self.picker.pick(ticks, rng)
    }

    /// The fraud episode row `index` of `day_num`, starting at `ticks`, belongs to, if any.
    pub(crate) fn fraud_episode(&self, day_num: i64, index: u32, ticks: i64) -> Option<&Episode> {
        let plan = self.plan(Function::Pstn, day_num)?;
        let hour = (ticks - day_num * TICKS_PER_DAY) / (TICKS_PER_DAY / 24);
        let hour = usize::try_from(hour).ok().filter(|&h| h < 24)?;
        let fraud = plan.fraud[hour];
        (fraud > 0
            && hash(&[
                self.config.seed,
                FRAUD_TAG,
                day_num as u64,
                u64::from(index),
            ]) % plan.hours[hour]
                < fraud)
            .then(|| &self.episodes[usize::from(plan.episode[hour])])
    }

    fn plan(&self, function: Function, day_num: i64) -> Option<&DayPlan> {
        let k = usize::try_from(day_num - self.first_day_num).ok()?;
        self.plans[function_slot(function)].get(k)
    }

    fn end_day_num(&self) -> i64 {
        self.first_day_num + i64::from(self.config.days)
    }

    fn holds_day_num(&self, day_num: i64) -> bool {
        (self.first_day_num..self.end_day_num()).contains(&day_num)
    }
}

const FRAUD_TAG: u64 = 0x4652_4144;

fn function_slot(function: Function) -> usize {
    match function {
        Function::Pstn => 0,
        Function::DirectRouting => 1,
    }
}

/// Each day's plan for PSTN (fraud episodes' calls added to their hours) and Direct Routing.
fn plans(config: &TenantConfig, first_day_num: i64, episodes: &[Episode]) -> [Vec<DayPlan>; 2] {
    let utc_hours = UserPicker::utc_hours(config.seed);
    let base_sum: u64 = utc_hours.iter().sum();
    let mut pstn = Vec::with_capacity(config.days as usize);
    let mut direct_routing = Vec::with_capacity(config.days as usize);
    for day_num in first_day_num..first_day_num + i64::from(config.days) {
        let permille = rhythm::day_permille(
            config.seed,
            config.traffic,
            first_day_num,
            config.days,
            day_num,
        );
        let ordinary = ((u64::from(config.calls_per_day) * permille + 500) / 1000) as u32;
        let plan = DayPlan {
            n: ordinary,
            hours: utc_hours,
            fraud: [0; 24],
            episode: [0; 24],
        };
        direct_routing.push(plan.clone());
        let mut plan = plan;
        for (k, episode) in episodes.iter().enumerate() {
            for &(hour, calls) in &episode.hours {
                if hour.div_euclid(24) == day_num {
                    let h = hour.rem_euclid(24) as usize;
                    plan.fraud[h] += calls * base_sum;
                    plan.episode[h] = k as u8;
                    plan.n += calls as u32;
                }
            }
        }
        if plan.fraud.iter().any(|&f| f > 0) {
            // Volume in rows (times `base_sum`): the day's ordinary rows spread as usual, plus
            // the episode's calls in their hours.
            for (h, weight) in plan.hours.iter_mut().enumerate() {
                *weight = u64::from(ordinary) * utc_hours[h] + plan.fraud[h];
            }
        }
        pstn.push(plan);
    }
    [pstn, direct_routing]
}

/// Days since 1970-01-01.
pub(crate) fn day_number(day: NaiveDate) -> i64 {
    i64::from(day.num_days_from_ce()) - 719_163
}

/// The date of a day number.
pub(crate) fn date_of(day_num: i64) -> NaiveDate {
    let (y, m, d) = json::civil_from_days(day_num);
    NaiveDate::from_ymd_opt(y as i32, m, d).unwrap_or(NaiveDate::MIN)
}

/// `YYYY-MM-DDT00:00:00Z` for a midnight.
fn midnight_literal(ticks: i64) -> String {
    let mut out = Vec::with_capacity(20);
    json::push_timestamp(&mut out, ticks, 0);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(seed: u64, calls: u32) -> Tenant {
        Tenant::new(TenantConfig::new(
            seed,
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            3,
            calls,
        ))
    }

    #[test]
    fn day_numbers_round_trip() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert_eq!(day_number(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()), 0);
        assert_eq!(date_of(day_number(day)), day);
    }

    #[test]
    fn days_are_deterministic_per_seed() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        for f in Function::ALL {
            for v in [ApiVersion::V1, ApiVersion::Beta] {
                let a = tenant(7, 50).rows(f, v, day);
                assert_eq!(a, tenant(7, 50).rows(f, v, day));
                assert_ne!(a, tenant(8, 50).rows(f, v, day));
            }
        }
    }

    #[test]
    fn ids_are_unique_across_functions_and_days() {
        let t = tenant(1, 500);
        let last = t.config().last_day();
        let mut ids = std::collections::HashSet::new();
        for f in Function::ALL {
            for row in t.expected(f, t.config().first_day, last) {
                assert!(ids.insert(row.id), "duplicate id");
            }
        }
        assert_eq!(ids.len(), 2 * 3 * 500);
    }

    #[test]
    fn days_outside_the_tenant_are_empty() {
        let t = tenant(1, 10);
        let before = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        assert_eq!(t.rows(Function::Pstn, ApiVersion::V1, before), b"[]");
        assert!(t.expected(Function::Pstn, before, before).is_empty());
        assert_eq!(
            t.expected(
                Function::Pstn,
                before,
                t.config().last_day() + Duration::days(5)
            )
            .len(),
            30
        );
    }

    #[test]
    fn selection_honours_inclusive_and_exclusive_ends() {
        let t = tenant(3, 40);
        let d = day_number(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        let (from, to) = (d * TICKS_PER_DAY, (d + 1) * TICKS_PER_DAY);
        let total = |s: Vec<Segment>| s.iter().map(|s| s.end - s.start).sum::<u32>();
        assert_eq!(total(t.select(Function::Pstn, from, to)), 41);
        assert_eq!(total(t.select(Function::DirectRouting, from, to)), 40);
        assert_eq!(total(t.select(Function::Pstn, from, from)), 1);
        assert_eq!(total(t.select(Function::DirectRouting, from, from)), 0);
        assert_eq!(total(t.select(Function::Pstn, to, from)), 0);
    }
}

#[cfg(test)]
mod business_tests {
    use super::*;

    /// Monday 2 February 2026 for 12 weeks: February to April, no holiday in it.
    fn business() -> Tenant {
        let first = NaiveDate::from_ymd_opt(2026, 2, 2).unwrap();
        Tenant::new(TenantConfig::new(42, first, 84, 1000).with_traffic(Traffic::Business))
    }

    #[test]
    fn weekdays_are_busy_weekends_quiet_and_calls_per_day_is_the_average() {
        let t = business();
        let mut total = 0;
        for day in t.days() {
            let n = t.calls_on(Function::DirectRouting, day);
            total += n;
            if day.weekday().number_from_monday() <= 5 {
                assert!(n > 1_100, "{day}: {n}");
            } else {
                assert!(n < 300, "{day}: {n}");
            }
        }
        // 12 whole weeks: the trend is centred and the noise averages out.
        assert!(total.abs_diff(84_000) < 84_000 / 50, "{total}");
    }

    #[test]
    fn the_tenant_grows_month_by_month() {
        let t = business();
        let weekday_mean = |month: u32| {
            let days: Vec<u32> = t
                .days()
                .filter(|d| d.month() == month && d.weekday().number_from_monday() <= 5)
                .map(|d| t.calls_on(Function::DirectRouting, d))
                .collect();
            days.iter().sum::<u32>() / days.len() as u32
        };
        let (feb, mar, apr) = (weekday_mean(2), weekday_mean(3), weekday_mean(4));
        assert!(feb < mar && mar < apr, "{feb} {mar} {apr}");
    }

    #[test]
    fn fraud_episodes_hold_their_calls_and_only_pstn_has_them() {
        let t = business();
        let episodes = t.fraud_episodes();
        assert_eq!(episodes.len(), 3);
        let planned: u64 = t.episodes.iter().flat_map(|e| &e.hours).map(|h| h.1).sum();
        let (first, last) = (t.config().first_day, t.config().last_day());
        let fraud: Vec<ExpectedRow> = t
            .expected(Function::Pstn, first, last)
            .into_iter()
            .filter(|r| r.fraud)
            .collect();
        // Each row of an episode's hours is fraud with the episode's share of the hour's volume.
        let found = fraud.len() as u64;
        assert!(
            found.abs_diff(planned) * 5 < planned,
            "{found} of {planned}"
        );
        for row in &fraud {
            assert!(
                episodes
                    .iter()
                    .any(|e| (e.from.date_naive()..=e.to.date_naive()).contains(&row.day)),
                "{row:?}"
            );
            assert!(row.charge_micros.unwrap() > 0);
        }
        let pstn_rows: u32 = t.days().map(|d| t.calls_on(Function::Pstn, d)).sum();
        let dr_rows: u32 = t
            .days()
            .map(|d| t.calls_on(Function::DirectRouting, d))
            .sum();
        assert_eq!(u64::from(pstn_rows - dr_rows), planned);
        assert!(
            !t.expected(Function::DirectRouting, first, last)
                .iter()
                .any(|r| r.fraud)
        );
    }

    #[test]
    fn a_flat_tenant_has_neither_rhythm_nor_episodes() {
        let first = NaiveDate::from_ymd_opt(2026, 2, 2).unwrap();
        let t = Tenant::new(TenantConfig::new(42, first, 84, 1000));
        assert!(t.days().all(|d| t.calls_on(Function::Pstn, d) == 1000));
        assert!(t.fraud_episodes().is_empty());
    }
}
