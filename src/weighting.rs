//! Rim weighting (raking): the `[weighting]` table of a wave spec, and iterative
//! proportional fitting of each respondent's weight to target shares of segment columns.
//!
//! The weights are computed per wave over all its respondents, between the validation
//! pass over the source (which collects, per respondent, the design weight and the
//! category of each weighting column: 8 + 2 × margins bytes) and the write pass (which
//! stores the raked weight of each respondent by its position, see
//! [`crate::ingest::microdata::read_from`]).
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

use crate::error::{Error, InputError, Invalid, Result};
use crate::ingest::microdata::{quote, Errors, Row};
use crate::spec::{line_of, Problems, Respondent, WaveSpec};

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
    /// Validates `[weighting]`; every problem is recorded in `p` with its spec line.
    pub(crate) fn from_raw(
        raw: &Spanned<RawWeighting>,
        respondent: Option<&Respondent>,
        p: &mut Problems,
    ) -> Option<Weighting> {
        let table = raw.span();
        let line = line_of(p.text, table.start);
        let raw = raw.get_ref();
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
        match &raw.targets {
            None => {
                p.at(
                    table.clone(),
                    "weighting.targets",
                    "[weighting] needs targets: a [weighting.targets.<segment>] table of category = share for each weighting column",
                );
                ok = false;
            }
            Some(t) if t.is_empty() => {
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

fn margin(
    column: &str,
    cats: &Spanned<RawTargets>,
    respondent: Option<&Respondent>,
    p: &mut Problems,
) -> Option<Margin> {
    let key = format!("weighting.targets.{column}");
    let span: Range<usize> = cats.span();
    let mut ok = true;
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
            &key,
            format!("{column:?} is not a segment column of [respondent]; a weighting column must be one of its `segments`{hint}"),
        );
        ok = false;
    }
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

// ---------- the algorithm ----------

/// Settings of [`rake`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    pub max_iterations: u32,
    pub tolerance: f64,
    pub trim: Option<(f64, f64)>,
}

/// The result of [`rake`].
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// One per respondent; they sum to the sum of the design weights.
    pub weights: Vec<f64>,
    /// Iterations run (a pass over every margin, then the caps).
    pub iterations: u32,
    pub converged: bool,
    /// Largest |weighted share − target| over all categories of all margins.
    pub max_residual: f64,
    /// (margin, category) of that largest residual.
    pub worst: (usize, usize),
    /// Largest distance of a weight / mean weight outside the caps (0 when they hold).
    pub cap_excess: f64,
}

/// Rakes `design` weights to `targets`: `targets[m][c]` is the target share of category
/// `c` of margin `m`; `cats[i * margins + m]` is respondent `i`'s category of margin `m`.
/// Every category must have a respondent and every design weight must be positive.
pub fn rake(design: &[f64], cats: &[u16], targets: &[Vec<f64>], opts: Options) -> Fit {
    let n = design.len();
    let m_count = targets.len();
    let total: f64 = design.iter().sum();
    let mut w = design.to_vec();
    let mut sums: Vec<Vec<f64>> = targets.iter().map(|t| vec![0.0; t.len()]).collect();
    let cat = |i: usize, m: usize| cats[i * m_count + m] as usize;
    let mut fit = Fit {
        weights: Vec::new(),
        iterations: 0,
        converged: false,
        max_residual: f64::INFINITY,
        worst: (0, 0),
        cap_excess: 0.0,
    };
    if n == 0 {
        return fit;
    }
    for it in 1..=opts.max_iterations {
        for m in 0..m_count {
            sums[m].iter_mut().for_each(|s| *s = 0.0);
            for (i, wi) in w.iter().enumerate() {
                sums[m][cat(i, m)] += wi;
            }
            let factors: Vec<f64> = sums[m]
                .iter()
                .zip(&targets[m])
                .map(|(&s, &t)| if s > 0.0 { t * total / s } else { 1.0 })
                .collect();
            for (i, wi) in w.iter_mut().enumerate() {
                *wi *= factors[cat(i, m)];
            }
        }
        if let Some((lo, hi)) = opts.trim {
            let mean = w.iter().sum::<f64>() / n as f64;
            for wi in w.iter_mut() {
                *wi = wi.clamp(lo * mean, hi * mean);
            }
        }
        // Check: shares against targets, weights against the caps.
        let sum_w: f64 = w.iter().sum();
        for s in sums.iter_mut() {
            s.iter_mut().for_each(|x| *x = 0.0);
        }
        for (i, wi) in w.iter().enumerate() {
            for (m, s) in sums.iter_mut().enumerate() {
                s[cat(i, m)] += wi;
            }
        }
        fit.max_residual = 0.0;
        for (m, s) in sums.iter().enumerate() {
            for (c, (&x, &t)) in s.iter().zip(&targets[m]).enumerate() {
                let r = (x / sum_w - t).abs();
                if r > fit.max_residual || r.is_nan() {
                    fit.max_residual = r;
                    fit.worst = (m, c);
                }
            }
        }
        fit.cap_excess = match opts.trim {
            None => 0.0,
            Some((lo, hi)) => {
                let mean = sum_w / n as f64;
                w.iter()
                    .map(|&wi| {
                        let r = wi / mean;
                        (r - hi).max(lo - r).max(0.0)
                    })
                    .fold(0.0, f64::max)
            }
        };
        fit.iterations = it;
        if fit.max_residual <= opts.tolerance && fit.cap_excess <= opts.tolerance {
            fit.converged = true;
            break;
        }
    }
    let sum_w: f64 = w.iter().sum();
    let scale = total / sum_w;
    w.iter_mut().for_each(|x| *x *= scale);
    fit.weights = w;
    fit
}

