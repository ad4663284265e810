-- SMS charges: SMS sent and received, their units and charges per month, currency, direction and destination context.
-- Chart: bar x=month y=charge split=currency
-- Parameters: --from/--to ($from, $to): first and last call_date (the UTC day an SMS was sent,
--   inclusive; they prune whole day partitions), all days when not given. --currency, --country
--   (user_country_code), --user (user_principal_name in any case, or user_id): only those SMS.
--   --limit: at most N rows.
-- From sms_logs (Graph beta getSmsLog; `sync --tables sms_logs`). month is the UTC calendar month
-- (YYYY-MM) of sent_date_time. One row per month, currency, sms_type (outbound, inbound, as Graph
-- names them) and destination_context that has SMS; money is never added across currencies.
-- messages counts SMS; units = the sum of sms_units (a missing count counts as 0); charge = the
-- exact sum of call_charge (empty when every charge of the row is missing). Rows are ordered by
-- month, then currency, sms_type and destination_context, each with empty values last.
WITH days AS (
    SELECT
        call_date,
        currency,
        sms_type,
        destination_context,
        count(*)                                                    AS messages,
        sum(CAST(sms_units AS BIGINT))                              AS units,
        sum(call_charge)                                            AS charge
    FROM sms_logs
    WHERE call_date BETWEEN $from AND $to
      AND ($currency IS NULL OR currency = $currency)
      AND ($country IS NULL OR user_country_code = $country)
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
    GROUP BY call_date, currency, sms_type, destination_context
)
SELECT
    to_char(CAST(date_trunc('month', call_date) AS DATE), '%Y-%m') AS month,
    currency,
    sms_type,
    destination_context,
    CAST(sum(messages) AS BIGINT)                                   AS messages,
    coalesce(CAST(sum(units) AS BIGINT), 0)                         AS units,
    CAST(sum(charge) AS DECIMAL(28, 6))                             AS charge
FROM days
GROUP BY CAST(date_trunc('month', call_date) AS DATE), currency, sms_type, destination_context
ORDER BY month, currency NULLS LAST, sms_type NULLS LAST, destination_context NULLS LAST
LIMIT $limit
