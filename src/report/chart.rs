//! The SVG chart of one statement on the HTML page: both groups' agreement across the
//! waves with their Wilson intervals, the gap per wave and series breaks, and the small
//! key above it. Coordinates print with two decimals at most, so the page is byte-stable.

use std::fmt::Write as _;

use super::model::*;
use super::view::*;

/// A coordinate in the SVG, two decimals at most, byte-stable.
fn c(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Height of one row of labels.
const ROW: f64 = 13.0;
/// The smallest distance between two waves on the x axis, so that their markers never
/// overlap (waves closer in time are pushed apart, the others stay proportional).
const MIN_STEP: f64 = 16.0;

/// Estimated width of a label at the chart's largest font (the phone's).
fn label_width(text: &str) -> f64 {
    text.chars().count() as f64 * 7.0 + 6.0
}

/// Rows for labels `(centre, width)` in x order: each label goes into the first row where
/// it clears the label before it, so no two labels overlap. The row of each and the count.
fn stagger(items: &[(f64, f64)]) -> (Vec<usize>, usize) {
    let mut ends: Vec<f64> = Vec::new();
    let rows = items
        .iter()
        .map(|&(x, w)| {
            let left = x - w / 2.0;
            match ends.iter().position(|&e| left >= e) {
                Some(k) => {
                    ends[k] = x + w / 2.0;
                    k
                }
                None => {
                    ends.push(x + w / 2.0);
                    ends.len() - 1
                }
            }
        })
        .collect();
    (rows, ends.len())
}

/// Days since the common era of an ISO date.
fn day(date: &str) -> Option<i64> {
    use chrono::Datelike;
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .map(|d| i64::from(d.num_days_from_ce()))
}

/// x of every wave within `[lo, hi]`: proportional to the dates (evenly spread when a date
/// is unknown or all are equal), then pushed at least `MIN_STEP` apart where the room allows.
fn positions(dates: &[&str], lo: f64, hi: f64) -> Vec<f64> {
    let n = dates.len();
    if n <= 1 {
        return vec![(lo + hi) / 2.0; n];
    }
    let width = hi - lo;
    let step = MIN_STEP.min(width / (n - 1) as f64);
    let days: Option<Vec<i64>> = dates.iter().map(|d| day(d)).collect();
    let mut xs: Vec<f64> = match days {
        Some(d) if d[n - 1] > d[0] => d
            .iter()
            .map(|&x| lo + width * (x - d[0]) as f64 / (d[n - 1] - d[0]) as f64)
            .collect(),
        _ => (0..n)
            .map(|i| lo + width * i as f64 / (n - 1) as f64)
            .collect(),
    };
    for i in 1..n {
        xs[i] = xs[i].max(xs[i - 1] + step);
    }
    xs[n - 1] = xs[n - 1].min(hi);
    for i in (0..n - 1).rev() {
        xs[i] = xs[i].min(xs[i + 1] - step);
    }
    xs
}

/// The gap label of one wave, drawn in the rows above the plot.
struct GapLabel {
    text: String,
    class: &'static str,
    row: usize,
}

/// Geometry of a chart, in `viewBox` units: the plot, the x of every wave, the rows of the
/// wave labels under the plot and of the gap labels above it.
pub(super) struct Frame {
    pub width: f64,
    pub height: f64,
    left: f64,
    right: f64,
    pub top: f64,
    bottom: f64,
    xs: Vec<f64>,
    x_rows: Vec<usize>,
    gaps: Vec<Option<GapLabel>>,
}

impl Frame {
    /// The frame of the chart of `st`, `width` wide, with a plot `plot_height` high.
    pub fn new(r: &Report, st: &StatementTrend, width: f64, plot_height: f64) -> Frame {
        let (left, right): (f64, f64) = (36.0, 18.0);
        let labels: Vec<&str> = r.waves.iter().map(|w| wave_label(r, &w.wave)).collect();
        let first = labels.first().map_or(0.0, |l| label_width(l));
        let last = labels.last().map_or(0.0, |l| label_width(l));
        let lo = (left + 20.0).max(first / 2.0 + 2.0);
        let hi = (width - right - 20.0).min(width - last / 2.0 - 2.0);
        let dates: Vec<&str> = r.waves.iter().map(|w| w.date.as_str()).collect();
        let xs = positions(&dates, lo, hi.max(lo));
        let items: Vec<(f64, f64)> = labels
            .iter()
            .zip(&xs)
            .map(|(l, &x)| (x, label_width(l)))
            .collect();
        let (x_rows, n_x_rows) = stagger(&items);
        let (gaps, n_gap_rows) = gap_labels(r, st, &xs);
        let top = if n_gap_rows == 0 {
            22.0
        } else {
            14.0 + ROW * n_gap_rows as f64
        };
        let bottom = 28.0 + ROW * n_x_rows.saturating_sub(1) as f64;
        Frame {
            width,
            height: top + plot_height + bottom,
            left,
            right,
            top,
            bottom,
            xs,
            x_rows,
            gaps,
        }
    }
    fn plot_right(&self) -> f64 {
        self.width - self.right
    }
    fn plot_bottom(&self) -> f64 {
        self.height - self.bottom
    }
    /// x of the wave at index `i`.
    fn x(&self, i: usize) -> f64 {
        self.xs[i]
    }
    /// Room around the wave at index `i`: the distance to its nearer neighbour.
    fn room(&self, i: usize) -> f64 {
        let before = i.checked_sub(1).map(|j| self.xs[i] - self.xs[j]);
        let after = self.xs.get(i + 1).map(|x| x - self.xs[i]);
        match (before, after) {
            (Some(b), Some(a)) => b.min(a),
            (Some(d), None) | (None, Some(d)) => d,
            (None, None) => self.plot_right() - self.left,
        }
    }
    /// y of a percentage (clamped to 0-100).
    fn y(&self, pct: f64) -> f64 {
        let p = pct.clamp(0.0, 100.0);
        self.top + (self.plot_bottom() - self.top) * (1.0 - p / 100.0)
    }
}

/// The gap label of every wave of `st` that shows one (all of them up to 8 waves; with
/// more, significant changes and the latest gap), staggered in rows. Labels and rows.
fn gap_labels(r: &Report, st: &StatementTrend, xs: &[f64]) -> (Vec<Option<GapLabel>>, usize) {
    let all = r.waves.len() <= 8;
    let last = r.waves.iter().rposition(|w| {
        matches!(
            cell_view(st, &w.wave),
            CellView::Shown(Shown { gap: Some(_), .. })
        )
    });
    let mut labels: Vec<Option<GapLabel>> = r
        .waves
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let CellView::Shown(v) = cell_view(st, &w.wave) else {
                return None;
            };
            let g = v.gap?;
            v.cell.a.pct.filter(|p| p.is_finite())?;
            v.cell.b.pct.filter(|p| p.is_finite())?;
            if !(all || v.change.is_some() || Some(i) == last) {
                return None;
            }
            let mut text = typo(signed(g, 0).unwrap_or_default());
            let class = match v.change {
                Some(Change::Widened) => {
                    text.push_str(WIDENED);
                    "gl up"
                }
                Some(Change::Narrowed) => {
                    text.push_str(NARROWED);
                    "gl down"
                }
                None => "gl",
            };
            Some(GapLabel {
                text,
                class,
                row: 0,
            })
        })
        .collect();
    let shown: Vec<usize> = (0..labels.len()).filter(|&i| labels[i].is_some()).collect();
    let items: Vec<(f64, f64)> = shown
        .iter()
        .map(|&i| (xs[i], label_width(&labels[i].as_ref().unwrap().text)))
        .collect();
    let (rows, n) = stagger(&items);
    for (&i, row) in shown.iter().zip(rows) {
        if let Some(l) = labels[i].as_mut() {
            l.row = row;
        }
    }
    (labels, n)
}

