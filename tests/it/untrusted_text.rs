//! Text from the data where people look at it: CSV opened in a spreadsheet (no formulas run),
//! tables and errors on a terminal (no escape sequences reach it).

use std::path::Path;

use crate::helpers::*;

/// `csv` as Python's `csv` module reads it: rows of cells, the header first.
fn python_csv(csv: &str) -> Vec<Vec<String>> {
    let out = run_python(
        "import csv, json, sys\nprint(json.dumps(list(csv.reader(sys.stdin, strict=True))))",
        csv,
    );
    serde_json::from_str(&out).unwrap()
}

fn run_python(script: &str, stdin: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 failed");
    String::from_utf8(out.stdout).unwrap()
}

/// A lake whose one user's name is a spreadsheet formula and whose charge is negative (a refund).
fn hostile_lake() -> (tempfile::TempDir, std::path::PathBuf) {
    let mut row = pstn_row("1", "2026-11-01T08:00:00Z", "-1.5", "USD", "US", 60);
    row["userId"] = "u-1".into();
    row["userPrincipalName"] = r#"=HYPERLINK("http://evil.invalid","x")"#.into();
    lake_with_rows(&[row])
}

const LITERALS: &str = r#"SELECT '=HYPERLINK("http://x")' AS name, '+41 44 668 18 00' AS phone, 'a=b' AS plain, CAST(-1.5 AS DECIMAL(10,2)) AS amount, -2 AS n, DATE '2026-11-01' AS day"#;

#[test]
fn csv_shows_formulas_as_text_and_keeps_numbers() {
    let (dir, lake) = hostile_lake();
    let lake = lake.to_str().unwrap();

    // `sql` to standard output.
    let csv = run(&["sql", LITERALS, "--format", "csv", "--lake", lake])
        .ok()
        .stdout;
    assert_eq!(
        python_csv(&csv),
        [
            ["name", "phone", "plain", "amount", "n", "day"],
            [
                r#"'=HYPERLINK("http://x")"#,
                "'+41 44 668 18 00",
                "a=b",
                "-1.50",
                "-2",
                "2026-11-01"
            ]
        ]
    );
    // Raw cells for programs, as the help says.
    let help = run(&["sql", "--help"]).ok().stdout;
    assert!(
        help.contains("csv-raw writes every cell as it is"),
        "{help}"
    );
    let raw = run(&["sql", LITERALS, "--format", "csv-raw", "--lake", lake])
        .ok()
        .stdout;
    assert_eq!(
        python_csv(&raw)[1],
        [
            r#"=HYPERLINK("http://x")"#,
            "+41 44 668 18 00",
            "a=b",
            "-1.50",
            "-2",
            "2026-11-01"
        ]
    );

    // A report from the lake, to --output FILE.csv (the format from the name).
    let file = dir.path().join("users.csv");
    run(&[
        "report",
        "charges-by-user",
        "--output",
        file.to_str().unwrap(),
        "--lake",
        lake,
    ])
    .ok();
    let rows = python_csv(&std::fs::read_to_string(&file).unwrap());
    let column = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    assert_eq!(
        rows[1][column("user_principal_name")],
        r#"'=HYPERLINK("http://evil.invalid","x")"#
    );
    assert_eq!(rows[1][column("charge")], "-1.500000");
    // The same report with --format csv-raw gives the name as it is in the lake.
    let out = run(&[
        "report",
        "charges-by-user",
        "--format",
        "csv-raw",
        "--lake",
        lake,
    ])
    .ok()
    .stdout;
    let rows = python_csv(&out);
    assert_eq!(
        rows[1][column("user_principal_name")],
        r#"=HYPERLINK("http://evil.invalid","x")"#
    );
}

/// No byte of `text` is one a terminal acts on: ESC, CR or another C0 control but newline, a C1
/// control, or a bidi override.
#[track_caller]
fn assert_terminal_safe(text: &str) {
    for c in text.chars() {
        assert!(
            c == '\n' || !(c.is_control() || ('\u{202A}'..='\u{202E}').contains(&c)),
            "{c:?} reached the terminal in:\n{text}"
        );
    }
}

#[test]
fn tables_errors_and_markdown_never_carry_escape_sequences() {
    let (dir, lake) = hostile_lake();
    let lake = lake.to_str().unwrap();
    // ESC [31m, CR and U+202E made in SQL from their code points, and Markdown's syntax.
    let query = "SELECT chr(27) || '[31mred' || chr(13) || 'over' || chr(8238) || 'txt.exe' AS text, \
                 'a | b *c* [x](http://y) <b>' || chr(10) || 'next' AS markdown, -1 AS n";
    let table = run(&["sql", query, "--format", "table", "--lake", lake])
        .ok()
        .stdout;
    assert_terminal_safe(&table);
    assert!(
        table.contains(r"\u{1b}[31mred\u{d}over\u{202e}txt.exe"),
        "{table}"
    );
    let md = run(&["sql", query, "--format", "markdown", "--lake", lake])
        .ok()
        .stdout;
    assert_terminal_safe(&md);
    assert_eq!(md.lines().count(), 3, "{md}");
    assert!(
        md.contains(r"| a \| b \*c\* \[x\](http://y) \<b\> next | -1 |"),
        "{md}"
    );

    // Errors quoting a value or a file name.
    let out = run(&[
        "sql",
        "SELECT * FROM \"\x1b]8;;http://evil.invalid\x07x\"",
        "--lake",
        lake,
    ])
    .fails();
    assert_terminal_safe(&out.stderr);
    assert!(
        out.stderr.contains(r"\u{1b}]8;;http://evil.invalid\u{7}x"),
        "{}",
        out.stderr
    );
    let missing = dir.path().join("no\x1b[2Jsuch").join("x.csv");
    let out = run(&[
        "sql",
        "SELECT 1",
        "--output",
        missing.to_str().unwrap(),
        "--lake",
        lake,
    ])
    .fails();
    assert_terminal_safe(&out.stderr);
    assert!(out.stderr.contains(r"no\u{1b}[2Jsuch"), "{}", out.stderr);
    assert!(!Path::new(&missing).exists());

    // The summary naming a file the user chose.
    let page = dir.path().join("page\x1b[1m.html");
    let out = run(&[
        "report",
        "charges-by-country",
        "--html",
        page.to_str().unwrap(),
        "--lake",
        lake,
    ])
    .ok();
    assert!(page.exists());
    assert_terminal_safe(&out.stderr);
    assert!(out.stderr.contains(r"page\u{1b}[1m.html"), "{}", out.stderr);
}

