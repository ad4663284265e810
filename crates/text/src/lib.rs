//! Text from the data, made safe to show on a terminal.
//!
//! A value in the lake (a user name, a number, a file name in an error) is whatever Graph or a
//! file held. Printed as it is, an escape sequence in it would recolour or rewrite the terminal
//! (`\x1b[2J` clears it, OSC 8 makes links, `\r` overwrites the line, U+202E reverses the text
//! that follows). [`terminal_safe`] is the one way pstn-lake turns such text into what a terminal
//! shows as characters: the binary uses it for errors, summaries and progress, the query crate
//! for table and Markdown cells. [`shortened`] keeps an error that quotes a huge value to a line.
//! It has no dependencies, so the binary built without the query engine has it too.
//!
//! ```
//! assert_eq!(pstn_lake_text::terminal_safe("a\x1b[31mb"), "a\\u{1b}[31mb");
//! assert_eq!(pstn_lake_text::terminal_safe("plain"), "plain");
//! ```

use std::borrow::Cow;

/// `text` with every character a terminal would act on rather than show written as a visible
/// escape (`\u{1b}` for ESC): the C0 controls but newline, DEL, the C1 controls, and the Unicode
/// bidirectional controls (U+202E and its kin) that reorder what follows. Everything else,
/// including newlines and non-ASCII letters, is unchanged; text without such characters is
/// returned as it is.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` whole if it is at most `max` bytes long; otherwise its first and last `max / 2` bytes
/// (at character boundaries) around a note of how many bytes were left out, so that a message
/// quoting a 50 MB value from a file stays a line. Text that fits is returned as it is.
///
/// ```
/// let long = format!("`{}` is not a number", "9".repeat(1000));
/// assert_eq!(pstn_lake_text::shortened(&long, 20), "`999999999[… 998 bytes left out …]t a number");
/// assert_eq!(pstn_lake_text::shortened("short", 20), "short");
/// ```
pub fn shortened(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let head = text.floor_char_boundary(max / 2);
    let tail = text.ceil_char_boundary(text.len() - max / 2);
    Cow::Owned(format!(
        "{}[… {} bytes left out …]{}",
        &text[..head],
        tail - head,
        &text[tail..]
    ))
}

/// Whether a terminal acts on `c` instead of showing it (see [`terminal_safe`]).
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n') || is_bidi_control(c)
}

/// The Unicode bidirectional formatting characters (UAX #9): marks, embeddings, overrides and
/// isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_escapes() {
        assert_eq!(
            terminal_safe("\x1b[31mred\x1b[0m\r\t\x07\x7f\u{9b}2J"),
            "\\u{1b}[31mred\\u{1b}[0m\\u{d}\\u{9}\\u{7}\\u{7f}\\u{9b}2J"
        );
        assert_eq!(terminal_safe("abc\u{202E}fdp.exe"), "abc\\u{202e}fdp.exe");
        assert_eq!(terminal_safe("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
    }

    #[test]
    fn text_without_controls_is_unchanged_and_borrowed() {
        for text in ["", "Zürich, 東京 — -1.50", "line\nnext", "C:\\lake\\x"] {
            assert!(matches!(terminal_safe(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn long_text_keeps_its_ends_at_character_boundaries() {
        let text = format!("ab{}cd", "é".repeat(100));
        let short = shortened(&text, 6);
        assert_eq!(short, "ab[… 200 bytes left out …]cd");
        assert_eq!(shortened(&text, 8), "abé[… 196 bytes left out …]écd");
        assert_eq!(shortened(&text, text.len()), text);
        assert_eq!(shortened("", 0), "");
    }

    #[test]
    fn every_escaped_text_is_free_of_controls() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let safe = terminal_safe(&all);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        assert!(safe.contains('\n'));
    }
}
