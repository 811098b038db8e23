//! The inverse-variance weighted least-squares line through a series of estimates
//! (docs/statistics.md, "A trend across all waves"): what `gap_slope`, `agreement_slope`,
//! `score_slope` and the segment slopes compute with the SQL aggregate `trend_fit`.

/// The fit of estimates g_i at times t_i (years) with weights u_i = 1 / var_i.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    /// Sxy / Sxx: the change per year.
    pub slope: f64,
    /// sqrt(1 / Sxx).
    pub se: f64,
    /// P(χ²_{k−2} > Σu(g − ĝ)²) for k ≥ 3 points (Cochran's Q of the residuals).
    pub nonlinearity_p: Option<f64>,
    /// The fitted value at the last time, ĝ = ḡ + slope · (t_last − t̄).
    pub fitted_last: f64,
}

/// The fit of `points` (t, g, u); `None` with fewer than 2 points or where every point
/// has the same time (Sxx = 0). Sums are of deviations from the u-weighted means (two
/// passes), not raw sums of squares.
pub fn wls_trend(points: &[(f64, f64, f64)]) -> Option<Trend> {
    let k = points.len();
    if k < 2 {
        return None;
    }
    let su: f64 = points.iter().map(|p| p.2).sum();
    let t_bar = points.iter().map(|p| p.2 * p.0).sum::<f64>() / su;
    let g_bar = points.iter().map(|p| p.2 * p.1).sum::<f64>() / su;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for &(t, g, u) in points {
        sxx += u * (t - t_bar) * (t - t_bar);
        sxy += u * (t - t_bar) * (g - g_bar);
        syy += u * (g - g_bar) * (g - g_bar);
    }
    if sxx <= 0.0 || !sxx.is_finite() {
        return None;
    }
    let slope = sxy / sxx;
    let t_last = points.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let nonlinearity_p = if k >= 3 {
        super::gamma::chi2_sf((syy - sxy * sxy / sxx).max(0.0), (k - 2) as f64)
    } else {
        None
    };
    Some(Trend {
        slope,
        se: (1.0 / sxx).sqrt(),
        nonlinearity_p,
        fitted_last: g_bar + slope * (t_last - t_bar),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_by_hand() {
        // g = 10 − 2t at t = 0, 1, 2 with equal weights 1: slope −2, Sxx = 2, exact fit.
        let f = wls_trend(&[(0.0, 10.0, 1.0), (1.0, 8.0, 1.0), (2.0, 6.0, 1.0)]).unwrap();
        assert_eq!((f.slope, f.fitted_last), (-2.0, 6.0));
        assert!((f.se - 0.5f64.sqrt()).abs() < 1e-15);
        // Residual Q = 0: P(χ²_1 > 0) = 1.
        assert_eq!(f.nonlinearity_p, Some(1.0));
        // Two points: no nonlinearity test; one point or one time: no fit.
        assert_eq!(
            wls_trend(&[(0.0, 1.0, 1.0), (1.0, 2.0, 4.0)])
                .unwrap()
                .nonlinearity_p,
            None
        );
        assert!(wls_trend(&[(0.0, 1.0, 1.0)]).is_none());
        assert!(wls_trend(&[(1.0, 1.0, 1.0), (1.0, 2.0, 1.0)]).is_none());
    }
}
