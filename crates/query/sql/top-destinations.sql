-- Top destinations: where outbound PSTN calls go, per currency, the most expensive destinations first.
-- Chart: bar x=destination y=total_charge split=currency
-- Parameters: --from/--to ($from, $to): first and last call_date (UTC days, inclusive; they prune
--   whole day partitions), all days when not given. --currency, --country (the caller's
--   usage_country_code), --user (user_principal_name in any case, or user_id): only those calls.
--   --limit: the top N destinations of each currency.
-- Outbound calls are those whose call_type contains "out" (user_out, user_out_transfer, conf_out,
-- ucap_out, ...). destination is Graph's destinationName (the country or region dialed; empty when
-- Graph gives none). users = distinct users who called it. total_charge = charge +
-- connection_charge (a missing amount counts as 0). rank 1 is the highest total_charge in its
-- currency; ties go to more calls, then to the destination name. Money is never added across
-- currencies. minutes = seconds / 60, rounded half away from zero to 2 decimals.
WITH per_destination AS (
    SELECT
        currency,
        coalesce(destination_name, '')                             AS destination,
        count(*)                                                   AS calls,
        count(DISTINCT user_principal_name)                        AS users,
        coalesce(sum(CAST(duration AS BIGINT)), 0)                 AS seconds,
        sum(charge)                                                AS charge,
        sum(connection_charge)                                     AS connection_charge,
        sum(coalesce(charge, 0) + coalesce(connection_charge, 0))  AS total_charge
    FROM pstn_calls
    WHERE call_date BETWEEN $from AND $to
      AND lower(call_type) LIKE '%out%'
      AND ($currency IS NULL OR currency = $currency)
      AND ($country IS NULL OR usage_country_code = $country)
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
    GROUP BY currency, coalesce(destination_name, '')
),
ranked AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY currency ORDER BY total_charge DESC, calls DESC, destination
        ) AS rank
    FROM per_destination
)
SELECT
    currency,
    rank,
    destination,
    calls,
    users,
    round(CAST(seconds AS DECIMAL(20, 0)) / 60, 2)                AS minutes,
    charge,
    connection_charge,
    total_charge
FROM ranked
WHERE $limit IS NULL OR rank <= $limit
ORDER BY currency NULLS LAST, rank
