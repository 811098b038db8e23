//! The stored tables are plain Delta tables: other readers (Python `deltalake`, Polars)
//! read them unaided and find the same rows gaptrack reports.
//!
//! Needs a Python with `deltalake` and `polars` in `GAPTRACK_PYTHON` (`.ci/run` makes
//! one); without it the test says so and fails, unless `GAPTRACK_SKIP_INTEROP=1`.

use std::path::Path;
use std::process::Command;

#[test]
fn other_delta_readers_see_the_same_rows() {
    let Ok(python) = std::env::var("GAPTRACK_PYTHON") else {
        if std::env::var("GAPTRACK_SKIP_INTEROP").is_ok_and(|v| v == "1") {
            eprintln!("GAPTRACK_SKIP_INTEROP=1: interop test not run");
            return;
        }
        panic!("set GAPTRACK_PYTHON to a Python with deltalake and polars (see .ci/run)");
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    let mut specs: Vec<_> = std::fs::read_dir(root.join("tests/data/fixture"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    specs.sort();
    let gaptrack = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_gaptrack"))
            .arg("--store")
            .arg(&store)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let mut args = vec!["ingest"];
    args.extend(specs.iter().map(|p| p.to_str().unwrap()));
    gaptrack(&args);
    // Replace a wave, so the tables have history and removed files.
    gaptrack(&["remove", "2020"]);
    gaptrack(&["ingest", specs[1].to_str().unwrap()]);

    let o = Command::new(python)
        .arg(root.join("tests/interop/read_tables.py"))
        .arg(&store)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let theirs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();

    let count = |sql: &str| -> u64 {
        let out = gaptrack(&["query", sql, "--format", "csv"]);
        out.lines().nth(1).unwrap().parse().unwrap()
    };
    assert_eq!(
        theirs["rows"]["responses"],
        count("SELECT count(*) FROM responses")
    );
    assert_eq!(theirs["rows"]["waves"], count("SELECT count(*) FROM waves"));
    assert_eq!(
        theirs["rows"]["statements"],
        count("SELECT count(*) FROM statements")
    );
    assert_eq!(theirs["rows"]["responses"], 1584);

    let ours = gaptrack(&[
        "query",
        "SELECT wave, statement, grp, n, pct FROM agreement ORDER BY wave, statement, grp",
        "--format",
        "json",
    ]);
    let ours: serde_json::Value = serde_json::from_str(&ours).unwrap();
    let (ours, theirs) = (
        ours.as_array().unwrap(),
        theirs["agreement"].as_array().unwrap(),
    );
    assert_eq!(ours.len(), theirs.len());
    assert_eq!(ours.len(), 26);
    for (a, b) in ours.iter().zip(theirs) {
        for k in ["wave", "statement", "grp", "n"] {
            assert_eq!(a[k], b[k], "{k}: {a} vs {b}");
        }
        let (x, y) = (a["pct"].as_f64().unwrap(), b["pct"].as_f64().unwrap());
        assert!((x - y).abs() < 1e-9, "pct {a} vs {b}");
    }
}
