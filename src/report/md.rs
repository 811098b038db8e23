//! `trend.md`: the year-over-year table a person reads, and the same gap table for a
//! terminal.
//!
//! Statements are rows, waves are columns in date order, each cell the gap between the
//! two groups in points with a marker for a significant change since the previous wave.
//! Then the bases, a detail table per statement and a note on the methods. The cells, the
//! numbers and the wording come from `view`, shared with the HTML page.

use super::model::*;
use super::view::*;
use crate::sql::BaseOn;

/// Escapes text for Markdown: table pipes, emphasis and link characters, and line breaks.
pub fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' => {
                out.push('\\');
                out.push(ch);
            }
            '\r' | '\n' | '\t' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// The text of one gap-table cell, e.g. `+5.0 ▲`, `‖ -2.1†`, `n<10`, `—`.
fn md_cell(r: &Report, view: &CellView) -> String {
    match view {
        CellView::Absent => ABSENT.to_string(),
        CellView::Suppressed { series_break, .. } => {
            format!("{}{}", break_mark(*series_break), suppressed_label(r))
        }
        CellView::Shown(v) => {
            let mut s = break_mark(v.series_break);
            s.push_str(&show_signed(v.gap));
            if v.low_base {
                s.push_str(LOW_BASE);
            }
            match v.change {
                Some(Change::Widened) => s.push_str(&format!(" {WIDENED}")),
                Some(Change::Narrowed) => s.push_str(&format!(" {NARROWED}")),
                None => {}
            }
            s
        }
    }
}

fn table_row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

fn table_rule(first_left: bool, n: usize) -> String {
    let mut cols = Vec::with_capacity(n);
    for i in 0..n {
        cols.push(if i == 0 && first_left {
            ":---".to_string()
        } else {
            "---:".to_string()
        });
    }
    table_row(&cols)
}

