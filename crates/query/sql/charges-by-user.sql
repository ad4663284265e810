-- Charges by user: each user's PSTN calls, minutes and charges in each currency, the most expensive first.
-- Chart: bar x=user_principal_name y=total_charge split=currency
-- Parameters: --from/--to ($from, $to): first and last call_date (UTC days, inclusive; they prune
--   whole day partitions), all days when not given. --currency, --country (usage_country_code),
--   --user (user_principal_name in any case, or user_id): only those calls. --limit: the top N
--   users of each currency.
-- One row per user (user_id) and currency, whatever the case of their user principal name or a
-- rename during the period: user_principal_name and user_display_name are those of the user's
-- latest selected call in any currency (by start, then id) that has a user principal name.
-- Calls without a user (auto attendants, call queues, bots, conferences: no user_id) are one row
-- per currency, labelled `(no user: auto attendant / call queue)` with an empty display name.
-- Money is never added across currencies. total_charge = charge + connection_charge (Graph
-- reports the connection fee apart from the charge; a missing amount counts as 0 in the total).
-- rank 1 is the highest total_charge in its currency; ties go to the user name in alphabetical
-- order, then the user_id. Money columns are exact decimal sums; minutes = seconds / 60, rounded
-- half away from zero to 2 decimals.
WITH calls AS (
    SELECT *
    FROM pstn_calls
    WHERE call_date BETWEEN $from AND $to
      AND ($currency IS NULL OR currency = $currency)
      AND ($country IS NULL OR usage_country_code = $country)
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
),
-- Each user's name on their latest call (the latest start, then the greatest id): an ordered
-- aggregate, which keeps one row per user instead of sorting every call.
names AS (
    SELECT
        user_id,
        first_value(user_principal_name ORDER BY start_date_time DESC, id DESC) AS user_principal_name,
        first_value(user_display_name ORDER BY start_date_time DESC, id DESC)   AS user_display_name
    FROM calls
    WHERE user_id IS NOT NULL AND user_principal_name IS NOT NULL
    GROUP BY user_id
),
per_user AS (
    SELECT
        currency,
        user_id,
        count(*)                                                AS calls,
        coalesce(sum(CAST(duration AS BIGINT)), 0)              AS seconds,
        sum(charge)                                             AS charge,
        sum(connection_charge)                                  AS connection_charge,
        sum(coalesce(charge, 0) + coalesce(connection_charge, 0)) AS total_charge
    FROM calls
    GROUP BY currency, user_id
),
named AS (
    SELECT
        per_user.*,
        CASE
            WHEN per_user.user_id IS NULL THEN '(no user: auto attendant / call queue)'
            ELSE coalesce(names.user_principal_name, '')
        END                                                     AS user_principal_name,
        coalesce(names.user_display_name, '')                   AS user_display_name
    FROM per_user
    LEFT JOIN names
        ON names.user_id = per_user.user_id
),
ranked AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY currency ORDER BY total_charge DESC, user_principal_name, user_id
        ) AS rank
    FROM named
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
