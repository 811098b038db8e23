//! The chart files `charts/<statement>.svg` and `.png`: the chart of the page as a
//! standalone picture sized for slides (16:9), with the statement as its title, the key
//! and the source. The SVG carries its own style sheet; the PNG is rendered from it
//! in-process (`resvg`) with the fonts bundled in the binary (DejaVu Sans, never the
//! machine's), so the same store state gives the same bytes everywhere.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use super::chart::{body, chart_title, key_entries, text_alternative, Frame};
use super::model::*;
use super::view::*;

/// The drawing's size in `viewBox` units; the files are twice that in pixels.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 360.0;
const MARGIN: f64 = 24.0;
const FONT: &str = "DejaVu Sans";

/// The style of a standalone chart: the page's chart style with its colours spelled out.
const STYLE: &str = concat!(
    "text{font-family:'DejaVu Sans',Verdana,sans-serif;font-size:10px;fill:#59636e}",
    ".t{font-size:17px;font-weight:bold;fill:#1c2128}.s{font-size:11px}.k{fill:#3b434b}",
    ".f{font-size:9px;fill:#8c959f}.grid{stroke:#e3e7eb;stroke-width:1}",
    ".axis{stroke:#aab2ba;stroke-width:1}.ylab{text-anchor:end}",
    ".xlab{text-anchor:middle;fill:#3b434b}",
    ".la{fill:none;stroke:#0072b2;stroke-width:2.5;stroke-linejoin:round;stroke-linecap:round}",
    ".lb2{fill:none;stroke:#d55e00;stroke-width:2.5;stroke-linejoin:round;stroke-linecap:round;stroke-dasharray:7 4}",
    ".ba{fill:#0072b2;fill-opacity:.14;stroke:none}.bb{fill:#d55e00;fill-opacity:.14;stroke:none}",
    ".pa{fill:#0072b2;stroke:#fff;stroke-width:1.5}.pb{fill:#d55e00;stroke:#fff;stroke-width:1.5}",
    ".pa.lo{fill:#fff;stroke:#0072b2;stroke-width:2}.pb.lo{fill:#fff;stroke:#d55e00;stroke-width:2}",
    ".conn{stroke:#8c959f;stroke-width:1;stroke-dasharray:2 3}",
    ".gl{font-weight:bold;fill:#2f363d}.gl.up{fill:#a8361a}.gl.down{fill:#0b6b57}",
    ".brk{stroke:#6d4fc2;stroke-width:1.5;stroke-dasharray:5 4}",
    ".na{fill:#8c959f;text-anchor:middle}",
);

/// Whether the chart of `st` has anything to draw (a percentage in a shown wave).
pub fn drawable(st: &StatementTrend) -> bool {
    st.cells.iter().any(|c| {
        !c.suppressed
            && (c.a.pct.is_some_and(f64::is_finite) || c.b.pct.is_some_and(f64::is_finite))
    })
}

/// The file name of a statement's chart (without extension): its id, with anything but
/// letters, digits, `-`, `_` and `.` replaced by `_`.
pub fn file_stem(statement: &str) -> String {
    let stem: String = statement
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.') {
                ch
            } else {
                '_'
            }
        })
        .collect();
    match stem.trim_start_matches('.') {
        "" => "_".to_string(),
        s => s.to_string(),
    }
}

