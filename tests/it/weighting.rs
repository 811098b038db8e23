//! Rim weighting end to end: the `gaptrack` binary ingests the fixture wave of
//! `tests/data/weighting/`, and the stored weights are compared with R's
//! `survey::rake` / bounded `calibrate` (tests/reference/rake.R wrote the reference
//! files, with R and survey versions in their header). Expected agreement figures are
//! computed here from R's weights and the raw answers.

use crate::support::{bin, run, stderr, stdout};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/weighting")
}

fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/reference")
        .join(name)
}

fn query_csv(store: &Path, sql: &str) -> Vec<Vec<String>> {
    let o = run(store, &["query", sql, "--format", "csv"]);
    assert!(o.status.success(), "query failed: {}", stderr(&o));
    stdout(&o)
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// respondent -> weight from a reference file (comment lines start with `#`).
fn reference_weights(name: &str) -> BTreeMap<String, f64> {
    std::fs::read_to_string(reference(name))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| {
            let (id, w) = l.split_once(',').unwrap();
            (id.to_string(), w.parse().unwrap())
        })
        .collect()
}

/// One respondent of the fixture CSV.
struct Resp {
    id: String,
    group: String,
    size: String,
    region: String,
    q1: i64,
}

fn fixture_rows() -> Vec<Resp> {
    std::fs::read_to_string(data().join("rake.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<String> = l
                .split(',')
                .map(|x| x.trim_matches('"').to_string())
                .collect();
            Resp {
                id: f[0].clone(),
                group: f[1].trim().to_lowercase(),
                size: f[2].trim().to_lowercase(),
                region: f[3].trim().to_lowercase(),
                q1: f[5].parse().unwrap(),
            }
        })
        .collect()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300)
}

