//! `smsLogRow` generation (beta `getSmsLog`): text messages the tenant's users send and receive.
//! The people who place PSTN calls send them, in their own office hours.

use crate::data::{COUNTRIES, Country};
use crate::json::{self, Obj};
use crate::people::{self, Number};
use crate::rhythm;
use crate::rng::{Rng, hash};
use crate::tenant::{Function, RowFacts, Tenant};

const SMS_ID_TAG: u64 = 0x534d_5349;

/// SMS a day holds: a twentieth of its ordinary calls (`calls_per_day` scaled by the day's
/// `permille`), at least one when the tenant has calls at all.
pub(crate) fn per_day(calls_per_day: u32, permille: u64) -> u32 {
    if calls_per_day == 0 {
        return 0;
    }
    ((u64::from(calls_per_day) * permille + 10_000) / 20_000).max(1) as u32
}

/// Writes SMS `index` of `day_num` and returns its facts.
pub(crate) fn write_row(t: &Tenant, day_num: i64, index: u32, out: &mut Vec<u8>) -> RowFacts {
    let seed = t.seed();
    let mut rng = Rng::new(t.row_seed(Function::Sms, day_num, index));
    let id = t.row_id(Function::Sms, day_num, index);
    let sent = t.slot_ticks(Function::Sms, day_num, index);
    let user_index = t.pick_user(sent, &mut rng);
    let user = people::user(seed, user_index);
    let usage = user.country;

    let outbound = rng.chance(70);
    // Those who work with other countries text them too, mostly in office hours.
    let abroad = user.abroad();
    let other = if !abroad.is_empty()
        && rng.below(1000)
            < if rhythm::in_office_hours(sent, usage.utc_offset_min) {
                150
            } else {
                20
            } {
        &COUNTRIES[abroad[rng.below(abroad.len() as u64) as usize]]
    } else {
        usage
    };
    let international = other.code != usage.code;
    let mut other_number = Number::e164(other, people::national_number(other, &mut rng));
    if usage.masked {
        other_number = other_number.masked(4);
    }
    let (source, destination) = if outbound {
        (user.number(), other_number)
    } else {
        (other_number, user.number())
    };
    // Long messages take more units.
    let units = [1, 2, 3][rng.weighted(&[82, 13, 5])];
    let charge = if outbound {
        units * unit_price_e4(usage, international)
    } else {
        0
    };
    let context = if international {
        "International"
    } else {
        "Domestic"
    };

    let mut obj = Obj::open(out);
    obj.guid("id", id.0, id.1);
    write_sms_id(t, day_num, index, &mut rng, &mut obj);
    user.write_fields(&mut obj);
    obj.str("userCountryCode", usage.code);
    obj.str("tenantCountryCode", "US");
    source.write(obj.key("sourceNumber"));
    destination.write(obj.key("destinationNumber"));
    obj.timestamp("sentDateTime", sent, 7);
    json::push_decimal(
        obj.key("callCharge"),
        charge,
        json::amount_scale(charge, usage.minor_digits),
    );
    obj.str("currency", usage.currency);
    obj.str("smsType", if outbound { "outbound" } else { "inbound" });
    obj.str("destinationContext", context);
    obj.str(
        "destinationName",
        if outbound { other.name } else { usage.name },
    );
    obj.str("otherPartyCountryCode", other.code);
    obj.str("licenseCapability", user.license);
    obj.u64("smsUnits", units);
    people::write_admin_units(seed, &mut rng, &mut obj);
    obj.close();

    RowFacts {
        id: Some(id),
        charge_e4: Some(charge),
        currency: Some(usage.currency),
        user: Some(user_index),
        at: Some(sent),
        units: Some(units as i32),
        destination_context: Some(context),
        international,
        ..RowFacts::default()
    }
}

/// The price of one SMS unit, in ten-thousandths of the usage country's currency: 40% of the
/// per-minute rate to the destination (whole units, at least one, where the currency has no minor
/// units).
fn unit_price_e4(usage: &Country, international: bool) -> u64 {
    let per_minute = if international {
        usage.international_rate_e4
    } else {
        usage.domestic_rate_e4
    };
    let price = per_minute * 2 / 5;
    if usage.minor_digits == 0 {
        (price / 10_000).max(1) * 10_000
    } else {
        price.max(1)
    }
}

