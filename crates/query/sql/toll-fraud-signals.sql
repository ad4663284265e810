-- Toll fraud signals: outbound international calls outside local business hours, unusually long or costly calls, and first calls to a new destination, one row per signal.
-- Chart: bar x=start_utc y=charge split=currency
-- Parameters: --from/--to ($from, $to): first and last call_date of the flagged calls (UTC days,
--   inclusive; --from prunes day partitions except for new_destination, which reads the history
--   before it), all days when not given. --currency, --country (usage_country_code), --user
--   (user_principal_name in any case, or user_id): only those calls are flagged. --limit: at most
--   N rows.
-- Outbound calls: call_type contains "out". International: destinationContext "International".
-- A call raising several signals has one row for each:
--   after_hours_international: an outbound international call that started on a Saturday or
--     Sunday, or before 08:00 or from 18:00 on, local time. Local time = UTC + the standard-time
--     offset of the call's usage country from the `offsets` table below. Daylight saving is
--     ignored (summer calls read one hour early); a country with several time zones uses its most
--     populous one; a country not in the table is taken as UTC, and the detail says so.
--   long_call: an outbound call longer than 4 hours (more than 14400 seconds).
--   costly_call: an outbound call whose charge is more than 20 times the median charge of the
--     charged (charge > 0) outbound calls in its currency on the selected days (the median over
--     all users and countries, whatever --user and --country say; with an even number of
--     charges, the mean of the two middle ones, truncated to 6 decimals).
--   new_destination: a user's first outbound international call to a destination
--     (destinationName), looking back over the whole lake (a call without a user principal
--     name or destination, missing or empty, has none): the user had never called it before,
--     not even before --from. On a new lake every first call to a country is new.
-- start_utc: the call's start (UTC). detail: why the call is flagged. blocked_utc: when Microsoft
-- blocked the call's user (same user_id; pstn_blocked_users, `sync --tables pstn_blocked_users`),
-- the first block at or after the call's start, on any day the lake holds (past --to: this
-- table is not pruned by the range); empty when the user was not (yet) blocked. Ordered by start,
-- signal.
WITH {signals},
-- Microsoft's blocks; each signal takes the first at or after its call's start (by user_id). The
-- signals are read once, in the join below (a second reference would compute them again).
blocks AS (
    SELECT user_id, block_date_time
    FROM pstn_blocked_users
    WHERE lower(user_block_mode) = 'blocked'
),
blocked AS (
    SELECT
        s.signal, s.id, s.start_date_time, s.user_id, s.user_principal_name, s.callee_number,
        s.destination_name, s.usage_country_code, s.duration, s.charge, s.currency, s.detail,
        min(b.block_date_time)                                     AS blocked_utc
    FROM signals s
    LEFT JOIN blocks b
      ON b.user_id = s.user_id
     AND b.block_date_time >= s.start_date_time
    GROUP BY s.signal, s.id, s.start_date_time, s.user_id, s.user_principal_name, s.callee_number,
        s.destination_name, s.usage_country_code, s.duration, s.charge, s.currency, s.detail
)
SELECT
    signal,
    start_date_time                                                AS start_utc,
    coalesce(user_principal_name, '')                              AS user_principal_name,
    callee_number,
    coalesce(destination_name, '')                                 AS destination,
    usage_country_code                                             AS country,
    duration                                                       AS duration_seconds,
    charge,
    currency,
    detail,
    blocked_utc
FROM blocked
WHERE ($currency IS NULL OR currency = $currency)
  AND ($country IS NULL OR usage_country_code = $country)
  AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
ORDER BY start_date_time, signal, id
LIMIT $limit
