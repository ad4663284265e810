//! `pstn-lake shell`: statements piped on standard input, and a session on a real terminal (a
//! pseudo-terminal from `script`), with line editing, Ctrl-C, Ctrl-D and the history file.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::helpers::*;

/// A lake with three PSTN days; returns (tempdir, lake path).
fn fixture() -> (tempfile::TempDir, PathBuf) {
    lake_with_rows(&[
        pstn_row("1", "2026-11-01T08:00:00Z", "0.1", "EUR", "CH", 60),
        pstn_row("2", "2026-11-01T09:00:00Z", "0.2", "EUR", "CH", 30),
        pstn_row("3", "2026-11-02T10:00:00Z", "0.7", "CHF", "CH", 90),
        pstn_row("4", "2026-11-03T11:00:00Z", "1.005", "CHF", "CH", 1),
    ])
}

fn shell(lake: &Path, args: &[&str], input: &str) -> Run {
    let mut all = vec!["shell", "--lake", lake.to_str().unwrap()];
    all.extend_from_slice(args);
    run_with_stdin(&all, input.as_bytes())
}

#[test]
fn piped_statements_run_in_order_and_errors_do_not_end_the_shell() {
    let (_dir, lake) = fixture();
    let before = snapshot(&lake);
    let input = "\
SELECT currency, count(*) AS calls
  FROM pstn_calls   -- a comment; not the end
 WHERE currency = 'EUR'
 GROUP BY currency;
.tables
DROP TABLE pstn_calls;
SELECT nope FROM pstn_calls;
SELECT 'still; here' AS s;
.format json
SELECT sum(charge) AS total FROM pstn_calls;
.bogus
SELECT count(*) AS n FROM pstn_calls WHERE call_date = DATE '2026-11-01'
";
    let out = shell(&lake, &[], input).fails();
    assert_eq!(
        out.stdout,
        "currency,calls\nEUR,2\n\
         table,days,first_day,last_day,rows\n\
         direct_routing_calls,0,,,0\n\
         pstn_blocked_users,0,,,0\n\
         pstn_calls,3,2026-11-01,2026-11-03,4\n\
         pstn_dialout_report,0,,,0\n\
         sms_logs,0,,,0\n\
         users,0,,,0\n\
         s\nstill; here\n\
         [{\"total\":2.005000}]\n\
         [{\"n\":2}]\n"
    );
    // Each error starts a line with `error` (DataFusion's own messages may go on over more lines).
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error"))
        .collect();
    assert_eq!(errors.len(), 4, "{}", out.stderr);
    assert!(
        errors[0].starts_with("error (line 6): ") && errors[0].contains("only queries are allowed"),
        "{}",
        out.stderr
    );
    assert!(
        errors[1].starts_with("error (line 7): ") && errors[1].contains("nope"),
        "{}",
        out.stderr
    );
    assert!(
        errors[2].contains("unknown command `.bogus`"),
        "{}",
        out.stderr
    );
    assert_eq!(
        errors[3],
        "error: 3 statements or commands failed (their errors are above)"
    );
    assert!(snapshot(&lake) == before, "the lake changed");
}

#[test]
fn dot_commands_show_schema_switch_formats_and_quit() {
    let (_dir, lake) = fixture();
    let input = "\
.schema pstn_calls
.format markdown
SELECT 1 AS a;
.format
.format xml
.schema no_such_table
.timer on
SELECT 2 AS b;
.quit
SELECT 3 AS c;
";
    let out = shell(&lake, &["--format", "csv"], input).fails();
    let stdout = &out.stdout;
    assert!(
        stdout.starts_with("table_name,column_name,data_type,is_nullable\n"),
        "{stdout}"
    );
    for line in [
        "pstn_calls,charge,\"Decimal128(18, 6)\",YES\n",
        "pstn_calls,call_date,Date32,NO\n",
        "| a |\n| ---: |\n| 1 |\nmarkdown\n| b |\n| ---: |\n| 2 |\n",
    ] {
        assert!(stdout.contains(line), "`{line}` not in:\n{stdout}");
    }
    assert!(!stdout.contains("| c |"), ".quit ends the input: {stdout}");
    assert!(!stdout.contains("direct_routing_calls"), "{stdout}");
    for message in [
        "unknown format `xml`: expected table, csv, csv-raw, json",
        "there is no table `no_such_table`: .tables lists them",
        "Run time: ",
        "2 statements or commands failed",
    ] {
        assert!(
            out.stderr.contains(message),
            "`{message}` not in:\n{}",
            out.stderr
        );
    }

    // Without errors the exit code is 0, and the default format of piped output is csv.
    let out = shell(&lake, &[], "SELECT 40 + 2 AS answer;\n.help\n").ok();
    assert!(out.stdout.starts_with("answer\n42\n"), "{}", out.stdout);
    assert!(out.stdout.contains(".schema [TABLE]"), "{}", out.stdout);
}

