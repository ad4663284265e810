-- Daily volume: PSTN and Direct Routing calls and minutes per UTC day, with the busiest hour of each day.
-- Chart: line x=day y=calls unit=calls
-- Parameters: --from/--to ($from, $to): first and last call_date (UTC days, inclusive; they prune
--   whole day partitions), all days when not given. --user (user_principal_name in any case, or
--   user_id): only that user's calls. --limit: at most N rows (days).
-- One row for every day from the first to the last day with a call (days without calls are
-- there, with 0). Every Direct Routing attempt counts as a call (failed ones have no minutes).
-- busiest_hour_utc is the UTC hour (0-23) in which most calls started (Direct Routing failures
-- without a start time count at their invite time); a tie goes to the earliest hour; empty on a
-- day without calls. minutes = seconds / 60, rounded half away from zero to 2 decimals.
WITH calls AS (
    SELECT call_date, 'pstn' AS source, start_date_time AS started, duration
    FROM pstn_calls
    WHERE call_date BETWEEN $from AND $to
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
    UNION ALL
    SELECT call_date, 'direct_routing' AS source,
           coalesce(start_date_time, invite_date_time) AS started, duration
    FROM direct_routing_calls
    WHERE call_date BETWEEN $from AND $to
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
),
per_day AS (
    SELECT
        call_date,
        count(*) FILTER (WHERE source = 'pstn')                    AS pstn_calls,
        count(*) FILTER (WHERE source = 'direct_routing')          AS direct_routing_calls,
        count(*)                                                   AS calls,
        coalesce(sum(CAST(duration AS BIGINT)), 0)                 AS seconds
    FROM calls
    GROUP BY call_date
),
per_hour AS (
    SELECT
        call_date,
        date_part('hour', started)                                 AS hour,
        count(*)                                                   AS hour_calls,
        row_number() OVER (
            PARTITION BY call_date ORDER BY count(*) DESC, date_part('hour', started) ASC NULLS LAST
        )                                                          AS hour_rank
    FROM calls
    GROUP BY call_date, date_part('hour', started)
),
days AS (
    SELECT unnest(generate_series(min(call_date), max(call_date), INTERVAL '1 day')) AS day
    FROM per_day
)
SELECT
    days.day                                                       AS day,
    coalesce(per_day.pstn_calls, 0)                                AS pstn_calls,
    coalesce(per_day.direct_routing_calls, 0)                      AS direct_routing_calls,
    coalesce(per_day.calls, 0)                                     AS calls,
    round(CAST(coalesce(per_day.seconds, 0) AS DECIMAL(20, 0)) / 60, 2) AS minutes,
    CAST(per_hour.hour AS BIGINT)                                  AS busiest_hour_utc,
    per_hour.hour_calls                                            AS busiest_hour_calls
FROM days
LEFT JOIN per_day ON per_day.call_date = days.day
LEFT JOIN per_hour ON per_hour.call_date = days.day AND per_hour.hour_rank = 1
ORDER BY day
LIMIT $limit