/// One drawable estimate of a group: wave index, percentage, interval.
#[derive(Clone, Copy)]
struct Pt {
    i: usize,
    pct: f64,
    ci: Option<(f64, f64)>,
}

/// The points of one group, split into runs that a line may join: a run ends at a wave
/// where nothing is drawn (absent, suppressed, no percentage) and before a series break.
fn runs(r: &Report, st: &StatementTrend, pick: fn(&TrendCell) -> &GroupEstimate) -> Vec<Vec<Pt>> {
    let mut out: Vec<Vec<Pt>> = Vec::new();
    let mut cur: Vec<Pt> = Vec::new();
    for (i, w) in r.waves.iter().enumerate() {
        let view = cell_view(st, &w.wave);
        let (cell, brk) = match view {
            CellView::Shown(v) => (v.cell, v.series_break),
            CellView::Suppressed { .. } | CellView::Absent => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                continue;
            }
        };
        if brk && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        let e = pick(cell);
        match e.pct.filter(|p| p.is_finite()) {
            Some(pct) => {
                let ci = match (e.ci_low, e.ci_high) {
                    (Some(lo), Some(hi)) if lo.is_finite() && hi.is_finite() => Some((lo, hi)),
                    _ => None,
                };
                cur.push(Pt { i, pct, ci });
            }
            None => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Interval bands of one group: a band along a run, a short bar for a lone point.
fn draw_intervals(f: &Frame, runs: &[Vec<Pt>], band: &str, s: &mut String) {
    for run in runs {
        // Split further where an interval is missing.
        let mut piece: Vec<(usize, f64, f64)> = Vec::new();
        let mut pieces = Vec::new();
        for p in run {
            match p.ci {
                Some((lo, hi)) => piece.push((p.i, lo, hi)),
                None => {
                    if !piece.is_empty() {
                        pieces.push(std::mem::take(&mut piece));
                    }
                }
            }
        }
        if !piece.is_empty() {
            pieces.push(piece);
        }
        for piece in pieces {
            if piece.len() == 1 {
                let (i, lo, hi) = piece[0];
                let _ = write!(
                    s,
                    r#"<rect class="{band} one" x="{}" y="{}" width="12" height="{}" rx="2"/>"#,
                    c(f.x(i) - 6.0),
                    c(f.y(hi)),
                    c((f.y(lo) - f.y(hi)).max(0.0)),
                );
            } else {
                let mut pts: Vec<String> = piece
                    .iter()
                    .map(|&(i, _, hi)| format!("{},{}", c(f.x(i)), c(f.y(hi))))
                    .collect();
                pts.extend(
                    piece
                        .iter()
                        .rev()
                        .map(|&(i, lo, _)| format!("{},{}", c(f.x(i)), c(f.y(lo)))),
                );
                let _ = write!(s, r#"<polygon class="{band}" points="{}"/>"#, pts.join(" "));
            }
        }
    }
}

fn draw_lines(f: &Frame, runs: &[Vec<Pt>], class: &str, s: &mut String) {
    for run in runs.iter().filter(|r| r.len() > 1) {
        let pts: Vec<String> = run
            .iter()
            .map(|p| format!("{},{}", c(f.x(p.i)), c(f.y(p.pct))))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="{class}" points="{}"/>"#,
            pts.join(" ")
        );
    }
}

/// Hover text of one point: "Marketing, 2021: 45.3 % (95 % CI 39.8–50.9), n = 301".
fn point_tip(
    r: &Report,
    group: &str,
    cell: &TrendCell,
    e: &GroupEstimate,
    wave: &WaveInfo,
) -> String {
    let mut t = format!(
        "{}, {}: {} %",
        group_label(r, group),
        wave_label(r, &wave.wave),
        show(e.pct)
    );
    if let (Some(lo), Some(hi)) = (e.ci_low, e.ci_high) {
        let _ = write!(t, " (95 % CI {}–{})", show(Some(lo)), show(Some(hi)));
    }
    let _ = write!(t, ", n = {}", show_n(e.n));
    if cell.low_base {
        t.push_str(" (low base)");
    }
    escape_html(&t)
}

/// The key above the chart of `st`: the two groups, the interval band, and entries for
/// low bases and new wording where the chart shows them.
pub fn key(r: &Report, st: &StatementTrend, s: &mut String) {
    let (has_break, has_low) = key_entries(r, st);
    chart_key(r, has_break, has_low, s);
}

/// Whether the chart of `st` shows a series break, and a low base.
pub(super) fn key_entries(r: &Report, st: &StatementTrend) -> (bool, bool) {
    let has_break = r.waves.iter().enumerate().any(|(i, w)| {
        i > 0
            && matches!(
                cell_view(st, &w.wave),
                CellView::Shown(Shown {
                    series_break: true,
                    ..
                }) | CellView::Suppressed {
                    series_break: true,
                    ..
                }
            )
    });
    let has_low = r.waves.iter().any(|w| {
        matches!(
            cell_view(st, &w.wave),
            CellView::Shown(Shown { low_base: true, .. })
        )
    });
    (has_break, has_low)
}

/// The SVG chart of one statement on the page: both groups' agreement across waves,
/// their Wilson intervals, the gap per wave and series breaks.
pub fn chart(r: &Report, st: &StatementTrend, idx: usize, s: &mut String) {
    let f = Frame::new(r, st, 360.0, 190.0);
    let tid = format!("c{idx}-t");
    let did = format!("c{idx}-d");
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{tid} {did}" preserveAspectRatio="xMidYMid meet">"#,
        w = c(f.width),
        h = c(f.height),
    );
    let _ = write!(
        s,
        "<title id=\"{tid}\">{}</title><desc id=\"{did}\">{}</desc>",
        escape_html(&chart_title(r, st)),
        escape_html(&text_alternative(r, st)),
    );
    body(r, st, &f, s);
    s.push_str("</svg>");
}

/// The accessible name of a chart (plain, not escaped).
pub(super) fn chart_title(r: &Report, st: &StatementTrend) -> String {
    format!(
        "Agreement with \u{201c}{}\u{201d}: {} and {} by wave, percent",
        st.text,
        group_label(r, &r.group_a),
        group_label(r, &r.group_b)
    )
}

/// Everything inside a chart's SVG element, shared by the page and the chart files.
pub(super) fn body(r: &Report, st: &StatementTrend, f: &Frame, s: &mut String) {
    draw_y_axis(f, s);
    draw_x_labels(r, f, s);
    draw_breaks(r, st, f, s);
    let runs_a = runs(r, st, |c| &c.a);
    let runs_b = runs(r, st, |c| &c.b);
    draw_intervals(f, &runs_a, "ba", s);
    draw_intervals(f, &runs_b, "bb", s);
    draw_lines(f, &runs_a, "la", s);
    draw_lines(f, &runs_b, "lb2", s);
    draw_gap_labels(f, s);
    draw_waves(r, st, f, s);
}

/// Text alternative of a chart: every published value, wave by wave (plain, not escaped).
pub(super) fn text_alternative(r: &Report, st: &StatementTrend) -> String {
    let (a, b) = (group_label(r, &r.group_a), group_label(r, &r.group_b));
    let mut desc = Vec::new();
    for w in &r.waves {
        let label = wave_label(r, &w.wave);
        let line = match cell_view(st, &w.wave) {
            CellView::Absent => format!("{label}: no answers from both groups"),
            CellView::Suppressed { .. } => {
                format!("{label}: suppressed ({})", suppressed_label(r))
            }
            CellView::Shown(Shown { cell, gap, .. }) => format!(
                "{label}: {a} {} %, {b} {} %, gap {} points",
                show(cell.a.pct),
                show(cell.b.pct),
                show_signed(gap)
            ),
        };
        desc.push(line);
    }
    desc.join("; ")
}

/// Grid lines and y labels, 0 to 100 %.
fn draw_y_axis(f: &Frame, s: &mut String) {
    for p in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let y = c(f.y(p));
        let class = if p == 0.0 { "axis" } else { "grid" };
        let _ = write!(
            s,
            r#"<line class="{class}" x1="{}" x2="{}" y1="{y}" y2="{y}"/><text class="ylab" x="{}" y="{}">{} %</text>"#,
            c(f.left),
            c(f.plot_right()),
            c(f.left - 6.0),
            c(f.y(p) + 4.0),
            p as i64
        );
    }
}

