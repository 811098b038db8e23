//! The view shared by every reading file (`trend.md`, the terminal table, `index.html`):
//! how a statement × wave cell is shown, how numbers print, the title, the markers and
//! the methods note, so that every file always says the same thing.
//!
//! The data files (`trend.csv`, `trend.json`) use the same number formatter, [`fixed`],
//! so that the same value prints the same way in every file; p and q values go there
//! at full precision ([`full_p`]).

use super::model::*;
use crate::sql::BaseOn;

/// Decimals for percentages, points and interval bounds in the reading files (md, html).
pub const DISPLAY_DECIMALS: usize = 1;

/// Formats `v` with exactly `decimals` decimals. Non-finite values have no text
/// (`None`); a value that rounds to zero prints without a sign (never `-0.0`).
pub fn fixed(v: f64, decimals: usize) -> Option<String> {
    if !v.is_finite() {
        return None;
    }
    let s = format!("{:.*}", decimals, v);
    match s.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => Some(rest.to_string()),
        _ => Some(s),
    }
}

/// [`fixed`] for an optional value.
pub fn fixed_opt(v: Option<f64>, decimals: usize) -> Option<String> {
    v.and_then(|v| fixed(v, decimals))
}

/// A p or q value for the data files, at full precision: the shortest text that reads
/// back as the same number (`0.13749613902100594`), in exponent form below 0.0001
/// (`2.126266693949922e-8`), so that no p value prints as `0.000000`.
pub fn full_p(v: f64) -> Option<String> {
    match v {
        v if !v.is_finite() => None,
        v if v != 0.0 && v.abs() < 1e-4 => Some(format!("{v:e}")),
        v => Some(format!("{}", v + 0.0)),
    }
}

/// Like [`fixed`], with an explicit `+` on positive values (a gap or a change):
/// `+5.0`, `-3.2`, `0.0`.
pub fn signed(v: f64, decimals: usize) -> Option<String> {
    let s = fixed(v, decimals)?;
    if s.starts_with('-') || s.bytes().all(|b| b == b'0' || b == b'.') {
        Some(s)
    } else {
        Some(format!("+{s}"))
    }
}

/// Marker for a gap that widened significantly since the previous wave.
pub const WIDENED: &str = "▲";
/// Marker for a gap that narrowed significantly since the previous wave.
pub const NARROWED: &str = "▼";
/// Marker for a wave without answers from both groups to a statement: the statement was
/// not in the wave, or a group had no respondent answering it (absent from the wave).
pub const ABSENT: &str = "—";
/// A threshold as the reading files state it: "under 30", or "under 30, effective base"
/// where the thresholds apply to the effective base.
pub fn under(r: &Report, threshold: i64) -> String {
    match r.min_base_on {
        BaseOn::N => format!("under {threshold}"),
        BaseOn::NEff => format!("under {threshold}, effective base"),
    }
}

/// The latest row of each statement against the baseline (`report --baseline`), in
/// statement order: what the reading files show; the data files carry every wave.
pub fn baseline_latest(r: &Report) -> Vec<(&StatementTrend, &BaselineRow)> {
    let Some(b) = &r.baseline else {
        return vec![];
    };
    r.statements
        .iter()
        .filter_map(|st| {
            let last = b.rows.iter().rfind(|x| x.statement == st.statement)?;
            Some((st, last))
        })
        .collect()
}

/// The heading of the baseline section: "Change since 2019 (published)".
pub fn baseline_title(r: &Report) -> Option<String> {
    let b = r.baseline.as_ref()?;
    Some(format!("Change since {}", wave_label(r, &b.wave)))
}

/// The sentence before the baseline table.
pub const BASELINE_NOTE: &str = "Each statement's gap in its latest wave against the chosen \
    wave, in points, with the change; widened or narrowed where the Benjamini\u{2013}Hochberg \
    q < 0.05 (the statements of each wave together), stable otherwise. A statement whose \
    wording changed since is compared only within its new series, so it has no row here.";

