-- Charges by department: PSTN calls, SMS and meeting dial-outs per department (or cost center, division, company, office, country, administrative unit) and currency, each charged to the group its user belonged to on its day.
-- Chart: bar x=charged_to y=total_charge split=currency
-- Parameters: --by ($by): what users are grouped by: department (the default), cost-center,
--   division, company, office or country (the directory's department, cost_center, division,
--   company_name, office_location, country), or admin-unit (the first administrative unit on the
--   call or SMS row; dial-outs carry none). The --mapping is matched on the row's own
--   user_principal_name (any case) or user_id. --from/--to ($from, $to): first and last call_date
--   (UTC days, inclusive; they prune whole day partitions), all days when not given.
--   --currency: only that currency. --limit: at most N rows. --mapping FILE.csv (`user,group`):
--   the shop's own groups, which win over the directory.
-- Rows: pstn_calls (charge + connection_charge), sms_logs (call_charge) and pstn_dialout_report
-- (total_call_charge, Communication Credits); Direct Routing calls carry no Microsoft charge.
-- Each row's user (user_id) is looked up in the directory snapshot (the users table) of the
-- row's day: the latest snapshot_date on or before call_date, or the first snapshot for days
-- before it (a backfill is charged too). The group is, in this order: the --mapping group of the
-- user; `(no user: auto attendant / call queue)` for a row without user_id (null or empty, as
-- Graph writes it on conferencing rows); for admin-unit the row's unit, `(not set)` without one;
-- `(not in directory)` when the snapshot does not hold the user (or the lake has no snapshot);
-- `(not set)` when the user's value is null or empty. A user who left the directory keeps their
-- last values. One row per currency and group; money is never added across currencies.
-- users counts distinct user_id; calls the PSTN calls; sms the SMS; dialout_calls the sum of
-- total_calls. call_charge, sms_charge and dialout_charge are exact sums (a missing amount counts
-- as 0, and a group without such rows shows 0); total_charge is their sum. share_pct =
-- 100 * total_charge / the currency's total, rounded half away from zero to 1 decimal (empty
-- when that total is 0). Ordered by currency, then total_charge descending, then group.
WITH charge_rows AS (
    SELECT
        call_date,
        user_id,
        user_principal_name,
        currency,
        CASE WHEN $by = 'admin-unit' THEN administrative_unit_infos[1]['id'] END AS admin_unit,
        CAST(1 AS BIGINT)                                                      AS calls,
        CAST(0 AS BIGINT)                                                      AS sms,
        CAST(0 AS BIGINT)                                                      AS dialout_calls,
        CAST(coalesce(charge, 0) + coalesce(connection_charge, 0) AS DECIMAL(20, 6)) AS call_charge,
        CAST(0 AS DECIMAL(20, 6))                                              AS sms_charge,
        CAST(0 AS DECIMAL(20, 6))                                              AS dialout_charge
    FROM pstn_calls
    WHERE call_date BETWEEN $from AND $to
      AND ($currency IS NULL OR currency = $currency)
    UNION ALL
    SELECT
        call_date,
        user_id,
        user_principal_name,
        currency,
        CASE WHEN $by = 'admin-unit' THEN administrative_unit_infos[1]['id'] END,
        CAST(0 AS BIGINT),
        CAST(1 AS BIGINT),
        CAST(0 AS BIGINT),
        CAST(0 AS DECIMAL(20, 6)),
        CAST(coalesce(call_charge, 0) AS DECIMAL(20, 6)),
        CAST(0 AS DECIMAL(20, 6))
    FROM sms_logs
    WHERE call_date BETWEEN $from AND $to
      AND ($currency IS NULL OR currency = $currency)
    UNION ALL
    SELECT
        call_date,
        user_id,
        user_principal_name,
        currency,
        CAST(NULL AS VARCHAR),
        CAST(0 AS BIGINT),
        CAST(0 AS BIGINT),
        CAST(coalesce(total_calls, 0) AS BIGINT),
        CAST(0 AS DECIMAL(20, 6)),
        CAST(0 AS DECIMAL(20, 6)),
        CAST(coalesce(total_call_charge, 0) AS DECIMAL(20, 6))
    FROM pstn_dialout_report
    WHERE call_date BETWEEN $from AND $to
      AND ($currency IS NULL OR currency = $currency)
),
-- Summed per day, user and currency first: the directory and the mapping are then joined to
-- those rows, not to every call. An empty user_id becomes none here, on the sums, not on every
-- call (groups of both are summed again below).
charges AS (
    SELECT
        call_date, nullif(user_id, '') AS user_id, user_principal_name, currency, admin_unit,
        sum(calls) AS calls, sum(sms) AS sms, sum(dialout_calls) AS dialout_calls,
        sum(call_charge) AS call_charge, sum(sms_charge) AS sms_charge, sum(dialout_charge) AS dialout_charge
    FROM charge_rows
    GROUP BY call_date, user_id, user_principal_name, currency, admin_unit
),
-- Which snapshot holds each day, as periods: a snapshot from its date up to the next one's, and
-- the first also every day before it. Joined to the summed rows by range, so that the rows are
-- not computed a second time to list their days.
snapshots AS (
    SELECT DISTINCT snapshot_date FROM users
),
periods AS (
    SELECT
        snapshot_date,
        CASE WHEN snapshot_date = min(snapshot_date) OVER () THEN DATE '0001-01-01'
             ELSE snapshot_date END                                            AS first_day,
        lead(snapshot_date) OVER (ORDER BY snapshot_date)                      AS next_snapshot
    FROM snapshots
),
directory AS (
    SELECT
        snapshot_date,
        id,
        CASE coalesce($by, 'department')
            WHEN 'department' THEN department
            WHEN 'cost-center' THEN cost_center
            WHEN 'division' THEN division
            WHEN 'company' THEN company_name
            WHEN 'office' THEN office_location
            WHEN 'country' THEN country
        END                                                                    AS attribute
    FROM users
),
charged AS (
    SELECT
        c.*,
        CASE
            WHEN by_name.group_name IS NOT NULL THEN by_name.group_name
            WHEN by_id.group_name IS NOT NULL THEN by_id.group_name
            WHEN c.user_id IS NULL THEN '(no user: auto attendant / call queue)'
            WHEN $by = 'admin-unit' THEN coalesce(c.admin_unit, '(not set)')
            WHEN d.id IS NULL THEN '(not in directory)'
            ELSE coalesce(nullif(d.attribute, ''), '(not set)')
        END                                                                    AS charged_to
    FROM charges c
    LEFT JOIN periods a
      ON c.call_date >= a.first_day AND (a.next_snapshot IS NULL OR c.call_date < a.next_snapshot)
    LEFT JOIN directory d ON d.snapshot_date = a.snapshot_date AND d.id = c.user_id
    LEFT JOIN chargeback_mapping by_name ON by_name.user_key = lower(c.user_principal_name)
    LEFT JOIN chargeback_mapping by_id ON by_id.user_key = lower(c.user_id)
),
grouped AS (
    SELECT
        currency,
        charged_to,
        count(DISTINCT user_id)                                                AS users,
        sum(calls)                                                             AS calls,
        sum(call_charge)                                                       AS call_charge,
        sum(sms)                                                               AS sms,
        sum(sms_charge)                                                        AS sms_charge,
        sum(dialout_calls)                                                     AS dialout_calls,
        sum(dialout_charge)                                                    AS dialout_charge,
        sum(call_charge + sms_charge + dialout_charge)                         AS total_charge
    FROM charged
    GROUP BY currency, charged_to
)
SELECT
    currency,
    charged_to,
    users,
    calls,
    call_charge,
    sms,
    sms_charge,
    dialout_calls,
    dialout_charge,
    total_charge,
    round(100 * total_charge / nullif(sum(total_charge) OVER (PARTITION BY currency), 0), 1) AS share_pct
FROM grouped
ORDER BY currency NULLS LAST, total_charge DESC, charged_to
LIMIT $limit
