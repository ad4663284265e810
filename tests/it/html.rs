//! `pstn-lake report --html` and `--chart`: the page is opened in headless Chromium (Debian's
//! `chromium`, which `scripts/test` installs; without it these tests fail) and must render every
//! report without a single console message.
//!
//! How the console check works: with `--enable-logging=stderr --v=0` Chromium writes every console
//! message of the page to stderr as a line containing `:CONSOLE` (`INFO:CONSOLE:1] "…", source:
//! file:///…`): `console.*` calls, uncaught exceptions, and Content-Security-Policy violations
//! (the page forbids every script and fetch, so an unescaped `<script>` in a cell or any external
//! reference is blocked *and* logged). The log does not carry the message's level, so the check
//! is stricter than "no errors": the page runs no script, so any console message at all fails.
//! `the_console_check_catches_errors` proves on hand-made pages that the check does fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::*;

/// What Chromium made of a page.
struct Rendered {
    /// The DOM after loading, serialised (`--dump-dom`).
    dom: String,
    /// Every console message the page logged.
    console: Vec<String>,
}

/// `chromium` on PATH; a test that needs it fails (never skips) without it.
fn chromium() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromium"))
            .find(|p| p.is_file())
    });
    found.expect(
        "`chromium` is not on PATH: the HTML tests render the page in headless Chromium; \
         run scripts/test (it installs Debian's chromium) or `apt-get install chromium`",
    )
}

/// Opens `page` in headless Chromium (its own profile, at most 90 s) and returns the DOM and the
/// console messages.
fn render(page: &Path) -> Rendered {
    let work = tempfile::tempdir().unwrap();
    let (out, err) = (work.path().join("dom.html"), work.path().join("stderr.txt"));
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
            "--dump-dom",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.path().join("profile").display()
        ))
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("chromium did not finish rendering {url} within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = std::fs::read_to_string(&out).unwrap();
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert!(
        status.success() && dom.contains("</html>"),
        "chromium failed on {url} ({status}):\n{stderr}"
    );
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_owned)
        .collect();
    Rendered { dom, console }
}

/// A lake of three simulated days (both tables) plus one PSTN call whose user name is markup.
fn lake(dir: &Path) -> PathBuf {
    let pages = dir.join("pages");
    let lake = dir.join("lake");
    run(&[
        "simulate",
        "--write-pages",
        pages.to_str().unwrap(),
        "--days",
        "3",
        "--calls-per-day",
        "40",
        "--first-day",
        "2026-11-01",
    ])
    .ok();
    let mut row = pstn_row("hostile", "2026-11-02T10:00:00Z", "0.5", "EUR", "DE", 60);
    row["userPrincipalName"] =
        Value::from("<script>console.error('not escaped')</script>@contoso.com");
    std::fs::write(pages.join("hostile.json"), pstn_page(&[row])).unwrap();
    ingest(&pages, &lake);
    lake
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn the_page_has_every_report_and_renders_without_console_messages() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let page = dir.path().join("reports.html");
    let args = [
        "report",
        "--html",
        page.to_str().unwrap(),
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-03",
        "--lake",
        lake.to_str().unwrap(),
    ];
    let out = run(&args).ok();
    assert!(
        out.stdout.is_empty(),
        "the page goes to the file: {}",
        out.stdout
    );

    let html = std::fs::read_to_string(&page).unwrap();
    assert_strict_content_security_policy(&html);
    for external in ["http://", "https://", "<script", "src=", "<link", "url("] {
        assert!(!html.contains(external), "the page refers to `{external}`");
    }
    assert!(html.contains("<dt>Days (UTC)</dt><dd>2026-11-01 to 2026-11-03</dd>"));
    assert!(
        html.contains(
            "&lt;script&gt;console.error(&#39;not escaped&#39;)&lt;/script&gt;@contoso.com"
        )
    );

    let rendered = render(&page);
    assert!(
        rendered.console.is_empty(),
        "console messages:\n{}",
        rendered.console.join("\n")
    );
    let reports = pstn_lake_query::reports();
    for report in &reports {
        let title = report.description.split(':').next().unwrap();
        for text in [
            format!("<section id=\"{}\">", report.name),
            format!("<h2>{}</h2>", escape(title)),
            format!("{}, 2026-11-01 to 2026-11-03", escape(title)),
        ] {
            assert!(rendered.dom.contains(&text), "{text} not rendered");
        }
    }
    // Every report drew its table, and its chart as SVG.
    let charts = reports.iter().filter(|r| r.chart.is_some()).count();
    assert_eq!(rendered.dom.matches("<svg").count(), charts);
    assert_eq!(rendered.dom.matches("<table>").count(), reports.len());
    assert!(!rendered.dom.contains("class=\"error\""), "a report failed");
}