/// Extreme values of the CLI's numbers and dates are errors that name the option (exit code 1 or
/// clap's 2), never a panic (101), and a refused sync leaves no lake behind.
#[test]
fn extreme_option_values_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake = lake.to_str().unwrap();
    let sync = |extra: &[&str]| -> Vec<String> {
        let mut args = [
            "sync",
            "--lake",
            lake,
            "--graph-url",
            "http://127.0.0.1:9",
            "--login-url",
            "http://127.0.0.1:9",
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            sync(&["--lookback", "4294967295"]),
            "--lookback 4294967295 is more than 3650 days",
        ),
        (sync(&["--lookback", "99999999999"]), "--lookback"),
        (
            sync(&["--from", "0001-01-01", "--to", "0001-01-02"]),
            "before 1970",
        ),
        (
            sync(&["--from", "2026-01-01", "--to", "+262142-12-31"]),
            "more than a year after today",
        ),
        (
            sync(&["--from", "1970-01-01", "--to", "2026-01-01"]),
            "more than 3660 (ten years)",
        ),
        (sync(&["--concurrency", "0"]), "--concurrency"),
        (sync(&["--concurrency", "65536"]), "--concurrency"),
        (
            [
                "ingest",
                "-",
                "--table",
                "pstn_calls",
                "--lake",
                lake,
                "--memory-mb",
                "18446744073709551615",
            ]
            .map(str::to_owned)
            .to_vec(),
            "--memory-mb",
        ),
        (
            [
                "report",
                "top-destinations",
                "--lake",
                lake,
                "--limit",
                "99999999999999999999999",
            ]
            .map(str::to_owned)
            .to_vec(),
            "--limit",
        ),
    ];
    for (args, fragment) in cases {
        let out = bin()
            .args(&args)
            .env("AZURE_TENANT_ID", "t")
            .env("AZURE_CLIENT_ID", "c")
            .env("AZURE_CLIENT_SECRET", "s")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(1 | 2)) && stderr.contains(fragment),
            "{args:?}: {:?} {stderr}",
            out.status.code()
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!Path::new(lake).exists(), "{args:?} left a lake");
    }
}

/// Folders in the lake's root that are not tables (`pstn_calls.bak`, `tmp`, a name made to be
/// SQL) are ignored by reading commands, and a relative `--lake ../lake` is the lake.
#[test]
fn only_known_tables_are_read_and_a_relative_lake_path_works() {
    let (dir, lake) = hostile_lake();
    let table = lake.join("pstn_calls");
    let copy = lake.join("pstn_calls.bak");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&table).unwrap() {
        let day = entry.unwrap().path();
        let to = copy.join(day.file_name().unwrap());
        std::fs::create_dir_all(&to).unwrap();
        std::fs::copy(day.join("data.parquet"), to.join("data.parquet")).unwrap();
    }
    for junk in ["tmp", "x\"; DROP TABLE pstn_calls; --", "Pstn_Calls"] {
        std::fs::create_dir_all(lake.join(junk)).unwrap();
        std::fs::write(lake.join(junk).join("data.parquet"), "not parquet").unwrap();
    }
    assert_eq!(sql_rows(&lake, "SELECT count(*) FROM pstn_calls"), [["1"]]);
    let names = sql_rows(
        &lake,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    assert!(
        names.iter().all(|n| !n[0].contains("bak") && n[0] != "tmp"),
        "{names:?}"
    );
    let sub = dir.path().join("elsewhere");
    std::fs::create_dir_all(&sub).unwrap();
    let rel = Path::new("..").join(lake.file_name().unwrap());
    let out = bin()
        .current_dir(&sub)
        .args([
            "sql",
            "SELECT count(*) AS n FROM pstn_calls",
            "--format",
            "csv",
            "--lake",
        ])
        .arg(&rel)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\n1\n");
}

/// `--output`, `--chart` and `--html` replace a symbolic link at their path instead of writing
/// through it, and leave no temporary file behind.
#[test]
fn output_files_replace_a_link_never_write_through_it() {
    let (dir, lake) = hostile_lake();
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let victim = dir.path().join("victim.txt");
    for (option, name) in [
        ("--output", "result.csv"),
        ("--chart", "chart.svg"),
        ("--html", "page.html"),
    ] {
        std::fs::write(&victim, "keep me").unwrap();
        let path = out_dir.join(name);
        let _ = std::fs::remove_file(&path);
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let mut args = vec!["report".to_owned()];
        if option != "--html" {
            args.push("charges-by-country".to_owned());
        }
        args.extend([option.to_owned(), path.to_str().unwrap().to_owned()]);
        args.extend(["--lake".to_owned(), lake.to_str().unwrap().to_owned()]);
        let out = bin().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{option}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "keep me",
            "{option}"
        );
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_file(), "{option}: {meta:?}");
        assert!(meta.len() > 0, "{option}");
        let left: Vec<_> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{option}: {left:?}");
    }
}
