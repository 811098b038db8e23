//! The data a published report is rendered from. Built by `report::build` from the
//! store (through SQL), rendered by `md`, `html`, `csv` and `json`. Renderers never compute
//! statistics: every number they print is already here, already suppressed where the
//! base is too small.

/// Everything one publication shows, for one pair of groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// First group of the pair (`group_a` in `gaps`), e.g. "marketing".
    pub group_a: String,
    /// Second group of the pair, e.g. "sales".
    pub group_b: String,
    /// Waves in date order (then by id): the columns of the table, the x axis of the charts.
    pub waves: Vec<WaveInfo>,
    /// Statements in a stable order (their first appearance in wave order, then id).
    pub statements: Vec<StatementTrend>,
    /// Base below which a cell is flagged as low (default 30).
    pub min_base: i64,
    /// Base below which a cell is suppressed (no percentage published; default 10).
    pub suppress_below: i64,
    /// The base both thresholds compare with: respondents (`n`) or the effective base.
    pub min_base_on: crate::sql::BaseOn,
    /// Data version the report was built from (the catalog table's Delta version).
    pub data_version: i64,
    /// "kish" or "linearized": the variance method used.
    pub variance: String,
    /// Segment breakdowns asked for with `--by` (empty without).
    pub breakdowns: Vec<Breakdown>,
    /// The trend of each statement's gap across all waves of each series (`report_slope`),
    /// in statement order, then series.
    pub slopes: Vec<SlopeRow>,
    /// The change of every gap since a chosen wave (`report --baseline`), if asked for.
    pub baseline: Option<Baseline>,
    /// The themes of the specs (`report_themes`): theme × wave, in theme order, then
    /// wave order. The report leads with them.
    pub themes: Vec<ThemeRow>,
    /// The publisher's words (title, labels, notes); gaptrack's defaults where empty.
    pub words: Words,
}

/// What the publisher says in the reading files instead of gaptrack's defaults
/// (`[report]` keys and `report` flags). The data files keep the ids.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Words {
    pub title: Option<String>,
    pub subtitle: Option<String>,
    /// Where the data come from, e.g. "Alignment benchmark 2017-2021, n = 4,210".
    pub source: Option<String>,
    pub byline: Option<String>,
    /// Notes in Markdown.
    pub notes: Option<String>,
    /// Wave id -> the label its column shows.
    pub wave_labels: std::collections::BTreeMap<String, String>,
    /// Group id -> the label the page shows.
    pub group_labels: std::collections::BTreeMap<String, String>,
    /// Segment column -> the label of its breakdown ("company_size" -> "company size").
    pub segment_labels: std::collections::BTreeMap<String, String>,
    /// Statement ids shown first, in this order (the others follow in theirs).
    pub statement_order: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WaveInfo {
    pub wave: String,
    /// ISO date, `YYYY-MM-DD`.
    pub date: String,
    pub title: Option<String>,
    /// "microdata" or "cells".
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatementTrend {
    /// Stable statement id, e.g. "marketing_understands_customers".
    pub statement: String,
    /// Wording of the statement (from the latest wave that has it).
    pub text: String,
    /// One entry per wave in which the statement was asked of both groups,
    /// in the same order as `Report::waves` (waves without it are absent).
    pub cells: Vec<TrendCell>,
}

/// One group's estimate in one wave.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupEstimate {
    /// Respondents with a non-missing answer; `None` for a published figure without base.
    pub n: Option<i64>,
    /// Percent agreeing on 0-100; `None` when suppressed.
    pub pct: Option<f64>,
    /// Wilson 95 % interval on 0-100; `None` when suppressed or no base.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// Statement × wave for the pair: one row of trend.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendCell {
    pub wave: String,
    pub date: String,
    pub a: GroupEstimate,
    pub b: GroupEstimate,
    /// Gap in points (a − b); `None` when either side is suppressed.
    pub gap_pp: Option<f64>,
    pub gap_ci_low: Option<f64>,
    pub gap_ci_high: Option<f64>,
    pub gap_p_value: Option<f64>,
    /// Change of the gap since the previous wave of the series, in points.
    pub change_pp: Option<f64>,
    pub change_p_value: Option<f64>,
    pub change_q_value: Option<f64>,
    /// "narrowed" | "widened" | "stable"; `None` where there is no q value.
    pub trend: Option<String>,
    /// The previous wave this cell is compared with, if any.
    pub prev_wave: Option<String>,
    /// Either base below `min_base`.
    pub low_base: bool,
    /// Either base below `suppress_below`: no percentage is published for this cell.
    pub suppressed: bool,
    /// This wave starts a new series for the statement (wording changed).
    pub series_break: bool,
    /// The wording the statement was asked with in this wave (`None`: not known).
    pub text: Option<String>,
}

