//! Fast, allocation-free JSON text writing for generated rows: integers, exact decimals, GUIDs and
//! timestamps are formatted by hand straight into the output buffer.

/// 100-nanosecond ticks in one second (the resolution of Graph's 7-digit timestamps).
pub(crate) const TICKS_PER_SEC: i64 = 10_000_000;
/// Ticks in one day.
pub(crate) const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SEC;
/// Ticks in one millisecond.
pub(crate) const TICKS_PER_MS: i64 = 10_000;

/// Appends the decimal digits of `v`.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `v` zero-padded to `width` digits.
pub(crate) fn push_padded(out: &mut Vec<u8>, v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    let mut v = v;
    while v > 0 {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let start = (buf.len() - width).min(i);
    out.extend_from_slice(&buf[start..]);
}

/// Appends an exact decimal of `value_e4` ten-thousandths with `scale` (0..=4) fraction digits.
/// `value_e4` must be representable at that scale (the caller chooses the scale to make it so).
pub(crate) fn push_decimal(out: &mut Vec<u8>, value_e4: u64, scale: u8) {
    debug_assert!(scale <= 4);
    let divisor = 10u64.pow(4 - u32::from(scale));
    debug_assert_eq!(
        value_e4 % divisor,
        0,
        "{value_e4} is not exact at scale {scale}"
    );
    push_u64(out, value_e4 / 10_000);
    if scale > 0 {
        out.push(b'.');
        push_padded(out, (value_e4 % 10_000) / divisor, usize::from(scale));
    }
}

/// The scale an amount of `value_e4` ten-thousandths of a currency with `minor_digits` minor
/// digits is written at: the fewest fraction digits that write it exactly, but not fewer than
/// the currency's (`0.0075`, `12.50`, `0.00`; `0` for a currency without minor units).
pub(crate) fn amount_scale(value_e4: u64, minor_digits: u8) -> u8 {
    let exact = (0..4u8)
        .find(|&scale| value_e4.is_multiple_of(10u64.pow(4 - u32::from(scale))))
        .unwrap_or(4);
    exact.max(minor_digits)
}

/// Appends `s` as a JSON string literal, escaping what JSON requires.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.extend_from_slice(s.as_bytes());
    } else {
        for c in s.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[(c as usize) >> 4]);
                    out.push(HEX[(c as usize) & 0xf]);
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }
    out.push(b'"');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The 36 characters of a lower-case GUID made of the 128 bits `hi:lo`.
pub(crate) fn guid(hi: u64, lo: u64) -> [u8; 36] {
    let mut out = [b'-'; 36];
    let bits = (u128::from(hi) << 64) | u128::from(lo);
    let mut nibble = 0;
    for (pos, slot) in out.iter_mut().enumerate() {
        if matches!(pos, 8 | 13 | 18 | 23) {
            continue;
        }
        *slot = HEX[((bits >> (124 - 4 * nibble)) & 0xf) as usize];
        nibble += 1;
    }
    out
}

/// Appends a GUID as a JSON string literal.
pub(crate) fn push_guid(out: &mut Vec<u8>, hi: u64, lo: u64) {
    out.push(b'"');
    out.extend_from_slice(&guid(hi, lo));
    out.push(b'"');
}

/// A GUID as a `String`.
pub(crate) fn guid_string(hi: u64, lo: u64) -> String {
    String::from_utf8_lossy(&guid(hi, lo)).into_owned()
}