/// The gap table for a terminal: statements (wording cut to fit) as rows, waves as
/// columns, the same cells and markers as `trend.md`, columns aligned.
pub fn render_text(r: &Report) -> String {
    let mut s = format!("{}\n", title(r));
    if r.waves.is_empty() || r.statements.is_empty() {
        s.push_str("No statement was asked of both groups in the loaded waves.\n");
        return s;
    }
    let cut = |t: &str| -> String {
        if t.chars().count() <= 48 {
            t.to_string()
        } else {
            let mut c: String = t.chars().take(47).collect();
            c.push('…');
            c
        }
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut head = vec![format!(
        "{} − {}, points",
        group_label(r, &r.group_a),
        group_label(r, &r.group_b)
    )];
    head.extend(r.waves.iter().map(|w| wave_label(r, &w.wave).to_string()));
    rows.push(head);
    for st in &r.statements {
        let mut row = vec![cut(&st.text)];
        row.extend(r.waves.iter().map(|w| md_cell(r, &cell_view(st, &w.wave))));
        rows.push(row);
    }
    let n = rows[0].len();
    let width: Vec<usize> = (0..n)
        .map(|j| {
            rows.iter()
                .map(|row| row[j].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (j, cell) in row.iter().enumerate() {
            let pad = " ".repeat(width[j] - cell.chars().count());
            if j == 0 {
                line.push_str(cell);
                line.push_str(&pad);
            } else {
                line.push_str("  ");
                line.push_str(&pad);
                line.push_str(cell);
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s.push_str(&format!(
        "{WIDENED} widened / {NARROWED} narrowed since the previous wave (q < 0.05), {LOW_BASE} base {}, {} suppressed, {ABSENT} no answers from both groups, {SERIES_BREAK} new series\n",
        under(r, r.min_base),
        suppressed_label(r)
    ));
    s
}

/// `trend.md` for the report.
pub fn render_markdown(r: &Report) -> String {
    let mut s = String::new();
    s.push_str(&format!("# {}\n\n", escape_md(&title(r))));
    for line in [&r.words.subtitle, &r.words.byline].into_iter().flatten() {
        s.push_str(&format!("{}\n\n", escape_md(line)));
    }
    guide(r, &mut s);
    if r.waves.is_empty() || r.statements.is_empty() {
        s.push_str("No statement was asked of both groups in the loaded waves.\n\n");
    } else {
        wave_list(r, &mut s);
        theme_table(r, &mut s);
        gap_table(r, &mut s);
        bases_table(r, &mut s);
        slope_table(r, &mut s);
        baseline_table(r, &mut s);
        s.push_str("## Detail by statement\n\n");
        for st in &r.statements {
            detail(r, st, &mut s);
        }
    }
    for bd in &r.breakdowns {
        breakdown_section(r, bd, &mut s);
    }
    if r.words.source.is_some() || r.words.notes.is_some() {
        s.push_str("## Notes\n\n");
        if let Some(src) = &r.words.source {
            s.push_str(&format!("**Source:** {}\n\n", escape_md(src)));
        }
        // The publisher's Markdown, as written.
        if let Some(notes) = &r.words.notes {
            s.push_str(notes.trim());
            s.push_str("\n\n");
        }
    }
    s.push_str("## Methods\n\n");
    for (head, body) in methods(r) {
        if !head.is_empty() {
            s.push_str(&format!("**{head}.** "));
        }
        s.push_str(&body);
        s.push_str("\n\n");
    }
    // Exactly one trailing newline.
    while s.ends_with("\n\n") {
        s.pop();
    }
    s
}

/// The group names of the pair as the file shows them (escaped).
fn groups(r: &Report) -> (String, String) {
    (
        escape_md(&group_label(r, &r.group_a)),
        escape_md(&group_label(r, &r.group_b)),
    )
}

/// The paragraph on reading a cell and its markers.
fn guide(r: &Report, s: &mut String) {
    let (a, b) = groups(r);
    s.push_str(&format!(
        "Each cell is the agreement gap in percentage points: the share of {a} agreeing with the \
         statement minus the share of {b} agreeing (+5.0 means {a} agrees 5 points more often). \
         {WIDENED} marks a gap that widened significantly since the previous wave and {NARROWED} \
         one that narrowed (Benjamini–Hochberg q < 0.05); no marker means no significant change \
         or nothing to compare with. {LOW_BASE} flags {} in either \
         group, {} a cell suppressed because {}, {ABSENT} a wave without answers \
         from both groups (the statement was not in that wave, or a group had no respondent \
         answering it), and {SERIES_BREAK} a new series (the wording changed, so no change is \
         computed against the wave before).\n\n",
        match r.min_base_on {
            BaseOn::N => format!("a base below {} respondents", r.min_base),
            BaseOn::NEff => format!("an effective base below {}", r.min_base),
        },
        suppressed_label(r),
        match r.min_base_on {
            BaseOn::N => format!("a base is below {}", r.suppress_below),
            BaseOn::NEff => format!("an effective base is below {}", r.suppress_below),
        },
    ));
}

/// The waves in date order, each with its date, title and kind.
fn wave_list(r: &Report, s: &mut String) {
    s.push_str("Waves, in date order: ");
    let waves: Vec<String> = r
        .waves
        .iter()
        .map(|w| {
            let mut about = vec![escape_md(&w.date)];
            if let Some(t) = w.title.as_deref().filter(|t| !t.trim().is_empty()) {
                about.push(escape_md(t));
            }
            if w.kind == "cells" {
                about.push("published figures".to_string());
            }
            format!(
                "{} ({})",
                escape_md(wave_label(r, &w.wave)),
                about.join(", ")
            )
        })
        .collect();
    s.push_str(&waves.join("; "));
    s.push_str(".\n\n");
}

/// The header row of a statement × wave table.
fn wave_head(r: &Report) -> Vec<String> {
    let mut head = vec!["Statement".to_string()];
    head.extend(r.waves.iter().map(|w| escape_md(wave_label(r, &w.wave))));
    head
}

/// The gap table: statements as rows, waves as columns.
fn gap_table(r: &Report, s: &mut String) {
    let (a, b) = groups(r);
    let title = format!("Gap by wave ({a} − {b}, points)");
    wave_table(r, &title, s, |view| md_cell(r, view));
    let notes = wording_notes(r);
    if !notes.is_empty() {
        s.push_str("Wording changes:\n\n");
        for (text, note) in notes {
            s.push_str(&format!(
                "- *{}*: {}.\n",
                escape_md(&text),
                escape_md(&note)
            ));
        }
        s.push('\n');
    }
}

/// The bases of every cell, suppressed ones included.
fn bases_table(r: &Report, s: &mut String) {
    let (a, b) = groups(r);
    let title = format!("Bases ({a} / {b}, respondents)");
    wave_table(r, &title, s, |view| match view {
        CellView::Absent => ABSENT.to_string(),
        CellView::Suppressed { cell, .. } | CellView::Shown(Shown { cell, .. }) => {
            let flag = if cell.low_base { LOW_BASE } else { "" };
            format!("{} / {}{flag}", show_n(cell.a.n), show_n(cell.b.n))
        }
    });
}

/// The change of each gap since the chosen wave (`report --baseline`).
fn baseline_table(r: &Report, s: &mut String) {
    let Some(title) = baseline_title(r) else {
        return;
    };
    s.push_str(&format!("## {}\n\n{BASELINE_NOTE}\n\n", escape_md(&title)));
    let head = [
        "Statement",
        "Wave",
        "Gap then",
        "Gap now",
        "Change",
        "q",
        "Trend",
    ]
    .map(String::from);
    s.push_str(&table_row(&head));
    s.push_str(&table_rule(true, head.len()));
    for (st, x) in baseline_latest(r) {
        let mut row = vec![escape_md(&st.text)];
        row.extend(baseline_cells(r, x).iter().map(|c| escape_md(c)));
        s.push_str(&table_row(&row));
    }
    s.push('\n');
}

/// The themes, first: a headline per theme, then its index per wave.
fn theme_table(r: &Report, s: &mut String) {
    let themes = themes_of(r);
    if themes.is_empty() {
        return;
    }
    s.push_str("## Themes\n\n");
    s.push_str(THEME_NOTE);
    s.push_str("\n\n");
    for (_, rows) in &themes {
        s.push_str(&format!("- {}\n", escape_md(&theme_headline(r, rows))));
    }
    s.push('\n');
    let (a, b) = groups(r);
    let head = [
        "Theme".to_string(),
        "Wave".to_string(),
        format!("{a} %"),
        format!("{b} %"),
        "Gap".to_string(),
        "Change".to_string(),
        "q".to_string(),
        "Trend".to_string(),
    ];
    s.push_str(&table_row(&head));
    s.push_str(&table_rule(true, head.len()));
    for (theme, rows) in &themes {
        for x in rows {
            let mut row = vec![escape_md(theme), escape_md(wave_label(r, &x.wave))];
            row.extend(theme_cells(x).iter().map(|c| escape_md(c)));
            s.push_str(&table_row(&row));
        }
    }
    s.push('\n');
}

/// The trend of each statement's gap across all waves (a row per series).
fn slope_table(r: &Report, s: &mut String) {
    if r.slopes.is_empty() {
        return;
    }
    s.push_str("## Trend across all waves\n\n");
    s.push_str(SLOPE_NOTE);
    s.push_str("\n\n");
    let head = [
        "Statement",
        "Waves",
        "Points per year",
        "95 % CI",
        "q",
        "Trend",
    ]
    .map(String::from);
    s.push_str(&table_row(&head));
    s.push_str(&table_rule(true, head.len()));
    for st in &r.statements {
        for x in slopes_of(r, &st.statement) {
            let mut row = vec![escape_md(&st.text)];
            row.extend(slope_cells(r, x).iter().map(|c| escape_md(c)));
            s.push_str(&table_row(&row));
        }
    }
    s.push('\n');
}

/// A section `title` with a table of statements × waves, each cell `cell` of its view.
fn wave_table(r: &Report, title: &str, s: &mut String, cell: impl Fn(&CellView) -> String) {
    s.push_str(&format!("## {title}\n\n"));
    let head = wave_head(r);
    s.push_str(&table_row(&head));
    s.push_str(&table_rule(true, head.len()));
    for st in &r.statements {
        let mut row = vec![escape_md(&st.text)];
        row.extend(r.waves.iter().map(|w| cell(&cell_view(st, &w.wave))));
        s.push_str(&table_row(&row));
    }
    s.push('\n');
}

/// The detail of one statement: a row per wave with both percentages, the gap, the
/// change and its test.
fn detail(r: &Report, st: &StatementTrend, s: &mut String) {
    let (a, b) = groups(r);
    s.push_str(&format!("### {}\n\n", escape_md(&st.text)));
    s.push_str(&format!(
        "Statement id: `{}`\n\n",
        st.statement.replace('`', "'")
    ));
    if st.cells.is_empty() {
        s.push_str("No wave has answers from both groups to this statement.\n\n");
        return;
    }
    s.push_str(&table_row(&[
        "Wave".to_string(),
        format!("{a} % (95 % CI)"),
        format!("{b} % (95 % CI)"),
        "Gap (95 % CI)".to_string(),
        "p".to_string(),
        "Change".to_string(),
        "q".to_string(),
        "Trend".to_string(),
    ]));
    s.push_str(&table_rule(true, 8));
    for w in &r.waves {
        let wave = escape_md(wave_label(r, &w.wave));
        let row = match cell_view(st, &w.wave) {
            CellView::Absent => continue,
            CellView::Suppressed { series_break, .. } => {
                let sup = suppressed_label(r);
                vec![
                    format!("{}{wave}", break_mark(series_break)),
                    sup.clone(),
                    sup.clone(),
                    sup,
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]
            }
            CellView::Shown(v) => {
                let mut row = vec![format!("{}{wave}", break_mark(v.series_break))];
                row.extend(detail_figures(&v));
                row
            }
        };
        s.push_str(&table_row(&row));
    }
    s.push('\n');
}

/// The series-break marker that starts a wave's cell, or nothing.
fn break_mark(series_break: bool) -> String {
    if series_break {
        format!("{SERIES_BREAK} ")
    } else {
        String::new()
    }
}

/// The figures of a published detail row after the wave: both percentages with their
/// intervals, the gap, its p value, the change, its q value and the trend.
fn detail_figures(v: &Shown) -> Vec<String> {
    let Shown {
        cell,
        gap,
        change,
        low_base,
        ..
    } = *v;
    let lb = if low_base { LOW_BASE } else { "" };
    let pct = |e: &GroupEstimate| match (e.ci_low, e.ci_high) {
        (Some(lo), Some(hi)) => {
            format!("{} ({}–{})", show(e.pct), show(Some(lo)), show(Some(hi)))
        }
        _ => show(e.pct),
    };
    let gap_text = match (cell.gap_ci_low, cell.gap_ci_high) {
        (Some(lo), Some(hi)) => format!(
            "{}{lb} ({} to {})",
            show_signed(gap),
            show_signed(Some(lo)),
            show_signed(Some(hi))
        ),
        _ => format!("{}{lb}", show_signed(gap)),
    };
    let (chg, q, trend) = if cell.series_break || cell.change_pp.is_none() {
        (String::new(), String::new(), String::new())
    } else {
        let trend = match (change, cell.trend.as_deref()) {
            (Some(Change::Widened), _) => format!("widened {WIDENED}"),
            (Some(Change::Narrowed), _) => format!("narrowed {NARROWED}"),
            (None, Some(t)) => escape_md(t),
            (None, None) => String::new(),
        };
        (
            show_signed(cell.change_pp),
            show_p(cell.change_q_value),
            trend,
        )
    };
    vec![
        pct(&cell.a),
        pct(&cell.b),
        gap_text,
        if cell.gap_p_value.is_some() {
            show_p(cell.gap_p_value)
        } else {
            String::new()
        },
        chg,
        q,
        trend,
    ]
}

/// One segment breakdown (`--by`): the gap of its latest wave within each segment value.
fn breakdown_section(r: &Report, bd: &Breakdown, s: &mut String) {
    let Some(wave) = bd.latest_wave.as_deref() else {
        return;
    };
    let (a, b) = groups(r);
    s.push_str(&format!(
        "## Gap by {} (wave {}, {a} − {b}, points; bases {a} / {b})\n\n",
        escape_md(segment_label(r, &bd.segment)),
        escape_md(wave_label(r, wave))
    ));
    let mut head = vec!["Statement".to_string()];
    head.extend(bd.values.iter().map(|v| escape_md(v)));
    s.push_str(&table_row(&head));
    s.push_str(&table_rule(true, head.len()));
    for (_, text, cells) in breakdown_table(bd) {
        let mut row = vec![escape_md(text)];
        row.extend(cells.iter().map(|c| match c {
            None => ABSENT.to_string(),
            Some(x) => format!("{} ({} / {})", breakdown_gap(r, Some(x)), x.n_a, x.n_b),
        }));
        s.push_str(&table_row(&row));
    }
    s.push_str(
        "\nEvery wave of this breakdown, with intervals and p values, is in breakdown.csv.\n\n",
    );
    breakdown_slopes(r, bd, s);
}

/// The trend of the gap within each value of a breakdown (points per year).
fn breakdown_slopes(r: &Report, bd: &Breakdown, s: &mut String) {
    let rows = breakdown_slope_table(r, bd);
    if rows.is_empty() {
        return;
    }
    let (a, b) = groups(r);
    s.push_str(&format!(
        "### Trend by {} across all waves ({a} \u{2212} {b}, points per year)\n\n{BREAKDOWN_SLOPE_NOTE}\n\n",
        escape_md(segment_label(r, &bd.segment))
    ));
    let mut head = vec!["Statement".to_string()];
    head.extend(bd.values.iter().map(|v| escape_md(v)));
    s.push_str(&table_row(&head));
    s.push_str(&table_rule(true, head.len()));
    for (text, cells) in rows {
        let mut row = vec![escape_md(text)];
        row.extend(cells.iter().map(|c| escape_md(&breakdown_slope(*c))));
        s.push_str(&table_row(&row));
    }
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    fn est(n: i64, pct: f64) -> GroupEstimate {
        fixtures::est(Some(n), Some(pct), 4.0)
    }

    fn cell(wave: &str, a: GroupEstimate, b: GroupEstimate) -> TrendCell {
        let date = format!("20{}-01-01", &wave[1..]);
        fixtures::cell(wave, date, a, b, (6.0, 6.0), 0.04)
    }

    fn wave(id: &str) -> WaveInfo {
        WaveInfo {
            wave: id.into(),
            date: format!("20{}-01-01", &id[1..]),
            title: None,
            kind: "microdata".into(),
        }
    }

    fn report() -> Report {
        let c1 = cell("w19", est(300, 50.0), est(300, 45.0));
        let mut c2 = cell("w20", est(300, 60.0), est(300, 40.0));
        c2.change_pp = Some(15.0);
        c2.change_q_value = Some(0.001);
        c2.trend = Some("widened".into());
        let mut c3 = cell("w21", est(25, 41.0), est(300, 44.0));
        c3.low_base = true;
        c3.change_pp = Some(-17.0);
        c3.change_q_value = Some(0.02);
        c3.trend = Some("narrowed".into());
        let mut s2a = cell("w19", est(300, 30.0), est(300, 30.04));
        s2a.trend = None;
        let mut s2b = cell("w21", est(6, 30.0), est(300, 30.0));
        s2b.a.pct = None;
        s2b.gap_pp = None;
        s2b.low_base = true;
        s2b.suppressed = true;
        let mut s3 = cell("w21", est(200, 70.0), est(210, 60.0));
        s3.series_break = true;
        let s3_first = cell("w20", est(200, 72.0), est(210, 61.0));
        Report {
            group_a: "marketing".into(),
            group_b: "sales".into(),
            waves: vec![wave("w19"), wave("w20"), wave("w21")],
            statements: vec![
                StatementTrend {
                    statement: "s1".into(),
                    text: "Goals | targets are *shared*".into(),
                    cells: vec![c1, c2, c3],
                },
                StatementTrend {
                    statement: "s2".into(),
                    text: "Leads are good".into(),
                    cells: vec![s2a, s2b],
                },
                StatementTrend {
                    statement: "s3".into(),
                    text: "New wording".into(),
                    cells: vec![s3_first, s3],
                },
                StatementTrend {
                    statement: "s4".into(),
                    text: "Only once".into(),
                    cells: vec![cell("w20", est(100, 10.0), est(100, 20.0))],
                },
            ],
            min_base: 30,
            suppress_below: 10,
            min_base_on: crate::sql::BaseOn::N,
            data_version: 42,
            variance: "kish".into(),
            breakdowns: vec![],
            slopes: vec![],
            baseline: None,
            themes: vec![],
            words: Words::default(),
        }
    }

    fn gap_row<'a>(md: &'a str, starts: &str) -> &'a str {
        let section = &md[md.find("## Gap by wave").unwrap()..md.find("## Bases").unwrap()];
        let at = section
            .find(starts)
            .unwrap_or_else(|| panic!("no row {starts}"));
        section[at..].lines().next().unwrap()
    }

    #[test]
    fn title_and_guide() {
        let md = render_markdown(&report());
        assert!(md.starts_with("# Marketing vs Sales: agreement gap by wave\n\n"));
        assert!(md.contains("Marketing agreeing"));
        assert!(md.contains("n<10"));
    }

    #[test]
    fn gap_table_cells_and_markers() {
        let md = render_markdown(&report());
        assert!(md.contains("| Statement | w19 | w20 | w21 |\n| :--- | ---: | ---: | ---: |\n"));
        assert_eq!(
            gap_row(&md, "| Goals"),
            "| Goals \\| targets are \\*shared\\* | +5.0 | +20.0 ▲ | -3.0† ▼ |"
        );
        // -0.04 rounds to 0.0 without a sign; suppressed cell shows n<10; absent wave shows —.
        assert_eq!(
            gap_row(&md, "| Leads"),
            "| Leads are good | 0.0 | — | n<10 |"
        );
        // Series break marker, and no trend marker on a break.
        assert_eq!(
            gap_row(&md, "| New wording"),
            "| New wording | — | +11.0 | ‖ +10.0 |"
        );
        assert_eq!(gap_row(&md, "| Only once"), "| Only once | — | -10.0 | — |");
    }

    #[test]
    fn text_table_is_aligned_with_the_same_cells() {
        let t = render_text(&report());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], title(&report()));
        // Title, header, one line per statement, the legend.
        assert_eq!(lines.len(), 2 + report().statements.len() + 1);
        let table = &lines[1..lines.len() - 1];
        let width = table[0].chars().count();
        assert!(table.iter().all(|l| l.chars().count() == width), "{t}");
        // Widths 4, 7, 7 ("+5.0", "+20.0 ▲", "-3.0† ▼"), two spaces between columns.
        assert!(table[0].ends_with("   w19      w20      w21"), "{t}");
        let leads = table
            .iter()
            .find(|l| l.starts_with("Leads are good"))
            .unwrap();
        assert!(leads.ends_with("  0.0        —     n<10"), "{leads}");
        let goals = table.iter().find(|l| l.starts_with("Goals")).unwrap();
        assert!(goals.ends_with("+5.0  +20.0 ▲  -3.0† ▼"), "{goals}");
    }

    #[test]
    fn the_slope_table_has_a_row_per_series_in_statement_order() {
        let mut r = report();
        assert!(!render_markdown(&r).contains("## Trend across all waves"));
        let row = |st: &str, series: i64, slope: f64| SlopeRow {
            statement: st.into(),
            series,
            first_wave: r.waves[0].wave.clone(),
            last_wave: r.waves[2].wave.clone(),
            waves: 3,
            slope: Some(slope),
            ci_low: Some(slope - 1.0),
            ci_high: Some(slope + 1.0),
            p_value: Some(0.0004),
            q_value: Some(0.0008),
            direction: Some("widening".into()),
        };
        r.slopes = vec![
            row(&r.statements[1].statement, 1, -2.25),
            row(&r.statements[0].statement, 2, 1.5),
        ];
        let md = render_markdown(&r);
        let t = &md[md.find("## Trend across all waves").unwrap()..md.find("## Detail").unwrap()];
        let rows: Vec<&str> = t
            .lines()
            .filter(|l| {
                l.starts_with("| ") && !l.starts_with("| Statement") && !l.starts_with("| :")
            })
            .collect();
        assert_eq!(rows.len(), 2, "{t}");
        assert!(
            rows[0].starts_with(&format!("| {} |", escape_md(&r.statements[0].text))),
            "{t}"
        );
        assert!(
            rows[0].ends_with("| +1.5 | +0.5 to +2.5 | \\<0.001 | widening |"),
            "{t}"
        );
        assert!(
            rows[1].contains("| \u{2212}2.2 | \u{2212}3.2 to \u{2212}1.2 |")
                || rows[1].contains("| \u{2212}2.3 | \u{2212}3.3 to \u{2212}1.3 |"),
            "{t}"
        );
    }

    #[test]
    fn bases_table_shows_n_even_when_suppressed() {
        let md = render_markdown(&report());
        let bases = &md[md.find("## Bases").unwrap()..md.find("## Detail").unwrap()];
        assert!(
            bases.contains("| Leads are good | 300 / 300 | — | 6 / 300† |"),
            "{bases}"
        );
        assert!(bases.contains("| 300 / 300 | 300 / 300 | 25 / 300† |"));
    }

    #[test]
    fn detail_rows() {
        let md = render_markdown(&report());
        assert!(md.contains("| w20 | 60.0 (56.0–64.0) | 40.0 (36.0–44.0) | +20.0 (+14.0 to +26.0) | 0.040 | +15.0 | 0.001 | widened ▲ |"), "{md}");
        assert!(md.contains("| w21 | n<10 | n<10 | n<10 |"));
        assert!(md.contains("| ‖ w21 | 70.0 (66.0–74.0)"));
    }

    #[test]
    fn methods_note() {
        let md = render_markdown(&report());
        let m = &md[md.find("## Methods").unwrap()..];
        for needle in [
            "weighted",
            "Kish",
            "Wilson",
            "Newcombe",
            "hybrid score",
            "two-sided z test",
            "unpooled",
            "independent samples",
            "Benjamini–Hochberg",
            "q < 0.05",
            "fewer than 30",
            "fewer than 10",
            "variance method is kish",
            "Built from data version 42.",
        ] {
            assert!(m.contains(needle), "methods lack {needle}");
        }
        assert!(md.ends_with("Built from data version 42.\n"));
    }

    #[test]
    fn escaping_group_names_and_empty_report() {
        let mut r = report();
        r.group_a = "r&d|ops".into();
        r.statements.clear();
        let md = render_markdown(&r);
        assert!(md.starts_with("# R&d\\|ops vs Sales"));
        assert!(md.contains("No statement was asked"));
        assert!(md.contains("## Methods"));
    }

    #[test]
    fn all_values_missing() {
        let mut r = report();
        fixtures::all_missing(&mut r);
        let md = render_markdown(&r);
        assert!(md.contains("| Leads are good | n/a | — | n/a |"), "{md}");
        assert!(md.contains("| n/a / n/a |"));
    }

    #[test]
    fn byte_stable() {
        assert_eq!(render_markdown(&report()), render_markdown(&report()));
    }
}
