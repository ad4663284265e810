//! `pstn-lake shell`: read-only SQL over the lake, statement after statement. On a terminal it edits
//! lines and keeps a history; otherwise it reads statements from standard input without prompts.

mod editor;
mod split;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use arrow::array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::NaiveDate;
use pstn_lake_query::{Format, LakeSession};
use pstn_lake_sink::Lake;
use rustyline::error::ReadlineError;

use crate::common::{LakeArg, is_broken_pipe, message, terminal_safe, to_stdout};
use split::{Splitter, dot_command};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format: table, csv, csv-raw, json, ndjson, markdown (`.format` changes it).
    /// Default: table when the output is a terminal, csv otherwise (csv writes a text cell a
    /// spreadsheet would run as a formula with a leading '; csv-raw as it is).
    #[arg(long)]
    pub format: Option<Format>,

    /// The history file (default: $XDG_STATE_HOME/pstn-lake/history, or
    /// ~/.local/state/pstn-lake/history).
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,

    /// Keep no history.
    #[arg(long, conflicts_with = "history")]
    pub no_history: bool,

    /// Print how long each statement took (`.timer on|off` changes it).
    #[arg(long)]
    pub timer: bool,

    #[command(flatten)]
    pub lake: LakeArg,

    #[command(flatten)]
    pub as_of: crate::common::AsOfArg,
}

const PROMPT: &str = "pstn-lake> ";

const HELP: &str = "\
Statements end with `;` and may span lines. Only queries run: SELECT, WITH, EXPLAIN, DESCRIBE, SHOW.
Tables are the lake's folders; `call_date` (DATE) is the day partition, so filter on it.

.tables              the tables: days, first and last day, rows
.schema [TABLE]      the columns and their types
.format [NAME]       show or set the output format (table, csv, csv-raw, json, ndjson, markdown)
.timer [on|off]      show or set timing of each statement
.help                this text
.quit                leave (also .exit, or Ctrl-D)

Ctrl-C clears the line being typed, or cancels the running query.";

const COMMANDS: [&str; 7] = [
    ".tables", ".schema", ".format", ".timer", ".help", ".quit", ".exit",
];

pub async fn run(args: Args) -> Result<()> {
    let lake = args.lake.open_existing().await?;
    lake.check().await?;
    let session = args.as_of.session(&lake).await?;
    let interactive = std::io::stdin().is_terminal();
    let (format, format_name) = match args.format {
        Some(f) => (f, format!("{f:?}").to_lowercase()),
        None if std::io::stdout().is_terminal() => (Format::Table, "table".to_owned()),
        None => (Format::Csv, "csv".to_owned()),
    };
    let mut shell = Shell {
        lake,
        session,
        format,
        format_name,
        timer: args.timer,
        interactive,
        failures: 0,
        line_no: None,
    };
    if interactive {
        let history = (!args.no_history)
            .then(|| args.history.clone().or_else(editor::default_history))
            .flatten();
        shell.interactive(history.as_deref()).await
    } else {
        shell.batch().await
    }
}

/// Whether the shell goes on after a line.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Quit,
}

struct Shell {
    lake: Lake,
    session: LakeSession,
    format: Format,
    format_name: String,
    timer: bool,
    interactive: bool,
    /// Statements and commands that failed (the exit code of a non-interactive run).
    failures: usize,
    /// The number of the input line being run, when reading standard input (errors name it).
    line_no: Option<usize>,
}

