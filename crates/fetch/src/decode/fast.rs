//! The fast path of [`PageDecoder`]: a scanner written for pages as Graph sends them.
//!
//! It walks the page's bytes once, matching each key to its column as the general path does, and
//! appends values straight into the same builders. It accepts only a strict subset of JSON and of
//! the row shapes: strings without escapes, values of their column's type, no repeated keys, no
//! nesting deeper than [`MAX_DEPTH`]. On anything else (an escape, a wrong type, a syntax error,
//! a value the column refuses) it gives up and returns `None`, and the general serde path decodes
//! the page from the start, with its exact error messages. So it never decides what is an error;
//! it only decodes the pages that the general path would decode, to the same rows (the tests
//! check both paths against each other, also on damaged pages).
//!
//! Why: the general path spends most of its time in serde's per-value dispatch rather than in
//! scanning; this one costs about half as much per row (docs/performance-notes.md, "Landing",
//! third round).

use super::{Builder, Columns, DecodedPage, IdListBuilder, PageDecoder, same_bytes};
use crate::scalar::{parse_decimal, parse_timestamp_micros};
use crate::table::{MONEY_PRECISION, MONEY_SCALE, Table};

/// Deepest nesting of an unknown property's value the scanner follows (serde_json's limit is 128).
const MAX_DEPTH: usize = 64;

/// Decodes the page `text` starts with (`text` already checked to be UTF-8) and says where the
/// page ends (after its closing brace; what follows is the caller's), or says `None` to leave the
/// page to the general path.
pub(super) fn decode(decoder: &PageDecoder, text: &str) -> Option<(DecodedPage, usize)> {
    let mut s = Scanner {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    let mut context: Option<Option<&str>> = None;
    let mut next_link: Option<Option<&str>> = None;
    let mut columns: Option<Columns> = None;
    s.ws();
    s.items(b'{', b'}', |s| {
        match s.key()? {
            "@odata.context" if context.is_none() => context = Some(s.string_or_null()?),
            "@odata.nextLink" if next_link.is_none() => next_link = Some(s.string_or_null()?),
            "value" if columns.is_none() => {
                // Without a table hint, `value` must come after `@odata.context`.
                let table = decoder
                    .table
                    .or_else(|| context.flatten().and_then(Table::from_odata_context))?;
                let mut c = Columns::new(table, decoder);
                rows(s, &mut c)?;
                columns = Some(c);
            }
            "@odata.context" | "@odata.nextLink" | "value" => return None,
            _ => s.skip_value(0)?,
        }
        Some(())
    })?;
    let end = s.pos;
    let columns = columns?;
    // A context naming another table than the hint is the general path's error to report.
    let table = super::resolve_table(decoder.table, context.flatten()).ok()?;
    if table != columns.table {
        return None;
    }
    let page = columns
        .finish(next_link.flatten().map(str::to_owned))
        .ok()?;
    Some((page, end))
}

/// `value`: the array of rows.
fn rows(s: &mut Scanner, c: &mut Columns) -> Option<()> {
    s.items(b'[', b']', |s| {
        row(s, c)?;
        c.rows += 1;
        c.in_batch += 1;
        if c.in_batch >= c.batch_size {
            c.flush().ok()?;
        }
        Some(())
    })
}

/// One row: each property into its column, unknown ones into `extra_properties`.
fn row(s: &mut Scanner, c: &mut Columns) -> Option<()> {
    c.start_row();
    s.items(b'{', b'}', |s| {
        // Rows repeat one key order: the key this position had last time is checked in place,
        // without scanning for the end of the string first.
        let predicted = c.predicted_key().filter(|(_, key)| s.eat_key(key));
        let column = if let Some((i, _)) = predicted {
            c.last = i;
            Some(i)
        } else {
            let key = s.key()?;
            match c.column_of(key) {
                Some(i) => Some(i),
                None => {
                    let start = s.pos;
                    s.skip_value(0)?;
                    c.add_unknown(key, &s.text[start..s.pos]);
                    None
                }
            }
        };
        if let Some(i) = column {
            if c.set_at[i] == c.stamp {
                return None;
            }
            c.set_at[i] = c.stamp;
            value(s, &mut c.builders[i])?;
        }
        Some(())
    })?;
    c.end_row();
    Some(())
}

/// One property value into its column's builder.
fn value(s: &mut Scanner, builder: &mut Builder) -> Option<()> {
    let first = s.peek()?;
    if first == b'n' {
        s.literal(b"null")?;
        builder.append_null();
        return Some(());
    }
    match builder {
        Builder::Str(b) if first == b'"' => b.append_value(s.string()?),
        Builder::Ts(b) if first == b'"' => {
            b.append_option(parse_timestamp_micros(s.string()?).ok()?);
        }
        Builder::I32(b) => {
            let number = s.number()?;
            // Fractions and exponents are the general path's error; `-0` is a float to serde_json.
            if number.bytes().any(|c| matches!(c, b'.' | b'e' | b'E')) || number.starts_with("-0") {
                return None;
            }
            b.append_value(number.parse::<i32>().ok()?);
        }
        Builder::Bool(b) if first == b't' => {
            s.literal(b"true")?;
            b.append_value(true);
        }
        Builder::Bool(b) if first == b'f' => {
            s.literal(b"false")?;
            b.append_value(false);
        }
        // Some serialisers quote Edm.Decimal; an empty string is null, as on the general path.
        Builder::Money(b) if first == b'"' => match s.string()? {
            "" => b.append_null(),
            digits => b.append_value(parse_decimal(digits, MONEY_PRECISION, MONEY_SCALE).ok()?),
        },
        Builder::Money(b) => {
            let number = s.number()?;
            b.append_value(parse_decimal(number, MONEY_PRECISION, MONEY_SCALE).ok()?);
        }
        Builder::Ids(b) if first == b'[' => id_list(s, b)?,
        _ => return None,
    }
    Some(())
}

/// `administrativeUnitInfos`: `[{"id": "…"} or null, …]`.
fn id_list(s: &mut Scanner, b: &mut IdListBuilder) -> Option<()> {
    b.offsets_started();
    let mut n = 0i32;
    s.items(b'[', b']', |s| {
        if s.peek()? == b'n' {
            s.literal(b"null")?;
            b.ids.append_null();
        } else {
            s.eat(b'{')?;
            s.ws();
            if s.key()? != "id" {
                return None;
            }
            b.ids.append_option(s.string_or_null()?);
            s.ws();
            s.eat(b'}')?;
        }
        n += 1;
        Some(())
    })?;
    let last = *b.offsets.last()?;
    b.offsets.push(last.checked_add(n)?);
    b.validity.append_non_null();
    Some(())
}

/// A position in the page.
struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    #[inline]
    fn eat(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    #[inline]
    fn eat_if(&mut self, want: u8) -> bool {
        let hit = self.peek() == Some(want);
        self.pos += usize::from(hit);
        hit
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    /// Steps over `"key"` and the colon after it (with any whitespace) if that is what comes next.
    #[inline]
    fn eat_key(&mut self, key: &[u8]) -> bool {
        let start = self.pos + 1;
        let end = start + key.len();
        let hit = self.bytes.get(self.pos) == Some(&b'"')
            && self
                .bytes
                .get(start..end)
                .is_some_and(|k| same_bytes(k, key))
            && self.bytes.get(end) == Some(&b'"');
        if !hit {
            return false;
        }
        self.pos = end + 1;
        self.ws();
        if self.eat_if(b':') {
            self.ws();
            true
        } else {
            // Not a key after all (a syntax error): go back and let the general scan refuse it.
            self.pos = start - 1;
            false
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos.checked_add(word.len())?;
        (self.bytes.get(self.pos..end)? == word).then(|| self.pos = end)
    }

    /// `open item, item, … close` with whitespace anywhere between: `item` reads one item.
    #[inline]
    fn items(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        self.ws();
        if self.eat_if(close) {
            return Some(());
        }
        loop {
            self.ws();
            item(self)?;
            self.ws();
            match self.next()? {
                b',' => {}
                b if b == close => return Some(()),
                _ => return None,
            }
        }
    }

    /// An object's key (a string without escapes) and the colon after it.
    #[inline]
    fn key(&mut self) -> Option<&'a str> {
        let key = self.string()?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(key)
    }

    /// A string without escapes or control characters, without its quotes.
    #[inline]
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.pos;
        let end = string_end(self.bytes, start)?;
        self.pos = end + 1;
        // Both ends are next to an ASCII quote, so they are character boundaries.
        self.text.get(start..end)
    }

    fn string_or_null(&mut self) -> Option<Option<&'a str>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            Some(None)
        } else {
            self.string().map(Some)
        }
    }

    /// A number as JSON writes it: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<&'a str> {
        let start = self.pos;
        self.eat_if(b'-');
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat_if(b'.') {
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
        }
        if self.eat_if(b'e') || self.eat_if(b'E') {
            if !self.eat_if(b'+') {
                self.eat_if(b'-');
            }
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
        }
        self.text.get(start..self.pos)
    }

    #[inline]
    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// Steps over any JSON value (strings without escapes), checking its syntax.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            b'[' => self.items(b'[', b']', |s| s.skip_value(depth + 1)),
            b'{' => self.items(b'{', b'}', |s| {
                s.key()?;
                s.skip_value(depth + 1)
            }),
            _ => None,
        }
    }
}

