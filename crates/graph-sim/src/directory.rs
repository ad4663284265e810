//! The tenant's user directory, as `GET /users` and `GET /users/delta` serve it: each user's
//! department, cost center and office, and how these change over the tenant's days.
//!
//! Every value is a pure function of the seed (and, for the changes, of the tenant's days):
//!
//! - users `0..USERS` are the users of the call rows, with the same `id`, `userPrincipalName` and
//!   display name; a user has a department (weighted among [`DEPARTMENTS`]) and a job title of
//!   it, the `companyName` and an office city of its country ([`OFFICES`]), `country` (the
//!   country's English name), `usageLocation` (its ISO code, as the call rows' usage country),
//!   an `employeeId`, and `employeeOrgData` with its department's cost center and division;
//!   6 of the 64 users (1 in 10), the first by `hash(seed, 1, user)`, have a null `department`
//!   (their job title, cost center and division stay those of the department they work in),
//!   and 8 (1 in 8), the first by `hash(seed, 2, user)`, a null `employeeOrgData`;
//! - the changes need a tenant of 2 days or more (a 1-day tenant has none), and each takes
//!   effect at 00:00 UTC of a day from the tenant's second to its last (the directory of a day
//!   holds the changes of that day): users are ordered by `hash(seed, user)`; the first 4 with
//!   both a department and `employeeOrgData` *move* to another department (department, cost
//!   center and division change; job title, office and the rest stay), and the first other
//!   user in that order is *disabled* (`accountEnabled` false), each on a day drawn from
//!   `hash(seed, user)` (two may share a day); and one more user, index `USERS` (the 65th, who places no call, sends no SMS and
//!   is never blocked), is *created* on the tenant's middle day (`first_day + days / 2`), before
//!   which the directory does not hold it. Nobody is deleted.

use chrono::NaiveDate;

use crate::data::{DEPARTMENTS, OFFICES, department_weights};
use crate::json;
use crate::people::{self, USERS};
use crate::rng::{Rng, hash};
use crate::tenant::date_of;

const DIRECTORY_TAG: u64 = 0x4449_5245;
const CHANGE_TAG: u64 = 0x4348_4e47;
/// Users who move department over the tenant's days (1 in 16).
const MOVERS: usize = 4;

/// A user of the tenant's directory on a day: the `microsoft.graph.user` properties the
/// simulator serves.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct DirectoryUser {
    /// `id`: the GUID the call rows write as `userId`.
    pub id: String,
    /// `userPrincipalName`, as in the call rows.
    pub user_principal_name: String,
    /// `displayName`: the call rows' `userDisplayName`.
    pub display_name: String,
    /// `department` (null for 6 of the 64 users).
    pub department: Option<String>,
    /// `jobTitle`.
    pub job_title: Option<String>,
    /// `companyName`: `Contoso Ltd`, or the country's own company (`Contoso GmbH` in Germany).
    pub company_name: Option<String>,
    /// `officeLocation`: `"{city} {building}/{room}"`.
    pub office_location: Option<String>,
    /// `city`.
    pub city: Option<String>,
    /// `country`: the country's English name (`Germany`).
    pub country: Option<String>,
    /// `usageLocation`: the country's ISO 3166-1 alpha-2 code (`DE`).
    pub usage_location: Option<String>,
    /// `employeeId`: six digits.
    pub employee_id: Option<String>,
    /// `employeeOrgData.costCenter` (`CC-1200`); `None` with [`DirectoryUser::division`] when
    /// `employeeOrgData` is null (8 of the 64 users).
    pub cost_center: Option<String>,
    /// `employeeOrgData.division` (`Sales`).
    pub division: Option<String>,
    /// `accountEnabled`.
    pub account_enabled: bool,
}

/// A change of the directory ([`Tenant::directory_changes`](crate::Tenant::directory_changes)).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct DirectoryChange {
    /// The UTC day from which the change holds.
    pub day: NaiveDate,
    /// The user's `id`.
    pub user_id: String,
    /// The user's `userPrincipalName`.
    pub user_principal_name: String,
    /// What changed.
    pub change: DirectoryChangeKind,
}

