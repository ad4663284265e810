//! One self-contained HTML page with every report as a table and a chart.
//!
//! The page loads nothing: the CSS is inline, the charts are inline SVG, there is no JavaScript,
//! and a Content-Security-Policy forbids anything else, so it opens the same from a mail
//! attachment, a file share or an air-gapped machine. Table cells are the exact Arrow values (as
//! `--format markdown` prints them), HTML-escaped.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::FormatOptions;

use crate::chart::short_title;
use crate::format::{Cell, for_each_row};
use crate::{Error, LakeSession, Param, Report, ReportParams, Result, chart_title, date_range};

const STYLE: &str = "
body { font: 15px/1.45 system-ui, sans-serif; color: #1d1d1f; margin: 0 auto; padding: 1.5em; max-width: 1100px; }
header { border-bottom: 2px solid #2d6aa3; margin-bottom: 1.5em; }
h1 { font-size: 1.6em; margin: 0 0 .4em; }
h2 { font-size: 1.25em; margin: 0 0 .2em; }
dl { display: grid; grid-template-columns: max-content auto; gap: .15em 1em; margin: 0 0 1em; }
dt { color: #555; }
dd { margin: 0; }
nav ul { columns: 2; padding-left: 1.2em; }
section { margin: 2.5em 0; }
.about, .rows, .filters { color: #555; margin: .2em 0 .8em; }
.error { color: #a1261c; background: #fdecea; padding: .6em .8em; border-radius: 4px; white-space: pre-wrap; }
figure { margin: 1em 0; }
svg { max-width: 100%; height: auto; }
.table { overflow-x: auto; }
table { border-collapse: collapse; font-size: .92em; }
th, td { padding: .25em .7em; border-bottom: 1px solid #e3e3e3; text-align: left; white-space: nowrap; }
th { background: #f3f5f8; position: sticky; top: 0; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
footer { color: #777; font-size: .85em; border-top: 1px solid #ddd; padding-top: .5em; }
";

/// An HTML page of report results, built with [`HtmlPage::new`] and [`HtmlPage::push`] (or
/// [`LakeSession::html_page`]) and written with [`HtmlPage::render`].
pub struct HtmlPage {
    lake: String,
    params: ReportParams,
    generated: DateTime<Utc>,
    sections: Vec<Section>,
}

struct Section {
    report: Report,
    /// The filters given that this report does not take.
    ignored: Vec<Param>,
    result: Result<(SchemaRef, Vec<RecordBatch>)>,
}

/// `params` without the filters `report` does not take, and those left out.
pub fn applicable_params(report: &Report, params: &ReportParams) -> (ReportParams, Vec<Param>) {
    let mut kept = params.clone();
    let mut ignored = Vec::new();
    for param in params.set() {
        if report.params.contains(&param) {
            continue;
        }
        ignored.push(param);
        match param {
            Param::From => kept.from = None,
            Param::To => kept.to = None,
            Param::Currency => kept.currency = None,
            Param::Country => kept.country = None,
            Param::User => kept.user = None,
            Param::Limit => kept.limit = None,
            Param::By => kept.by = None,
        }
    }
    (kept, ignored)
}

impl HtmlPage {
    /// An empty page about `lake` (as the user named it) for `params`, generated now.
    pub fn new(lake: impl Into<String>, params: &ReportParams) -> HtmlPage {
        HtmlPage {
            lake: lake.into(),
            params: params.clone(),
            generated: Utc::now(),
            sections: Vec::new(),
        }
    }

    /// Says the page was generated at `at` instead of now.
    pub fn with_generated(mut self, at: DateTime<Utc>) -> HtmlPage {
        self.generated = at;
        self
    }

    /// Adds a report's section: its result, or the error it failed with (shown in its place).
    pub fn push(&mut self, report: &Report, result: Result<(SchemaRef, Vec<RecordBatch>)>) {
        let (_, ignored) = applicable_params(report, &self.params);
        self.sections.push(Section {
            report: report.clone(),
            ignored,
            result,
        });
    }

    /// The reports that failed, with their errors.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &Error)> {
        self.sections
            .iter()
            .filter_map(|s| s.result.as_ref().err().map(|e| (s.report.name, e)))
    }

    /// The page as one HTML document.
    pub fn render(&self) -> String {
        let mut html = String::new();
        self.write(&mut html)
            .expect("writing to a String cannot fail");
        html
    }

    fn write(&self, out: &mut String) -> std::fmt::Result {
        let range = date_range(&self.params);
        writeln!(out, "<!DOCTYPE html>")?;
        writeln!(out, "<html lang=\"en\">")?;
        writeln!(out, "<head>")?;
        writeln!(out, "<meta charset=\"utf-8\">")?;
        // Nothing may load or run: no scripts, no fetches, no external styles, fonts or images.
        writeln!(
            out,
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        )?;
        writeln!(
            out,
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        )?;
        writeln!(out, "<title>pstn-lake reports, {}</title>", escape(&range))?;
        writeln!(out, "<style>{STYLE}</style>")?;
        writeln!(out, "</head>")?;
        writeln!(out, "<body>")?;
        self.write_header(out, &range)?;
        for section in &self.sections {
            self.write_section(out, section)?;
        }
        writeln!(
            out,
            "<footer>Money is summed within one currency only. Charts round amounts to pixels; \
             the tables hold the exact values.</footer>"
        )?;
        writeln!(out, "</body>")?;
        writeln!(out, "</html>")
    }

    fn write_header(&self, out: &mut String, range: &str) -> std::fmt::Result {
        writeln!(out, "<header>")?;
        writeln!(out, "<h1>Teams PSTN and Direct Routing reports</h1>")?;
        writeln!(out, "<dl>")?;
        let mut row =
            |term: &str, value: &str| writeln!(out, "<dt>{term}</dt><dd>{}</dd>", escape(value));
        row("Lake", &self.lake)?;
        row("Days (UTC)", range)?;
        row("Filters", &filters(&self.params))?;
        row(
            "Generated",
            &self.generated.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )?;
        writeln!(out, "</dl>")?;
        writeln!(out, "<nav><ul>")?;
        for section in &self.sections {
            writeln!(
                out,
                "<li><a href=\"#{}\">{}</a></li>",
                escape(section.report.name),
                escape(short_title(&section.report))
            )?;
        }
        writeln!(out, "</ul></nav>")?;
        writeln!(out, "</header>")
    }

    fn write_section(&self, out: &mut String, section: &Section) -> std::fmt::Result {
        let report = &section.report;
        writeln!(out, "<section id=\"{}\">", escape(report.name))?;
        writeln!(out, "<h2>{}</h2>", escape(short_title(report)))?;
        writeln!(
            out,
            "<p class=\"about\">{} <code>pstn-lake report {}</code></p>",
            escape(&report.description),
            escape(report.name)
        )?;
        if !section.ignored.is_empty() {
            let names: Vec<String> = section.ignored.iter().map(Param::to_string).collect();
            writeln!(
                out,
                "<p class=\"filters\">Not filtered by {}: this report does not take {}.</p>",
                escape(&names.join(", ")),
                if names.len() == 1 { "it" } else { "them" }
            )?;
        }
        let (schema, batches) = match &section.result {
            Ok(result) => result,
            Err(e) => {
                writeln!(
                    out,
                    "<p class=\"error\">This report failed: {}</p>",
                    escape(&e.to_string())
                )?;
                return writeln!(out, "</section>");
            }
        };
        if let Some(spec) = &report.chart {
            let (params, _) = applicable_params(report, &self.params);
            match crate::render_chart(spec, &chart_title(report, &params), schema, batches) {
                // Inline SVG needs no namespace in HTML (and the page names no URL at all).
                Ok(svg) => writeln!(
                    out,
                    "<figure>{}</figure>",
                    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
                )?,
                Err(e) => writeln!(
                    out,
                    "<p class=\"error\">The chart could not be drawn: {}</p>",
                    escape(&e.to_string())
                )?,
            }
        }
        match table(out, schema, batches) {
            Ok(rows) => writeln!(
                out,
                "<p class=\"rows\">{rows} {}</p>",
                if rows == 1 { "row" } else { "rows" }
            )?,
            Err(e) => writeln!(
                out,
                "<p class=\"error\">The table could not be formatted: {}</p>",
                escape(&e.to_string())
            )?,
        }
        writeln!(out, "</section>")
    }
}

impl LakeSession {
    /// Runs `reports` with the filters each takes from `params` (see [`applicable_params`]) and
    /// collects them into a page; a report that fails shows its error in its section.
    pub async fn html_page(
        &self,
        reports: &[Report],
        lake: &str,
        params: &ReportParams,
    ) -> HtmlPage {
        let mut page = HtmlPage::new(lake, params);
        for report in reports {
            let (applicable, _) = applicable_params(report, params);
            let result = self.run_report(report, &applicable).await;
            page.push(report, result);
        }
        page
    }
}

/// Writes the result as a table; returns its row count.
fn table(out: &mut String, schema: &SchemaRef, batches: &[RecordBatch]) -> Result<usize> {
    let numeric: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().is_numeric())
        .collect();
    let class = |i: usize| if numeric[i] { " class=\"num\"" } else { "" };
    let mut text = String::new();
    text.push_str("<div class=\"table\"><table>\n<thead><tr>");
    for (i, field) in schema.fields().iter().enumerate() {
        let _ = write!(
            text,
            "<th{}>{}</th>",
            class(i),
            Cell::Html.escape(field.name())
        );
    }
    text.push_str("</tr></thead>\n<tbody>\n");
    let mut rows = 0;
    let options = FormatOptions::default().with_null("");
    for_each_row(batches, &options, Cell::Html, |cells| {
        text.push_str("<tr>");
        for (i, cell) in cells.iter().enumerate() {
            let _ = write!(text, "<td{}>{cell}</td>", class(i));
        }
        text.push_str("</tr>\n");
        rows += 1;
        Ok(())
    })?;
    text.push_str("</tbody></table></div>");
    out.push_str(&text);
    out.push('\n');
    Ok(rows)
}

/// The filters other than the dates, in words.
fn filters(params: &ReportParams) -> String {
    let mut set = Vec::new();
    if let Some(c) = &params.currency {
        set.push(format!("currency {c}"));
    }
    if let Some(c) = &params.country {
        set.push(format!("country {c}"));
    }
    if let Some(u) = &params.user {
        set.push(format!("user {u}"));
    }
    if let Some(n) = params.limit {
        set.push(format!("at most {n} rows"));
    }
    if set.is_empty() {
        "none".to_owned()
    } else {
        set.join(", ")
    }
}

/// Text as HTML: `& < > " '` escaped, so a value can never become markup.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Decimal128Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn charges(countries: &[&str]) -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("country", DataType::Utf8, true),
            Field::new("currency", DataType::Utf8, true),
            Field::new("charge", DataType::Decimal128(18, 6), true),
        ]));
        let n = countries.len();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(countries.iter().copied())),
                Arc::new(StringArray::from_iter_values(std::iter::repeat_n("USD", n))),
                Arc::new(
                    Decimal128Array::from_iter_values((0..n as i128).map(|i| 1_705_001 + i))
                        .with_precision_and_scale(18, 6)
                        .unwrap(),
                ),
            ],
        )
        .unwrap();
        (schema, vec![batch])
    }

    fn page(result: Result<(SchemaRef, Vec<RecordBatch>)>) -> String {
        let report = crate::report("charges-by-country").unwrap();
        let day = |s: &str| s.parse().ok();
        let params = ReportParams {
            from: day("2026-11-01"),
            to: day("2026-11-30"),
            ..ReportParams::default()
        };
        let generated = DateTime::parse_from_rfc3339("2026-12-01T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut page = HtmlPage::new("s3://finance-lake/teams", &params).with_generated(generated);
        page.push(&report, result);
        page.render()
    }

    #[test]
    fn cells_are_escaped_and_exact() {
        let html = page(Ok(charges(&["<script>alert(1)</script>", "A&B", "CH"])));
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("<td>A&amp;B</td>"));
        // The exact decimal, right-aligned; the chart has its currency on the axis.
        assert!(html.contains("<td class=\"num\">1.705001</td>"), "{html}");
        assert!(html.contains("<th class=\"num\">charge</th>"));
        assert!(html.contains("charge (USD)"));
        assert!(html.contains("<p class=\"rows\">3 rows</p>"));
    }

    #[test]
    fn the_page_names_its_lake_range_and_time_and_loads_nothing() {
        let html = page(Ok(charges(&["CH"])));
        for text in [
            "<dt>Lake</dt><dd>s3://finance-lake/teams</dd>",
            "<dt>Days (UTC)</dt><dd>2026-11-01 to 2026-11-30</dd>",
            "<dt>Filters</dt><dd>none</dd>",
            "<dt>Generated</dt><dd>2026-12-01 06:00:00 UTC</dd>",
            "<section id=\"charges-by-country\">",
            "<h2>Charges by country</h2>",
            "<a href=\"#charges-by-country\">",
            "<svg ",
            "Charges by country, 2026-11-01 to 2026-11-30",
        ] {
            assert!(html.contains(text), "{text} missing from\n{html}");
        }
        for external in [
            "http://", "https://", "<script", "src=", "<link", "@import", "url(",
        ] {
            assert!(!html.contains(external), "{external} in\n{html}");
        }
        let hrefs: Vec<&str> = html.split("href=\"").skip(1).collect();
        assert!(!hrefs.is_empty() && hrefs.iter().all(|h| h.starts_with('#')));
    }

    #[test]
    fn a_failed_report_shows_its_error_in_its_section() {
        let err = Error::ReadOnly {
            what: "<b>DDL</b>".into(),
        };
        let html = page(Err(err));
        assert!(html.contains("<p class=\"error\">This report failed: only queries"));
        assert!(html.contains("&lt;b&gt;DDL&lt;/b&gt;") && !html.contains("<b>"));
        assert!(html.trim_end().ends_with("</html>"));
    }

    #[test]
    fn empty_results_have_a_header_and_an_empty_chart() {
        let (schema, _) = charges(&[]);
        let html = page(Ok((schema, vec![])));
        assert!(html.contains("<th>country</th>"));
        assert!(html.contains("no data for this range"));
        assert!(html.contains("<p class=\"rows\">0 rows</p>"));
    }

    #[test]
    fn filters_apply_only_where_a_report_takes_them() {
        let mut report = crate::report("charges-by-country").unwrap();
        report.params = vec![Param::From, Param::To, Param::Currency];
        let params = ReportParams {
            currency: Some("EUR".into()),
            user: Some("anna@contoso.com".into()),
            ..ReportParams::default()
        };
        let (kept, ignored) = applicable_params(&report, &params);
        assert_eq!(kept.currency.as_deref(), Some("EUR"));
        assert_eq!(kept.user, None);
        assert_eq!(ignored, vec![Param::User]);
        let mut page = HtmlPage::new("./lake", &params);
        page.push(&report, Ok(charges(&["DE"])));
        let html = page.render();
        assert!(html.contains("<dd>currency EUR, user anna@contoso.com</dd>"));
        assert!(html.contains("Not filtered by --user: this report does not take it."));
    }

    use crate::format::tests::hostile_text;
    use crate::python::{Html, html_events};
    use datafusion::arrow::array::Int64Array;
    use proptest::prelude::*;

    /// The tags of a parse (start tags with their attributes, end tags) and the text of each
    /// `th`/`td` cell; an error for text outside the cells other than line breaks, or for
    /// anything else (a comment, a declaration).
    fn tags_and_cells(events: &[Html]) -> Result<(Vec<Html>, Vec<String>), String> {
        let (mut tags, mut cells) = (Vec::new(), Vec::new());
        let mut cell: Option<String> = None;
        for event in events {
            match event {
                Html::Start { tag, .. } => {
                    if tag == "th" || tag == "td" {
                        cell = Some(String::new());
                    }
                    tags.push(event.clone());
                }
                Html::End { tag } => {
                    if tag == "th" || tag == "td" {
                        cells.push(cell.take().ok_or("a cell ends that did not start")?);
                    }
                    tags.push(event.clone());
                }
                Html::Text { text } => match &mut cell {
                    Some(cell) => cell.push_str(text),
                    None if text.trim_matches('\n').is_empty() => {}
                    None => return Err(format!("text outside a cell: {text:?}")),
                },
                Html::Other { text } => return Err(format!("not from the page: {text:?}")),
            }
        }
        Ok((tags, cells))
    }

    fn start(tag: &str, class: Option<&str>) -> Html {
        Html::Start {
            tag: tag.into(),
            attrs: class
                .map(|c| vec![("class".to_owned(), Some(c.to_owned()))])
                .unwrap_or_default(),
        }
    }

    fn end(tag: &str) -> Html {
        Html::End { tag: tag.into() }
    }

    /// A result's column names and rows.
    type NamesAndRows = (Vec<String>, Vec<(Option<String>, Option<i64>)>);

    /// A result with a text and a number column, arbitrary names and values.
    fn result() -> impl Strategy<Value = NamesAndRows> {
        (
            proptest::collection::vec(hostile_text(), 2),
            proptest::collection::vec(
                (
                    proptest::option::of(hostile_text()),
                    proptest::option::of(any::<i64>()),
                ),
                0..6,
            ),
        )
    }

    fn config(cases: u32) -> proptest::test_runner::Config {
        proptest::test_runner::Config {
            cases,
            failure_persistence: None,
            ..Default::default()
        }
    }

    proptest! {
        #![proptest_config(config(64))]

        /// Arbitrary column names and cells in a report's HTML table, read back by Python's
        /// `html.parser`: each cell's text is the value exactly, and the tags are the table's own
        /// (no value adds an element or an attribute, or ends one).
        #[test]
        fn prop_html_table_cells_round_trip_through_pythons_parser(
            results in proptest::collection::vec(result(), 1..16),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut paths = Vec::new();
            for (i, (names, rows)) in results.iter().enumerate() {
                let schema = Arc::new(Schema::new(vec![
                    Field::new(&names[0], DataType::Utf8, true),
                    Field::new(&names[1], DataType::Int64, true),
                ]));
                let batch = RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(rows.iter().map(|r| r.0.clone()).collect::<StringArray>()),
                        Arc::new(rows.iter().map(|r| r.1).collect::<Int64Array>()),
                    ],
                )
                .unwrap();
                let mut html = String::new();
                table(&mut html, &schema, &[batch]).unwrap();
                let path = dir.path().join(format!("{i}.html"));
                std::fs::write(&path, html).unwrap();
                paths.push(path);
            }
            let parsed = html_events(&paths.iter().map(|p| p.as_path()).collect::<Vec<_>>());
            for ((names, rows), events) in results.iter().zip(&parsed) {
                let (tags, cells) = tags_and_cells(events).map_err(TestCaseError::fail)?;
                let mut want_tags = vec![start("div", Some("table")), start("table", None), start("thead", None)];
                let mut want_cells = names.clone();
                let row = |cell: &str| {
                    vec![start("tr", None), start(cell, None), end(cell), start(cell, Some("num")), end(cell), end("tr")]
                };
                want_tags.extend(row("th"));
                want_tags.extend([end("thead"), start("tbody", None)]);
                for (text, n) in rows {
                    want_tags.extend(row("td"));
                    want_cells.push(text.clone().unwrap_or_default());
                    want_cells.push(n.map(|n| n.to_string()).unwrap_or_default());
                }
                want_tags.extend([end("tbody"), end("table"), end("div")]);
                prop_assert_eq!(tags, want_tags);
                prop_assert_eq!(cells, want_cells);
            }
        }
    }

    proptest! {
        #![proptest_config(config(256))]

        /// Arbitrary text in the rest of the page (the lake's name, the filters, a report's
        /// error) reads back through Python's `html.parser` as that text, and the page has the
        /// same tags as a page with plain text in those places.
        #[test]
        fn prop_html_page_text_round_trips_through_pythons_parser(
            lake in hostile_text(),
            currency in proptest::option::of(hostile_text()),
            country in proptest::option::of(hostile_text()),
            user in proptest::option::of(hostile_text()),
            what in hostile_text(),
        ) {
            let report = crate::report("charges-by-country").unwrap();
            let generated = DateTime::parse_from_rfc3339("2026-12-01T06:00:00Z")
                .unwrap()
                .with_timezone(&Utc);
            let render = |lake: &str, params: &ReportParams, what: &str| {
                let mut page = HtmlPage::new(lake, params).with_generated(generated);
                page.push(&report, Err(Error::ReadOnly { what: what.to_owned() }));
                page.render()
            };
            let params = ReportParams {
                currency: currency.clone(),
                country: country.clone(),
                user: user.clone(),
                ..ReportParams::default()
            };
            let x = |s: &Option<String>| s.as_ref().map(|_| "x".to_owned());
            let plain = ReportParams {
                currency: x(&currency),
                country: x(&country),
                user: x(&user),
                ..ReportParams::default()
            };
            let dir = tempfile::tempdir().unwrap();
            let (hostile, neutral) = (dir.path().join("hostile.html"), dir.path().join("plain.html"));
            std::fs::write(&hostile, render(&lake, &params, &what)).unwrap();
            std::fs::write(&neutral, render("x", &plain, "x")).unwrap();
            let parsed = html_events(&[hostile.as_path(), neutral.as_path()]);
            let tags = |events: &[Html]| -> Vec<Html> {
                events.iter().filter(|e| matches!(e, Html::Start { .. } | Html::End { .. })).cloned().collect()
            };
            prop_assert_eq!(tags(&parsed[0]), tags(&parsed[1]));
            // The text right after a start tag, for the `n`th start tag of `tag` with `class`.
            let text_in = |tag: &str, class: Option<&str>, n: usize| -> Option<String> {
                let at = parsed[0]
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| **e == start(tag, class))
                    .nth(n)?
                    .0;
                match parsed[0].get(at + 1) {
                    Some(Html::Text { text }) => Some(text.clone()),
                    _ => Some(String::new()),
                }
            };
            prop_assert_eq!(text_in("dd", None, 0), Some(lake.clone()));
            prop_assert_eq!(text_in("dd", None, 2), Some(filters(&params)));
            let error = Error::ReadOnly { what: what.clone() };
            prop_assert_eq!(
                text_in("p", Some("error"), 0),
                Some(format!("This report failed: {error}"))
            );
        }
    }
}