/// Every wave's label under the plot, staggered in rows where neighbours would overlap.
fn draw_x_labels(r: &Report, f: &Frame, s: &mut String) {
    for (i, w) in r.waves.iter().enumerate() {
        let _ = write!(
            s,
            r#"<text class="xlab" x="{}" y="{}">{}</text>"#,
            c(f.x(i)),
            c(f.plot_bottom() + 18.0 + ROW * f.x_rows[i] as f64),
            escape_html(wave_label(r, &w.wave))
        );
    }
}

/// The gap labels in their rows above the plot, captioned "Gap" on the left.
fn draw_gap_labels(f: &Frame, s: &mut String) {
    if f.gaps.iter().any(Option::is_some) {
        let _ = write!(
            s,
            r#"<text class="ylab" x="{}" y="{}">Gap</text>"#,
            c(f.left - 6.0),
            c(f.top - 8.0)
        );
    }
    for (i, label) in f.gaps.iter().enumerate() {
        if let Some(l) = label {
            let _ = write!(
                s,
                r#"<text class="{}" x="{}" y="{}" text-anchor="middle">{}</text>"#,
                l.class,
                c(f.x(i)),
                c(f.top - 8.0 - ROW * l.row as f64),
                escape_html(&l.text)
            );
        }
    }
}

