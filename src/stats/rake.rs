//! Rim weighting (raking): iterative proportional fitting of each respondent's weight to
//! target shares of segment columns, and what raking a wave achieved.
//!
//! The scheme, as in weightipy / quantipy's `Rim`: start from the design weight (the
//! spec's `weight` column, else 1); one iteration scales the weights of each margin in
//! turn so that its weighted shares equal the targets; with `trim = [lo, hi]` every
//! weight is then clipped to `[lo·mean, hi·mean]`, and the next iteration rakes again.
//! It stops when every margin's weighted share is within `tolerance` of its target and
//! every weight lies within the caps (to the same tolerance), or fails after
//! `max_iterations`. The final weights sum to the sum of the design weights (the number
//! of respondents when there is no design weight).

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

    #[test]
    fn kish() {
        // (1 + 1 + 2)² / (1 + 1 + 4) = 16 / 6.
        assert!((kish_n_eff(&[1.0, 1.0, 2.0]) - 16.0 / 6.0).abs() < 1e-15);
    }
}
