-- Monthly cost: PSTN calls, minutes and charges per month and currency, with the change from the previous month, and the month's SMS and meeting dial-out charges beside them.
-- Chart: line x=month y=total_charge split=currency
-- Parameters: --from/--to ($from, $to): first and last call_date (UTC days, inclusive; they prune
--   whole day partitions), all days when not given. --currency, --country (usage_country_code;
--   for SMS user_country_code, for dial-outs usage_location), --user (user_principal_name in any
--   case, or user_id): only those calls, SMS and dial-outs. --limit: at most N rows.
-- month is the UTC calendar month (YYYY-MM). One row per month and currency that has calls, SMS
-- (sms_logs) or meeting dial-outs (pstn_dialout_report); money is never added across currencies.
-- total_charge = charge + connection_charge of the calls (a missing amount counts as 0; 0 in a
-- month without calls in the currency, whose calls is 0 and charge and connection_charge empty).
-- sms_charge is the exact sum of the SMS' call_charge, dialout_charge that of the dial-outs'
-- total_call_charge (Communication Credits), each empty when there is none; they are not in
-- total_charge. previous_total is the same currency's total_charge in the calendar month before
-- (0 when that month had no calls in the currency); it, change and change_pct are empty in the
-- first month of the report (the month of its earliest row), whose previous month it does not
-- cover. change = total_charge - previous_total (exact); change_pct = 100 * change /
-- previous_total, rounded half away from zero to 1 decimal, empty when previous_total is 0.
-- minutes = seconds / 60, rounded half away from zero to 2 decimals.
WITH calls AS (
    SELECT *
    FROM pstn_calls
    WHERE call_date BETWEEN $from AND $to
      AND ($currency IS NULL OR currency = $currency)
      AND ($country IS NULL OR usage_country_code = $country)
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
),
-- Each source summed per day first (call_date is the partition: the month is then found for a
-- few hundred days, not for every call), then per month; each table is read once.
call_days AS (
    SELECT
        call_date,
        currency,
        count(*)                                                  AS calls,
        sum(CAST(duration AS BIGINT))                             AS seconds,
        sum(charge)                                               AS charge,
        sum(connection_charge)                                    AS connection_charge,
        sum(coalesce(charge, 0) + coalesce(connection_charge, 0)) AS total_charge
    FROM calls
    GROUP BY call_date, currency
),
sms_days AS (
    SELECT call_date, currency, sum(call_charge) AS sms_charge
    FROM sms_logs
    WHERE call_date BETWEEN $from AND $to
      AND ($currency IS NULL OR currency = $currency)
      AND ($country IS NULL OR user_country_code = $country)
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
    GROUP BY call_date, currency
),
dialout_days AS (
    SELECT call_date, currency, sum(total_call_charge) AS dialout_charge
    FROM pstn_dialout_report
    WHERE call_date BETWEEN $from AND $to
      AND ($currency IS NULL OR currency = $currency)
      AND ($country IS NULL OR usage_location = $country)
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
    GROUP BY call_date, currency
),
-- One row per source, day and currency; has_calls tells a month without calls (charge empty,
-- total_charge 0) from one whose calls have no charge.
days AS (
    SELECT call_date, currency, calls, seconds, charge, connection_charge, total_charge,
           CAST(NULL AS DECIMAL(28, 6)) AS sms_charge, CAST(NULL AS DECIMAL(28, 6)) AS dialout_charge
    FROM call_days
    UNION ALL
    SELECT call_date, currency, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS DECIMAL(28, 6)),
           CAST(NULL AS DECIMAL(28, 6)), CAST(NULL AS DECIMAL(37, 6)), sms_charge, CAST(NULL AS DECIMAL(28, 6))
    FROM sms_days
    UNION ALL
    SELECT call_date, currency, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS DECIMAL(28, 6)),
           CAST(NULL AS DECIMAL(28, 6)), CAST(NULL AS DECIMAL(37, 6)), CAST(NULL AS DECIMAL(28, 6)), dialout_charge
    FROM dialout_days
),
-- The sums keep the types a single sum per month had (they cannot grow past them: the same values).
monthly AS (
    SELECT
        CAST(date_trunc('month', call_date) AS DATE)              AS month_start,
        currency,
        coalesce(CAST(sum(calls) AS BIGINT), 0)                   AS calls,
        coalesce(CAST(sum(seconds) AS BIGINT), 0)                 AS seconds,
        CAST(sum(charge) AS DECIMAL(28, 6))                       AS charge,
        CAST(sum(connection_charge) AS DECIMAL(28, 6))            AS connection_charge,
        coalesce(CAST(sum(total_charge) AS DECIMAL(37, 6)), CAST(0 AS DECIMAL(37, 6))) AS total_charge,
        CAST(sum(sms_charge) AS DECIMAL(28, 6))                   AS sms_charge,
        CAST(sum(dialout_charge) AS DECIMAL(28, 6))               AS dialout_charge
    FROM days
    GROUP BY CAST(date_trunc('month', call_date) AS DATE), currency
),
with_previous AS (
    SELECT
        *,
        lag(month_start) OVER w                                   AS previous_month,
        lag(total_charge) OVER w                                  AS previous_month_total,
        min(month_start) OVER ()                                  AS first_month
    FROM monthly
    WINDOW w AS (PARTITION BY currency ORDER BY month_start)
),
compared AS (
    SELECT
        *,
        CASE
            WHEN month_start = first_month THEN NULL
            WHEN previous_month = CAST(month_start - INTERVAL '1 month' AS DATE)
                THEN previous_month_total
            ELSE CAST(0 AS DECIMAL(28, 6))
        END                                                       AS previous_total
    FROM with_previous
)
SELECT
    to_char(month_start, '%Y-%m')                                 AS month,
    currency,
    calls,
    round(CAST(seconds AS DECIMAL(20, 0)) / 60, 2)               AS minutes,
    charge,
    connection_charge,
    total_charge,
    sms_charge,
    dialout_charge,
    previous_total,
    total_charge - previous_total                                 AS change,
    round(100 * (total_charge - previous_total) / nullif(previous_total, 0), 1) AS change_pct
FROM compared
ORDER BY month_start, currency NULLS LAST
LIMIT $limit
