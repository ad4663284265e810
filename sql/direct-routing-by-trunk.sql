-- Direct Routing by trunk: calls, successful calls, success rate (%) and minutes per SBC trunk.
-- Parameters: $from, $to: the first and last call_date (UTC days, inclusive); all days when not given.
-- success_rate_pct = 100 * successful / calls, rounded to 1 decimal.
SELECT
    trunk_fully_qualified_domain_name                               AS trunk,
    count(*)                                                        AS calls,
    count(*) FILTER (WHERE successful_call)                         AS successful,
    round(100.0 * count(*) FILTER (WHERE successful_call) / count(*), 1) AS success_rate_pct,
    round(coalesce(sum(CAST(duration AS BIGINT)), 0) / 60.0, 2)     AS minutes
FROM direct_routing_calls
WHERE call_date BETWEEN $from AND $to
GROUP BY trunk_fully_qualified_domain_name
ORDER BY calls DESC, trunk NULLS LAST