/// Series breaks: a dashed rule between the wave before and the wave that starts anew.
fn draw_breaks(r: &Report, st: &StatementTrend, f: &Frame, s: &mut String) {
    for (i, w) in r.waves.iter().enumerate() {
        let brk = match cell_view(st, &w.wave) {
            CellView::Shown(Shown { series_break, .. })
            | CellView::Suppressed { series_break, .. } => series_break,
            CellView::Absent => false,
        };
        if brk && i > 0 {
            let x = (f.x(i - 1) + f.x(i)) / 2.0;
            let _ = write!(
                s,
                r#"<line class="brk" x1="{x}" x2="{x}" y1="{}" y2="{}"><title>new wording from here</title></line>"#,
                c(f.top),
                c(f.plot_bottom()),
                x = c(x),
            );
        }
    }
}

/// Per wave: the connector between the two points, then the points; suppressed waves
/// are noted where there is room.
fn draw_waves(r: &Report, st: &StatementTrend, f: &Frame, s: &mut String) {
    for (i, w) in r.waves.iter().enumerate() {
        let cell = match cell_view(st, &w.wave) {
            CellView::Absent => continue,
            CellView::Suppressed { .. } => {
                // The text alternative always says so.
                if f.room(i) >= 40.0 {
                    let _ = write!(
                        s,
                        r#"<text class="na" x="{}" y="{}">{}</text>"#,
                        c(f.x(i)),
                        c(f.y(50.0) + 4.0),
                        escape_html(&suppressed_label(r))
                    );
                }
                continue;
            }
            CellView::Shown(v) => v.cell,
        };
        let x = f.x(i);
        let pa = cell.a.pct.filter(|p| p.is_finite());
        let pb = cell.b.pct.filter(|p| p.is_finite());
        if let (Some(pa), Some(pb)) = (pa, pb) {
            let _ = write!(
                s,
                r#"<line class="conn" x1="{x}" x2="{x}" y1="{}" y2="{}"/>"#,
                c(f.y(pa)),
                c(f.y(pb)),
                x = c(x)
            );
        }
        draw_points(r, f, (i, w), cell, (pa, pb), s);
    }
}

