-- Fraud signal check: of the users Microsoft blocked from PSTN calling, which had a toll-fraud signal first, and how many days before the block.
-- Chart: bar x=block_utc y=days_earlier unit=days
-- Parameters: --from/--to ($from, $to): the days of both the blocks (call_date: the UTC day of
--   block_date_time) and the signals (as toll-fraud-signals computes them over the same range),
--   all days when not given. --user (user_principal_name in any case, or user_id): only that
--   user's blocks. --limit: at most N rows.
-- One row per block (pstn_blocked_users rows whose user_block_mode is blocked, in any case;
-- unblocks are left out) in the range. The signals are exactly those toll-fraud-signals lists for
-- the same --from/--to, whatever their currency or country. A signal is before a block when its
-- call started before block_date_time and the call's user_id is the block's. signals_before
-- counts them (a call raising two signals counts twice); first_signal_utc is the start of the
-- earliest such call and first_signal its signal (the first in alphabetical order when that call
-- raised several); days_earlier = (block_date_time - first_signal_utc) in days, rounded half away
-- from zero to 1 decimal. A block without a signal before it has 0, and the other columns empty.
-- Ordered by block_utc, then the block's row_key.
WITH {signals},
blocks AS (
    SELECT *
    FROM pstn_blocked_users
    WHERE call_date BETWEEN $from AND $to
      AND lower(user_block_mode) = 'blocked'
      AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
),
before_block AS (
    SELECT
        b.row_key,
        s.signal,
        s.start_date_time,
        count(*) OVER (PARTITION BY b.row_key)                       AS signals_before,
        row_number() OVER (
            PARTITION BY b.row_key ORDER BY s.start_date_time, s.signal, s.id
        )                                                            AS nth
    FROM blocks b
    JOIN signals s
      ON s.user_id = b.user_id
     AND s.start_date_time < b.block_date_time
)
SELECT
    b.block_date_time                                                AS block_utc,
    b.user_principal_name,
    b.block_reason                                                   AS reason,
    coalesce(x.signals_before, 0)                                    AS signals_before,
    x.signal                                                         AS first_signal,
    x.start_date_time                                                AS first_signal_utc,
    -- Exact: the times' microseconds apart, in days.
    round(
        CAST(CAST(b.block_date_time AS BIGINT) - CAST(x.start_date_time AS BIGINT) AS DECIMAL(38, 0))
            / 86400000000,
        1
    )                                                                AS days_earlier
FROM blocks b
LEFT JOIN before_block x ON x.row_key = b.row_key AND x.nth = 1
ORDER BY b.block_date_time, b.row_key
LIMIT $limit
