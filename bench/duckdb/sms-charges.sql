-- DuckDB twin of crates/query/sql/sms-charges.sql (`pstn-lake report sms-charges`): the same question,
-- parameters ($from, $to, ... as typed literals) and output columns, in DuckDB's SQL; the
-- report's header (`pstn-lake report sms-charges --show-sql`) defines the answer. bench/catalog_check.py
-- runs it over `pstn-lake ddl --engine duckdb` views and compares it row by row with the report.
-- What differs from the report's SQL, and why:
-- * to_char(x, fmt) -> strftime(x, fmt): DuckDB has no to_char; strftime takes the same
--   strftime-style format and the same argument order
SELECT
    strftime(CAST(date_trunc('month', call_date) AS DATE), '%Y-%m') AS month,
    currency,
    sms_type,
    destination_context,
    count(*)                                                        AS messages,
    coalesce(sum(CAST(sms_units AS BIGINT)), 0)                     AS units,
    sum(call_charge)                                                AS charge
FROM sms_logs
WHERE call_date BETWEEN $from AND $to
  AND ($currency IS NULL OR currency = $currency)
  AND ($country IS NULL OR user_country_code = $country)
  AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
GROUP BY CAST(date_trunc('month', call_date) AS DATE), currency, sms_type, destination_context
ORDER BY month, currency NULLS LAST, sms_type NULLS LAST, destination_context NULLS LAST
LIMIT $limit
