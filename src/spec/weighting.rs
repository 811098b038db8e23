//! The `[weighting]` table of a wave spec: rim weighting (raking) targets, parsed and
//! checked with the rest of the spec. The algorithm is [`crate::stats::rake`]; the
//! collection of each respondent's categories while a source is validated is
//! [`crate::ingest::weights`].
//!
//! The scheme, as in weightipy / quantipy's `Rim`: start from the design weight (the
//! spec's `weight` column, else 1); one iteration scales the weights of each margin in
//! turn so that its weighted shares equal the targets; with `trim = [lo, hi]` every
//! weight is then clipped to `[lo·mean, hi·mean]`, and the next iteration rakes again.
//! It stops when every margin's weighted share is within `tolerance` of its target and
//! every weight lies within the caps (to the same tolerance), or fails after
//! `max_iterations`. The final weights sum to the sum of the design weights (the number
//! of respondents when there is no design weight).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::diag::{line_of, Problems};
use crate::error::InputError;
use crate::spec::Respondent;

/// Default of `max_iterations`.
pub const DEFAULT_MAX_ITERATIONS: u32 = 1000;
/// Default of `tolerance`: the largest |weighted share − target share| accepted.
pub const DEFAULT_TOLERANCE: f64 = 1e-6;
/// Most categories of one weighting column.
pub const MAX_CATEGORIES: usize = 1000;
/// How far shares may sum from 1 (or percentages from 100) before they are refused.
const SUM_SLACK: f64 = 1e-6;

// ---------- the spec ----------

/// The targets of one column as written: category -> share or percentage.
type RawTargets = BTreeMap<String, Spanned<toml::Value>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWeighting {
    max_iterations: Option<Spanned<i64>>,
    tolerance: Option<Spanned<toml::Value>>,
    trim: Option<Spanned<Vec<toml::Value>>>,
    targets: Option<BTreeMap<String, Spanned<RawTargets>>>,
}

/// One target share of a weighting column.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The category as written in the spec (trimmed).
    pub category: String,
    /// Share of the weighted total, 0-1 (percentages are divided by 100).
    pub share: f64,
    /// The spec's line of this target.
    pub line: u64,
}

/// The targets of one segment column.
#[derive(Debug, Clone, PartialEq)]
pub struct Margin {
    /// The segment column (a name of `[respondent] segments`).
    pub column: String,
    /// Index of the column in `[respondent] segments`.
    pub segment: usize,
    pub targets: Vec<Target>,
    pub line: u64,
}

/// A validated `[weighting]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Weighting {
    pub max_iterations: u32,
    pub tolerance: f64,
    /// Caps on weight / mean weight.
    pub trim: Option<(f64, f64)>,
    /// In the order of their column names.
    pub margins: Vec<Margin>,
    /// The spec's line of `[weighting]`.
    pub line: u64,
}

/// The key under which a data value matches a target: trimmed, case-insensitive.
pub fn category_key(s: &str) -> String {
    s.trim().to_lowercase()
}

fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    }
}

impl Weighting {
    /// Per margin: category key -> index of its target.
    pub fn index(&self) -> Vec<HashMap<String, u16>> {
        self.margins
            .iter()
            .map(|m| {
                m.targets
                    .iter()
                    .enumerate()
                    .map(|(k, t)| (category_key(&t.category), k as u16))
                    .collect()
            })
            .collect()
    }