/// Kish's effective sample size of weights: (Σw)² / Σw².
pub fn kish_n_eff(w: &[f64]) -> f64 {
    let s: f64 = w.iter().sum();
    let s2: f64 = w.iter().map(|x| x * x).sum();
    if s2 > 0.0 {
        s * s / s2
    } else {
        0.0
    }
}

// ---------- one wave ----------

/// One category of a margin, as achieved.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryRow {
    pub margin: String,
    pub category: String,
    pub target_share: f64,
    /// Share of respondents (unweighted).
    pub unweighted_share: f64,
    /// Share under the design weights (equals the unweighted share without them).
    pub design_share: f64,
    /// Share under the final weights.
    pub weighted_share: f64,
}

/// What raking a wave achieved.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub respondents: u64,
    /// Kish effective sample size of the final weights.
    pub n_eff: f64,
    /// Weighting efficiency: n_eff / respondents.
    pub efficiency: f64,
    pub iterations: u32,
    pub max_residual: f64,
    /// Smallest and largest final weight relative to the mean weight.
    pub min_ratio: f64,
    pub max_ratio: f64,
    pub rows: Vec<CategoryRow>,
}

/// Final weights of a wave (by respondent order) and the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Raked {
    pub weights: Vec<f64>,
    pub report: Report,
}

/// Collects, while a wave's source is validated, each respondent's design weight and
/// category of every weighting column; problems (a blank value, a value without a target)
/// are named with file, line, column and value.
pub struct Collector<'a> {
    w: &'a Weighting,
    shown: String,
    /// Per margin: category key -> index.
    index: Vec<HashMap<String, u16>>,
    design: Vec<f64>,
    cats: Vec<u16>,
    errors: Errors,
    /// Per margin: a listing of the targets for messages.
    listing: Vec<String>,
}