/// `(year, month, day)` of a count of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Appends the UTC timestamp `ticks` (100 ns since the Unix epoch) as
/// `YYYY-MM-DDTHH:MM:SS.fffffffZ` with `frac_digits` (0, 3 or 7) fraction digits, unquoted.
pub(crate) fn push_timestamp(out: &mut Vec<u8>, ticks: i64, frac_digits: u8) {
    let days = ticks.div_euclid(TICKS_PER_DAY);
    let in_day = ticks.rem_euclid(TICKS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = in_day / TICKS_PER_SEC;
    push_padded(out, y.max(0) as u64, 4);
    out.push(b'-');
    push_padded(out, u64::from(m), 2);
    out.push(b'-');
    push_padded(out, u64::from(d), 2);
    out.push(b'T');
    push_padded(out, (secs / 3600) as u64, 2);
    out.push(b':');
    push_padded(out, (secs / 60 % 60) as u64, 2);
    out.push(b':');
    push_padded(out, (secs % 60) as u64, 2);
    let frac = in_day % TICKS_PER_SEC;
    match frac_digits {
        0 => {}
        3 => {
            out.push(b'.');
            push_padded(out, (frac / TICKS_PER_MS) as u64, 3);
        }
        _ => {
            out.push(b'.');
            push_padded(out, frac as u64, 7);
        }
    }
    out.push(b'Z');
}

/// Appends a timestamp as a JSON string literal.
pub(crate) fn push_timestamp_str(out: &mut Vec<u8>, ticks: i64, frac_digits: u8) {
    out.push(b'"');
    push_timestamp(out, ticks, frac_digits);
    out.push(b'"');
}

/// Writes one JSON object's members, taking care of the commas.
pub(crate) struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    pub(crate) fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    /// Writes `"name":` and returns the buffer for the value.
    pub(crate) fn key(&mut self, name: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    pub(crate) fn str(&mut self, name: &str, value: &str) {
        push_str(self.key(name), value);
    }

    pub(crate) fn opt_str(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(v) => self.str(name, v),
            None => self.null(name),
        }
    }

    pub(crate) fn null(&mut self, name: &str) {
        self.key(name).extend_from_slice(b"null");
    }

    pub(crate) fn u64(&mut self, name: &str, value: u64) {
        push_u64(self.key(name), value);
    }

    pub(crate) fn bool(&mut self, name: &str, value: bool) {
        let text: &[u8] = if value { b"true" } else { b"false" };
        self.key(name).extend_from_slice(text);
    }

    pub(crate) fn guid(&mut self, name: &str, hi: u64, lo: u64) {
        push_guid(self.key(name), hi, lo);
    }

    pub(crate) fn timestamp(&mut self, name: &str, ticks: i64, frac_digits: u8) {
        push_timestamp_str(self.key(name), ticks, frac_digits);
    }

    pub(crate) fn close(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn decimals_are_exact_at_every_scale() {
        assert_eq!(text(|o| push_decimal(o, 0, 0)), "0");
        assert_eq!(text(|o| push_decimal(o, 0, 2)), "0.00");
        assert_eq!(text(|o| push_decimal(o, 12_345, 4)), "1.2345");
        assert_eq!(text(|o| push_decimal(o, 500, 2)), "0.05");
        assert_eq!(text(|o| push_decimal(o, 120_000, 0)), "12");
        assert_eq!(text(|o| push_decimal(o, 1_000, 1)), "0.1");
        assert_eq!(text(|o| push_decimal(o, 570, 4)), "0.0570");
    }

    #[test]
    fn amounts_take_the_fewest_exact_digits_but_the_currencys() {
        let written = |v: u64, minor: u8| text(|o| push_decimal(o, v, amount_scale(v, minor)));
        assert_eq!(written(75, 2), "0.0075");
        assert_eq!(written(1_230, 2), "0.123");
        assert_eq!(written(125_000, 2), "12.50");
        assert_eq!(written(0, 2), "0.00");
        assert_eq!(written(0, 0), "0");
        assert_eq!(written(30_000, 0), "3");
    }

    #[test]
    fn timestamps_match_graph_forms() {
        let day = chrono::NaiveDate::from_ymd_opt(2019, 11, 1).unwrap();
        let days = day
            .signed_duration_since(chrono::NaiveDate::default())
            .num_days();
        let base = days * TICKS_PER_DAY;
        let t = base + 8 * TICKS_PER_SEC + 2_589_935;
        assert_eq!(
            text(|o| push_timestamp(o, t, 7)),
            "2019-11-01T00:00:08.2589935Z"
        );
        assert_eq!(
            text(|o| push_timestamp(o, t, 3)),
            "2019-11-01T00:00:08.258Z"
        );
        assert_eq!(
            text(|o| push_timestamp(o, base - 1, 7)),
            "2019-10-31T23:59:59.9999999Z"
        );
        assert_eq!(text(|o| push_timestamp(o, 0, 0)), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn civil_dates_agree_with_chrono() {
        let epoch = chrono::NaiveDate::default();
        for days in (-800_000..800_000).step_by(997) {
            let date = epoch + chrono::Duration::days(days);
            let (y, m, d) = civil_from_days(days);
            use chrono::Datelike;
            assert_eq!(
                (y, m, d),
                (i64::from(date.year()), date.month(), date.day())
            );
        }
    }

    #[test]
    fn guids_and_strings() {
        assert_eq!(
            text(|o| push_guid(o, 0x9e8b_ba57_dc14_533a, 0xa7dd_f0da_6575_eed1)),
            "\"9e8bba57-dc14-533a-a7dd-f0da6575eed1\""
        );
        assert_eq!(
            text(|o| push_str(o, "O'Neil \"x\"\\")),
            r#""O'Neil \"x\"\\""#
        );
        assert_eq!(text(|o| push_str(o, "Zoë")), "\"Zoë\"");
    }
}
