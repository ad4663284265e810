-- Duration by user: PSTN and Direct Routing calls and minutes per user, busiest first.
-- Parameters: $from, $to: the first and last call_date (UTC days, inclusive); all days when not given.
-- Bot calls (no user) are grouped under an empty user. minutes = seconds / 60, rounded to 2 decimals.
WITH calls AS (
    SELECT user_principal_name, 'pstn' AS source, duration FROM pstn_calls
    WHERE call_date BETWEEN $from AND $to
    UNION ALL
    SELECT user_principal_name, 'direct_routing' AS source, duration FROM direct_routing_calls
    WHERE call_date BETWEEN $from AND $to
)
SELECT
    coalesce(user_principal_name, '')                                   AS user_principal_name,
    count(*) FILTER (WHERE source = 'pstn')                             AS pstn_calls,
    count(*) FILTER (WHERE source = 'direct_routing')                   AS direct_routing_calls,
    sum(CAST(duration AS BIGINT))                                       AS seconds,
    round(coalesce(sum(CAST(duration AS BIGINT)), 0) / 60.0, 2)         AS minutes
FROM calls
GROUP BY coalesce(user_principal_name, '')
ORDER BY seconds DESC NULLS LAST, user_principal_name
