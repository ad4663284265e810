-- Duration by call type: calls, minutes, mean and median (p50) and p95 call length per call type.
-- Chart: bar x=call_type y=minutes unit=minutes
-- Parameters: --from/--to ($from, $to): first and last call_date (UTC days, inclusive; they prune
--   whole day partitions), all days when not given. --user (user_principal_name in any case, or
--   user_id): only that user's calls. --limit: at most N rows.
-- PSTN calls (source pstn) and connected Direct Routing calls (source direct_routing,
-- successful_call true: a failed attempt has no length). Calls without a duration count in calls
-- but not in the lengths. mean_seconds = seconds / calls with a duration, rounded half away from
-- zero to 2 decimals. p50_seconds and p95_seconds are exact percentiles with linear interpolation
-- between the two nearest calls (the spreadsheet PERCENTILE.INC; SQL percentile_cont): with n
-- lengths sorted ascending, the p-th is at position 1 + p * (n - 1); a fraction interpolates, so
-- the value has at most 2 decimals and is not rounded.
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
-- The lengths of each call type, counted: a type has few distinct lengths (whole seconds), so the
-- percentiles are found in these counts instead of by sorting every call.
counted AS (
    SELECT source, call_type, duration, count(*) AS k
    FROM calls
    GROUP BY source, call_type, duration
),
-- The positions [first_position, last_position] the calls of each length take in the type's
-- lengths sorted ascending (a missing length last), and n, the calls with a length.
ranged AS (
    SELECT
        source,
        call_type,
        duration,
        k,
        sum(k) OVER (
            PARTITION BY source, call_type ORDER BY duration ASC NULLS LAST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) - k + 1                                                 AS first_position,
        sum(k) OVER (
            PARTITION BY source, call_type ORDER BY duration ASC NULLS LAST
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        )                                                         AS last_position,
        sum(CASE WHEN duration IS NULL THEN 0 ELSE k END) OVER (PARTITION BY source, call_type) AS n
    FROM counted
),
located AS (
    SELECT
        *,
        50 * (n - 1) / 100 + 1                                    AS p50_lower,
        50 * (n - 1) % 100                                        AS p50_fraction,
        95 * (n - 1) / 100 + 1                                    AS p95_lower,
        95 * (n - 1) % 100                                        AS p95_fraction
    FROM ranged
),
per_type AS (
    SELECT
        source,
        call_type,
        sum(k)                                                    AS calls,
        max(n)                                                    AS timed,
        coalesce(sum(CAST(duration AS BIGINT) * k), 0)            AS seconds,
        max(duration) FILTER (WHERE p50_lower BETWEEN first_position AND last_position)     AS p50_low,
        max(duration) FILTER (WHERE p50_lower + 1 BETWEEN first_position AND last_position) AS p50_high,
        max(p50_fraction)                                         AS p50_fraction,
        max(duration) FILTER (WHERE p95_lower BETWEEN first_position AND last_position)     AS p95_low,
        max(duration) FILTER (WHERE p95_lower + 1 BETWEEN first_position AND last_position) AS p95_high,
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