impl Shell {
    /// The terminal loop: line editing, history, Ctrl-C clears, Ctrl-D leaves.
    async fn interactive(&mut self, history: Option<&Path>) -> Result<()> {
        let mut editor = editor::new(self.session.tables().to_vec())?;
        let history = history.and_then(|path| editor::open_history(&mut editor, path));
        to_stdout(|out| {
            // The table names are the lake's folder names: data, shown as characters.
            let banner = format!(
                "pstn-lake shell on {}: {}. End statements with `;`; .help lists the commands.",
                self.lake.url(),
                self.session.tables().join(", ")
            );
            writeln!(out, "{}", terminal_safe(&banner))?;
            Ok(())
        })?;
        loop {
            let input = match editor.readline(PROMPT) {
                Ok(input) => input,
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(e).context("reading the terminal failed"),
            };
            if !input.trim().is_empty() {
                editor.add_history_entry(input.as_str())?;
                if let Some(path) = history
                    && let Err(e) = editor.append_history(path)
                {
                    eprintln!(
                        "warning: cannot save the history to {}: {e}",
                        path.display()
                    );
                }
            }
            let mut splitter = Splitter::default();
            let mut flow = Flow::Continue;
            for line in input.split_inclusive('\n') {
                flow = self.line(&mut splitter, line).await?;
                if flow == Flow::Quit {
                    break;
                }
            }
            if flow == Flow::Quit {
                break;
            }
            if let Some(rest) = splitter.finish() {
                self.statement(&rest).await?;
            }
        }
        Ok(())
    }

    /// Statements from standard input, no prompts; fails at the end if any statement failed.
    async fn batch(&mut self) -> Result<()> {
        let mut stdin = std::io::stdin().lock();
        let mut splitter = Splitter::default();
        let mut line = String::new();
        for line_no in 1.. {
            self.line_no = Some(line_no);
            line.clear();
            if stdin
                .read_line(&mut line)
                .context("reading standard input failed")?
                == 0
            {
                self.line_no = Some(line_no - 1);
                if let Some(rest) = splitter.finish() {
                    self.statement(&rest).await?;
                }
                break;
            }
            if self.line(&mut splitter, &line).await? == Flow::Quit {
                break;
            }
        }
        match self.failures {
            0 => Ok(()),
            1 => bail!("1 statement or command failed (its error is above)"),
            n => bail!("{n} statements or commands failed (their errors are above)"),
        }
    }

    /// One line of input: a dot-command, or SQL text that may complete statements.
    async fn line(&mut self, splitter: &mut Splitter, line: &str) -> Result<Flow> {
        if let Some(command) = dot_command(splitter, line) {
            let result = self.command(&command).await;
            return match result {
                Ok(flow) => Ok(flow),
                Err(e) => self.failed(e).map(|()| Flow::Continue),
            };
        }
        for statement in splitter.push(line) {
            self.statement(&statement).await?;
        }
        Ok(Flow::Continue)
    }

    /// Runs one statement and prints its rows; its errors are printed and the shell goes on.
    async fn statement(&mut self, sql: &str) -> Result<()> {
        let started = Instant::now();
        let result = match self.execute(sql).await {
            Ok(Some((schema, batches))) => self.print(&schema, &batches).map(|()| {
                let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
                if self.timer {
                    eprintln!(
                        "Run time: {:.3} s, {rows} row{}",
                        started.elapsed().as_secs_f64(),
                        if rows == 1 { "" } else { "s" }
                    );
                }
            }),
            Ok(None) => {
                eprintln!("cancelled");
                Ok(())
            }
            Err(e) => Err(e),
        };
        result.or_else(|e| self.failed(e))
    }

    /// Plans and runs `sql`; `None` when Ctrl-C cancelled it (on a terminal only: elsewhere
    /// Ctrl-C ends the process as usual).
    async fn execute(&self, sql: &str) -> Result<Option<(SchemaRef, Vec<RecordBatch>)>> {
        let work = async {
            let df = self.session.query(sql).await?;
            let schema = df.schema().inner().clone();
            let batches = self.session.execute(df).await?;
            Ok((schema, batches))
        };
        if !self.interactive {
            return work.await.map(Some);
        }
        tokio::select! {
            result = work => result.map(Some),
            // Dropping the plan's future stops its tasks.
            Ok(()) = tokio::signal::ctrl_c() => Ok(None),
        }
    }

