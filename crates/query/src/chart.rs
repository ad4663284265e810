//! Drawing a report as a bar or line chart (SVG or PNG) from its `-- Chart:` line.
//!
//! Numbers become `f64` here only to place pixels: the tables printed next to a chart keep their
//! exact Arrow values. Text is measured, and drawn into PNGs, with DejaVu Sans embedded in the
//! binary, so no system font (or fontconfig) is needed. This file takes the data out of a report
//! result; `draw` lays it out and draws it with plotters.

mod draw;

use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::{ChartKind, ChartSpec, Error, Report, ReportParams, Result};

/// At most this many bars per panel; a longer result shows its first rows and says so.
pub const MAX_BARS: usize = 25;
/// At most this many points per line (more than a year of days); a longer result shows its last
/// (newest) rows and says so.
pub const MAX_POINTS: usize = 400;

/// At most this many panels (values of the split column, such as currencies); the chart draws
/// the first ones and its title says how many it left out.
pub const MAX_PANELS: usize = 8;

/// The default width of a chart, in pixels.
pub const DEFAULT_WIDTH: u32 = 960;
/// The default height of a panel (one per currency with `split=currency`), in pixels, when the
/// panels are stacked rather than side by side.
pub const PANEL_HEIGHT: u32 = 420;

/// The label of a null or empty x value.
const NULL_LABEL: &str = "(none)";

/// The file format of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFormat {
    /// Scalable vector graphics (text stays text).
    Svg,
    /// A PNG bitmap.
    Png,
}

impl ChartFormat {
    /// The format a file name asks for: `.svg` or `.png` (any case); anything else is an error.
    pub fn from_path(path: &Path) -> Result<ChartFormat> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("svg") => Ok(ChartFormat::Svg),
            Some("png") => Ok(ChartFormat::Png),
            _ => Err(Error::ChartFormat {
                path: PathBuf::from(path),
            }),
        }
    }
}