/// A baseline row as the reading files show it: the wave, the gap then and now, the
/// change, q and the trend.
pub fn baseline_cells(r: &Report, x: &BaselineRow) -> [String; 6] {
    let shown = |v: Option<f64>| {
        if x.suppressed {
            suppressed_label(r)
        } else {
            typo(show_signed(v))
        }
    };
    [
        wave_label(r, &x.wave).to_string(),
        shown(x.baseline_gap_pp),
        shown(x.gap_pp),
        shown(x.change_pp),
        show_p(x.q_value),
        x.trend.clone().unwrap_or_else(|| "n/a".to_string()),
    ]
}

/// The slope rows of statement `st`, one per series.
pub fn slopes_of<'a>(r: &'a Report, st: &str) -> Vec<&'a SlopeRow> {
    r.slopes.iter().filter(|x| x.statement == st).collect()
}

/// The sentence before a slope table.
pub const SLOPE_NOTE: &str =
    "The trend of each gap across all waves of its series: the slope of a \
    line fitted to the gaps, each wave weighted by the inverse of its variance, in points per \
    year, with its 95 % interval. Narrowing or widening where the Benjamini\u{2013}Hochberg \
    q < 0.05 (narrowing: the slope runs against the sign of the gap), flat otherwise. A new \
    wording starts a new series; published figures without a base are left out.";

/// A slope row as the reading files show it: waves ("2019 to 2021, 3 waves"), points per
/// year, its interval, q and the direction.
pub fn slope_cells(r: &Report, x: &SlopeRow) -> [String; 5] {
    let ci = match (x.ci_low, x.ci_high) {
        (Some(lo), Some(hi)) => format!(
            "{} to {}",
            typo(show_signed(Some(lo))),
            typo(show_signed(Some(hi)))
        ),
        _ => "n/a".to_string(),
    };
    [
        format!(
            "{} to {}, {} waves",
            wave_label(r, &x.first_wave),
            wave_label(r, &x.last_wave),
            x.waves
        ),
        typo(show_signed(x.slope)),
        ci,
        show_p(x.q_value),
        x.direction.clone().unwrap_or_else(|| "n/a".to_string()),
    ]
}

/// What the themes section says before its table.
pub const THEME_NOTE: &str =
    "A theme's index is, per respondent, the share of the theme's statements (answered) \
    they agree with; the table gives each group's weighted index, the gap, its change since \
    the previous wave (Benjamini\u{2013}Hochberg q over the themes) and the slope of the \
    theme's series. A theme whose statements change, or one of whose statements is \
    reworded, starts a new series.";

/// The themes in their order, each with its rows in wave order.
pub fn themes_of(r: &Report) -> Vec<(&str, Vec<&ThemeRow>)> {
    let mut out: Vec<(&str, Vec<&ThemeRow>)> = Vec::new();
    for x in &r.themes {
        match out.last_mut() {
            Some((t, rows)) if *t == x.theme => rows.push(x),
            _ => out.push((x.theme.as_str(), vec![x])),
        }
    }
    out
}

/// The headline of a theme: how the pair's gap moved over the theme's latest series.
pub fn theme_headline(r: &Report, rows: &[&ThemeRow]) -> String {
    let (a, b) = (group_label(r, &r.group_a), group_label(r, &r.group_b));
    let Some(last) = rows.last() else {
        return String::new();
    };
    let series: Vec<&&ThemeRow> = rows.iter().filter(|x| x.series == last.series).collect();
    let first = series[0];
    let members = last.members.replace(',', ", ");
    let moved = if first.wave == last.wave {
        format!(
            "the {a} \u{2212} {b} gap is {} points in {}",
            typo(show_signed(last.gap_pp)),
            wave_label(r, &last.wave)
        )
    } else {
        let word = match last.slope_direction.as_deref() {
            Some("narrowing") => "narrowed",
            Some("widening") => "widened",
            Some(_) => "held (no significant trend)",
            None => "moved",
        };
        format!(
            "the {a} \u{2212} {b} gap {word} from {} points in {} to {} in {} ({} points a year, q {})",
            typo(show_signed(first.gap_pp)),
            wave_label(r, &first.wave),
            typo(show_signed(last.gap_pp)),
            wave_label(r, &last.wave),
            typo(show_signed(last.slope)),
            show_p(last.slope_q_value)
        )
    };
    let since = if last.series > 1 {
        format!(
            " Series {} starts in {}: the theme's statements changed or one was reworded.",
            last.series,
            wave_label(r, &first.wave)
        )
    } else {
        String::new()
    };
    format!("{} ({members}): {moved}.{since}", last.theme)
}

