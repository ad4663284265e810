-- DuckDB twin of crates/query/sql/toll-fraud-signals.sql (`pstn-lake report toll-fraud-signals`): the same question,
-- parameters ($from, $to, ... as typed literals) and output columns, in DuckDB's SQL; the
-- report's header (`pstn-lake report toll-fraud-signals --show-sql`) defines the answer. bench/catalog_check.py
-- runs it over `pstn-lake ddl --engine duckdb` views and compares it row by row with the report.
-- What differs from the report's SQL, and why:
-- * the signals fragment is bench/duckdb/fragments/signals.sql (see there)
WITH {signals},
-- The first time Microsoft blocked the call's user (by user_id) at or after the call's start.
later_blocks AS (
    SELECT s.signal, s.id, min(b.block_date_time) AS blocked_utc
    FROM signals s
    JOIN pstn_blocked_users b
      ON b.user_id = s.user_id
     AND b.block_date_time >= s.start_date_time
     AND lower(b.user_block_mode) = 'blocked'
    GROUP BY s.signal, s.id
)
SELECT
    signal,
    start_date_time                                                AS start_utc,
    coalesce(user_principal_name, '')                              AS user_principal_name,
    callee_number,
    coalesce(destination_name, '')                                 AS destination,
    usage_country_code                                             AS country,
    duration                                                       AS duration_seconds,
    charge,
    currency,
    detail,
    blocked_utc
FROM signals
LEFT JOIN later_blocks USING (signal, id)
WHERE ($currency IS NULL OR currency = $currency)
  AND ($country IS NULL OR usage_country_code = $country)
  AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
ORDER BY start_date_time, signal, id
LIMIT $limit
