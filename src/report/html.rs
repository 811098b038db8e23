//! `index.html`: one self-contained page with the gap table and a chart per statement.
//!
//! Everything is inline: the style sheet (`report.css`), the SVG charts (`chart`). The
//! page loads nothing (no script, font, image or style sheet from elsewhere) and works
//! offline. Layout is responsive: a centred column on a laptop, one column on a phone,
//! wide tables scroll sideways inside their own box, and the charts scale with their
//! `viewBox`. The cells, the numbers and the wording come from `view`, shared with
//! `trend.md`.

use std::fmt::Write as _;

use super::chart::{chart, key};
use super::model::*;
use super::view::*;

/// The style sheet of the page, inlined in its `<style>` element.
const STYLE: &str = include_str!("report.css");

/// `index.html` for the report, linking the other files of its publication (`links`,
/// file names next to it).
pub fn render_html(r: &Report, links: &[String]) -> String {
    let mut s = String::with_capacity(64 * 1024);
    page_head(r, &mut s);
    heading(r, &mut s);
    theme_section(r, &mut s);
    gap_section(r, &mut s);
    slope_section(r, &mut s);
    baseline_section(r, &mut s);
    let (charts, data): (Vec<String>, Vec<String>) = links
        .iter()
        .cloned()
        .partition(|l| l.starts_with("charts/"));
    if !(r.waves.is_empty() || r.statements.is_empty()) {
        statement_cards(r, &charts, &mut s);
    }
    for (k, bd) in r.breakdowns.iter().enumerate() {
        breakdown_section(r, k, bd, &mut s);
    }
    notes(r, &mut s);
    data_links(&data, &mut s);
    methods_and_footer(r, &mut s);
    s
}

/// The group names of the pair as the page shows them (escaped).
fn groups(r: &Report) -> (String, String) {
    (
        escape_html(&group_label(r, &r.group_a)),
        escape_html(&group_label(r, &r.group_b)),
    )
}

/// The document head with the inline style sheet, up to the opening of the page.
fn page_head(r: &Report, s: &mut String) {
    let _ = write!(
        s,
        concat!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
            "<meta name=\"color-scheme\" content=\"light\">\n",
            "<title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n<main class=\"page\">\n"
        ),
        escape_html(&title(r)),
        STYLE
    );
}

/// The heading, the lead paragraph on reading a gap, and the key facts.
fn heading(r: &Report, s: &mut String) {
    let (a, b) = groups(r);
    let _ = write!(
        s,
        concat!(
            "<header class=\"top\">\n<p class=\"eyebrow\">Survey trend report</p>\n<h1>{}</h1>\n",
            "<p class=\"lead\">The <strong>gap</strong> is the share of {a} who agree with a statement minus ",
            "the share of {b} who agree, in percentage points: <strong>+5</strong> means {a} agrees 5 points ",
            "more often than {b}, <strong>\u{2212}5</strong> that {b} agrees more often. The table follows each gap ",
            "from wave to wave and marks where it changed by more than sampling noise explains.</p>\n"
        ),
        escape_html(&title(r)),
        a = a,
        b = b
    );
    if let Some(sub) = &r.words.subtitle {
        let _ = writeln!(s, "<p class=\"subtitle\">{}</p>", escape_html(sub));
    }
    if let Some(by) = &r.words.byline {
        let _ = writeln!(s, "<p class=\"byline\">{}</p>", escape_html(by));
    }
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
        "<li><b>{}</b> statement{}</li></ul>\n</header>\n",
        r.statements.len(),
        if r.statements.len() == 1 { "" } else { "s" },
    );
}

