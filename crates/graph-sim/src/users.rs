//! `GET /{v1.0|beta}/users` and `GET /{v1.0|beta}/users/delta`: the tenant's directory
//! ([`Tenant::directory`]) in Graph's paging, with `$select`, `$top` (or
//! `Prefer: odata.maxpagesize`) and opaque `$skiptoken` / `$deltatoken` state tokens.
//!
//! - `/users` serves the directory of the server's directory day, `$top` users a page (default
//!   100, at most 999); `@odata.nextLink` repeats `$select` and `$top` and adds a `$skiptoken`
//!   that also carries the day, so a listing started on one day ends on the same day's
//!   directory even when the directory day moves meanwhile.
//! - `/users/delta` without a token starts a round over every user; its next links are
//!   `…/users/delta?$skiptoken=…` and its last page carries `@odata.deltaLink`
//!   (`…/users/delta?$deltatoken=…`) instead, the token holding the day the round served.
//!   A delta link serves the users whose directory entry differs between that day and the
//!   server's current directory day (moved, disabled, created), each as its full selected
//!   object (Graph may send changed properties only; the full object is allowed), a user the
//!   current day's directory does not hold (the directory day moved back before its creation)
//!   as `{"id":…,"@removed":{"reason":"changed"}}`, then a fresh delta link; with no change, an
//!   empty `value` and a delta link.
//! - A delta or skip token of a delta round issued more than
//!   [`SimConfig::delta_token_max_age_days`](crate::SimConfig::delta_token_max_age_days) days of
//!   directory time before the current directory day, or one the simulator did not issue, is
//!   refused 410 `SyncStateNotFound`: the client must restart with a full `/users/delta`.
//!
//! The state tokens encode the selection and page size: query options next to them are ignored,
//! but a `Prefer: odata.maxpagesize=N` header sets the page size of any request.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::directory::DirectoryUser;
use crate::json::Obj;
use crate::odata::{Refusal, percent_decode};
use crate::rng::hash;
use crate::tenant::{ApiVersion, Tenant};

/// The `microsoft.graph.user` properties served, in the order rows and `@odata.context` list
/// them. Without `$select`, rows carry all of them (Graph's default set differs: it has
/// `businessPhones`, `mail`, … and lacks most of these).
pub(crate) const PROPERTIES: [&str; 13] = [
    "id",
    "userPrincipalName",
    "displayName",
    "department",
    "jobTitle",
    "companyName",
    "officeLocation",
    "city",
    "country",
    "usageLocation",
    "employeeId",
    "employeeOrgData",
    "accountEnabled",
];

/// Users a page without `$top` (Graph's default for users).
pub(crate) const DEFAULT_TOP: u16 = 100;
/// The largest `$top` Graph accepts for users.
pub(crate) const MAX_TOP: u16 = 999;

const TOKEN_TAG: u64 = 0x0054_4f4b_454e;
const TOKEN_VERSION: u8 = 1;
const TOKEN_LEN: usize = 2 + 8 + 8 + 4 + 2 + 2 + 8;

/// A `$select`: a bit per [`PROPERTIES`] entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Select {
    mask: u16,
    /// Whether the request had a `$select` (`@odata.context` lists the properties).
    explicit: bool,
}

impl Select {
    const ALL: u16 = (1 << PROPERTIES.len()) - 1;

    /// No `$select`: every property.
    pub(crate) fn everything() -> Self {
        Self {
            mask: Self::ALL,
            explicit: false,
        }
    }

