-- Operator summary: PSTN calls, users, minutes and charges per operator, license capability and currency.
-- Chart: bar x=operator_and_license y=charge split=currency
-- Parameters: --from/--to ($from, $to): first and last call_date (UTC days, inclusive; they prune
--   whole day partitions), all days when not given. --currency, --country (usage_country_code),
--   --user (user_principal_name in any case, or user_id): only those calls. --limit: at most N rows.
-- operator is Graph's operator (Microsoft for Calling Plans, the carrier for Operator Connect);
-- license_capability is the license used (MCOPSTN1, MCOPSTN2, ...); both empty when Graph gives
-- none. operator_and_license joins them for a chart label. users = distinct users. Money columns
-- are exact decimal sums, never added across currencies. minutes = seconds / 60, rounded half away
-- from zero to 2 decimals.
SELECT
    coalesce(operator, '')                                         AS operator,
    coalesce(license_capability, '')                               AS license_capability,
    currency,
    count(*)                                                       AS calls,
    count(DISTINCT user_principal_name)                            AS users,
    round(CAST(coalesce(sum(CAST(duration AS BIGINT)), 0) AS DECIMAL(20, 0)) / 60, 2) AS minutes,
    sum(charge)                                                    AS charge,
    sum(connection_charge)                                         AS connection_charge,
    coalesce(operator, '') || ' / ' || coalesce(license_capability, '') AS operator_and_license
FROM pstn_calls
WHERE call_date BETWEEN $from AND $to
  AND ($currency IS NULL OR currency = $currency)
  AND ($country IS NULL OR usage_country_code = $country)
  AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
GROUP BY coalesce(operator, ''), coalesce(license_capability, ''), currency
ORDER BY operator, license_capability, currency NULLS LAST
LIMIT $limit
