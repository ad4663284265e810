//! `pstnOnlineMeetingDialoutReport` generation (beta `getPstnOnlineMeetingDialoutReport`): the
//! totals of the PSTN rows' conference dial-outs (`conf_out`) that start in the requested window,
//! by user, usage location, destination context and currency. The report agrees with the call
//! log by construction.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::data::Country;
use crate::json::{self, Obj};
use crate::people::{self, USERS};
use crate::pstn;
use crate::tenant::{ApiVersion, ExpectedRow, Function, RowFacts, Tenant};

/// One row of the report: a group's totals.
#[derive(Clone, Debug)]
pub(crate) struct Total {
    /// The user (`0..USERS`).
    pub user: u64,
    /// The usage country (`usageLocation`, `currency`).
    pub usage: &'static Country,
    /// `destinationContext` is `International` (else `Domestic`).
    pub international: bool,
    /// `totalCalls`.
    pub calls: u64,
    /// `totalCallSeconds`.
    pub seconds: u64,
    /// `totalCallCharge`: the rows' `charge` plus `connectionCharge`, in ten-thousandths.
    pub charge_e4: u64,
}

impl Total {
    /// `destinationContext`.
    pub(crate) fn context(&self) -> &'static str {
        if self.international {
            "International"
        } else {
            "Domestic"
        }
    }

    /// What a client lands for this total of `day`'s window; `user` is the user's
    /// (`userPrincipalName`, `userId`).
    pub(crate) fn expected(&self, user: &(String, String), day: NaiveDate) -> ExpectedRow {
        ExpectedRow {
            id: format!(
                "{}|{}|{}|{}",
                user.1,
                self.usage.code,
                self.context(),
                self.usage.currency
            ),
            day,
            charge_micros: Some(i128::from(self.charge_e4) * 100),
            connection_charge_micros: None,
            currency: Some(self.usage.currency.to_owned()),
            duration: Some(int32(self.seconds)),
            fraud: false,
            user_principal_name: Some(user.0.clone()),
            user_id: Some(user.1.clone()),
            units: Some(int32(self.calls)),
            block_mode: None,
            at: None,
            usage_location: Some(self.usage.code.to_owned()),
            destination_context: Some(self.context().to_owned()),
        }
    }
}