    /// Parses `$select`'s (decoded) value: property names, comma-separated, in any case.
    pub(crate) fn parse(value: &str) -> Result<Self, Refusal> {
        let mut mask = 0;
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let k = PROPERTIES
                .iter()
                .position(|p| p.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    Refusal::BadArgument(format!(
                        "Could not find a property named '{name}' on type 'microsoft.graph.user'."
                    ))
                })?;
            mask |= 1 << k;
        }
        Ok(if mask == 0 {
            Self::everything()
        } else {
            Self {
                mask,
                explicit: true,
            }
        })
    }

    /// Whether rows carry property `k` of [`PROPERTIES`] (`id` always).
    fn serves(self, k: usize) -> bool {
        k == 0 || self.mask & (1 << k) != 0
    }

    /// The selected properties, comma-separated, in [`PROPERTIES`] order.
    fn list(self) -> String {
        (PROPERTIES.iter().enumerate())
            .filter(|(k, _)| self.mask & (1 << k) != 0)
            .map(|(_, p)| *p)
            .collect::<Vec<_>>()
            .join(",")
    }

    fn to_bits(self) -> u16 {
        self.mask | u16::from(self.explicit) << 15
    }

    fn from_bits(bits: u16) -> Option<Self> {
        let mask = bits & 0x7fff;
        (mask != 0 && mask & !Self::ALL == 0).then_some(Self {
            mask,
            explicit: bits >> 15 == 1,
        })
    }
}

/// What a state token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A `/users` `$skiptoken`.
    UsersSkip = 1,
    /// A `/users/delta` `$skiptoken`.
    DeltaSkip = 2,
    /// A `/users/delta` `$deltatoken`.
    DeltaLink = 3,
}

impl TokenKind {
    fn from_u8(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::UsersSkip),
            2 => Some(Self::DeltaSkip),
            3 => Some(Self::DeltaLink),
            _ => None,
        }
    }
}

/// What a state token carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct State {
    pub kind: TokenKind,
    /// The directory day (day number) the round serves (a skip token), or served (a delta token).
    pub day_num: i64,
    /// A delta round after a delta link serves the users changed after this day; `None`: every
    /// user.
    pub since: Option<i64>,
    /// Users of the round before the page.
    pub offset: u32,
    pub top: u16,
    pub select: Select,
}

impl State {
    /// The opaque token: the fields and a keyed check, base64url.
    pub(crate) fn encode(&self, key: u64) -> String {
        let mut bytes = Vec::with_capacity(TOKEN_LEN);
        bytes.push(TOKEN_VERSION);
        bytes.push(self.kind as u8);
        bytes.extend_from_slice(&self.day_num.to_le_bytes());
        bytes.extend_from_slice(&self.since.unwrap_or(i64::MIN).to_le_bytes());
        bytes.extend_from_slice(&self.offset.to_le_bytes());
        bytes.extend_from_slice(&self.top.to_le_bytes());
        bytes.extend_from_slice(&self.select.to_bits().to_le_bytes());
        bytes.extend_from_slice(&check(key, &bytes).to_le_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The state of a token [`State::encode`] made with `key`; `None` for any other text.
    pub(crate) fn decode(token: &str, key: u64) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        if bytes.len() != TOKEN_LEN || bytes[0] != TOKEN_VERSION {
            return None;
        }
        let (body, mac) = bytes.split_at(TOKEN_LEN - 8);
        if u64::from_le_bytes(mac.try_into().ok()?) != check(key, body) {
            return None;
        }
        let i64_at = |at: usize| body[at..at + 8].try_into().ok().map(i64::from_le_bytes);
        let u16_at = |at: usize| body[at..at + 2].try_into().ok().map(u16::from_le_bytes);
        let since = i64_at(10)?;
        Some(Self {
            kind: TokenKind::from_u8(body[1])?,
            day_num: i64_at(2)?,
            since: (since != i64::MIN).then_some(since),
            offset: body[18..22].try_into().ok().map(u32::from_le_bytes)?,
            top: u16_at(22)?.clamp(1, MAX_TOP),
            select: Select::from_bits(u16_at(24)?)?,
        })
    }
}

/// The keyed check of a token's bytes.
fn check(key: u64, bytes: &[u8]) -> u64 {
    let mut words = vec![key, TOKEN_TAG];
    words.extend(bytes.chunks(8).map(|c| {
        let mut word = [0u8; 8];
        word[..c.len()].copy_from_slice(c);
        u64::from_le_bytes(word)
    }));
    hash(&words)
}

/// The key state tokens of the tenant seeded `seed` are checked with.
pub(crate) fn token_key(seed: u64) -> u64 {
    hash(&[seed, TOKEN_TAG])
}

/// A parsed directory request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UsersQuery {
    pub version: ApiVersion,
    /// `/users/delta` rather than `/users`.
    pub delta: bool,
    pub start: Start,
}

