-- Calling plan minutes: outbound PSTN minutes per month, usage country and destination (domestic or international), the minutes a Calling Plan's pooled minutes are drawn from.
-- Chart: bar x=country y=minutes split=destination unit=minutes
-- Parameters: --from/--to ($from, $to): first and last call_date (UTC days, inclusive; they prune
--   whole day partitions), all days when not given. --country (usage_country_code), --user
--   (user_principal_name in any case, or user_id): only those calls. --limit: at most N rows.
-- Outbound calls: call_type contains "out". destination is Graph's destinationContext in lower
-- case (domestic, international; empty when Graph gives none). Microsoft pools a Calling Plan's
-- minutes per country for the users licensed in it; Graph has no API for the pool's size, so
-- `pstn-lake run` compares these minutes with the size its config gives (rule minute-pool).
-- Every outbound call of the usage country counts, whatever its licenseCapability: a tenant
-- whose users also call on pay-as-you-go or Operator Connect sees those calls here too.
-- month is the UTC calendar month (YYYY-MM). minutes = seconds / 60, rounded half away from zero
-- to 2 decimals.
-- Summed per day, user, country and destination first (call_date is the partition: the month
-- and the lower-cased destination are then found for those few rows, not for every call).
WITH days AS (
    SELECT
        call_date,
        usage_country_code,
        destination_context,
        user_id,
        count(*)                                                       AS calls,
        sum(CAST(duration AS BIGINT))                                  AS seconds
    FROM pstn_calls
    WHERE call_date BETWEEN $from AND $to
      AND lower(call_type) LIKE '%out%'
      AND ($country IS NULL OR usage_country_code = $country)
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
    GROUP BY call_date, usage_country_code, destination_context, user_id
)
SELECT
    to_char(CAST(date_trunc('month', call_date) AS DATE), '%Y-%m')     AS month,
    usage_country_code                                                 AS country,
    lower(coalesce(destination_context, ''))                           AS destination,
    CAST(sum(calls) AS BIGINT)                                         AS calls,
    count(DISTINCT user_id)                                            AS users,
    coalesce(CAST(sum(seconds) AS BIGINT), 0)                          AS seconds,
    round(CAST(coalesce(sum(seconds), 0) AS DECIMAL(20, 0)) / 60, 2)   AS minutes
FROM days
GROUP BY 1, 2, 3
ORDER BY month, country NULLS LAST, destination
LIMIT $limit
