//! Rim weights of a wave: while its source is validated, [`Collector`] records each
//! respondent's design weight and category of every weighting column (8 + 2 × margins
//! bytes); once the source is read, [`Collector::finish`] rakes them
//! ([`crate::stats::rake`]) and the write pass stores the raked weight of each respondent
//! by its position (see [`crate::ingest::read::read_from`]).

use std::collections::HashMap;

use crate::diag::quote;
use crate::error::{Error, InputError, Invalid, Result, MAX_ERRORS};
use crate::ingest::read::Row;
use crate::spec::weighting::Weighting;
use crate::spec::WaveSpec;
use crate::stats::rake::{kish_n_eff, rake, CategoryRow, Options, Raked, Report};

/// Collects, while a wave's source is validated, each respondent's design weight and
/// category of every weighting column. The validator checks every row's categories
/// (a blank value, a value without a target, a target without respondents), so that all
/// problems of a raked wave are named in one pass; a problem found here too is named with
/// file, line, column and value.
pub struct Collector<'a> {
    w: &'a Weighting,
    shown: String,
    /// Per margin: category key -> index.
    index: Vec<HashMap<String, u16>>,
    design: Vec<f64>,
    cats: Vec<u16>,
    errors: Invalid,
}

impl<'a> Collector<'a> {
    /// `None` when the spec has no `[weighting]`.
    pub fn new(spec: &'a WaveSpec, shown: &str) -> Option<Collector<'a>> {
        let w = spec.weighting.as_ref()?;
        Some(Collector {
            w,
            shown: shown.to_string(),
            index: w.index(),
            design: Vec::new(),
            cats: Vec::new(),
            errors: Invalid::default(),
        })
    }

    /// Records one valid respondent.
    pub fn add(&mut self, row: &Row) {
        let mut ok = true;
        let start = self.cats.len();
        for (m, margin) in self.w.margins.iter().enumerate() {
            let value = row.segments.get(margin.segment).and_then(|v| v.as_deref());
            match self.w.category(&self.index[m], m, value) {
                Ok(k) => self.cats.push(k),
                Err(problem) => {
                    ok = false;
                    self.errors.push(
                        row.loc
                            .on(InputError::new(&self.shown, problem))
                            .column(&margin.column),
                    );
                }
            }
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

    /// Respondents and sum of design weights per margin and target.
    fn counts(&self) -> (Vec<Vec<u64>>, Vec<Vec<f64>>) {
        let w = self.w;
        let mc = w.margins.len();
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
        (counts, design_sums)
    }

    /// Rakes the wave. Errors: the problems found in the data, a target category without
    /// respondents, or raking that does not converge.
    pub fn finish(mut self, spec: &WaveSpec) -> Result<Raked> {
        std::mem::take(&mut self.errors).check()?;
        let w = self.w;
        let (counts, design_sums) = self.counts();
        let errors = w.empty_targets(&spec.spec_path, &self.shown, &counts);
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
            return Err(self.not_converged(spec, &fit));
        }
        let report = self.report(
            &fit.weights,
            fit.iterations,
            fit.max_residual,
            &counts,
            &design_sums,
        );
        Ok(Raked {
            weights: fit.weights,
            report,
        })
    }

    /// The error of raking that did not converge: the worst margin and category.
    fn not_converged(&self, spec: &WaveSpec, fit: &crate::stats::rake::Fit) -> Error {
        let w = self.w;
        let mc = w.margins.len();
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
        Error::input(
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
        )
    }

    /// What raking achieved, per margin and category.
    fn report(
        &self,
        weights: &[f64],
        iterations: u32,
        max_residual: f64,
        counts: &[Vec<u64>],
        design_sums: &[Vec<f64>],
    ) -> Report {
        let w = self.w;
        let n = self.design.len();
        let mc = w.margins.len();
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
        let n_eff = kish_n_eff(weights);
        Report {
            respondents: n as u64,
            n_eff,
            efficiency: n_eff / n as f64,
            iterations,
            max_residual,
            min_ratio: weights.iter().fold(f64::INFINITY, |a, &x| a.min(x)) / mean,
            max_ratio: weights.iter().fold(0.0, |a: f64, &x| a.max(x)) / mean,
            rows,
        }
    }
}