#[test]
fn filters_apply_where_a_report_takes_them_and_the_name_narrows_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let page = dir.path().join("eur.html");
    run(&[
        "report",
        "charges-by-country",
        "--html",
        page.to_str().unwrap(),
        "--currency",
        "eur",
        "--lake",
        lake.to_str().unwrap(),
    ])
    .ok();
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<section ").count(), 1);
    assert!(html.contains("<dd>currency eur</dd>"), "{html}");
    assert!(html.contains("charge (EUR)") && !html.contains("charge (USD)"));

    // A malformed value stops before anything is written.
    let bad = dir.path().join("bad.html");
    let out = run(&[
        "report",
        "--html",
        bad.to_str().unwrap(),
        "--currency",
        "EURO",
        "--lake",
        lake.to_str().unwrap(),
    ])
    .fails();
    assert!(out.stderr.contains("3-letter ISO 4217"), "{}", out.stderr);
    assert!(!bad.exists());
}

/// `pstn-lake report REPORT --chart FILE --lake LAKE EXTRA…`.
fn chart(lake: &str, report: &str, file: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "report",
        report,
        "--chart",
        file.to_str().unwrap(),
        "--lake",
        lake,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn chart_writes_svg_or_png_and_still_prints_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path());
    let lake = lake.to_str().unwrap();
    let svg = dir.path().join("charges.svg");
    let out = chart(
        lake,
        "charges-by-country",
        &svg,
        &[
            "--format",
            "csv",
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-02",
        ],
    )
    .ok();
    assert!(
        out.stdout.starts_with("country,currency,"),
        "{}",
        out.stdout
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("Charges by country, 2026-11-02"), "{text}");
    assert!(text.contains("charge (EUR)"));

    let png = dir.path().join("daily.PNG");
    chart(lake, "daily-volume", &png, &[]).ok();
    assert!(
        std::fs::read(&png)
            .unwrap()
            .starts_with(b"\x89PNG\r\n\x1a\n")
    );

    let jpg = dir.path().join("daily.jpg");
    let out = chart(lake, "daily-volume", &jpg, &[]).fails();
    assert!(
        out.stderr.contains("name the file .svg or .png"),
        "{}",
        out.stderr
    );
    assert!(!jpg.exists());
}

#[test]
fn the_console_check_catches_errors() {
    let dir = tempfile::tempdir().unwrap();
    let pages = [
        // A console error from a script.
        (
            "error.html",
            "<p>x</p><script>console.error(\"x\")</script>".to_owned(),
        ),
        // An uncaught exception.
        (
            "throws.html",
            "<script>undefined_function()</script>".to_owned(),
        ),
        // The report page's policy blocks an unescaped script: blocked, but logged.
        (
            "blocked.html",
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">\
             <script>1</script>"
                .to_owned(),
        ),
    ];
    for (name, body) in pages {
        let page = dir.path().join(name);
        std::fs::write(
            &page,
            format!("<!DOCTYPE html><html><body>{body}</body></html>"),
        )
        .unwrap();
        let rendered = render(&page);
        assert_eq!(rendered.console.len(), 1, "{name}: {:?}", rendered.console);
    }
    let clean = dir.path().join("clean.html");
    std::fs::write(
        &clean,
        "<!DOCTYPE html><html><body><p>fine</p></body></html>",
    )
    .unwrap();
    let rendered = render(&clean);
    assert!(rendered.console.is_empty(), "{:?}", rendered.console);
    assert!(rendered.dom.contains("<p>fine</p>"));
}

/// An SVG element's attribute, as a number.
fn attr(element: &str, name: &str) -> f64 {
    let start = element
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {element}"))
        + name.len()
        + 3;
    let end = start + element[start..].find('"').unwrap();
    element[start..end].parse().unwrap()
}

/// The opening tags of `tag` elements, each with the text up to its closing tag.
fn elements<'a>(svg: &'a str, tag: &str) -> Vec<(&'a str, &'a str)> {
    svg.split(&format!("<{tag}"))
        .skip(1)
        .filter(|rest| rest.starts_with(' '))
        .map(|rest| {
            let open = rest.find('>').unwrap();
            let text = rest[open + 1..].split('<').next().unwrap();
            (&rest[..open], text.trim())
        })
        .collect()
}

