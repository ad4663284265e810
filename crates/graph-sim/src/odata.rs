//! Parsing Graph function-call URLs:
//! `/{v1.0|beta}/communications/callRecords/[microsoft.graph.callRecords.]getPstnCalls(fromDateTime=…,toDateTime=…)?$skip=N`
//! (or another [`Function`]'s name; the beta-only ones on beta only), and the `from=`/`to=` form
//! of Microsoft's documented next links.

use chrono::{DateTime, NaiveDate};

use crate::json::{TICKS_PER_DAY, TICKS_PER_SEC};
use crate::tenant::{ApiVersion, Function, day_number};

/// The longest range Graph serves.
pub(crate) const MAX_RANGE_DAYS: i64 = 90;

const NAMESPACE: &str = "microsoft.graph.callRecords.";

/// A parsed call-log query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CallQuery {
    pub version: ApiVersion,
    pub function: Function,
    /// `fromDateTime` in ticks since the Unix epoch.
    pub from: i64,
    /// `toDateTime` in ticks since the Unix epoch.
    pub to: i64,
    /// The literals, percent-encoded for echoing into next links.
    pub from_literal: String,
    pub to_literal: String,
    pub skip: u64,
}

/// Why a Graph URL was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a call-records function at all, or a beta-only one on v1.0 (Graph: 400 "Resource not
    /// found for the segment").
    UnknownSegment(String),
    /// The function was found but its arguments are wrong (400 BadRequest).
    BadArgument(String),
    /// A delta round's state token is too old or was not issued by the simulator (410 Gone
    /// `SyncStateNotFound`: the client must restart the sync).
    SyncStateNotFound,
}

/// Parses the raw (still percent-encoded) path and query of a Graph request.
pub(crate) fn parse(path: &str, query: Option<&str>) -> Result<CallQuery, Refusal> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let (version, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let version = ApiVersion::from_path_segment(version)
        .ok_or_else(|| Refusal::UnknownSegment(version.to_owned()))?;
    let call = percent_decode(
        rest.strip_prefix("communications/callRecords/")
            .ok_or_else(|| {
                Refusal::UnknownSegment(rest.split('/').next().unwrap_or_default().to_owned())
            })?,
    );
    let (name, args) = call.split_once('(').unwrap_or((&call, ""));
    let function = Function::from_graph_name(name.strip_prefix(NAMESPACE).unwrap_or(name))
        // v1.0 does not know the beta-only functions at all.
        .filter(|f| version == ApiVersion::Beta || !f.beta_only())
        .ok_or_else(|| Refusal::UnknownSegment(name.to_owned()))?;
    let args = args.strip_suffix(')').ok_or_else(|| {
        Refusal::BadArgument(format!(
            "Syntax error: the parameter list of '{name}' is not closed with ')'."
        ))
    })?;

    let (mut from, mut to) = (None, None);
    for arg in args.split(',').filter(|a| !a.is_empty()) {
        let (key, value) = arg.split_once('=').unwrap_or((arg, ""));
        let slot = match key.trim() {
            "fromDateTime" | "from" => &mut from,
            "toDateTime" | "to" => &mut to,
            other => {
                return Err(Refusal::BadArgument(format!(
                    "The parameter '{other}' is not in scope for function '{name}'."
                )));
            }
        };
        if slot.is_some() {
            return Err(Refusal::BadArgument(format!(
                "The parameter '{key}' is specified more than once."
            )));
        }
        *slot = Some((key.trim(), value.trim()));
    }
    let from = from.ok_or_else(|| missing("fromDateTime"))?;
    let to = to.ok_or_else(|| missing("toDateTime"))?;
    let from_ticks = parse_literal(from.0, from.1)?;
    let to_ticks = parse_literal(to.0, to.1)?;
    if to_ticks < from_ticks {
        return Err(Refusal::BadArgument(
            "toDateTime must not be earlier than fromDateTime.".to_owned(),
        ));
    }
    if to_ticks - from_ticks > MAX_RANGE_DAYS * TICKS_PER_DAY {
        return Err(Refusal::BadArgument(format!(
            "The requested date range exceeds the maximum of {MAX_RANGE_DAYS} days: query a shorter range."
        )));
    }
    Ok(CallQuery {
        version,
        function,
        from: from_ticks,
        to: to_ticks,
        from_literal: percent_encode(from.1),
        to_literal: percent_encode(to.1),
        skip: parse_skip(query)?,
    })
}

fn missing(name: &str) -> Refusal {
    Refusal::BadArgument(format!(
        "The parameter '{name}' is missing: it is required."
    ))
}