/// The gap section: the gap table with its legend and the bases, or a note when the
/// pair has nothing to show.
fn gap_section(r: &Report, s: &mut String) {
    let (a, b) = groups(r);
    let _ = write!(
        s,
        "<section aria-labelledby=\"gaps-h\">\n<h2 id=\"gaps-h\">Gap by wave</h2>\n<p class=\"sub\">{a} \u{2212} {b}, percentage points. Waves in date order.</p>\n"
    );
    if r.waves.is_empty() || r.statements.is_empty() {
        s.push_str(
            "<p class=\"empty\">No statement was asked of both groups in the loaded waves.</p>\n",
        );
    } else {
        latest_table(r, s);
        gap_table(r, s);
        legend(r, s);
        wording(r, s);
        bases_table(r, s);
    }
    s.push_str("</section>\n");
}

/// The change of each gap since the chosen wave (`report --baseline`).
fn baseline_section(r: &Report, s: &mut String) {
    let Some(title) = baseline_title(r) else {
        return;
    };
    let _ = write!(
        s,
        concat!(
            "<section aria-labelledby=\"bl-h\">\n<h2 id=\"bl-h\">{}</h2>\n<p class=\"sub\">{}</p>\n",
            "<div class=\"scroll\" role=\"region\" aria-label=\"{}\" tabindex=\"0\"><table class=\"wide\"><thead><tr>",
            "<th scope=\"col\">Statement</th><th scope=\"col\">Wave</th><th scope=\"col\">Gap then</th>",
            "<th scope=\"col\">Gap now</th><th scope=\"col\">Change</th><th scope=\"col\">q</th>",
            "<th scope=\"col\">Trend</th></tr></thead><tbody>"
        ),
        escape_html(&title),
        escape_html(BASELINE_NOTE),
        escape_html(&title)
    );
    for (st, x) in baseline_latest(r) {
        let _ = write!(s, "\n<tr><th scope=\"row\">{}</th>", escape_html(&st.text));
        for c in baseline_cells(r, x) {
            let _ = write!(s, "<td>{}</td>", escape_html(&c));
        }
        s.push_str("</tr>");
    }
    s.push_str("\n</tbody></table></div>\n</section>\n");
}

/// The themes, first: a headline per theme, then its index per wave.
fn theme_section(r: &Report, s: &mut String) {
    let themes = themes_of(r);
    if themes.is_empty() {
        return;
    }
    let (a, b) = (
        escape_html(&group_label(r, &r.group_a)),
        escape_html(&group_label(r, &r.group_b)),
    );
    let _ = write!(
        s,
        "<section aria-labelledby=\"th-h\">\n<h2 id=\"th-h\">Themes</h2>\n<p class=\"sub\">{}</p>\n<ul>",
        escape_html(THEME_NOTE)
    );
    for (_, rows) in &themes {
        let _ = write!(s, "\n<li>{}</li>", escape_html(&theme_headline(r, rows)));
    }
    let _ = write!(
        s,
        concat!(
            "\n</ul>\n<div class=\"scroll\" role=\"region\" aria-label=\"Themes\" tabindex=\"0\">",
            "<table class=\"wide\"><thead><tr><th scope=\"col\">Theme</th><th scope=\"col\">Wave</th>",
            "<th scope=\"col\">{} %</th><th scope=\"col\">{} %</th><th scope=\"col\">Gap</th>",
            "<th scope=\"col\">Change</th><th scope=\"col\">q</th><th scope=\"col\">Trend</th></tr></thead><tbody>"
        ),
        a, b
    );
    for (theme, rows) in &themes {
        for x in rows {
            let _ = write!(
                s,
                "\n<tr><th scope=\"row\">{}</th><td>{}</td>",
                escape_html(theme),
                escape_html(wave_label(r, &x.wave))
            );
            for c in theme_cells(x) {
                let _ = write!(s, "<td>{}</td>", escape_html(&c));
            }
            s.push_str("</tr>");
        }
    }
    s.push_str("\n</tbody></table></div>\n</section>\n");
}