impl<'a> Collector<'a> {
    /// `None` when the spec has no `[weighting]`.
    pub fn new(spec: &'a WaveSpec, shown: &str) -> Option<Collector<'a>> {
        let w = spec.weighting.as_ref()?;
        let index = w
            .margins
            .iter()
            .map(|m| {
                m.targets
                    .iter()
                    .enumerate()
                    .map(|(k, t)| (category_key(&t.category), k as u16))
                    .collect()
            })
            .collect();
        let listing = w
            .margins
            .iter()
            .map(|m| {
                m.targets
                    .iter()
                    .map(|t| quote(&t.category))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        Some(Collector {
            w,
            shown: shown.to_string(),
            index,
            design: Vec::new(),
            cats: Vec::new(),
            errors: Errors::default(),
            listing,
        })
    }

    /// Records one valid respondent.
    pub fn add(&mut self, row: &Row) {
        let mut ok = true;
        let start = self.cats.len();
        for (m, margin) in self.w.margins.iter().enumerate() {
            let value = row.segments.get(margin.segment).and_then(|v| v.as_deref());
            let problem = match value.map(str::trim) {
                None | Some("") => format!(
                    "\"\" is blank: every respondent needs a value of the weighting column {:?} (one of {})",
                    margin.column, self.listing[m]
                ),
                Some(v) => match self.index[m].get(&category_key(v)) {
                    Some(&k) => {
                        self.cats.push(k);
                        continue;
                    }
                    None => format!(
                        "{} has no target in [weighting.targets.{}]; the targets are {} (matched trimmed, case-insensitively)",
                        quote(v),
                        margin.column,
                        self.listing[m]
                    ),
                },
            };
            ok = false;
            self.errors.push(
                row.loc
                    .on(InputError::new(&self.shown, problem))
                    .column(&margin.column),
            );
        }
        if ok {
            self.design.push(row.weight);
        } else {
            self.cats.truncate(start);
        }
    }

    /// The problems this collector found, then those of `later` (found in rows after
    /// them: the reader stops handing rows over at its first problem).
    pub fn before(self, later: Invalid) -> Invalid {
        let mut errors = self.errors.list;
        let total = self.errors.total + later.total;
        errors.extend(later.errors);
        errors.truncate(crate::ingest::microdata::MAX_ERRORS);
        Invalid { errors, total }
    }

    /// Rakes the wave. Errors: the problems found in the data, a target category without
    /// respondents, or raking that does not converge.
    pub fn finish(self, spec: &WaveSpec) -> Result<Raked> {
        if self.errors.total > 0 {
            return Err(Error::Invalid(Invalid {
                errors: self.errors.list,
                total: self.errors.total,
            }));
        }
        let w = self.w;
        let n = self.design.len();
        let mc = w.margins.len();
        // Every target category needs respondents.
        let mut counts: Vec<Vec<u64>> =
            w.margins.iter().map(|m| vec![0; m.targets.len()]).collect();
        let mut design_sums: Vec<Vec<f64>> = w
            .margins
            .iter()
            .map(|m| vec![0.0; m.targets.len()])
            .collect();
        for (i, d) in self.design.iter().enumerate() {
            for m in 0..mc {
                let c = self.cats[i * mc + m] as usize;
                counts[m][c] += 1;
                design_sums[m][c] += d;
            }
        }
        let mut errors = Vec::new();
        for (m, margin) in w.margins.iter().enumerate() {
            for (c, t) in margin.targets.iter().enumerate() {
                if counts[m][c] == 0 {
                    errors.push(
                        InputError::new(
                            &spec.spec_path,
                            format!(
                                "no respondent of {} has {} = {}: a target category needs respondents to weight (drop the target or merge it into another category)",
                                self.shown,
                                margin.column,
                                quote(&t.category)
                            ),
                        )
                        .line(t.line)
                        .column(format!("weighting.targets.{}", margin.column)),
                    );
                }
            }
        }
        if !errors.is_empty() {
            let total = errors.len();
            return Err(Error::Invalid(Invalid { errors, total }));
        }
        let targets: Vec<Vec<f64>> = w
            .margins
            .iter()
            .map(|m| m.targets.iter().map(|t| t.share).collect())
            .collect();
        let fit = rake(
            &self.design,
            &self.cats,
            &targets,
            Options {
                max_iterations: w.max_iterations,
                tolerance: w.tolerance,
                trim: w.trim,
            },
        );
        if !fit.converged {
            let (m, c) = fit.worst;
            let margin = &w.margins[m];
            let t = &margin.targets[c];
            let achieved: f64 = fit
                .weights
                .iter()
                .enumerate()
                .filter(|(i, _)| self.cats[i * mc + m] as usize == c)
                .map(|(_, x)| x)
                .sum::<f64>()
                / fit.weights.iter().sum::<f64>();
            let caps = match w.trim {
                Some((lo, hi)) if fit.cap_excess > w.tolerance => format!(
                    "; weights still exceed the trim caps [{lo}, {hi}] by up to {:.3}",
                    fit.cap_excess
                ),
                _ => String::new(),
            };
            return Err(Error::input(
                InputError::new(
                    &spec.spec_path,
                    format!(
                        "wave {:?}: raking did not converge in {} iterations: the worst margin is {} = {} with weighted share {:.6} against its target {:.6} (tolerance {}){caps}; raise `max_iterations` or `tolerance`, widen `trim`, or check that the targets fit the sample",
                        spec.wave,
                        fit.iterations,
                        margin.column,
                        quote(&t.category),
                        achieved,
                        t.share,
                        w.tolerance
                    ),
                )
                .line(w.line)
                .column("weighting"),
            ));
        }
        let weights = fit.weights;
        let total_w: f64 = weights.iter().sum();
        let total_d: f64 = self.design.iter().sum();
        let mut final_sums: Vec<Vec<f64>> = w
            .margins
            .iter()
            .map(|m| vec![0.0; m.targets.len()])
            .collect();
        for (i, x) in weights.iter().enumerate() {
            for (m, s) in final_sums.iter_mut().enumerate() {
                s[self.cats[i * mc + m] as usize] += x;
            }
        }
        let mut rows = Vec::new();
        for (m, margin) in w.margins.iter().enumerate() {
            for (c, t) in margin.targets.iter().enumerate() {
                rows.push(CategoryRow {
                    margin: margin.column.clone(),
                    category: t.category.clone(),
                    target_share: t.share,
                    unweighted_share: counts[m][c] as f64 / n as f64,
                    design_share: design_sums[m][c] / total_d,
                    weighted_share: final_sums[m][c] / total_w,
                });
            }
        }
        let mean = total_w / n as f64;
        let n_eff = kish_n_eff(&weights);
        let report = Report {
            respondents: n as u64,
            n_eff,
            efficiency: n_eff / n as f64,
            iterations: fit.iterations,
            max_residual: fit.max_residual,
            min_ratio: weights.iter().fold(f64::INFINITY, |a, &x| a.min(x)) / mean,
            max_ratio: weights.iter().fold(0.0, |a: f64, &x| a.max(x)) / mean,
            rows,
        };
        Ok(Raked { weights, report })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(tol: f64, trim: Option<(f64, f64)>) -> Options {
        Options {
            max_iterations: 1000,
            tolerance: tol,
            trim,
        }
    }

    /// A 2×2 table with one respondent per cell: rows A, B; columns X, Y.
    /// Respondents: 0 = (A, X), 1 = (A, Y), 2 = (B, X), 3 = (B, Y).
    const CATS_2X2: [u16; 8] = [0, 0, 0, 1, 1, 0, 1, 1];

    #[test]
    fn two_by_two_by_hand() {
        // Targets: A 0.6 / B 0.4, X 0.7 / Y 0.3; design weights 1; total T = 4.
        // Raking a 2×2 table with one unit per cell converges to the independence
        // table w_rc = T·a_r·b_c (it fits both margins and has odds ratio 1, like the
        // seed): A·X = 4·0.6·0.7 = 1.68, A·Y = 4·0.6·0.3 = 0.72,
        // B·X = 4·0.4·0.7 = 1.12, B·Y = 4·0.4·0.3 = 0.48.
        // Iteration 1 reaches it exactly: rows scale by 0.6·4/2 = 1.2 and 0.4·4/2 = 0.8,
        // then X has 1.2 + 0.8 = 2 and gets 0.7·4/2 = 1.4, Y gets 0.3·4/2 = 0.6.
        let fit = rake(
            &[1.0; 4],
            &CATS_2X2,
            &[vec![0.6, 0.4], vec![0.7, 0.3]],
            opts(1e-12, None),
        );
        assert!(fit.converged);
        assert_eq!(fit.iterations, 1);
        for (got, want) in fit.weights.iter().zip([1.68, 0.72, 1.12, 0.48]) {
            assert!((got - want).abs() < 1e-12, "{:?}", fit.weights);
        }
    }

    #[test]
    fn two_by_two_from_design_weights() {
        // Design weights 1, 2, 3, 4 (odds ratio of the seed 1·4/(2·3) = 2/3, kept by
        // raking). Targets A 0.5 / B 0.5, X 0.5 / Y 0.5, total T = 10. By symmetry of
        // the targets the fitted table is [[a, 5−a], [5−a, a]] with
        // a² / (5−a)² = 2/3, so a = 5·√(2/3) / (1 + √(2/3)) = 2.2474487…
        let r = (2.0f64 / 3.0).sqrt();
        let a = 5.0 * r / (1.0 + r);
        let fit = rake(
            &[1.0, 2.0, 3.0, 4.0],
            &CATS_2X2,
            &[vec![0.5, 0.5], vec![0.5, 0.5]],
            opts(1e-13, None),
        );
        assert!(fit.converged, "{fit:?}");
        assert!(fit.iterations > 1);
        let want = [a, 5.0 - a, 5.0 - a, a];
        for (got, want) in fit.weights.iter().zip(want) {
            assert!((got - want).abs() < 1e-10, "{:?} vs {want}", fit.weights);
        }
        // The total is the design weights' sum.
        assert!((fit.weights.iter().sum::<f64>() - 10.0).abs() < 1e-12);
    }

    /// 10 respondents: margin 0 has 8 in category 0 and 2 in category 1.
    fn skewed() -> (Vec<f64>, Vec<u16>) {
        let cats: Vec<u16> = (0..10).map(|i| u16::from(i >= 8)).collect();
        (vec![1.0; 10], cats)
    }

    #[test]
    fn trimming_caps_hold() {
        // Targets 0.5 / 0.5 with 8 vs 2 respondents: untrimmed the weights are
        // 5/8 = 0.625 and 5/2 = 2.5 (mean 1).
        let (d, cats) = skewed();
        let targets = [vec![0.5, 0.5]];
        let free = rake(&d, &cats, &targets, opts(1e-12, None));
        assert!(free.converged);
        assert!((free.weights[0] - 0.625).abs() < 1e-12);
        assert!((free.weights[9] - 2.5).abs() < 1e-12);
        // A cap of 3 × mean does not bind; the weights are unchanged.
        let loose = rake(&d, &cats, &targets, opts(1e-12, Some((0.1, 3.0))));
        assert_eq!(loose.weights, free.weights);
        // A cap of 2 × mean cannot reach the targets: category 1 needs a weight of
        // 2.5 × the mean. Every iteration rakes to 0.625 / 2.5 (mean 1) and clips the
        // 2.5s to 2: the total is 8·0.625 + 2·2 = 9, category 1 holds 4/9 (target 1/2,
        // residual 1/18) and the mean 0.9 puts 2 at 2/0.9 = 2.22 × the mean.
        // The fit stops at the iteration cap and says by how much it misses.
        let tight = rake(&d, &cats, &targets, opts(1e-9, Some((0.1, 2.0))));
        assert!(!tight.converged);
        assert_eq!(tight.iterations, 1000);
        assert!((tight.max_residual - 1.0 / 18.0).abs() < 1e-12, "{tight:?}");
        assert!(
            (tight.cap_excess - (2.0 / 0.9 - 2.0)).abs() < 1e-12,
            "{tight:?}"
        );
    }

    #[test]
    fn trimming_with_a_second_margin() {
        // Margin a: respondents 0-6 in category 0, 7-9 in category 1; margin b:
        // respondents alternate 0, 1; all targets 0.5 / 0.5, design weights 1 (T = 10).
        // Untrimmed, respondent 8 (a = 1, b = 0, alone in its cell) weighs 1.899 × the
        // mean. Capped at 1.7 it sits at the cap and the other three cells (all
        // respondents of a cell share a weight) solve the margins by hand:
        //   a = 1: 2·z + 1.7 = 5          -> z = 1.65   (cell a = 1, b = 1)
        //   b = 0: 4·x + 1.7 = 5          -> x = 0.825  (cell a = 0, b = 0)
        //   total: 4·x + 3·y + 2·z + 1.7 = 10 -> y = 1.7 / 3 (cell a = 0, b = 1)
        // (R's calibrate(calfun = "raking", bounds = c(0.3, 1.7)) gives the same.)
        let cats: Vec<u16> = (0..10u16)
            .flat_map(|i| [u16::from(i >= 7), i % 2])
            .collect();
        let targets = [vec![0.5, 0.5], vec![0.5, 0.5]];
        let free = rake(&[1.0; 10], &cats, &targets, opts(1e-12, None));
        assert!(free.converged);
        assert!(
            (free.weights[8] - 1.8989795).abs() < 1e-6,
            "{:?}",
            free.weights
        );
        let fit = rake(&[1.0; 10], &cats, &targets, opts(1e-11, Some((0.3, 1.7))));
        assert!(fit.converged, "{fit:?}");
        let (x, y, z) = (0.825, 1.7 / 3.0, 1.65);
        let want = [x, y, x, y, x, y, x, z, 1.7, z];
        for (got, want) in fit.weights.iter().zip(want) {
            assert!((got - want).abs() < 1e-9, "{:?}", fit.weights);
        }
    }

    #[test]
    fn non_convergence_is_detected() {
        // Two margins that contradict each other through the data: every respondent
        // of category 0 of margin 0 is in category 0 of margin 1, so their shares must
        // be equal; targets 0.3 and 0.6 cannot both hold.
        let cats: Vec<u16> = [0u16, 0, 0, 0, 1, 1].to_vec();
        let fit = rake(
            &[1.0; 3],
            &cats,
            &[vec![0.3, 0.7], vec![0.6, 0.4]],
            Options {
                max_iterations: 50,
                tolerance: 1e-6,
                trim: None,
            },
        );
        assert!(!fit.converged);
        assert_eq!(fit.iterations, 50);
        // After the last pass margin 1 holds exactly, margin 0 is off by 0.3.
        assert_eq!(fit.worst.0, 0);
        assert!((fit.max_residual - 0.3).abs() < 1e-9, "{fit:?}");
    }

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
    fn kish() {
        // (1 + 1 + 2)² / (1 + 1 + 4) = 16 / 6.
        assert!((kish_n_eff(&[1.0, 1.0, 2.0]) - 16.0 / 6.0).abs() < 1e-15);
    }
}
