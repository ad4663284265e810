-- Credits dial-out: Communication Credits spent on meeting dial-outs per month and currency, domestic and international apart.
-- Chart: bar x=month y=charge split=currency
-- Parameters: --from/--to ($from, $to): first and last call_date (the UTC day the totals are for,
--   inclusive; they prune whole day partitions), all days when not given. --currency, --country
--   (usage_location), --user (user_principal_name in any case, or user_id): only those totals.
--   --limit: at most N rows.
-- From pstn_dialout_report (Graph beta getPstnOnlineMeetingDialoutReport; `sync --tables
-- pstn_dialout_report`), whose rows are one day's totals per meeting organizer, usage location,
-- destination context and currency. month is the UTC calendar month (YYYY-MM). One row per month,
-- currency and destination_context that has totals; money is never added across currencies.
-- organizers counts the distinct user_id with dial-outs (a total without a user counts in calls
-- and charge but not here); calls = the sum of total_calls; minutes = the sum of
-- total_call_seconds / 60, rounded half away from zero to 2 decimals (missing values count as 0);
-- charge = the exact sum of total_call_charge. Rows are ordered by month, currency and
-- destination_context, empty values last.
SELECT
    to_char(CAST(date_trunc('month', call_date) AS DATE), '%Y-%m')    AS month,
    currency,
    destination_context,
    count(DISTINCT user_id)                                            AS organizers,
    coalesce(sum(CAST(total_calls AS BIGINT)), 0)                      AS calls,
    round(CAST(coalesce(sum(CAST(total_call_seconds AS BIGINT)), 0) AS DECIMAL(20, 0)) / 60, 2) AS minutes,
    sum(total_call_charge)                                             AS charge
FROM pstn_dialout_report
WHERE call_date BETWEEN $from AND $to
  AND ($currency IS NULL OR currency = $currency)
  AND ($country IS NULL OR usage_location = $country)
  AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
GROUP BY CAST(date_trunc('month', call_date) AS DATE), currency, destination_context
ORDER BY month, currency NULLS LAST, destination_context NULLS LAST
LIMIT $limit