/// Ingests `spec` and checks the stored weights against R's, the weighting table's
/// shares against the targets and the sample, and `agreement` against figures computed
/// from R's weights.
fn check_against_r(spec: &str, wave: &str, reference_file: &str) -> BTreeMap<String, f64> {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    let o = run(&store, &["ingest", data().join(spec).to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = reference_weights(reference_file);
    assert_eq!(want.len(), 48);

    let got = query_csv(
        &store,
        &format!(
            "SELECT DISTINCT respondent, weight FROM responses WHERE wave = '{wave}' ORDER BY respondent"
        ),
    );
    assert_eq!(got.len(), 48);
    for row in &got {
        let w: f64 = row[1].parse().unwrap();
        let r = want[&row[0]];
        assert!(close(w, r, 1e-9), "{}: gaptrack {w}, R {r}", row[0]);
    }

    // agreement uses the raked weights: per group over answers 1-5 (9 is missing),
    // pct = 100·Σw·[answer ≥ 4] / Σw and n_eff = (Σw)² / Σw², with R's weights.
    let rows = fixture_rows();
    let mut acc: BTreeMap<String, (i64, f64, f64, f64)> = BTreeMap::new();
    for r in &rows {
        if r.q1 == 9 {
            continue;
        }
        let w = want[&r.id];
        let e = acc.entry(r.group.clone()).or_default();
        e.0 += 1;
        e.1 += w;
        e.2 += w * w;
        if r.q1 >= 4 {
            e.3 += w;
        }
    }
    let agreement = query_csv(
        &store,
        &format!("SELECT grp, n, n_eff, pct FROM agreement WHERE wave = '{wave}' ORDER BY grp"),
    );
    assert_eq!(agreement.len(), acc.len());
    for (row, (g, (n, sw, sw2, swa))) in agreement.iter().zip(&acc) {
        assert_eq!(&row[0], g);
        assert_eq!(row[1].parse::<i64>().unwrap(), *n);
        let n_eff: f64 = row[2].parse().unwrap();
        let pct: f64 = row[3].parse().unwrap();
        assert!(close(n_eff, sw * sw / sw2, 1e-9), "{g}: n_eff {n_eff}");
        assert!(close(pct, 100.0 * swa / sw, 1e-9), "{g}: pct {pct}");
    }

    // The weighting table: one row per margin × category, weighted shares on target,
    // unweighted shares the sample's, efficiency = Kish n_eff / n of R's weights.
    let table = query_csv(
        &store,
        &format!(
            "SELECT margin, category, target_share, unweighted_share, weighted_share, respondents, n_eff, efficiency \
             FROM weighting WHERE wave = '{wave}' ORDER BY margin, category"
        ),
    );
    assert_eq!(table.len(), 6, "{table:?}");
    let sum: f64 = want.values().sum();
    let sum2: f64 = want.values().map(|w| w * w).sum();
    let kish = sum * sum / sum2;
    for row in &table {
        let cat = row[1].to_lowercase();
        let count = rows
            .iter()
            .filter(|r| {
                if row[0] == "company_size" {
                    r.size == cat
                } else {
                    r.region == cat
                }
            })
            .count();
        let target: f64 = row[2].parse().unwrap();
        assert!(
            close(row[3].parse().unwrap(), count as f64 / 48.0, 1e-12),
            "{row:?}"
        );
        assert!(
            (row[4].parse::<f64>().unwrap() - target).abs() < 1e-12,
            "{row:?}"
        );
        assert_eq!(row[5], "48");
        assert!(
            close(row[6].parse().unwrap(), kish, 1e-9),
            "{row:?} vs {kish}"
        );
        assert!(close(row[7].parse().unwrap(), kish / 48.0, 1e-9), "{row:?}");
    }
    want
}

#[test]
fn rake_from_design_weights_matches_r_survey() {
    let want = check_against_r("rake.toml", "rake", "rake_weights.csv");
    // The final weights keep the sum of the design weights.
    let design: f64 = std::fs::read_to_string(data().join("rake.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(4)
                .unwrap()
                .trim_matches('"')
                .parse::<f64>()
                .unwrap()
        })
        .sum();
    let sum: f64 = want.values().sum();
    assert!(close(sum, design, 1e-12), "{sum} vs {design}");
}

#[test]
fn trimmed_rake_matches_r_bounded_calibration() {
    let want = check_against_r("rake_trim.toml", "rake-trim", "rake_trim_weights.csv");
    // The cap binds: R's largest weight is the upper cap (mean 1).
    let max = want.values().fold(0.0f64, |a, &w| a.max(w));
    assert!((max - 3.2).abs() < 1e-9, "{max}");
}

#[test]
fn dry_run_reports_the_efficiency_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    let o = run(
        &store,
        &[
            "ingest",
            "--dry-run",
            data().join("rake.toml").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let want = reference_weights("rake_weights.csv");
    let sum: f64 = want.values().sum();
    let sum2: f64 = want.values().map(|w| w * w).sum();
    let kish = sum * sum / sum2;
    let line = format!(
        "  weighting: n_eff {:.1} of 48 respondents (efficiency {:.1} %)",
        kish,
        100.0 * kish / 48.0
    );
    assert!(stdout(&o).contains(&line), "{}\nwanted {line}", stdout(&o));
    assert!(!store.exists(), "a dry run wrote the store");
}

#[test]
fn json_log_carries_the_efficiency() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    let o = bin()
        .arg("--store")
        .arg(&store)
        .args(["--log-format", "json", "ingest"])
        .arg(data().join("rake.toml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let want = reference_weights("rake_weights.csv");
    let sum: f64 = want.values().sum();
    let sum2: f64 = want.values().map(|w| w * w).sum();
    let event = stderr(&o)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["event"] == "ingest")
        .expect("an ingest event");
    assert_eq!(event["outcome"], "loaded");
    let eff = event["weighting_efficiency"].as_f64().unwrap();
    assert!(close(eff, sum * sum / sum2 / 48.0, 1e-9), "{event}");
    assert!(event["weighting_iterations"].as_u64().unwrap() >= 1);
}

/// Copies the fixture into a temporary directory, applies `edit` to the CSV and
/// `edit_spec` to the spec, ingests, and returns the output (with the store).
fn ingest_edited(
    edit: impl Fn(&str) -> String,
    edit_spec: impl Fn(&str) -> String,
) -> (Output, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let csv = std::fs::read_to_string(data().join("rake.csv")).unwrap();
    let spec = std::fs::read_to_string(data().join("rake.toml")).unwrap();
    std::fs::write(tmp.path().join("rake.csv"), edit(&csv)).unwrap();
    std::fs::write(tmp.path().join("rake.toml"), edit_spec(&spec)).unwrap();
    let o = run(
        &tmp.path().join("wh"),
        &["ingest", tmp.path().join("rake.toml").to_str().unwrap()],
    );
    (o, tmp)
}

fn first_error(o: &Output) -> String {
    stderr(o).lines().next().unwrap_or("").to_string()
}

#[test]
fn a_value_without_a_target_is_named() {
    // Line 11 of the file is respondent W-010; its region becomes "Africa".
    let (o, tmp) = ingest_edited(
        |csv| {
            csv.lines()
                .enumerate()
                .map(|(i, l)| {
                    if i == 10 {
                        let mut f: Vec<&str> = l.split(',').collect();
                        f[3] = "\"Africa\"";
                        f.join(",")
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
        str::to_string,
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = first_error(&o);
    assert!(e.contains("rake.csv line 11, column region"), "{e}");
    assert!(
        e.contains("\"Africa\" has no target in [weighting.targets.region]"),
        "{e}"
    );
    assert!(e.contains("\"APAC\", \"Americas\", \"EMEA\""), "{e}");
    assert!(
        !tmp.path().join("wh").exists(),
        "an invalid wave wrote the store"
    );
}

#[test]
fn a_blank_weighting_value_is_named() {
    // Line 3 (W-002): company_size blank.
    let (o, _tmp) = ingest_edited(
        |csv| {
            csv.replacen(
                "\"W-002\",\"Marketing\",\"1-49\"",
                "\"W-002\",\"Marketing\",\"\"",
                1,
            )
        },
        str::to_string,
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = first_error(&o);
    assert!(
        e.contains("rake.csv line 3, column company_size: \"\" is blank"),
        "{e}"
    );
}

#[test]
fn a_target_without_respondents_names_the_spec_line() {
    // A fourth region with no respondents (shares still sum to 100).
    let (o, _tmp) = ingest_edited(str::to_string, |s| {
        s.replace("APAC = 25", "APAC = 20\nOceania = 5")
    });
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = first_error(&o);
    let line = std::fs::read_to_string(data().join("rake.toml"))
        .unwrap()
        .lines()
        .position(|l| l.starts_with("APAC"))
        .unwrap()
        + 2;
    assert!(
        e.contains(&format!(
            "rake.toml line {line}, column weighting.targets.region: no respondent of"
        )),
        "{e}"
    );
    assert!(e.contains("region = \"Oceania\""), "{e}");
}

#[test]
fn non_convergence_names_the_wave_and_the_worst_margin() {
    // Four respondents in company_size 1000+ must carry 25 % of the total: with
    // weights at most 2 × the mean they carry at most 4·2/48 = 16.7 %.
    let (o, tmp) = ingest_edited(str::to_string, |s| {
        s.replace(
            "tolerance = 1e-13",
            "tolerance = 1e-6\nmax_iterations = 40\ntrim = [0.2, 2.0]",
        )
    });
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = first_error(&o);
    assert!(e.contains("rake.toml line"), "{e}");
    assert!(
        e.contains("wave \"rake\": raking did not converge in 40 iterations"),
        "{e}"
    );
    assert!(e.contains("company_size = \"1000+\""), "{e}");
    assert!(!tmp.path().join("wh").exists());
}

#[test]
fn replacing_a_weighted_wave_replaces_its_weighting_rows() {
    let tmp = tempfile::tempdir().unwrap();
    for f in ["rake.csv", "rake.toml"] {
        std::fs::copy(data().join(f), tmp.path().join(f)).unwrap();
    }
    let store = tmp.path().join("wh");
    let spec = tmp.path().join("rake.toml");
    let o = run(&store, &["ingest", spec.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Other targets: the wave is replaced and only the new load's rows remain.
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(
        &spec,
        text.replace("EMEA = 40", "EMEA = 45")
            .replace("APAC = 25", "APAC = 20"),
    )
    .unwrap();
    let o = run(&store, &["ingest", spec.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("rake: replaced"), "{}", stdout(&o));
    let rows = query_csv(
        &store,
        "SELECT count(*), sum(CASE WHEN category = 'EMEA' THEN target_share END) FROM store.weighting",
    );
    assert_eq!(rows[0][0], "6");
    assert!((rows[0][1].parse::<f64>().unwrap() - 0.45).abs() < 1e-12);
}

/// Weighting goes through the one validator every microdata format uses: the fixture as
/// JSON Lines (numbers as JSON numbers, text as strings) gets R's weights too.
#[test]
fn a_jsonl_wave_is_raked_like_the_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let mut jsonl = String::new();
    let mut rdr = csv::Reader::from_path(data().join("rake.csv")).unwrap();
    let head: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let mut obj = serde_json::Map::new();
        for (k, v) in head.iter().zip(rec.iter()) {
            let value = match v.parse::<f64>() {
                Ok(x) if k == "wt" || k == "Q1" => serde_json::json!(x),
                _ => serde_json::json!(v),
            };
            obj.insert(k.clone(), value);
        }
        jsonl.push_str(&serde_json::Value::Object(obj).to_string());
        jsonl.push('\n');
    }
    std::fs::write(tmp.path().join("rake.jsonl"), jsonl).unwrap();
    let spec = std::fs::read_to_string(data().join("rake.toml"))
        .unwrap()
        .replace("source = \"rake.csv\"", "source = \"rake.jsonl\"");
    assert!(spec.contains("rake.jsonl"));
    std::fs::write(tmp.path().join("rake.toml"), spec).unwrap();
    let store = tmp.path().join("store");
    let o = run(
        &store,
        &["ingest", tmp.path().join("rake.toml").to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let want = reference_weights("rake_weights.csv");
    let got = query_csv(
        &store,
        "SELECT DISTINCT respondent, weight FROM responses ORDER BY respondent",
    );
    assert_eq!(got.len(), want.len());
    for row in &got {
        let (w, r) = (row[1].parse::<f64>().unwrap(), want[&row[0]]);
        assert!((w - r).abs() <= 1e-9 * r, "{}: {w} vs R {r}", row[0]);
    }
}