/// The report's rows for the window `from..to` (ticks; `to` exclusive), ordered by
/// `userPrincipalName`, then usage location, destination context and currency.
///
/// A row's destination context is the PSTN row's `destinationContext`, or where that is null,
/// `International` when `otherPartyCountryCode` differs from `usageCountryCode` and `Domestic`
/// otherwise (the two always agree where both are there). The usage location is the row's
/// `usageCountryCode`.
pub(crate) fn totals(t: &Tenant, from: i64, to: i64) -> Vec<Total> {
    let seed = t.seed();
    let users: Vec<(String, &'static Country)> = (0..USERS)
        .map(|u| {
            let user = people::user(seed, u);
            (user.upn(), user.country)
        })
        .collect();
    let mut groups: BTreeMap<(&str, &str, bool), Total> = BTreeMap::new();
    let mut scratch = Vec::with_capacity(2048);
    for segment in t.select_days(Function::Pstn, from, to, false) {
        for index in segment.start..segment.end {
            if !pstn::is_conf_out(t, segment.day_num, index) {
                continue;
            }
            scratch.clear();
            let facts = pstn::write_row(t, ApiVersion::V1, segment.day_num, index, &mut scratch);
            // Conference dial-outs always name their user.
            let Some(user) = facts.user else { continue };
            let (upn, usage) = &users[user as usize];
            let total = groups
                .entry((upn, usage.code, facts.international))
                .or_insert(Total {
                    user,
                    usage,
                    international: facts.international,
                    calls: 0,
                    seconds: 0,
                    charge_e4: 0,
                });
            total.calls += 1;
            total.seconds += facts.duration.map_or(0, |d| d.max(0) as u64);
            total.charge_e4 +=
                facts.charge_e4.unwrap_or(0) + facts.connection_charge_e4.unwrap_or(0);
        }
    }
    // Each user has one usage country and currency: (upn, context) orders as the full key does
    // ("Domestic" < "International" as `false` < `true`).
    groups.into_values().collect()
}

/// Writes one total as a row and returns its facts.
pub(crate) fn write_total(t: &Tenant, total: &Total, out: &mut Vec<u8>) -> RowFacts {
    let user = people::user(t.seed(), total.user);
    let mut obj = Obj::open(out);
    user.write_fields(&mut obj);
    obj.str("usageLocation", total.usage.code);
    obj.str("destinationContext", total.context());
    obj.str("currency", total.usage.currency);
    obj.u64("totalCalls", int32(total.calls) as u64);
    json::push_decimal(
        obj.key("totalCallCharge"),
        total.charge_e4,
        json::amount_scale(total.charge_e4, total.usage.minor_digits),
    );
    obj.u64("totalCallSeconds", int32(total.seconds) as u64);
    obj.close();
    RowFacts {
        charge_e4: Some(total.charge_e4),
        currency: Some(total.usage.currency),
        duration: Some(int32(total.seconds)),
        user: Some(total.user),
        units: Some(int32(total.calls)),
        usage_location: Some(total.usage.code),
        destination_context: Some(total.context()),
        international: total.international,
        ..RowFacts::default()
    }
}

/// An `Edm.Int32` count (saturating: windows are at most 90 days, so it never does).
fn int32(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::{Duration, NaiveDate};
    use serde_json::Value;

    use super::*;
    use crate::tenant::TenantConfig;

    const KEYS: [&str; 9] = [
        "currency",
        "destinationContext",
        "totalCallCharge",
        "totalCalls",
        "totalCallSeconds",
        "usageLocation",
        "userDisplayName",
        "userId",
        "userPrincipalName",
    ];

    fn tenant() -> Tenant {
        let day = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
        Tenant::new(TenantConfig::new(42, day, 3, 3000))
    }

    fn parse(bytes: &[u8]) -> Vec<Value> {
        serde_json::from_slice(bytes).unwrap()
    }

    fn micros(v: &Value) -> i128 {
        (v.as_f64().unwrap() * 1e6).round() as i128
    }

    /// (userId, usageLocation, destinationContext, currency) -> (calls, seconds, charge micros),
    /// summed from the PSTN rows' JSON.
    type Sums = BTreeMap<(String, String, String, String), (i64, i64, i128)>;

    fn sums_of_pstn_rows(rows: &[Value]) -> Sums {
        let mut sums = Sums::new();
        for row in rows.iter().filter(|r| r["callType"] == "conf_out") {
            let text = |k: &str| row[k].as_str().unwrap().to_owned();
            let context = match row["destinationContext"].as_str() {
                Some(context) => context.to_owned(),
                None if text("otherPartyCountryCode") != text("usageCountryCode") => {
                    "International".to_owned()
                }
                None => "Domestic".to_owned(),
            };
            let key = (
                text("userId"),
                text("usageCountryCode"),
                context,
                text("currency"),
            );
            let sum = sums.entry(key).or_default();
            sum.0 += 1;
            sum.1 += row["duration"].as_i64().unwrap();
            sum.2 += micros(&row["charge"]) + micros(&row["connectionCharge"]);
        }
        sums
    }

    fn sums_of_report(rows: &[Value]) -> Sums {
        rows.iter()
            .map(|r| {
                let text = |k: &str| r[k].as_str().unwrap().to_owned();
                (
                    (
                        text("userId"),
                        text("usageLocation"),
                        text("destinationContext"),
                        text("currency"),
                    ),
                    (
                        r["totalCalls"].as_i64().unwrap(),
                        r["totalCallSeconds"].as_i64().unwrap(),
                        micros(&r["totalCallCharge"]),
                    ),
                )
            })
            .collect()
    }

    #[test]
    fn dialout_rows_carry_exactly_the_documented_properties() {
        let t = tenant();
        let want: BTreeSet<&str> = KEYS.into_iter().collect();
        let rows = parse(&t.rows(
            Function::DialoutReport,
            ApiVersion::Beta,
            t.config().first_day,
        ));
        assert!(rows.len() > 20, "{}", rows.len());
        for row in &rows {
            let keys: BTreeSet<&str> = row.as_object().unwrap().keys().map(|k| &**k).collect();
            assert_eq!(keys, want);
        }
        let raw = String::from_utf8(t.rows(
            Function::DialoutReport,
            ApiVersion::Beta,
            t.config().first_day,
        ))
        .unwrap();
        for part in raw.split("\"totalCallCharge\":").skip(1) {
            let number = &part[..part.find(',').unwrap()];
            assert!(
                number.split('.').nth(1).is_none_or(|f| f.len() <= 4),
                "{number}"
            );
        }
        // Sorted by userPrincipalName, then the rest.
        let keys: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r["userPrincipalName"].as_str().unwrap().to_owned(),
                    r["destinationContext"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    }

    #[test]
    fn dialout_totals_are_the_sums_of_the_days_conf_out_pstn_rows() {
        let t = tenant();
        for day in t.days() {
            let pstn = parse(&t.rows(Function::Pstn, ApiVersion::Beta, day));
            let want = sums_of_pstn_rows(&pstn);
            let report = parse(&t.rows(Function::DialoutReport, ApiVersion::Beta, day));
            assert_eq!(sums_of_report(&report), want, "{day}");
            assert!(want.keys().any(|k| k.2 == "International"));
            assert!(want.values().any(|v| v.2 > 0));

            let expected = t.expected(Function::DialoutReport, day, day);
            assert_eq!(expected.len(), report.len());
            for (row, e) in report.iter().zip(&expected) {
                let key = format!(
                    "{}|{}|{}|{}",
                    row["userId"].as_str().unwrap(),
                    row["usageLocation"].as_str().unwrap(),
                    row["destinationContext"].as_str().unwrap(),
                    row["currency"].as_str().unwrap()
                );
                assert_eq!(e.id, key);
                assert_eq!(e.day, day);
                assert_eq!(e.charge_micros, Some(micros(&row["totalCallCharge"])));
                assert_eq!(e.units.map(i64::from), row["totalCalls"].as_i64());
                assert_eq!(e.duration.map(i64::from), row["totalCallSeconds"].as_i64());
            }
        }
    }

    #[test]
    fn a_longer_window_totals_its_days() {
        let t = tenant();
        let (first, last) = (t.config().first_day, t.config().last_day());
        let mut pages = Vec::new();
        t.write_pages(
            Function::DialoutReport,
            ApiVersion::V1,
            first,
            last,
            7,
            |p| pages.push(p),
        );
        let report: Vec<Value> = pages
            .iter()
            .flat_map(|p| {
                let page: Value = serde_json::from_slice(p).unwrap();
                assert!(
                    page["@odata.context"]
                        .as_str()
                        .unwrap()
                        .ends_with("/beta/$metadata#Collection(microsoft.graph.callRecords.pstnOnlineMeetingDialoutReport)")
                );
                page["value"].as_array().unwrap().clone()
            })
            .collect();
        assert!(pages.len() > 1);
        let pstn: Vec<Value> = t
            .days()
            .flat_map(|d| parse(&t.rows(Function::Pstn, ApiVersion::Beta, d)))
            .collect();
        assert_eq!(sums_of_report(&report), sums_of_pstn_rows(&pstn));
        // Outside the tenant: no totals.
        let later = last + Duration::days(3);
        assert_eq!(
            t.rows(Function::DialoutReport, ApiVersion::Beta, later),
            b"[]"
        );
        assert!(t.expected(Function::DialoutReport, later, later).is_empty());
    }
}
