//! The lake tables: which Graph function feeds each, and its exact Arrow schema.

use std::fmt;
use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Precision of every money column: 12 integer digits and [`MONEY_SCALE`] fractional digits.
pub const MONEY_PRECISION: u8 = 18;
/// Scale of every money column. A value with more non-zero fractional digits is refused, never rounded.
pub const MONEY_SCALE: i8 = 6;
/// The column that keeps row properties the schema does not know, as a JSON object text.
pub const EXTRA_PROPERTIES: &str = "extra_properties";

/// What a Graph property is decoded into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Edm.String` (and enums such as `callDurationSource`): Utf8.
    Str,
    /// `Edm.DateTimeOffset`: Timestamp(µs, UTC); `0001-01-01T00:00:00Z` is null.
    Timestamp,
    /// `Edm.Int32`.
    Int32,
    /// `Edm.Boolean`.
    Bool,
    /// `Edm.Decimal` money: Decimal128([`MONEY_PRECISION`], [`MONEY_SCALE`]).
    Money,
    /// `Collection(administrativeUnitInfo)`: List<Struct<id: Utf8>>.
    IdList,
}

/// One Graph property of a row type.
#[derive(Debug, Clone, Copy)]
pub struct Property {
    /// The Graph (camelCase) name.
    pub graph_name: &'static str,
    /// What it decodes into.
    pub kind: Kind,
    /// Whether only the beta API returns it.
    pub beta: bool,
}

const fn p(graph_name: &'static str, kind: Kind) -> Property {
    Property {
        graph_name,
        kind,
        beta: false,
    }
}

const fn beta(graph_name: &'static str, kind: Kind) -> Property {
    Property {
        graph_name,
        kind,
        beta: true,
    }
}

use Kind::*;

/// `microsoft.graph.callRecords.pstnCallLogRow`, v1.0 then beta properties.
const PSTN: &[Property] = &[
    p("id", Str),
    p("callId", Str),
    p("userId", Str),
    p("userPrincipalName", Str),
    p("userDisplayName", Str),
    p("startDateTime", Timestamp),
    p("endDateTime", Timestamp),
    p("duration", Int32),
    p("charge", Money),
    p("connectionCharge", Money),
    p("currency", Str),
    p("callType", Str),
    p("calleeNumber", Str),
    p("callerNumber", Str),
    p("usageCountryCode", Str),
    p("tenantCountryCode", Str),
    p("destinationContext", Str),
    p("destinationName", Str),
    p("conferenceId", Str),
    p("licenseCapability", Str),
    p("inventoryType", Str),
    p("operator", Str),
    p("callDurationSource", Str),
    beta("otherPartyCountryCode", Str),
    beta("administrativeUnitInfos", IdList),
    beta("clientLocalIpV4Address", Str),
    beta("clientLocalIpV6Address", Str),
    beta("clientPublicIpV4Address", Str),
    beta("clientPublicIpV6Address", Str),
];

/// `microsoft.graph.callRecords.directRoutingLogRow`, v1.0 then beta properties.
const DIRECT_ROUTING: &[Property] = &[
    p("id", Str),
    p("correlationId", Str),
    p("userId", Str),
    p("userPrincipalName", Str),
    p("userDisplayName", Str),
    p("startDateTime", Timestamp),
    p("inviteDateTime", Timestamp),
    p("failureDateTime", Timestamp),
    p("endDateTime", Timestamp),
    p("duration", Int32),
    p("callType", Str),
    p("successfulCall", Bool),
    p("callerNumber", Str),
    p("calleeNumber", Str),
    p("mediaPathLocation", Str),
    p("signalingLocation", Str),
    p("finalSipCode", Int32),
    p("finalSipCodePhrase", Str),
    p("callEndSubReason", Int32),
    p("trunkFullyQualifiedDomainName", Str),
    p("mediaBypassEnabled", Bool),
    beta("transferorCorrelationId", Str),
    beta("userCountryCode", Str),
    beta("otherPartyCountryCode", Str),
    beta("administrativeUnitInfos", IdList),
];