/// The cells of a theme's row after its wave: a %, b %, gap, change, q, trend.
pub fn theme_cells(x: &ThemeRow) -> [String; 6] {
    [
        show(x.pct_a),
        show(x.pct_b),
        typo(show_signed(x.gap_pp)),
        typo(show_signed(x.change_pp)),
        show_p(x.change_q_value),
        x.trend.clone().unwrap_or_else(|| "n/a".to_string()),
    ]
}

/// Marker for a cell where either base is below `min_base`.
pub const LOW_BASE: &str = "†";
/// Marker for a wave that starts a new series (the wording changed).
pub const SERIES_BREAK: &str = "‖";

/// A group id as a reader sees it: first letter upper-cased ("marketing" → "Marketing").
pub fn display_group(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A group as the reading files name it: the publisher's label, else the id with its
/// first letter upper-cased.
pub fn group_label(r: &Report, group: &str) -> String {
    r.words
        .group_labels
        .get(group)
        .cloned()
        .unwrap_or_else(|| display_group(group))
}

/// A wave as the reading files name it: the publisher's label, else its id.
pub fn wave_label<'a>(r: &'a Report, wave: &'a str) -> &'a str {
    r.words.wave_labels.get(wave).map_or(wave, String::as_str)
}

/// A segment column as the reading files name it: the publisher's label, else its name.
pub fn segment_label<'a>(r: &'a Report, segment: &'a str) -> &'a str {
    r.words
        .segment_labels
        .get(segment)
        .map_or(segment, String::as_str)
}

/// The publisher's title, else "Marketing vs Sales: agreement gap by wave" (plain
/// text, not escaped).
pub fn title(r: &Report) -> String {
    r.words.title.clone().unwrap_or_else(|| {
        format!(
            "{} vs {}: agreement gap by wave",
            group_label(r, &r.group_a),
            group_label(r, &r.group_b)
        )
    })
}

/// The marker text of a suppressed cell, e.g. `n<10`.
pub fn suppressed_label(r: &Report) -> String {
    format!("n<{}", r.suppress_below)
}

/// A change of a statement's wording between two waves it was asked in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordingChange {
    /// The first wave asked with the new wording.
    pub wave: String,
    pub before: String,
    pub after: String,
}

/// Every change of wording of `st`, in wave order (cells whose wording is not known
/// are skipped).
pub fn wording_changes(st: &StatementTrend) -> Vec<WordingChange> {
    let mut out = Vec::new();
    let mut last: Option<&str> = None;
    for c in &st.cells {
        let Some(t) = c.text.as_deref() else { continue };
        if let Some(prev) = last.filter(|p| p.trim() != t.trim()) {
            out.push(WordingChange {
                wave: c.wave.clone(),
                before: prev.to_string(),
                after: t.to_string(),
            });
        }
        last = Some(t);
    }
    out
}

/// One sentence per wording change of the report's statements ("From 2020, asked as
/// "…"; before: "…"."), with the statement's current wording (plain, not escaped).
pub fn wording_notes(r: &Report) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for st in &r.statements {
        for w in wording_changes(st) {
            out.push((
                st.text.clone(),
                format!(
                    "from {}, asked as \u{201c}{}\u{201d}; before, as \u{201c}{}\u{201d}",
                    wave_label(r, &w.wave),
                    w.after,
                    w.before
                ),
            ));
        }
    }
    out
}

/// Direction of a significant change of the gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Widened,
    Narrowed,
}

