//! `index.html`: one self-contained page with the gap table and a chart per statement.
//!
//! Everything is inline: the style sheet, the SVG charts. The page loads nothing (no
//! script, font, image or style sheet from elsewhere) and works offline. Layout is
//! responsive: a centred column on a laptop, one column on a phone, wide tables scroll
//! sideways inside their own box, and the charts scale with their `viewBox`.

use std::fmt::Write as _;

use super::md::{
    breakdown_gap, breakdown_table, cell_view, display_group, methods, show, show_n, show_p,
    show_signed, suppressed_label, title, CellView, Change, ABSENT, LOW_BASE, NARROWED,
    SERIES_BREAK, WIDENED,
};
use super::model::*;
use super::tables::{is_suppressed, signed};

/// Escapes text for HTML content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// A number as typeset: a true minus sign instead of the hyphen.
fn typo(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) => format!("\u{2212}{rest}"),
        None => s,
    }
}

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

const STYLE: &str = r#"
:root{--ink:#1c2128;--muted:#59636e;--faint:#8c959f;--line:#d9dee3;--soft:#eef1f4;--bg:#f5f7f9;--card:#fff;
--a:#0072b2;--b:#d55e00;--up:#a8361a;--up-bg:#fbe9e4;--down:#0b6b57;--down-bg:#e1f3ee;--brk:#6d4fc2;color-scheme:light}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif}
.page{max-width:1140px;margin:0 auto;padding:40px 24px 56px}
header.top{margin-bottom:32px}
.eyebrow{margin:0 0 6px;font-size:.8rem;font-weight:600;letter-spacing:.08em;text-transform:uppercase;color:var(--muted)}
h1{margin:0 0 12px;font-size:2.1rem;line-height:1.2;letter-spacing:-.015em}
h2{margin:44px 0 6px;font-size:1.4rem;line-height:1.3}
h3{margin:0;font-size:1.05rem;line-height:1.35}
p{margin:0 0 12px}
.lead{max-width:72ch;font-size:1.08rem;color:#2f363d}
.facts{display:flex;flex-wrap:wrap;gap:8px 24px;margin:18px 0 0;padding:0;list-style:none;color:var(--muted);font-size:.92rem}
.facts b{color:var(--ink);font-weight:600}
.sub{color:var(--muted);font-size:.95rem;margin-bottom:14px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;background:var(--card);border:1px solid var(--line);border-radius:10px}
.scroll:focus{outline:2px solid var(--a);outline-offset:2px}
table{border-collapse:separate;border-spacing:0;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:10px 14px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap;vertical-align:middle}
tbody tr:last-child th,tbody tr:last-child td{border-bottom:0}
thead th{background:var(--soft);font-size:.85rem;font-weight:600;color:#3b434b;vertical-align:bottom}
thead th small{display:block;font-weight:400;color:var(--muted);font-size:.78rem}
td small{display:block;color:var(--muted);font-size:.78rem}
table.wide th[scope=row],table.wide thead th:first-child{position:sticky;left:0;z-index:1;text-align:left;white-space:normal;min-width:15rem;max-width:24rem;font-weight:500;background:var(--card);border-right:1px solid var(--line)}
table.wide thead th:first-child{background:var(--soft)}
th[scope=row] a{color:inherit;text-decoration:none}
th[scope=row] a:hover,th[scope=row] a:focus{text-decoration:underline}
td.gap{font-size:.98rem}
td.up{background:var(--up-bg)}
td.down{background:var(--down-bg)}
td.abs{color:var(--faint)}
td.sup{color:var(--muted);font-style:italic;font-size:.88rem}
td.brk{border-left:2px dashed var(--brk)}
td.gap.sup,td.gap.abs{padding-right:calc(16px + 1.46rem)}
.mk{display:inline-block;width:1.1em;margin-left:2px;text-align:center;font-size:.85em}
td.gap .lb{display:inline-block;width:.55em;text-align:left}
.mk.up{color:var(--up)}
.mk.down{color:var(--down)}
.lb{color:var(--up);font-weight:600}
.bk{color:var(--brk);font-weight:700;margin-right:4px}
.legend{display:flex;flex-wrap:wrap;gap:8px 22px;margin:14px 0 0;padding:0;list-style:none;font-size:.88rem;color:var(--muted)}
.legend li{display:flex;align-items:center;gap:6px}
.legend .sym{display:inline-flex;justify-content:center;align-items:center;min-width:1.6em;height:1.5em;padding:0 4px;border-radius:4px;background:var(--soft);color:var(--ink);font-weight:600}
.legend .sym.up{background:var(--up-bg);color:var(--up)}
.legend .sym.down{background:var(--down-bg);color:var(--down)}
.legend .sym.bk{color:var(--brk)}
.legend .sym.lb{color:var(--up)}
details{margin-top:18px}
summary{cursor:pointer;font-weight:600;color:#3b434b;padding:4px 0}
details .scroll{margin-top:10px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,500px),1fr));gap:20px;margin-top:16px}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px 20px 16px;display:flex;flex-direction:column;gap:10px;min-width:0}
.card .id{margin:2px 0 0;color:var(--faint);font-size:.8rem;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;overflow-wrap:anywhere}
.key{display:flex;flex-wrap:wrap;gap:4px 16px;margin:0;padding:0;list-style:none;font-size:.86rem;color:var(--muted)}
.key li{display:flex;align-items:center;gap:6px}
.key svg{width:26px;height:12px;flex:none}
.key .ga{color:var(--a);font-weight:600}
.key .gb{color:var(--b);font-weight:600}
.band{display:inline-block;width:20px;height:10px;border-radius:2px;background:linear-gradient(90deg,rgba(0,114,178,.22) 50%,rgba(213,94,0,.22) 50%)}
.rule{display:inline-block;width:0;height:14px;border-left:2px dashed var(--brk)}
svg.chart{display:block;width:100%;height:auto;overflow:visible}
.chart .grid{stroke:#e3e7eb;stroke-width:1}
.chart .axis{stroke:#aab2ba;stroke-width:1}
.chart text{font-family:inherit;font-size:10.5px;fill:#59636e}
.chart .ylab{text-anchor:end}
.chart .xlab{text-anchor:middle;fill:#3b434b}
.chart .la{fill:none;stroke:var(--a);stroke-width:2.5;stroke-linejoin:round;stroke-linecap:round}
.chart .lb2{fill:none;stroke:var(--b);stroke-width:2.5;stroke-linejoin:round;stroke-linecap:round;stroke-dasharray:7 4}
.chart .ba{fill:var(--a);fill-opacity:.14;stroke:none}
.chart .bb{fill:var(--b);fill-opacity:.14;stroke:none}
.chart .pa{fill:var(--a);stroke:#fff;stroke-width:1.5}
.chart .pb{fill:var(--b);stroke:#fff;stroke-width:1.5}
.chart .pa.lo{fill:#fff;stroke:var(--a);stroke-width:2}
.chart .pb.lo{fill:#fff;stroke:var(--b);stroke-width:2}
.chart .conn{stroke:#8c959f;stroke-width:1;stroke-dasharray:2 3}
.chart .gl{font-size:10.5px;font-weight:600;fill:#2f363d;paint-order:stroke;stroke:#fff;stroke-width:3.5px;stroke-linejoin:round}
.chart .gl.up{fill:var(--up)}
.chart .gl.down{fill:var(--down)}
.chart .brk{stroke:var(--brk);stroke-width:1.5;stroke-dasharray:5 4}
.chart .brkl{fill:var(--brk);font-size:10px;text-anchor:middle}
.chart .na{fill:#8c959f;font-size:10px;text-anchor:middle;font-style:italic}
.summary{margin:0;font-size:.92rem;color:#2f363d}
.summary .up{color:var(--up);font-weight:600}
.summary .down{color:var(--down);font-weight:600}
.card details{margin-top:0}
.card summary{font-size:.9rem}
.card table{font-size:.86rem}
.card th,.card td{padding:7px 10px}
.card tbody th{text-align:left;font-weight:500;white-space:nowrap}
.card thead th:first-child{text-align:left}
.empty{color:var(--muted);font-style:italic}
.hint{display:none;margin:0 0 8px;color:var(--muted);font-size:.85rem}
.methods{max-width:80ch}
.methods p{color:#2f363d}
.methods b{color:var(--ink)}
footer{margin-top:40px;padding-top:16px;border-top:1px solid var(--line);color:var(--muted);font-size:.88rem}
@media (max-width:640px){
.page{padding:24px 14px 40px}
h1{font-size:1.55rem}
h2{font-size:1.2rem;margin-top:36px}
.lead{font-size:1rem}
th,td{padding:8px 10px}
td.gap.sup,td.gap.abs{padding-right:calc(12px + 1.46rem)}
table.wide th[scope=row],table.wide thead th:first-child{min-width:9.5rem;max-width:11rem;font-size:.86rem}
.card{padding:16px 12px 12px;border-radius:10px}
.chart text{font-size:12.5px}
.chart .gl{font-size:12.5px}
.chart .brkl,.chart .na{font-size:11.5px}
svg.chart{margin:0 -6px;width:calc(100% + 12px)}
.hint{display:block}
}
@media print{body{background:#fff}.card,.scroll{break-inside:avoid;border-color:#bbb}details{display:block}}
"#;

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
        let view = cell_view(r, st, &w.wave);
        let (cell, brk) = match view {
            CellView::Shown {
                cell, series_break, ..
            } => (cell, series_break),
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
fn point_tip(group: &str, cell: &TrendCell, e: &GroupEstimate, wave: &WaveInfo) -> String {
    let mut t = format!("{}, {}: {} %", display_group(group), wave.wave, show(e.pct));
    if let (Some(lo), Some(hi)) = (e.ci_low, e.ci_high) {
        let _ = write!(t, " (95 % CI {}–{})", show(Some(lo)), show(Some(hi)));
    }
    let _ = write!(t, ", n = {}", show_n(e.n));
    if cell.low_base {
        t.push_str(" (low base)");
    }
    escape_html(&t)
}

/// The SVG chart of one statement: both groups' agreement across waves, their Wilson
/// intervals, the gap per wave and series breaks.
fn chart(r: &Report, st: &StatementTrend, idx: usize, s: &mut String) {
    let f = Frame::new(r.waves.len());
    let a = display_group(&r.group_a);
    let b = display_group(&r.group_b);
    let tid = format!("c{idx}-t");
    let did = format!("c{idx}-d");

    // Text alternative: every published value, wave by wave.
    let mut desc = Vec::new();
    for w in &r.waves {
        let line = match cell_view(r, st, &w.wave) {
            CellView::Absent => format!("{}: no answers from both groups", w.wave),
            CellView::Suppressed { .. } => {
                format!("{}: suppressed ({})", w.wave, suppressed_label(r))
            }
            CellView::Shown { cell, gap, .. } => format!(
                "{}: {a} {} %, {b} {} %, gap {} points",
                w.wave,
                show(cell.a.pct),
                show(cell.b.pct),
                show_signed(gap)
            ),
        };
        desc.push(line);
    }

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
        escape_html(&desc.join("; ")),
    );

    // Grid and y labels.
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
    // x labels, thinned so that they never overlap (counted back from the latest wave,
    // which is always labelled). Widths are estimated for the larger phone font.
    let last = r.waves.len().saturating_sub(1);
    let longest = r
        .waves
        .iter()
        .map(|w| w.wave.chars().count())
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
            escape_html(&w.wave)
        );
    }

    // Series breaks: a dashed rule between the wave before and the wave that starts anew.
    for (i, w) in r.waves.iter().enumerate() {
        let brk = match cell_view(r, st, &w.wave) {
            CellView::Shown { series_break, .. } | CellView::Suppressed { series_break, .. } => {
                series_break
            }
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

    let runs_a = runs(r, st, |c| &c.a);
    let runs_b = runs(r, st, |c| &c.b);
    draw_intervals(&f, &runs_a, "ba", s);
    draw_intervals(&f, &runs_b, "bb", s);
    draw_lines(&f, &runs_a, "la", s);
    draw_lines(&f, &runs_b, "lb2", s);

    // Per wave: connector and gap label, then the two points; suppressed waves are noted.
    // With many waves, only significant changes and the latest gap are labelled.
    let show_gap_labels = r.waves.len() <= 8;
    let last_drawn = r
        .waves
        .iter()
        .rposition(|w| {
            matches!(
                cell_view(r, st, &w.wave),
                CellView::Shown { gap: Some(_), .. }
            )
        })
        .unwrap_or(usize::MAX);
    for (i, w) in r.waves.iter().enumerate() {
        let view = cell_view(r, st, &w.wave);
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
            CellView::Shown {
                cell, gap, change, ..
            } => (cell, gap, change),
        };
        let x = f.x(i);
        let lo = if cell.low_base { " lo" } else { "" };
        let pa = cell.a.pct.filter(|p| p.is_finite());
        let pb = cell.b.pct.filter(|p| p.is_finite());
        if let (Some(pa), Some(pb), Some(g)) = (pa, pb, gap) {
            let (ya, yb) = (f.y(pa), f.y(pb));
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
            if show_gap_labels || change.is_some() || i == last_drawn {
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
        if let Some(p) = pa {
            let _ = write!(
                s,
                r#"<circle class="pa{lo}" cx="{}" cy="{}" r="4"><title>{}</title></circle>"#,
                c(x),
                c(f.y(p)),
                point_tip(&r.group_a, cell, &cell.a, w)
            );
        }
        if let Some(p) = pb {
            let _ = write!(
                s,
                r#"<rect class="pb{lo}" x="{}" y="{}" width="7.5" height="7.5"><title>{}</title></rect>"#,
                c(x - 3.75),
                c(f.y(p) - 3.75),
                point_tip(&r.group_b, cell, &cell.b, w)
            );
        }
    }
    s.push_str("</svg>");
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
        escape_html(&display_group(&r.group_a)),
        escape_html(&display_group(&r.group_b)),
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

/// One sentence on the latest wave of a statement.
fn summary(r: &Report, st: &StatementTrend, s: &mut String) {
    let Some(last) = st.cells.last() else { return };
    let Some(wave) = r.waves.iter().find(|w| w.wave == last.wave) else {
        return;
    };
    let wave_txt = escape_html(&wave.wave);
    s.push_str(r#"<p class="summary">"#);
    match cell_view(r, st, &wave.wave) {
        CellView::Absent => {}
        CellView::Suppressed { .. } => {
            let _ = write!(
                s,
                "Latest wave ({wave_txt}): suppressed, a base is below {}.",
                r.suppress_below
            );
        }
        CellView::Shown { gap: None, .. } => {
            let _ = write!(s, "Latest wave ({wave_txt}): no gap published.");
        }
        CellView::Shown {
            cell,
            gap,
            change,
            low_base,
            series_break,
        } => {
            let _ = write!(
                s,
                "Latest wave ({wave_txt}): gap <b>{}</b> points",
                typo(show_signed(gap))
            );
            if let (Some(lo), Some(hi)) = (cell.gap_ci_low, cell.gap_ci_high) {
                let _ = write!(
                    s,
                    " (95 % CI {} to {})",
                    typo(show_signed(Some(lo))),
                    typo(show_signed(Some(hi)))
                );
            }
            s.push('.');
            if low_base {
                let _ = write!(s, " Low base (under {}).", r.min_base);
            }
            if series_break {
                s.push_str(" New wording: not compared with the wave before.");
            } else if let (Some(ch), Some(prev)) = (cell.change_pp, cell.prev_wave.as_deref()) {
                let _ = write!(
                    s,
                    " Change since {}: {} points",
                    escape_html(prev),
                    typo(show_signed(Some(ch)))
                );
                if cell.change_q_value.is_some() {
                    let _ = write!(
                        s,
                        ", q = {}",
                        show_p(cell.change_q_value).replace('<', "&lt;")
                    );
                }
                match change {
                    Some(Change::Widened) => {
                        let _ = write!(s, r#", <span class="up">{WIDENED} widened</span>"#);
                    }
                    Some(Change::Narrowed) => {
                        let _ = write!(s, r#", <span class="down">{NARROWED} narrowed</span>"#);
                    }
                    None => {
                        if let Some(t) = cell.trend.as_deref() {
                            let _ = write!(s, ", {}", escape_html(t));
                        }
                    }
                }
                s.push('.');
            }
        }
    }
    s.push_str("</p>");
}

/// The figures behind a chart, collapsed under the chart.
fn figures(r: &Report, st: &StatementTrend, s: &mut String) {
    let a = escape_html(&display_group(&r.group_a));
    let b = escape_html(&display_group(&r.group_b));
    let _ = write!(
        s,
        concat!(
            r#"<details><summary>Figures</summary><div class="scroll" tabindex="0"><table>"#,
            r#"<thead><tr><th scope="col">Wave</th><th scope="col">{a} %</th><th scope="col">{b} %</th>"#,
            r#"<th scope="col">n</th><th scope="col">Gap (95 % CI)</th><th scope="col">Change</th><th scope="col">q</th></tr></thead><tbody>"#
        ),
        a = a,
        b = b
    );
    for w in &r.waves {
        let view = cell_view(r, st, &w.wave);
        let wave = escape_html(&w.wave);
        match view {
            CellView::Absent => continue,
            CellView::Suppressed { cell, .. } => {
                let _ = write!(
                    s,
                    r#"<tr><th scope="row">{wave}</th><td colspan="2">{}</td><td>{} / {}</td><td colspan="3"></td></tr>"#,
                    escape_html(&suppressed_label(r)),
                    show_n(cell.a.n),
                    show_n(cell.b.n)
                );
            }
            CellView::Shown {
                cell,
                gap,
                low_base,
                series_break,
                ..
            } => {
                let brk = if series_break {
                    format!(r#"<span class="bk">{SERIES_BREAK}</span>"#)
                } else {
                    String::new()
                };
                let lb = if low_base {
                    format!(r#"<span class="lb">{LOW_BASE}</span>"#)
                } else {
                    String::new()
                };
                let ci = match (cell.gap_ci_low, cell.gap_ci_high) {
                    (Some(lo), Some(hi)) => format!(
                        " ({} to {})",
                        typo(show_signed(Some(lo))),
                        typo(show_signed(Some(hi)))
                    ),
                    _ => String::new(),
                };
                let (chg, q) = if series_break || cell.change_pp.is_none() {
                    (String::new(), String::new())
                } else {
                    (
                        typo(show_signed(cell.change_pp)),
                        escape_html(&show_p(cell.change_q_value)),
                    )
                };
                let _ = write!(
                    s,
                    r#"<tr><th scope="row">{brk}{wave}</th><td>{}</td><td>{}</td><td>{} / {}{lb}</td><td>{}{ci}</td><td>{chg}</td><td>{q}</td></tr>"#,
                    show(cell.a.pct),
                    show(cell.b.pct),
                    show_n(cell.a.n),
                    show_n(cell.b.n),
                    typo(show_signed(gap)),
                );
            }
        }
    }
    s.push_str("</tbody></table></div></details>");
}

/// One cell of the gap table.
fn gap_td(r: &Report, view: &CellView, prev_wave: Option<&str>, s: &mut String) {
    match view {
        CellView::Absent => {
            let _ = write!(
                s,
                r#"<td class="gap abs" title="no answers from both groups in this wave">{ABSENT}</td>"#
            );
        }
        CellView::Suppressed { series_break, .. } => {
            let class = if *series_break {
                "gap sup brk"
            } else {
                "gap sup"
            };
            let brk = if *series_break {
                format!(
                    r#"<span class="bk" title="new series: wording changed">{SERIES_BREAK}</span>"#
                )
            } else {
                String::new()
            };
            let _ = write!(
                s,
                r#"<td class="{class}" title="suppressed: a base is below {}">{brk}{}</td>"#,
                r.suppress_below,
                escape_html(&suppressed_label(r))
            );
        }
        CellView::Shown {
            gap,
            change,
            low_base,
            series_break,
            ..
        } => {
            let mut class = String::from("gap");
            if *series_break {
                class.push_str(" brk");
            }
            match change {
                Some(Change::Widened) => class.push_str(" up"),
                Some(Change::Narrowed) => class.push_str(" down"),
                None => {}
            }
            let _ = write!(s, r#"<td class="{class}">"#);
            if *series_break {
                let _ = write!(
                    s,
                    r#"<span class="bk" title="new series: wording changed">{SERIES_BREAK}</span>"#
                );
            }
            s.push_str(&typo(show_signed(*gap)));
            if *low_base {
                let _ = write!(
                    s,
                    r#"<span class="lb" title="low base: under {} respondents">{LOW_BASE}</span>"#,
                    r.min_base
                );
            } else {
                s.push_str(r#"<span class="lb"></span>"#);
            }
            let since = prev_wave
                .map(|p| format!(" since {}", escape_html(p)))
                .unwrap_or_default();
            match change {
                Some(Change::Widened) => {
                    let _ = write!(
                        s,
                        r#"<span class="mk up" title="widened significantly{since}">{WIDENED}</span>"#
                    );
                }
                Some(Change::Narrowed) => {
                    let _ = write!(
                        s,
                        r#"<span class="mk down" title="narrowed significantly{since}">{NARROWED}</span>"#
                    );
                }
                None => {
                    s.push_str(r#"<span class="mk"></span>"#);
                }
            }
            s.push_str("</td>");
        }
    }
}

fn table_head(r: &Report, first: &str, s: &mut String) {
    let _ = write!(s, r#"<thead><tr><th scope="col">{first}</th>"#);
    for w in &r.waves {
        let tip = w
            .title
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| format!(r#" title="{}""#, escape_html(t)))
            .unwrap_or_default();
        let _ = write!(
            s,
            r#"<th scope="col"{tip}>{}<small>{}</small></th>"#,
            escape_html(&w.wave),
            escape_html(&w.date)
        );
    }
    s.push_str("</tr></thead>");
}

/// `index.html` for the report.
pub fn render_html(r: &Report) -> String {
    let a = escape_html(&display_group(&r.group_a));
    let b = escape_html(&display_group(&r.group_b));
    let head_title = escape_html(&title(r));
    let mut s = String::with_capacity(64 * 1024);
    let _ = write!(
        s,
        concat!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
            "<meta name=\"color-scheme\" content=\"light\">\n",
            "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main class=\"page\">\n"
        ),
        head_title, STYLE
    );

    // Heading and lead.
    let _ = write!(
        s,
        concat!(
            "<header class=\"top\">\n<p class=\"eyebrow\">Survey trend report</p>\n<h1>{}</h1>\n",
            "<p class=\"lead\">The <strong>gap</strong> is the share of {a} who agree with a statement minus ",
            "the share of {b} who agree, in percentage points: <strong>+5</strong> means {a} agrees 5 points ",
            "more often than {b}, <strong>\u{2212}5</strong> that {b} agrees more often. The table follows each gap ",
            "from wave to wave and marks where it changed by more than sampling noise explains.</p>\n"
        ),
        head_title,
        a = a,
        b = b
    );
    s.push_str("<ul class=\"facts\">");
    if let (Some(first), Some(last)) = (r.waves.first(), r.waves.last()) {
        let _ = write!(
            s,
            "<li><b>{}</b> wave{} ({} to {})</li>",
            r.waves.len(),
            if r.waves.len() == 1 { "" } else { "s" },
            escape_html(&first.date),
            escape_html(&last.date)
        );
    } else {
        s.push_str("<li><b>0</b> waves</li>");
    }
    let _ = write!(
        s,
        "<li><b>{}</b> statement{}</li><li>Data version <b>{}</b></li></ul>\n</header>\n",
        r.statements.len(),
        if r.statements.len() == 1 { "" } else { "s" },
        r.data_version
    );

    let empty = r.waves.is_empty() || r.statements.is_empty();

    // The gap table.
    let _ = write!(
        s,
        "<section aria-labelledby=\"gaps-h\">\n<h2 id=\"gaps-h\">Gap by wave</h2>\n<p class=\"sub\">{a} \u{2212} {b}, percentage points. Waves in date order.</p>\n"
    );
    if empty {
        s.push_str(
            "<p class=\"empty\">No statement was asked of both groups in the loaded waves.</p>\n",
        );
    } else {
        if r.waves.len() > 2 {
            s.push_str("<p class=\"hint\">Swipe the table sideways to see every wave.</p>\n");
        }
        s.push_str("<div class=\"scroll\" role=\"region\" aria-label=\"Gap by wave\" tabindex=\"0\"><table class=\"wide\">");
        table_head(r, "Statement", &mut s);
        s.push_str("<tbody>");
        for (idx, st) in r.statements.iter().enumerate() {
            let _ = write!(
                s,
                "\n<tr><th scope=\"row\"><a href=\"#s{idx}\">{}</a></th>",
                escape_html(&st.text)
            );
            for w in &r.waves {
                let view = cell_view(r, st, &w.wave);
                let prev = match &view {
                    CellView::Shown { cell, .. } => cell.prev_wave.as_deref(),
                    _ => None,
                };
                gap_td(r, &view, prev, &mut s);
            }
            s.push_str("</tr>");
        }
        s.push_str("\n</tbody></table></div>\n");
        let _ = write!(
            s,
            concat!(
                "<ul class=\"legend\">",
                "<li><span class=\"sym up\">{}</span>widened significantly since the previous wave</li>",
                "<li><span class=\"sym down\">{}</span>narrowed significantly</li>",
                "<li><span class=\"sym\">&#160;</span>no significant change (q \u{2265} 0.05) or first wave</li>",
                "<li><span class=\"sym lb\">{}</span>low base (under {})</li>",
                "<li><span class=\"sym\">{}</span>suppressed (base under {})</li>",
                "<li><span class=\"sym\">{}</span>no answers from both groups (the statement was not in the wave, or a group had no respondent answering it)</li>",
                "<li><span class=\"sym bk\">{}</span>new wording, new series</li>",
                "</ul>\n"
            ),
            WIDENED,
            NARROWED,
            LOW_BASE,
            r.min_base,
            escape_html(&suppressed_label(r)),
            r.suppress_below,
            ABSENT,
            SERIES_BREAK
        );

        // Bases.
        let _ = write!(
            s,
            "<details><summary>Bases: respondents per group ({a} / {b})</summary>\n<div class=\"scroll\" role=\"region\" aria-label=\"Bases\" tabindex=\"0\"><table class=\"wide\">"
        );
        table_head(r, "Statement", &mut s);
        s.push_str("<tbody>");
        for st in &r.statements {
            let _ = write!(s, "\n<tr><th scope=\"row\">{}</th>", escape_html(&st.text));
            for w in &r.waves {
                match cell_view(r, st, &w.wave) {
                    CellView::Absent => {
                        let _ = write!(s, r#"<td class="abs">{ABSENT}</td>"#);
                    }
                    CellView::Suppressed { cell, .. } | CellView::Shown { cell, .. } => {
                        let lb = if cell.low_base {
                            format!(r#"<span class="lb">{LOW_BASE}</span>"#)
                        } else {
                            String::new()
                        };
                        let _ = write!(
                            s,
                            "<td>{} / {}{lb}</td>",
                            show_n(cell.a.n),
                            show_n(cell.b.n)
                        );
                    }
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("\n</tbody></table></div></details>\n");
    }
    s.push_str("</section>\n");

    // One card per statement.
    if !empty {
        s.push_str("<section aria-labelledby=\"st-h\">\n<h2 id=\"st-h\">Statements</h2>\n");
        let _ = write!(
            s,
            "<p class=\"sub\">Share agreeing in each group, 0\u{2013}100 %, with Wilson 95 % intervals; the number between the two points is the gap in points.</p>\n<div class=\"cards\">\n"
        );
        for (idx, st) in r.statements.iter().enumerate() {
            let _ = write!(
                s,
                "<article class=\"card\" id=\"s{idx}\">\n<div><h3>{}</h3><p class=\"id\">{}</p></div>\n",
                escape_html(&st.text),
                escape_html(&st.statement)
            );
            let any_shown = st.cells.iter().any(|c| !is_suppressed(r, c));
            let drawable = st.cells.iter().any(|c| {
                !is_suppressed(r, c)
                    && (c.a.pct.is_some_and(f64::is_finite) || c.b.pct.is_some_and(f64::is_finite))
            });
            if st.cells.is_empty() {
                s.push_str("<p class=\"empty\">No wave has answers from both groups to this statement.</p>\n");
            } else if !drawable {
                // Nothing to draw: say why instead of showing an empty chart.
                let why = if any_shown {
                    "No percentage is published for this statement."
                } else {
                    "Every wave of this statement is suppressed: a base is below the threshold."
                };
                let _ = writeln!(s, "<p class=\"empty\">{why}</p>");
                figures(r, st, &mut s);
                s.push('\n');
            } else {
                let has_break = r.waves.iter().enumerate().any(|(i, w)| {
                    i > 0
                        && matches!(
                            cell_view(r, st, &w.wave),
                            CellView::Shown {
                                series_break: true,
                                ..
                            } | CellView::Suppressed {
                                series_break: true,
                                ..
                            }
                        )
                });
                let has_low = r.waves.iter().any(|w| {
                    matches!(
                        cell_view(r, st, &w.wave),
                        CellView::Shown { low_base: true, .. }
                    )
                });
                chart_key(r, has_break, has_low, &mut s);
                chart(r, st, idx, &mut s);
                s.push('\n');
                summary(r, st, &mut s);
                s.push('\n');
                figures(r, st, &mut s);
                s.push('\n');
            }
            s.push_str("</article>\n");
        }
        s.push_str("</div>\n</section>\n");
    }

    // Segment breakdowns (`--by`).
    for (k, bd) in r.breakdowns.iter().enumerate() {
        let Some(wave) = bd.latest_wave.as_deref() else {
            continue;
        };
        let seg = escape_html(&bd.segment);
        let _ = write!(
            s,
            "<section aria-labelledby=\"by{k}-h\">\n<h2 id=\"by{k}-h\">Gap by {seg}</h2>\n<p class=\"sub\">Wave {}: {a} \u{2212} {b}, percentage points, within each {seg}; bases {a} / {b} below each gap.</p>\n",
            escape_html(wave)
        );
        let _ = write!(
            s,
            "<div class=\"scroll\" role=\"region\" aria-label=\"Gap by {seg}\" tabindex=\"0\"><table class=\"wide\"><thead><tr><th scope=\"col\">Statement</th>"
        );
        for v in &bd.values {
            let _ = write!(s, "<th scope=\"col\">{}</th>", escape_html(v));
        }
        s.push_str("</tr></thead><tbody>");
        for (_, text, cells) in breakdown_table(bd) {
            let _ = write!(s, "\n<tr><th scope=\"row\">{}</th>", escape_html(text));
            for cell in cells {
                match cell {
                    None => {
                        let _ = write!(s, r#"<td class="abs">{ABSENT}</td>"#);
                    }
                    Some(x) => {
                        let _ = write!(
                            s,
                            "<td class=\"gap\">{}<small>{} / {}</small></td>",
                            escape_html(&typo(breakdown_gap(r, Some(x)))),
                            x.n_a,
                            x.n_b
                        );
                    }
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("\n</tbody></table></div>\n</section>\n");
    }

    // Methods.
    s.push_str(
        "<section class=\"methods\" aria-labelledby=\"m-h\">\n<h2 id=\"m-h\">Methods</h2>\n",
    );
    let mut closing = Vec::new();
    for (head, body) in methods(r) {
        if head.is_empty() {
            closing.push(escape_html(&body));
        } else {
            let _ = writeln!(
                s,
                "<p><b>{}.</b> {}</p>",
                escape_html(head),
                escape_html(&body)
            );
        }
    }
    s.push_str("</section>\n");
    let _ = write!(
        s,
        "<footer>{}</footer>\n</main>\n</body>\n</html>\n",
        closing.join(" ")
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(n: i64, pct: f64) -> GroupEstimate {
        GroupEstimate {
            n: Some(n),
            pct: Some(pct),
            ci_low: Some(pct - 5.0),
            ci_high: Some(pct + 5.0),
        }
    }

    fn cell(wave: &str, a: GroupEstimate, b: GroupEstimate) -> TrendCell {
        let gap = a.pct.zip(b.pct).map(|(x, y)| x - y);
        TrendCell {
            wave: wave.into(),
            date: format!("{wave}-03-01"),
            a,
            b,
            gap_pp: gap,
            gap_ci_low: gap.map(|g| g - 6.0),
            gap_ci_high: gap.map(|g| g + 6.0),
            gap_p_value: gap.map(|_| 0.01),
            change_pp: None,
            change_p_value: None,
            change_q_value: None,
            trend: None,
            prev_wave: None,
            low_base: false,
            suppressed: false,
            series_break: false,
        }
    }

    fn report() -> Report {
        let waves = ["2020", "2021", "2022"]
            .iter()
            .map(|w| WaveInfo {
                wave: w.to_string(),
                date: format!("{w}-03-01"),
                title: Some(format!("Wave <{w}>")),
                kind: "microdata".into(),
            })
            .collect();
        let mut c2 = cell("2021", est(300, 70.0), est(300, 40.0));
        c2.change_pp = Some(20.0);
        c2.change_q_value = Some(0.004);
        c2.trend = Some("widened".into());
        c2.prev_wave = Some("2020".into());
        let mut c3 = cell("2022", est(5, 50.0), est(300, 45.0));
        c3.a.pct = None;
        c3.suppressed = true;
        c3.low_base = true;
        c3.gap_pp = None;
        let mut brk = cell("2022", est(200, 60.0), est(200, 30.0));
        brk.series_break = true;
        let mut nar = cell("2021", est(200, 50.0), est(200, 48.0));
        nar.trend = Some("narrowed".into());
        nar.change_pp = Some(-9.0);
        Report {
            group_a: "r&d <lab>".into(),
            group_b: "sales 'east'".into(),
            waves,
            statements: vec![
                StatementTrend {
                    statement: "s1".into(),
                    text: "Leads are \"good\" & <b>timely</b>".into(),
                    cells: vec![cell("2020", est(300, 60.0), est(300, 50.0)), c2, c3],
                },
                StatementTrend {
                    statement: "s2".into(),
                    text: "Once".into(),
                    cells: vec![cell("2021", est(100, 20.0), est(100, 30.0))],
                },
                StatementTrend {
                    statement: "s3".into(),
                    text: "Reworded".into(),
                    cells: vec![cell("2020", est(200, 55.0), est(200, 45.0)), nar, brk],
                },
            ],
            min_base: 30,
            suppress_below: 10,
            data_version: 9,
            variance: "linearized".into(),
            breakdowns: vec![],
        }
    }

    fn card(html: &str, idx: usize) -> &str {
        let start = html
            .find(&format!("<article class=\"card\" id=\"s{idx}\">"))
            .unwrap();
        let end = start + html[start..].find("</article>").unwrap();
        &html[start..end]
    }

    #[test]
    fn self_contained_no_urls_or_scripts() {
        let html = render_html(&report());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.ends_with("</html>\n"));
        let lower = html.to_lowercase();
        for banned in [
            "http", "//", "<script", "<link", "<img", "@import", "url(", "src=",
        ] {
            assert!(!lower.contains(banned), "page contains {banned}");
        }
        assert!(html.contains("<style>"));
        assert!(html.contains("name=\"viewport\""));
    }

    #[test]
    fn escapes_all_text() {
        let html = render_html(&report());
        assert!(html.contains(
            "<h1>R&amp;d &lt;lab&gt; vs Sales &#39;east&#39;: agreement gap by wave</h1>"
        ));
        assert!(html.contains("Leads are &quot;good&quot; &amp; &lt;b&gt;timely&lt;/b&gt;"));
        assert!(!html.contains("<b>timely"));
        assert!(!html.contains("<lab>"));
        assert!(html.contains("title=\"Wave &lt;2021&gt;\""));
    }

    #[test]
    fn gap_table_cells() {
        let html = render_html(&report());
        let row = &html[html.find("<a href=\"#s0\">").unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(
            row.contains(
                "<td class=\"gap\">+10.0<span class=\"lb\"></span><span class=\"mk\"></span></td>"
            ),
            "{row}"
        );
        assert!(row.contains("<td class=\"gap up\">+30.0<span class=\"lb\"></span><span class=\"mk up\" title=\"widened significantly since 2020\">▲</span></td>"), "{row}");
        assert!(
            row.contains(
                "<td class=\"gap sup\" title=\"suppressed: a base is below 10\">n&lt;10</td>"
            ),
            "{row}"
        );
        let row2 = &html[html.find("<a href=\"#s1\">").unwrap()..];
        let row2 = &row2[..row2.find("</tr>").unwrap()];
        assert!(row2.contains(
            "<td class=\"gap abs\" title=\"no answers from both groups in this wave\">—</td>"
        ));
        assert!(
            row2.contains("\u{2212}10.0"),
            "negative gap with a minus sign: {row2}"
        );
        let row3 = &html[html.find("<a href=\"#s2\">").unwrap()..];
        let row3 = &row3[..row3.find("</tr>").unwrap()];
        assert!(row3.contains(
            "<td class=\"gap down\">+2.0<span class=\"lb\"></span><span class=\"mk down\""
        ));
        assert!(row3.contains("<td class=\"gap brk\"><span class=\"bk\" title=\"new series: wording changed\">‖</span>+30.0"));
    }

    #[test]
    fn charts_have_accessible_names_groups_and_bands() {
        let html = render_html(&report());
        let c0 = card(&html, 0);
        assert!(c0.contains("role=\"img\" aria-labelledby=\"c0-t c0-d\""));
        assert!(c0.contains("<title id=\"c0-t\">Agreement with “Leads are &quot;good&quot; &amp; &lt;b&gt;timely&lt;/b&gt;”"));
        assert!(c0.contains("viewBox=\"0 0 360 240\""));
        assert!(c0.contains("<span class=\"ga\">R&amp;d &lt;lab&gt;</span>"));
        assert!(c0.contains("<span class=\"gb\">Sales &#39;east&#39;</span>"));
        // Two waves drawn for each group: one band each, one line each.
        assert_eq!(c0.matches("<polygon class=\"ba\"").count(), 1);
        assert_eq!(c0.matches("<polygon class=\"bb\"").count(), 1);
        assert_eq!(c0.matches("<polyline class=\"la\"").count(), 1);
        // Gap labels: +10 in 2020, +30▲ in 2021.
        assert!(c0.contains(">+10</text>"));
        assert!(c0.contains("class=\"gl up\""));
        assert!(c0.contains(">+30▲</text>"));
        // The suppressed wave draws no point, only a note.
        assert_eq!(c0.matches("<circle class=\"pa\"").count(), 2);
        assert_eq!(c0.matches("<rect class=\"pb\"").count(), 2);
        assert!(c0.contains("<text class=\"na\""));
        assert!(c0.contains("2022: suppressed (n&lt;10)"));
    }

    #[test]
    fn single_wave_statement_uses_whiskers_and_no_line() {
        let html = render_html(&report());
        let c1 = card(&html, 1);
        assert_eq!(c1.matches("<polyline").count(), 0);
        assert_eq!(c1.matches("<polygon").count(), 0);
        assert_eq!(c1.matches("<rect class=\"ba one\"").count(), 1);
        assert_eq!(c1.matches("<rect class=\"bb one\"").count(), 1);
        assert_eq!(c1.matches("<circle class=\"pa\"").count(), 1);
        assert!(c1.contains(">\u{2212}10</text>"));
    }

    #[test]
    fn low_base_points_are_hollow_and_keyed() {
        let mut r = report();
        r.statements[1].cells[0].low_base = true;
        r.statements[1].cells[0].a.n = Some(20);
        let html = render_html(&r);
        let c1 = card(&html, 1);
        assert!(c1.contains("<circle class=\"pa lo\""));
        assert!(c1.contains("<rect class=\"pb lo\""));
        assert!(c1.contains("low base (under 30)</li>"));
        assert!(c1.contains("n = 20 (low base)"));
        assert!(!card(&html, 0).contains("low base (under 30)</li>"));
    }

    #[test]
    fn series_break_is_a_dashed_rule_and_splits_lines() {
        let html = render_html(&report());
        let c2 = card(&html, 2);
        assert_eq!(c2.matches("<line class=\"brk\"").count(), 1);
        assert!(c2.contains("new wording"));
        // Line for 2020-2021 only; 2022 stands alone (whisker, not band).
        assert_eq!(c2.matches("<polyline class=\"la\"").count(), 1);
        assert_eq!(c2.matches("<rect class=\"ba one\"").count(), 1);
        assert!(!card(&html, 1).contains("class=\"brk\""));
    }

    #[test]
    fn statement_without_drawable_values_has_no_chart() {
        let mut r = report();
        for c in &mut r.statements[1].cells {
            c.suppressed = true;
            c.a.pct = None;
            c.b.pct = None;
        }
        let html = render_html(&r);
        let c1 = card(&html, 1);
        assert!(!c1.contains("<svg class=\"chart\""));
        assert!(c1.contains("Every wave of this statement is suppressed"));
        assert!(c1.contains("<summary>Figures</summary>"));
    }

    #[test]
    fn methods_and_version() {
        let html = render_html(&report());
        assert!(html.contains("<h2 id=\"m-h\">Methods</h2>"));
        assert!(html.contains("Benjamini–Hochberg"));
        assert!(html.contains("Newcombe"));
        assert!(html.contains("variance method is linearized"));
        assert!(html.contains("<footer>Built from data version 9.</footer>"));
        assert!(html.contains("Built from data version 9."));
    }

    #[test]
    fn all_missing_and_empty_reports_render() {
        let mut r = report();
        for st in &mut r.statements {
            for c in &mut st.cells {
                c.a = GroupEstimate {
                    n: None,
                    pct: None,
                    ci_low: None,
                    ci_high: None,
                };
                c.b = c.a.clone();
                c.gap_pp = None;
                c.gap_ci_low = None;
                c.gap_ci_high = None;
                c.suppressed = false;
                c.trend = None;
            }
        }
        let html = render_html(&r);
        assert!(html.contains("n/a"));
        assert!(!html.contains("<circle class=\"pa\""));
        r.statements.clear();
        r.waves.clear();
        let html = render_html(&r);
        assert!(html.contains("No statement was asked"));
        assert!(html.contains("Built from data version 9."));
    }

    #[test]
    fn byte_stable() {
        assert_eq!(render_html(&report()), render_html(&report()));
    }
}