/// An unquoted OData date-time literal (`2026-11-01T00:00:00Z`, fractions and offsets allowed) or a
/// bare date (Microsoft's own next-link example uses `from=2019-11-01`), in ticks.
fn parse_literal(name: &str, value: &str) -> Result<i64, Refusal> {
    if value.is_empty() {
        return Err(Refusal::BadArgument(format!(
            "Invalid value for parameter '{name}': Expression expected at position 0 in ''."
        )));
    }
    if value.starts_with(['\'', '"']) {
        return Err(Refusal::BadArgument(format!(
            "Invalid value for parameter '{name}': the literal {value} is quoted; \
             a date-time literal is written unquoted, like 2026-11-01T00:00:00Z."
        )));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(value) {
        return Ok(dt.timestamp() * TICKS_PER_SEC + i64::from(dt.timestamp_subsec_nanos() / 100));
    }
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(day_number(day) * TICKS_PER_DAY);
    }
    Err(Refusal::BadArgument(format!(
        "Invalid value for parameter '{name}': '{value}' is not a valid Edm.DateTimeOffset literal."
    )))
}

fn parse_skip(query: Option<&str>) -> Result<u64, Refusal> {
    let mut skip = 0;
    for pair in query.unwrap_or_default().split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(key) == "$skip" {
            skip = percent_decode(value).parse().map_err(|_| {
                Refusal::BadArgument(format!(
                    "Invalid value '{value}' for query option $skip: a count is expected."
                ))
            })?;
        }
    }
    Ok(skip)
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes everything but unreserved characters and `:` (so `+` becomes `%2B`).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY1: &str = "2026-11-01T00:00:00Z";

    fn path(f: &str, args: &str) -> String {
        format!("/v1.0/communications/callRecords/{f}({args})")
    }

    #[test]
    fn both_names_and_both_argument_forms_parse() {
        for f in ["getPstnCalls", "microsoft.graph.callRecords.getPstnCalls"] {
            for args in [
                format!("fromDateTime={DAY1},toDateTime=2026-11-02T00:00:00Z"),
                format!("from={DAY1},to=2026-11-02T00:00:00Z"),
                format!("toDateTime=2026-11-02T00:00:00Z,fromDateTime={DAY1}"),
            ] {
                let q = parse(&path(f, &args), None).unwrap();
                assert_eq!(q.function, Function::Pstn);
                assert_eq!(q.to - q.from, TICKS_PER_DAY);
                assert_eq!(q.from_literal, DAY1);
            }
        }
        let q = parse(
            &path(
                "getDirectRoutingCalls",
                "from=2026-11-01T00%3A00%3A00.5Z,to=2026-11-01T02:00:00%2B01:00",
            ),
            Some("$skip=2000"),
        )
        .unwrap();
        assert_eq!(
            (q.function, q.version, q.skip),
            (Function::DirectRouting, ApiVersion::V1, 2000)
        );
        assert_eq!(q.to - q.from, 3600 * TICKS_PER_SEC - TICKS_PER_SEC / 2);
        assert_eq!(q.to_literal, "2026-11-01T02:00:00%2B01:00");
    }

    #[test]
    fn beta_only_functions_parse_on_beta_and_are_unknown_on_v1() {
        let args = format!("fromDateTime={DAY1},toDateTime=2026-11-02T00:00:00Z");
        for f in [
            Function::Sms,
            Function::BlockedUsers,
            Function::DialoutReport,
        ] {
            for name in [
                f.graph_name().to_owned(),
                format!("{NAMESPACE}{}", f.graph_name()),
            ] {
                let beta = format!("/beta/communications/callRecords/{name}({args})");
                let q = parse(&beta, Some("$skip=3")).unwrap();
                assert_eq!((q.function, q.version, q.skip), (f, ApiVersion::Beta, 3));
                assert_eq!(
                    parse(&path(&name, &args), None),
                    Err(Refusal::UnknownSegment(name.clone()))
                );
            }
        }
        for f in Function::CALLS {
            let beta = format!(
                "/beta/communications/callRecords/{}({args})",
                f.graph_name()
            );
            assert_eq!(parse(&beta, None).unwrap().function, f);
        }
    }

    #[test]
    fn bad_arguments_are_refused() {
        let bad = |args: &str| {
            matches!(
                parse(&path("getPstnCalls", args), None),
                Err(Refusal::BadArgument(_))
            )
        };
        assert!(bad(&format!(
            "fromDateTime='{DAY1}',toDateTime=2026-11-02T00:00:00Z"
        )));
        assert!(bad(&format!("fromDateTime=,toDateTime={DAY1}")));
        assert!(bad(&format!("fromDateTime=yesterday,toDateTime={DAY1}")));
        assert!(bad(&format!("fromDateTime={DAY1}")));
        assert!(bad(&format!(
            "fromDateTime={DAY1},toDateTime=2027-02-01T00:00:00Z"
        )));
        assert!(bad(&format!(
            "fromDateTime={DAY1},toDateTime=2026-10-01T00:00:00Z"
        )));
        assert!(
            !bad(&format!(
                "fromDateTime={DAY1},toDateTime=2027-01-30T00:00:00Z"
            )),
            "90 days is allowed"
        );
        assert!(matches!(
            parse("/v1.0/communications/callRecords/getSmsLog()", None),
            Err(Refusal::UnknownSegment(_))
        ));
        assert!(matches!(
            parse("/v1.0/communications/callRecords/getCallLog()", None),
            Err(Refusal::UnknownSegment(_))
        ));
        assert!(matches!(
            parse("/v2.0/x", None),
            Err(Refusal::UnknownSegment(_))
        ));
    }
}