/// `microsoft.graph.callRecords.smsLogRow` (beta only): its own properties, then those of the
/// beta base type `callLogRow`.
const SMS: &[Property] = &[
    beta("id", Str),
    beta("userId", Str),
    beta("userPrincipalName", Str),
    beta("userDisplayName", Str),
    beta("sentDateTime", Timestamp),
    beta("callCharge", Money),
    beta("currency", Str),
    beta("smsType", Str),
    beta("smsUnits", Int32),
    beta("smsId", Str),
    beta("sourceNumber", Str),
    beta("destinationNumber", Str),
    beta("destinationContext", Str),
    beta("destinationName", Str),
    beta("licenseCapability", Str),
    beta("tenantCountryCode", Str),
    beta("userCountryCode", Str),
    beta("otherPartyCountryCode", Str),
    beta("administrativeUnitInfos", IdList),
];

/// `microsoft.graph.callRecords.pstnBlockedUsersLogRow` (beta only; it has no `id`).
const BLOCKED_USERS: &[Property] = &[
    beta("remediationId", Str),
    beta("userId", Str),
    beta("userPrincipalName", Str),
    beta("userDisplayName", Str),
    beta("blockDateTime", Timestamp),
    beta("userBlockMode", Str),
    beta("blockReason", Str),
    beta("userTelephoneNumber", Str),
];

/// `microsoft.graph.callRecords.pstnOnlineMeetingDialoutReport` (beta only): totals over the
/// requested window, with neither an `id` nor a date-time of their own.
const DIALOUT_REPORT: &[Property] = &[
    beta("userId", Str),
    beta("userPrincipalName", Str),
    beta("userDisplayName", Str),
    beta("usageLocation", Str),
    beta("destinationContext", Str),
    beta("currency", Str),
    beta("totalCallCharge", Money),
    beta("totalCalls", Int32),
    beta("totalCallSeconds", Int32),
];

/// `microsoft.graph.user` (v1.0), the properties a chargeback needs. `costCenter` and `division`
/// are those of the user's `employeeOrgData` (a complex property, read into these two columns).
/// Read by [`crate::directory`], not by the call-log page decoder.
const USERS: &[Property] = &[
    p("id", Str),
    p("userPrincipalName", Str),
    p("displayName", Str),
    p("department", Str),
    p("jobTitle", Str),
    p("companyName", Str),
    p("officeLocation", Str),
    p("city", Str),
    p("country", Str),
    p("usageLocation", Str),
    p("employeeId", Str),
    p("costCenter", Str),
    p("division", Str),
    p("accountEnabled", Bool),
];

/// The column of a directory snapshot that says a user left the directory: Graph's
/// `@removed.reason` from `/users/delta` (`changed`: deleted, restorable for 30 days; `deleted`:
/// gone for good), `missing` when a full listing no longer held the user; null while the user is
/// in the directory. Such a user stays in later snapshots with their last values, so calls landed
/// late are still charged to their last department.
pub const REMOVED: &str = "removed";

/// The column pstn-lake derives as the key of a table whose Graph rows have no `id`: the values
/// that identify a row, joined by `|` (see [`Table::key_parts`]).
pub const ROW_KEY: &str = "row_key";

/// The columns of a window's bounds, which pstn-lake adds to the rows of a report that Graph
/// returns as totals over the requested window ([`Table::is_window_totals`]).
pub const WINDOW_COLUMNS: [&str; 2] = ["from_date_time", "to_date_time"];

/// A lake table fed by one Graph `callRecords` function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `getPstnCalls`: Calling Plan and Operator Connect calls.
    PstnCalls,
    /// `getDirectRoutingCalls`: calls through the customer's own SBCs.
    DirectRoutingCalls,
    /// `getSmsLog` (beta): SMS sent and received, with their charges.
    SmsLogs,
    /// `getPstnBlockedUsersLog` (beta): users Microsoft blocked from (or unblocked for) PSTN calls.
    PstnBlockedUsers,
    /// `getPstnOnlineMeetingDialoutReport` (beta): Communication Credits spent on meeting
    /// dial-outs, as totals per user, location, destination context and currency for each day.
    PstnDialoutReport,
    /// `GET /users/delta` (v1.0): the user directory, one snapshot a day it changed, in
    /// `snapshot_date=` partitions (department, cost center, office: who pays for the calls).
    Users,
}

