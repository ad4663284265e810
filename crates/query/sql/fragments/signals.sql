-- The toll-fraud signals, as CTEs a report puts after its WITH as `{signals}`: `offsets`, the
-- outbound calls up to $to (`outbound`) and from $from (`selected`), and `signals` (signal, id,
-- start_date_time, user_id, user_principal_name, callee_number, destination_name,
-- usage_country_code, duration, charge, currency, detail). toll-fraud-signals lists them;
-- fraud-signal-check compares them with Microsoft's blocks. The rules are in
-- toll-fraud-signals.sql's header.
offsets (country, utc_offset, offset_label) AS (
    VALUES
        ('US', INTERVAL '-300 minutes', 'UTC-05:00'), ('CA', INTERVAL '-300 minutes', 'UTC-05:00'),
        ('MX', INTERVAL '-360 minutes', 'UTC-06:00'), ('CO', INTERVAL '-300 minutes', 'UTC-05:00'),
        ('BR', INTERVAL '-180 minutes', 'UTC-03:00'), ('AR', INTERVAL '-180 minutes', 'UTC-03:00'),
        ('CL', INTERVAL '-240 minutes', 'UTC-04:00'), ('PR', INTERVAL '-240 minutes', 'UTC-04:00'),
        ('GB', INTERVAL '0 minutes', 'UTC+00:00'), ('IE', INTERVAL '0 minutes', 'UTC+00:00'),
        ('PT', INTERVAL '0 minutes', 'UTC+00:00'), ('IS', INTERVAL '0 minutes', 'UTC+00:00'),
        ('DE', INTERVAL '60 minutes', 'UTC+01:00'), ('FR', INTERVAL '60 minutes', 'UTC+01:00'),
        ('NL', INTERVAL '60 minutes', 'UTC+01:00'), ('BE', INTERVAL '60 minutes', 'UTC+01:00'),
        ('LU', INTERVAL '60 minutes', 'UTC+01:00'), ('CH', INTERVAL '60 minutes', 'UTC+01:00'),
        ('AT', INTERVAL '60 minutes', 'UTC+01:00'), ('IT', INTERVAL '60 minutes', 'UTC+01:00'),
        ('ES', INTERVAL '60 minutes', 'UTC+01:00'), ('SE', INTERVAL '60 minutes', 'UTC+01:00'),
        ('NO', INTERVAL '60 minutes', 'UTC+01:00'), ('DK', INTERVAL '60 minutes', 'UTC+01:00'),
        ('PL', INTERVAL '60 minutes', 'UTC+01:00'), ('CZ', INTERVAL '60 minutes', 'UTC+01:00'),
        ('SK', INTERVAL '60 minutes', 'UTC+01:00'), ('HU', INTERVAL '60 minutes', 'UTC+01:00'),
        ('SI', INTERVAL '60 minutes', 'UTC+01:00'), ('HR', INTERVAL '60 minutes', 'UTC+01:00'),
        ('RS', INTERVAL '60 minutes', 'UTC+01:00'), ('NG', INTERVAL '60 minutes', 'UTC+01:00'),
        ('FI', INTERVAL '120 minutes', 'UTC+02:00'), ('EE', INTERVAL '120 minutes', 'UTC+02:00'),
        ('LV', INTERVAL '120 minutes', 'UTC+02:00'), ('LT', INTERVAL '120 minutes', 'UTC+02:00'),
        ('GR', INTERVAL '120 minutes', 'UTC+02:00'), ('RO', INTERVAL '120 minutes', 'UTC+02:00'),
        ('BG', INTERVAL '120 minutes', 'UTC+02:00'), ('ZA', INTERVAL '120 minutes', 'UTC+02:00'),
        ('IL', INTERVAL '120 minutes', 'UTC+02:00'), ('EG', INTERVAL '120 minutes', 'UTC+02:00'),
        ('TR', INTERVAL '180 minutes', 'UTC+03:00'), ('SA', INTERVAL '180 minutes', 'UTC+03:00'),
        ('KE', INTERVAL '180 minutes', 'UTC+03:00'), ('AE', INTERVAL '240 minutes', 'UTC+04:00'),
        ('PK', INTERVAL '300 minutes', 'UTC+05:00'), ('IN', INTERVAL '330 minutes', 'UTC+05:30'),
        ('TH', INTERVAL '420 minutes', 'UTC+07:00'), ('VN', INTERVAL '420 minutes', 'UTC+07:00'),
        ('ID', INTERVAL '420 minutes', 'UTC+07:00'), ('SG', INTERVAL '480 minutes', 'UTC+08:00'),
        ('MY', INTERVAL '480 minutes', 'UTC+08:00'), ('PH', INTERVAL '480 minutes', 'UTC+08:00'),
        ('HK', INTERVAL '480 minutes', 'UTC+08:00'), ('CN', INTERVAL '480 minutes', 'UTC+08:00'),
        ('TW', INTERVAL '480 minutes', 'UTC+08:00'), ('JP', INTERVAL '540 minutes', 'UTC+09:00'),
        ('KR', INTERVAL '540 minutes', 'UTC+09:00'), ('AU', INTERVAL '600 minutes', 'UTC+10:00'),
        ('NZ', INTERVAL '720 minutes', 'UTC+12:00')
),
-- Outbound calls up to --to; the history before --from is read only for new_destination.
outbound AS (
    SELECT
        id, call_date, start_date_time, user_id, user_principal_name, callee_number,
        destination_name, usage_country_code, duration, charge, currency,
        lower(destination_context) = 'international' AS international
    FROM pstn_calls
    WHERE call_date <= $to
      AND lower(call_type) LIKE '%out%'
),
selected AS (
    SELECT * FROM outbound WHERE call_date >= $from
),
local_times AS (
    SELECT
        selected.*,
        start_date_time + coalesce(offsets.utc_offset, INTERVAL '0 minutes') AS local_start,
        coalesce(offsets.offset_label, 'taken as UTC: no offset known for ' || coalesce(usage_country_code, 'an empty country')) AS offset_label
    FROM selected
    LEFT JOIN offsets ON offsets.country = selected.usage_country_code
    WHERE international
),
median_charges AS (
    SELECT currency, median(charge) AS median_charge
    FROM selected
    WHERE charge > 0
    GROUP BY currency
),
firsts AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY lower(user_principal_name), destination_name ORDER BY start_date_time, id
        ) AS nth
    FROM outbound
    WHERE international AND user_principal_name <> '' AND destination_name <> ''
),
signals AS (
    SELECT
        'after_hours_international' AS signal, id, start_date_time, user_id, user_principal_name,
        callee_number, destination_name, usage_country_code, duration, charge, currency,
        'started ' || to_char(local_start, '%a %H:%M') || ' local time (' || offset_label || ')' AS detail
    FROM local_times
    WHERE date_part('dow', local_start) IN (0, 6)
       OR date_part('hour', local_start) < 8
       OR date_part('hour', local_start) >= 18
    UNION ALL
    SELECT
        'long_call', id, start_date_time, user_id, user_principal_name,
        callee_number, destination_name, usage_country_code, duration, charge, currency,
        'lasted ' || CAST(duration / 3600 AS VARCHAR) || ' h ' || CAST(duration % 3600 / 60 AS VARCHAR)
            || ' min, over 4 h'
    FROM selected
    WHERE duration > 14400
    UNION ALL
    SELECT
        'costly_call', id, start_date_time, user_id, user_principal_name,
        callee_number, destination_name, usage_country_code, duration, charge, selected.currency,
        'charge ' || CAST(charge AS VARCHAR) || ' is over 20 x the median ' || CAST(median_charge AS VARCHAR)
            || ' of charged outbound calls in ' || selected.currency
    -- The medians first: a hash join keeps its first side in memory (a few rows, not the calls).
    FROM median_charges
    JOIN selected ON median_charges.currency = selected.currency
    WHERE charge > 20 * median_charge
    UNION ALL
    SELECT
        'new_destination', id, start_date_time, user_id, user_principal_name,
        callee_number, destination_name, usage_country_code, duration, charge, currency,
        'first call from this user to ' || destination_name
    FROM firsts
    WHERE nth = 1 AND call_date >= $from
)
