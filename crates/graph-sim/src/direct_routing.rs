//! `directRoutingLogRow` generation: calls through the customer's own SBCs, successful or not.

use crate::data::{COUNTRIES, REGIONS, SIP_FAILURES};
use crate::json::{Obj, TICKS_PER_MS, TICKS_PER_SEC};
use crate::people::{self, NoUser, Number};
use crate::rng::Rng;
use crate::tenant::{ApiVersion, Function, RowFacts, Tenant};

/// (callType, inbound, weight).
const CALL_TYPES: [(&str, bool, u32); 5] = [
    ("ByotIn", true, 45),
    ("ByotOut", false, 38),
    ("ByotOutUserForwarding", false, 7),
    ("ByotInUserForwarding", true, 4),
    ("ByotOutUserTransfer", false, 6),
];

/// Successful calls' `failureDateTime`: Graph's way of writing null.
const NO_FAILURE: &str = "0001-01-01T00:00:00Z";

/// Writes row `index` of `day_num` and returns its facts.
pub(crate) fn write_row(
    t: &Tenant,
    version: ApiVersion,
    day_num: i64,
    index: u32,
    out: &mut Vec<u8>,
) -> RowFacts {
    let seed = t.seed();
    let mut rng = Rng::new(t.row_seed(Function::DirectRouting, day_num, index));
    let id = t.row_id(Function::DirectRouting, day_num, index);
    let key = t.slot_ticks(Function::DirectRouting, day_num, index);
    let edge = index == 0 || index + 1 == t.rows_on(Function::DirectRouting, day_num);

    let successful = rng.chance(85);
    let failure = SIP_FAILURES[rng.weighted(&SIP_FAILURES.map(|f| f.3))];
    // About 2% of rows (13% of failures) never started: only the invite places them in time.
    let no_start = !successful && !edge && rng.chance(13);
    let (start, invite) = if no_start {
        (None, key)
    } else {
        (
            Some(key),
            key - rng.range(100, 15_000) as i64 * TICKS_PER_MS,
        )
    };
    let duration = if successful {
        rng.range(1, 3600) as i64
    } else {
        0
    };

    let (call_type, inbound, _) = CALL_TYPES[rng.weighted(&CALL_TYPES.map(|c| c.2))];
    let user_index = t.pick_user(key, &mut rng);
    let user = people::user(seed, user_index);
    // Calls to numbers nobody holds have no user.
    let unassigned = inbound && !successful && failure.0 == 404;
    let other_index = if rng.chance(15) {
        rng.below(COUNTRIES.len() as u64) as usize
    } else {
        user.country_index
    };
    let other = &COUNTRIES[other_index];
    let other_national = people::national_number(other, &mut rng);
    // SBCs pass on whatever the carrier sent: sometimes not E.164 at all.
    let other_number = match rng.below(100) {
        0..=2 => Number::Local7(other_national),
        3 => Number::DoubleZero {
            country: other,
            national: other_national,
        },
        4 => Number::Sip(user.first.1),
        5..=14 => Number::e164(other, other_national).masked(3),
        _ => Number::e164(other, other_national),
    };
    let own_number = user.number();
    let (caller, callee) = if inbound {
        (other_number, own_number)
    } else {
        (own_number, other_number)
    };
    let trunk_index = rng.below(t.trunks.len() as u64) as usize;

    let mut obj = Obj::open(out);
    obj.guid("id", id.0, id.1);
    obj.guid("correlationId", rng.next_u64(), rng.next_u64());
    if unassigned {
        NoUser::Null.write_fields(&mut obj);
    } else {
        user.write_fields(&mut obj);
    }
    match start {
        Some(start) => obj.timestamp("startDateTime", start, 3),
        None => obj.null("startDateTime"),
    }
    obj.timestamp("inviteDateTime", invite, 3);
    if successful {
        obj.str("failureDateTime", NO_FAILURE);
    } else {
        let failed_at = start.unwrap_or(invite) + rng.range(50, 30_000) as i64 * TICKS_PER_MS;
        obj.timestamp("failureDateTime", failed_at, 3);
    }
    match start {
        Some(start) if successful => {
            obj.timestamp("endDateTime", start + duration * TICKS_PER_SEC, 3)
        }
        _ => obj.null("endDateTime"),
    }
    obj.u64("duration", duration as u64);
    obj.str("callType", call_type);
    obj.bool("successfulCall", successful);
    caller.write(obj.key("callerNumber"));
    callee.write(obj.key("calleeNumber"));
    let region = user.country.region;
    obj.str(
        "mediaPathLocation",
        if rng.chance(20) {
            rng.pick(&REGIONS)
        } else {
            region
        },
    );
    obj.str(
        "signalingLocation",
        if rng.chance(20) {
            rng.pick(&REGIONS)
        } else {
            region
        },
    );
    if successful {
        obj.u64("finalSipCode", 0);
        obj.u64(
            "callEndSubReason",
            if rng.chance(90) { 540_000 } else { 540_200 },
        );
        obj.str("finalSipCodePhrase", "BYE");
    } else {
        obj.u64("finalSipCode", u64::from(failure.0));
        obj.u64("callEndSubReason", u64::from(failure.2));
        obj.str("finalSipCodePhrase", failure.1);
    }
    obj.str("trunkFullyQualifiedDomainName", t.trunks[trunk_index]);
    obj.bool("mediaBypassEnabled", trunk_index % 2 == 1);
    if version == ApiVersion::Beta {
        if call_type == "ByotOutUserTransfer" {
            obj.guid("transferorCorrelationId", rng.next_u64(), rng.next_u64());
        } else {
            obj.str("transferorCorrelationId", "");
        }
        obj.opt_str(
            "userCountryCode",
            (!unassigned).then_some(user.country.code),
        );
        obj.str("otherPartyCountryCode", other.code);
        people::write_admin_units(seed, &mut rng, &mut obj);
    }
    obj.close();

    RowFacts {
        id: Some(id),
        duration: Some(duration as i32),
        user: (!unassigned).then_some(user_index),
        at: start,
        international: other_index != user.country_index,
        ..RowFacts::default()
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use serde_json::Value;

    use super::*;
    use crate::tenant::TenantConfig;

    fn rows(version: ApiVersion, n: u32) -> Vec<Value> {
        let day = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        let t = Tenant::new(TenantConfig::new(42, day, 1, n));
        serde_json::from_slice::<Vec<Value>>(&t.rows(Function::DirectRouting, version, day))
            .unwrap()
    }

    #[test]
    fn rows_carry_exactly_the_documented_properties() {
        let v1 = rows(ApiVersion::V1, 20);
        assert!(v1.iter().all(|r| r.as_object().unwrap().len() == 21));
        let beta = rows(ApiVersion::Beta, 20);
        for key in [
            "transferorCorrelationId",
            "userCountryCode",
            "otherPartyCountryCode",
            "administrativeUnitInfos",
        ] {
            assert!(beta.iter().all(|r| r.get(key).is_some()), "{key}");
            assert!(v1.iter().all(|r| r.get(key).is_none()), "{key}");
        }
    }

    #[test]
    fn successes_and_failures_look_like_graph() {
        let rows = rows(ApiVersion::V1, 3000);
        let ok: Vec<_> = rows
            .iter()
            .filter(|r| r["successfulCall"] == true)
            .collect();
        let share = ok.len() * 100 / rows.len();
        assert!((80..=90).contains(&share), "{share}% successful");
        for r in &ok {
            assert_eq!(r["finalSipCode"], 0);
            assert_eq!(r["failureDateTime"], NO_FAILURE);
            assert_eq!(r["finalSipCodePhrase"], "BYE");
            assert_eq!(
                r["startDateTime"].as_str().unwrap().len(),
                "2019-11-01T00:00:25.105Z".len()
            );
        }
        let failed: Vec<_> = rows
            .iter()
            .filter(|r| r["successfulCall"] == false)
            .collect();
        for r in &failed {
            assert_eq!(r["duration"], 0);
            assert!(r["endDateTime"].is_null());
            assert!(r["failureDateTime"].as_str().unwrap() > "2026");
            assert!([404, 486, 487, 503, 480, 408].contains(&r["finalSipCode"].as_u64().unwrap()));
        }
        let no_start = rows.iter().filter(|r| r["startDateTime"].is_null()).count();
        assert!(
            (20..=100).contains(&no_start),
            "{no_start} rows without a start"
        );
        let trunks: std::collections::BTreeSet<_> = rows
            .iter()
            .map(|r| r["trunkFullyQualifiedDomainName"].as_str().unwrap())
            .collect();
        assert!((3..=5).contains(&trunks.len()));
        let numbers = rows
            .iter()
            .flat_map(|r| [&r["callerNumber"], &r["calleeNumber"]]);
        assert!(
            numbers
                .clone()
                .any(|n| n.as_str().unwrap().starts_with("sip:"))
        );
        assert!(
            numbers
                .clone()
                .any(|n| !n.as_str().unwrap().starts_with(['+', 's']))
        );
    }
}
