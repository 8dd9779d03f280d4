//! Small inline SVG charts for the HTML report, drawn by hand: a two-axis line chart, grouped
//! bars and horizontal bars. No scripts, fonts or images: text inherits the page's font, and
//! every chart carries a `<title>` and `<desc>` for screen readers.
//!
//! Missing values (`None`, e.g. weeks hidden for privacy) leave gaps, never zeros.

use std::fmt::Write as _;

/// Width of every chart in SVG units: a phone's column (about 340 px at 390 px wide), so 12-unit
/// text never shows below 11 px; the page caps charts at 440 px, so it never shows above 15 px.
const WIDTH: f64 = 360.0;
/// Height of the vertical charts.
const HEIGHT: f64 = 230.0;
/// Room around the plot: left (axis labels), right (second axis), top (legend), bottom (x labels).
const MARGIN: (f64, f64, f64, f64) = (60.0, 60.0, 40.0, 36.0);
/// Right margin of charts without a second axis.
const NARROW_RIGHT: f64 = 12.0;
/// Narrowest bar that has room for its value (`100 %`) above it.
const VALUE_BAR_WIDTH: f64 = 30.0;

/// One series of a chart.
pub(crate) struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// One value per x position; `None` for no data.
    pub values: Vec<Option<f64>>,
}

/// What every chart needs to be announced.
pub(crate) struct Chart<'a> {
    /// Unique id prefix for the `<title>`/`<desc>` references.
    pub id: &'a str,
    /// Short title, read first by screen readers.
    pub title: &'a str,
    /// The data in words, for readers who cannot see the chart.
    pub description: &'a str,
}

/// Escapes `& < > " '` for HTML and SVG text and attributes.
pub(crate) fn escape(text: &str) -> String {
    crate::text::escape_html(text).replace('\'', "&#39;")
}

/// A line chart with a count on the left axis and a percentage (0–1) on the right one.
pub(crate) fn line_chart(
    chart: &Chart,
    x_labels: &[String],
    axes: (&str, &str),
    left: &Series,
    right: &Series,
) -> String {
    let (left_margin, right_margin, top, bottom) = MARGIN;
    let plot =
        Plot { x: left_margin, y: top, width: WIDTH - left_margin - right_margin, height: HEIGHT - top - bottom };
    let left_max = nice_max(left.values.iter().flatten().copied().fold(0.0, f64::max));
    let mut svg = open(chart, WIDTH, HEIGHT);
    svg.push_str(&count_grid(&plot, left_max));
    svg.push_str(&percent_axis(&plot, plot.x + plot.width + 8.0, "start"));
    svg.push_str(&axis_titles(&plot, axes));
    svg.push_str(&x_axis(&plot, x_labels, |idx| point_x(&plot, idx, x_labels.len())));
    let left_points = points(&plot, &left.values, left_max);
    let right_points = points(&plot, &right.values, 1.0);
    svg.push_str(&polyline(&left_points, "series-a", ""));
    svg.push_str(&polyline(&right_points, "series-b", " stroke-dasharray=\"6 4\""));
    svg.push_str(&markers(&left_points, "series-a", Marker::Circle));
    svg.push_str(&markers(&right_points, "series-b", Marker::Square));
    svg.push_str(&legend(&[(left.name, "series-a"), (right.name, "series-b")]));
    svg.push_str("</svg>");
    svg
}

/// One bar of a horizontal bar chart.
pub(crate) struct Bar {
    /// What the bar stands for (a lesson).
    pub label: String,
    /// Its length, or `None` when the figure is hidden.
    pub value: Option<f64>,
    /// The value in words next to the bar, with its unit (`3 learners`), or why it is hidden.
    pub text: String,
}

