-- Charges by user: each user's PSTN calls, minutes and charges in each currency, the most expensive first.
-- Chart: bar x=user_principal_name y=total_charge split=currency
-- Parameters: --from/--to ($from, $to): first and last call_date (UTC days, inclusive; they prune
--   whole day partitions), all days when not given. --currency, --country (usage_country_code),
--   --user (user_principal_name in any case, or user_id): only those calls. --limit: the top N
--   users of each currency.
-- One row per user and currency; money is never added across currencies. total_charge = charge +
-- connection_charge (Graph reports the connection fee apart from the charge; a missing amount
-- counts as 0 in the total). rank 1 is the highest total_charge in its currency; ties go to the
-- user name in alphabetical order. Bot and conference calls (no user) are under an empty user.
-- Money columns are exact decimal sums; minutes = seconds / 60, rounded half away from zero to 2
-- decimals.
WITH per_user AS (
    SELECT
        currency,
        coalesce(user_principal_name, '')                       AS user_principal_name,
        coalesce(max(user_display_name), '')                    AS user_display_name,
        count(*)                                                AS calls,
        coalesce(sum(CAST(duration AS BIGINT)), 0)              AS seconds,
        sum(charge)                                             AS charge,
        sum(connection_charge)                                  AS connection_charge,
        sum(coalesce(charge, 0) + coalesce(connection_charge, 0)) AS total_charge
    FROM pstn_calls
    WHERE call_date BETWEEN $from AND $to
      AND ($currency IS NULL OR currency = $currency)
      AND ($country IS NULL OR usage_country_code = $country)
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
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
    round(CAST(seconds AS DECIMAL(20, 0)) / 60, 2)             AS minutes,
    charge,
    connection_charge,
    total_charge
FROM ranked
WHERE $limit IS NULL OR rank <= $limit
ORDER BY currency NULLS LAST, rank