/// Where a request starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// A first page: the selection and page size of the query.
    First { select: Select, top: u16 },
    /// A page of a next link or delta link: its token's state.
    Resume(State),
}

/// Parses a directory request from its raw (percent-encoded) path and query and its `Prefer`
/// header values; `None` when the path is not `/{v1.0|beta}/users` or
/// `/{v1.0|beta}/users/delta` (also `delta()`, `microsoft.graph.delta`).
pub(crate) fn parse(
    path: &str,
    query: Option<&str>,
    prefer: Option<&str>,
    key: u64,
) -> Option<Result<UsersQuery, Refusal>> {
    let rest = path.strip_prefix('/')?;
    let (version, rest) = rest.split_once('/')?;
    let version = ApiVersion::from_path_segment(version)?;
    let rest = percent_decode(rest);
    let delta = match rest.trim_end_matches('/') {
        "users" => false,
        "users/delta"
        | "users/delta()"
        | "users/microsoft.graph.delta"
        | "users/microsoft.graph.delta()" => true,
        _ => return None,
    };
    Some(
        parse_options(query, prefer, delta, key).map(|start| UsersQuery {
            version,
            delta,
            start,
        }),
    )
}

fn parse_options(
    query: Option<&str>,
    prefer: Option<&str>,
    delta: bool,
    key: u64,
) -> Result<Start, Refusal> {
    let (mut select, mut top, mut token) = (Select::everything(), None, None);
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (percent_decode(name), percent_decode(value));
        match name.as_str() {
            "$select" => select = Select::parse(&value)?,
            "$top" => top = Some(parse_top(&value)?),
            "$skiptoken" => token = Some((false, value)),
            "$deltatoken" if delta => token = Some((true, value)),
            other if other.starts_with('$') => {
                return Err(Refusal::BadArgument(format!(
                    "Query option '{other}' is not supported here."
                )));
            }
            _ => {}
        }
    }
    let prefer = prefer.and_then(max_page_size);
    let Some((is_delta_token, token)) = token else {
        let top = top.or(prefer);
        return Ok(Start::First {
            select,
            top: top.unwrap_or(DEFAULT_TOP),
        });
    };
    let wanted = match (delta, is_delta_token) {
        (false, _) => TokenKind::UsersSkip,
        (true, false) => TokenKind::DeltaSkip,
        (true, true) => TokenKind::DeltaLink,
    };
    match State::decode(&token, key).filter(|s| s.kind == wanted) {
        Some(state) => Ok(Start::Resume(State {
            top: prefer.unwrap_or(state.top),
            ..state
        })),
        None if delta => Err(Refusal::SyncStateNotFound),
        None => Err(Refusal::BadArgument(
            "The $skiptoken is not valid: follow @odata.nextLink as served.".to_owned(),
        )),
    }
}

/// `$top`: 1 to 999.
fn parse_top(value: &str) -> Result<u16, Refusal> {
    value
        .parse::<u16>()
        .ok()
        .filter(|top| (1..=MAX_TOP).contains(top))
        .ok_or_else(|| {
            Refusal::BadArgument(format!(
                "Invalid page size specified: '{value}'. Must be between 1 and {MAX_TOP} inclusive."
            ))
        })
}

/// `odata.maxpagesize=N` of a `Prefer` header, capped at 999.
fn max_page_size(prefer: &str) -> Option<u16> {
    prefer
        .split([',', ';'])
        .filter_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        .find_map(|n| n.trim().parse::<u64>().ok())
        .map(|n| n.clamp(1, u64::from(MAX_TOP)) as u16)
}

