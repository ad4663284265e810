-- DuckDB twin of crates/query/sql/fraud-signal-check.sql (`pstn-lake report fraud-signal-check`): the same question,
-- parameters ($from, $to, ... as typed literals) and output columns, in DuckDB's SQL; the
-- report's header (`pstn-lake report fraud-signal-check --show-sql`) defines the answer. bench/catalog_check.py
-- runs it over `pstn-lake ddl --engine duckdb` views and compares it row by row with the report.
-- What differs from the report's SQL, and why:
-- * the signals fragment is bench/duckdb/fragments/signals.sql (see there)
-- * CAST(timestamptz AS BIGINT) -> epoch_us(timestamptz): DuckDB does not cast a TIMESTAMP WITH
--   TIME ZONE to an integer; epoch_us is the same count of microseconds since 1970 (UTC)
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
        CAST(epoch_us(b.block_date_time) - epoch_us(x.start_date_time) AS DECIMAL(38, 0))
            / 86400000000,
        1
    )                                                                AS days_earlier
FROM blocks b
LEFT JOIN before_block x ON x.row_key = b.row_key AND x.nth = 1
ORDER BY b.block_date_time, b.row_key
LIMIT $limit
