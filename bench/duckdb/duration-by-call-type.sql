-- DuckDB twin of crates/query/sql/duration-by-call-type.sql (`pstn-lake report duration-by-call-type`): the same question,
-- parameters ($from, $to, ... as typed literals) and output columns, in DuckDB's SQL; the
-- report's header (`pstn-lake report duration-by-call-type --show-sql`) defines the answer. bench/catalog_check.py
-- runs it over `pstn-lake ddl --engine duckdb` views and compares it row by row with the report.
-- What differs from the report's SQL, and why:
-- * integer `/ 100` -> `// 100` (p50_lower, p95_lower): in DuckDB `/` of two integers is a
--   DOUBLE division (7 / 2 = 3.5), in DataFusion (and PostgreSQL) an integer one (3); the
--   percentile positions need the integer quotient. Run as is, DuckDB finds no row at a
--   fractional position and prints an empty p50/p95 wherever (n - 1) * p is not a multiple of 100
WITH calls AS (
    SELECT 'pstn' AS source, coalesce(call_type, '') AS call_type, duration
    FROM pstn_calls
    WHERE call_date BETWEEN $from AND $to
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
    UNION ALL
    SELECT 'direct_routing' AS source, coalesce(call_type, '') AS call_type, duration
    FROM direct_routing_calls
    WHERE call_date BETWEEN $from AND $to
      AND successful_call
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
),
ranked AS (
    SELECT
        source,
        call_type,
        duration,
        row_number() OVER (
            PARTITION BY source, call_type ORDER BY duration ASC NULLS LAST
        )                                                         AS position,
        count(duration) OVER (PARTITION BY source, call_type)     AS n
    FROM calls
),
-- For percentile p (in hundredths), position 1 + p * (n - 1) / 100 = lower + fraction / 100.
located AS (
    SELECT
        *,
        50 * (n - 1) // 100 + 1                                    AS p50_lower,
        50 * (n - 1) % 100                                        AS p50_fraction,
        95 * (n - 1) // 100 + 1                                    AS p95_lower,
        95 * (n - 1) % 100                                        AS p95_fraction
    FROM ranked
),
per_type AS (
    SELECT
        source,
        call_type,
        count(*)                                                  AS calls,
        count(duration)                                           AS timed,
        coalesce(sum(CAST(duration AS BIGINT)), 0)                AS seconds,
        max(duration) FILTER (WHERE position = p50_lower)         AS p50_low,
        max(duration) FILTER (WHERE position = p50_lower + 1)     AS p50_high,
        max(p50_fraction)                                         AS p50_fraction,
        max(duration) FILTER (WHERE position = p95_lower)         AS p95_low,
        max(duration) FILTER (WHERE position = p95_lower + 1)     AS p95_high,
        max(p95_fraction)                                         AS p95_fraction
    FROM located
    GROUP BY source, call_type
)
SELECT
    source,
    call_type,
    calls,
    round(CAST(seconds AS DECIMAL(20, 0)) / 60, 2)               AS minutes,
    round(CAST(seconds AS DECIMAL(20, 0)) / nullif(timed, 0), 2) AS mean_seconds,
    CAST(
        p50_low + CAST(p50_fraction AS DECIMAL(20, 0)) / 100 * (coalesce(p50_high, p50_low) - p50_low)
        AS DECIMAL(20, 2)
    )                                                             AS p50_seconds,
    CAST(
        p95_low + CAST(p95_fraction AS DECIMAL(20, 0)) / 100 * (coalesce(p95_high, p95_low) - p95_low)
        AS DECIMAL(20, 2)
    )                                                             AS p95_seconds
FROM per_type
ORDER BY source DESC, call_type
LIMIT $limit
