-- Direct Routing quality: calls, successful calls, success rate, minutes and the top SIP failure codes per SBC trunk.
-- Chart: bar x=trunk y=success_rate_pct unit=%
-- Parameters: --from/--to ($from, $to): first and last call_date (UTC days, inclusive; they prune
--   whole day partitions), all days when not given. --user (user_principal_name in any case, or
--   user_id): only that user's calls. --limit: at most N rows (trunks).
-- Every attempt is a call; failed = calls whose successful_call is not true. success_rate_pct =
-- 100 * successful / calls, rounded half away from zero to 1 decimal. minutes: of successful
-- calls, seconds / 60 rounded half away from zero to 2 decimals. top_failure_codes: the three
-- most frequent final SIP codes of failed calls, as `code (count)`, most frequent first, a tie
-- going to the lower code ("none" for a failure without a code). Trunks with the most calls come
-- first; a call without a trunk is under an empty trunk.
WITH calls AS (
    SELECT
        coalesce(trunk_fully_qualified_domain_name, '')            AS trunk,
        coalesce(successful_call, false)                           AS successful,
        final_sip_code,
        duration
    FROM direct_routing_calls
    WHERE call_date BETWEEN $from AND $to
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
),
per_trunk AS (
    SELECT
        trunk,
        count(*)                                                   AS calls,
        count(*) FILTER (WHERE successful)                         AS successful,
        coalesce(sum(CAST(duration AS BIGINT)) FILTER (WHERE successful), 0) AS seconds
    FROM calls
    GROUP BY trunk
),
failure_codes AS (
    SELECT
        trunk,
        final_sip_code,
        count(*)                                                   AS failures,
        row_number() OVER (
            PARTITION BY trunk ORDER BY count(*) DESC, final_sip_code ASC NULLS LAST
        )                                                          AS code_rank
    FROM calls
    WHERE NOT successful
    GROUP BY trunk, final_sip_code
),
top_codes AS (
    SELECT
        trunk,
        string_agg(
            coalesce(CAST(final_sip_code AS VARCHAR), 'none') || ' (' || CAST(failures AS VARCHAR) || ')',
            ', ' ORDER BY code_rank
        )                                                          AS codes
    FROM failure_codes
    WHERE code_rank <= 3
    GROUP BY trunk
)
SELECT
    per_trunk.trunk                                                AS trunk,
    calls,
    successful,
    calls - successful                                             AS failed,
    round(CAST(successful AS DECIMAL(20, 0)) * 100 / calls, 1)    AS success_rate_pct,
    round(CAST(seconds AS DECIMAL(20, 0)) / 60, 2)                AS minutes,
    coalesce(top_codes.codes, '')                                  AS top_failure_codes
FROM per_trunk
LEFT JOIN top_codes ON top_codes.trunk = per_trunk.trunk
ORDER BY calls DESC, trunk
LIMIT $limit
