//! Laying out and drawing a [`Chart`] with plotters: panels in a grid, a category x axis whose
//! labels stand upright when they do not fit, y ticks without float noise.

use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::FontTransform;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Chart, DEFAULT_WIDTH, PANEL_HEIGHT, Panel};
use crate::{ChartKind, Error, Result};

/// The height of a panel when panels share the width (two or three columns).
pub(super) const GRID_PANEL_HEIGHT: u32 = 340;
pub(super) const TITLE_HEIGHT: u32 = 40;
const FONT: &str = "sans-serif";
const FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The longest x label drawn; longer ones end in `…`.
const MAX_LABEL_CHARS: usize = 28;
const COLORS: [RGBColor; 6] = [
    RGBColor(45, 106, 163),
    RGBColor(214, 110, 30),
    RGBColor(46, 139, 87),
    RGBColor(170, 51, 119),
    RGBColor(120, 94, 60),
    RGBColor(90, 90, 90),
];

/// The panel grid's columns and the default size for `panels`: 960 wide; 420 high per panel
/// stacked, 340 per row side by side; taller when long bar labels stand upright.
pub(super) fn layout(kind: ChartKind, panels: &[Panel]) -> (usize, (u32, u32)) {
    let bars = match kind {
        ChartKind::Bar => panels.iter().map(|p| p.labels.len()).max().unwrap_or(0),
        ChartKind::Line => 0,
    };
    let (rows, columns) = grid(panels.len(), bars);
    let panel_height = if columns == 1 {
        PANEL_HEIGHT
    } else {
        GRID_PANEL_HEIGHT
    };
    // Upright bar labels take room from the plot: make the panels taller by about their length.
    let upright = match kind {
        ChartKind::Bar => panels
            .iter()
            .map(|p| upright_room(&p.labels, DEFAULT_WIDTH / columns as u32))
            .max(),
        ChartKind::Line => None,
    };
    let height = TITLE_HEIGHT + (panel_height + upright.unwrap_or(0)) * rows as u32;
    (columns, (DEFAULT_WIDTH, height))
}

/// Draws `chart` as an SVG document.
pub(super) fn svg(chart: &Chart) -> Result<String> {
    register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, chart.size).into_drawing_area();
        chart.draw(&root).map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// Draws `chart` into an RGB bitmap and encodes it as PNG.
pub(super) fn png(chart: &Chart) -> Result<Vec<u8>> {
    register_font();
    let (width, height) = chart.size;
    let mut pixels = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, chart.size).into_drawing_area();
        chart.draw(&root).map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(png)
}

impl Chart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<(), DB> {
        root.fill(&WHITE)?;
        let body = root.titled(&self.title, (FONT, 24).into_font())?;
        let areas = body.split_evenly((self.panels.len().div_ceil(self.columns), self.columns));
        for (i, (area, panel)) in areas.iter().zip(&self.panels).enumerate() {
            self.draw_panel(area, panel, COLORS[i % COLORS.len()])?;
        }
        Ok(())
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        panel: &Panel,
        color: RGBColor,
    ) -> DrawResult<(), DB> {
        let n = panel.labels.len();
        let labels: Vec<String> = panel.labels.iter().map(|l| shorten(l)).collect();
        let label_font: TextStyle = (FONT, 14).into();
        let widest = labels
            .iter()
            .map(|l| area.estimate_text_size(l, &label_font).map(|(w, _)| w))
            .try_fold(0u32, |acc, w| w.map(|w| acc.max(w)))?;
        let plot_width = area.dim_in_pixel().0.saturating_sub(120).max(1);
        let slot = plot_width / n.max(1) as u32;
        // Bars fill most of their slot, but no more than 56 pixels wide.
        let half = 0.38f64.min(28.0 / f64::from(slot.max(1)));
        // Bars need every label: turn them upright when they do not fit side by side. Lines
        // (days, months) keep them flat and label every k-th point.
        let rotate = self.kind == ChartKind::Bar && widest + 8 > slot;
        // Label every bar when the labels fit (upright, about 14 pixels each, when needed), else
        // every k-th (a small --chart size); lines label every k-th point that fits flat.
        let step = match self.kind {
            ChartKind::Bar if rotate => 14u32.div_ceil(slot.max(1)) as usize,
            ChartKind::Bar => 1,
            ChartKind::Line => ((widest + 16) / slot.max(1) + 1) as usize,
        };
        let key_points: Vec<f64> = (0..n).step_by(step).map(|i| i as f64).collect();
        let x_area = if rotate { widest + 16 } else { 30 };

        let mut caption = Vec::new();
        if let Some(split) = &panel.split {
            caption.push(split.clone());
        }
        if panel.rows > n {
            caption.push(match self.kind {
                ChartKind::Bar => format!("showing the first {n} of {} rows", panel.rows),
                ChartKind::Line => {
                    format!("showing the last {n} of {} rows (the newest)", panel.rows)
                }
            });
        }
        let (low, high) = y_range(&panel.values);
        let mut builder = ChartBuilder::on(area);
        builder
            .margin(12)
            .x_label_area_size(x_area + 20)
            .y_label_area_size(80);
        if !caption.is_empty() {
            builder.caption(caption.join(": "), (FONT, 18));
        }
        let x_range = Categories {
            n: n.max(1),
            ticks: key_points,
        };
        let mut chart = builder.build_cartesian_2d(x_range, low..high)?;
        // plotters centres x labels on their tick before turning them, so upright labels would
        // stick up into the plot: they are drawn below, starting at the axis.
        let x_label = |x: &f64| {
            let i = x.round();
            if !rotate && i >= 0.0 && (i as usize) < n {
                labels[i as usize].clone()
            } else {
                String::new()
            }
        };
        let y_label = |y: &f64| tick_label(*y, high - low);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .x_label_style(label_font.clone())
            .y_label_style(label_font.clone())
            .x_desc(self.x_desc.as_str())
            .y_desc(panel.y_desc.as_str())
            .axis_desc_style((FONT, 16))
            .max_light_lines(0)
            .bold_line_style(RGBColor(225, 225, 225))
            .draw()?;

        if rotate {
            let (left, top) = area.get_base_pixel();
            let upright = label_font
                .transform(FontTransform::Rotate90)
                .pos(Pos::new(HPos::Left, VPos::Center));
            for (i, label) in labels.iter().enumerate() {
                let (x, y) = chart.backend_coord(&(i as f64, low));
                area.draw(&Text::new(
                    label.as_str(),
                    (x - left, y - top + 8),
                    &upright,
                ))?;
            }
        }

        let points = panel
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i as f64, v)));
        match self.kind {
            ChartKind::Bar => {
                chart.draw_series(points.map(|(x, y)| {
                    Rectangle::new([(x - half, 0.0), (x + half, y)], color.filled())
                }))?;
            }
            ChartKind::Line => {
                chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
                chart.draw_series(points.map(|p| Circle::new(p, 3, color.filled())))?;
            }
        }
        if n == 0 {
            let (w, h) = area.dim_in_pixel();
            area.draw(&Text::new(
                "no data for this range",
                (w as i32 / 2, h as i32 / 2),
                (FONT, 20)
                    .into_font()
                    .color(&RGBColor(110, 110, 110))
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
        }
        Ok(())
    }
}

