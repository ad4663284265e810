//! The simulated tenant: its configuration and the deterministic call-log rows it holds.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::blocked::{self, Block};
use crate::clock::{self, DayPlan, Segment};
use crate::data::{HIGH_COST, TRUNKS};
use crate::dialout::{self, Total};
use crate::directory::{Directory, DirectoryChange, DirectoryUser};
use crate::fraud::{self, Episode};
use crate::json::{self, TICKS_PER_DAY, TICKS_PER_SEC};
use crate::page::{self, PageRequest, Selection};
use crate::rhythm::{self, Traffic, UserPicker};
use crate::rng::{Rng, hash, mix};
use crate::{direct_routing, people, pstn, sms};

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
    /// Rows each day holds, for each call function ([`Function::CALLS`]): exactly with
    /// [`Traffic::Flat`], on average with [`Traffic::Business`]. The SMS log holds a twentieth
    /// of that (at least one a day when this is not 0).
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

/// A Graph call-records function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    /// `getPstnCalls`: Calling Plan, Operator Connect and conferencing rows (`pstnCallLogRow`).
    Pstn,
    /// `getDirectRoutingCalls`: rows of the customer's own SBCs (`directRoutingLogRow`).
    DirectRouting,
    /// `getSmsLog` (beta only): text messages the users sent and received (`smsLogRow`).
    Sms,
    /// `getPstnBlockedUsersLog` (beta only): users blocked from, and unblocked for, PSTN calls
    /// (`pstnBlockedUsersLogRow`).
    BlockedUsers,
    /// `getPstnOnlineMeetingDialoutReport` (beta only): audio-conferencing dial-out totals over
    /// the requested window, by user, usage location, destination context and currency
    /// (`pstnOnlineMeetingDialoutReport`).
    DialoutReport,
}

impl Function {
    /// Every function.
    pub const ALL: [Function; 5] = [
        Function::Pstn,
        Function::DirectRouting,
        Function::Sms,
        Function::BlockedUsers,
        Function::DialoutReport,
    ];

    /// The two call-log functions.
    pub const CALLS: [Function; 2] = [Function::Pstn, Function::DirectRouting];

