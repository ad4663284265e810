//! `pstnCallLogRow` generation: Calling Plan, Operator Connect, conferencing and bot calls.

use crate::data::{COUNTRIES, Country, HIGH_COST};
use crate::json::{self, Obj, TICKS_PER_SEC};
use crate::people::{self, NoUser, Number};
use crate::rhythm;
use crate::rng::{Rng, hash};
use crate::tenant::{ApiVersion, Function, RowFacts, Tenant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallType {
    UserIn,
    UserOut,
    ConfIn,
    ConfOut,
    Emergency,
    UcapIn,
    UcapOut,
}

const CALL_TYPES: [(CallType, &str, u32); 7] = [
    (CallType::UserIn, "user_in", 30),
    (CallType::UserOut, "user_out", 35),
    (CallType::ConfIn, "conf_in", 12),
    (CallType::ConfOut, "conf_out", 6),
    (CallType::Emergency, "emergency", 1),
    (CallType::UcapIn, "ucap_in", 9),
    (CallType::UcapOut, "ucap_out", 7),
];

impl CallType {
    fn outbound(self) -> bool {
        matches!(
            self,
            Self::UserOut | Self::ConfOut | Self::UcapOut | Self::Emergency
        )
    }

    fn bot(self) -> bool {
        matches!(self, Self::UcapIn | Self::UcapOut)
    }
}

const CALL_ID_TAG: u64 = 0x4341_4c4c;

/// Writes row `index` of `day_num` and returns its facts.
pub(crate) fn write_row(
    t: &Tenant,
    version: ApiVersion,
    day_num: i64,
    index: u32,
    out: &mut Vec<u8>,
) -> RowFacts {
    let seed = t.seed();
    let mut rng = Rng::new(t.row_seed(Function::Pstn, day_num, index));
    let id = t.row_id(Function::Pstn, day_num, index);
    let start = t.slot_ticks(Function::Pstn, day_num, index);
    let episode = t.fraud_episode(day_num, index, start);

    let (call_type, call_type_name, user_index) = match episode {
        // A compromised account dials out.
        Some(e) => (CallType::UserOut, "user_out", e.user),
        None => {
            let (call_type, name) = ordinary_call_type(&mut rng);
            (call_type, name, t.pick_user(start, &mut rng))
        }
    };
    let user = people::user(seed, user_index);
    let usage = user.country;

    // The other party: usually in the same country. Those who work with other countries call
    // them, mostly in office hours; a fraud episode calls high-cost ranges.
    let abroad = user.abroad();
    let (other, international_rate) = match episode {
        Some(e) => {
            let range = &HIGH_COST[e.destinations[rng.below(3) as usize]];
            (
                &range.country,
                Some(usage.international_rate_e4 * range.rate_percent / 100),
            )
        }
        None if call_type != CallType::Emergency
            && !abroad.is_empty()
            && rng.below(1000)
                < if rhythm::in_office_hours(start, usage.utc_offset_min) {
                    120
                } else {
                    6
                } =>
        {
            (
                &COUNTRIES[abroad[rng.below(abroad.len() as u64) as usize]],
                Some(usage.international_rate_e4 * rng.range(80, 140) / 100),
            )
        }
        None => (usage, None),
    };
    let international = international_rate.is_some();
    let mut other_number = Number::e164(other, people::national_number(other, &mut rng));
    if usage.masked {
        other_number = other_number.masked(4);
    }
    let own_number = match call_type {
        CallType::UserIn | CallType::UserOut | CallType::Emergency => user.number(),
        _ => people::service_number(seed, usage),
    };
    let (caller, callee) = match call_type {
        CallType::Emergency => (own_number, Number::Short(usage.emergency)),
        c if c.outbound() => (own_number, other_number),
        _ => (other_number, own_number),
    };

    let duration = match episode {
        // IRSF calls run long: the fraudster earns by the minute.
        Some(_) if rng.chance(10) => rng.range(14_401, 19_800) as u32,
        Some(_) => rng.range(900, 3_600) as u32,
        None => duration_secs(call_type, &mut rng),
    };
    let end = start + i64::from(duration) * TICKS_PER_SEC;
    let (charge, connection) = charges(call_type, usage, international_rate, duration, &mut rng);

    let mut obj = Obj::open(out);
    obj.guid("id", id.0, id.1);
    write_call_id(t, day_num, index, &mut rng, &mut obj);
    if call_type.bot() {
        if rng.chance(50) {
            NoUser::Null
        } else {
            NoUser::Empty
        }
        .write_fields(&mut obj);
    } else {
        user.write_fields(&mut obj);
    }
    obj.timestamp("startDateTime", start, 7);
    obj.timestamp("endDateTime", end, 7);
    obj.u64("duration", u64::from(duration));
    json::push_decimal(
        obj.key("charge"),
        charge,
        decimal_scale(charge, usage, &mut rng),
    );
    obj.str("callType", call_type_name);
    obj.str("currency", usage.currency);
    callee.write(obj.key("calleeNumber"));
    obj.str("usageCountryCode", usage.code);
    obj.str("tenantCountryCode", "US");
    json::push_decimal(
        obj.key("connectionCharge"),
        connection,
        decimal_scale(connection, usage, &mut rng),
    );
    caller.write(obj.key("callerNumber"));
    let context = match (
        call_type.outbound() && call_type != CallType::Emergency && rng.chance(40),
        international,
    ) {
        (false, _) => None,
        (true, true) => Some("International"),
        (true, false) => Some("Domestic"),
    };
    obj.opt_str("destinationContext", context);
    obj.str(
        "destinationName",
        if call_type.outbound() {
            other.name
        } else {
            usage.name
        },
    );
    if matches!(call_type, CallType::ConfIn | CallType::ConfOut) && rng.chance(70) {
        let key = obj.key("conferenceId");
        key.push(b'"');
        let mut hex = json::guid(rng.next_u64(), rng.next_u64()).to_vec();
        hex.retain(|&b| b != b'-');
        key.extend_from_slice(&hex);
        key.push(b'"');
    } else {
        obj.null("conferenceId");
    }
    let (license, inventory) = match call_type {
        CallType::ConfIn | CallType::ConfOut => ("MCOMEETADV", "Service"),
        CallType::UcapIn if rng.chance(20) => ("MCOEV_VIRTUALUSER", "TollFree"),
        CallType::UcapIn | CallType::UcapOut => ("MCOEV_VIRTUALUSER", "Service"),
        _ => (user.license, "Subscriber"),
    };
    obj.str("licenseCapability", license);
    obj.str("inventoryType", inventory);
    let operator_connect = usage.operator != "Microsoft" && rng.chance(25);
    obj.str(
        "operator",
        if operator_connect {
            usage.operator
        } else {
            "Microsoft"
        },
    );
    obj.str(
        "callDurationSource",
        if operator_connect {
            "operator"
        } else {
            "microsoft"
        },
    );
    if version == ApiVersion::Beta {
        obj.str("otherPartyCountryCode", other.code);
        people::write_client_ips(&mut rng, call_type.bot(), &mut obj);
        people::write_admin_units(seed, &mut rng, &mut obj);
    }
    obj.close();

    RowFacts {
        id: Some(id),
        charge_e4: Some(charge),
        connection_charge_e4: Some(connection),
        currency: Some(usage.currency),
        duration: Some(duration as i32),
        fraud: episode.is_some(),
        user: (!call_type.bot()).then_some(user_index),
        at: Some(start),
        usage_location: Some(usage.code),
        destination_context: context,
        international,
        ..RowFacts::default()
    }
}

/// The call type of a row outside fraud episodes: the first draw of the row's random stream.
fn ordinary_call_type(rng: &mut Rng) -> (CallType, &'static str) {
    let weights = CALL_TYPES.map(|(_, _, w)| w);
    let (call_type, name, _) = CALL_TYPES[rng.weighted(&weights)];
    (call_type, name)
}

/// Whether row `index` of `day_num` is a conference dial-out (`conf_out`), found without writing
/// the row.
pub(crate) fn is_conf_out(t: &Tenant, day_num: i64, index: u32) -> bool {
    let start = t.slot_ticks(Function::Pstn, day_num, index);
    if t.fraud_episode(day_num, index, start).is_some() {
        return false;
    }
    let mut rng = Rng::new(t.row_seed(Function::Pstn, day_num, index));
    ordinary_call_type(&mut rng).0 == CallType::ConfOut
}

/// `callId` is not unique: about 3% of rows repeat the previous row's call id (a transfer or a
/// re-recorded leg of the same call).
fn write_call_id(t: &Tenant, day_num: i64, index: u32, rng: &mut Rng, obj: &mut Obj<'_>) {
    let source = if index > 0 && rng.chance(3) {
        index - 1
    } else {
        index
    };
    let h = hash(&[t.row_seed(Function::Pstn, day_num, source), CALL_ID_TAG]);
    let h2 = hash(&[h, CALL_ID_TAG]);
    let out = obj.key("callId");
    if h % 10 < 7 {
        json::push_guid(out, h, h2);
    } else {
        out.push(b'"');
        json::push_u64(out, h >> 33);
        out.push(b'_');
        json::push_u64(out, h2 >> 35);
        out.push(b'@');
        for (k, shift) in [0, 8, 16, 24].into_iter().enumerate() {
            if k > 0 {
                out.push(b'.');
            }
            json::push_u64(out, (h2 >> shift) & 0xff);
        }
        out.push(b'"');
    }
}

/// Call length in seconds: roughly log-normal around 3 minutes, rarely over an hour, never
/// over 4 hours.
fn duration_secs(call_type: CallType, rng: &mut Rng) -> u32 {
    if call_type == CallType::Emergency {
        return rng.range(30, 900) as u32;
    }
    let secs = match rng.weighted(&[100, 400, 1400, 3100, 3300, 1480, 190, 25, 5]) {
        0 => 0,
        1 => rng.range(1, 10),
        2 => rng.range(10, 60),
        3 => rng.range(60, 180),
        4 => rng.range(180, 600),
        5 => rng.range(600, 1800),
        6 => rng.range(1800, 3600),
        7 => rng.range(3600, 7200),
        _ => rng.range(7200, 14_400),
    };
    secs as u32
}

/// `(charge, connectionCharge)` in ten-thousandths of the usage country's currency.
fn charges(
    call_type: CallType,
    usage: &Country,
    international_rate_e4: Option<u64>,
    duration: u32,
    rng: &mut Rng,
) -> (u64, u64) {
    if !call_type.outbound() || call_type == CallType::Emergency {
        return (0, 0);
    }
    // Domestic minutes are inside the calling plan's bundle, but for 1 call in 100 (a premium
    // or special number).
    let rate = match international_rate_e4 {
        Some(rate) => rate,
        None if rng.chance(1) => usage.domestic_rate_e4,
        None => 0,
    };
    // Currencies without minor units are charged in whole units.
    let rate = if usage.minor_digits == 0 {
        rate / 10_000 * 10_000
    } else {
        rate
    };
    let minutes = u64::from(duration).div_ceil(60);
    let charge = rate * minutes;
    let connection = if charge > 0 { usage.connection_e4 } else { 0 };
    (charge, connection)
}

/// The scale a charge is written at: the currency's minor digits, 4 when that is not exact,
/// and a bare `0` for some zero charges.
fn decimal_scale(value_e4: u64, country: &Country, rng: &mut Rng) -> u8 {
    if value_e4 == 0 {
        return if country.minor_digits == 0 || rng.chance(15) {
            0
        } else {
            2
        };
    }
    let minimal = match value_e4 {
        v if v % 10_000 == 0 => 0,
        v if v % 100 == 0 => 2,
        _ => 4,
    };
    minimal.max(country.minor_digits)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use serde_json::Value;

    use crate::tenant::{TenantConfig, day_number};

    use super::*;

    fn rows(version: ApiVersion, n: u32) -> Vec<Value> {
        let day = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        let t = Tenant::new(TenantConfig::new(42, day, 1, n));
        serde_json::from_slice::<Vec<Value>>(&t.rows(Function::Pstn, version, day)).unwrap()
    }

    const V1_KEYS: [&str; 23] = [
        "id",
        "callId",
        "userId",
        "userPrincipalName",
        "userDisplayName",
        "startDateTime",
        "endDateTime",
        "duration",
        "charge",
        "connectionCharge",
        "currency",
        "callType",
        "calleeNumber",
        "callerNumber",
        "usageCountryCode",
        "tenantCountryCode",
        "destinationContext",
        "destinationName",
        "conferenceId",
        "licenseCapability",
        "inventoryType",
        "operator",
        "callDurationSource",
    ];
    const BETA_KEYS: [&str; 6] = [
        "otherPartyCountryCode",
        "administrativeUnitInfos",
        "clientLocalIpV4Address",
        "clientLocalIpV6Address",
        "clientPublicIpV4Address",
        "clientPublicIpV6Address",
    ];

    #[test]
    fn rows_carry_exactly_the_documented_properties() {
        for row in rows(ApiVersion::V1, 50) {
            let obj = row.as_object().unwrap();
            assert_eq!(obj.len(), V1_KEYS.len());
            assert!(V1_KEYS.iter().all(|k| obj.contains_key(*k)));
        }
        for row in rows(ApiVersion::Beta, 50) {
            let obj = row.as_object().unwrap();
            assert_eq!(obj.len(), V1_KEYS.len() + BETA_KEYS.len());
            assert!(BETA_KEYS.iter().all(|k| obj.contains_key(*k)));
            assert!(
                obj["administrativeUnitInfos"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|u| u["id"].is_string())
            );
        }
    }

    #[test]
    fn rows_are_realistic() {
        let rows = rows(ApiVersion::V1, 2000);
        let text = |r: &Value, k: &str| r[k].as_str().map(str::to_owned);
        let types: std::collections::BTreeSet<_> =
            rows.iter().filter_map(|r| text(r, "callType")).collect();
        assert_eq!(types.len(), 7, "{types:?}");
        for r in &rows {
            let ct = text(r, "callType").unwrap();
            if ct.ends_with("_in") {
                assert_eq!(
                    r["charge"].as_f64(),
                    Some(0.0),
                    "inbound calls are free: {r}"
                );
            }
            if ct.starts_with("ucap") {
                assert!(matches!(text(r, "userId").as_deref(), None | Some("")));
            }
            let start = text(r, "startDateTime").unwrap();
            assert_eq!(start.len(), "2019-11-01T00:00:08.2589935Z".len(), "{start}");
            let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
            let secs = (parse(&text(r, "endDateTime").unwrap()) - parse(&start)).num_seconds();
            assert_eq!(Some(secs), r["duration"].as_i64());
        }
        assert!(
            rows.iter()
                .any(|r| text(r, "calleeNumber").unwrap().ends_with("****"))
        );
        assert!(rows.iter().any(|r| r["conferenceId"].is_string()));
        assert!(rows.iter().any(|r| r["destinationContext"].is_string()));
        let call_ids: std::collections::HashSet<_> =
            rows.iter().map(|r| text(r, "callId")).collect();
        assert!(call_ids.len() < rows.len(), "some callIds repeat");
        assert!(
            rows.iter()
                .any(|r| text(r, "callDurationSource").as_deref() == Some("operator"))
        );
        assert!(rows.iter().any(|r| r["charge"].as_f64().unwrap() > 0.0));
    }

    #[test]
    fn charges_are_written_exactly_and_match_expected() {
        let day = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        let t = Tenant::new(TenantConfig::new(5, day, 1, 3000));
        let expected = t.expected(Function::Pstn, day, day);
        let mut forms = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for (index, want) in expected.iter().enumerate() {
            out.clear();
            t.write_row(
                Function::Pstn,
                ApiVersion::V1,
                day_number(day),
                index as u32,
                &mut out,
            );
            let raw: serde_json::Map<String, Value> = serde_json::from_slice(&out).unwrap();
            assert_eq!(raw["id"].as_str(), Some(want.id.as_str()));
            // Read the raw JSON number text to check its exact decimal form.
            let text = String::from_utf8_lossy(&out).into_owned();
            let charge = number_text(&text, "\"charge\":");
            let decimals = charge.split('.').nth(1).map_or(0, str::len);
            assert!(decimals <= 4, "{charge}");
            assert_eq!(micros(&charge), want.charge_micros.unwrap(), "{charge}");
            let connection = number_text(&text, "\"connectionCharge\":");
            assert_eq!(micros(&connection), want.connection_charge_micros.unwrap());
            forms.insert(decimals);
        }
        assert!(
            forms.contains(&0) && forms.contains(&2) && forms.contains(&4),
            "{forms:?}"
        );
    }

    fn number_text(row: &str, key: &str) -> String {
        let rest = &row[row.find(key).unwrap() + key.len()..];
        rest[..rest.find([',', '}']).unwrap()].to_owned()
    }

    fn micros(text: &str) -> i128 {
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        let frac = format!("{frac:0<6}");
        whole.parse::<i128>().unwrap() * 1_000_000 + frac.parse::<i128>().unwrap()
    }
}
