-- DuckDB twin of crates/query/sql/credits-dialout.sql (`pstn-lake report credits-dialout`): the same question,
-- parameters ($from, $to, ... as typed literals) and output columns, in DuckDB's SQL; the
-- report's header (`pstn-lake report credits-dialout --show-sql`) defines the answer. bench/catalog_check.py
-- runs it over `pstn-lake ddl --engine duckdb` views and compares it row by row with the report.
-- What differs from the report's SQL, and why:
-- * to_char(x, fmt) -> strftime(x, fmt): DuckDB has no to_char; strftime takes the same
--   strftime-style format and the same argument order
SELECT
    strftime(CAST(date_trunc('month', call_date) AS DATE), '%Y-%m')    AS month,
    currency,
    destination_context,
    count(DISTINCT user_id)                                            AS organizers,
    coalesce(sum(CAST(total_calls AS BIGINT)), 0)                      AS calls,
    round(CAST(coalesce(sum(CAST(total_call_seconds AS BIGINT)), 0) AS DECIMAL(20, 0)) / 60, 2) AS minutes,
    sum(total_call_charge)                                             AS charge
FROM pstn_dialout_report
WHERE call_date BETWEEN $from AND $to
  AND ($currency IS NULL OR currency = $currency)
  AND ($country IS NULL OR usage_location = $country)
  AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
GROUP BY CAST(date_trunc('month', call_date) AS DATE), currency, destination_context
ORDER BY month, currency NULLS LAST, destination_context NULLS LAST
LIMIT $limit