/// What one statement × wave cell of the gap table shows.
#[derive(Debug, Clone, PartialEq)]
pub enum CellView<'a> {
    /// No answers from both groups in this wave: the statement was not in it, or a group
    /// had no respondent answering it.
    Absent,
    /// A base is below the suppression threshold: nothing but the bases is published.
    Suppressed {
        cell: &'a TrendCell,
        series_break: bool,
    },
    /// A published cell.
    Shown(Shown<'a>),
}

/// What a published cell of the gap table shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shown<'a> {
    pub cell: &'a TrendCell,
    /// `None` when the data has no gap.
    pub gap: Option<f64>,
    pub change: Option<Change>,
    pub low_base: bool,
    pub series_break: bool,
}

/// The cell of statement `st` in the wave `wave` (an id of `Report::waves`).
pub fn cell_view<'a>(st: &'a StatementTrend, wave: &str) -> CellView<'a> {
    let Some(pos) = st.cells.iter().position(|c| c.wave == wave) else {
        return CellView::Absent;
    };
    let cell = &st.cells[pos];
    // A break only means something after an earlier wave of the same statement.
    let series_break = cell.series_break && pos > 0;
    if cell.suppressed {
        return CellView::Suppressed { cell, series_break };
    }
    let change = if cell.series_break {
        None
    } else {
        match cell.trend.as_deref() {
            Some("widened") => Some(Change::Widened),
            Some("narrowed") => Some(Change::Narrowed),
            _ => None,
        }
    };
    CellView::Shown(Shown {
        cell,
        gap: cell.gap_pp.filter(|g| g.is_finite()),
        change,
        low_base: cell.low_base,
        series_break,
    })
}

/// A percentage, a gap or a bound for reading: one decimal (`45.3`), or `n/a`.
pub fn show(v: Option<f64>) -> String {
    fixed_opt(v, DISPLAY_DECIMALS).unwrap_or_else(|| "n/a".to_string())
}

/// A gap or a change for reading, with its sign (`+5.0`, `-3.2`), or `n/a`.
pub fn show_signed(v: Option<f64>) -> String {
    v.and_then(|v| signed(v, DISPLAY_DECIMALS))
        .unwrap_or_else(|| "n/a".to_string())
}

/// A p or q value for reading: three decimals, `<0.001` below that, or `n/a`.
pub fn show_p(v: Option<f64>) -> String {
    match v.filter(|v| v.is_finite()) {
        Some(p) if p < 0.001 => "<0.001".to_string(),
        Some(p) => fixed(p, 3).unwrap_or_default(),
        None => "n/a".to_string(),
    }
}

/// A base for reading, or `n/a` for a published figure without one.
pub fn show_n(n: Option<i64>) -> String {
    n.map_or_else(|| "n/a".to_string(), |n| n.to_string())
}

/// The breakdown rows of the wave a reading file shows (its latest wave), as a table:
/// statement (id, text) × segment value -> row.
pub fn breakdown_table(b: &Breakdown) -> Vec<(&str, &str, Vec<Option<&BreakdownRow>>)> {
    let Some(wave) = b.latest_wave.as_deref() else {
        return Vec::new();
    };
    let mut out: Vec<(&str, &str, Vec<Option<&BreakdownRow>>)> = Vec::new();
    for row in b.rows.iter().filter(|x| x.wave == wave) {
        if out.last().is_none_or(|(id, _, _)| *id != row.statement) {
            out.push((&row.statement, &row.text, vec![None; b.values.len()]));
        }
        if let (Some(last), Some(k)) = (
            out.last_mut(),
            b.values.iter().position(|v| *v == row.segment_value),
        ) {
            last.2[k] = Some(row);
        }
    }
    out
}

