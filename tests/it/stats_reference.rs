//! The formulas of docs/statistics.md against reference values computed independently with
//! statsmodels and scipy (`tests/reference/make_reference.py` wrote
//! `tests/data/reference/formulas.json`; provenance in `tests/reference/README.md`).

use gaptrack::stats;
use serde_json::Value;

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/reference/formulas.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-12 + 1e-10 * b.abs(),
        "{what}: got {a}, reference {b}"
    );
}

#[test]
fn wilson_matches_reference() {
    let cases = reference()["wilson"].as_array().unwrap().clone();
    assert!(cases.len() >= 8);
    for c in cases {
        let (lo, hi) = stats::wilson(f(&c, "p"), f(&c, "n")).unwrap();
        close(lo, f(&c, "low"), &format!("wilson low {c}"));
        close(hi, f(&c, "high"), &format!("wilson high {c}"));
    }
}

#[test]
fn newcombe_matches_reference() {
    let cases = reference()["newcombe"].as_array().unwrap().clone();
    assert!(cases.len() >= 8);
    for c in cases {
        let (lo, hi) = stats::newcombe(f(&c, "p1"), f(&c, "n1"), f(&c, "p2"), f(&c, "n2")).unwrap();
        close(lo, f(&c, "low"), &format!("newcombe low {c}"));
        close(hi, f(&c, "high"), &format!("newcombe high {c}"));
    }
}

#[test]
fn z_test_matches_reference() {
    let cases = reference()["ztest"].as_array().unwrap().clone();
    assert!(cases.len() >= 5);
    for c in cases {
        let p = stats::z_test_p(f(&c, "diff"), f(&c, "var")).unwrap();
        close(p, f(&c, "p_value"), &format!("z test {c}"));
    }
}

/// Benjamini–Hochberg adjusted p values (as R's `p.adjust(p, "BH")`): q_(i) =
/// min_{j ≥ i} (m / j · p_(j)), capped at 1, returned in the input order. gaptrack computes
/// them in SQL (`queries/gap_trend.sql`); this is the tests' oracle of that procedure.
fn bh_adjust(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let mut q = vec![0.0; m];
    let mut running = f64::INFINITY;
    for rank in (0..m).rev() {
        let i = idx[rank];
        let v = (p[i] * m as f64 / (rank + 1) as f64).min(1.0);
        running = running.min(v);
        q[i] = running;
    }
    q
}

#[test]
fn bh_oracle_matches_r() {
    // R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "BH") = 0.02 0.04 0.04 0.02
    let q = bh_adjust(&[0.01, 0.04, 0.03, 0.005]);
    let want = [0.02, 0.04, 0.04, 0.02];
    for (a, b) in q.iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{q:?}");
    }
}

#[test]
fn benjamini_hochberg_matches_reference() {
    let cases = reference()["bh"].as_array().unwrap().clone();
    assert!(cases.len() >= 3);
    for c in cases {
        let p: Vec<f64> = c["p"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let q: Vec<f64> = c["q"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let got = bh_adjust(&p);
        for (g, w) in got.iter().zip(&q) {
            close(*g, *w, &format!("BH {c}"));
        }
    }
}

#[test]
fn kish_matches_reference() {
    let cases = reference()["kish"].as_array().unwrap().clone();
    assert!(cases.len() >= 3);
    for c in cases {
        let w: Vec<f64> = c["w"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let sum: f64 = w.iter().sum();
        let sum2: f64 = w.iter().map(|x| x * x).sum();
        close(
            stats::kish_n_eff(sum, sum2).unwrap(),
            f(&c, "n_eff"),
            &format!("kish {c}"),
        );
    }
}