impl Table {
    /// Every table, in a stable order.
    pub const ALL: [Table; 6] = [
        Table::PstnCalls,
        Table::DirectRoutingCalls,
        Table::SmsLogs,
        Table::PstnBlockedUsers,
        Table::PstnDialoutReport,
        Table::Users,
    ];

    /// The tables fed by a `callRecords` log function, one UTC day per request: every table but
    /// the directory.
    pub const LOGS: [Table; 5] = [
        Table::PstnCalls,
        Table::DirectRoutingCalls,
        Table::SmsLogs,
        Table::PstnBlockedUsers,
        Table::PstnDialoutReport,
    ];

    /// The two call tables: what a sync of a new lake fetches when no table is named.
    pub const CALLS: [Table; 2] = [Table::PstnCalls, Table::DirectRoutingCalls];

    /// The lake table name (`pstn_calls`).
    pub fn name(self) -> &'static str {
        match self {
            Table::PstnCalls => "pstn_calls",
            Table::DirectRoutingCalls => "direct_routing_calls",
            Table::SmsLogs => "sms_logs",
            Table::PstnBlockedUsers => "pstn_blocked_users",
            Table::PstnDialoutReport => "pstn_dialout_report",
            Table::Users => "users",
        }
    }

    /// Whether each partition holds a snapshot of the whole table on its day
    /// (`snapshot_date=`, the lake's `SNAPSHOT_TABLES`), rather than the rows of its day
    /// (`call_date=`).
    pub fn is_snapshot(self) -> bool {
        matches!(self, Table::Users)
    }

    /// The table with this lake name.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The Graph function that returns this table's rows (`getPstnCalls`).
    pub fn graph_function(self) -> &'static str {
        match self {
            Table::PstnCalls => "getPstnCalls",
            Table::DirectRoutingCalls => "getDirectRoutingCalls",
            Table::SmsLogs => "getSmsLog",
            Table::PstnBlockedUsers => "getPstnBlockedUsersLog",
            Table::PstnDialoutReport => "getPstnOnlineMeetingDialoutReport",
            Table::Users => "users/delta",
        }
    }

    /// The Graph row type (`pstnCallLogRow`).
    pub fn row_type(self) -> &'static str {
        match self {
            Table::PstnCalls => "pstnCallLogRow",
            Table::DirectRoutingCalls => "directRoutingLogRow",
            Table::SmsLogs => "smsLogRow",
            Table::PstnBlockedUsers => "pstnBlockedUsersLogRow",
            Table::PstnDialoutReport => "pstnOnlineMeetingDialoutReport",
            Table::Users => "user",
        }
    }

    /// Whether only Graph's beta API has the function: such a table is always fetched from beta,
    /// whatever API version the lake's call tables use.
    pub fn beta_only(self) -> bool {
        !matches!(
            self,
            Table::PstnCalls | Table::DirectRoutingCalls | Table::Users
        )
    }

    /// The least privileged application permission the function needs (what to grant after a 403).
    pub fn permission(self) -> &'static str {
        match self {
            Table::PstnCalls | Table::PstnBlockedUsers => "CallRecord-PstnCalls.Read.All",
            Table::DirectRoutingCalls | Table::SmsLogs | Table::PstnDialoutReport => {
                "CallRecords.Read.All"
            }
            Table::Users => "User.Read.All",
        }
    }

    /// The table a request URL this client built asks for (`….getSmsLog(fromDateTime=…)`,
    /// `…/users/delta`).
    pub fn from_url_path(path: &str) -> Option<Table> {
        Table::LOGS
            .into_iter()
            .find(|t| path.contains(&format!(".{}(", t.graph_function())))
            .or_else(|| path.contains("/users").then_some(Table::Users))
    }

    /// The table an `@odata.context` URL describes
    /// (`…/$metadata#Collection(microsoft.graph.callRecords.pstnCallLogRow)`).
    pub fn from_odata_context(context: &str) -> Option<Table> {
        let fragment = context.rsplit_once('#').map_or(context, |(_, f)| f);
        Table::LOGS
            .into_iter()
            .find(|t| fragment.contains(&format!("callRecords.{})", t.row_type())))
    }

    /// The Graph properties of a row, in schema order.
    pub fn properties(self) -> &'static [Property] {
        match self {
            Table::PstnCalls => PSTN,
            Table::DirectRoutingCalls => DIRECT_ROUTING,
            Table::SmsLogs => SMS,
            Table::PstnBlockedUsers => BLOCKED_USERS,
            Table::PstnDialoutReport => DIALOUT_REPORT,
            Table::Users => USERS,
        }
    }

    /// Whether Graph's rows are totals over the requested window rather than events: pstn-lake
    /// fetches such a table one UTC day per request and records the day in
    /// [`WINDOW_COLUMNS`] (saved pages of it are ingested with the day they cover).
    pub fn is_window_totals(self) -> bool {
        matches!(self, Table::PstnDialoutReport)
    }

    /// The Utf8 column that identifies a row within a day: `id`, or [`ROW_KEY`] for a table
    /// whose Graph rows have none.
    pub fn key(self) -> &'static str {
        if self.key_parts().is_empty() {
            "id"
        } else {
            ROW_KEY
        }
    }

    /// For a table whose Graph rows have no `id`, the columns whose values, joined by `|` (a
    /// null as nothing, a timestamp as RFC 3339 with microseconds), make its [`ROW_KEY`]:
    /// - blocked users: the remediation (Graph's unique id of a block or unblock action), the user
    ///   and the time, so that an action naming several users, or the same id reused for the
    ///   unblock, keeps each row;
    /// - the dial-out report: Graph's grouping (user, location, destination context, currency);
    ///   the day is the partition.
    pub fn key_parts(self) -> &'static [&'static str] {
        match self {
            Table::PstnBlockedUsers => &["remediation_id", "user_id", "block_date_time"],
            Table::PstnDialoutReport => &[
                "user_id",
                "usage_location",
                "destination_context",
                "currency",
            ],
            _ => &[],
        }
    }

    /// The columns pstn-lake adds after [`EXTRA_PROPERTIES`]: the window's bounds of a
    /// [window-totals](Table::is_window_totals) table, then the [`ROW_KEY`] when there is one.
    pub fn derived_columns(self) -> Vec<&'static str> {
        let mut columns = Vec::new();
        if self.is_window_totals() {
            columns.extend(WINDOW_COLUMNS);
        }
        if !self.key_parts().is_empty() {
            columns.push(ROW_KEY);
        }
        if self.is_snapshot() {
            columns.push(REMOVED);
        }
        columns
    }

    /// Timestamp columns whose UTC date places a row in its `call_date` partition, first non-null
    /// wins (none for a [snapshot](Table::is_snapshot) table: its rows go to the day of the
    /// snapshot).
    pub fn partition_columns(self) -> &'static [&'static str] {
        match self {
            Table::PstnCalls => &["start_date_time"],
            // Direct Routing failures may have no start time: they are placed by their invite time.
            Table::DirectRoutingCalls => &["start_date_time", "invite_date_time"],
            Table::SmsLogs => &["sent_date_time"],
            Table::PstnBlockedUsers => &["block_date_time"],
            Table::PstnDialoutReport => &["from_date_time"],
            Table::Users => &[],
        }
    }

    /// The column a day's rows are sorted by (then by key): the first day column, or the key of
    /// a snapshot table.
    pub fn sort_by(self) -> &'static str {
        self.partition_columns()
            .first()
            .copied()
            .unwrap_or(self.key())
    }

    /// The exact Arrow schema of a decoded page (the lake files add nothing: `call_date` is the
    /// Hive partition directory).
    pub fn schema(self) -> SchemaRef {
        static SCHEMAS: LazyLock<Vec<SchemaRef>> =
            LazyLock::new(|| Table::ALL.into_iter().map(build_schema).collect());
        let i = Table::ALL
            .iter()
            .position(|t| *t == self)
            .expect("every table is in ALL");
        Arc::clone(&SCHEMAS[i])
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Table {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Table::from_name(s).ok_or_else(|| {
            let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
            format!("unknown table `{s}`: expected one of {}", names.join(", "))
        })
    }
}