/// What the server knows when it renders a directory page.
#[derive(Debug)]
pub(crate) struct Env<'a> {
    /// Base URL for `@odata.context`.
    pub context_base: &'a str,
    /// Base URL for next and delta links.
    pub next_base: &'a str,
    /// The server's current directory day (day number).
    pub directory_day: i64,
    /// Delta tokens issued more days than this before the directory day are refused.
    pub max_age_days: u32,
    /// Link every page to itself instead of the next page.
    pub repeat_next_link: bool,
    /// The state tokens' key ([`token_key`]).
    pub key: u64,
}

/// A rendered directory page.
#[derive(Debug)]
pub(crate) struct UsersPage {
    pub body: Vec<u8>,
    /// Users (and removals) in it.
    pub rows: usize,
}

/// One entry of a page.
enum Row<'a> {
    User(&'a DirectoryUser),
    /// `{"id":…,"@removed":{"reason":"changed"}}`.
    Removed(&'a str),
}

/// Renders the page `query` asks for, or refuses a delta token that is too old
/// ([`Refusal::SyncStateNotFound`]).
pub(crate) fn render(
    tenant: &Tenant,
    query: &UsersQuery,
    env: &Env<'_>,
) -> Result<UsersPage, Refusal> {
    let state = round_state(query, env)?;
    let directory = tenant.user_directory();
    let users = directory.at(state.day_num);
    let changed;
    let rows: Vec<Row<'_>> = match state.since {
        None => users.iter().map(Row::User).collect(),
        Some(since) => {
            changed = directory.changed_between(since, state.day_num);
            (changed.iter())
                .map(
                    |&id| match users.binary_search_by(|u| u.id.as_str().cmp(id)) {
                        Ok(k) => Row::User(&users[k]),
                        Err(_) => Row::Removed(id),
                    },
                )
                .collect()
        }
    };
    let first = (state.offset as usize).min(rows.len());
    let page = &rows[first..(first + usize::from(state.top)).min(rows.len())];
    let next_offset = first + page.len();
    let link = if env.repeat_next_link {
        Some(("@odata.nextLink", link(query, &state, env)))
    } else if next_offset < rows.len() {
        let next = State {
            offset: next_offset as u32,
            ..state
        };
        Some(("@odata.nextLink", link(query, &next, env)))
    } else if query.delta {
        let delta = State {
            kind: TokenKind::DeltaLink,
            since: None,
            offset: 0,
            ..state
        };
        Some(("@odata.deltaLink", link(query, &delta, env)))
    } else {
        None
    };

    let mut body = Vec::with_capacity(512 + page.len() * 600);
    let mut obj = Obj::open(&mut body);
    let mut context = format!(
        "{}/{}/$metadata#users",
        env.context_base,
        query.version.path_segment()
    );
    if state.select.explicit {
        context.push('(');
        context.push_str(&state.select.list());
        context.push(')');
    }
    obj.str("@odata.context", &context);
    // Odd pages put the link first, even ones last, like the call-record pages.
    let link_first = (first / usize::from(state.top)).is_multiple_of(2);
    if let (Some((name, url)), true) = (&link, link_first) {
        obj.str(name, url);
    }
    let out = obj.key("value");
    out.push(b'[');
    for (k, row) in page.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        match row {
            Row::User(user) => write_user(user, state.select, out),
            Row::Removed(id) => {
                let mut removed = Obj::open(out);
                removed.str("id", id);
                removed
                    .key("@removed")
                    .extend_from_slice(br#"{"reason":"changed"}"#);
                removed.close();
            }
        }
    }
    out.push(b']');
    if let (Some((name, url)), false) = (&link, link_first) {
        obj.str(name, url);
    }
    obj.close();
    Ok(UsersPage {
        body,
        rows: page.len(),
    })
}