/// The change of each gap since a chosen wave (`report_baseline`).
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub wave: String,
    /// Statement × later wave of the same series, in wave date order, then statement.
    pub rows: Vec<BaselineRow>,
}

/// One statement × wave against the baseline wave, for the pair as asked.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineRow {
    pub statement: String,
    pub wave: String,
    pub date: String,
    /// `None` where either wave's cell is suppressed.
    pub gap_pp: Option<f64>,
    pub baseline_gap_pp: Option<f64>,
    pub change_pp: Option<f64>,
    pub p_value: Option<f64>,
    pub q_value: Option<f64>,
    /// "narrowed" | "widened" | "stable"; `None` without a q value.
    pub trend: Option<String>,
    pub suppressed: bool,
}

/// The trend of one statement's gap across the waves of one series: the inverse-variance
/// weighted least-squares slope of `gap_slope`, for the pair as asked.
#[derive(Debug, Clone, PartialEq)]
pub struct SlopeRow {
    pub statement: String,
    /// 1, then 2, 3, … after each new wording.
    pub series: i64,
    pub first_wave: String,
    pub last_wave: String,
    /// Waves with a standard error in the fit.
    pub waves: i64,
    /// Points per year.
    pub slope: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub p_value: Option<f64>,
    pub q_value: Option<f64>,
    /// "narrowing" | "widening" | "flat"; `None` without a q value.
    pub direction: Option<String>,
}

/// One theme in one wave, for the pair as asked (`report_themes`): both groups' index
/// (the share of the theme's statements agreed with, in percent), the gap, its change
/// since the previous wave and the slope of the theme's series.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeRow {
    pub theme: String,
    /// The theme's statements in this wave, comma-separated.
    pub members: String,
    pub wave: String,
    pub date: String,
    pub series: i64,
    pub n_a: Option<i64>,
    pub n_b: Option<i64>,
    pub pct_a: Option<f64>,
    pub pct_b: Option<f64>,
    pub gap_pp: Option<f64>,
    pub gap_ci_low: Option<f64>,
    pub gap_ci_high: Option<f64>,
    pub prev_wave: Option<String>,
    pub change_pp: Option<f64>,
    pub change_q_value: Option<f64>,
    pub trend: Option<String>,
    /// The slope of the series (points per year), its q value and direction.
    pub slope: Option<f64>,
    pub slope_q_value: Option<f64>,
    pub slope_direction: Option<String>,
    pub suppressed: bool,
}

/// The gap of the pair within each value of one segment column (`report --by SEGMENT`).
#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    /// Segment column name, e.g. "company_size".
    pub segment: String,
    /// The segment's values in the order shown (sorted).
    pub values: Vec<String>,
    /// The latest wave (in date order) with rows for this segment: the one the reading
    /// files show. The data files carry every wave.
    pub latest_wave: Option<String>,
    /// Statement × wave × segment value, in statement order (as `Report::statements`),
    /// then wave date order, then value.
    pub rows: Vec<BreakdownRow>,
    /// The trend of the gap within each segment value (`report_breakdown_slope`):
    /// (value, slope row), in statement order, then value, then series.
    pub slopes: Vec<(String, SlopeRow)>,
}

/// One statement × wave × segment value of a breakdown.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakdownRow {
    pub statement: String,
    pub text: String,
    pub wave: String,
    pub date: String,
    pub segment_value: String,
    pub n_a: i64,
    pub n_b: i64,
    /// `None` when suppressed.
    pub pct_a: Option<f64>,
    pub pct_b: Option<f64>,
    pub gap_pp: Option<f64>,
    pub gap_ci_low: Option<f64>,
    pub gap_ci_high: Option<f64>,
    pub gap_p_value: Option<f64>,
    /// Either base below `min_base`.
    pub low_base: bool,
    /// Either base below `suppress_below`: only the bases are published.
    pub suppressed: bool,
}