/// What a [`DirectoryChange`] changed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DirectoryChangeKind {
    /// The user moved to another department: `department`, `employeeOrgData.costCenter` and
    /// `employeeOrgData.division` (the new department's) changed.
    Moved {
        /// `department` before.
        from_department: String,
        /// `department` from the change's day on.
        to_department: String,
        /// `employeeOrgData.costCenter` before.
        from_cost_center: String,
        /// `employeeOrgData.costCenter` from the change's day on.
        to_cost_center: String,
    },
    /// `accountEnabled` became false.
    Disabled,
    /// The user appeared in the directory.
    Created,
}

/// A change as the directory applies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// To the department with this index in [`DEPARTMENTS`].
    Moved(usize),
    Disabled,
    Created,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Change {
    day_num: i64,
    /// Index into [`Directory::users`].
    user: usize,
    kind: Kind,
}

/// Every user the directory ever holds and the changes over the tenant's days.
#[derive(Clone, Debug)]
pub(crate) struct Directory {
    /// Each user as on the tenant's first day (the created one too), sorted by `id`.
    users: Vec<DirectoryUser>,
    /// In (day, user) order; a user has at most one.
    changes: Vec<Change>,
}

impl Directory {
    /// The directory of the tenant seeded `seed` of `days` days from `first_day_num`.
    pub(crate) fn new(seed: u64, first_day_num: i64, days: u32) -> Self {
        let no_department = first_by_hash(seed, 1, USERS as usize / 10);
        let no_org_data = first_by_hash(seed, 2, USERS as usize / 8);
        let mut profiles: Vec<(DirectoryUser, usize)> = (0..=USERS)
            .map(|u| {
                let (user, home) = profile(seed, u);
                let department = (!no_department.contains(&u)).then_some(user.department);
                let org_data = !no_org_data.contains(&u);
                let user = DirectoryUser {
                    department: department.flatten(),
                    cost_center: user.cost_center.filter(|_| org_data),
                    division: user.division.filter(|_| org_data),
                    ..user
                };
                (user, home)
            })
            .collect();
        let planned = plan_changes(seed, days, &profiles);
        if !planned.iter().any(|c| c.2 == Kind::Created) {
            profiles.truncate(USERS as usize);
        }
        let mut changes: Vec<(i64, String, Kind)> = planned
            .into_iter()
            .map(|(u, offset, kind)| {
                let id = profiles[u as usize].0.id.clone();
                (first_day_num + offset, id, kind)
            })
            .collect();
        profiles.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        let users: Vec<DirectoryUser> = profiles.into_iter().map(|(user, _)| user).collect();
        changes.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let changes = changes
            .into_iter()
            .map(|(day_num, id, kind)| Change {
                day_num,
                user: users.partition_point(|u| u.id < id),
                kind,
            })
            .collect();
        Self { users, changes }
    }

    /// The directory on `day_num` (a day number), sorted by `id`.
    pub(crate) fn at(&self, day_num: i64) -> Vec<DirectoryUser> {
        let mut users: Vec<Option<DirectoryUser>> = self.users.iter().cloned().map(Some).collect();
        for change in &self.changes {
            let slot = &mut users[change.user];
            let Some(user) = slot else { continue };
            match (change.kind, change.day_num <= day_num) {
                (Kind::Created, false) => *slot = None,
                (Kind::Moved(to), true) => {
                    let department = &DEPARTMENTS[to];
                    user.department = Some(department.name.to_owned());
                    user.cost_center = Some(department.cost_center.to_owned());
                    user.division = Some(department.division.to_owned());
                }
                (Kind::Disabled, true) => user.account_enabled = false,
                _ => {}
            }
        }
        users.into_iter().flatten().collect()
    }

