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

/// Geometry of a chart, in `viewBox` units.
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    n: usize,
}

impl Frame {
    fn new(n: usize) -> Frame {
        Frame {
            width: 360.0,
            height: 240.0,
            left: 36.0,
            right: 18.0,
            top: 22.0,
            bottom: 28.0,
            n,
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
        let inner = self.plot_right() - self.left;
        if self.n <= 1 {
            return self.left + inner / 2.0;
        }
        let inset = 20.0_f64.min(inner / 4.0);
        self.left + inset + (inner - 2.0 * inset) * i as f64 / (self.n - 1) as f64
    }
    /// Distance between two neighbouring waves (the plot width with a single wave).
    fn spacing(&self) -> f64 {
        if self.n <= 1 {
            self.plot_right() - self.left
        } else {
            self.x(1) - self.x(0)
        }
    }
    /// y of a percentage (clamped to 0-100).
    fn y(&self, pct: f64) -> f64 {
        let p = pct.clamp(0.0, 100.0);
        self.top + (self.plot_bottom() - self.top) * (1.0 - p / 100.0)
    }
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
    chart_key(r, has_break, has_low, s);
}

/// The SVG chart of one statement: both groups' agreement across waves, their Wilson
/// intervals, the gap per wave and series breaks.
pub fn chart(r: &Report, st: &StatementTrend, idx: usize, s: &mut String) {
    let f = Frame::new(r.waves.len());
    let a = group_label(r, &r.group_a);
    let b = group_label(r, &r.group_b);
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
        escape_html(&format!(
            "Agreement with \u{201c}{}\u{201d}: {a} and {b} by wave, percent",
            st.text
        )),
        escape_html(&text_alternative(r, st, &a, &b)),
    );
    draw_y_axis(&f, s);
    draw_x_labels(r, &f, s);
    draw_breaks(r, st, &f, s);
    let runs_a = runs(r, st, |c| &c.a);
    let runs_b = runs(r, st, |c| &c.b);
    draw_intervals(&f, &runs_a, "ba", s);
    draw_intervals(&f, &runs_b, "bb", s);
    draw_lines(&f, &runs_a, "la", s);
    draw_lines(&f, &runs_b, "lb2", s);
    draw_waves(r, st, &f, s);
    s.push_str("</svg>");
}

/// Text alternative of a chart: every published value, wave by wave (plain, not escaped).
fn text_alternative(r: &Report, st: &StatementTrend, a: &str, b: &str) -> String {
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

/// x labels, thinned so that they never overlap (counted back from the latest wave,
/// which is always labelled). Widths are estimated for the larger phone font.
fn draw_x_labels(r: &Report, f: &Frame, s: &mut String) {
    let last = r.waves.len().saturating_sub(1);
    let longest = r
        .waves
        .iter()
        .map(|w| wave_label(r, &w.wave).chars().count())
        .max()
        .unwrap_or(0);
    let step = (longest as f64 * 7.0 + 8.0) / f.spacing();
    let step = if step.is_finite() && step > 1.0 {
        step.ceil() as usize
    } else {
        1
    };
    for (i, w) in r.waves.iter().enumerate() {
        if (last - i) % step != 0 {
            continue;
        }
        let _ = write!(
            s,
            r#"<text class="xlab" x="{}" y="{}">{}</text>"#,
            c(f.x(i)),
            c(f.plot_bottom() + 18.0),
            escape_html(wave_label(r, &w.wave))
        );
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
                r#"<line class="brk" x1="{x}" x2="{x}" y1="{}" y2="{}"/><text class="brkl" x="{x}" y="{}">new wording</text>"#,
                c(f.top - 4.0),
                c(f.plot_bottom()),
                c(f.top - 10.0),
                x = c(x),
            );
        }
    }
}

/// Per wave: connector and gap label, then the two points; suppressed waves are noted.
/// With many waves, only significant changes and the latest gap are labelled.
fn draw_waves(r: &Report, st: &StatementTrend, f: &Frame, s: &mut String) {
    let show_gap_labels = r.waves.len() <= 8;
    let last_drawn = r
        .waves
        .iter()
        .rposition(|w| {
            matches!(
                cell_view(st, &w.wave),
                CellView::Shown(Shown { gap: Some(_), .. })
            )
        })
        .unwrap_or(usize::MAX);
    for (i, w) in r.waves.iter().enumerate() {
        let view = cell_view(st, &w.wave);
        let (cell, gap, change) = match view {
            CellView::Absent => continue,
            CellView::Suppressed { .. } => {
                // Noted where there is room for the note; the text alternative always says so.
                if f.spacing() >= 40.0 {
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
            CellView::Shown(v) => (v.cell, v.gap, v.change),
        };
        let x = f.x(i);
        let pa = cell.a.pct.filter(|p| p.is_finite());
        let pb = cell.b.pct.filter(|p| p.is_finite());
        if let (Some(pa), Some(pb), Some(g)) = (pa, pb, gap) {
            let labelled = show_gap_labels || change.is_some() || i == last_drawn;
            draw_gap(x, (f.y(pa), f.y(pb)), g, change, labelled, s);
        }
        draw_points(r, f, (i, w), cell, (pa, pb), s);
    }
}

/// The connector between the two points of a wave at `x` (at heights `ya`, `yb`), and
/// the gap label where `labelled`.
fn draw_gap(
    x: f64,
    (ya, yb): (f64, f64),
    g: f64,
    change: Option<Change>,
    labelled: bool,
    s: &mut String,
) {
    let _ = write!(
        s,
        r#"<line class="conn" x1="{x}" x2="{x}" y1="{}" y2="{}"/>"#,
        c(ya),
        c(yb),
        x = c(x)
    );
    let mut label = typo(signed(g, 0).unwrap_or_default());
    let class = match change {
        Some(Change::Widened) => {
            label.push_str(WIDENED);
            "gl up"
        }
        Some(Change::Narrowed) => {
            label.push_str(NARROWED);
            "gl down"
        }
        None => "gl",
    };
    if labelled {
        // Beside the connector when the points are far enough apart, else above both.
        let (lx, ly, anchor) = if (ya - yb).abs() >= 22.0 {
            (x + 6.0, (ya + yb) / 2.0 + 4.0, "start")
        } else {
            (x, ya.min(yb) - 9.0, "middle")
        };
        let _ = write!(
            s,
            r#"<text class="{class}" x="{}" y="{}" text-anchor="{anchor}">{}</text>"#,
            c(lx),
            c(ly),
            escape_html(&label)
        );
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
            r##"<li><svg viewBox="0 0 26 12" aria-hidden="true"><circle cx="13" cy="6" r="4" fill="#fff" stroke="#59636e" stroke-width="2"/></svg>low base (under {})</li>"##,
            r.min_base
        );
    }
    if has_break {
        s.push_str(r#"<li><span class="rule" aria-hidden="true"></span>new wording</li>"#);
    }
    s.push_str("</ul>");
}
