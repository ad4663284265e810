-- Duration by user: PSTN and Direct Routing calls and minutes per user, busiest first.
-- Chart: bar x=user_principal_name y=minutes unit=minutes
-- Parameters: --from/--to ($from, $to): first and last call_date (UTC days, inclusive; they prune
--   whole day partitions), all days when not given. --user (user_principal_name in any case, or
--   user_id): only that user. --limit: the N busiest users.
-- Every Direct Routing attempt counts as a call (failed ones have no minutes). Bot and conference
-- calls (no user) are grouped under an empty user. minutes = seconds / 60, rounded half away from
-- zero to 2 decimals.
WITH calls AS (
    SELECT user_principal_name, 'pstn' AS source, duration FROM pstn_calls
    WHERE call_date BETWEEN $from AND $to
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
    UNION ALL
    SELECT user_principal_name, 'direct_routing' AS source, duration FROM direct_routing_calls
    WHERE call_date BETWEEN $from AND $to
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
)
SELECT
    coalesce(user_principal_name, '')                                   AS user_principal_name,
    count(*) FILTER (WHERE source = 'pstn')                             AS pstn_calls,
    count(*) FILTER (WHERE source = 'direct_routing')                   AS direct_routing_calls,
    coalesce(sum(CAST(duration AS BIGINT)), 0)                          AS seconds,
    round(CAST(coalesce(sum(CAST(duration AS BIGINT)), 0) AS DECIMAL(20, 0)) / 60, 2) AS minutes
FROM calls
GROUP BY coalesce(user_principal_name, '')
ORDER BY seconds DESC, user_principal_name
LIMIT $limit
