//! `trend.xlsx`: the report as a workbook (rendered with `rust_xlsxwriter`).
//!
//! Sheets, in order: `Trend` (statements × waves, the gap with the marks of the other
//! reading files and a legend), one sheet per statement (both groups, intervals, p and q
//! of every wave), one `By SEGMENT` sheet per `--by` breakdown, `Data` (the rows and
//! columns of `trend.csv`, with its rounding) and `Methods`. Numbers are stored as
//! numbers: the marks are in their number formats (`+5.0 ▲` is the number 5.0 shown
//! with the format `+0.0" ▲"`). The document's creation time is fixed, so the same
//! store state gives the same bytes.

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use super::model::*;
use super::tables::{self, Val};
use super::view::{self, CellView, Change};

/// The date every workbook says it was created (a fixed one: the same data, the same
/// bytes).
const CREATED: (u16, u8, u8) = (2000, 1, 1);

/// `trend.xlsx` of the report.
pub fn render_xlsx(r: &Report) -> Vec<u8> {
    workbook(r).expect("a workbook of valid sheets renders to memory")
}

fn workbook(r: &Report) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(CREATED.0, CREATED.1, CREATED.2)?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(view::title(r))
            .set_creation_datetime(&created),
    );
    let mut names = SheetNames::default();
    trend_sheet(r, wb.add_worksheet().set_name(names.take("Trend"))?)?;
    if !r.themes.is_empty() {
        let themes = wb.add_worksheet().set_name(names.take("Themes"))?;
        rows_sheet(themes, &tables::THEME_COLUMNS, &tables::theme_rows(r))?;
    }
    for st in &r.statements {
        statement_sheet(
            r,
            st,
            wb.add_worksheet().set_name(names.take(&st.statement))?,
        )?;
    }
    for b in &r.breakdowns {
        let label = view::segment_label(r, &b.segment);
        let name = names.take(&format!("By {label}"));
        breakdown_sheet(r, b, wb.add_worksheet().set_name(name)?)?;
        if !b.slopes.is_empty() {
            let one = Report {
                breakdowns: vec![b.clone()],
                ..r.clone()
            };
            let ws = wb
                .add_worksheet()
                .set_name(names.take(&format!("Slopes by {label}")))?;
            rows_sheet(
                ws,
                &tables::BREAKDOWN_SLOPE_COLUMNS,
                &tables::breakdown_slope_rows(&one),
            )?;
        }
    }
    if let Some(b) = &r.baseline {
        let since = wb
            .add_worksheet()
            .set_name(names.take(&format!("Since {}", b.wave)))?;
        rows_sheet(since, &tables::BASELINE_COLUMNS, &tables::baseline_rows(r))?;
    }
    if !r.slopes.is_empty() {
        let slopes = wb.add_worksheet().set_name(names.take("Slopes"))?;
        rows_sheet(slopes, &tables::SLOPE_COLUMNS, &tables::slope_rows(r))?;
    }
    let data = wb.add_worksheet().set_name(names.take("Data"))?;
    rows_sheet(data, &tables::COLUMNS, &tables::rows(r))?;
    methods_sheet(r, wb.add_worksheet().set_name(names.take("Methods"))?)?;
    wb.save_to_buffer()
}

/// Sheet names as Excel takes them: at most 31 characters, none of `[]:*?/\`, unique
/// without regard to case (`~2`, `~3`, … added where needed).
#[derive(Default)]
struct SheetNames {
    used: Vec<String>,
}

impl SheetNames {
    fn take(&mut self, wanted: &str) -> String {
        let clean: String = wanted
            .chars()
            .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
            .collect();
        let clean = clean.trim_matches('\'').to_string();
        let mut k = 1;
        loop {
            let suffix = if k == 1 {
                String::new()
            } else {
                format!("~{k}")
            };
            let room = 31 - suffix.chars().count();
            let name: String = clean.chars().take(room).collect::<String>() + &suffix;
            if !self.used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
                self.used.push(name.clone());
                return name;
            }
            k += 1;
        }
    }
}

fn bold() -> Format {
    Format::new().set_bold()
}

/// The number format of a gap-table cell: sign, one decimal and the cell's marks.
fn gap_format(series_break: bool, low_base: bool, change: Option<Change>) -> Format {
    Format::new()
        .set_num_format(gap_num_format(series_break, low_base, change))
        .set_align(rust_xlsxwriter::FormatAlign::Right)
}

fn gap_num_format(series_break: bool, low_base: bool, change: Option<Change>) -> String {
    let pre = if series_break {
        format!("\"{} \"", view::SERIES_BREAK)
    } else {
        String::new()
    };
    let mut post = String::new();
    if low_base {
        post.push_str(view::LOW_BASE);
    }
    match change {
        Some(Change::Widened) => post.push_str(&format!(" {}", view::WIDENED)),
        Some(Change::Narrowed) => post.push_str(&format!(" {}", view::NARROWED)),
        None => {}
    }
    let post = if post.is_empty() {
        post
    } else {
        format!("\"{post}\"")
    };
    format!("{pre}+0.0{post};{pre}-0.0{post};{pre}0.0{post}")
}

