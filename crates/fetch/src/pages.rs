//! Page boundaries in a byte string that holds one Graph page or several pages one after another
//! (a saved file, standard input, an archive written before archives recorded boundaries).
//!
//! The pages are the top-level JSON values. [`split_pages`] finds where each one starts and ends
//! with a scanner that knows strings and their escapes, so a `}` or a newline inside a string
//! never ends a page. It does not parse: each page is then checked whole by the decoder, so a
//! malformed page fails there, with its page number.
//!
//! [`PageDecoder::decode_pages`](crate::PageDecoder::decode_pages) asks it only for the pages its
//! fast path does not take: that path parses the page anyway and knows where it ended, so the
//! usual page is not scanned twice (the decoder's tests check that both find the same end).

use std::ops::Range;

/// The byte ranges of the top-level JSON values in `bytes`, in order (surrounding whitespace
/// left out). Bytes with no value at all (empty, or only whitespace) give one range covering
/// them, so that decoding it reports the missing page rather than finding nothing.
///
/// ```
/// let bytes = br#"{"value":[]} {"value":[{"id":"a}"}]}"#;
/// let pages: Vec<_> = pstn_lake_fetch::split_pages(bytes).collect();
/// assert_eq!(pages, vec![0..12, 13..bytes.len()]);
/// ```
pub fn split_pages(bytes: &[u8]) -> SplitPages<'_> {
    SplitPages {
        bytes,
        pos: 0,
        empty: true,
    }
}

/// The iterator of [`split_pages`].
#[derive(Debug, Clone)]
pub struct SplitPages<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// No range has been returned yet.
    empty: bool,
}

impl Iterator for SplitPages<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let bytes = self.bytes;
        let start = self.pos + whitespace_len(&bytes[self.pos..]);
        if start == bytes.len() {
            self.pos = start;
            if std::mem::take(&mut self.empty) {
                return Some(0..bytes.len());
            }
            return None;
        }
        self.empty = false;
        let end = start + value_len(&bytes[start..]);
        self.pos = end;
        Some(start..end)
    }
}

/// How many bytes of JSON whitespace `bytes` start with.
pub(crate) fn whitespace_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(bytes.len())
}

/// The length of the value `bytes` starts with (`bytes[0]` is not whitespace). An object or array
/// runs to its matching close, a string to its closing quote, anything else to the next
/// whitespace or opening bracket or quote; a value cut off runs to the end.
fn value_len(bytes: &[u8]) -> usize {
    match bytes[0] {
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i += string_len(&bytes[i..]);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        b'"' => string_len(bytes),
        _ => bytes
            .iter()
            .position(|b| {
                matches!(
                    b,
                    b' ' | b'\t' | b'\n' | b'\r' | b'{' | b'[' | b'"' | b'}' | b']'
                )
            })
            .map_or(bytes.len(), |n| n.max(1)),
    }
}

/// The length of the string `bytes` starts with (`bytes[0]` is the opening quote), closing quote
/// included; a string cut off runs to the end.
fn string_len(bytes: &[u8]) -> usize {
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(text: &str) -> Vec<&str> {
        split_pages(text.as_bytes()).map(|r| &text[r]).collect()
    }

    #[test]
    fn one_page_or_many_whatever_separates_them() {
        let a = r#"{"@odata.context":"x","value":[{"id":"a","n":[1,{"b":2}]}]}"#;
        let b = r#"{"value":[]}"#;
        assert_eq!(pages(a), vec![a]);
        assert_eq!(pages(&format!("\n {a}\r\n\t")), vec![a]);
        for separator in ["", "\n", " \r\n ", "\n\n"] {
            assert_eq!(
                pages(&format!("{a}{separator}{b}{separator}{a}\n")),
                vec![a, b, a],
                "{separator:?}"
            );
        }
        // Pretty-printed pages, as `jq .` writes them.
        let pretty = "{\n  \"value\": [\n    {\"id\": \"a\"}\n  ]\n}";
        assert_eq!(
            pages(&format!("{pretty}\n{pretty}\n")),
            vec![pretty, pretty]
        );
    }

    #[test]
    fn brackets_quotes_and_newlines_inside_strings_do_not_end_a_page() {
        let tricky = r#"{"value":[{"id":"}]{\"\\","note":"line\nbreak ] }","x":"\\"}]}"#;
        let other = r#"{"value":[{"id":"[[[{"}]}"#;
        assert_eq!(
            pages(&format!("{tricky}\n{other}")),
            vec![tricky, other],
            "a string ending in an escaped backslash closes; an escaped quote does not"
        );
        // A raw newline inside a string (invalid JSON, but it must not split the page).
        let raw_newline = "{\"value\":[{\"id\":\"a\nb\"}]}";
        assert_eq!(pages(raw_newline), vec![raw_newline]);
    }

    #[test]
    fn what_is_not_a_page_still_comes_out_for_the_decoder_to_refuse() {
        // Cut off: the rest of the input is the last page.
        let cut = r#"{"value":[{"id":"a"},{"id":"b"#;
        assert_eq!(pages(&format!("{{}}\n{cut}")), vec!["{}", cut]);
        // No value at all: one (empty) page, so decoding says the input is not a page.
        assert_eq!(pages(""), vec![""]);
        assert_eq!(pages(" \n"), vec![" \n"]);
        // Stray tokens are values of their own; a stray close is one byte.
        assert_eq!(
            pages(r#"{} 42 "s" ] {}"#),
            vec!["{}", "42", r#""s""#, "]", "{}"]
        );
        assert_eq!(pages("nul{}"), vec!["nul", "{}"]);
        // An extra close after a page starts a value of its own.
        assert_eq!(pages("{}}"), vec!["{}", "}"]);
    }
}