    /// The targets of margin `m`, quoted, for messages.
    fn listing(&self, m: usize) -> String {
        self.margins[m]
            .targets
            .iter()
            .map(|t| crate::diag::quote(&t.category))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The target index of a respondent's `value` of margin `m` (`index` from
    /// [`Weighting::index`]), or what is wrong with the value.
    pub fn category(
        &self,
        index: &HashMap<String, u16>,
        m: usize,
        value: Option<&str>,
    ) -> std::result::Result<u16, String> {
        let margin = &self.margins[m];
        match value.map(str::trim) {
            None | Some("") => Err(format!(
                "\"\" is blank: every respondent needs a value of the weighting column {:?} (one of {})",
                margin.column,
                self.listing(m)
            )),
            Some(v) => index.get(&category_key(v)).copied().ok_or_else(|| {
                format!(
                    "{} has no target in [weighting.targets.{}]; the targets are {} (matched trimmed, case-insensitively)",
                    crate::diag::quote(v),
                    margin.column,
                    self.listing(m)
                )
            }),
        }
    }

    /// An error for every target category without respondents (`counts`: respondents per
    /// margin and target), against the spec's line of the target.
    pub fn empty_targets(
        &self,
        spec_path: &str,
        shown: &str,
        counts: &[Vec<u64>],
    ) -> Vec<InputError> {
        let mut errors = Vec::new();
        for (margin, counts) in self.margins.iter().zip(counts) {
            for (t, n) in margin.targets.iter().zip(counts) {
                if *n == 0 {
                    errors.push(
                        InputError::new(
                            spec_path,
                            format!(
                                "no respondent of {shown} has {} = {}: a target category needs respondents to weight (drop the target or merge it into another category)",
                                margin.column,
                                crate::diag::quote(&t.category)
                            ),
                        )
                        .line(t.line)
                        .column(format!("weighting.targets.{}", margin.column)),
                    );
                }
            }
        }
        errors
    }

    /// Validates `[weighting]`; every problem is recorded in `p` with its spec line.
    pub(crate) fn from_raw(
        raw: &RawWeighting,
        table: Range<usize>,
        respondent: Option<&Respondent>,
        p: &mut Problems,
    ) -> Option<Weighting> {
        let line = line_of(p.text, table.start);
        let mut ok = true;
        let max_iterations = match &raw.max_iterations {
            None => DEFAULT_MAX_ITERATIONS,
            Some(m) => match u32::try_from(*m.get_ref()) {
                Ok(v) if (1..=100_000).contains(&v) => v,
                _ => {
                    p.at(
                        m.span(),
                        "weighting.max_iterations",
                        format!(
                            "\"{}\" is not a valid number of iterations (1 to 100000)",
                            m.get_ref()
                        ),
                    );
                    ok = false;
                    DEFAULT_MAX_ITERATIONS
                }
            },
        };
        let tolerance = match &raw.tolerance {
            None => DEFAULT_TOLERANCE,
            Some(t) => match number(t.get_ref()) {
                Some(v) if v.is_finite() && v > 0.0 && v <= 0.1 => v,
                _ => {
                    p.at(
                        t.span(),
                        "weighting.tolerance",
                        format!("{} is not a valid tolerance: the largest accepted difference between a weighted share and its target, above 0 and at most 0.1 (e.g. 1e-6)", t.get_ref()),
                    );
                    ok = false;
                    DEFAULT_TOLERANCE
                }
            },
        };
        let trim = match &raw.trim {
            None => None,
            Some(t) => match t
                .get_ref()
                .iter()
                .map(number)
                .collect::<Vec<_>>()
                .as_slice()
            {
                &[Some(lo), Some(hi)] if (0.0..1.0).contains(&lo) && hi.is_finite() && hi > 1.0 => {
                    Some((lo, hi))
                }
                _ => {
                    let shown: Vec<String> = t.get_ref().iter().map(|x| x.to_string()).collect();
                    p.at(
                        t.span(),
                        "weighting.trim",
                        format!("[{}] is not a valid trim: two caps on weight / mean weight, [lower, upper] with 0 <= lower < 1 < upper (e.g. [0.2, 5.0])", shown.join(", ")),
                    );
                    ok = false;
                    None
                }
            },
        };
        let mut margins = Vec::new();
        match raw.targets.as_ref().filter(|t| !t.is_empty()) {
            None => {
                p.at(
                    table.clone(),
                    "weighting.targets",
                    "[weighting] needs targets: a [weighting.targets.<segment>] table of category = share for each weighting column",
                );
                ok = false;
            }
            Some(t) => {
                for (column, cats) in t {
                    match margin(column, cats, respondent, p) {
                        Some(m) => margins.push(m),
                        None => ok = false,
                    }
                }
            }
        }
        ok.then_some(Weighting {
            max_iterations,
            tolerance,
            trim,
            margins,
            line,
        })
    }
}

/// The index of the weighting column `column` among the segments of `respondent`, or a
/// problem at `span` (the column's targets table, named `key`).
fn segment_index(
    column: &str,
    respondent: Option<&Respondent>,
    span: &Range<usize>,
    key: &str,
    p: &mut Problems,
) -> Option<usize> {
    let segments = respondent.map(|r| r.segments.as_slice()).unwrap_or(&[]);
    let segment = segments.iter().position(|s| s == column);
    if segment.is_none() {
        let hint = match segments.iter().find(|s| s.eq_ignore_ascii_case(column)) {
            Some(s) => format!(" (did you mean {s:?}?)"),
            None if segments.is_empty() => {
                " ([respondent] lists no segments: add the column to `segments`)".to_string()
            }
            None => format!(
                " (segments: {})",
                segments
                    .iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        p.at(
            span.clone(),
            key,
            format!("{column:?} is not a segment column of [respondent]; a weighting column must be one of its `segments`{hint}"),
        );
    }
    segment
}

fn margin(
    column: &str,
    cats: &Spanned<RawTargets>,
    respondent: Option<&Respondent>,
    p: &mut Problems,
) -> Option<Margin> {
    let key = format!("weighting.targets.{column}");
    let span: Range<usize> = cats.span();
    let segment = segment_index(column, respondent, &span, &key, p);
    let mut ok = segment.is_some();
    let cats = cats.get_ref();
    if cats.is_empty() {
        p.at(
            span.clone(),
            &key,
            format!("no targets for {column:?}: list each category with its share, e.g. \"1-49\" = 0.30"),
        );
        return None;
    }
    if cats.len() > MAX_CATEGORIES {
        p.at(
            span.clone(),
            &key,
            format!(
                "{column:?} has {} target categories; at most {MAX_CATEGORIES} are supported",
                cats.len()
            ),
        );
        return None;
    }
    let mut targets = Vec::with_capacity(cats.len());
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut sum = 0.0;
    for (cat, v) in cats {
        let c = cat.trim();
        let line = line_of(p.text, v.span().start);
        if c.is_empty() {
            p.at(
                v.span(),
                &key,
                "an empty category cannot have a target (a blank value in the data is an error)",
            );
            ok = false;
            continue;
        }
        if let Some(prev) = seen.insert(category_key(c), c.to_string()) {
            p.at(
                v.span(),
                &key,
                format!("categories {prev:?} and {c:?} are the same (values match targets trimmed and case-insensitively)"),
            );
            ok = false;
            continue;
        }
        match number(v.get_ref()) {
            Some(x) if x.is_finite() && x > 0.0 => {
                sum += x;
                targets.push(Target {
                    category: c.to_string(),
                    share: x,
                    line,
                });
            }
            _ => {
                p.at(
                    v.span(),
                    &format!("{key}.{c}"),
                    format!(
                        "{} is not a valid target share: a positive number (a share such as 0.3, or a percentage such as 30)",
                        v.get_ref()
                    ),
                );
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    let is_shares = (sum - 1.0).abs() <= SUM_SLACK;
    let is_percentages = (sum - 100.0).abs() <= 100.0 * SUM_SLACK;
    if !is_shares && !is_percentages {
        p.at(
            span,
            &key,
            format!("the targets of {column:?} sum to {sum}; shares must sum to 1 (or percentages to 100)"),
        );
        return None;
    }
    for t in &mut targets {
        t.share /= sum;
    }
    Some(Margin {
        column: column.to_string(),
        segment: segment?,
        targets,
        line: line_of(p.text, span.start),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, Result};
    use crate::spec::WaveSpec;

    const SPEC: &str = r#"wave = "w"
date = "2020-01-01"
source = "w.csv"
[respondent]
id = "id"
group = "g"
segments = ["size", "region"]
[scale]
points = 5
agree = [4, 5]
[statements.a]
column = "Q1"
[weighting]
max_iterations = 50
tolerance = 1e-8
trim = [0, 5]
[weighting.targets.size]
small = 30
" Large " = 70
[weighting.targets.region]
north = 0.25
south = 0.75
"#;

    fn parse(text: &str) -> Result<WaveSpec> {
        crate::spec::parse(
            "w.toml",
            std::path::Path::new("/d"),
            text.as_bytes().to_vec(),
        )
    }

    /// The first problem of an invalid spec: (line, column, message).
    fn problem(text: &str) -> (Option<u64>, Option<String>, String) {
        match parse(text) {
            Err(Error::Invalid(i)) => {
                let e = &i.errors[0];
                (e.line, e.column.clone(), e.message.clone())
            }
            other => panic!("expected a problem, got {other:?}"),
        }
    }

    #[test]
    fn parses_weighting() {
        let w = parse(SPEC).unwrap().weighting.unwrap();
        assert_eq!(w.max_iterations, 50);
        assert_eq!(w.tolerance, 1e-8);
        assert_eq!(w.trim, Some((0.0, 5.0)));
        assert_eq!(w.line, 13);
        // Margins in name order; percentages become shares; categories trimmed.
        assert_eq!(w.margins[0].column, "region");
        assert_eq!(w.margins[0].segment, 1);
        assert_eq!(w.margins[1].column, "size");
        let size = &w.margins[1].targets;
        assert_eq!(size[0].category, "Large");
        assert!((size[0].share - 0.7).abs() < 1e-15);
        assert_eq!(size[0].line, 19);
        assert!((size[1].share - 0.3).abs() < 1e-15);
        // Defaults.
        let plain = SPEC
            .replace("max_iterations = 50\n", "")
            .replace("tolerance = 1e-8\n", "")
            .replace("trim = [0, 5]\n", "");
        let w = parse(&plain).unwrap().weighting.unwrap();
        assert_eq!(w.max_iterations, DEFAULT_MAX_ITERATIONS);
        assert_eq!(w.tolerance, DEFAULT_TOLERANCE);
        assert_eq!(w.trim, None);
    }

    #[test]
    fn spec_problems_name_their_line() {
        let (line, col, msg) =
            problem(&SPEC.replace("[weighting.targets.size]", "[weighting.targets.sector]"));
        assert_eq!(line, Some(17));
        assert_eq!(col.as_deref(), Some("weighting.targets.sector"));
        assert!(
            msg.contains("\"sector\" is not a segment column of [respondent]"),
            "{msg}"
        );
        assert!(msg.contains("\"size\", \"region\""), "{msg}");

        let (line, _, msg) = problem(&SPEC.replace("south = 0.75", "south = 0.7"));
        assert_eq!(line, Some(20));
        assert!(msg.contains("sum to 0.95"), "{msg}");

        let (line, col, msg) = problem(&SPEC.replace("small = 30", "small = -30"));
        assert_eq!(line, Some(18));
        assert_eq!(col.as_deref(), Some("weighting.targets.size.small"));
        assert!(msg.contains("-30 is not a valid target share"), "{msg}");

        let (_, _, msg) = problem(&SPEC.replace("small = 30", "large = 30"));
        assert!(
            msg.contains("categories \"Large\" and \"large\" are the same"),
            "{msg}"
        );

        let (line, _, msg) = problem(&SPEC.replace("trim = [0, 5]", "trim = [2, 5]"));
        assert_eq!(line, Some(16));
        assert!(msg.contains("[2, 5] is not a valid trim"), "{msg}");

        let (line, _, msg) = problem(&SPEC.replace("tolerance = 1e-8", "tolerance = 0"));
        assert_eq!(line, Some(15));
        assert!(msg.contains("0 is not a valid tolerance"), "{msg}");

        let (line, _, msg) = problem(&SPEC.replace("max_iterations = 50", "max_iterations = 0"));
        assert_eq!(line, Some(14));
        assert!(
            msg.contains("\"0\" is not a valid number of iterations"),
            "{msg}"
        );

        // Unknown keys are errors, like everywhere in a spec.
        let (line, _, msg) = problem(&SPEC.replace("trim = [0, 5]", "trimm = [0, 5]"));
        assert_eq!(line, Some(16));
        assert!(msg.contains("trimm"), "{msg}");

        let (_, col, msg) = problem(SPEC.split("[weighting.targets.size]").next().unwrap_or(""));
        assert_eq!(col.as_deref(), Some("weighting.targets"));
        assert!(msg.contains("[weighting] needs targets"), "{msg}");
    }

    #[test]
    fn targets_without_a_weighting_table_are_valid_toml() {
        // `[weighting.targets.size]` alone defines `[weighting]` implicitly.
        let implicit = SPEC
            .replace("[weighting]\n", "")
            .replace("max_iterations = 50\n", "")
            .replace("tolerance = 1e-8\n", "")
            .replace("trim = [0, 5]\n", "");
        let w = parse(&implicit).unwrap().weighting.unwrap();
        assert_eq!(w.margins.len(), 2);
        assert_eq!(w.max_iterations, DEFAULT_MAX_ITERATIONS);
        // Its line is that of the first [weighting.…] table.
        assert_eq!(w.line, 13);
        assert!((w.margins[1].targets[0].share - 0.7).abs() < 1e-15);
    }
}
