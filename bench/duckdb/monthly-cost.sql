-- DuckDB twin of crates/query/sql/monthly-cost.sql (`pstn-lake report monthly-cost`): the same question,
-- parameters ($from, $to, ... as typed literals) and output columns, in DuckDB's SQL; the
-- report's header (`pstn-lake report monthly-cost --show-sql`) defines the answer. bench/catalog_check.py
-- runs it over `pstn-lake ddl --engine duckdb` views and compares it row by row with the report.
-- What differs from the report's SQL, and why:
-- * to_char(x, fmt) -> strftime(x, fmt): DuckDB has no to_char; strftime takes the same
--   strftime-style format and the same argument order
WITH calls AS (
    SELECT *
    FROM pstn_calls
    WHERE call_date BETWEEN $from AND $to
      AND ($currency IS NULL OR currency = $currency)
      AND ($country IS NULL OR usage_country_code = $country)
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
),
call_months AS (
    SELECT
        CAST(date_trunc('month', call_date) AS DATE)             AS month_start,
        currency,
        count(*)                                                  AS calls,
        sum(CAST(duration AS BIGINT))                             AS seconds,
        sum(charge)                                               AS charge,
        sum(connection_charge)                                    AS connection_charge,
        sum(coalesce(charge, 0) + coalesce(connection_charge, 0)) AS total_charge
    FROM calls
    GROUP BY CAST(date_trunc('month', call_date) AS DATE), currency
),
sms AS (
    SELECT CAST(date_trunc('month', call_date) AS DATE) AS month_start, currency,
           sum(call_charge) AS sms_charge
    FROM sms_logs
    WHERE call_date BETWEEN $from AND $to
      AND ($currency IS NULL OR currency = $currency)
      AND ($country IS NULL OR user_country_code = $country)
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
    GROUP BY CAST(date_trunc('month', call_date) AS DATE), currency
),
dialout AS (
    SELECT CAST(date_trunc('month', call_date) AS DATE) AS month_start, currency,
           sum(total_call_charge) AS dialout_charge
    FROM pstn_dialout_report
    WHERE call_date BETWEEN $from AND $to
      AND ($currency IS NULL OR currency = $currency)
      AND ($country IS NULL OR usage_location = $country)
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
    GROUP BY CAST(date_trunc('month', call_date) AS DATE), currency
),
months AS (
    SELECT month_start, currency FROM call_months
    UNION
    SELECT month_start, currency FROM sms
    UNION
    SELECT month_start, currency FROM dialout
),
monthly AS (
    SELECT
        m.month_start,
        m.currency,
        coalesce(c.calls, 0)                                      AS calls,
        coalesce(c.seconds, 0)                                    AS seconds,
        c.charge,
        c.connection_charge,
        coalesce(c.total_charge, CAST(0 AS DECIMAL(28, 6)))       AS total_charge,
        s.sms_charge,
        d.dialout_charge
    FROM months m
    LEFT JOIN call_months c
      ON c.month_start = m.month_start AND c.currency IS NOT DISTINCT FROM m.currency
    LEFT JOIN sms s
      ON s.month_start = m.month_start AND s.currency IS NOT DISTINCT FROM m.currency
    LEFT JOIN dialout d
      ON d.month_start = m.month_start AND d.currency IS NOT DISTINCT FROM m.currency
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
    strftime(month_start, '%Y-%m')                                 AS month,
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
