//! `trend.csv` and `trend.json`: one row per statement × wave for the report's pair.
//!
//! Both files carry the same columns in the same order and the same rounding:
//! percentages, points and interval bounds with 4 decimals, p and q values at full
//! precision (exponent form below 0.0001).
//! A missing value is an empty CSV field and a JSON `null`. A suppressed cell keeps its
//! bases and flags but publishes no percentage, gap, interval, p value or change.
//! Numbers print with `view::fixed`, the one formatter every renderer uses, so that the
//! same value prints the same way in every file.

use super::model::*;
use super::view::{fixed_opt, full_p, slopes_of};

/// Decimals for percentages, points and interval bounds in the data files.
pub const DATA_DECIMALS: usize = 4;

/// The columns `trend.csv` and `breakdown.csv` share: a statement × wave of the pair,
/// both bases, both percentages and the gap.
const GAP_COLUMNS: [&str; 14] = [
    "statement",
    "text",
    "wave",
    "date",
    "group_a",
    "group_b",
    "n_a",
    "n_b",
    "pct_a",
    "pct_b",
    "gap_pp",
    "gap_ci_low",
    "gap_ci_high",
    "gap_p_value",
];

/// `a`, then `b`, then `c` as one array of `N` (= their lengths' sum) names.
const fn concat<const A: usize, const B: usize, const C: usize, const N: usize>(
    a: [&'static str; A],
    b: [&'static str; B],
    c: [&'static str; C],
) -> [&'static str; N] {
    assert!(A + B + C == N);
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = if i < A {
            a[i]
        } else if i < A + B {
            b[i - A]
        } else {
            c[i - A - B]
        };
        i += 1;
    }
    out
}

/// The columns of `trend.csv`, which are also the keys of each `trend.json` row, in order.
pub const COLUMNS: [&str; 19] = concat(
    [],
    GAP_COLUMNS,
    [
        "change_pp",
        "change_p_value",
        "change_q_value",
        "trend",
        "low_base",
    ],
);

/// One value of a row, before it is written as CSV text, JSON or a workbook cell.
pub(super) enum Val {
    Text(String),
    /// Already formatted number (or integer) text.
    Num(String),
    Bool(bool),
    Missing,
}

impl Val {
    fn num(v: Option<f64>, decimals: usize) -> Val {
        fixed_opt(v, decimals).map_or(Val::Missing, Val::Num)
    }
    /// A p or q value at full precision.
    fn p(v: Option<f64>) -> Val {
        v.and_then(full_p).map_or(Val::Missing, Val::Num)
    }
    fn int(v: Option<i64>) -> Val {
        v.map_or(Val::Missing, |n| Val::Num(n.to_string()))
    }
    fn csv_field(&self) -> String {
        match self {
            Val::Text(s) | Val::Num(s) => s.clone(),
            Val::Bool(b) => b.to_string(),
            Val::Missing => String::new(),
        }
    }
    fn json(&self) -> String {
        match self {
            Val::Text(s) => json_str(s),
            Val::Num(s) => s.clone(),
            Val::Bool(b) => b.to_string(),
            Val::Missing => "null".to_string(),
        }
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serializes")
}

/// The values of [`GAP_COLUMNS`]: `ids` are the statement, its text, the wave and its
/// date; `figures` the two percentages, the gap, its interval and its p value, all
/// missing where the cell is `suppressed`.
fn gap_values(
    r: &Report,
    ids: [&str; 4],
    n: [Option<i64>; 2],
    figures: [Option<f64>; 6],
    suppressed: bool,
) -> Vec<Val> {
    let mut v: Vec<Val> = ids.iter().map(|s| Val::Text(s.to_string())).collect();
    v.push(Val::Text(r.group_a.clone()));
    v.push(Val::Text(r.group_b.clone()));
    v.extend(n.map(Val::int));
    for (k, x) in figures.into_iter().enumerate() {
        v.push(match (suppressed, k) {
            (true, _) => Val::Missing,
            (false, 5) => Val::p(x),
            (false, _) => Val::num(x, DATA_DECIMALS),
        });
    }
    v
}

/// The rows of the report, each with one value per entry of [`COLUMNS`].
pub(super) fn rows(r: &Report) -> Vec<Vec<Val>> {
    let mut out = Vec::new();
    for st in &r.statements {
        for c in &st.cells {
            // Change columns are empty for a suppressed cell and for a wave that starts
            // a new series (nothing is compared across a change of wording).
            let no_change = c.suppressed || c.series_break;
            let change = |v: Val| if no_change { Val::Missing } else { v };
            let trend = match (&c.trend, no_change) {
                (Some(t), false) => Val::Text(t.clone()),
                _ => Val::Missing,
            };
            let mut row = gap_values(
                r,
                // The wording this wave asked the statement with.
                [
                    &st.statement,
                    c.text.as_deref().unwrap_or(&st.text),
                    &c.wave,
                    &c.date,
                ],
                [c.a.n, c.b.n],
                [
                    c.a.pct,
                    c.b.pct,
                    c.gap_pp,
                    c.gap_ci_low,
                    c.gap_ci_high,
                    c.gap_p_value,
                ],
                c.suppressed,
            );
            row.extend([
                change(Val::num(c.change_pp, DATA_DECIMALS)),
                change(Val::p(c.change_p_value)),
                change(Val::p(c.change_q_value)),
                trend,
                Val::Bool(c.low_base),
            ]);
            out.push(row);
        }
    }
    out
}

/// `trend.csv`: a header line and one row per statement × wave, `\n` line endings,
/// fields quoted only where needed.
pub fn render_csv(r: &Report) -> String {
    csv_text(&COLUMNS, &rows(r))
}

fn csv_text(columns: &[&str], rows: &[Vec<Val>]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(columns).expect("writing to memory");
    for row in rows {
        w.write_record(row.iter().map(Val::csv_field))
            .expect("writing to memory");
    }
    let bytes = w.into_inner().expect("flushing to memory");
    String::from_utf8(bytes).expect("every field is UTF-8")
}

/// `trend.json`: the pair, the report's parameters and the same rows as `trend.csv`,
/// keys in column order, numbers with the same rounding, `null` where a value is missing.
pub fn render_json(r: &Report) -> String {
    let mut s = json_text(r, &COLUMNS, &rows(r));
    // trend.json closes with the slopes: `"rows": [...]` then `"slopes": [...]`.
    s.truncate(s.len() - "\n}\n".len());
    s.push_str(",\n");
    s.push_str(&json_array("slopes", &SLOPE_COLUMNS, &slope_rows(r)));
    s.truncate(s.len() - 1);
    s.push_str(",\n");
    s.push_str(&json_array("themes", &THEME_COLUMNS, &theme_rows(r)));
    if let Some(b) = &r.baseline {
        s.truncate(s.len() - 1);
        s.push_str(",\n");
        s.push_str(&format!("  \"baseline_wave\": {},\n", json_str(&b.wave)));
        s.push_str(&json_array(
            "baseline",
            &BASELINE_COLUMNS,
            &baseline_rows(r),
        ));
    }
    s.push_str("}\n");
    s
}

/// The keys of each element of `baseline` in trend.json (`report --baseline`).
pub const BASELINE_COLUMNS: [&str; 10] = [
    "statement",
    "wave",
    "date",
    "baseline_gap_pp",
    "gap_pp",
    "change_pp",
    "p_value",
    "q_value",
    "trend",
    "suppressed",
];

/// Every row against the baseline: statement × later wave of its series.
pub(super) fn baseline_rows(r: &Report) -> Vec<Vec<Val>> {
    let text = |s: &str| Val::Text(s.to_string());
    let Some(b) = &r.baseline else {
        return vec![];
    };
    b.rows
        .iter()
        .map(|x| {
            vec![
                text(&x.statement),
                text(&x.wave),
                text(&x.date),
                Val::num(x.baseline_gap_pp, DATA_DECIMALS),
                Val::num(x.gap_pp, DATA_DECIMALS),
                Val::num(x.change_pp, DATA_DECIMALS),
                Val::p(x.p_value),
                Val::p(x.q_value),
                x.trend.as_deref().map_or(Val::Missing, text),
                Val::Bool(x.suppressed),
            ]
        })
        .collect()
}

/// The keys of each element of `themes` in trend.json (the columns of `report_themes`).
pub const THEME_COLUMNS: [&str; 20] = [
    "theme",
    "members",
    "wave",
    "date",
    "series",
    "n_a",
    "n_b",
    "pct_a",
    "pct_b",
    "gap_pp",
    "gap_ci_low",
    "gap_ci_high",
    "prev_wave",
    "change_pp",
    "change_q_value",
    "trend",
    "slope_pp_per_year",
    "slope_q_value",
    "slope_direction",
    "suppressed",
];

/// The theme rows: theme × wave.
pub(super) fn theme_rows(r: &Report) -> Vec<Vec<Val>> {
    let text = |s: &str| Val::Text(s.to_string());
    let opt = |s: &Option<String>| s.as_deref().map_or(Val::Missing, text);
    let num = |v: Option<f64>| Val::num(v, DATA_DECIMALS);
    r.themes
        .iter()
        .map(|x| {
            vec![
                text(&x.theme),
                text(&x.members),
                text(&x.wave),
                text(&x.date),
                Val::int(Some(x.series)),
                Val::int(x.n_a),
                Val::int(x.n_b),
                num(x.pct_a),
                num(x.pct_b),
                num(x.gap_pp),
                num(x.gap_ci_low),
                num(x.gap_ci_high),
                opt(&x.prev_wave),
                num(x.change_pp),
                Val::p(x.change_q_value),
                opt(&x.trend),
                num(x.slope),
                Val::p(x.slope_q_value),
                opt(&x.slope_direction),
                Val::Bool(x.suppressed),
            ]
        })
        .collect()
}

/// The keys of each element of `slopes` in trend.json (the columns of `report_slope`
/// but `se` and `nonlinearity_p`).
pub const SLOPE_COLUMNS: [&str; 11] = [
    "statement",
    "series",
    "first_wave",
    "last_wave",
    "waves",
    "slope_pp_per_year",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
    "direction",
];

/// The slope rows in statement order, then series.
pub(super) fn slope_rows(r: &Report) -> Vec<Vec<Val>> {
    r.statements
        .iter()
        .flat_map(|st| slopes_of(r, &st.statement))
        .map(slope_values)
        .collect()
}

/// One slope row's values, in the order of [`SLOPE_COLUMNS`].
fn slope_values(x: &SlopeRow) -> Vec<Val> {
    let text = |s: &str| Val::Text(s.to_string());
    vec![
        text(&x.statement),
        Val::int(Some(x.series)),
        text(&x.first_wave),
        text(&x.last_wave),
        Val::int(Some(x.waves)),
        Val::num(x.slope, DATA_DECIMALS),
        Val::num(x.ci_low, DATA_DECIMALS),
        Val::num(x.ci_high, DATA_DECIMALS),
        Val::p(x.p_value),
        Val::p(x.q_value),
        x.direction.as_deref().map_or(Val::Missing, text),
    ]
}

/// The keys of each element of `slopes` in breakdown.json: the segment and its value,
/// then those of trend.json's slopes.
pub const BREAKDOWN_SLOPE_COLUMNS: [&str; 13] =
    concat(["segment", "segment_value"], SLOPE_COLUMNS, []);

/// The slope rows of every breakdown: segment, then the report's statement order, value,
/// series.
pub(super) fn breakdown_slope_rows(r: &Report) -> Vec<Vec<Val>> {
    let mut out = Vec::new();
    for b in &r.breakdowns {
        for (value, x) in &b.slopes {
            let mut row = vec![Val::Text(b.segment.clone()), Val::Text(value.clone())];
            row.extend(slope_values(x));
            out.push(row);
        }
    }
    out
}

fn json_text(r: &Report, columns: &[&str], rows: &[Vec<Val>]) -> String {
    let mut s = String::new();
    s.push_str("{\n");
    s.push_str(&format!(
        "  \"pair\": {{\"group_a\": {}, \"group_b\": {}}},\n",
        json_str(&r.group_a),
        json_str(&r.group_b)
    ));
    s.push_str(&format!("  \"data_version\": {},\n", r.data_version));
    s.push_str(&format!("  \"min_base\": {},\n", r.min_base));
    s.push_str(&format!("  \"suppress_below\": {},\n", r.suppress_below));
    s.push_str(&format!(
        "  \"min_base_on\": \"{}\",\n",
        r.min_base_on.as_str()
    ));
    s.push_str(&format!("  \"variance\": {},\n", json_str(&r.variance)));
    s.push_str(&json_array("rows", columns, rows));
    s.push_str("}\n");
    s
}

/// `  "name": [ {…}, … ]` and a newline: one object per row, keys in column order.
fn json_array(name: &str, columns: &[&str], rows: &[Vec<Val>]) -> String {
    let mut s = String::new();
    if rows.is_empty() {
        s.push_str(&format!("  {}: []\n", json_str(name)));
        return s;
    }
    s.push_str(&format!("  {}: [\n", json_str(name)));
    for (i, row) in rows.iter().enumerate() {
        s.push_str("    {\n");
        for (j, (key, v)) in columns.iter().zip(row).enumerate() {
            let comma = if j + 1 < columns.len() { "," } else { "" };
            s.push_str(&format!("      {}: {}{}\n", json_str(key), v.json(), comma));
        }
        s.push_str(if i + 1 < rows.len() {
            "    },\n"
        } else {
            "    }\n"
        });
    }
    s.push_str("  ]\n");
    s
}

/// The columns of `breakdown.csv` (and the keys of each `breakdown.json` row), in order:
/// the gap of the report's pair within each value of each `--by` segment, every wave.
pub const BREAKDOWN_COLUMNS: [&str; 17] =
    concat(["segment", "segment_value"], GAP_COLUMNS, ["low_base"]);

pub(super) fn breakdown_rows(r: &Report) -> Vec<Vec<Val>> {
    let mut out = Vec::new();
    for b in &r.breakdowns {
        for x in &b.rows {
            let mut row = vec![
                Val::Text(b.segment.clone()),
                Val::Text(x.segment_value.clone()),
            ];
            row.extend(gap_values(
                r,
                [&x.statement, &x.text, &x.wave, &x.date],
                [Some(x.n_a), Some(x.n_b)],
                [
                    x.pct_a,
                    x.pct_b,
                    x.gap_pp,
                    x.gap_ci_low,
                    x.gap_ci_high,
                    x.gap_p_value,
                ],
                x.suppressed,
            ));
            row.push(Val::Bool(x.low_base));
            out.push(row);
        }
    }
    out
}

/// `breakdown.csv`: one row per segment × value × statement × wave (empty of rows
/// without `--by`).
pub fn render_breakdown_csv(r: &Report) -> String {
    csv_text(&BREAKDOWN_COLUMNS, &breakdown_rows(r))
}

/// `breakdown.json`: the same rows as `breakdown.csv`, framed like `trend.json`, then the
/// slope of the gap within each value (`slopes`).
pub fn render_breakdown_json(r: &Report) -> String {
    let mut s = json_text(r, &BREAKDOWN_COLUMNS, &breakdown_rows(r));
    s.truncate(s.len() - "\n}\n".len());
    s.push_str(",\n");
    s.push_str(&json_array(
        "slopes",
        &BREAKDOWN_SLOPE_COLUMNS,
        &breakdown_slope_rows(r),
    ));
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    fn est(n: Option<i64>, pct: Option<f64>) -> GroupEstimate {
        fixtures::est(n, pct, 5.0)
    }

    fn cell(wave: &str, date: &str, a: GroupEstimate, b: GroupEstimate) -> TrendCell {
        fixtures::cell(wave, date.into(), a, b, (7.123456, 7.0), 0.0123456789)
    }

    fn report() -> Report {
        let mut c2 = cell(
            "w2",
            "2020-05-01",
            est(Some(300), Some(50.0)),
            est(Some(290), Some(40.0)),
        );
        c2.change_pp = Some(-0.000001);
        c2.gap_p_value = Some(2.5e-9);
        c2.change_p_value = Some(0.5);
        c2.change_q_value = Some(0.75);
        c2.trend = Some("stable".into());
        c2.prev_wave = Some("w1".into());
        let mut c3 = cell(
            "w3",
            "2021-05-01",
            est(Some(8), Some(20.0)),
            est(Some(250), Some(40.0)),
        );
        c3.change_pp = Some(12.0);
        c3.change_p_value = Some(0.01);
        c3.change_q_value = Some(0.02);
        c3.trend = Some("widened".into());
        c3.low_base = true;
        c3.suppressed = true;
        let mut b1 = cell(
            "w1",
            "2019-05-01",
            est(None, Some(61.25)),
            est(None, Some(40.0)),
        );
        b1.gap_ci_low = None;
        b1.gap_ci_high = None;
        b1.gap_p_value = None;
        Report {
            group_a: "marketing".into(),
            group_b: "sales \"ops\"".into(),
            waves: vec![],
            statements: vec![
                StatementTrend {
                    statement: "s1".into(),
                    text: "We share goals, \"truly\", with sales".into(),
                    cells: vec![
                        cell(
                            "w1",
                            "2019-05-01",
                            est(Some(310), Some(45.123456)),
                            est(Some(305), Some(40.0)),
                        ),
                        c2,
                        c3,
                    ],
                },
                StatementTrend {
                    statement: "s2".into(),
                    text: "Plain".into(),
                    cells: vec![b1],
                },
                StatementTrend {
                    statement: "s0_never".into(),
                    text: "Never asked".into(),
                    cells: vec![],
                },
            ],
            min_base: 30,
            suppress_below: 10,
            min_base_on: crate::sql::BaseOn::N,
            data_version: 7,
            variance: "kish".into(),
            breakdowns: vec![],
            slopes: vec![],
            baseline: None,
            themes: vec![],
            words: Words::default(),
        }
    }

    #[test]
    fn csv_header_rows_quoting_and_rounding() {
        let csv = render_csv(&report());
        let lines: Vec<&str> = csv.split('\n').collect();
        assert_eq!(
            lines[0],
            "statement,text,wave,date,group_a,group_b,n_a,n_b,pct_a,pct_b,gap_pp,gap_ci_low,gap_ci_high,gap_p_value,change_pp,change_p_value,change_q_value,trend,low_base"
        );
        // 4 data rows, a final newline, no carriage returns.
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[5], "");
        assert!(!csv.contains('\r'));
        assert_eq!(
            lines[1],
            "s1,\"We share goals, \"\"truly\"\", with sales\",w1,2019-05-01,marketing,\"sales \"\"ops\"\"\",310,305,45.1235,40.0000,5.1235,-2.0000,12.1235,0.0123456789,,,,,false"
        );
        // Negative zero change prints as 0; a tiny p value in exponent form.
        assert!(
            lines[2].contains(",2.5e-9,0.0000,0.5,0.75,stable,false"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn json_ends_with_the_slopes_of_each_statement() {
        let mut r = report();
        r.slopes = vec![SlopeRow {
            statement: "s1".into(),
            series: 1,
            first_wave: "w1".into(),
            last_wave: "w3".into(),
            waves: 3,
            slope: Some(-1.23456),
            ci_low: Some(-2.5),
            ci_high: None,
            p_value: Some(2.5e-9),
            q_value: Some(0.01),
            direction: Some("narrowing".into()),
        }];
        let v: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
        assert_eq!(v["rows"].as_array().unwrap().len(), 4);
        let slopes = v["slopes"].as_array().unwrap();
        assert_eq!(slopes.len(), 1);
        // Every key, in column order in the text.
        let text = render_json(&r);
        let at: Vec<usize> = SLOPE_COLUMNS
            .iter()
            .map(|k| text.rfind(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(slopes[0].as_object().unwrap().len(), SLOPE_COLUMNS.len());
        assert_eq!(slopes[0]["slope_pp_per_year"], -1.2346);
        assert_eq!(slopes[0]["ci_high"], serde_json::Value::Null);
        assert_eq!(slopes[0]["p_value"], 2.5e-9);
        assert_eq!(slopes[0]["direction"], "narrowing");
        // Without slopes, an empty array.
        let v: serde_json::Value = serde_json::from_str(&render_json(&report())).unwrap();
        assert_eq!(v["slopes"], serde_json::json!([]));
    }

    #[test]
    fn csv_suppressed_cell_keeps_bases_only() {
        let csv = render_csv(&report());
        let row = csv.lines().nth(3).unwrap();
        assert_eq!(
            row,
            "s1,\"We share goals, \"\"truly\"\", with sales\",w3,2021-05-01,marketing,\"sales \"\"ops\"\"\",8,250,,,,,,,,,,,true"
        );
    }

    #[test]
    fn csv_missing_bases_are_empty() {
        let csv = render_csv(&report());
        let row = csv.lines().nth(4).unwrap();
        assert_eq!(row, "s2,Plain,w1,2019-05-01,marketing,\"sales \"\"ops\"\"\",,,61.2500,40.0000,21.2500,,,,,,,,false");
    }

    #[test]
    fn csv_parses_back_with_csv_reader() {
        let csv = render_csv(&report());
        let mut rd = csv::Reader::from_reader(csv.as_bytes());
        let recs: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
        assert_eq!(recs.len(), 4);
        assert_eq!(&recs[0][1], "We share goals, \"truly\", with sales");
        assert_eq!(&recs[0][5], "sales \"ops\"");
        assert!(recs.iter().all(|r| r.len() == 19));
    }

    #[test]
    fn json_is_valid_ordered_and_rounded() {
        let r = report();
        let text = render_json(&r);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["pair"]["group_a"], "marketing");
        assert_eq!(v["pair"]["group_b"], "sales \"ops\"");
        assert_eq!(v["data_version"], 7);
        assert_eq!(v["min_base"], 30);
        assert_eq!(v["suppress_below"], 10);
        assert_eq!(v["min_base_on"], "n");
        assert_eq!(v["variance"], "kish");
        let rows = v["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0]["pct_a"].as_f64(), Some(45.1235));
        assert_eq!(rows[0]["gap_p_value"].as_f64(), Some(0.0123456789));
        assert!(rows[0]["change_pp"].is_null());
        assert_eq!(rows[0]["low_base"], false);
        assert_eq!(rows[1]["trend"], "stable");
        assert_eq!(rows[1]["change_pp"].as_f64(), Some(0.0));
        // Suppressed: bases kept, everything else null.
        assert_eq!(rows[2]["n_a"], 8);
        assert!(rows[2]["pct_a"].is_null() && rows[2]["pct_b"].is_null());
        assert!(rows[2]["gap_pp"].is_null() && rows[2]["change_q_value"].is_null());
        assert!(rows[2]["trend"].is_null());
        assert_eq!(rows[2]["low_base"], true);
        assert!(rows[3]["n_a"].is_null());
        // Keys appear in column order in the text.
        let first = &text[text.find("\"rows\"").unwrap()..];
        let mut last = 0;
        for k in COLUMNS {
            let at = first.find(&format!("\"{k}\":")).unwrap();
            assert!(at > last || last == 0, "{k} out of order");
            last = at;
        }
        assert_eq!(rows[0].as_object().unwrap().len(), 19);
    }

    #[test]
    fn json_number_text_matches_csv_text() {
        let text = render_json(&report());
        assert!(text.contains("\"pct_a\": 45.1235,"));
        assert!(text.contains("\"pct_b\": 40.0000,"));
        assert!(text.contains("\"gap_ci_low\": -2.0000,"));
        assert!(text.contains("\"change_pp\": 0.0000,"));
        assert!(!text.contains("-0.0000"));
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn empty_report_is_header_only_and_empty_rows() {
        let mut r = report();
        r.statements.clear();
        assert_eq!(render_csv(&r).lines().count(), 1);
        let v: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
        assert_eq!(v["rows"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn output_is_byte_stable() {
        let r = report();
        assert_eq!(render_csv(&r), render_csv(&r.clone()));
        assert_eq!(render_json(&r), render_json(&r.clone()));
    }
}