/// Bars side by side per group, on a 0–100 % axis; values (with `%`) above bars wide enough.
pub(crate) fn grouped_bars(chart: &Chart, groups: &[String], y_title: &str, series: &[Series]) -> String {
    let (left_margin, _, top, bottom) = MARGIN;
    let plot =
        Plot { x: left_margin, y: top, width: WIDTH - left_margin - NARROW_RIGHT, height: HEIGHT - top - bottom };
    let mut svg = open(chart, WIDTH, HEIGHT);
    svg.push_str(&percent_axis(&plot, plot.x - 8.0, "end"));
    svg.push_str(&axis_titles(&plot, (y_title, "")));
    let slot = plot.width / groups.len().max(1) as f64;
    let bar_width = (slot * 0.7 / series.len().max(1) as f64).min(36.0);
    svg.push_str(&x_axis(&plot, groups, |idx| plot.x + slot * (idx as f64 + 0.5)));
    let show_values = bar_width >= VALUE_BAR_WIDTH;
    for (series_idx, one) in series.iter().enumerate() {
        let class = SERIES_CLASSES[series_idx % SERIES_CLASSES.len()];
        for (idx, value) in one.values.iter().enumerate() {
            let Some(value) = value else { continue };
            let offset = (series_idx as f64 - (series.len() as f64 - 1.0) / 2.0) * bar_width;
            let x = plot.x + slot * (idx as f64 + 0.5) + offset - bar_width / 2.0;
            let height = plot.height * value.clamp(0.0, 1.0);
            let y = plot.y + plot.height - height;
            let _ = write!(
                svg,
                r#"<rect class="{class}" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{height:.1}" rx="2"/>"#,
                bar_width - 2.0
            );
            if show_values {
                let _ = write!(
                    svg,
                    r#"<text class="value" x="{:.1}" y="{:.1}" text-anchor="middle">{:.0} %</text>"#,
                    x + bar_width / 2.0 - 1.0,
                    y - 4.0,
                    value * 100.0
                );
            }
        }
    }
    let legend_items: Vec<(&str, &str)> =
        series.iter().zip(SERIES_CLASSES.iter().cycle()).map(|(one, &class)| (one.name, class)).collect();
    svg.push_str(&legend(&legend_items));
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars, each under its label (so long lesson titles keep the chart narrow), scaled
/// so that `scale` fills the width (or the largest value, if larger); a hidden bar shows only its
/// text.
pub(crate) fn horizontal_bars(chart: &Chart, bars: &[Bar], scale: f64) -> String {
    let (row_height, top, text_room) = (40.0, 4.0, 92.0);
    let height = top * 2.0 + row_height * bars.len().max(1) as f64;
    let bar_space = WIDTH - text_room;
    let max = bars.iter().filter_map(|bar| bar.value).fold(scale, f64::max).max(1.0);
    let mut svg = open(chart, WIDTH, height);
    for (idx, bar) in bars.iter().enumerate() {
        let y = top + row_height * idx as f64;
        let label = escape(&super::format::one_line(&bar.label, 50));
        let _ = write!(svg, r#"<text class="label" x="0" y="{:.1}">{label}</text>"#, y + 14.0);
        let width = bar.value.map_or(0.0, |value| (bar_space * value / max).max(if value > 0.0 { 2.0 } else { 0.0 }));
        if bar.value.is_some() {
            let _ = write!(
                svg,
                r#"<rect class="series-b" x="0" y="{:.1}" width="{width:.1}" height="12" rx="2"/>"#,
                y + 20.0
            );
        }
        let class = if bar.value.is_some() { "value" } else { "muted" };
        let text_x = if width > 0.0 { width + 6.0 } else { 0.0 };
        let _ =
            write!(svg, r#"<text class="{class}" x="{text_x:.1}" y="{:.1}">{}</text>"#, y + 30.5, escape(&bar.text));
    }
    svg.push_str("</svg>");
    svg
}

/// Classes of the series colours, in order.
const SERIES_CLASSES: [&str; 2] = ["series-a", "series-b"];

/// The rectangle data is drawn in.
struct Plot {
    /// Left edge.
    x: f64,
    /// Top edge.
    y: f64,
    /// Width.
    width: f64,
    /// Height.
    height: f64,
}

/// Point markers: two shapes, so the series differ without colour too.
enum Marker {
    /// For the first series.
    Circle,
    /// For the second series.
    Square,
}

fn open(chart: &Chart, width: f64, height: f64) -> String {
    let id = escape(chart.id);
    format!(
        r#"<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(chart.title),
        escape(chart.description)
    )
}

/// An axis maximum with four whole, round steps (1, 2, 3, 4, 5, 6 or 8 × 10^k each) that
/// reaches `max`.
fn nice_max(max: f64) -> f64 {
    let step_needed = (max / 4.0).max(1.0);
    let magnitude = 10f64.powf(step_needed.log10().floor());
    let step = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|step| step * magnitude)
        .find(|&step| step >= step_needed)
        .unwrap_or(step_needed);
    step * 4.0
}

fn count_grid(plot: &Plot, max: f64) -> String {
    let mut svg = String::new();
    for tick in 0..=4 {
        let value = max * f64::from(tick) / 4.0;
        let y = grid_line(&mut svg, plot, tick);
        let _ = write!(
            svg,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            plot.x - 8.0,
            y + 4.0,
            trim_number(value)
        );
    }
    svg
}

/// Draws the grid line of `tick` (0 to 4, bottom to top); returns its height.
fn grid_line(svg: &mut String, plot: &Plot, tick: u32) -> f64 {
    let y = plot.y + plot.height - plot.height * f64::from(tick) / 4.0;
    let _ = write!(
        svg,
        r#"<line class="grid" x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/>"#,
        plot.x,
        plot.x + plot.width
    );
    y
}

fn percent_axis(plot: &Plot, x: f64, anchor: &str) -> String {
    let mut svg = String::new();
    for tick in 0..=4 {
        let y = grid_line(&mut svg, plot, tick);
        let _ = write!(
            svg,
            r#"<text class="tick" x="{x:.1}" y="{:.1}" text-anchor="{anchor}">{} %</text>"#,
            y + 4.0,
            tick * 25
        );
    }
    svg
}

fn axis_titles(plot: &Plot, (left, right): (&str, &str)) -> String {
    let middle = plot.y + plot.height / 2.0;
    let mut svg = format!(
        r#"<text class="axis-title" transform="translate(12 {middle:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        escape(left)
    );
    if !right.is_empty() {
        let _ = write!(
            svg,
            r#"<text class="axis-title" transform="translate({:.1} {middle:.1}) rotate(90)" text-anchor="middle">{}</text>"#,
            WIDTH - 10.0,
            escape(right)
        );
    }
    svg
}

/// The baseline and x labels, thinned so they never overlap.
fn x_axis(plot: &Plot, labels: &[String], x_of: impl Fn(usize) -> f64) -> String {
    let baseline = plot.y + plot.height;
    let mut svg = format!(
        r#"<line class="axis" x1="{:.1}" x2="{:.1}" y1="{baseline:.1}" y2="{baseline:.1}"/>"#,
        plot.x,
        plot.x + plot.width
    );
    let every = (labels.len() as f64 * 44.0 / plot.width).ceil().max(1.0) as usize;
    for (idx, label) in labels.iter().enumerate().filter(|(idx, _)| idx % every == 0) {
        let _ = write!(
            svg,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x_of(idx),
            baseline + 18.0,
            escape(label)
        );
    }
    svg
}

fn point_x(plot: &Plot, idx: usize, count: usize) -> f64 {
    if count <= 1 {
        return plot.x + plot.width / 2.0;
    }
    plot.x + plot.width * idx as f64 / (count - 1) as f64
}

fn points(plot: &Plot, values: &[Option<f64>], max: f64) -> Vec<Option<(f64, f64)>> {
    values
        .iter()
        .enumerate()
        .map(|(idx, value)| {
            value.map(|value| {
                let y = plot.y + plot.height - plot.height * (value / max).clamp(0.0, 1.0);
                (point_x(plot, idx, values.len()), y)
            })
        })
        .collect()
}

/// One `<polyline>` per run of points without gaps.
fn polyline(points: &[Option<(f64, f64)>], class: &str, extra: &str) -> String {
    points
        .split(Option::is_none)
        .filter(|run| run.len() > 1)
        .map(|run| {
            let coordinates: Vec<String> = run.iter().flatten().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            format!(r#"<polyline class="line {class}" points="{}"{extra}/>"#, coordinates.join(" "))
        })
        .collect()
}

fn markers(points: &[Option<(f64, f64)>], class: &str, marker: Marker) -> String {
    points
        .iter()
        .flatten()
        .map(|(x, y)| match marker {
            Marker::Circle => format!(r#"<circle class="{class}" cx="{x:.1}" cy="{y:.1}" r="3.5"/>"#),
            Marker::Square => {
                format!(r#"<rect class="{class}" x="{:.1}" y="{:.1}" width="7" height="7"/>"#, x - 3.5, y - 3.5)
            }
        })
        .collect()
}

fn legend(items: &[(&str, &str)]) -> String {
    let mut svg = String::new();
    let mut x = 8.0;
    for (name, class) in items {
        let _ = write!(svg, r#"<rect class="{class}" x="{x:.1}" y="12" width="12" height="12" rx="2"/>"#);
        let _ = write!(svg, r#"<text class="legend" x="{:.1}" y="22">{}</text>"#, x + 18.0, escape(name));
        x += 18.0 + 7.5 * name.chars().count() as f64 + 24.0;
    }
    svg
}

fn trim_number(value: f64) -> String {
    if value.fract().abs() < 1e-9 { format!("{value:.0}") } else { format!("{value:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_html_specials() {
        assert_eq!(
            escape(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
    }

    #[test]
    fn nice_axis_maxima_are_round() {
        for (max, expected) in [(0.0, 4.0), (3.0, 4.0), (7.0, 8.0), (12.0, 12.0), (23.0, 24.0), (180.0, 200.0)] {
            assert_eq!(nice_max(max), expected, "{max}");
        }
    }

    #[test]
    fn gaps_split_lines_and_single_points_get_only_a_marker() {
        let points = [Some((0.0, 1.0)), Some((1.0, 2.0)), None, Some((3.0, 4.0))];
        assert_eq!(polyline(&points, "a", "").matches("<polyline").count(), 1);
        assert_eq!(markers(&points, "a", Marker::Circle).matches("<circle").count(), 3);
    }
}
