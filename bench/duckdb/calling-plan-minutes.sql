-- DuckDB twin of crates/query/sql/calling-plan-minutes.sql (`pstn-lake report calling-plan-minutes`): the same question,
-- parameters ($from, $to, ... as typed literals) and output columns, in DuckDB's SQL; the
-- report's header (`pstn-lake report calling-plan-minutes --show-sql`) defines the answer. bench/catalog_check.py
-- runs it over `pstn-lake ddl --engine duckdb` views and compares it row by row with the report.
-- What differs from the report's SQL, and why:
-- * to_char(x, fmt) -> strftime(x, fmt): DuckDB has no to_char; strftime takes the same
--   strftime-style format and the same argument order
SELECT
    strftime(CAST(date_trunc('month', call_date) AS DATE), '%Y-%m')     AS month,
    usage_country_code                                                 AS country,
    lower(coalesce(destination_context, ''))                           AS destination,
    count(*)                                                           AS calls,
    count(DISTINCT user_id)                                            AS users,
    coalesce(sum(CAST(duration AS BIGINT)), 0)                         AS seconds,
    round(CAST(coalesce(sum(CAST(duration AS BIGINT)), 0) AS DECIMAL(20, 0)) / 60, 2) AS minutes
FROM pstn_calls
WHERE call_date BETWEEN $from AND $to
  AND lower(call_type) LIKE '%out%'
  AND ($country IS NULL OR usage_country_code = $country)
  AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
GROUP BY 1, 2, 3
ORDER BY month, country NULLS LAST, destination
LIMIT $limit