/// The trend of the gap within each value of a breakdown: per statement of the report
/// (its wording), per value the slope of the latest series, or `None` (fewer than two
/// published waves). Only statements with a slope somewhere.
pub fn breakdown_slope_table<'a>(
    r: &'a Report,
    b: &'a Breakdown,
) -> Vec<(&'a str, Vec<Option<&'a SlopeRow>>)> {
    r.statements
        .iter()
        .filter_map(|st| {
            let cells: Vec<Option<&SlopeRow>> = b
                .values
                .iter()
                .map(|v| {
                    b.slopes
                        .iter()
                        .filter(|(value, x)| value == v && x.statement == st.statement)
                        .map(|(_, x)| x)
                        .max_by_key(|x| x.series)
                })
                .collect();
            cells
                .iter()
                .any(Option::is_some)
                .then_some((st.text.as_str(), cells))
        })
        .collect()
}

/// What a breakdown's trend table says before it.
pub const BREAKDOWN_SLOPE_NOTE: &str =
    "The trend of the gap within each value across its published waves (the latest \
    series): points per year, and narrowing, widening or flat by the Benjamini\u{2013}Hochberg \
    q over the statements and values of this breakdown.";

/// One cell of a breakdown's trend table: "−1.2 (flat)" (plain; the caller escapes).
pub fn breakdown_slope(x: Option<&SlopeRow>) -> String {
    match x {
        None => ABSENT.to_string(),
        Some(x) => typo(format!(
            "{} ({})",
            show_signed(x.slope),
            x.direction.as_deref().unwrap_or("n/a")
        )),
    }
}

/// The gap text of one breakdown cell (`+5.0†`, `n<10`, `—`; plain, not escaped).
pub fn breakdown_gap(r: &Report, row: Option<&BreakdownRow>) -> String {
    match row {
        None => ABSENT.to_string(),
        Some(x) if x.suppressed => suppressed_label(r),
        Some(x) => {
            let lb = if x.low_base { LOW_BASE } else { "" };
            format!("{}{lb}", show_signed(x.gap_pp))
        }
    }
}

/// Wording of the variance method.
fn variance_sentence(r: &Report) -> String {
    match r.variance.as_str() {
        "kish" => "The variance method is kish: the variance of a weighted percentage is \
                   p(1−p)/n_eff, with Kish's effective base."
            .to_string(),
        "linearized" => "The variance method is linearized: the variance of a weighted percentage \
                         is the Taylor-linearized variance of the ratio Σw·agree / Σw."
            .to_string(),
        other => format!("The variance method is {other}."),
    }
}

/// The methods note: one paragraph per entry, each a short heading ("Weights", empty for
/// the closing line) and its plain text (safe in Markdown; the HTML page escapes it).
pub fn methods(r: &Report) -> Vec<(&'static str, String)> {
    vec![
        (
            "Weights",
            "Percentages are weighted: 100·Σw·agree / Σw over the respondents of a group who \
             answered the statement (w = 1 in a wave without weights). The effective base is \
             Kish's n_eff = (Σw)² / Σw², which equals the number of respondents when there are no \
             weights. The bases shown are respondent counts."
                .to_string(),
        ),
        (
            "Intervals",
            "Each group's percentage has a Wilson score 95 % interval computed on its effective \
             base. The gap (first group minus second, in percentage points) has Newcombe's hybrid \
             score interval (his method 10), built from the two Wilson intervals."
                .to_string(),
        ),
        (
            "Tests",
            "A gap is tested with a two-sided z test using the unpooled variance \
             p_a(1−p_a)/n_eff_a + p_b(1−p_b)/n_eff_b. The change of a gap since the previous wave \
             is tested with a two-sided z test that treats the two waves as independent samples \
             (the variance is the sum of the four variances). The p values of all statements of a \
             wave are adjusted with the Benjamini–Hochberg procedure (false discovery rate); a \
             change is significant where q < 0.05, and is then called widened or narrowed by the \
             size of the gap. A statement whose wording changed starts a new series and is not \
             compared with the wave before."
                .to_string(),
        ),
        (
            "Bases",
            match r.min_base_on {
                BaseOn::N => format!(
                    "A cell where either group has fewer than {} respondents is flagged as a low base; \
                     where either has fewer than {}, it is suppressed: no percentage, gap or change is \
                     published, only the bases. Published figures loaded without a base have no \
                     interval or test.",
                    r.min_base, r.suppress_below
                ),
                BaseOn::NEff => format!(
                    "A cell where either group's effective base (n_eff, see Variance) is below {} is \
                     flagged as a low base; where either is below {}, it is suppressed: no \
                     percentage, gap or change is published, only the bases. The thresholds apply \
                     to the effective base, not the respondent count, because a heavily weighted \
                     cell rests on fewer respondents than it counts. Published figures loaded \
                     without a base have no interval or test.",
                    r.min_base, r.suppress_below
                ),
            },
        ),
        ("Variance", variance_sentence(r)),
        ("Statements", statement_ids(r)),
        ("", format!("Built from data version {}.", r.data_version)),
    ]
}