/// The state of the round the page belongs to: a new round for a first page or a delta link
/// (whose age is checked), the token's own for a next link (a delta round's age checked too).
fn round_state(query: &UsersQuery, env: &Env<'_>) -> Result<State, Refusal> {
    let kind = if query.delta {
        TokenKind::DeltaSkip
    } else {
        TokenKind::UsersSkip
    };
    let state = match query.start {
        Start::First { select, top } => State {
            kind,
            day_num: env.directory_day,
            since: None,
            offset: 0,
            top,
            select,
        },
        Start::Resume(state) => state,
    };
    if state.kind == TokenKind::UsersSkip {
        return Ok(state);
    }
    if env.directory_day - state.day_num > i64::from(env.max_age_days) {
        return Err(Refusal::SyncStateNotFound);
    }
    Ok(match state.kind {
        TokenKind::DeltaLink => State {
            kind,
            day_num: env.directory_day,
            since: Some(state.day_num),
            offset: 0,
            ..state
        },
        _ => state,
    })
}

/// The link to the page of `state`.
fn link(query: &UsersQuery, state: &State, env: &Env<'_>) -> String {
    let token = state.encode(env.key);
    let base = format!("{}/{}/users", env.next_base, query.version.path_segment());
    match state.kind {
        TokenKind::UsersSkip => {
            let mut url = base + "?";
            if state.select.explicit {
                url.push_str("$select=");
                url.push_str(&state.select.list());
                url.push('&');
            }
            if state.top != DEFAULT_TOP {
                url.push_str(&format!("$top={}&", state.top));
            }
            url + "$skiptoken=" + &token
        }
        TokenKind::DeltaSkip => format!("{base}/delta?$skiptoken={token}"),
        TokenKind::DeltaLink => format!("{base}/delta?$deltatoken={token}"),
    }
}