/// The position of the quote that ends a string whose contents start at `from`; `None` if an
/// escape or a control character comes first, or the page ends.
#[inline]
fn string_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 16) {
        let mask = special_bytes(chunk.try_into().expect("16 bytes"));
        if mask != 0 {
            let at = i + mask.trailing_zeros() as usize;
            return (bytes[at] == b'"').then_some(at);
        }
        i += 16;
    }
    let rest = bytes.get(i..)?;
    let at = i + rest.iter().position(|&b| is_special(b))?;
    (bytes[at] == b'"').then_some(at)
}

#[inline]
fn is_special(b: u8) -> bool {
    (b == b'"') | (b == b'\\') | (b < 0x20)
}

/// A bit for each of the 16 bytes that is a quote, a backslash or a control character.
#[cfg(target_arch = "x86_64")]
#[inline]
#[expect(
    unsafe_code,
    reason = "an unaligned SSE2 load; the compiler does not vectorise the portable loop well"
)]
fn special_bytes(chunk: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: `chunk` is 16 readable bytes and `_mm_loadu_si128` needs no alignment; SSE2, which
    // the other intrinsics need, is part of every x86_64 target.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // An unsigned byte at most 0x1f is its own minimum with 0x1f.
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
    }
}

/// A bit for each of the 16 bytes that is a quote, a backslash or a control character.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn special_bytes(chunk: &[u8; 16]) -> u32 {
    chunk
        .iter()
        .enumerate()
        .fold(0, |mask, (k, &b)| mask | (u32::from(is_special(b)) << k))
}
