//! The regularized incomplete gamma function and the chi-square survival function built on
//! it (`nonlinearity_p` of `gap_slope` / `agreement_slope`, docs/statistics.md).
//!
//! The method is the classic pair (Numerical Recipes §6.2; Press et al. 2007): the series
//! of P(a, x) where x < a + 1, Lentz's continued fraction of Q(a, x) elsewhere, each used
//! where it converges fast, so Q keeps its relative precision far into the upper tail.

/// Relative precision at which the series and the continued fraction stop.
const EPS: f64 = 1e-16;
/// Iteration limit (both converge in well under 100 steps for the arguments gaptrack
/// passes; a limit reached returns `None` rather than a wrong value).
const MAX_ITER: usize = 10_000;
/// A number near the smallest representable, for Lentz's method.
const TINY: f64 = 1e-300;

/// ln Γ(a) for a > 0.
fn ln_gamma(a: f64) -> f64 {
    libm::lgamma(a)
}

/// P(a, x) by its series Σ xⁿ / (a(a+1)…(a+n)) · e^(−x) xᵃ / Γ(a), for x < a + 1.
fn p_series(a: f64, x: f64) -> Option<f64> {
    let mut ap = a;
    let mut term = 1.0 / a;
    let mut sum = term;
    for _ in 0..MAX_ITER {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term.abs() < sum.abs() * EPS {
            return Some(sum * (-x + a * x.ln() - ln_gamma(a)).exp());
        }
    }
    None
}

/// Q(a, x) by its continued fraction (modified Lentz), for x ≥ a + 1.
fn q_fraction(a: f64, x: f64) -> Option<f64> {
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..=MAX_ITER {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < EPS {
            return Some((-x + a * x.ln() - ln_gamma(a)).exp() * h);
        }
    }
    None
}

/// The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), for a > 0
/// and x ≥ 0. `None` outside that domain.
pub fn gamma_q(a: f64, x: f64) -> Option<f64> {
    if a.is_nan() || a <= 0.0 || a.is_infinite() || x.is_nan() || x < 0.0 {
        return None;
    }
    if x == 0.0 {
        return Some(1.0);
    }
    if x.is_infinite() {
        return Some(0.0);
    }
    if x < a + 1.0 {
        p_series(a, x).map(|p| (1.0 - p).clamp(0.0, 1.0))
    } else {
        q_fraction(a, x).map(|q| q.clamp(0.0, 1.0))
    }
}

/// P(χ²_k > x): the upper tail of the chi-square distribution with `k` > 0 degrees of
/// freedom, Q(k/2, x/2). A statistic below 0 counts as 0 (P = 1). `None` for k ≤ 0 or a
/// NaN argument.
pub fn chi2_sf(x: f64, k: f64) -> Option<f64> {
    if x.is_nan() || k.is_nan() || k <= 0.0 {
        return None;
    }
    gamma_q(k / 2.0, x.max(0.0) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs()
    }

    #[test]
    fn closed_forms() {
        // k = 2: P = e^(−x/2) exactly; k = 1: P = erfc(sqrt(x/2)).
        for x in [0.001_f64, 0.5, 1.0, 3.0, 10.0, 50.0, 200.0] {
            let got = chi2_sf(x, 2.0).unwrap();
            assert!(close(got, (-x / 2.0).exp(), 1e-13), "k=2 x={x}: {got}");
            let got = chi2_sf(x, 1.0).unwrap();
            let want = libm::erfc((x / 2.0).sqrt());
            assert!(close(got, want, 1e-12), "k=1 x={x}: {got} vs {want}");
        }
        // k = 4: P = e^(−x/2)(1 + x/2).
        for x in [0.2_f64, 2.0, 7.5, 40.0] {
            let want = (-x / 2.0).exp() * (1.0 + x / 2.0);
            assert!(close(chi2_sf(x, 4.0).unwrap(), want, 1e-13), "k=4 x={x}");
        }
    }

    #[test]
    fn matches_scipy() {
        // scipy 1.17.1: scipy.stats.chi2.sf(x, k), printed with repr().
        let cases = [
            (3.841458820694124, 1.0, 0.04999999999999989),
            (0.5, 1.0, 0.47950012218695337),
            (2.5, 3.0, 0.4752910833430205),
            (7.814727903251178, 3.0, 0.05),
            (0.1, 5.0, 0.9998376833880774),
            (12.0, 5.0, 0.03478778050624185),
            (30.0, 10.0, 0.000856641210775301),
            (100.0, 7.0, 1.0787979671702833e-18),
            (6.0, 6.0, 0.42319008112684364),
            (1e-08, 3.0, 0.999999999999734),
            (150.0, 120.0, 0.03307348091130466),
            (0.3, 0.5, 0.3331718023153565),
            (45.0, 2.5, 4.1091268529893284e-10),
        ];
        for (x, k, want) in cases {
            let got = chi2_sf(x, k).unwrap();
            assert!(close(got, want, 1e-12), "x={x} k={k}: {got} vs {want}");
        }
    }

    #[test]
    fn edges() {
        assert_eq!(chi2_sf(0.0, 3.0), Some(1.0));
        assert_eq!(chi2_sf(-1e-12, 3.0), Some(1.0));
        assert_eq!(chi2_sf(f64::INFINITY, 3.0), Some(0.0));
        assert_eq!(chi2_sf(1.0, 0.0), None);
        assert_eq!(chi2_sf(f64::NAN, 2.0), None);
        assert_eq!(gamma_q(-1.0, 1.0), None);
    }
}