/// The fields of an `administrativeUnitInfos` list item.
pub(crate) fn id_struct_fields() -> Fields {
    Fields::from(vec![Field::new("id", DataType::Utf8, true)])
}

/// The item field of an `administrativeUnitInfos` list.
pub(crate) fn id_list_item() -> Arc<Field> {
    Arc::new(Field::new(
        "item",
        DataType::Struct(id_struct_fields()),
        true,
    ))
}

/// The Arrow type of a property kind.
pub fn data_type(kind: Kind) -> DataType {
    match kind {
        Str => DataType::Utf8,
        Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Int32 => DataType::Int32,
        Bool => DataType::Boolean,
        Money => DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE),
        IdList => DataType::List(id_list_item()),
    }
}

/// The Graph properties in order, then [`EXTRA_PROPERTIES`], then the derived columns.
fn build_schema(table: Table) -> SchemaRef {
    let mut fields: Vec<Field> = table
        .properties()
        .iter()
        .map(|p| Field::new(snake_case(p.graph_name), data_type(p.kind), true))
        .collect();
    fields.push(Field::new(EXTRA_PROPERTIES, DataType::Utf8, true));
    for column in table.derived_columns() {
        let kind = if column == ROW_KEY || column == REMOVED {
            Str
        } else {
            Timestamp
        };
        fields.push(Field::new(column, data_type(kind), true));
    }
    Arc::new(Schema::new(fields))
}