/// The trend of each statement's gap across all waves (a row per series).
fn slope_section(r: &Report, s: &mut String) {
    if r.slopes.is_empty() {
        return;
    }
    let _ = write!(
        s,
        concat!(
            "<section aria-labelledby=\"sl-h\">\n<h2 id=\"sl-h\">Trend across all waves</h2>\n",
            "<p class=\"sub\">{}</p>\n<div class=\"scroll\" role=\"region\" aria-label=\"Trend across all waves\" tabindex=\"0\">",
            "<table class=\"wide\"><thead><tr><th scope=\"col\">Statement</th><th scope=\"col\">Waves</th>",
            "<th scope=\"col\">Points per year</th><th scope=\"col\">95 % CI</th><th scope=\"col\">q</th>",
            "<th scope=\"col\">Trend</th></tr></thead><tbody>"
        ),
        escape_html(SLOPE_NOTE)
    );
    for st in &r.statements {
        for x in slopes_of(r, &st.statement) {
            let cells = slope_cells(r, x);
            let _ = write!(s, "\n<tr><th scope=\"row\">{}</th>", escape_html(&st.text));
            for c in &cells {
                let _ = write!(s, "<td>{}</td>", escape_html(c));
            }
            s.push_str("</tr>");
        }
    }
    s.push_str("\n</tbody></table></div>\n</section>\n");
}

/// The phone's first view of the gap table (hidden on wider screens and in print): the
/// latest wave's gap and its change since the wave before, without sideways scrolling.
fn latest_table(r: &Report, s: &mut String) {
    let Some(w) = r.waves.last() else {
        return;
    };
    let _ = write!(
        s,
        concat!(
            "<div class=\"latest\"><table><thead><tr><th scope=\"col\">Statement</th>",
            "<th scope=\"col\">{}<small>{}</small></th><th scope=\"col\">Change<small>points</small></th>",
            "</tr></thead><tbody>"
        ),
        escape_html(wave_label(r, &w.wave)),
        escape_html(&w.date)
    );
    for (idx, st) in r.statements.iter().enumerate() {
        let view = cell_view(st, &w.wave);
        let _ = write!(
            s,
            "\n<tr><th scope=\"row\"><a href=\"#s{idx}\">{}</a></th>",
            escape_html(&st.text)
        );
        let (prev, change) = match &view {
            CellView::Shown(v) => (v.cell.prev_wave.as_deref(), v.cell.change_pp),
            _ => (None, None),
        };
        gap_td(r, &view, prev, s);
        let change = change.and_then(|v| signed(v, DISPLAY_DECIMALS)).map(typo);
        let _ = write!(s, "<td>{}</td></tr>", change.as_deref().unwrap_or(ABSENT));
    }
    s.push_str("\n</tbody></table></div>\n");
    if r.waves.len() > 1 {
        s.push_str("<p class=\"hint\">Every wave: swipe the table below sideways.</p>\n");
    }
}

/// The gap table: statements as rows (linked to their card), waves as columns.
fn gap_table(r: &Report, s: &mut String) {
    s.push_str("<div class=\"scroll\" role=\"region\" aria-label=\"Gap by wave\" tabindex=\"0\"><table class=\"wide\">");
    table_head(r, "Statement", s);
    s.push_str("<tbody>");
    for (idx, st) in r.statements.iter().enumerate() {
        let _ = write!(
            s,
            "\n<tr><th scope=\"row\"><a href=\"#s{idx}\">{}</a></th>",
            escape_html(&st.text)
        );
        for w in &r.waves {
            let view = cell_view(st, &w.wave);
            let prev = match &view {
                CellView::Shown(v) => v.cell.prev_wave.as_deref(),
                _ => None,
            };
            gap_td(r, &view, prev, s);
        }
        s.push_str("</tr>");
    }
    s.push_str("\n</tbody></table></div>\n");
}

