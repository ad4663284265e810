//! The terminal side of the shell: the line editor, its helper and the history file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Editor, Helper};

use super::COMMANDS;
use super::split::is_complete;

/// A line editor that completes `tables` and dot-commands.
pub fn new(tables: Vec<String>) -> Result<Editor<LineHelper, DefaultHistory>> {
    let config = rustyline::Config::builder()
        .max_history_size(10_000)?
        .history_ignore_dups(true)?
        .auto_add_history(false)
        .build();
    let mut editor: Editor<LineHelper, DefaultHistory> =
        Editor::with_config(config).context("cannot start the line editor")?;
    editor.set_helper(Some(LineHelper { tables }));
    Ok(editor)
}

/// `$XDG_STATE_HOME/pstn-lake/history`, or `~/.local/state/pstn-lake/history`.
pub fn default_history() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        // The XDG spec says a relative path is invalid and must be ignored.
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::home_dir().map(|h| h.join(".local").join("state")))?;
    Some(state.join("pstn-lake").join("history"))
}

/// Loads the history file (creating its folder); `None`, after a warning, when it cannot be used.
pub fn open_history<'p>(
    editor: &mut Editor<LineHelper, DefaultHistory>,
    path: &'p Path,
) -> Option<&'p Path> {
    if let Some(dir) = path.parent()
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!(
            "warning: no history: cannot create {}: {e} (--history FILE picks another file)",
            dir.display()
        );
        return None;
    }
    match editor.load_history(path) {
        Ok(()) => Some(path),
        Err(ReadlineError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Some(path),
        Err(e) => {
            eprintln!(
                "warning: no history: cannot read {}: {e} (--history FILE picks another file)",
                path.display()
            );
            None
        }
    }
}

/// The line editor's helper: a statement is handed over only once it ends with `;` (Enter before
/// that starts a new line), and Tab completes dot-commands and table names.
pub struct LineHelper {
    tables: Vec<String>,
}

impl Helper for LineHelper {}
impl Highlighter for LineHelper {}

impl Hinter for LineHelper {
    type Hint = String;
}

impl Validator for LineHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Completer for LineHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let before = &line[..pos];
        let word_char = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
        let start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| !word_char(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[start..];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let candidates: Vec<String> = if word.starts_with('.') && before[..start].trim().is_empty()
        {
            COMMANDS
                .iter()
                .filter(|c| c.starts_with(word))
                .map(|c| (*c).to_owned())
                .collect()
        } else {
            self.tables
                .iter()
                .filter(|t| t.starts_with(word))
                .cloned()
                .collect()
        };
        Ok((start, candidates))
    }
}