fn trend_sheet(r: &Report, ws: &mut Worksheet) -> Result<(), XlsxError> {
    ws.write_string_with_format(0, 0, view::title(r), &bold())?;
    let about = [&r.words.subtitle, &r.words.byline]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" · ");
    if !about.is_empty() {
        ws.write_string(2, 0, about)?;
    }
    ws.write_string(
        1,
        0,
        format!(
            "Gap in percentage points: {} minus {}.",
            view::group_label(r, &r.group_a),
            view::group_label(r, &r.group_b)
        ),
    )?;
    ws.write_string_with_format(3, 0, "Statement", &bold())?;
    for (j, w) in r.waves.iter().enumerate() {
        ws.write_string_with_format(3, col(j + 1), &w.wave, &bold())?;
    }
    let right = Format::new().set_align(rust_xlsxwriter::FormatAlign::Right);
    for (i, st) in r.statements.iter().enumerate() {
        let row = 4 + i as u32;
        ws.write_string(row, 0, &st.text)?;
        for (j, w) in r.waves.iter().enumerate() {
            let c = col(j + 1);
            match view::cell_view(st, &w.wave) {
                CellView::Absent => {
                    ws.write_string_with_format(row, c, view::ABSENT, &right)?;
                }
                CellView::Suppressed { series_break, .. } => {
                    let mark = if series_break {
                        format!("{} ", view::SERIES_BREAK)
                    } else {
                        String::new()
                    };
                    let text = format!("{mark}{}", view::suppressed_label(r));
                    ws.write_string_with_format(row, c, text, &right)?;
                }
                CellView::Shown(v) => match v.gap {
                    Some(g) => {
                        let f = gap_format(v.series_break, v.low_base, v.change);
                        ws.write_number_with_format(row, c, round1(g), &f)?;
                    }
                    None => {
                        ws.write_string_with_format(row, c, "n/a", &right)?;
                    }
                },
            }
        }
    }
    let mut after = legend(r, ws, 5 + r.statements.len() as u32)?;
    for (text, note) in view::wording_notes(r) {
        ws.write_string(after, 0, format!("{text}: {note}."))?;
        after += 1;
    }
    if let Some(src) = &r.words.source {
        ws.write_string(after + 1, 0, format!("Source: {src}"))?;
    }
    ws.set_column_width(0, 60)?;
    ws.set_freeze_panes(4, 1)?;
    Ok(())
}

/// A gap as the reading files show it: one decimal, no negative zero.
fn round1(g: f64) -> f64 {
    let x = (g * 10.0).round() / 10.0;
    if x == 0.0 {
        0.0
    } else {
        x
    }
}

fn col(j: usize) -> u16 {
    u16::try_from(j).unwrap_or(u16::MAX)
}

/// The legend from row `first`; returns the row after it.
fn legend(r: &Report, ws: &mut Worksheet, first: u32) -> Result<u32, XlsxError> {
    let lines = [
        format!(
            "{} / {}: the gap widened / narrowed significantly since the previous wave (Benjamini–Hochberg q < 0.05).",
            view::WIDENED,
            view::NARROWED
        ),
        format!(
            "{}: low base ({}).",
            view::LOW_BASE,
            below(r, r.min_base)
        ),
        format!(
            "{}: suppressed ({}): no figure is published.",
            view::suppressed_label(r),
            below(r, r.suppress_below)
        ),
        format!(
            "{}: the wording changed; a new series starts and is not compared with the wave before.",
            view::SERIES_BREAK
        ),
        format!("{}: not asked of both groups in this wave.", view::ABSENT),
    ];
    for (k, line) in lines.iter().enumerate() {
        ws.write_string(first + k as u32, 0, line)?;
    }
    Ok(first + lines.len() as u32)
}

const STATEMENT_COLUMNS: [&str; 20] = [
    "Wave",
    "Date",
    "n (a)",
    "% (a)",
    "95% low (a)",
    "95% high (a)",
    "n (b)",
    "% (b)",
    "95% low (b)",
    "95% high (b)",
    "Gap (pp)",
    "Gap 95% low",
    "Gap 95% high",
    "Gap p",
    "Change (pp)",
    "Change p",
    "Change q",
    "Trend",
    "Low base",
    "Suppressed",
];

