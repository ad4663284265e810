//! Splitting shell input into SQL statements: a statement ends at a `;` that is outside quotes
//! and comments, and may span lines.

/// Where the scanner is inside the SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Code,
    /// Inside `'…'` (a doubled `''` leaves and re-enters, which is the same thing).
    String,
    /// Inside a quoted identifier, `"…"` or `` `…` ``.
    Identifier(char),
    /// After `--`, up to the end of the line.
    LineComment,
    /// Inside `/* … */`, nested to this depth (DataFusion's dialect nests them).
    BlockComment(u32),
}

/// Collects text and hands out each statement once its closing `;` arrives.
#[derive(Debug, Default)]
pub struct Splitter {
    text: String,
    state: State,
    /// Whether `text` holds anything besides whitespace and comments.
    has_code: bool,
}

impl Splitter {
    /// Adds `text` (usually a line with its `\n`) and returns the statements it completes, without
    /// their `;` and trimmed. Empty statements (`;;`, a lone comment) are dropped.
    pub fn push(&mut self, text: &str) -> Vec<String> {
        let mut done = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let next = chars.peek().copied();
            match (self.state, c) {
                (State::Code, ';') => {
                    if let Some(statement) = self.take() {
                        done.push(statement);
                    }
                    continue;
                }
                (State::Code, '\'') => self.enter(State::String),
                (State::Code, '"' | '`') => self.enter(State::Identifier(c)),
                (State::Code, '-') if next == Some('-') => {
                    self.state = State::LineComment;
                    self.text.push(c);
                    self.text.push(chars.next().expect("peeked"));
                    continue;
                }
                (State::Code, '/') if next == Some('*') => {
                    self.state = State::BlockComment(1);
                    self.text.push(c);
                    self.text.push(chars.next().expect("peeked"));
                    continue;
                }
                (State::Code, c) if !c.is_whitespace() => self.has_code = true,
                (State::String, '\'') => self.state = State::Code,
                (State::Identifier(close), c) if c == close => self.state = State::Code,
                (State::LineComment, '\n') => self.state = State::Code,
                (State::BlockComment(depth), '*' | '/') => {
                    let opens = c == '/' && next == Some('*');
                    let closes = c == '*' && next == Some('/');
                    if opens || closes {
                        self.state = match (opens, depth) {
                            (true, d) => State::BlockComment(d + 1),
                            (false, 1) => State::Code,
                            (false, d) => State::BlockComment(d - 1),
                        };
                        self.text.push(c);
                        self.text.push(chars.next().expect("peeked"));
                        continue;
                    }
                }
                _ => {}
            }
            self.text.push(c);
        }
        done
    }

    fn enter(&mut self, state: State) {
        self.state = state;
        self.has_code = true;
    }

    /// The statement collected so far, if it holds any code; clears the buffer either way.
    fn take(&mut self) -> Option<String> {
        let text = std::mem::take(&mut self.text);
        let had_code = std::mem::replace(&mut self.has_code, false);
        if self.state == State::LineComment {
            self.state = State::Code;
        }
        had_code.then(|| text.trim().to_owned())
    }

    /// Whether no statement is under way: nothing but whitespace or finished comments since the
    /// last `;`. A dot-command is only recognised then.
    pub fn is_idle(&self) -> bool {
        !self.has_code && matches!(self.state, State::Code | State::LineComment)
    }

    /// The unfinished statement at the end of the input (a last statement without `;`), if any.
    pub fn finish(&mut self) -> Option<String> {
        let rest = self.take();
        self.state = State::Code;
        rest
    }
}

/// Whether a dot-command: a line that starts with `.` while no statement is under way.
pub fn dot_command(splitter: &Splitter, line: &str) -> Option<String> {
    let line = line.trim();
    (splitter.is_idle() && line.starts_with('.')).then(|| line.to_owned())
}

/// Whether the text typed so far is complete: every statement in it is ended by `;` (or it is a
/// dot-command, or empty), so the line editor can hand it over instead of asking for more lines.
pub fn is_complete(text: &str) -> bool {
    let mut splitter = Splitter::default();
    for line in text.split_inclusive('\n') {
        if dot_command(&splitter, line).is_none() {
            splitter.push(line);
        }
    }
    // A line comment at the very end (no newline yet) also ends with the line.
    splitter.push("\n");
    splitter.is_idle()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `text` fed whole and fed line by line (as the shell reads it), checking both give
    /// the same statements, and returns them with the unfinished rest.
    fn split(text: &str) -> (Vec<String>, Option<String>) {
        let whole = {
            let mut s = Splitter::default();
            let statements = s.push(text);
            (statements, s.finish())
        };
        let by_line = {
            let mut s = Splitter::default();
            let mut statements = Vec::new();
            for line in text.split_inclusive('\n') {
                statements.extend(s.push(line));
            }
            (statements, s.finish())
        };
        assert_eq!(whole, by_line, "{text:?}: whole vs by line");
        whole
    }

    #[test]
    fn semicolons_end_statements_across_lines() {
        let (statements, rest) = split("SELECT 1;\nSELECT\n  2\n;SELECT 3; SELECT 4");
        assert_eq!(statements, ["SELECT 1", "SELECT\n  2", "SELECT 3"]);
        assert_eq!(rest.as_deref(), Some("SELECT 4"));
    }

    #[test]
    fn semicolons_inside_quotes_do_not_end_statements() {
        let (statements, rest) =
            split("SELECT 'a;b', 'it''s;', \"odd;name\", `x;y` FROM t;\nSELECT ';\n;';");
        assert_eq!(
            statements,
            [
                "SELECT 'a;b', 'it''s;', \"odd;name\", `x;y` FROM t",
                "SELECT ';\n;'"
            ]
        );
        assert_eq!(rest, None);
    }

    #[test]
    fn semicolons_inside_comments_do_not_end_statements() {
        let (statements, rest) = split(
            "SELECT 1 -- not here; nor here\n, 2; /* a; /* nested; */ still; */ SELECT 3;\n-- only a comment;\n;;",
        );
        assert_eq!(
            statements,
            [
                "SELECT 1 -- not here; nor here\n, 2",
                "/* a; /* nested; */ still; */ SELECT 3"
            ]
        );
        assert_eq!(rest, None);
    }

    #[test]
    fn idle_only_between_statements() {
        let mut s = Splitter::default();
        assert!(s.is_idle());
        s.push("-- a comment\n");
        assert!(s.is_idle(), "a comment is not a statement");
        s.push("SELECT '\n");
        assert!(!s.is_idle());
        assert_eq!(dot_command(&s, ".tables"), None, "inside a string");
        s.push("';\n");
        assert!(s.is_idle());
        assert_eq!(dot_command(&s, "  .tables  ").as_deref(), Some(".tables"));
        s.push("/* open\n");
        assert!(!s.is_idle(), "inside a block comment");
        s.push("*/\n");
        assert!(s.is_idle());
    }

    #[test]
    fn completeness_for_the_line_editor() {
        assert!(is_complete(""));
        assert!(is_complete("   "));
        assert!(is_complete(".tables"));
        assert!(is_complete("SELECT 1;"));
        assert!(is_complete("SELECT 1; -- done"));
        assert!(is_complete("SELECT\n 1\n;"));
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT ';'"));
        assert!(!is_complete("SELECT 1; SELECT 2"));
        assert!(!is_complete("SELECT 1 /* ; */"));
        assert!(
            !is_complete("SELECT 1\n.tables"),
            "a dot inside a statement"
        );
    }
}