/// The bars of a chart stand on the y-axis' zero, are as high as the report's numbers on that
/// axis' scale, and carry the report's labels, in the report's order.
#[test]
fn bar_heights_and_labels_follow_the_report_s_numbers() {
    let (dir, lake) = lake_with_rows(&[
        pstn_row("a", "2026-11-01T10:00:00Z", "4.0", "EUR", "DE", 60),
        pstn_row("b", "2026-11-01T11:00:00Z", "1.0", "EUR", "FR", 60),
        pstn_row("c", "2026-11-01T12:00:00Z", "2.5", "EUR", "IT", 60),
        pstn_row("d", "2026-11-01T13:00:00Z", "0.75", "EUR", "IT", 60),
    ]);
    let svg = dir.path().join("chart.svg");
    let out = chart(
        lake.to_str().unwrap(),
        "charges-by-country",
        &svg,
        &["--format", "csv"],
    )
    .ok();
    // The report's numbers: (country, charge), in its order.
    let mut lines = out.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (country, charge) = (column("country"), column("charge"));
    let report: Vec<(String, f64)> = lines
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            (fields[country].to_owned(), fields[charge].parse().unwrap())
        })
        .collect();
    assert_eq!(report.len(), 3, "{}", out.stdout);
    assert!(report.contains(&("IT".to_owned(), 3.25)), "{report:?}");

    let svg = std::fs::read_to_string(&svg).unwrap();
    let texts = elements(&svg, "text");
    // The y-axis: the tick labelled 0 and the highest numeric tick.
    let ticks: Vec<(f64, f64)> = texts
        .iter()
        .filter_map(|(tag, text)| Some((text.parse::<f64>().ok()?, attr(tag, "y"))))
        .collect();
    let zero = ticks.iter().find(|(v, _)| *v == 0.0).expect("a 0 tick").1;
    let (top_value, top_y) = ticks
        .iter()
        .copied()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap();
    let pixels_per_unit = (zero - top_y) / top_value;
    assert!(pixels_per_unit > 10.0, "{ticks:?}");
    let mut bars: Vec<(f64, f64, f64, f64)> = elements(&svg, "rect")
        .iter()
        .filter(|(tag, _)| !tag.contains("fill=\"#FFFFFF\""))
        .map(|(tag, _)| {
            (
                attr(tag, "x"),
                attr(tag, "y"),
                attr(tag, "width"),
                attr(tag, "height"),
            )
        })
        .collect();
    bars.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(bars.len(), report.len(), "one bar per row: {bars:?}");
    for ((x, y, width, height), (label, value)) in bars.iter().zip(&report) {
        assert!((y + height - zero).abs() <= 1.0, "{label} stands on zero");
        assert!(
            (height - value * pixels_per_unit).abs() <= 1.5,
            "{label}: {height} px for {value}, at {pixels_per_unit} px per unit"
        );
        let under = texts
            .iter()
            .find(|(tag, text)| text == label && attr(tag, "y") > zero)
            .unwrap_or_else(|| panic!("no label {label} under the axis"));
        assert!(
            (attr(under.0, "x") - (x + width / 2.0)).abs() <= 1.0,
            "{label} is under its bar"
        );
    }
}

/// The page's Content-Security-Policy is one meta tag, before anything it governs, and allows
/// no script, no fetch, no frame and nothing external: only the page's own inline style.
fn assert_strict_content_security_policy(html: &str) {
    let metas: Vec<&str> = html
        .match_indices("http-equiv=\"Content-Security-Policy\"")
        .map(|(i, _)| &html[i..i + html[i..].find('>').unwrap()])
        .collect();
    assert_eq!(metas.len(), 1, "one policy");
    let head = &html[html.find("<head>").unwrap()..html.find("</head>").unwrap()];
    let first = head
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .unwrap();
    assert!(
        !head[..first].contains("<style") && !head[..first].contains("<script"),
        "the policy comes before anything it governs"
    );
    let content = metas[0]
        .split("content=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    let mut directives: Vec<Vec<&str>> = content
        .split(';')
        .map(|d| d.split_whitespace().collect())
        .filter(|d: &Vec<&str>| !d.is_empty())
        .collect();
    directives.sort();
    assert_eq!(
        directives,
        vec![
            vec!["default-src", "'none'"],
            vec!["style-src", "'unsafe-inline'"]
        ],
        "{content}"
    );
    assert!(!html.contains("<script"), "no script at all");
}
