-- International outbound: each user's outbound international PSTN calls, destinations and charges per currency.
-- Chart: bar x=user_principal_name y=total_charge split=currency
-- Parameters: --from/--to ($from, $to): first and last call_date (UTC days, inclusive; they prune
--   whole day partitions), all days when not given. --currency, --country (usage_country_code),
--   --user (user_principal_name in any case, or user_id): only those calls. --limit: the top N
--   users of each currency.
-- International outbound: call_type contains "out" and Graph's destinationContext is
-- "International" (any case). destinations = distinct destinationName values called, the list
-- of them in alphabetical order. total_charge = charge + connection_charge (a missing amount
-- counts as 0). rank 1 is the highest total_charge in its currency; ties go to the user name.
-- Money is never added across currencies. minutes = seconds / 60, rounded half away from zero
-- to 2 decimals.
WITH calls AS (
    SELECT *
    FROM pstn_calls
    WHERE call_date BETWEEN $from AND $to
      AND lower(call_type) LIKE '%out%'
      AND lower(destination_context) = 'international'
      AND ($currency IS NULL OR currency = $currency)
      AND ($country IS NULL OR usage_country_code = $country)
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
),
per_user AS (
    SELECT
        currency,
        coalesce(user_principal_name, '')                          AS user_principal_name,
        coalesce(max(user_display_name), '')                       AS user_display_name,
        count(*)                                                   AS calls,
        count(DISTINCT destination_name)                           AS destinations,
        coalesce(
            string_agg(DISTINCT destination_name, ', ' ORDER BY destination_name), ''
        )                                                          AS destination_list,
        coalesce(sum(CAST(duration AS BIGINT)), 0)                 AS seconds,
        sum(charge)                                                AS charge,
        sum(connection_charge)                                     AS connection_charge,
        sum(coalesce(charge, 0) + coalesce(connection_charge, 0))  AS total_charge
    FROM calls
    GROUP BY currency, coalesce(user_principal_name, '')
),
ranked AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY currency ORDER BY total_charge DESC, user_principal_name
        ) AS rank
    FROM per_user
)
SELECT
    currency,
    rank,
    user_principal_name,
    user_display_name,
    calls,
    destinations,
    destination_list,
    round(CAST(seconds AS DECIMAL(20, 0)) / 60, 2)                AS minutes,
    charge,
    connection_charge,
    total_charge
FROM ranked
WHERE $limit IS NULL OR rank <= $limit
ORDER BY currency NULLS LAST, rank
