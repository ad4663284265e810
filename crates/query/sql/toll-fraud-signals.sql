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
-- start_utc: the call's start (UTC). detail: why the call is flagged. Ordered by start, signal.
WITH offsets (country, utc_offset, offset_label) AS (
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
    FROM selected
    JOIN median_charges ON median_charges.currency = selected.currency
    WHERE charge > 20 * median_charge
    UNION ALL
    SELECT
        'new_destination', id, start_date_time, user_id, user_principal_name,
        callee_number, destination_name, usage_country_code, duration, charge, currency,
        'first call from this user to ' || destination_name
    FROM firsts
    WHERE nth = 1 AND call_date >= $from
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
    detail
FROM signals
WHERE ($currency IS NULL OR currency = $currency)
  AND ($country IS NULL OR usage_country_code = $country)
  AND ($user IS NULL OR lower(user_principal_name) = lower($user) OR user_id = $user)
ORDER BY start_date_time, signal, id
LIMIT $limit