/// The legend under the gap table: every marker it may show.
fn legend(r: &Report, s: &mut String) {
    let _ = write!(
        s,
        concat!(
            "<ul class=\"legend\">",
            "<li><span class=\"sym up\">{}</span>widened significantly since the previous wave</li>",
            "<li><span class=\"sym down\">{}</span>narrowed significantly</li>",
            "<li><span class=\"sym\">&#160;</span>no significant change (q \u{2265} 0.05) or first wave</li>",
            "<li><span class=\"sym lb\">{}</span>low base ({})</li>",
            "<li><span class=\"sym\">{}</span>suppressed (base {})</li>",
            "<li><span class=\"sym\">{}</span>no answers from both groups (the statement was not in the wave, or a group had no respondent answering it)</li>",
            "<li><span class=\"sym bk\">{}</span>new wording, new series</li>",
            "</ul>\n"
        ),
        WIDENED,
        NARROWED,
        LOW_BASE,
        under(r, r.min_base),
        escape_html(&suppressed_label(r)),
        under(r, r.suppress_below),
        ABSENT,
        SERIES_BREAK
    );
}

/// The bases per statement and wave, collapsed under the gap table.
fn bases_table(r: &Report, s: &mut String) {
    let (a, b) = groups(r);
    let _ = write!(
        s,
        "<details><summary>Bases: respondents per group ({a} / {b})</summary>\n<div class=\"scroll\" role=\"region\" aria-label=\"Bases\" tabindex=\"0\"><table class=\"wide\">"
    );
    table_head(r, "Statement", s);
    s.push_str("<tbody>");
    for st in &r.statements {
        let _ = write!(s, "\n<tr><th scope=\"row\">{}</th>", escape_html(&st.text));
        for w in &r.waves {
            match cell_view(st, &w.wave) {
                CellView::Absent => {
                    let _ = write!(s, r#"<td class="abs">{ABSENT}</td>"#);
                }
                CellView::Suppressed { cell, .. } | CellView::Shown(Shown { cell, .. }) => {
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

/// The statements section: one card per statement.
fn statement_cards(r: &Report, charts: &[String], s: &mut String) {
    s.push_str("<section aria-labelledby=\"st-h\">\n<h2 id=\"st-h\">Statements</h2>\n");
    let _ = write!(
        s,
        "<p class=\"sub\">Share agreeing in each group, 0\u{2013}100 %, with Wilson 95 % intervals; the number above each wave is the gap in points.</p>\n<div class=\"cards\">\n"
    );
    for (idx, st) in r.statements.iter().enumerate() {
        statement_card(r, st, idx, charts, s);
    }
    s.push_str("</div>\n</section>\n");
}

/// Links to the chart files of `st` under its card, where the publication has them.
fn chart_links(st: &StatementTrend, charts: &[String], s: &mut String) {
    let stem = super::chart_file::file_stem(&st.statement);
    let (svg, png) = (format!("charts/{stem}.svg"), format!("charts/{stem}.png"));
    if charts.contains(&svg) && charts.contains(&png) {
        let _ = writeln!(
            s,
            "<p class=\"dl\">Chart as a picture: <a href=\"{}\">SVG</a> \u{b7} <a href=\"{}\">PNG</a></p>",
            escape_html(&svg),
            escape_html(&png)
        );
    }
}

/// One statement's card: its chart with a key, a sentence on the latest wave and the
/// figures; or a note on why there is nothing to draw.
fn statement_card(r: &Report, st: &StatementTrend, idx: usize, charts: &[String], s: &mut String) {
    let _ = write!(
        s,
        "<article class=\"card\" id=\"s{idx}\">\n<div><h3>{}</h3></div>\n",
        escape_html(&st.text),
    );
    let any_shown = st.cells.iter().any(|c| !c.suppressed);
    let drawable = super::chart_file::drawable(st);
    if st.cells.is_empty() {
        s.push_str(
            "<p class=\"empty\">No wave has answers from both groups to this statement.</p>\n",
        );
    } else if !drawable {
        // Nothing to draw: say why instead of showing an empty chart.
        let why = if any_shown {
            "No percentage is published for this statement."
        } else {
            "Every wave of this statement is suppressed: a base is below the threshold."
        };
        let _ = writeln!(s, "<p class=\"empty\">{why}</p>");
        figures(r, st, s);
        s.push('\n');
    } else {
        key(r, st, s);
        chart(r, st, idx, s);
        s.push('\n');
        chart_links(st, charts, s);
        summary(r, st, s);
        s.push('\n');
        figures(r, st, s);
        s.push('\n');
    }
    s.push_str("</article>\n");
}

/// One segment breakdown (`--by`): the gap of its latest wave within each segment value.
fn breakdown_section(r: &Report, k: usize, bd: &Breakdown, s: &mut String) {
    let Some(wave) = bd.latest_wave.as_deref() else {
        return;
    };
    let (a, b) = groups(r);
    let seg = escape_html(segment_label(r, &bd.segment));
    let _ = write!(
        s,
        "<section aria-labelledby=\"by{k}-h\">\n<h2 id=\"by{k}-h\">Gap by {seg}</h2>\n<p class=\"sub\">Wave {}: {a} \u{2212} {b}, percentage points, within each {seg}; bases {a} / {b} below each gap.</p>\n",
        escape_html(wave_label(r, wave))
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
    s.push_str("\n</tbody></table></div>\n");
    breakdown_slopes(r, bd, &seg, s);
    s.push_str("</section>\n");
}

/// The trend of the gap within each value of a breakdown (points per year).
fn breakdown_slopes(r: &Report, bd: &Breakdown, seg: &str, s: &mut String) {
    let rows = breakdown_slope_table(r, bd);
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        s,
        "<h3>Trend by {seg} across all waves</h3>\n<p class=\"sub\">{}</p>\n<div class=\"scroll\" role=\"region\" aria-label=\"Trend by {seg}\" tabindex=\"0\"><table class=\"wide\"><thead><tr><th scope=\"col\">Statement</th>",
        escape_html(BREAKDOWN_SLOPE_NOTE)
    );
    for v in &bd.values {
        let _ = write!(s, "<th scope=\"col\">{}</th>", escape_html(v));
    }
    s.push_str("</tr></thead><tbody>");
    for (text, cells) in rows {
        let _ = write!(s, "\n<tr><th scope=\"row\">{}</th>", escape_html(text));
        for c in cells {
            let _ = write!(s, "<td>{}</td>", escape_html(&breakdown_slope(c)));
        }
        s.push_str("</tr>");
    }
    s.push_str("\n</tbody></table></div>\n");
}

/// The wording changes of the statements, under the gap table.
fn wording(r: &Report, s: &mut String) {
    let notes = wording_notes(r);
    if notes.is_empty() {
        return;
    }
    s.push_str("<div class=\"wording\"><p>Wording changes:</p><ul>\n");
    for (text, note) in notes {
        let _ = writeln!(
            s,
            "<li><i>{}</i>: {}.</li>",
            escape_html(&text),
            escape_html(&note)
        );
    }
    s.push_str("</ul></div>\n");
}

/// The publisher's source line and notes (Markdown, rendered; raw HTML in them is
/// shown as text).
fn notes(r: &Report, s: &mut String) {
    let w = &r.words;
    if w.source.is_none() && w.notes.is_none() {
        return;
    }
    s.push_str("<section class=\"notes\" aria-labelledby=\"n-h\">\n<h2 id=\"n-h\">Notes</h2>\n");
    if let Some(src) = &w.source {
        let _ = writeln!(
            s,
            "<p class=\"source\"><b>Source:</b> {}</p>",
            escape_html(src)
        );
    }
    if let Some(md) = &w.notes {
        use pulldown_cmark::{html::push_html, Event, Parser};
        let events = Parser::new(md).map(|e| match e {
            Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
            other => other,
        });
        push_html(s, events);
    }
    s.push_str("</section>\n");
}

/// "Get the data": a link to every other file of the publication.
fn data_links(links: &[String], s: &mut String) {
    if links.is_empty() {
        return;
    }
    s.push_str(
        "<section class=\"data\" aria-labelledby=\"d-h\">\n<h2 id=\"d-h\">Get the data</h2>\n<ul>\n",
    );
    for name in links {
        let n = escape_html(name);
        let _ = writeln!(s, "<li><a href=\"{n}\">{n}</a></li>");
    }
    s.push_str("</ul>\n</section>\n");
}

/// The methods section, and the closing line of the methods note as the footer.
fn methods_and_footer(r: &Report, s: &mut String) {
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
        concat!(
            "<footer>{}</footer>\n</main>\n",
            // Browsers without `::details-content` open the collapsed sections to print.
            "<script>addEventListener(\"beforeprint\",()=>document.querySelectorAll(\"details\").forEach(d=>d.open=true))</script>\n",
            "</body>\n</html>\n"
        ),
        closing.join(" ")
    );
}

/// One sentence on the latest wave of a statement.
fn summary(r: &Report, st: &StatementTrend, s: &mut String) {
    let Some(last) = st.cells.last() else { return };
    let Some(wave) = r.waves.iter().find(|w| w.wave == last.wave) else {
        return;
    };
    let wave_txt = escape_html(wave_label(r, &wave.wave));
    s.push_str(r#"<p class="summary">"#);
    match cell_view(st, &wave.wave) {
        CellView::Absent => {}
        CellView::Suppressed { .. } => {
            let _ = write!(
                s,
                "Latest wave ({wave_txt}): suppressed, a base is below {}.",
                r.suppress_below
            );
        }
        CellView::Shown(Shown { gap: None, .. }) => {
            let _ = write!(s, "Latest wave ({wave_txt}): no gap published.");
        }
        CellView::Shown(v) => {
            let _ = write!(
                s,
                "Latest wave ({wave_txt}): gap <b>{}</b> points",
                typo(show_signed(v.gap))
            );
            if let (Some(lo), Some(hi)) = (v.cell.gap_ci_low, v.cell.gap_ci_high) {
                let _ = write!(
                    s,
                    " (95 % CI {} to {})",
                    typo(show_signed(Some(lo))),
                    typo(show_signed(Some(hi)))
                );
            }
            s.push('.');
            if v.low_base {
                let _ = write!(s, " Low base ({}).", under(r, r.min_base));
            }
            if v.series_break {
                s.push_str(" New wording: not compared with the wave before.");
            } else if let (Some(ch), Some(prev)) = (v.cell.change_pp, v.cell.prev_wave.as_deref()) {
                let _ = write!(
                    s,
                    " Change since {}: {} points",
                    escape_html(prev),
                    typo(show_signed(Some(ch)))
                );
                if v.cell.change_q_value.is_some() {
                    let _ = write!(
                        s,
                        ", q = {}",
                        show_p(v.cell.change_q_value).replace('<', "&lt;")
                    );
                }
                match v.change {
                    Some(Change::Widened) => {
                        let _ = write!(s, r#", <span class="up">{WIDENED} widened</span>"#);
                    }
                    Some(Change::Narrowed) => {
                        let _ = write!(s, r#", <span class="down">{NARROWED} narrowed</span>"#);
                    }
                    None => {
                        if let Some(t) = v.cell.trend.as_deref() {
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
    let a = escape_html(&group_label(r, &r.group_a));
    let b = escape_html(&group_label(r, &r.group_b));
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
        let view = cell_view(st, &w.wave);
        let wave = escape_html(wave_label(r, &w.wave));
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
            CellView::Shown(v) => {
                let brk = if v.series_break {
                    format!(r#"<span class="bk">{SERIES_BREAK}</span>"#)
                } else {
                    String::new()
                };
                let lb = if v.low_base {
                    format!(r#"<span class="lb">{LOW_BASE}</span>"#)
                } else {
                    String::new()
                };
                let ci = match (v.cell.gap_ci_low, v.cell.gap_ci_high) {
                    (Some(lo), Some(hi)) => format!(
                        " ({} to {})",
                        typo(show_signed(Some(lo))),
                        typo(show_signed(Some(hi)))
                    ),
                    _ => String::new(),
                };
                let (chg, q) = if v.series_break || v.cell.change_pp.is_none() {
                    (String::new(), String::new())
                } else {
                    (
                        typo(show_signed(v.cell.change_pp)),
                        escape_html(&show_p(v.cell.change_q_value)),
                    )
                };
                let _ = write!(
                    s,
                    r#"<tr><th scope="row">{brk}{wave}</th><td>{}</td><td>{}</td><td>{} / {}{lb}</td><td>{}{ci}</td><td>{chg}</td><td>{q}</td></tr>"#,
                    show(v.cell.a.pct),
                    show(v.cell.b.pct),
                    show_n(v.cell.a.n),
                    show_n(v.cell.b.n),
                    typo(show_signed(v.gap)),
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
        CellView::Shown(v) => {
            let mut class = String::from("gap");
            if v.series_break {
                class.push_str(" brk");
            }
            match v.change {
                Some(Change::Widened) => class.push_str(" up"),
                Some(Change::Narrowed) => class.push_str(" down"),
                None => {}
            }
            let _ = write!(s, r#"<td class="{class}">"#);
            if v.series_break {
                let _ = write!(
                    s,
                    r#"<span class="bk" title="new series: wording changed">{SERIES_BREAK}</span>"#
                );
            }
            s.push_str(&typo(show_signed(v.gap)));
            if v.low_base {
                let _ = write!(
                    s,
                    r#"<span class="lb" title="low base: {}">{LOW_BASE}</span>"#,
                    match r.min_base_on {
                        crate::sql::BaseOn::N => format!("under {} respondents", r.min_base),
                        crate::sql::BaseOn::NEff => under(r, r.min_base),
                    }
                );
            } else {
                s.push_str(r#"<span class="lb"></span>"#);
            }
            let since = prev_wave
                .map(|p| format!(" since {}", escape_html(p)))
                .unwrap_or_default();
            match v.change {
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
            escape_html(wave_label(r, &w.wave)),
            escape_html(&w.date)
        );
    }
    s.push_str("</tr></thead>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    fn est(n: i64, pct: f64) -> GroupEstimate {
        fixtures::est(Some(n), Some(pct), 5.0)
    }

    fn cell(wave: &str, a: GroupEstimate, b: GroupEstimate) -> TrendCell {
        fixtures::cell(wave, format!("{wave}-03-01"), a, b, (6.0, 6.0), 0.01)
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
            min_base_on: crate::sql::BaseOn::N,
            data_version: 9,
            variance: "linearized".into(),
            breakdowns: vec![],
            slopes: vec![],
            baseline: None,
            themes: vec![],
            words: Words::default(),
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
        let html = render_html(&report(), &[]);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.ends_with("</html>\n"));
        // The one script: inline, opening the collapsed sections before printing.
        let print = "<script>addEventListener(\"beforeprint\",()=>document.querySelectorAll(\"details\").forEach(d=>d.open=true))</script>";
        assert_eq!(html.matches("<script").count(), 1);
        let lower = html.replace(print, "").to_lowercase();
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
        let html = render_html(&report(), &[]);
        assert!(html.contains(
            "<h1>R&amp;d &lt;lab&gt; vs Sales &#39;east&#39;: agreement gap by wave</h1>"
        ));
        assert!(html.contains("Leads are &quot;good&quot; &amp; &lt;b&gt;timely&lt;/b&gt;"));
        assert!(!html.contains("<b>timely"));
        assert!(!html.contains("<lab>"));
        assert!(html.contains("title=\"Wave &lt;2021&gt;\""));
    }

    #[test]
    fn the_phone_view_shows_the_latest_wave_and_its_change() {
        let mut r = report();
        r.statements[2].cells[2].change_pp = Some(-2.5);
        let html = render_html(&r, &[]);
        let latest = &html[html.find("<div class=\"latest\">").unwrap()..];
        let latest = &latest[..latest.find("</div>").unwrap()];
        // The latest wave's head, then one row per statement: its gap and change.
        let last = report().waves.last().unwrap().wave.clone();
        assert!(
            latest.contains(&format!("<th scope=\"col\">{}<small>", escape_html(&last))),
            "{latest}"
        );
        assert_eq!(
            latest.matches("<tr><th scope=\"row\">").count(),
            3,
            "{latest}"
        );
        assert!(latest.contains("<td class=\"gap sup\""), "{latest}");
        // Suppressed and absent cells have no change; a change reads with a minus sign.
        assert_eq!(latest.matches("<td>\u{2014}</td>").count(), 2, "{latest}");
        assert!(latest.contains("<td>\u{2212}2.5</td></tr>"), "{latest}");
    }

    #[test]
    fn gap_table_cells() {
        let html = render_html(&report(), &[]);
        let html = &html[html.find("aria-label=\"Gap by wave\"").unwrap()..];
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
        let html = render_html(&report(), &[]);
        let c0 = card(&html, 0);
        assert!(c0.contains("role=\"img\" aria-labelledby=\"c0-t c0-d\""));
        assert!(c0.contains("<title id=\"c0-t\">Agreement with “Leads are &quot;good&quot; &amp; &lt;b&gt;timely&lt;/b&gt;”"));
        // One row of gap labels above the plot, one row of wave labels under it.
        assert!(c0.contains("viewBox=\"0 0 360 245\""));
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
        let html = render_html(&report(), &[]);
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
        let html = render_html(&r, &[]);
        let c1 = card(&html, 1);
        assert!(c1.contains("<circle class=\"pa lo\""));
        assert!(c1.contains("<rect class=\"pb lo\""));
        assert!(c1.contains("low base (under 30)</li>"));
        assert!(c1.contains("n = 20 (low base)"));
        assert!(!card(&html, 0).contains("low base (under 30)</li>"));
    }

    #[test]
    fn series_break_is_a_dashed_rule_and_splits_lines() {
        let html = render_html(&report(), &[]);
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
        let html = render_html(&r, &[]);
        let c1 = card(&html, 1);
        assert!(!c1.contains("<svg class=\"chart\""));
        assert!(c1.contains("Every wave of this statement is suppressed"));
        assert!(c1.contains("<summary>Figures</summary>"));
    }

    #[test]
    fn the_page_links_its_data_files() {
        let links = vec!["trend.csv".to_string(), "a&b.json".to_string()];
        let html = render_html(&report(), &links);
        assert!(html.contains("<h2 id=\"d-h\">Get the data</h2>"));
        assert!(html.contains("<li><a href=\"trend.csv\">trend.csv</a></li>"));
        assert!(html.contains("<li><a href=\"a&amp;b.json\">a&amp;b.json</a></li>"));
        assert!(!render_html(&report(), &[]).contains("Get the data"));
    }

    #[test]
    fn methods_and_version() {
        let html = render_html(&report(), &[]);
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
        fixtures::all_missing(&mut r);
        let html = render_html(&r, &[]);
        assert!(html.contains("n/a"));
        assert!(!html.contains("<circle class=\"pa\""));
        r.statements.clear();
        r.waves.clear();
        let html = render_html(&r, &[]);
        assert!(html.contains("No statement was asked"));
        assert!(html.contains("Built from data version 9."));
    }

    #[test]
    fn byte_stable() {
        assert_eq!(render_html(&report(), &[]), render_html(&report(), &[]));
    }
}
