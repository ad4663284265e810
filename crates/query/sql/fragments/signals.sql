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
median_charges AS (
    SELECT currency, median(charge) AS median_charge
    FROM selected
    WHERE charge > 0
    GROUP BY currency
),
-- Each user's first international call to each destination (by start, then id) over the history:
-- an aggregate of the few such calls per user and destination, not a sort of every call.
first_calls AS (
    SELECT
        first_value(id ORDER BY start_date_time, id)                    AS id,
        first_value(call_date ORDER BY start_date_time, id)             AS call_date,
        first_value(start_date_time ORDER BY start_date_time, id)       AS start_date_time,
        first_value(user_id ORDER BY start_date_time, id)               AS user_id,
        first_value(user_principal_name ORDER BY start_date_time, id)   AS user_principal_name,
        first_value(callee_number ORDER BY start_date_time, id)         AS callee_number,
        first_value(usage_country_code ORDER BY start_date_time, id)    AS usage_country_code,
        first_value(duration ORDER BY start_date_time, id)              AS duration,
        first_value(charge ORDER BY start_date_time, id)                AS charge,
        first_value(currency ORDER BY start_date_time, id)              AS currency,
        destination_name
    FROM outbound
    WHERE international AND user_principal_name <> '' AND destination_name <> ''
    GROUP BY lower(user_principal_name), destination_name
),
-- The selected calls read once, each with what every signal needs; only those raising one. (A
-- CTE is computed again for each reference: the signals below unpivot these rows instead of
-- reading the calls once per signal.) The medians and offsets come first: a hash join keeps its
-- first side in memory (a few rows, not the calls). The texts are made for the flagged rows only.
flagged AS (
    SELECT
        located.*,
        median_charge,
        -- The after-hours test again, as a column: the filter below makes it on every call, this
        -- only on the calls the filter keeps (a column made before the filter cost seconds).
        international AND (
            date_part('dow', local_start) IN (0, 6)
            OR date_part('hour', local_start) < 8
            OR date_part('hour', local_start) >= 18
        )                                                               AS after_hours
    FROM median_charges
    RIGHT JOIN (
        SELECT
            selected.*,
            -- Only where after_hours_international asks for it (adding an interval to every
            -- call's time costs more than reading it).
            CASE WHEN international
                 THEN start_date_time + coalesce(offsets.utc_offset, INTERVAL '0 minutes')
            END                                                         AS local_start,
            offsets.offset_label
        FROM offsets
        RIGHT JOIN selected ON offsets.country = selected.usage_country_code
    ) located ON median_charges.currency = located.currency
    WHERE duration > 14400
       OR (international AND (
            date_part('dow', local_start) IN (0, 6)
            OR date_part('hour', local_start) < 8
            OR date_part('hour', local_start) >= 18
       ))
       OR charge > 20 * median_charge
),
kinds (signal) AS (
    VALUES ('after_hours_international'), ('long_call'), ('costly_call')
),
signals AS (
    SELECT
        kind.signal, id, start_date_time, user_id, user_principal_name,
        callee_number, destination_name, usage_country_code, duration, charge, currency,
        CASE kind.signal
            WHEN 'after_hours_international' THEN
                'started ' || to_char(local_start, '%a %H:%M') || ' local time ('
                    || coalesce(offset_label, 'taken as UTC: no offset known for ' || coalesce(usage_country_code, 'an empty country'))
                    || ')'
            WHEN 'long_call' THEN
                'lasted ' || CAST(duration / 3600 AS VARCHAR) || ' h ' || CAST(duration % 3600 / 60 AS VARCHAR)
                    || ' min, over 4 h'
            ELSE 'charge ' || CAST(charge AS VARCHAR) || ' is over 20 x the median ' || CAST(median_charge AS VARCHAR)
                    || ' of charged outbound calls in ' || currency
        END                                                             AS detail
    FROM flagged
    JOIN kinds kind
      ON CASE kind.signal
             WHEN 'after_hours_international' THEN after_hours
             WHEN 'long_call' THEN duration > 14400
             ELSE charge > 20 * median_charge
         END
    UNION ALL
    SELECT
        'new_destination', id, start_date_time, user_id, user_principal_name,
        callee_number, destination_name, usage_country_code, duration, charge, currency,
        'first call from this user to ' || destination_name
    FROM first_calls
    WHERE call_date >= $from
)