    /// The function's name in a URL (`getPstnCalls`).
    pub fn graph_name(self) -> &'static str {
        match self {
            Self::Pstn => "getPstnCalls",
            Self::DirectRouting => "getDirectRoutingCalls",
            Self::Sms => "getSmsLog",
            Self::BlockedUsers => "getPstnBlockedUsersLog",
            Self::DialoutReport => "getPstnOnlineMeetingDialoutReport",
        }
    }

    /// The function whose URL name is `name` (without the `microsoft.graph.callRecords.` namespace).
    pub(crate) fn from_graph_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.graph_name() == name)
    }

    /// The row type's name (`pstnCallLogRow`), without the `microsoft.graph.callRecords.` namespace.
    pub fn row_type(self) -> &'static str {
        match self {
            Self::Pstn => "pstnCallLogRow",
            Self::DirectRouting => "directRoutingLogRow",
            Self::Sms => "smsLogRow",
            Self::BlockedUsers => "pstnBlockedUsersLogRow",
            Self::DialoutReport => "pstnOnlineMeetingDialoutReport",
        }
    }

    /// Whether `toDateTime` is inclusive: the PSTN documentation says so; Direct Routing's says
    /// exclusive, and the beta-only functions are served exclusive too.
    pub fn to_is_inclusive(self) -> bool {
        matches!(self, Self::Pstn)
    }

    /// Whether Graph serves the function only on `beta` (on `v1.0` it answers 400 "Resource not
    /// found for the segment").
    pub fn beta_only(self) -> bool {
        matches!(self, Self::Sms | Self::BlockedUsers | Self::DialoutReport)
    }

    pub(crate) fn tag(self) -> u64 {
        match self {
            Self::Pstn => 1,
            Self::DirectRouting => 2,
            Self::Sms => 3,
            Self::BlockedUsers => 4,
            Self::DialoutReport => 5,
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
///
/// Which fields are set depends on the function; those a function's rows do not have are `None`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct ExpectedRow {
    /// The row's `id`; a blocked-users row's `remediationId`; for a dial-out total, which has no
    /// id, `"{userId}|{usageLocation}|{destinationContext}|{currency}"`.
    pub id: String,
    /// The row's day: the UTC date of its start (of its invite when the start is null), of its
    /// `sentDateTime` (SMS) or `blockDateTime` (blocked users); for a dial-out total, the day
    /// whose one-day window it totals.
    pub day: NaiveDate,
    /// `charge` (PSTN), `callCharge` (SMS) or `totalCallCharge` (dial-out report), in millionths
    /// of the currency.
    pub charge_micros: Option<i128>,
    /// `connectionCharge` in millionths of the currency (PSTN only).
    pub connection_charge_micros: Option<i128>,
    /// `currency` (PSTN, SMS, dial-out report).
    pub currency: Option<String>,
    /// `duration` in seconds (PSTN, Direct Routing); `totalCallSeconds` (dial-out report).
    pub duration: Option<i32>,
    /// Whether the row is a call of a toll-fraud episode ([`Tenant::fraud_episodes`]).
    pub fraud: bool,
    /// `userPrincipalName` (`None` where the row names no user: bots, unassigned numbers).
    pub user_principal_name: Option<String>,
    /// `userId` (`None` where the row names no user).
    pub user_id: Option<String>,
    /// `smsUnits` (SMS); `totalCalls` (dial-out report).
    pub units: Option<i32>,
    /// `userBlockMode`, `blocked` or `unblocked` (blocked users).
    pub block_mode: Option<String>,
    /// `sentDateTime` (SMS), `blockDateTime` (blocked users), `startDateTime` (PSTN, and Direct
    /// Routing when not null).
    pub at: Option<DateTime<Utc>>,
    /// `usageLocation` (dial-out report); `usageCountryCode` (PSTN).
    pub usage_location: Option<String>,
    /// `destinationContext`: `Domestic` or `International` (SMS, dial-out report); PSTN rows'
    /// value as served, often null.
    pub destination_context: Option<String>,
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

/// The facts of one generated row that [`ExpectedRow`] reports (and the dial-out report sums).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RowFacts {
    /// The row's GUID (`id`, or `remediationId`); `None` for a dial-out total.
    pub id: Option<(u64, u64)>,
    pub charge_e4: Option<u64>,
    pub connection_charge_e4: Option<u64>,
    pub currency: Option<&'static str>,
    pub duration: Option<i32>,
    pub fraud: bool,
    /// The user (`0..USERS`) the row names, if any.
    pub user: Option<u64>,
    /// The row's time (see [`ExpectedRow::at`]), in ticks.
    pub at: Option<i64>,
    pub units: Option<i32>,
    pub block_mode: Option<&'static str>,
    pub usage_location: Option<&'static str>,
    /// `destinationContext` as written.
    pub destination_context: Option<&'static str>,
    /// Whether the other party is in another country than the usage country.
    pub international: bool,
}

/// A deterministic tenant: every row is a pure function of (seed, function, day, index).
#[derive(Clone, Debug)]
pub struct Tenant {
    config: TenantConfig,
    first_day_num: i64,
    pub(crate) trunks: Vec<&'static str>,
    /// Each day's plan for the call functions, in [`Function::CALLS`] order.
    plans: Arc<[Vec<DayPlan>; Function::CALLS.len()]>,
    /// Each day's plan of SMS.
    sms_plans: Arc<[DayPlan]>,
    picker: Arc<UserPicker>,
    episodes: Arc<[Episode]>,
    /// The served block and unblock actions, in time order.
    blocks: Arc<[Block]>,
    /// The dial-out totals of the last window asked for: pages of one window come one by one.
    dialout_cache: Arc<Mutex<Option<DialoutWindow>>>,
    /// The user directory and its changes.
    directory: Arc<Directory>,
}

/// A window of the dial-out report (`from`, `to`, in ticks) and its totals.
type DialoutWindow = (i64, i64, Arc<[Total]>);

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
        let (calls, sms) = plans(&config, first_day_num, &episodes);
        Self {
            plans: Arc::new(calls),
            sms_plans: sms.into(),
            picker: Arc::new(UserPicker::new(config.seed, config.traffic)),
            blocks: blocked::blocks(
                config.seed,
                config.traffic,
                first_day_num,
                config.days,
                &episodes,
            )
            .into(),
            episodes,
            dialout_cache: Arc::default(),
            directory: Arc::new(Directory::new(config.seed, first_day_num, config.days)),
            first_day_num,
            config,
            trunks,
        }
    }

    /// Rows `function` holds on `day` (0 outside the tenant's days); for the dial-out report, the
    /// totals of the one-day window `[day, day + 1)`.
    pub fn calls_on(&self, function: Function, day: NaiveDate) -> u32 {
        self.rows_on(function, day_number(day))
    }

    /// The toll-fraud episodes hidden in the PSTN rows (none for [`Traffic::Flat`]), in order;
    /// [`ExpectedRow::fraud`] marks their calls, and each leads to a `blocked` row of
    /// [`Function::BlockedUsers`].
    pub fn fraud_episodes(&self) -> Vec<FraudEpisode> {
        let time = |hour: i64| ticks_to_utc(hour * TICKS_PER_HOUR);
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

    /// The user directory on `day` (00:00 UTC, the changes of that day applied), sorted by `id`:
    /// what `GET /users` serves when the simulator's directory day is `day`
    /// ([`RunningSim::set_directory_day`](crate::RunningSim::set_directory_day)).
    ///
    /// Users `0..64` are the users of the rows, with their `userId`, `userPrincipalName` and
    /// `userDisplayName`. Days before the first one have the first day's directory, days after
    /// the last one the last day's. See [`Tenant::directory_changes`] for what changes when.
    pub fn directory(&self, day: NaiveDate) -> Vec<DirectoryUser> {
        self.directory.at(day_number(day))
    }

    /// Every change of the directory over the tenant's days, in (day, user id) order, each on a
    /// day from the tenant's second to its last (none when the tenant has fewer than 2 days):
    ///
    /// - 4 users move department ([`Moved`]: department, cost center and division change);
    /// - 1 other user is disabled ([`Disabled`]), each of these 5 on a day of its own drawn from
    ///   the seed (two may share a day);
    /// - a 65th user, who never places a call, is created on the middle day,
    ///   `first_day + days / 2` ([`Created`]); the directory does not hold it before (and never
    ///   does in a tenant of fewer than 2 days).
    ///
    /// Which users, which departments and which days follow from the seed (and the number of
    /// days) alone.
    ///
    /// [`Moved`]: crate::DirectoryChangeKind::Moved
    /// [`Disabled`]: crate::DirectoryChangeKind::Disabled
    /// [`Created`]: crate::DirectoryChangeKind::Created
    pub fn directory_changes(&self) -> Vec<DirectoryChange> {
        self.directory.changes()
    }

    /// The directory's model.
    pub(crate) fn user_directory(&self) -> &Directory {
        &self.directory
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

    /// Writes the rows of `day` as a JSON array (`[]` for a day without rows), in time order; for
    /// the dial-out report, the totals of the one-day window `[day, day + 1)`, in page order.
    /// `version` only shapes the call functions' rows: beta-only functions have one form.
    pub fn rows(&self, function: Function, version: ApiVersion, day: NaiveDate) -> Vec<u8> {
        let day_num = day_number(day);
        let n = self.rows_on(function, day_num);
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

    /// Appends row `index` of `day` (as [`Tenant::rows`] orders them) as a JSON object; `None`
    /// when the tenant has no such row.
    pub fn row_json(
        &self,
        function: Function,
        version: ApiVersion,
        day: NaiveDate,
        index: u32,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        let day_num = day_number(day);
        (index < self.rows_on(function, day_num)).then(|| {
            self.write_row(function, version, day_num, index, out);
        })
    }

    /// The rows whose day ([`ExpectedRow::day`]) lies in `from..=to_inclusive`, in order: what a
    /// correct client must land for those days.
    ///
    /// For the dial-out report, whose rows are totals over the requested window, these are the
    /// rows of each day's own one-day window `[day 00:00, day + 1 00:00)`, day by day: what a
    /// client that asks for one day at a time lands.
    pub fn expected(
        &self,
        function: Function,
        from: NaiveDate,
        to_inclusive: NaiveDate,
    ) -> Vec<ExpectedRow> {
        let users: Vec<(String, String)> = (0..people::USERS)
            .map(|u| {
                let user = people::user(self.config.seed, u);
                (user.upn(), json::guid_string(user.id.0, user.id.1))
            })
            .collect();
        let mut scratch = Vec::with_capacity(2048);
        let mut rows = Vec::new();
        let (lo, hi) = (
            day_number(from).max(self.first_day_num),
            day_number(to_inclusive),
        );
        for day_num in lo..=hi.min(self.end_day_num() - 1) {
            let day = date_of(day_num);
            if function == Function::DialoutReport {
                let totals =
                    self.dialout_totals(day_num * TICKS_PER_DAY, (day_num + 1) * TICKS_PER_DAY);
                rows.extend(
                    totals
                        .iter()
                        .map(|t| t.expected(&users[t.user as usize], day)),
                );
                continue;
            }
            for index in 0..self.rows_on(function, day_num) {
                scratch.clear();
                let facts = self.write_row(function, ApiVersion::V1, day_num, index, &mut scratch);
                let user = facts.user.map(|u| &users[u as usize]);
                let owned = |s: Option<&str>| s.map(str::to_owned);
                rows.push(ExpectedRow {
                    id: facts
                        .id
                        .map(|(hi, lo)| json::guid_string(hi, lo))
                        .unwrap_or_default(),
                    day,
                    charge_micros: facts.charge_e4.map(|v| i128::from(v) * 100),
                    connection_charge_micros: facts
                        .connection_charge_e4
                        .map(|v| i128::from(v) * 100),
                    currency: owned(facts.currency),
                    duration: facts.duration,
                    fraud: facts.fraud,
                    user_principal_name: user.map(|u| u.0.clone()),
                    user_id: user.map(|u| u.1.clone()),
                    units: facts.units,
                    block_mode: owned(facts.block_mode),
                    at: facts.at.map(ticks_to_utc),
                    usage_location: owned(facts.usage_location),
                    destination_context: owned(facts.destination_context),
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
    /// starts at exactly midnight. No 90-day limit applies here. A beta-only function's pages
    /// are its `beta` pages whatever `version` says.
    ///
    /// The dial-out report's rows are totals over the whole window: to write each day's own
    /// totals (what [`Tenant::expected`] lists), call this one day at a time
    /// (`from == to_inclusive`).
    pub fn write_pages(
        &self,
        function: Function,
        version: ApiVersion,
        from: NaiveDate,
        to_inclusive: NaiveDate,
        page_size: usize,
        mut sink: impl FnMut(Vec<u8>),
    ) {
        let version = if function.beta_only() {
            ApiVersion::Beta
        } else {
            version
        };
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

    /// The rows a query selects: `from <= key <= to` for PSTN, `from <= key < to` for the others,
    /// where the key is the start (or the invite when the start is null), the `sentDateTime` or
    /// the `blockDateTime`, in ticks. The dial-out report's rows are the window's totals.
    pub(crate) fn select(&self, function: Function, from: i64, to: i64) -> Selection {
        match function {
            Function::DialoutReport => Selection::Totals(self.dialout_totals(from, to)),
            _ => Selection::Days(self.select_days(function, from, to, function.to_is_inclusive())),
        }
    }

    /// The rows of `function` (not the dial-out report) whose key lies in `from..=to` when
    /// `inclusive`, `from..to` otherwise, day by day.
    pub(crate) fn select_days(
        &self,
        function: Function,
        from: i64,
        to: i64,
        inclusive: bool,
    ) -> Vec<Segment> {
        let last = if inclusive { to } else { to - 1 };
        let days = self.first_day_num..self.end_day_num();
        clock::select(
            days,
            |day_num| self.rows_on(function, day_num),
            |day_num, index| self.key_ticks(function, day_num, index),
            from,
            last,
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
            Function::Sms => sms::write_row(self, day_num, index, out),
            Function::BlockedUsers => {
                let id = self.row_id(function, day_num, index);
                blocked::write_row(self, &self.blocks_on(day_num)[index as usize], id, out)
            }
            Function::DialoutReport => {
                let totals =
                    self.dialout_totals(day_num * TICKS_PER_DAY, (day_num + 1) * TICKS_PER_DAY);
                dialout::write_total(self, &totals[index as usize], out)
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

    /// The row's `id`: the first half is a bijection of (function, day, index), so ids never
    /// collide. (The function takes bit 32 and bits 57 on: PSTN and Direct Routing keep the ids
    /// they had when there were only those two.)
    pub(crate) fn row_id(&self, function: Function, day_num: i64, index: u32) -> (u64, u64) {
        let tag = function.tag();
        let key = (((tag - 1) >> 1) << 57)
            | ((day_num as u64 & 0xff_ffff) << 33)
            | ((tag & 1) << 32)
            | u64::from(index);
        let hi = mix(key ^ mix(self.config.seed ^ ID_TAG));
        let lo = hash(&[
            self.config.seed,
            ID_TAG,
            tag,
            day_num as u64,
            u64::from(index),
        ]);
        (hi, lo)
    }

    /// The start (sent, block) time of a row, in ticks since the Unix epoch.
    pub(crate) fn slot_ticks(&self, function: Function, day_num: i64, index: u32) -> i64 {
        self.key_ticks(function, day_num, index)
    }

    /// The time that places a row in a query's range (not for the dial-out report).
    fn key_ticks(&self, function: Function, day_num: i64, index: u32) -> i64 {
        if function == Function::BlockedUsers {
            return self
                .blocks_on(day_num)
                .get(index as usize)
                .map_or(day_num * TICKS_PER_DAY, |b| b.ticks);
        }
        match self.plan(function, day_num) {
            Some(plan) => clock::key_ticks(self.config.seed, function, day_num, index, plan),
            None => day_num * TICKS_PER_DAY,
        }
    }

    /// Rows `function` holds on `day_num` (the dial-out report: the totals of that day's window).
    pub(crate) fn rows_on(&self, function: Function, day_num: i64) -> u32 {
        match function {
            Function::BlockedUsers => self.blocks_on(day_num).len() as u32,
            Function::DialoutReport if self.holds_day_num(day_num) => self
                .dialout_totals(day_num * TICKS_PER_DAY, (day_num + 1) * TICKS_PER_DAY)
                .len() as u32,
            _ => self.plan(function, day_num).map_or(0, |p| p.n),
        }
    }

    /// The user (`0..USERS`) making an ordinary call (or sending an SMS) that starts at `ticks`.
    pub(crate) fn pick_user(&self, ticks: i64, rng: &mut Rng) -> u64 {
        self.picker.pick(ticks, rng)
    }

    /// The fraud episode row `index` of `day_num`, starting at `ticks`, belongs to, if any.
    pub(crate) fn fraud_episode(&self, day_num: i64, index: u32, ticks: i64) -> Option<&Episode> {
        let plan = self.plan(Function::Pstn, day_num)?;
        let hour = (ticks - day_num * TICKS_PER_DAY) / TICKS_PER_HOUR;
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

    /// The dial-out totals of the window `from..to` (ticks), from the cache when it is the last
    /// window asked for.
    pub(crate) fn dialout_totals(&self, from: i64, to: i64) -> Arc<[Total]> {
        let cache = || {
            self.dialout_cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some((f, t, totals)) = cache().as_ref()
            && (*f, *t) == (from, to)
        {
            return totals.clone();
        }
        // Computed without the lock: concurrent windows do not wait for each other.
        let totals: Arc<[Total]> = dialout::totals(self, from, to).into();
        *cache() = Some((from, to, totals.clone()));
        totals
    }

    /// The served block actions of `day_num`, in time order.
    fn blocks_on(&self, day_num: i64) -> &[Block] {
        let (from, to) = (day_num * TICKS_PER_DAY, (day_num + 1) * TICKS_PER_DAY);
        let lo = self.blocks.partition_point(|b| b.ticks < from);
        let hi = self.blocks.partition_point(|b| b.ticks < to);
        &self.blocks[lo..hi]
    }

    fn plan(&self, function: Function, day_num: i64) -> Option<&DayPlan> {
        let k = usize::try_from(day_num - self.first_day_num).ok()?;
        match function {
            Function::Pstn => self.plans[0].get(k),
            Function::DirectRouting => self.plans[1].get(k),
            Function::Sms => self.sms_plans.get(k),
            Function::BlockedUsers | Function::DialoutReport => None,
        }
    }

    fn end_day_num(&self) -> i64 {
        self.first_day_num + i64::from(self.config.days)
    }

    fn holds_day_num(&self, day_num: i64) -> bool {
        (self.first_day_num..self.end_day_num()).contains(&day_num)
    }
}

const FRAUD_TAG: u64 = 0x4652_4144;
const TICKS_PER_HOUR: i64 = TICKS_PER_DAY / 24;

/// Each day's plan for the call functions (PSTN with fraud episodes' calls added to their hours,
/// then Direct Routing) and for SMS.
fn plans(
    config: &TenantConfig,
    first_day_num: i64,
    episodes: &[Episode],
) -> ([Vec<DayPlan>; Function::CALLS.len()], Vec<DayPlan>) {
    let utc_hours = UserPicker::utc_hours(config.seed);
    let base_sum: u64 = utc_hours.iter().sum();
    let mut pstn = Vec::with_capacity(config.days as usize);
    let mut direct_routing = Vec::with_capacity(config.days as usize);
    let mut sms_plans = Vec::with_capacity(config.days as usize);
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
        sms_plans.push(DayPlan {
            n: sms::per_day(config.calls_per_day, permille),
            ..plan.clone()
        });
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
    ([pstn, direct_routing], sms_plans)
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

/// The UTC time of `ticks` (100 ns since the Unix epoch).
pub(crate) fn ticks_to_utc(ticks: i64) -> DateTime<Utc> {
    let nanos = (ticks.rem_euclid(TICKS_PER_SEC) * 100) as u32;
    DateTime::from_timestamp(ticks.div_euclid(TICKS_PER_SEC), nanos).unwrap_or_default()
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
        // A flat tenant blocks nobody: its blocked-users log is `[]` whatever the seed.
        for f in Function::ALL
            .into_iter()
            .filter(|&f| f != Function::BlockedUsers)
        {
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
        for f in [Function::Pstn, Function::DirectRouting, Function::Sms] {
            for row in t.expected(f, t.config().first_day, last) {
                assert!(ids.insert(row.id), "duplicate id");
            }
        }
        assert_eq!(ids.len(), 2 * 3 * 500 + 3 * 25);
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
        let total = |f: Function, from: i64, to: i64| t.select(f, from, to).len();
        assert_eq!(total(Function::Pstn, from, to), 41);
        assert_eq!(total(Function::DirectRouting, from, to), 40);
        assert_eq!(total(Function::Sms, from, to), 2);
        assert_eq!(total(Function::Pstn, from, from), 1);
        assert_eq!(total(Function::DirectRouting, from, from), 0);
        assert_eq!(total(Function::Sms, from, from), 0);
        assert_eq!(total(Function::Pstn, to, from), 0);
    }
}

#[cfg(test)]
mod directory_tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;
    use crate::DirectoryChangeKind;

    fn month() -> Tenant {
        let first = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        Tenant::new(TenantConfig::new(42, first, 30, 300))
    }

    #[test]
    fn directory_users_are_the_users_of_the_rows() {
        let t = month();
        let directory = t.directory(t.config().last_day());
        let by_id: BTreeMap<&str, &DirectoryUser> =
            directory.iter().map(|u| (u.id.as_str(), u)).collect();
        let mut seen = BTreeMap::new();
        for function in [Function::Pstn, Function::DirectRouting, Function::Sms] {
            for day in t.days().take(3) {
                let rows: Value = serde_json::from_slice(&t.rows(function, ApiVersion::V1, day))
                    .expect("rows are JSON");
                for row in rows.as_array().unwrap() {
                    let Some(id) = row["userId"].as_str().filter(|id| !id.is_empty()) else {
                        continue;
                    };
                    let user = by_id
                        .get(id)
                        .unwrap_or_else(|| panic!("{id} not in directory"));
                    assert_eq!(row["userPrincipalName"], user.user_principal_name.as_str());
                    assert_eq!(row["userDisplayName"], user.display_name.as_str());
                    seen.insert(id.to_owned(), ());
                }
            }
        }
        assert!(seen.len() > 40, "{}", seen.len());
        // The created user places no call.
        let created = (t.directory_changes().into_iter())
            .find(|c| c.change == DirectoryChangeKind::Created)
            .unwrap();
        assert!(!seen.contains_key(&created.user_id));
        assert_eq!(t.directory(t.config().first_day), {
            let mut d = t.directory(t.config().first_day);
            d.retain(|u| u.id != created.user_id);
            d
        });
        assert_eq!(directory.len(), 65);
    }

    #[test]
    fn directory_changes_fall_inside_the_tenant_and_hold_from_their_day() {
        let t = month();
        let changes = t.directory_changes();
        let (first, last) = (t.config().first_day, t.config().last_day());
        let moves = changes
            .iter()
            .filter(|c| matches!(c.change, DirectoryChangeKind::Moved { .. }))
            .count();
        assert_eq!((moves, changes.len()), (4, 6));
        for change in &changes {
            assert!(first < change.day && change.day <= last, "{change:?}");
            let find = |day: NaiveDate| {
                t.directory(day)
                    .into_iter()
                    .find(|u| u.id == change.user_id)
            };
            let before = find(change.day - Duration::days(1));
            let from_day = find(change.day);
            assert_ne!(before, from_day, "{change:?}");
            assert_eq!(from_day, find(last + Duration::days(100)));
            if let DirectoryChangeKind::Moved {
                to_department,
                to_cost_center,
                ..
            } = &change.change
            {
                let user = from_day.unwrap();
                assert_eq!(user.department.as_ref(), Some(to_department));
                assert_eq!(user.cost_center.as_ref(), Some(to_cost_center));
            }
        }
        assert!(changes.windows(2).all(|w| w[0].day <= w[1].day));
        assert_eq!(t.directory(first - Duration::days(9)), t.directory(first));
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
