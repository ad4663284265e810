-- Charges by country: PSTN calls, minutes, charge and connection charge per usage country and currency.
-- Chart: bar x=country y=charge split=currency
-- Parameters: --from/--to ($from, $to): first and last call_date (UTC days, inclusive; they prune
--   whole day partitions), all days when not given. --currency, --country (usage_country_code),
--   --user (user_principal_name in any case, or user_id): only those calls. --limit: at most N rows.
-- Money is summed within one currency only: rows in different currencies are never added together.
-- charge columns are exact decimal sums; minutes = seconds / 60, rounded half away from zero to
-- 2 decimals.
SELECT
    usage_country_code                                   AS country,
    currency,
    count(*)                                             AS calls,
    coalesce(sum(CAST(duration AS BIGINT)), 0)           AS seconds,
    round(CAST(coalesce(sum(CAST(duration AS BIGINT)), 0) AS DECIMAL(20, 0)) / 60, 2) AS minutes,
    sum(charge)                                          AS charge,
    sum(connection_charge)                               AS connection_charge
FROM pstn_calls
WHERE call_date BETWEEN $from AND $to
  AND ($currency IS NULL OR currency = $currency)
  AND ($country IS NULL OR usage_country_code = $country)
  AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
GROUP BY usage_country_code, currency
ORDER BY country NULLS LAST, currency NULLS LAST
LIMIT $limit