fn statement_sheet(r: &Report, st: &StatementTrend, ws: &mut Worksheet) -> Result<(), XlsxError> {
    ws.write_string_with_format(0, 0, &st.text, &bold())?;
    ws.write_string(
        1,
        0,
        format!(
            "(a) {}, (b) {}; percentages and points with 95 % intervals.",
            view::group_label(r, &r.group_a),
            view::group_label(r, &r.group_b)
        ),
    )?;
    for (j, h) in STATEMENT_COLUMNS.iter().enumerate() {
        ws.write_string_with_format(3, col(j), *h, &bold())?;
    }
    let pct = Format::new().set_num_format("0.0");
    let p = Format::new().set_num_format("0.000");
    for (i, c) in st.cells.iter().enumerate() {
        let row = 4 + i as u32;
        let shown = !c.suppressed;
        let no_change = c.suppressed || c.series_break;
        ws.write_string(row, 0, &c.wave)?;
        ws.write_string(row, 1, &c.date)?;
        let figures: [(Option<f64>, &Format, bool); 15] = [
            (c.a.n.map(|n| n as f64), &Format::new(), true),
            (c.a.pct, &pct, shown),
            (c.a.ci_low, &pct, shown),
            (c.a.ci_high, &pct, shown),
            (c.b.n.map(|n| n as f64), &Format::new(), true),
            (c.b.pct, &pct, shown),
            (c.b.ci_low, &pct, shown),
            (c.b.ci_high, &pct, shown),
            (c.gap_pp, &pct, shown),
            (c.gap_ci_low, &pct, shown),
            (c.gap_ci_high, &pct, shown),
            (c.gap_p_value, &p, shown),
            (c.change_pp, &pct, !no_change),
            (c.change_p_value, &p, !no_change),
            (c.change_q_value, &p, !no_change),
        ];
        for (k, (v, f, publish)) in figures.iter().enumerate() {
            if let (Some(x), true) = (v.filter(|x| x.is_finite()), publish) {
                ws.write_number_with_format(row, col(k + 2), x, f)?;
            }
        }
        if let (Some(t), false) = (&c.trend, no_change) {
            ws.write_string(row, 17, t)?;
        }
        ws.write_boolean(row, 18, c.low_base)?;
        ws.write_boolean(row, 19, c.suppressed)?;
    }
    ws.set_freeze_panes(4, 1)?;
    Ok(())
}

fn breakdown_sheet(r: &Report, b: &Breakdown, ws: &mut Worksheet) -> Result<(), XlsxError> {
    let one = Report {
        breakdowns: vec![b.clone()],
        ..r.clone()
    };
    rows_sheet(
        ws,
        &tables::BREAKDOWN_COLUMNS,
        &tables::breakdown_rows(&one),
    )
}

/// A sheet of data rows under a header of column names: numbers as numbers (with the
/// data files' rounding), `true`/`false` as booleans, missing values as empty cells.
fn rows_sheet(ws: &mut Worksheet, columns: &[&str], rows: &[Vec<Val>]) -> Result<(), XlsxError> {
    for (j, h) in columns.iter().enumerate() {
        ws.write_string_with_format(0, col(j), *h, &bold())?;
    }
    for (i, row) in rows.iter().enumerate() {
        let r = 1 + i as u32;
        for (j, v) in row.iter().enumerate() {
            match v {
                Val::Text(s) => {
                    ws.write_string(r, col(j), s)?;
                }
                Val::Num(s) => match s.parse::<f64>() {
                    Ok(x) => {
                        ws.write_number(r, col(j), x)?;
                    }
                    Err(_) => {
                        ws.write_string(r, col(j), s)?;
                    }
                },
                Val::Bool(b) => {
                    ws.write_boolean(r, col(j), *b)?;
                }
                Val::Missing => {}
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn methods_sheet(r: &Report, ws: &mut Worksheet) -> Result<(), XlsxError> {
    ws.write_string_with_format(0, 0, "Methods", &bold())?;
    let wrap = Format::new().set_text_wrap();
    let mut rows: Vec<(&str, String)> = view::methods(r);
    if let Some(notes) = &r.words.notes {
        rows.insert(0, ("Notes", notes.trim().to_string()));
    }
    for (i, (heading, text)) in rows.iter().enumerate() {
        let row = 2 + i as u32;
        ws.write_string_with_format(row, 0, *heading, &bold())?;
        ws.write_string_with_format(row, 1, text, &wrap)?;
    }
    ws.set_column_width(0, 12)?;
    ws.set_column_width(1, 100)?;
    Ok(())
}

/// "either group has fewer than 30 respondents" (or its effective base below 30).
fn below(r: &Report, threshold: i64) -> String {
    match r.min_base_on {
        crate::sql::BaseOn::N => format!("either group has fewer than {threshold} respondents"),
        crate::sql::BaseOn::NEff => format!("either group's effective base is below {threshold}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut n = SheetNames::default();
        assert_eq!(n.take("Trend"), "Trend");
        assert_eq!(n.take("trend"), "trend~2");
        assert_eq!(n.take("a/b:c"), "a_b_c");
        let long = "x".repeat(40);
        assert_eq!(n.take(&long), "x".repeat(31));
        assert_eq!(n.take(&long), format!("{}~2", "x".repeat(29)));
    }

    #[test]
    fn gap_formats_carry_the_marks() {
        assert_eq!(gap_num_format(false, false, None), "+0.0;-0.0;0.0");
        assert_eq!(
            gap_num_format(true, true, Some(Change::Widened)),
            "\"‖ \"+0.0\"† ▲\";\"‖ \"-0.0\"† ▲\";\"‖ \"0.0\"† ▲\""
        );
        assert_eq!(
            gap_num_format(false, false, Some(Change::Narrowed)),
            "+0.0\" ▼\";-0.0\" ▼\";0.0\" ▼\""
        );
        assert_eq!(round1(-0.04), 0.0);
        assert!(round1(-0.04).is_sign_positive());
        assert_eq!(round1(5.26), 5.3);
    }
}