/// Graph's camelCase property name turned snake_case mechanically:
/// `clientPublicIpV4Address` → `client_public_ip_v4_address`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                // An acronym ends where an uppercase letter is followed by a lowercase one: `IPAddr`.
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            // Digits stay with their letter: `ip_v4`, not `ip_v_4`.
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_names() {
        for (camel, snake) in [
            ("id", "id"),
            ("startDateTime", "start_date_time"),
            ("clientPublicIpV4Address", "client_public_ip_v4_address"),
            ("clientLocalIpV6Address", "client_local_ip_v6_address"),
            (
                "trunkFullyQualifiedDomainName",
                "trunk_fully_qualified_domain_name",
            ),
            ("administrativeUnitInfos", "administrative_unit_infos"),
            ("finalSipCodePhrase", "final_sip_code_phrase"),
        ] {
            assert_eq!(snake_case(camel), snake, "{camel}");
        }
    }

    #[test]
    fn schemas_cover_every_property_with_exact_types() {
        let pstn = Table::PstnCalls.schema();
        assert_eq!(pstn.fields().len(), 29 + 1);
        assert_eq!(
            pstn.field_with_name("charge").unwrap().data_type(),
            &DataType::Decimal128(18, 6)
        );
        assert_eq!(
            pstn.field_with_name("start_date_time").unwrap().data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert!(matches!(
            pstn.field_with_name("administrative_unit_infos")
                .unwrap()
                .data_type(),
            DataType::List(_)
        ));
        let dr = Table::DirectRoutingCalls.schema();
        assert_eq!(dr.fields().len(), 25 + 1);
        assert_eq!(
            dr.field_with_name("successful_call").unwrap().data_type(),
            &DataType::Boolean
        );
        assert!(dr.fields().iter().all(|f| f.is_nullable()));
    }

    #[test]
    fn table_from_context() {
        let ctx = "https://graph.microsoft.com/beta/$metadata#Collection(microsoft.graph.callRecords.pstnCallLogRow)";
        assert_eq!(Table::from_odata_context(ctx), Some(Table::PstnCalls));
        let ctx = "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.callRecords.directRoutingLogRow)";
        assert_eq!(
            Table::from_odata_context(ctx),
            Some(Table::DirectRoutingCalls)
        );
        assert_eq!(
            Table::from_odata_context("https://graph.microsoft.com/v1.0/$metadata#users"),
            None
        );
    }
}