/// Output of a child process, collected by a thread.
struct Screen(Arc<Mutex<Vec<u8>>>, usize);

impl Screen {
    /// Waits until `needle` appears after what earlier waits consumed.
    #[track_caller]
    fn wait_for(&mut self, needle: &str) {
        if !self.appears_within(needle, Duration::from_secs(60)) {
            let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
            panic!(
                "`{needle}` did not appear; the terminal shows:\n{}",
                &text[self.1.min(text.len())..]
            );
        }
    }

    /// Whether `needle` appears after what earlier waits consumed within `wait` (and consumes it).
    fn appears_within(&mut self, needle: &str, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
            if let Some(at) = text.get(self.1..).and_then(|rest| rest.find(needle)) {
                self.1 += at + needle.len();
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A session on a pseudo-terminal: a statement over two lines, Ctrl-C on a half-typed line and
/// during a long query, Ctrl-D to leave; the history file keeps the statements.
#[test]
fn terminal_session_edits_cancels_and_keeps_history() {
    let (dir, lake) = fixture();
    let state = dir.path().join("state");
    // `exec`: `script` starts the command with `$SHELL -c`, and a shell that stays as the
    // parent (dash does) would itself be killed by the terminal's Ctrl-C.
    let command = format!(
        "exec '{}' shell --lake '{}'",
        env!("CARGO_BIN_EXE_pstn-lake"),
        lake.display()
    );
    // util-linux `script` runs the shell on a pseudo-terminal fed from our pipe.
    let mut child = std::process::Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("XDG_STATE_HOME", &state)
        .env("SHELL", "/bin/sh")
        .env_remove("PSTN_LAKE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("`script` (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let shown = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let shown = Arc::clone(&shown);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shown.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let mut screen = Screen(shown, 0);
    let mut typed = |keys: &str| {
        stdin.write_all(keys.as_bytes()).unwrap();
        stdin.flush().unwrap();
    };

    screen.wait_for("pstn-lake> ");
    // Enter before the `;` continues the statement on a new line.
    typed("SELECT count(*) AS calls\rFROM pstn_calls;\r");
    screen.wait_for("|     4 |");
    screen.wait_for("pstn-lake> ");
    // Ctrl-C clears a half-typed line.
    typed("SELECT 'never run'\x03");
    screen.wait_for("pstn-lake> ");
    // Ctrl-C during a query cancels it, not the shell.
    typed("SELECT sum(value) FROM generate_series(1, 100000000000);\r");
    // The line is read when the editor gives the terminal back (it ends bracketed paste); the
    // query starts listening for Ctrl-C a moment later, and a Ctrl-C before that is lost: send
    // one until the query is cancelled.
    screen.wait_for("100000000000);");
    screen.wait_for("\x1b[?2004l");
    let mut sent = 0;
    while !screen.appears_within("cancelled", Duration::from_secs(2)) {
        assert!(sent < 30, "{sent} Ctrl-C did not cancel the query");
        typed("\x03");
        sent += 1;
    }
    screen.wait_for("pstn-lake> ");
    typed(".format csv\r");
    screen.wait_for("pstn-lake> ");
    typed("SELECT 6 * 7 AS answer;\r");
    screen.wait_for("answer\r\n42\r\n");
    screen.wait_for("pstn-lake> ");
    // Ctrl-D leaves.
    typed("\x04");
    let status = child.wait().unwrap();
    reader.join().unwrap();
    assert!(status.success(), "the shell exited with {status}");

    let history = std::fs::read_to_string(state.join("pstn-lake/history")).unwrap();
    assert_eq!(
        history,
        "#V2\n\
         SELECT count(*) AS calls\\nFROM pstn_calls;\n\
         SELECT sum(value) FROM generate_series(1, 100000000000);\n\
         .format csv\n\
         SELECT 6 * 7 AS answer;\n"
    );
}
