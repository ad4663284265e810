-- Blocked users: each time Microsoft blocked (or unblocked) a user's PSTN calling, with the user's PSTN calls in the 7 days before.
-- Chart: bar x=block_utc y=calls_7d unit=calls
-- Parameters: --from/--to ($from, $to): first and last call_date (the UTC day of block_date_time,
--   inclusive), all days when not given. --user (user_principal_name in any case, or user_id):
--   only that user's blocks. --limit: at most N rows.
-- From pstn_blocked_users (Graph beta getPstnBlockedUsersLog; `sync --tables pstn_blocked_users`)
-- and pstn_calls (only its days from 7 days before --from to --to are read). The calls before a
-- block are the user's (same user_id) PSTN calls that started in the 7 days before it: start_date_time >= block_date_time - 7 days and < block_date_time (a
-- call starting at the block's very moment is not before it). One row per block and currency of
-- those calls, so money is never added across currencies; a block without such calls is one row
-- with 0 calls and empty charge and currency. calls_7d counts the calls, international_7d those
-- whose destination_context is International (in any case); minutes_7d = seconds / 60, rounded
-- half away from zero to 2 decimals; charge_7d = the exact sum of charge + connection_charge (a
-- missing amount counts as 0). block_utc is block_date_time in UTC. Rows are ordered by
-- block_utc, then the block's row_key, then currency (empty last).
WITH blocks AS (
    SELECT *
    FROM pstn_blocked_users
    WHERE call_date BETWEEN $from AND $to
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
),
-- The calls that can precede a block of the range: only their days are read.
calls AS (
    SELECT call_date, user_id, start_date_time, destination_context, duration, charge, connection_charge, currency
    FROM pstn_calls
    WHERE call_date BETWEEN $from - INTERVAL '7 days' AND $to
),
-- Each block with the 8 UTC days its 7 days before fall on: joined on the user and the day, only
-- those days' calls of the blocked users are read (the join's keys filter the scan of the calls).
block_days AS (
    SELECT b.row_key, b.user_id, b.block_date_time, CAST(b.block_date_time - back.days AS DATE) AS call_date
    FROM blocks b
    CROSS JOIN (VALUES (INTERVAL '0 days'), (INTERVAL '1 day'), (INTERVAL '2 days'), (INTERVAL '3 days'),
                       (INTERVAL '4 days'), (INTERVAL '5 days'), (INTERVAL '6 days'), (INTERVAL '7 days')) AS back(days)
),
before_block AS (
    SELECT
        b.row_key,
        c.currency,
        count(*)                                                          AS calls,
        count(*) FILTER (WHERE lower(c.destination_context) = 'international') AS international_calls,
        sum(CAST(c.duration AS BIGINT))                                  AS seconds,
        sum(coalesce(c.charge, 0) + coalesce(c.connection_charge, 0))    AS charge
    FROM block_days b
    JOIN calls c
      ON c.user_id = b.user_id
     AND c.call_date = b.call_date
     AND c.start_date_time >= b.block_date_time - INTERVAL '7 days'
     AND c.start_date_time < b.block_date_time
    GROUP BY b.row_key, c.currency
)
SELECT
    b.block_date_time                                                    AS block_utc,
    b.user_principal_name,
    b.user_block_mode                                                    AS mode,
    b.block_reason                                                       AS reason,
    b.user_telephone_number                                              AS telephone_number,
    coalesce(x.calls, 0)                                                 AS calls_7d,
    coalesce(x.international_calls, 0)                                   AS international_7d,
    round(CAST(coalesce(x.seconds, 0) AS DECIMAL(20, 0)) / 60, 2)        AS minutes_7d,
    x.charge                                                             AS charge_7d,
    x.currency
FROM blocks b
LEFT JOIN before_block x ON x.row_key = b.row_key
ORDER BY b.block_date_time, b.row_key, x.currency NULLS LAST
LIMIT $limit