/// The x axis: `n` evenly spaced categories at 0, 1, … `n - 1`, labelled at `ticks` only.
struct Categories {
    n: usize,
    ticks: Vec<f64>,
}

impl Ranged for Categories {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, (start, end): (i32, i32)) -> i32 {
        let share = (value + 0.5) / self.n as f64;
        start + (share * f64::from(end - start)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        -0.5..self.n as f64 - 0.5
    }
}

type DrawResult<T, DB> =
    std::result::Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_error<E: std::error::Error + Send + Sync + 'static>(e: DrawingAreaErrorKind<E>) -> Error {
    Error::Draw(Box::new(e))
}

/// Makes the embedded font the one plotters measures and rasterises `sans-serif` with.
fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        if plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_err() {
            unreachable!("the embedded DejaVu Sans is a valid TrueType font");
        }
    });
}

/// The y axis: from 0 (or the lowest value, when negative) to the highest, with headroom.
fn y_range(values: &[Option<f64>]) -> (f64, f64) {
    let (low, high) = values
        .iter()
        .flatten()
        .fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    if high - low <= f64::EPSILON {
        return (low, low + 1.0);
    }
    let pad = (high - low) * 0.08;
    (if low < 0.0 { low - pad } else { low }, high + pad)
}

/// A y tick label without float noise: at most as many decimals as the axis span calls for,
/// trailing zeros dropped (`0.25`, `12`, `15000`).
fn tick_label(value: f64, span: f64) -> String {
    let decimals = (3 - span.abs().max(1e-9).log10().floor() as i32).clamp(0, 6) as usize;
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    match text {
        "-0" => "0".to_owned(),
        _ => text.to_owned(),
    }
}

/// Rows and columns of panels: stacked for one or two, then two columns, then three, as long as
/// `bars` bars (and their upright labels, about 14 pixels each) fit side by side in a panel.
fn grid(panels: usize, bars: usize) -> (usize, usize) {
    let most = match panels {
        0..=2 => 1,
        3..=4 => 2,
        _ => 3,
    };
    let fits = |columns: u32| (DEFAULT_WIDTH / columns).saturating_sub(120) >= 14 * bars as u32;
    let columns = (1..=most).rev().find(|&c| fits(c as u32)).unwrap_or(1);
    (panels.div_ceil(columns).max(1), columns)
}

/// Roughly the height bar labels need when they do not fit side by side at the default width
/// and stand upright (about 7 pixels a character); 0 when they fit.
fn upright_room(labels: &[String], width: u32) -> u32 {
    let chars = || {
        labels
            .iter()
            .map(|l| l.chars().count().min(MAX_LABEL_CHARS) as u32)
    };
    let side_by_side: u32 = chars().map(|c| c * 7 + 8).sum();
    if side_by_side > width.saturating_sub(120) {
        chars().max().unwrap_or(0) * 7
    } else {
        0
    }
}

/// A label cut to `MAX_LABEL_CHARS` characters, ending in `…` when cut.
fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        label.to_owned()
    } else {
        let mut short: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_labels_and_grids() {
        assert_eq!(tick_label(0.25, 3.3), "0.25");
        assert_eq!(tick_label(15000.0, 20000.0), "15000");
        assert_eq!(tick_label(-0.0001, 3.0), "0");
        assert_eq!(tick_label(0.1 + 0.2, 1.0), "0.3");
        assert_eq!(tick_label(2.0, 3.0), "2");
        assert_eq!(shorten(&"x".repeat(40)).chars().count(), MAX_LABEL_CHARS);
        assert_eq!(grid(1, 25), (1, 1));
        assert_eq!(grid(3, 2), (2, 2), "three small panels: two columns");
        assert_eq!(grid(9, 3), (3, 3));
        assert_eq!(
            grid(9, 25),
            (5, 2),
            "25 upright labels fit in half the width"
        );
        assert_eq!(grid(9, 30), (9, 1), "30 need all of it");
        let (low, high) = y_range(&[Some(2.0), None, Some(-1.0)]);
        assert!(
            low < -1.0 && high > 2.0,
            "headroom on both sides: {low}..{high}"
        );
        assert_eq!(y_range(&[]), (0.0, 1.0));
    }
}
