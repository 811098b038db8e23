//! The statistics of docs/statistics.md, as plain functions. The SQL views call them through
//! the UDFs of `sql::udf`; tests check them against independently computed references
//! (`tests/data/reference/formulas.json`). What the views compute in SQL alone (the
//! Benjamini–Hochberg q values and the trend labels of `gap_trend`) is not repeated here.

pub mod gamma;
pub mod rake;
pub mod trend;

/// The 97.5 % quantile of the standard normal: every interval is 95 %.
pub const Z: f64 = 1.959963984540054;

/// Kish effective sample size (Σw)² / Σw².
pub fn kish_n_eff(sum_w: f64, sum_w2: f64) -> Option<f64> {
    (sum_w2 > 0.0).then(|| sum_w * sum_w / sum_w2)
}

/// Wilson score interval of a proportion `p` (0-1) with sample size `n` (may be an
/// effective, non-integer size). `None` when `n` is not positive.
pub fn wilson(p: f64, n: f64) -> Option<(f64, f64)> {
    if n.is_nan() || n <= 0.0 || !p.is_finite() || !(0.0..=1.0).contains(&p) {
        return None;
    }
    let z2 = Z * Z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = Z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((center - half).max(0.0), (center + half).min(1.0)))
}

/// Newcombe's hybrid score interval (his method 10) for p1 − p2, built from the two
/// Wilson intervals. Returns the bounds on the difference scale (−1..1).
pub fn newcombe(p1: f64, n1: f64, p2: f64, n2: f64) -> Option<(f64, f64)> {
    let (l1, u1) = wilson(p1, n1)?;
    let (l2, u2) = wilson(p2, n2)?;
    let d = p1 - p2;
    let low = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let high = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Some((low, high))
}

/// Two-sided p value of a z test of `estimate` with variance `variance`. `None` when the
/// variance is not positive (the test is undefined).
pub fn z_test_p(estimate: f64, variance: f64) -> Option<f64> {
    if variance.is_nan() || variance <= 0.0 || !estimate.is_finite() || !variance.is_finite() {
        return None;
    }
    let z = estimate.abs() / variance.sqrt();
    Some(libm::erfc(z / std::f64::consts::SQRT_2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_by_hand() {
        // p = 0.5, n = 100: centre 0.5, half-width z/(1+z²/n)·sqrt(0.0025 + z²/40000)
        let (l, h) = wilson(0.5, 100.0).unwrap();
        let z2 = Z * Z;
        let half = Z / (1.0 + z2 / 100.0) * (0.0025 + z2 / 40000.0_f64).sqrt();
        assert!((l - (0.5 - half)).abs() < 1e-15);
        assert!((h - (0.5 + half)).abs() < 1e-15);
        // Known value (Newcombe 1998, table I, 81/263): 0.2553 – 0.3662
        let (l, h) = wilson(81.0 / 263.0, 263.0).unwrap();
        assert!(
            (l - 0.2553).abs() < 5e-5 && (h - 0.3662).abs() < 5e-5,
            "{l} {h}"
        );
    }

    #[test]
    fn newcombe_paper_example() {
        // Newcombe (1998), Statistics in Medicine 17:873-890, example (a): 56/70 vs 48/80,
        // method 10 gives 0.0524 to 0.3339.
        let (l, h) = newcombe(56.0 / 70.0, 70.0, 48.0 / 80.0, 80.0).unwrap();
        assert!((l - 0.0524).abs() < 5e-5, "{l}");
        assert!((h - 0.3339).abs() < 5e-5, "{h}");
    }

    #[test]
    fn z_test_known_values() {
        // z = 1.959963984540054 → p = 0.05 exactly; z = 0 → 1.
        assert!((z_test_p(Z, 1.0).unwrap() - 0.05).abs() < 1e-15);
        assert_eq!(z_test_p(0.0, 1.0), Some(1.0));
        assert_eq!(z_test_p(1.0, 0.0), None);
    }
}

/// Benjamini–Hochberg adjusted p values of one family: with the m values that are not
/// `None` ranked r = 1…m by p, q_(r) = min over k ≥ r of min(1, p_(k)·m / k); `None` stays
/// `None`. Tied p values get the same q whatever their order.
pub fn benjamini_hochberg(p: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_some()).collect();
    order.sort_by(|&a, &b| p[a].unwrap_or(0.0).total_cmp(&p[b].unwrap_or(0.0)));
    let m = order.len() as f64;
    let mut q = vec![None; p.len()];
    let mut running = f64::INFINITY;
    for (k, &i) in order.iter().enumerate().rev() {
        let v = (p[i].unwrap_or(0.0) * m / (k + 1) as f64).min(1.0);
        running = running.min(v);
        q[i] = Some(running);
    }
    q
}

#[cfg(test)]
mod bh_tests {
    use super::benjamini_hochberg;

    #[test]
    fn benjamini_hochberg_matches_known_values() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.20), "BH") = 0.04 0.0533… 0.0533… 0.20
        let q = benjamini_hochberg(&[Some(0.01), Some(0.04), None, Some(0.03), Some(0.20)]);
        let want = [
            Some(0.04),
            Some(0.04 * 4.0 / 3.0),
            None,
            Some(0.04 * 4.0 / 3.0),
            Some(0.2),
        ];
        for (a, b) in q.iter().zip(want) {
            match (a, b) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-15, "{q:?}"),
                (None, None) => {}
                _ => panic!("{q:?}"),
            }
        }
        // Capped at 1.
        assert_eq!(
            benjamini_hochberg(&[Some(0.9), Some(0.95)]),
            [Some(0.95), Some(0.95)]
        );
    }
}