/// The standalone SVG of the chart of `st`.
pub fn chart_svg(r: &Report, st: &StatementTrend) -> String {
    let mut s = String::with_capacity(16 * 1024);
    let _ = write!(
        s,
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{pw}" height="{ph}" viewBox="0 0 {w} {h}" role="img">"#,
            "<title>{}</title><desc>{}</desc><style>{}</style>",
            r##"<rect width="{w}" height="{h}" fill="#fff"/>"##
        ),
        escape_html(&chart_title(r, st)),
        escape_html(&text_alternative(r, st)),
        STYLE,
        pw = WIDTH * 2.0,
        ph = HEIGHT * 2.0,
        w = WIDTH,
        h = HEIGHT,
    );
    let mut y = MARGIN;
    for line in wrap(&st.text, 58, 3) {
        y += 19.0;
        let _ = write!(
            s,
            r#"<text class="t" x="{MARGIN}" y="{y}">{}</text>"#,
            escape_html(&line)
        );
    }
    y += 18.0;
    let _ = write!(
        s,
        r#"<text class="s" x="{MARGIN}" y="{y}">{}</text>"#,
        escape_html(&format!(
            "Agree, % of each group, with 95 % intervals; gap = {} \u{2212} {}, points",
            group_label(r, &r.group_a),
            group_label(r, &r.group_b)
        ))
    );
    y += 8.0;
    y = svg_key(r, st, y, &mut s);
    let footer = footer(r);
    let bottom = if footer.is_empty() { MARGIN } else { 34.0 };
    let mut f = Frame::new(r, st, WIDTH - 2.0 * MARGIN + 12.0, 0.0);
    f.height = (HEIGHT - y - bottom).max(f.top + 60.0);
    let _ = write!(s, r#"<g transform="translate({},{y})">"#, MARGIN - 12.0);
    body(r, st, &f, &mut s);
    s.push_str("</g>");
    if !footer.is_empty() {
        let _ = write!(
            s,
            r#"<text class="f" x="{MARGIN}" y="{}">{}</text>"#,
            HEIGHT - 14.0,
            escape_html(&footer)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The line under a chart: the publisher's source and byline.
fn footer(r: &Report) -> String {
    let mut parts = Vec::new();
    if let Some(src) = r.words.source.as_deref().filter(|t| !t.trim().is_empty()) {
        parts.push(format!("Source: {}", src.trim()));
    }
    if let Some(by) = r.words.byline.as_deref().filter(|t| !t.trim().is_empty()) {
        parts.push(by.trim().to_string());
    }
    parts.join(" \u{b7} ")
}

/// The key as SVG, one line from `y`; returns the y below it.
fn svg_key(r: &Report, st: &StatementTrend, y: f64, s: &mut String) -> f64 {
    let (has_break, has_low) = key_entries(r, st);
    let ty = y + 14.0;
    let my = y + 10.0;
    let mut x = MARGIN;
    let mut entry = |mark: String, label: &str, s: &mut String| {
        s.push_str(&mark.replace("{x}", &x.to_string()));
        let _ = write!(
            s,
            r#"<text class="k" x="{}" y="{ty}">{}</text>"#,
            x + 30.0,
            escape_html(label)
        );
        x += 30.0 + label.chars().count() as f64 * 6.0 + 18.0;
    };
    let line = |class: &str, point: &str| {
        format!(
            r#"<g transform="translate({{x}},{my})"><line class="{class}" x1="0" x2="24" y1="0" y2="0"/>{point}</g>"#
        )
    };
    entry(
        line("la", r#"<circle class="pa" cx="12" cy="0" r="4"/>"#),
        &group_label(r, &r.group_a),
        s,
    );
    entry(
        line(
            "lb2",
            r#"<rect class="pb" x="8.25" y="-3.75" width="7.5" height="7.5"/>"#,
        ),
        &group_label(r, &r.group_b),
        s,
    );
    entry(
        format!(
            r#"<g transform="translate({{x}},{})"><rect class="ba" x="2" width="10" height="10"/><rect class="bb" x="12" width="10" height="10"/></g>"#,
            my - 5.0
        ),
        "95 % interval",
        s,
    );
    if has_low {
        entry(
            format!(
                r#"<circle class="pa lo" cx="{{x}}" cy="{my}" r="4" transform="translate(12,0)"/>"#
            ),
            &format!("low base ({})", under(r, r.min_base)),
            s,
        );
    }
    if has_break {
        entry(
            format!(
                r#"<line class="brk" x1="{{x}}" x2="{{x}}" y1="{}" y2="{}" transform="translate(12,0)"/>"#,
                my - 7.0,
                my + 7.0
            ),
            "new wording",
            s,
        );
    }
    y + 22.0
}

/// `text` in lines of at most `width` characters (broken at spaces), at most `max` lines,
/// the last one shortened with an ellipsis when the text is longer.
fn wrap(text: &str, width: usize, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    if lines.len() > max {
        lines.truncate(max);
        let last = &mut lines[max - 1];
        let keep: String = last.chars().take(width.saturating_sub(1)).collect();
        *last = format!("{}\u{2026}", keep.trim_end());
    }
    lines
}

/// The fonts every PNG is rendered with, parsed once.
fn fonts() -> Arc<resvg::usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = resvg::usvg::fontdb::Database::new();
            db.load_font_data(include_bytes!("../../assets/fonts/DejaVuSans.ttf").to_vec());
            db.load_font_data(include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf").to_vec());
            db.set_sans_serif_family(FONT);
            Arc::new(db)
        })
        .clone()
}

/// The PNG of a standalone chart SVG, at the SVG's pixel size.
pub fn chart_png(svg: &str) -> std::result::Result<Vec<u8>, String> {
    let opt = resvg::usvg::Options {
        font_family: FONT.to_string(),
        fontdb: fonts(),
        ..Default::default()
    };
    let tree = resvg::usvg::Tree::from_str(svg, &opt).map_err(|e| e.to_string())?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or("the chart has no area")?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_wrap_at_spaces_and_end_with_an_ellipsis() {
        assert_eq!(wrap("aa bb cc", 5, 3), vec!["aa bb", "cc"]);
        assert_eq!(wrap("aa bb cc dd", 2, 2), vec!["aa", "b\u{2026}"]);
        assert_eq!(wrap("  ", 5, 3), Vec::<String>::new());
    }

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(file_stem("work_well_together"), "work_well_together");
        assert_eq!(file_stem("a/b c.é"), "a_b_c._");
        assert_eq!(file_stem("../x"), "_x");
        assert_eq!(file_stem(""), "_");
    }

    #[test]
    fn a_png_is_rendered_with_the_bundled_font_the_same_every_time() {
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="80" height="20"><text x="2" y="15" font-size="14">Gap +5</text></svg>"#;
        let one = chart_png(svg).unwrap();
        assert_eq!(one, chart_png(svg).unwrap());
        // The text is drawn: the same picture without it is smaller.
        let blank = chart_png(&svg.replace("Gap +5", "")).unwrap();
        assert!(
            one.len() > blank.len() + 100,
            "{} vs {}",
            one.len(),
            blank.len()
        );
        assert!(chart_png("<svg").is_err());
    }
}
