-- Charges by country: PSTN calls, minutes, charge and connection charge per usage country and currency.
-- Chart: bar x=country y=charge split=currency
-- Parameters: $from, $to: the first and last call_date (UTC days, inclusive); all days when not given.
-- Money is summed within one currency only: rows in different currencies are never added together.
-- minutes = seconds / 60, rounded to 2 decimals; charge columns are exact decimal sums.
SELECT
    usage_country_code                      AS country,
    currency,
    count(*)                                AS calls,
    sum(CAST(duration AS BIGINT))           AS seconds,
    round(sum(CAST(duration AS BIGINT)) / 60.0, 2) AS minutes,
    sum(charge)                             AS charge,
    sum(connection_charge)                  AS connection_charge
FROM pstn_calls
WHERE call_date BETWEEN $from AND $to
GROUP BY usage_country_code, currency
ORDER BY country NULLS LAST, currency NULLS LAST