/// Writes a user with the selected properties, in [`PROPERTIES`] order.
fn write_user(user: &DirectoryUser, select: Select, out: &mut Vec<u8>) {
    let mut obj = Obj::open(out);
    for (k, name) in PROPERTIES.iter().enumerate() {
        if !select.serves(k) {
            continue;
        }
        match k {
            0 => obj.str(name, &user.id),
            1 => obj.str(name, &user.user_principal_name),
            2 => obj.str(name, &user.display_name),
            3 => obj.opt_str(name, user.department.as_deref()),
            4 => obj.opt_str(name, user.job_title.as_deref()),
            5 => obj.opt_str(name, user.company_name.as_deref()),
            6 => obj.opt_str(name, user.office_location.as_deref()),
            7 => obj.opt_str(name, user.city.as_deref()),
            8 => obj.opt_str(name, user.country.as_deref()),
            9 => obj.opt_str(name, user.usage_location.as_deref()),
            10 => obj.opt_str(name, user.employee_id.as_deref()),
            11 => match (&user.cost_center, &user.division) {
                (None, None) => obj.null(name),
                (cost_center, division) => {
                    let out = obj.key(name);
                    let mut org = Obj::open(out);
                    org.opt_str("costCenter", cost_center.as_deref());
                    org.opt_str("division", division.as_deref());
                    org.close();
                }
            },
            _ => obj.bool(name, user.account_enabled),
        }
    }
    obj.close();
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use serde_json::Value;

    use super::*;
    use crate::tenant::{TenantConfig, day_number};

    const KEY: u64 = 99;

    fn tenant() -> Tenant {
        let first = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        Tenant::new(TenantConfig::new(42, first, 30, 10))
    }

    fn env(day_num: i64) -> Env<'static> {
        Env {
            context_base: "https://graph.microsoft.com",
            next_base: "https://graph.microsoft.com",
            directory_day: day_num,
            max_age_days: 30,
            repeat_next_link: false,
            key: KEY,
        }
    }

    fn query(url: &str) -> Result<UsersQuery, Refusal> {
        let (path, query) = url
            .split_once('?')
            .map_or((url, None), |(p, q)| (p, Some(q)));
        parse(path, query, None, KEY).expect("a users path")
    }

    fn page(t: &Tenant, url: &str, day_num: i64) -> Value {
        let page = render(t, &query(url).unwrap(), &env(day_num)).unwrap();
        serde_json::from_slice(&page.body).unwrap()
    }

    #[test]
    fn tokens_round_trip_and_refuse_what_was_not_issued() {
        let state = State {
            kind: TokenKind::DeltaLink,
            day_num: 20_000,
            since: Some(19_990),
            offset: 300,
            top: 7,
            select: Select::parse("displayName,ID").unwrap(),
        };
        let token = state.encode(KEY);
        assert_eq!(State::decode(&token, KEY), Some(state));
        assert_eq!(State::decode(&token, KEY + 1), None);
        assert_eq!(State::decode("not-a-token", KEY), None);
        let mut tampered = URL_SAFE_NO_PAD.decode(&token).unwrap();
        tampered[3] ^= 1;
        assert_eq!(State::decode(&URL_SAFE_NO_PAD.encode(tampered), KEY), None);
        let first = State {
            since: None,
            ..state
        };
        assert_eq!(State::decode(&first.encode(KEY), KEY), Some(first));
    }

    #[test]
    fn paths_and_options_parse() {
        assert_eq!(
            parse("/v1.0/communications/callRecords/x", None, None, KEY),
            None
        );
        assert_eq!(parse("/v1.0/users/abc", None, None, KEY), None);
        let q = query("/beta/users/microsoft.graph.delta()").unwrap();
        assert_eq!((q.version, q.delta), (ApiVersion::Beta, true));
        let q = query("/v1.0/users?$select=id,displayName&$top=10").unwrap();
        let Start::First { select, top } = q.start else {
            panic!("{q:?}")
        };
        assert_eq!((select.list(), top), ("id,displayName".to_owned(), 10));
        let prefer = parse(
            "/v1.0/users/delta",
            None,
            Some("odata.maxpagesize=5000"),
            KEY,
        );
        assert!(matches!(
            prefer,
            Some(Ok(UsersQuery {
                start: Start::First { top: 999, .. },
                ..
            }))
        ));
        for bad in [
            "$top=0",
            "$top=1000",
            "$select=id,mail",
            "$filter=x",
            "$skiptoken=x",
        ] {
            assert!(
                matches!(
                    query(&format!("/v1.0/users?{bad}")),
                    Err(Refusal::BadArgument(_))
                ),
                "{bad}"
            );
        }
        // A token's page size gives way to a `Prefer` header; its selection to nothing.
        let state = State {
            kind: TokenKind::DeltaLink,
            day_num: 20_000,
            since: None,
            offset: 0,
            top: 100,
            select: Select::everything(),
        };
        let resumed = parse(
            "/v1.0/users/delta",
            Some(&format!("$deltatoken={}&$select=id", state.encode(KEY))),
            Some("return=minimal, odata.maxpagesize=7"),
            KEY,
        );
        assert_eq!(
            resumed.unwrap().unwrap().start,
            Start::Resume(State { top: 7, ..state })
        );
        for bad in ["$skiptoken=x", "$deltatoken=x"] {
            assert_eq!(
                query(&format!("/v1.0/users/delta?{bad}")),
                Err(Refusal::SyncStateNotFound)
            );
        }
    }

    #[test]
    fn a_listing_pages_to_exactly_the_directory_with_the_selection() {
        let t = tenant();
        let day = day_number(NaiveDate::from_ymd_opt(2026, 11, 5).unwrap());
        let mut url = "/v1.0/users?$select=displayName,employeeOrgData&$top=10".to_owned();
        let mut ids = Vec::new();
        for n in 0.. {
            let page = page(&t, &url, day);
            assert_eq!(
                page["@odata.context"],
                "https://graph.microsoft.com/v1.0/$metadata#users(displayName,employeeOrgData)"
            );
            for row in page["value"].as_array().unwrap() {
                let keys: Vec<&str> = row
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(|k| k.as_str())
                    .collect();
                assert_eq!(keys, ["displayName", "employeeOrgData", "id"]);
                ids.push(row["id"].as_str().unwrap().to_owned());
            }
            assert!(page.get("@odata.deltaLink").is_none());
            match page["@odata.nextLink"].as_str() {
                Some(next) => {
                    assert!(next.starts_with(
                        "https://graph.microsoft.com/v1.0/users?$select=displayName,employeeOrgData&$top=10&$skiptoken="
                    ));
                    url = next
                        .trim_start_matches("https://graph.microsoft.com")
                        .to_owned();
                }
                None => {
                    assert_eq!(n, 6);
                    break;
                }
            }
        }
        let want: Vec<String> = t
            .directory(NaiveDate::from_ymd_opt(2026, 11, 5).unwrap())
            .into_iter()
            .map(|u| u.id)
            .collect();
        assert_eq!(ids, want);
    }

    #[test]
    fn a_user_is_written_as_graph_writes_it() {
        let t = tenant();
        let user = t.directory(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        let mut out = Vec::new();
        write_user(&user[0], Select::everything(), &mut out);
        let row: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(row.as_object().unwrap().len(), PROPERTIES.len());
        // In PROPERTIES order.
        let text = String::from_utf8(out).unwrap();
        let at: Vec<usize> = (PROPERTIES.iter())
            .map(|p| text.find(&format!("\"{p}\":")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(row["accountEnabled"], Value::Bool(user[0].account_enabled));
        match &user[0].cost_center {
            Some(cc) => assert_eq!(row["employeeOrgData"]["costCenter"], cc.as_str()),
            None => assert_eq!(row["employeeOrgData"], Value::Null),
        }
    }

    #[test]
    fn a_delta_link_serves_the_changes_since_its_day_and_ages_out() {
        let t = tenant();
        let first = day_number(t.config().first_day);
        let round = page(&t, "/v1.0/users/delta?$select=department", first);
        assert_eq!(round["value"].as_array().unwrap().len(), 64);
        let link = round["@odata.deltaLink"].as_str().unwrap();
        assert!(round.get("@odata.nextLink").is_none());
        let link = link.trim_start_matches("https://graph.microsoft.com");
        assert!(link.starts_with("/v1.0/users/delta?$deltatoken="));

        let last = first + 29;
        let changes = page(&t, link, last);
        let ids: Vec<&str> = (changes["value"].as_array().unwrap().iter())
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        let mut want: Vec<String> = t
            .directory_changes()
            .into_iter()
            .map(|c| c.user_id)
            .collect();
        want.sort();
        assert_eq!(ids, want);
        assert_eq!(
            changes["@odata.context"],
            "https://graph.microsoft.com/v1.0/$metadata#users(department)"
        );
        // Nothing changed since: an empty page and a delta link.
        let again = changes["@odata.deltaLink"].as_str().unwrap();
        let again = page(
            &t,
            again.trim_start_matches("https://graph.microsoft.com"),
            last,
        );
        assert_eq!(again["value"], Value::Array(vec![]));
        assert!(again["@odata.deltaLink"].is_string());
        // Back before the creation: the created user is removed.
        let back = page(&t, link, first + 30);
        assert_eq!(back["value"].as_array().unwrap().len(), want.len());
        let created = page(
            &t,
            changes["@odata.deltaLink"]
                .as_str()
                .unwrap()
                .trim_start_matches("https://graph.microsoft.com"),
            first,
        );
        let removed: Vec<&Value> = (created["value"].as_array().unwrap().iter())
            .filter(|r| r.get("@removed").is_some())
            .collect();
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0]["@removed"]["reason"], "changed");
        // 30 days of directory time is the limit.
        let q = query(link).unwrap();
        assert!(render(&t, &q, &env(first + 30)).is_ok());
        assert_eq!(
            render(&t, &q, &env(first + 31)).unwrap_err(),
            Refusal::SyncStateNotFound
        );
    }
}
