//! Report models for the renderers' tests: a group's estimate, a cell, and a report whose
//! every value is missing.

use super::model::*;

/// A group's estimate of `n` respondents and `pct` %, its interval `pct ± half`.
pub fn est(n: Option<i64>, pct: Option<f64>, half: f64) -> GroupEstimate {
    GroupEstimate {
        n,
        pct,
        ci_low: pct.map(|p| p - half),
        ci_high: pct.map(|p| p + half),
    }
}

/// The cell of `a` and `b` in `wave`: the gap a − b with the interval `gap − below` to
/// `gap + above` and the p value `p`, no change, no flag.
pub fn cell(
    wave: &str,
    date: String,
    a: GroupEstimate,
    b: GroupEstimate,
    (below, above): (f64, f64),
    p: f64,
) -> TrendCell {
    let gap = a.pct.zip(b.pct).map(|(x, y)| x - y);
    TrendCell {
        wave: wave.into(),
        date,
        a,
        b,
        gap_pp: gap,
        gap_ci_low: gap.map(|g| g - below),
        gap_ci_high: gap.map(|g| g + above),
        gap_p_value: gap.map(|_| p),
        change_pp: None,
        change_p_value: None,
        change_q_value: None,
        trend: None,
        prev_wave: None,
        low_base: false,
        suppressed: false,
        series_break: false,
        text: None,
    }
}

/// `r` with every base, estimate, gap and change missing (and nothing flagged).
pub fn all_missing(r: &mut Report) {
    for st in &mut r.statements {
        for c in &mut st.cells {
            c.a = est(None, None, 0.0);
            c.b = c.a.clone();
            c.gap_pp = None;
            c.gap_ci_low = None;
            c.gap_ci_high = None;
            c.gap_p_value = None;
            c.change_pp = None;
            c.trend = None;
            c.suppressed = false;
            c.low_base = false;
        }
    }
}