    fn print(&self, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<()> {
        to_stdout(|out| Ok(pstn_lake_query::write(out, self.format, schema, batches)?))
    }

    /// Prints an error and counts it, unless the output is gone (then the shell ends, quietly).
    fn failed(&mut self, e: anyhow::Error) -> Result<()> {
        if is_broken_pipe(&e) {
            return Err(e);
        }
        match self.line_no {
            Some(n) => eprintln!("error (line {n}): {}", message(&e)),
            None => eprintln!("error: {}", message(&e)),
        }
        self.failures += 1;
        Ok(())
    }

    /// A dot-command.
    async fn command(&mut self, line: &str) -> Result<Flow> {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        match (name, args.as_slice()) {
            (".quit" | ".exit", []) => return Ok(Flow::Quit),
            (".help", _) => to_stdout(|out| Ok(writeln!(out, "{HELP}")?))?,
            (".tables", []) => self.tables().await?,
            (".schema", []) => self.schema(None).await?,
            (".schema", [table]) => self.schema(Some(table)).await?,
            (".format", []) => to_stdout(|out| Ok(writeln!(out, "{}", self.format_name)?))?,
            (".format", [format]) => {
                self.format = format.parse().map_err(|e: String| anyhow!(e))?;
                self.format_name = (*format).to_owned();
            }
            (".timer", []) => {
                let on = if self.timer { "on" } else { "off" };
                to_stdout(|out| Ok(writeln!(out, "{on}")?))?;
            }
            (".timer", ["on"]) => self.timer = true,
            (".timer", ["off"]) => self.timer = false,
            (".timer", _) => bail!("use .timer on or .timer off"),
            _ if COMMANDS.contains(&name) => {
                bail!("wrong arguments for {name}: .help shows how to use it")
            }
            _ => bail!("unknown command `{name}`: .help lists the commands"),
        }
        Ok(Flow::Continue)
    }

    /// `.tables`: each table with its days, first and last day and rows.
    async fn tables(&self) -> Result<()> {
        let names = self.session.tables().to_vec();
        let (mut days, mut first, mut last, mut rows) = (vec![], vec![], vec![], vec![]);
        for name in &names {
            let listed = self
                .lake
                .days(name)
                .await
                .with_context(|| format!("cannot list the days of {name}"))?;
            days.push(i64::try_from(listed.len()).unwrap_or(i64::MAX));
            first.push(listed.first().map(|d| epoch_days(*d)));
            last.push(listed.last().map(|d| epoch_days(*d)));
            // The name is one the session registered, quoted as an identifier.
            let sql = format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\""));
            let batches = self.session.collect(&sql).await?;
            let count = batches
                .first()
                .and_then(|b| b.column(0).as_any().downcast_ref::<Int64Array>())
                .map_or(0, |a| a.value(0));
            rows.push(count);
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new("table", DataType::Utf8, false),
            Field::new("days", DataType::Int64, false),
            Field::new("first_day", DataType::Date32, true),
            Field::new("last_day", DataType::Date32, true),
            Field::new("rows", DataType::Int64, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(names)),
            Arc::new(Int64Array::from(days)),
            Arc::new(Date32Array::from(first)),
            Arc::new(Date32Array::from(last)),
            Arc::new(Int64Array::from(rows)),
        ];
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
        self.print(&schema, &[batch])
    }

    /// `.schema [TABLE]`: the columns of one table or of all, from the information schema.
    async fn schema(&self, table: Option<&str>) -> Result<()> {
        let filter = match table {
            Some(t) if self.session.tables().iter().any(|n| n == t) => {
                // Only a registered table name gets here, quoted as a string literal.
                format!("AND table_name = '{}'", t.replace('\'', "''"))
            }
            Some(t) => bail!("there is no table `{t}`: .tables lists them"),
            None => String::new(),
        };
        let sql = format!(
            "SELECT table_name, column_name, data_type, is_nullable \
             FROM information_schema.columns \
             WHERE table_schema = 'public' {filter} \
             ORDER BY table_name, ordinal_position"
        );
        let df = self.session.query(&sql).await?;
        let schema = df.schema().inner().clone();
        let batches = df.collect().await?;
        self.print(&schema, &batches)
    }
}

fn epoch_days(day: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    i32::try_from((day - epoch).num_days()).expect("a lake day fits Date32")
}