/// The two points of wave `w` (index `i`): a circle for the first group, a square for
/// the second, hollow on a low base, each with its hover text.
fn draw_points(
    r: &Report,
    f: &Frame,
    (i, w): (usize, &WaveInfo),
    cell: &TrendCell,
    (pa, pb): (Option<f64>, Option<f64>),
    s: &mut String,
) {
    let x = f.x(i);
    let lo = if cell.low_base { " lo" } else { "" };
    if let Some(p) = pa {
        let _ = write!(
            s,
            r#"<circle class="pa{lo}" cx="{}" cy="{}" r="4"><title>{}</title></circle>"#,
            c(x),
            c(f.y(p)),
            point_tip(r, &r.group_a, cell, &cell.a, w)
        );
    }
    if let Some(p) = pb {
        let _ = write!(
            s,
            r#"<rect class="pb{lo}" x="{}" y="{}" width="7.5" height="7.5"><title>{}</title></rect>"#,
            c(x - 3.75),
            c(f.y(p) - 3.75),
            point_tip(r, &r.group_b, cell, &cell.b, w)
        );
    }
}

/// The small legend above a chart.
fn chart_key(r: &Report, has_break: bool, has_low: bool, s: &mut String) {
    let _ = write!(
        s,
        concat!(
            r#"<ul class="key">"#,
            r##"<li><svg viewBox="0 0 26 12" aria-hidden="true"><line x1="1" x2="25" y1="6" y2="6" stroke="#0072b2" stroke-width="2.5"/><circle cx="13" cy="6" r="4.5" fill="#0072b2" stroke="#fff" stroke-width="1.5"/></svg><span class="ga">{}</span></li>"##,
            r##"<li><svg viewBox="0 0 26 12" aria-hidden="true"><line x1="1" x2="25" y1="6" y2="6" stroke="#d55e00" stroke-width="2.5" stroke-dasharray="6 3"/><rect x="8.5" y="1.5" width="9" height="9" fill="#d55e00" stroke="#fff" stroke-width="1.5"/></svg><span class="gb">{}</span></li>"##,
            r#"<li><span class="band" aria-hidden="true"></span>95 % interval</li>"#,
        ),
        escape_html(&group_label(r, &r.group_a)),
        escape_html(&group_label(r, &r.group_b)),
    );
    if has_low {
        let _ = write!(
            s,
            r##"<li><svg viewBox="0 0 26 12" aria-hidden="true"><circle cx="13" cy="6" r="4" fill="#fff" stroke="#59636e" stroke-width="2"/></svg>low base ({})</li>"##,
            under(r, r.min_base)
        );
    }
    if has_break {
        s.push_str(r#"<li><span class="rule" aria-hidden="true"></span>new wording</li>"#);
    }
    s.push_str("</ul>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_axis_is_proportional_to_the_dates() {
        // 2017, 2018, 2021: gaps of 1 and 3 years (365 and 1096 days).
        let xs = positions(&["2017-03-01", "2018-03-01", "2021-03-01"], 0.0, 1461.0);
        assert_eq!(xs, vec![0.0, 365.0, 1461.0]);
        // Unknown or equal dates: evenly spread.
        assert_eq!(
            positions(&["x", "y", "z"], 0.0, 100.0),
            vec![0.0, 50.0, 100.0]
        );
        assert_eq!(positions(&["2020-01-01"; 2], 0.0, 100.0), vec![0.0, 100.0]);
        assert_eq!(positions(&["2020-01-01"], 10.0, 30.0), vec![20.0]);
    }

    #[test]
    fn waves_close_in_time_are_pushed_apart_just_enough() {
        // A published figure dated 3 days before the microdata wave of the same year.
        let xs = positions(
            &["2017-02-26", "2017-03-01", "2018-03-01", "2021-03-01"],
            0.0,
            300.0,
        );
        assert_eq!(xs[0], 0.0);
        assert_eq!(xs[1], MIN_STEP);
        assert_eq!(xs[3], 300.0);
        assert!((xs[2] - 300.0 * 368.0 / 1464.0).abs() < 1e-9, "{xs:?}");
        // At the right end too, and never outside the range.
        let xs = positions(&["2017-01-01", "2021-01-01", "2021-01-02"], 0.0, 300.0);
        assert_eq!(xs, vec![0.0, 300.0 - MIN_STEP, 300.0]);
        // Less room than MIN_STEP per wave: even steps over the room.
        let xs = positions(&["2020-01-01"; 5], 0.0, 20.0);
        assert_eq!(xs, vec![0.0, 5.0, 10.0, 15.0, 20.0]);
    }

    #[test]
    fn labels_that_would_overlap_go_to_another_row() {
        // Three labels 30 wide at 0, 20 and 40: the second collides with the first.
        let (rows, n) = stagger(&[(0.0, 30.0), (20.0, 30.0), (40.0, 30.0), (100.0, 30.0)]);
        assert_eq!(rows, vec![0, 1, 0, 0]);
        assert_eq!(n, 2);
        let (rows, n) = stagger(&[(0.0, 30.0), (10.0, 30.0), (20.0, 30.0)]);
        assert_eq!((rows, n), (vec![0, 1, 2], 3));
        assert_eq!(stagger(&[]), (vec![], 0));
    }
}