/// `smsId` is not unique: about 3% of rows repeat the previous row's (parts of one long message
/// logged apart).
fn write_sms_id(t: &Tenant, day_num: i64, index: u32, rng: &mut Rng, obj: &mut Obj<'_>) {
    let source = if index > 0 && rng.chance(3) {
        index - 1
    } else {
        index
    };
    let h = hash(&[t.row_seed(Function::Sms, day_num, source), SMS_ID_TAG]);
    obj.guid("smsId", h, hash(&[h, SMS_ID_TAG]));
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use chrono::NaiveDate;
    use serde_json::Value;

    use super::*;
    use crate::tenant::{ApiVersion, TenantConfig};

    const KEYS: [&str; 19] = [
        "id",
        "userId",
        "userPrincipalName",
        "userDisplayName",
        "administrativeUnitInfos",
        "otherPartyCountryCode",
        "callCharge",
        "currency",
        "destinationContext",
        "destinationName",
        "destinationNumber",
        "licenseCapability",
        "sentDateTime",
        "smsId",
        "smsType",
        "smsUnits",
        "sourceNumber",
        "tenantCountryCode",
        "userCountryCode",
    ];

    fn tenant(days: u32, calls: u32) -> Tenant {
        let day = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        Tenant::new(TenantConfig::new(42, day, days, calls))
    }

    fn rows(t: &Tenant) -> Vec<Value> {
        t.days()
            .flat_map(|d| {
                serde_json::from_slice::<Vec<Value>>(&t.rows(Function::Sms, ApiVersion::Beta, d))
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn sms_rows_carry_exactly_the_documented_properties() {
        let want: BTreeSet<&str> = KEYS.into_iter().collect();
        let rows = rows(&tenant(2, 2000));
        assert_eq!(rows.len(), 200);
        for row in &rows {
            let keys: BTreeSet<&str> = row.as_object().unwrap().keys().map(|k| &**k).collect();
            assert_eq!(keys, want);
            assert!(
                row["administrativeUnitInfos"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|u| u.as_object().unwrap().len() == 1 && u["id"].is_string())
            );
            assert!((1..=3).contains(&row["smsUnits"].as_i64().unwrap()));
        }
    }

    #[test]
    fn sms_ids_are_unique_but_sms_ids_repeat() {
        let t = tenant(5, 4000);
        let rows = rows(&t);
        let ids: HashSet<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), rows.len());
        let sms_ids: HashSet<&str> = rows.iter().map(|r| r["smsId"].as_str().unwrap()).collect();
        assert!(sms_ids.len() < rows.len(), "some smsIds repeat");
        let expected = t.expected(Function::Sms, t.config().first_day, t.config().last_day());
        let served: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(expected.iter().map(|r| &*r.id).collect::<Vec<_>>(), served);
    }

    #[test]
    fn sms_rows_are_realistic_and_match_expected() {
        let t = tenant(2, 4000);
        let rows = rows(&t);
        let expected = t.expected(Function::Sms, t.config().first_day, t.config().last_day());
        assert_eq!(rows.len(), expected.len());
        let text = |r: &Value, k: &str| r[k].as_str().unwrap().to_owned();
        for (row, want) in rows.iter().zip(&expected) {
            let outbound = text(row, "smsType") == "outbound";
            assert!(outbound || text(row, "smsType") == "inbound");
            let charge = row["callCharge"].as_f64().unwrap();
            assert_eq!(charge == 0.0, !outbound, "{row}");
            assert_eq!(
                (charge * 1e6).round() as i128,
                want.charge_micros.unwrap(),
                "{row}"
            );
            assert_eq!(row["smsUnits"].as_i64(), want.units.map(i64::from));
            assert_eq!(text(row, "currency"), want.currency.clone().unwrap());
            assert_eq!(Some(text(row, "userId")), want.user_id);
            assert_eq!(
                Some(text(row, "userPrincipalName")),
                want.user_principal_name
            );
            let sent = chrono::DateTime::parse_from_rfc3339(&text(row, "sentDateTime")).unwrap();
            assert_eq!(Some(sent.to_utc()), want.at);
            assert_eq!(sent.date_naive(), want.day);
            assert_eq!(
                text(row, "sentDateTime").len(),
                "2019-11-01T00:00:08.2589935Z".len()
            );
            let international = text(row, "otherPartyCountryCode") != text(row, "userCountryCode");
            assert_eq!(
                text(row, "destinationContext"),
                if international {
                    "International"
                } else {
                    "Domestic"
                }
            );
            let (own, other) = if outbound {
                ("sourceNumber", "destinationNumber")
            } else {
                ("destinationNumber", "sourceNumber")
            };
            assert!(text(row, own).starts_with('+') && !text(row, own).contains('*'));
            assert!(text(row, other).starts_with('+'));
        }
        // Charges have at most 4 decimals, exactly.
        let raw = String::from_utf8(t.rows(Function::Sms, ApiVersion::Beta, t.config().first_day))
            .unwrap();
        for part in raw.split("\"callCharge\":").skip(1) {
            let number = &part[..part.find(',').unwrap()];
            assert!(
                number.split('.').nth(1).is_none_or(|f| f.len() <= 4),
                "{number}"
            );
        }
        let count = |f: &dyn Fn(&Value) -> bool| rows.iter().filter(|r| f(r)).count();
        assert!(count(&|r| r["destinationContext"] == "International") > 0);
        assert!(count(&|r| r["smsUnits"] == 3) > 0);
        assert!(count(&|r| r["destinationNumber"].as_str().unwrap().ends_with("****")) > 0);
        assert!(count(&|r| r["smsType"] == "inbound") * 5 > rows.len());
    }

    #[test]
    fn volume_is_a_twentieth_of_the_calls_and_never_zero() {
        assert_eq!(per_day(0, 1000), 0);
        assert_eq!(per_day(1, 1000), 1);
        assert_eq!(per_day(200, 1000), 10);
        assert_eq!(per_day(1000, 180), 9);
        let t = tenant(3, 30);
        assert!(t.days().all(|d| t.calls_on(Function::Sms, d) == 2));
    }
}
