//! Rim weights of a wave: while its source is validated, [`Collector`] records each
//! respondent's design weight and category of every weighting column (8 + 2 × margins
//! bytes); once the source is read, [`Collector::finish`] rakes them
//! ([`crate::stats::rake`]) and the write pass stores the raked weight of each respondent
//! by its position (see [`crate::ingest::read::read_from`]).

use std::collections::HashMap;

use crate::diag::quote;
use crate::error::{Error, InputError, Invalid, Result, MAX_ERRORS};
use crate::ingest::read::Row;
use crate::spec::weighting::{category_key, Weighting};
use crate::spec::WaveSpec;
use crate::stats::rake::{kish_n_eff, rake, CategoryRow, Options, Raked, Report};

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
    errors: Invalid,
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
            errors: Invalid::default(),
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
        let mut errors = self.errors.errors;
        let total = self.errors.total + later.total;
        errors.extend(later.errors);
        errors.truncate(MAX_ERRORS);
        Invalid { errors, total }
    }

    /// Rakes the wave. Errors: the problems found in the data, a target category without
    /// respondents, or raking that does not converge.
    pub fn finish(self, spec: &WaveSpec) -> Result<Raked> {
        self.errors.check()?;
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