/// The ids of the statements and waves, as the data files name them.
fn statement_ids(r: &Report) -> String {
    let statements: Vec<String> = r
        .statements
        .iter()
        .map(|s| format!("{} = \u{201c}{}\u{201d}", s.statement, s.text))
        .collect();
    let waves: Vec<String> = r
        .waves
        .iter()
        .filter(|w| wave_label(r, &w.wave) != w.wave)
        .map(|w| format!("{} = {}", w.wave, wave_label(r, &w.wave)))
        .collect();
    let mut s = format!(
        "The data files name the statements by their ids: {}.",
        statements.join("; ")
    );
    if !waves.is_empty() {
        s.push_str(&format!(" The waves: {}.", waves.join("; ")));
    }
    s
}

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
pub fn typo(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) => format!("\u{2212}{rest}"),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_changes_are_found_between_the_waves_that_know_theirs() {
        let cell = |wave: &str, text: Option<&str>| {
            let mut c = crate::report::fixtures::cell(
                wave,
                "2020-01-01".into(),
                crate::report::fixtures::est(Some(50), Some(50.0), 5.0),
                crate::report::fixtures::est(Some(50), Some(40.0), 5.0),
                (1.0, 1.0),
                0.5,
            );
            c.text = text.map(str::to_string);
            c
        };
        let st = StatementTrend {
            statement: "s".into(),
            text: "New".into(),
            cells: vec![
                cell("w1", Some("Old")),
                cell("w2", None),
                cell("w3", Some("Old ")),
                cell("w4", Some("New")),
            ],
        };
        assert_eq!(
            wording_changes(&st),
            vec![WordingChange {
                wave: "w4".into(),
                before: "Old ".into(),
                after: "New".into()
            }]
        );
    }

    #[test]
    fn fixed_formats_and_drops_negative_zero() {
        assert_eq!(fixed(1.23456, 4).as_deref(), Some("1.2346"));
        assert_eq!(fixed(-0.00001, 4).as_deref(), Some("0.0000"));
        assert_eq!(fixed(-0.04, 1).as_deref(), Some("0.0"));
        assert_eq!(fixed(-0.06, 1).as_deref(), Some("-0.1"));
        assert_eq!(fixed(f64::NAN, 1), None);
        assert_eq!(fixed(f64::INFINITY, 1), None);
        assert_eq!(signed(5.0, 1).as_deref(), Some("+5.0"));
        assert_eq!(signed(-3.25, 1).as_deref(), Some("-3.2"));
        assert_eq!(signed(-0.01, 1).as_deref(), Some("0.0"));
        assert_eq!(signed(0.0, 1).as_deref(), Some("0.0"));
        assert_eq!(
            full_p(0.13749613902100594).as_deref(),
            Some("0.13749613902100594")
        );
        assert_eq!(
            full_p(2.126266693949922e-8).as_deref(),
            Some("2.126266693949922e-8")
        );
        assert_eq!(full_p(1.0).as_deref(), Some("1"));
        assert_eq!(full_p(0.0).as_deref(), Some("0"));
        assert_eq!(full_p(-0.0).as_deref(), Some("0"));
        assert_eq!(full_p(f64::NAN), None);
        for p in [1e-300, 4.5e-7, 0.00012, 0.05] {
            assert_eq!(full_p(p).unwrap().parse::<f64>().unwrap(), p);
        }
    }
}