    /// The `id`s, sorted, of the users with a change on a day after the earlier of `a` and `b`
    /// up to the later one: those whose state differs between the two days.
    pub(crate) fn changed_between(&self, a: i64, b: i64) -> Vec<&str> {
        let (lo, hi) = (a.min(b), a.max(b));
        let mut ids: Vec<&str> = (self.changes.iter())
            .filter(|c| lo < c.day_num && c.day_num <= hi)
            .map(|c| self.users[c.user].id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The changes, in (day, id) order.
    pub(crate) fn changes(&self) -> Vec<DirectoryChange> {
        (self.changes.iter())
            .map(|c| {
                let user = &self.users[c.user];
                let change = match c.kind {
                    Kind::Moved(to) => DirectoryChangeKind::Moved {
                        from_department: user.department.clone().unwrap_or_default(),
                        to_department: DEPARTMENTS[to].name.to_owned(),
                        from_cost_center: user.cost_center.clone().unwrap_or_default(),
                        to_cost_center: DEPARTMENTS[to].cost_center.to_owned(),
                    },
                    Kind::Disabled => DirectoryChangeKind::Disabled,
                    Kind::Created => DirectoryChangeKind::Created,
                };
                DirectoryChange {
                    day: date_of(c.day_num),
                    user_id: user.id.clone(),
                    user_principal_name: user.user_principal_name.clone(),
                    change,
                }
            })
            .collect()
    }
}

/// `n` of the users `0..USERS`, the first by `hash(seed, tag, user)`.
fn first_by_hash(seed: u64, tag: u64, n: usize) -> Vec<u64> {
    let mut users: Vec<u64> = (0..USERS).collect();
    users.sort_by_key(|&u| hash(&[seed, DIRECTORY_TAG, tag, u]));
    users.truncate(n);
    users
}

/// User `u` (`0..=USERS`) as on the tenant's first day, with its department and
/// `employeeOrgData` (the nulls are chosen by [`Directory::new`]), and the index of the
/// department it works in.
fn profile(seed: u64, u: u64) -> (DirectoryUser, usize) {
    let user = people::user(seed, u);
    let mut rng = Rng::new(hash(&[seed, DIRECTORY_TAG, u]));
    let home = rng.weighted(&department_weights());
    let department = &DEPARTMENTS[home];
    let job_title = rng.pick(department.titles);
    let (code, company, cities) = OFFICES[user.country_index];
    debug_assert_eq!(code, user.country.code);
    let city = rng.pick(cities);
    let office = format!("{city} {}/{}", rng.range(1, 4), rng.range(1001, 4999));
    // Unique: `u < 128` is the remainder.
    let employee_id = 100_000 + rng.below(700) * 128 + u;
    let some = |s: &str| Some(s.to_owned());
    let directory_user = DirectoryUser {
        id: json::guid_string(user.id.0, user.id.1),
        user_principal_name: user.upn(),
        display_name: user.display_name(),
        department: some(department.name),
        job_title: some(job_title),
        company_name: some(company),
        office_location: Some(office),
        city: some(city),
        country: some(user.country.name),
        usage_location: some(user.country.code),
        employee_id: Some(employee_id.to_string()),
        cost_center: some(department.cost_center),
        division: some(department.division),
        account_enabled: true,
    };
    (directory_user, home)
}

/// The changes of a tenant of `days` days, as (user index, day offset from the first day,
/// change); `profiles` are users `0..=USERS` in index order.
fn plan_changes(
    seed: u64,
    days: u32,
    profiles: &[(DirectoryUser, usize)],
) -> Vec<(u64, i64, Kind)> {
    if days < 2 {
        return Vec::new();
    }
    let offset = |u: u64| 1 + (hash(&[seed, CHANGE_TAG, u, 1]) % u64::from(days - 1)) as i64;
    let mut order: Vec<u64> = (0..USERS).collect();
    order.sort_by_key(|&u| hash(&[seed, CHANGE_TAG, u]));
    let movers: Vec<u64> = (order.iter().copied())
        .filter(|&u| {
            let user = &profiles[u as usize].0;
            user.department.is_some() && user.cost_center.is_some()
        })
        .take(MOVERS)
        .collect();
    let mut changes: Vec<(u64, i64, Kind)> = (movers.iter())
        .map(|&u| {
            let from = profiles[u as usize].1;
            let n = DEPARTMENTS.len() as u64;
            let to = (from as u64 + 1 + hash(&[seed, CHANGE_TAG, u, 2]) % (n - 1)) % n;
            (u, offset(u), Kind::Moved(to as usize))
        })
        .collect();
    if let Some(&u) = order.iter().find(|u| !movers.contains(u)) {
        changes.push((u, offset(u), Kind::Disabled));
    }
    changes.push((USERS, i64::from(days / 2), Kind::Created));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::COUNTRIES;
    use crate::tenant::day_number;

    fn first() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
    }

    #[test]
    fn offices_line_up_with_countries() {
        for ((code, company, cities), country) in OFFICES.iter().zip(&COUNTRIES) {
            assert_eq!(*code, country.code);
            assert!(company.starts_with("Contoso") && !cities.is_empty());
        }
    }

    #[test]
    fn the_directory_is_deterministic_per_seed() {
        let d = |seed| Directory::new(seed, day_number(first()), 30);
        let (a, b, c) = (d(7), d(7), d(8));
        let last = day_number(first()) + 29;
        assert_eq!(a.at(last), b.at(last));
        assert_eq!(a.changes(), b.changes());
        assert_ne!(a.at(last), c.at(last));
    }

    #[test]
    fn users_have_the_documented_shape() {
        let directory = Directory::new(42, day_number(first()), 30);
        let users = directory.at(day_number(first()) + 29);
        assert_eq!(users.len(), USERS as usize + 1);
        assert!(users.windows(2).all(|w| w[0].id < w[1].id));
        let ids: std::collections::HashSet<_> = users.iter().map(|u| &u.employee_id).collect();
        assert_eq!(ids.len(), users.len());
        for user in &users {
            assert_eq!(user.cost_center.is_some(), user.division.is_some());
            let country = COUNTRIES
                .iter()
                .find(|c| Some(c.code) == user.usage_location.as_deref())
                .unwrap();
            assert_eq!(user.country.as_deref(), Some(country.name));
            let company = user.company_name.as_deref().unwrap();
            match country.code {
                "DE" => assert_eq!(company, "Contoso GmbH"),
                "US" | "GB" => assert_eq!(company, "Contoso Ltd"),
                _ => {}
            }
            let city = user.city.as_deref().unwrap();
            assert!(user.office_location.as_deref().unwrap().starts_with(city));
            assert_eq!(user.employee_id.as_deref().unwrap().len(), 6);
        }
        let count = |f: &dyn Fn(&DirectoryUser) -> bool| users.iter().filter(|u| f(u)).count();
        assert_eq!(count(&|u| u.department.is_none()), 6);
        assert_eq!(count(&|u| u.cost_center.is_none()), 8);
    }

    #[test]
    fn changes_follow_the_rules_and_apply_from_their_day() {
        for seed in 0..20 {
            let first_num = day_number(first());
            let directory = Directory::new(seed, first_num, 30);
            let changes = directory.changes();
            assert_eq!(changes.len(), MOVERS + 2, "seed {seed}");
            let on = |c: &DirectoryChange, d: i64| {
                directory.at(d).into_iter().find(|u| u.id == c.user_id)
            };
            for change in &changes {
                let d = day_number(change.day);
                assert!((first_num + 1..first_num + 30).contains(&d), "{change:?}");
                let (before, after) = (on(change, d - 1), on(change, d));
                let last = on(change, first_num + 29);
                assert_eq!(after, last);
                match &change.change {
                    DirectoryChangeKind::Moved {
                        from_department,
                        to_department,
                        from_cost_center,
                        to_cost_center,
                    } => {
                        let (before, after) = (before.unwrap(), after.unwrap());
                        assert_ne!(from_department, to_department);
                        assert_eq!(before.department.as_ref(), Some(from_department));
                        assert_eq!(before.cost_center.as_ref(), Some(from_cost_center));
                        assert_eq!(after.department.as_ref(), Some(to_department));
                        assert_eq!(after.cost_center.as_ref(), Some(to_cost_center));
                        assert_eq!(before.job_title, after.job_title);
                    }
                    DirectoryChangeKind::Disabled => {
                        assert!(before.unwrap().account_enabled);
                        assert!(!after.unwrap().account_enabled);
                    }
                    DirectoryChangeKind::Created => {
                        assert_eq!(d, first_num + 15);
                        assert!(before.is_none() && after.unwrap().account_enabled);
                        assert_eq!(directory.at(d - 1).len(), USERS as usize);
                    }
                }
                assert_eq!(
                    directory.changed_between(d - 1, d),
                    changes
                        .iter()
                        .filter(|c| c.day == change.day)
                        .map(|c| c.user_id.as_str())
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                );
            }
            let ids: std::collections::HashSet<_> = changes.iter().map(|c| &c.user_id).collect();
            assert_eq!(ids.len(), changes.len(), "one change per user");
            assert_eq!(
                directory.changed_between(first_num, first_num + 29).len(),
                changes.len()
            );
            assert_eq!(
                directory.changed_between(first_num + 29, first_num),
                directory.changed_between(first_num, first_num + 29)
            );
        }
    }

    #[test]
    fn a_one_day_tenant_has_no_changes_and_no_created_user() {
        let directory = Directory::new(42, day_number(first()), 1);
        assert!(directory.changes().is_empty());
        assert_eq!(directory.at(day_number(first())).len(), USERS as usize);
        assert_eq!(
            directory.at(day_number(first()) + 100).len(),
            USERS as usize
        );
    }
}
