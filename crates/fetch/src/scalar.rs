//! Exact parsers for the two scalar shapes that cost the most: OData date-times and decimal money.
//!
//! Both are hand-written because they run once per field per row: a general date parser or a float
//! round trip would be slower, and a float would not be exact.

/// `0001-01-01T00:00:00Z` in microseconds since the epoch: Graph's "no value" for a date-time.
const MIN_DATE_MICROS: i64 = -62_135_596_800_000_000;

/// The last year a timestamp may have (the first is 1970).
const LAST_YEAR: i64 = 2200;

/// The first instant after [`LAST_YEAR`], in microseconds since the epoch.
const END_MICROS: i64 = days_from_civil(LAST_YEAR + 1, 1, 1) * 86_400 * 1_000_000;

/// Parses an OData `DateTimeOffset` literal (`2019-11-01T00:00:08.2589935Z`, or with a `+hh:mm`
/// offset) into UTC microseconds since the epoch.
///
/// Fractions longer than 6 digits (Graph sends 7) are truncated to the microsecond.
/// `0001-01-01T00:00:00Z` (Graph's "no date") gives `Ok(None)`; any other instant outside the
/// years 1970-2200 is an error.
pub fn parse_timestamp_micros(s: &str) -> Result<Option<i64>, String> {
    let b = s.as_bytes();
    let bad = || format!("`{s}` is not a date-time like 2026-11-01T09:30:00.1234567Z");
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return Err(bad());
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
        let mut v = 0i64;
        for &c in &b[range] {
            if !c.is_ascii_digit() {
                return Err(bad());
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Ok(v)
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 6 {
                micros = micros * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return Err(bad());
        }
        for _ in digits..6 {
            micros *= 10;
        }
    }
    let offset_secs = match b.get(i..) {
        Some([b'Z' | b'z']) => 0,
        Some([sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]) => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            let h = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let m = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            // An offset is at most 23:59 (RFC 3339); `+99:99` would move the call days away.
            if h > 23 || m > 59 {
                return Err(bad());
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    let value = secs * 1_000_000 + micros;
    if value == MIN_DATE_MICROS {
        return Ok(None);
    }
    // One bogus year would make a day partition (and a report's calendar) millions of days away.
    if !(0..END_MICROS).contains(&value) {
        return Err(format!(
            "`{s}` is outside the years 1970-{LAST_YEAR} that a call record can have"
        ));
    }
    Ok(Some(value))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub(crate) const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a JSON number's text (`0.00`, `-1.2345`, `12`, `1.5E-3`) into an integer scaled by
/// `10^scale`, exactly. Fails if a non-zero digit would be lost or the value needs more than
/// `precision` digits.
pub fn parse_decimal(text: &str, precision: u8, scale: i8) -> Result<i128, String> {
    let b = text.as_bytes();
    let mut i = 0;
    let negative = b.first() == Some(&b'-');
    if negative || b.first() == Some(&b'+') {
        i += 1;
    }
    // Digits of the significand without the point, and how many came after it.
    let mut digits: Vec<u8> = Vec::with_capacity(24);
    let mut fraction_digits: i64 = 0;
    let mut seen_point = false;
    let mut any_digit = false;
    while i < b.len() {
        match b[i] {
            c @ b'0'..=b'9' => {
                any_digit = true;
                if !(digits.is_empty() && c == b'0') {
                    digits.push(c - b'0');
                }
                if seen_point {
                    fraction_digits += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            b'e' | b'E' => break,
            _ => return Err(format!("`{text}` is not a decimal number")),
        }
        i += 1;
    }
    if !any_digit {
        return Err(format!("`{text}` is not a decimal number"));
    }
    let exponent = match text.get(i + 1..) {
        Some(e) => parse_exponent(e).ok_or_else(|| format!("`{text}` is not a decimal number"))?,
        None => 0,
    };
    // value = digits × 10^(exponent − fraction_digits); we want value × 10^scale.
    let shift = exponent - fraction_digits + i64::from(scale);
    let limit = 10i128.pow(u32::from(precision));
    let kept = usize::try_from(digits.len() as i64 + shift.min(0)).unwrap_or(0);
    if digits[kept.min(digits.len())..].iter().any(|&d| d != 0) {
        return Err(format!(
            "`{text}` has more than {scale} decimal places: it cannot be stored exactly"
        ));
    }
    let mut value: i128 = 0;
    for &d in &digits[..kept.min(digits.len())] {
        value = value * 10 + i128::from(d);
        if value >= limit {
            return Err(too_many_digits(text, precision, scale));
        }
    }
    if value != 0 {
        for _ in 0..shift.max(0) {
            value *= 10;
            if value >= limit {
                return Err(too_many_digits(text, precision, scale));
            }
        }
    }
    Ok(if negative { -value } else { value })
}

/// An exponent's value (`+12`, `-3`, `400`), capped at a million either way: far past any
/// decimal's range, and so the arithmetic on it cannot overflow (`1e9223372036854775807`).
fn parse_exponent(text: &str) -> Option<i64> {
    const CAP: i64 = 1_000_000;
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let value = digits
        .bytes()
        .fold(0i64, |v, c| (v * 10 + i64::from(c - b'0')).min(CAP));
    Some(if negative { -value } else { value })
}

fn too_many_digits(text: &str, precision: u8, scale: i8) -> String {
    format!(
        "`{text}` has more than {} integer digits: it does not fit decimal({precision},{scale})",
        i16::from(precision) - i16::from(scale)
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use std::fmt::Write as _;

    use proptest::prelude::*;
    use proptest::test_runner::Config;

    use super::*;

    /// The first microsecond after the years a timestamp may have (2201-01-01).
    pub(crate) fn end_micros() -> i64 {
        chrono::NaiveDate::from_ymd_opt(2201, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    /// `micros` as Graph or another serialiser writes a date-time: `digits` (0-9) fractional digits
    /// (past the sixth, the digit `seventh` again and again, below the microsecond), at
    /// `offset_minutes` from UTC (`Z` when `None`), with `T`/`Z` in either case. Returns the text and
    /// the microseconds it holds (digits past the sixth are truncated).
    pub(crate) fn timestamp_text(
        micros: i64,
        digits: usize,
        seventh: u8,
        offset_minutes: Option<i32>,
        lower: bool,
    ) -> (String, i64) {
        let kept = match digits {
            0..=6 => {
                let unit = 10i64.pow(6 - digits as u32);
                micros - micros.rem_euclid(unit)
            }
            _ => micros,
        };
        let utc = chrono::DateTime::from_timestamp_micros(kept).unwrap();
        let offset = chrono::FixedOffset::east_opt(offset_minutes.unwrap_or(0) * 60).unwrap();
        let local = utc.with_timezone(&offset);
        let mut text = local.format("%Y-%m-%dT%H:%M:%S").to_string();
        if digits > 0 {
            let fraction = format!(
                "{:06}{seventh}{seventh}{seventh}",
                kept.rem_euclid(1_000_000)
            );
            text.push('.');
            text.push_str(&fraction[..digits]);
        }
        match offset_minutes {
            None => text.push('Z'),
            Some(m) => {
                let sign = if m < 0 { '-' } else { '+' };
                write!(text, "{sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60).unwrap();
            }
        }
        if lower {
            text = text.replace('T', "t").replace('Z', "z");
        }
        (text, kept)
    }

    /// `value / 10^scale` as decimal text with the point moved by `exponent` (written as an exponent
    /// when it is not 0, or `force_exponent`), `zeros` extra trailing zeros, and `exponent_style`
    /// choosing `e`/`E`, an explicit `+` and a leading zero in the exponent.
    pub(crate) fn decimal_text(
        value: i128,
        scale: i32,
        exponent: i32,
        zeros: usize,
        force_exponent: bool,
        exponent_style: u8,
    ) -> String {
        let digits = value.unsigned_abs().to_string();
        // mantissa = value × 10^(−scale − exponent): `places` digits after its point.
        let places = scale + exponent;
        let (mut int, mut fraction) = if places <= 0 {
            let mut int = digits;
            int.push_str(&"0".repeat(places.unsigned_abs() as usize));
            (int, String::new())
        } else {
            let places = places as usize;
            let padded = format!("{digits:0>width$}", width = places + 1);
            let (int, fraction) = padded.split_at(padded.len() - places);
            (int.to_owned(), fraction.to_owned())
        };
        let trimmed = int.trim_start_matches('0');
        int = if trimmed.is_empty() {
            "0".to_owned()
        } else {
            trimmed.to_owned()
        };
        fraction.push_str(&"0".repeat(zeros));
        let mut text = String::new();
        if value < 0 {
            text.push('-');
        }
        text.push_str(&int);
        if !fraction.is_empty() {
            text.push('.');
            text.push_str(&fraction);
        }
        if exponent != 0 || force_exponent {
            text.push(if exponent_style & 1 == 0 { 'e' } else { 'E' });
            if exponent < 0 {
                text.push('-');
            } else if exponent_style & 2 != 0 {
                text.push('+');
            }
            if exponent_style & 4 != 0 {
                text.push('0');
            }
            write!(text, "{}", exponent.unsigned_abs()).unwrap();
        }
        text
    }

    /// A money amount that fits Decimal(18,6): up to 12 integer digits and 6 decimals, either sign.
    pub(crate) fn money_micros() -> impl Strategy<Value = i128> {
        (
            0u32..=12,
            0u32..=6,
            any::<u64>(),
            any::<u64>(),
            any::<bool>(),
        )
            .prop_map(|(int_digits, frac_digits, a, b, negative)| {
                let int = i128::from(a) % 10i128.pow(int_digits);
                let frac = i128::from(b) % 10i128.pow(frac_digits);
                let v = int * 1_000_000 + frac * 10i128.pow(6 - frac_digits);
                if negative { -v } else { v }
            })
    }

    /// A written form of a money amount, as [`decimal_text`] takes it.
    pub(crate) fn decimal_form() -> impl Strategy<Value = (i32, usize, bool, u8)> {
        (
            prop_oneof![3 => Just(0i32), 1 => -20i32..=20],
            0usize..4,
            any::<bool>(),
            0u8..8,
        )
    }

    fn ts(s: &str) -> Option<i64> {
        parse_timestamp_micros(s).unwrap()
    }

    #[test]
    fn timestamps_agree_with_chrono() {
        for s in [
            "2019-11-01T00:00:08.2589935Z",
            "2019-11-01T00:00:25.105Z",
            "2026-11-27T23:59:59.9999999Z",
            "2024-02-29T12:00:00Z",
            // Leap years: every fourth, not every hundredth, every four hundredth.
            "2000-02-29T00:00:00Z",
            "2196-02-29T00:00:00Z",
            "2026-04-30T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "2200-12-31T23:59:59.999999Z",
            "1970-01-01T01:00:00+01:00",
            "2026-03-01T01:30:00.123456+02:00",
            "2026-03-01T01:30:00-05:30",
            "2026-03-01T01:30:00+23:59",
            "2026-03-01T01:30:00-23:59",
        ] {
            let expected = chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_micros();
            assert_eq!(ts(s), Some(expected), "{s}");
        }
    }

    #[test]
    fn min_date_is_null_and_garbage_is_refused() {
        assert_eq!(ts("0001-01-01T00:00:00Z"), None);
        for bad in [
            "",
            "2019-11-01",
            "2019-11-01 00:00:00Z",
            "2019-13-01T00:00:00Z",
            "2019-02-30T00:00:00Z",
            // February 29th of a year that is not a leap year; the 31st of a 30-day month.
            "2019-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-06-31T00:00:00Z",
            "2026-09-31T00:00:00Z",
            "2026-11-31T00:00:00Z",
            // Each separator in its place.
            "2019/11-01T00:00:00Z",
            "2019-11/01T00:00:00Z",
            "2019-11-01T00-00:00Z",
            "2019-11-01T00:00-00Z",
            "2019-11-01T00:00:00",
            "2019-11-01T00:00:00.Z",
            "2019-11-01T00:00:00Zjunk",
            "2019-11-01T00:00:00+24:00",
            "2019-11-01T00:00:00-00:60",
            "2019-11-01T00:00:00+99:99",
            "2019-11-01T24:00:00Z",
            "2019-11-01T00:60:00Z",
            "2019-11-01T00:00:61Z",
        ] {
            assert!(parse_timestamp_micros(bad).is_err(), "{bad:?} accepted");
        }
        // A leap second is the next minute's first second.
        assert_eq!(ts("2016-12-31T23:59:60Z"), ts("2017-01-01T00:00:00Z"));
        for far in [
            "1969-12-31T23:59:59.5Z",
            "1970-01-01T00:59:59+01:00",
            "2201-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:01Z",
        ] {
            let e = parse_timestamp_micros(far).unwrap_err();
            assert!(e.contains("outside the years 1970-2200"), "{far}: {e}");
        }
    }

    #[test]
    fn decimals_are_exact() {
        let d = |s| parse_decimal(s, 18, 6);
        assert_eq!(d("0"), Ok(0));
        assert_eq!(d("0.00"), Ok(0));
        assert_eq!(d("1.2345"), Ok(1_234_500));
        assert_eq!(d("-0.05"), Ok(-50_000));
        assert_eq!(d("0.1"), Ok(100_000));
        assert_eq!(d("123456789012.123456"), Ok(123_456_789_012_123_456));
        assert_eq!(d("1.5E-3"), Ok(1_500));
        assert_eq!(d("2e2"), Ok(200_000_000));
        assert_eq!(
            d("0.1234560000"),
            Ok(123_456),
            "trailing zeros lose nothing"
        );
        assert!(d("0.1234567").unwrap_err().contains("decimal places"));
        assert!(d("1234567890123").unwrap_err().contains("integer digits"));
        assert!(d("1e-7").is_err());
        // Exponents past any range are errors (or zero), never an overflow.
        for huge in [
            "1e9223372036854775807",
            "1e99999999999999999999999",
            "-5E+400",
        ] {
            assert!(d(huge).unwrap_err().contains("integer digits"), "{huge}");
        }
        for tiny in ["1e-9223372036854775808", "3E-99999999999999999999"] {
            assert!(d(tiny).unwrap_err().contains("decimal places"), "{tiny}");
        }
        assert_eq!(d("0e9223372036854775807"), Ok(0));
        assert_eq!(d("0.0e-9223372036854775808"), Ok(0));
        for bad in [
            "", "-", ".", "1.2.3", "abc", "1e", "1e+", "1e--2", "1e2x", "0x10",
        ] {
            assert!(d(bad).is_err(), "{bad:?} accepted");
        }
    }

    /// The largest Decimal(18,6) magnitude, in millionths.
    const MAX_MONEY: i128 = 10i128.pow(18) - 1;

    /// Any Decimal(18,6) value: the edges, small amounts, any in range.
    fn any_money() -> impl Strategy<Value = i128> {
        prop_oneof![
            1 => prop::sample::select(vec![0, 1, -1, MAX_MONEY, -MAX_MONEY, 999_999, -1_000_000]),
            3 => money_micros(),
            3 => -MAX_MONEY..=MAX_MONEY,
        ]
    }

    fn config() -> Config {
        Config {
            cases: 1000,
            failure_persistence: None,
            ..Config::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// Any Decimal(18,6) value, written any exact way (trailing zeros, leading zeros, a sign,
        /// an exponent that moves the point either way), parses back to itself.
        #[test]
        fn prop_decimals_round_trip(
            v in any_money(),
            (exponent, zeros, force, style) in decimal_form(),
            plus in any::<bool>(),
            leading_zeros in 0usize..3,
        ) {
            let mut text = decimal_text(v, 6, exponent, zeros, force, style);
            let digits_at = usize::from(v < 0);
            text.insert_str(digits_at, &"0".repeat(leading_zeros));
            if plus && v >= 0 {
                text.insert(0, '+');
            }
            prop_assert_eq!(parse_decimal(&text, 18, 6), Ok(v), "{}", text);
        }

        /// A value with a seventh decimal, or past twelve integer digits, is refused whichever way
        /// it is written: never rounded, never wrapped.
        #[test]
        fn prop_decimals_that_do_not_fit_are_refused(
            v in any_money(),
            seventh in 1i128..10,
            big in prop_oneof![Just(MAX_MONEY + 1), MAX_MONEY + 1..i128::MAX / 1000],
            negative in any::<bool>(),
            (exponent, zeros, force, style) in decimal_form(),
        ) {
            let finer = v * 10 + if v < 0 { -seventh } else { seventh };
            let text = decimal_text(finer, 7, exponent, zeros, force, style);
            let e = parse_decimal(&text, 18, 6).unwrap_err();
            prop_assert!(e.contains("decimal places"), "{}: {}", text, e);
            let big = if negative { -big } else { big };
            let text = decimal_text(big, 6, exponent, zeros, force, style);
            let e = parse_decimal(&text, 18, 6).unwrap_err();
            prop_assert!(e.contains("integer digits"), "{}: {}", text, e);
        }

        /// Any instant of 1970-2200, written as Graph (or another serialiser) writes it: with 0-9
        /// fractional digits, at any offset, `Z` or `z`, parses back to the instant, with the
        /// digits past the microsecond (Graph sends a seventh) truncated, never rounded.
        #[test]
        fn prop_timestamps_round_trip(
            micros in prop_oneof![1 => prop::sample::select(vec![0, end_micros() - 1]), 9 => 0..end_micros()],
            digits in 0usize..=9,
            seventh in 0u8..10,
            offset in proptest::option::of(-(23 * 60 + 59)..=(23 * 60 + 59)),
            lower in any::<bool>(),
        ) {
            let (text, kept) = timestamp_text(micros, digits, seventh, offset, lower);
            prop_assert_eq!(parse_timestamp_micros(&text), Ok(Some(kept)), "{}", text);
            prop_assert_eq!(kept, micros - micros % 10i64.pow(6 - digits.min(6) as u32));
        }

        /// An instant outside 1970-2200 is refused, at any offset.
        #[test]
        fn prop_timestamps_outside_the_years_are_refused(
            micros in prop_oneof![
                MIN_DATE_MICROS + 86_400_000_000..0,
                end_micros()..253_402_214_400_000_000,
                prop::sample::select(vec![-1, end_micros()]),
            ],
            digits in 0usize..=7,
            offset in proptest::option::of(-(23 * 60 + 59)..=(23 * 60 + 59)),
        ) {
            let (text, _) = timestamp_text(micros, digits, 0, offset, false);
            let e = parse_timestamp_micros(&text).unwrap_err();
            prop_assert!(e.contains("outside the years 1970-2200"), "{}: {}", text, e);
        }
    }
}