/// The chart of `report`, or an error naming the report when its SQL has no `-- Chart:` line.
pub fn chart_spec(report: &Report) -> Result<&ChartSpec> {
    report.chart.as_ref().ok_or_else(|| Error::NoChart {
        report: report.name.to_owned(),
        with_charts: crate::reports()
            .iter()
            .filter(|r| r.chart.is_some())
            .map(|r| r.name)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// A chart title: the report's short description (before its first `:`) and the date range.
pub fn chart_title(report: &Report, params: &ReportParams) -> String {
    format!("{}, {}", short_title(report), date_range(params))
}

/// The part of a report's description before its first `:` (`Charges by country`), or its name.
pub(crate) fn short_title(report: &Report) -> &str {
    report
        .description
        .split(':')
        .next()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(report.name)
}

/// The date range of `params` in words: `2026-11-01 to 2026-11-30`, `from 2026-11-01`, `all days`.
pub fn date_range(params: &ReportParams) -> String {
    match (params.from, params.to) {
        (Some(from), Some(to)) if from == to => format!("{from}"),
        (Some(from), Some(to)) => format!("{from} to {to}"),
        (Some(from), None) => format!("from {from}"),
        (None, Some(to)) => format!("until {to}"),
        (None, None) => "all days".to_owned(),
    }
}

/// Draws a report result as SVG, at the default size.
pub fn render_chart(
    spec: &ChartSpec,
    title: &str,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<String> {
    Chart::new(spec, title, schema, batches)?.to_svg()
}

/// A report result ready to draw: one panel per value of the spec's `split` column (one panel
/// without it), each holding the `x` labels and `y` values in result order.
#[derive(Debug, Clone)]
pub struct Chart {
    kind: ChartKind,
    title: String,
    x_desc: String,
    panels: Vec<Panel>,
    columns: usize,
    size: (u32, u32),
}

#[derive(Debug, Clone)]
struct Panel {
    /// The split column's value (`USD`).
    split: Option<String>,
    y_desc: String,
    labels: Vec<String>,
    values: Vec<Option<f64>>,
    /// Rows in the result for this panel, drawn or not.
    rows: usize,
}

impl Chart {
    /// Takes the spec's columns out of a report result. Fails when a column is missing or `y` is
    /// not a number; an empty result is a chart that says there is no data.
    pub fn new(
        spec: &ChartSpec,
        title: &str,
        schema: &SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<Chart> {
        let column = |role: &'static str, name: &str| {
            schema.index_of(name).map_err(|_| Error::ChartColumn {
                role,
                column: name.to_owned(),
                available: schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        };
        let x = column("x", &spec.x)?;
        let y = column("y", &spec.y)?;
        let split = spec
            .split
            .as_deref()
            .map(|name| column("split", name))
            .transpose()?;
        let y_type = schema.field(y).data_type();
        if !y_type.is_numeric() {
            return Err(Error::ChartValue {
                column: spec.y.clone(),
                data_type: y_type.clone(),
            });
        }
        let max = match spec.kind {
            ChartKind::Bar => MAX_BARS,
            ChartKind::Line => MAX_POINTS,
        };
        let y_desc = |split: Option<&str>| match (split, &spec.unit) {
            (Some(value), _) => format!("{} ({value})", spec.y),
            // `calls (calls)` says nothing more than `calls`.
            (None, Some(unit)) if *unit != spec.y => format!("{} ({unit})", spec.y),
            (None, _) => spec.y.clone(),
        };
        let options = FormatOptions::default().with_null(NULL_LABEL);
        let mut panels: Vec<Panel> = Vec::new();
        // Split values past MAX_PANELS: not drawn, only counted.
        let mut left_out: std::collections::HashSet<String> = Default::default();
        for batch in batches {
            let xs = ArrayFormatter::try_new(batch.column(x).as_ref(), &options)?;
            // For drawing only: pixels, never printed numbers.
            let ys = cast(batch.column(y), &DataType::Float64)?;
            let ys = ys.as_primitive::<Float64Type>();
            let splits = split
                .map(|s| ArrayFormatter::try_new(batch.column(s).as_ref(), &options))
                .transpose()?;
            for row in 0..batch.num_rows() {
                let key = splits.as_ref().map(|s| s.value(row).to_string());
                let index = match panels.iter().position(|p| p.split == key) {
                    Some(i) => i,
                    None if panels.len() == MAX_PANELS => {
                        left_out.insert(key.unwrap_or_default());
                        continue;
                    }
                    None => {
                        panels.push(Panel {
                            y_desc: y_desc(key.as_deref()),
                            split: key,
                            labels: Vec::new(),
                            values: Vec::new(),
                            rows: 0,
                        });
                        panels.len() - 1
                    }
                };
                let panel = &mut panels[index];
                panel.rows += 1;
                // Bars keep the first (largest) rows; lines, in time order, keep the newest.
                if spec.kind == ChartKind::Line || panel.labels.len() < max {
                    let label = xs.value(row).to_string();
                    panel.labels.push(if label.is_empty() {
                        NULL_LABEL.to_owned()
                    } else {
                        label
                    });
                    panel.values.push(
                        ys.is_valid(row)
                            .then(|| ys.value(row))
                            .filter(|v| v.is_finite()),
                    );
                }
            }
        }
        for panel in &mut panels {
            let extra = panel.labels.len().saturating_sub(max);
            panel.labels.drain(..extra);
            panel.values.drain(..extra);
        }
        if panels.is_empty() {
            panels.push(Panel {
                split: None,
                y_desc: y_desc(None),
                labels: Vec::new(),
                values: Vec::new(),
                rows: 0,
            });
        }
        let (columns, size) = draw::layout(spec.kind, &panels);
        let title = match (&spec.split, left_out.len()) {
            (Some(split), n) if n > 0 => format!(
                "{title} (the first {MAX_PANELS} of {} {split} values; the others are in the table)",
                MAX_PANELS + n
            ),
            _ => title.to_owned(),
        };
        Ok(Chart {
            kind: spec.kind,
            title,
            x_desc: spec.x.clone(),
            panels,
            columns,
            size,
        })
    }

    /// Draws at `width` × `height` pixels instead of the default: 960 wide, 420 high per panel
    /// stacked, 340 per row of panels side by side (three or more panels), more when long bar
    /// labels stand upright.
    pub fn with_size(mut self, width: u32, height: u32) -> Chart {
        self.size = (width.max(1), height.max(1));
        self
    }

    /// The size in pixels, `(width, height)`.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// The number of panels (one per value of the split column).
    pub fn panels(&self) -> usize {
        self.panels.len()
    }

    /// The chart as an SVG document.
    pub fn to_svg(&self) -> Result<String> {
        draw::svg(self)
    }

    /// The chart as a PNG file (8-bit RGB).
    pub fn to_png(&self) -> Result<Vec<u8>> {
        draw::png(self)
    }

    /// The chart as the bytes of a `format` file.
    pub fn encode(&self, format: ChartFormat) -> Result<Vec<u8>> {
        match format {
            ChartFormat::Svg => Ok(self.to_svg()?.into_bytes()),
            ChartFormat::Png => self.to_png(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Decimal128Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    fn spec(
        kind: ChartKind,
        x: &str,
        y: &str,
        unit: Option<&str>,
        split: Option<&str>,
    ) -> ChartSpec {
        ChartSpec {
            kind,
            x: x.into(),
            y: y.into(),
            unit: unit.map(Into::into),
            split: split.map(Into::into),
        }
    }

    /// charges-by-country's shape: country, currency, charge (Decimal128(18, 6)).
    fn charges(rows: &[(&str, &str, i128)]) -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("country", DataType::Utf8, true),
            Field::new("currency", DataType::Utf8, true),
            Field::new("charge", DataType::Decimal128(18, 6), true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(
                    Decimal128Array::from_iter_values(rows.iter().map(|r| r.2))
                        .with_precision_and_scale(18, 6)
                        .unwrap(),
                ),
            ],
        )
        .unwrap();
        (schema, vec![batch])
    }

    /// The text elements of an SVG, trimmed.
    fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim()))
            .collect()
    }

    fn counts(name: &str, n: usize) -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new(name, DataType::Utf8, true),
            Field::new("calls", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("label-{i:03}")),
                )),
                Arc::new(Int64Array::from_iter_values((0..n as i64).rev())),
            ],
        )
        .unwrap();
        (schema, vec![batch])
    }

    /// A result with thousands of made-up currencies (hostile data) draws MAX_PANELS panels, and
    /// the title says how many values it left out.
    #[test]
    fn panels_are_capped_and_the_title_says_so() {
        let codes: Vec<String> = (0..3000).map(|i| format!("X{i:04}")).collect();
        let rows: Vec<(&str, &str, i128)> = codes.iter().map(|c| ("DE", c.as_str(), 1)).collect();
        let (schema, batches) = charges(&rows);
        let spec = spec(ChartKind::Bar, "country", "charge", None, Some("currency"));
        let chart = Chart::new(&spec, "Charges", &schema, &batches).unwrap();
        assert_eq!(chart.panels(), MAX_PANELS);
        let (_, height) = chart.size();
        assert!(height < 4000, "{height} pixels high");
        let svg = chart.to_svg().unwrap();
        let drawn = texts(&svg);
        assert!(
            drawn.iter().any(|t| t.contains(
                "Charges (the first 8 of 3000 currency values; the others are in the table)"
            )),
            "{drawn:?}"
        );
        assert!(drawn.contains(&"charge (X0007)"), "{drawn:?}");
        assert!(!drawn.contains(&"charge (X0008)"), "{drawn:?}");
        // At the cap, nothing is left out and the title is as given.
        let (schema, batches) = charges(&rows[..MAX_PANELS]);
        let chart = Chart::new(&spec, "Charges", &schema, &batches).unwrap();
        assert_eq!(chart.panels(), MAX_PANELS);
        assert!(texts(&chart.to_svg().unwrap()).contains(&"Charges"));
    }

    #[test]
    fn split_by_currency_draws_one_axis_per_currency() {
        let (schema, batches) = charges(&[
            ("CH", "CHF", 1_705_000),
            ("CH", "EUR", 300_000),
            ("US", "USD", 3_000_000),
            ("DE", "EUR", 12_500_000),
        ]);
        let spec = spec(ChartKind::Bar, "country", "charge", None, Some("currency"));
        let chart = Chart::new(&spec, "Charges by country, all days", &schema, &batches).unwrap();
        assert_eq!(chart.panels(), 3, "CHF, EUR and USD");
        assert_eq!(
            chart.size(),
            (
                DEFAULT_WIDTH,
                draw::TITLE_HEIGHT + 2 * draw::GRID_PANEL_HEIGHT
            ),
            "two columns, two rows"
        );
        let svg = chart.to_svg().unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        let texts = texts(&svg);
        for text in [
            "Charges by country, all days",
            "charge (CHF)",
            "charge (EUR)",
            "charge (USD)",
            "country",
            "CH",
            "DE",
            "US",
        ] {
            assert!(texts.contains(&text), "{text} missing from {texts:?}");
        }
        // Money in different currencies never shares an axis.
        assert!(!texts.contains(&"charge"), "an axis without its currency");
        assert_eq!(
            texts.iter().filter(|t| t.starts_with("charge (")).count(),
            3
        );
    }

    #[test]
    fn unit_labels_the_y_axis_and_long_results_say_what_is_drawn() {
        let (schema, batches) = counts("user", 500);
        let spec = spec(ChartKind::Bar, "user", "calls", Some("per user"), None);
        let svg = render_chart(&spec, "Busiest users", &schema, &batches).unwrap();
        let texts = texts(&svg);
        assert!(texts.contains(&"calls (per user)"), "y axis with its unit");
        assert!(
            texts.contains(&"showing the first 25 of 500 rows"),
            "{texts:?}"
        );
        assert!(texts.contains(&"label-024") && !texts.contains(&"label-025"));
    }

    #[test]
    fn png_has_the_signature_and_the_requested_size() {
        let (schema, batches) = charges(&[("CH", "CHF", 1_705_000), ("US", "USD", 3_000_000)]);
        let spec = spec(ChartKind::Bar, "country", "charge", None, Some("currency"));
        let png = Chart::new(&spec, "Charges", &schema, &batches)
            .unwrap()
            .with_size(640, 700)
            .to_png()
            .unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR comes first: width and height as big-endian u32 after the chunk length and type.
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 640);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 700);
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut pixels).unwrap();
        assert!(
            pixels.chunks(3).any(|p| p == [45, 106, 163]),
            "the bars are drawn"
        );
    }

    #[test]
    fn line_charts_draw_one_point_and_empty_results() {
        let spec = spec(ChartKind::Line, "day", "calls", Some("calls"), None);
        let (schema, batches) = counts("day", 1);
        let svg = render_chart(&spec, "Calls per day", &schema, &batches).unwrap();
        assert!(texts(&svg).contains(&"label-000"), "{svg}");
        assert!(texts(&svg).contains(&"calls") && !svg.contains("calls (calls)"));
        assert!(svg.contains("<circle"), "the single point is drawn");

        let (schema, _) = counts("day", 0);
        for batches in [vec![], counts("day", 0).1] {
            let chart = Chart::new(&spec, "Calls per day", &schema, &batches).unwrap();
            assert!(chart.to_svg().unwrap().contains("no data for this range"));
            assert_eq!(&chart.to_png().unwrap()[..4], b"\x89PNG");
        }
        // Split charts with no rows still draw one (empty) panel.
        let (schema, _) = charges(&[]);
        let split = ChartSpec {
            split: Some("currency".into()),
            ..spec.clone()
        };
        let split = ChartSpec {
            x: "country".into(),
            y: "charge".into(),
            ..split
        };
        let svg = render_chart(&split, "Charges", &schema, &[]).unwrap();
        assert!(svg.contains("no data for this range"));
    }

    #[test]
    fn many_days_on_a_line_keep_every_point_and_thin_the_labels() {
        let (schema, batches) = counts("day", 90);
        let spec = spec(ChartKind::Line, "day", "calls", None, None);
        let svg = render_chart(&spec, "Calls per day", &schema, &batches).unwrap();
        assert_eq!(svg.matches("<circle").count(), 90);
        assert!(texts(&svg).contains(&"label-000") && !svg.contains("showing the first"));
        let labels = texts(&svg)
            .iter()
            .filter(|t| t.starts_with("label-"))
            .count();
        assert!(labels > 5 && labels < 45, "{labels} labels");
    }

    #[test]
    fn long_lines_keep_the_newest_points_and_say_so() {
        let (schema, batches) = counts("day", MAX_POINTS + 100);
        let spec = spec(ChartKind::Line, "day", "calls", None, None);
        let svg = render_chart(&spec, "Calls per day", &schema, &batches).unwrap();
        assert_eq!(svg.matches("<circle").count(), MAX_POINTS);
        let texts = texts(&svg);
        assert!(
            texts.contains(&"showing the last 400 of 500 rows (the newest)"),
            "{texts:?}"
        );
        assert!(
            texts.contains(&"label-100"),
            "the oldest kept point: {texts:?}"
        );
        assert!(
            !texts.contains(&"label-000"),
            "the oldest rows are left out"
        );
    }

    #[test]
    fn wrong_columns_and_formats_are_clear_errors() {
        let (schema, batches) = charges(&[("CH", "CHF", 1)]);
        let missing = spec(ChartKind::Bar, "nation", "charge", None, None);
        let err = render_chart(&missing, "t", &schema, &batches).unwrap_err();
        assert!(
            err.to_string().contains("`nation`")
                && err.to_string().contains("country, currency, charge"),
            "{err}"
        );
        let text = spec(ChartKind::Bar, "charge", "country", None, None);
        let err = render_chart(&text, "t", &schema, &batches).unwrap_err();
        assert!(err.to_string().contains("not a number"), "{err}");

        assert_eq!(
            ChartFormat::from_path(Path::new("a/b.SVG")).unwrap(),
            ChartFormat::Svg
        );
        assert_eq!(
            ChartFormat::from_path(Path::new("b.png")).unwrap(),
            ChartFormat::Png
        );
        for bad in ["b.jpg", "b", "svg"] {
            let err = ChartFormat::from_path(Path::new(bad)).unwrap_err();
            assert!(err.to_string().contains(".svg or .png"), "{err}");
        }
    }

    #[test]
    fn reports_without_a_chart_line_are_named() {
        let mut report = crate::report("charges-by-country").unwrap();
        assert!(chart_spec(&report).is_ok());
        report.chart = None;
        let err = chart_spec(&report).unwrap_err().to_string();
        assert!(
            err.contains("charges-by-country") && err.contains("-- Chart:"),
            "{err}"
        );
    }

    #[test]
    fn titles_name_the_report_and_its_days() {
        let report = crate::report("charges-by-country").unwrap();
        let day = |s: &str| s.parse().ok();
        let params = ReportParams {
            from: day("2026-11-01"),
            to: day("2026-11-30"),
            ..ReportParams::default()
        };
        assert_eq!(
            chart_title(&report, &params),
            "Charges by country, 2026-11-01 to 2026-11-30"
        );
        assert_eq!(date_range(&ReportParams::default()), "all days");
    }
}
