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
        let got = stats::bh_adjust(&p);
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
