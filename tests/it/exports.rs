//! Real exports read as their authors meant them: Qualtrics current, legacy and
//! choice-text exports (tests/data/qualtrics/, figures from pandas in
//! tests/data/reference/qualtrics_agreement.csv), any integer code range (0/1, 0-10,
//! -2..+2, answers worked out by hand below), `[rows]` rules with their counts, `[groups]`
//! values that match nobody (a warning; `--strict` / `strict = true` an error), and a
//! raked wave whose problems are all named in one pass.

use crate::support::{run, snapshot, stderr, stdout};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn qualtrics_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/qualtrics")
}

/// A copy of the Qualtrics fixtures in a temporary directory (specs can be varied there).
fn qualtrics_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(qualtrics_dir()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, tmp.path().join(p.file_name().unwrap())).unwrap();
    }
    tmp
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

/// (wave, statement, grp) -> (n, pct) of the `agreement` view.
fn agreement(store: &Path) -> BTreeMap<(String, String, String), (i64, f64)> {
    query_csv(
        store,
        "SELECT wave, statement, grp, n, pct FROM agreement ORDER BY wave, statement, grp",
    )
    .into_iter()
    .map(|r| {
        (
            (r[0].clone(), r[1].clone(), r[2].clone()),
            (r[3].parse().unwrap(), r[4].parse().unwrap()),
        )
    })
    .collect()
}

fn ingest(store: &Path, args: &[&Path], extra: &[&str]) -> std::process::Output {
    let mut a: Vec<&str> = vec!["ingest"];
    a.extend(extra);
    let specs: Vec<String> = args.iter().map(|p| p.display().to_string()).collect();
    a.extend(specs.iter().map(String::as_str));
    run(store, &a)
}

#[test]
fn qualtrics_current_legacy_and_choice_text_exports_match_pandas() {
    let tmp = qualtrics_copy();
    let d = tmp.path();
    let store = d.join("wh");
    let specs = [
        d.join("preview_partial.toml"),
        d.join("choice_text.toml"),
        d.join("legacy_preview_partial.toml"),
    ];
    let o = ingest(
        &store,
        &specs.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // Each wave: the preview and the unfinished response removed, one by each rule.
    assert_eq!(
        out.matches("[rows] drop Status = \"Survey Preview\", \"1\": 1 row removed")
            .count(),
        3,
        "{out}"
    );
    assert_eq!(
        out.matches("[rows] keep Finished = \"1\", \"True\": 1 row removed")
            .count(),
        3,
        "{out}"
    );
    let got = agreement(&store);
    let waves = [
        ("preview_partial.csv", "q-current"),
        ("choice_text.csv", "q-choice-text"),
        ("legacy_preview_partial.csv", "q-legacy"),
    ];
    let reference = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/reference/qualtrics_agreement.csv"),
    )
    .unwrap();
    let mut checked = 0;
    for line in reference.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let wave = waves.iter().find(|w| w.0 == f[0]).unwrap().1;
        let key = (wave.to_string(), "q1".to_string(), f[1].to_string());
        let (n, pct) = got
            .get(&key)
            .unwrap_or_else(|| panic!("{key:?} not in {got:?}"));
        assert_eq!(*n, f[2].parse::<i64>().unwrap(), "{key:?}");
        assert!(
            (pct - f[3].parse::<f64>().unwrap()).abs() < 1e-9,
            "{key:?}: {pct}"
        );
        checked += 1;
    }
    assert_eq!(checked, 5);
    assert_eq!(got.len(), 5, "{got:?}");
    // The choice texts are stored as their codes.
    let values = query_csv(
        &store,
        "SELECT respondent, value FROM responses WHERE wave = 'q-choice-text' ORDER BY respondent",
    );
    assert_eq!(
        values,
        [
            ["R_2YPOQ602ER1jkf1", "2"],
            ["R_complete2", "1"],
            ["R_complete3", "3"]
        ]
    );
    // The agree labels are stored as the codes they name.
    let codes = query_csv(
        &store,
        "SELECT replace(agree_codes, ',', ' ') AS codes FROM statements WHERE wave = 'q-choice-text'",
    );
    assert_eq!(codes, [["1 2"]]);
}

#[test]
fn an_agree_label_the_scale_does_not_name_is_refused() {
    let tmp = qualtrics_copy();
    let d = tmp.path();
    let store = d.join("wh");
    let spec = std::fs::read_to_string(d.join("choice_text.toml")).unwrap();
    std::fs::write(
        d.join("choice_text.toml"),
        spec.replace("\"option b\"", "\"Option Z\""),
    )
    .unwrap();
    let o = ingest(&store, &[&d.join("choice_text.toml")], &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "column statements.q1.agree: agree label \"Option Z\" is not one of the scale's labels"
        ),
        "{}",
        stderr(&o)
    );
    assert!(!store.exists());
}

#[test]
fn the_published_qualtrics_samples_load_as_exported() {
    let d = qualtrics_dir();
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    let o = ingest(
        &store,
        &[&d.join("sample.toml"), &d.join("sample_legacy.toml")],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let values = query_csv(
        &store,
        "SELECT wave, respondent, grp, value, agree FROM responses ORDER BY wave",
    );
    assert_eq!(
        values,
        [
            ["q-sample", "R_2YPOQ602ER1jkf1", "de", "2", "true"],
            [
                "q-sample-legacy",
                "R_2YPOQ602ER1jkf1",
                "anonym",
                "2",
                "true"
            ]
        ]
    );
}

#[test]
fn an_answer_that_is_not_a_label_is_refused_with_the_labels() {
    let tmp = qualtrics_copy();
    let d = tmp.path();
    let csv = std::fs::read_to_string(d.join("choice_text.csv")).unwrap();
    std::fs::write(
        d.join("choice_text.csv"),
        csv.replace(
            "R_complete3,,,,,,,anonymous,EN,Option C",
            "R_complete3,,,,,,,anonymous,EN,Option D",
        ),
    )
    .unwrap();
    let store = d.join("wh");
    let o = ingest(&store, &[&d.join("choice_text.toml")], &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("choice_text.csv line 8, column Q1: \"Option D\" is not a number or a label of the scale"),
        "{err}"
    );
    assert!(
        err.contains("or one of the labels \"Option A\" = 1, \"Option B\" = 2, \"Option C\" = 3"),
        "{err}"
    );
    assert!(!store.exists(), "the store was written");
}

#[test]
fn a_rule_on_a_column_the_source_lacks_is_refused_with_a_suggestion() {
    let tmp = qualtrics_copy();
    let d = tmp.path();
    let spec = std::fs::read_to_string(d.join("preview_partial.toml")).unwrap();
    std::fs::write(
        d.join("typo.toml"),
        spec.replace("keep = { Finished", "keep = { Finishd"),
    )
    .unwrap();
    let store = d.join("wh");
    let o = ingest(&store, &[&d.join("typo.toml")], &["--dry-run"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("column \"Finishd\" ([rows] keep rule, spec line 13) is not in the header (did you mean \"Finished\"?)"),
        "{err}"
    );
}

#[test]
fn rows_rules_remove_rows_before_they_are_validated() {
    // Without the rules the unfinished response (blank group) is refused.
    let tmp = qualtrics_copy();
    let d = tmp.path();
    let spec = std::fs::read_to_string(d.join("preview_partial.toml")).unwrap();
    let cut = spec.split("[rows]").next().unwrap().to_string()
        + "[scale]"
        + spec.split("[scale]").nth(1).unwrap();
    std::fs::write(d.join("norules.toml"), cut).unwrap();
    let store = d.join("wh");
    let o = ingest(&store, &[&d.join("norules.toml")], &["--dry-run"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("preview_partial.csv line 6, column UserLanguage: \"\" is blank"),
        "{}",
        stderr(&o)
    );
    // With them, the dry run says what each rule removed.
    let o = ingest(&store, &[&d.join("preview_partial.toml")], &["--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("3 respondents"), "{out}");
    assert!(
        out.contains("[rows] drop Status = \"Survey Preview\", \"1\": 1 row removed"),
        "{out}"
    );
}

/// A wave of three statements on 0-10, 0/1 and -2..+2 scales.
const SCALES_CSV: &str = "id,grp,nps,binary,likert\n\
r1,a,10,1,2\n\
r2,a,9,0,-2\n\
r3,a,0,1,0\n\
r4,b,7,0,1\n\
r5,b,10,1,-1\n\
r6,b,99,1,2\n";

const SCALES_SPEC: &str = r#"wave = "scales"
date = "2024-01-01"
source = "scales.csv"

[respondent]
id = "id"
group = "grp"

[statements.nps]
column = "nps"
min = 0
max = 10
agree = [9, 10]
missing = [99]

[statements.binary]
column = "binary"
min = 0
max = 1
agree = [1]

[statements.likert]
column = "likert"
min = -2
max = 2
agree = [1, 2]
"#;

fn scales_dir(spec: &str, csv: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("scales.csv"), csv).unwrap();
    std::fs::write(tmp.path().join("scales.toml"), spec).unwrap();
    tmp
}

#[test]
fn zero_based_and_negative_scales_load_with_their_real_zeros() {
    let tmp = scales_dir(SCALES_SPEC, SCALES_CSV);
    let store = tmp.path().join("wh");
    let o = ingest(&store, &[&tmp.path().join("scales.toml")], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = agreement(&store);
    let pct = |st: &str, g: &str| got[&("scales".to_string(), st.to_string(), g.to_string())];
    // By hand: nps a = 10, 9, 0 -> 2 of 3; b = 7, 10 (99 missing) -> 1 of 2.
    assert_eq!(pct("nps", "a").0, 3);
    assert!((pct("nps", "a").1 - 200.0 / 3.0).abs() < 1e-9);
    assert_eq!(pct("nps", "b"), (2, 50.0));
    // binary a = 1, 0, 1; b = 0, 1, 1 -> 2 of 3 each.
    assert!((pct("binary", "a").1 - 200.0 / 3.0).abs() < 1e-9);
    assert!((pct("binary", "b").1 - 200.0 / 3.0).abs() < 1e-9);
    // likert a = 2, -2, 0 -> 1 of 3; b = 1, -1, 2 -> 2 of 3.
    assert!((pct("likert", "a").1 - 100.0 / 3.0).abs() < 1e-9);
    assert!((pct("likert", "b").1 - 200.0 / 3.0).abs() < 1e-9);
    // The stored values keep the zeros and negative codes; the statements table says
    // the range (and `points` only for a 1..N scale).
    let v = query_csv(
        &store,
        "SELECT value FROM responses WHERE statement = 'likert' ORDER BY respondent",
    );
    assert_eq!(v.concat(), ["2", "-2", "0", "1", "-1", "2"]);
    let st = query_csv(
        &store,
        "SELECT statement, points, min_code, max_code, replace(agree_codes, ',', ' '), missing_codes FROM statements ORDER BY statement",
    );
    assert_eq!(
        st,
        [
            ["binary", "", "0", "1", "1", ""],
            ["likert", "", "-2", "2", "1 2", ""],
            ["nps", "", "0", "10", "9 10", "99"]
        ]
    );
}

#[test]
fn codes_off_a_zero_based_range_and_missing_codes_at_its_ends_are_refused() {
    // 11 is off 0-10; -3 off -2..+2.
    let csv = SCALES_CSV.replace("r4,b,7,0,1", "r4,b,11,0,-3");
    let tmp = scales_dir(SCALES_SPEC, &csv);
    let o = ingest(
        &tmp.path().join("wh"),
        &[&tmp.path().join("scales.toml")],
        &[],
    );
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(err.contains("scales.csv line 5, column nps: \"11\" is not an answer from 0 to 10 (missing codes: 99)"), "{err}");
    assert!(err.contains("scales.csv line 5, column likert: \"-3\" is not an answer from -2 to 2 (missing codes: none)"), "{err}");
    // `missing = [0]` on 0-10 would drop every real 0: refused, with the fix.
    let spec = SCALES_SPEC.replace("missing = [99]", "missing = [0]");
    let tmp = scales_dir(&spec, SCALES_CSV);
    let o = ingest(
        &tmp.path().join("wh"),
        &[&tmp.path().join("scales.toml")],
        &[],
    );
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(err.contains("scales.toml line 14, column statements.nps.missing: missing code \"0\" is a valid answer"), "{err}");
    assert!(err.contains("leave it out of the range (min = 1)"), "{err}");
    assert!(!tmp.path().join("wh").exists());
}

#[test]
fn a_missing_code_declared_inside_the_range_is_said_in_the_dry_run() {
    // 5 = "don't know" inside 0-10 (SPSS style): r-none answers 5 here.
    let spec = SCALES_SPEC.replace("missing = [99]", "missing = [99]\nmissing_in_range = [5]");
    let csv = SCALES_CSV.replace("r4,b,7,0,1", "r4,b,5,0,1");
    let tmp = scales_dir(&spec, &csv);
    let store = tmp.path().join("wh");
    let o = ingest(&store, &[&tmp.path().join("scales.toml")], &["--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("statement nps: missing code(s) 5 lie inside the answer range from 0 to 10; those answers count as missing"),
        "{}",
        stdout(&o)
    );
    let o = ingest(&store, &[&tmp.path().join("scales.toml")], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // b: r4 (5) and r6 (99) missing, r5 = 10 agrees: 1 of 1.
    assert_eq!(
        agreement(&store)[&("scales".into(), "nps".into(), "b".into())],
        (1, 100.0)
    );
}

#[test]
fn a_groups_value_that_matches_nobody_warns_and_strict_refuses() {
    let spec = SCALES_SPEC.replace(
        "[statements.nps]",
        "[groups]\nalpha = [\"a\"]\nbeta = [\"Bee\"]\n\n[statements.nps]",
    );
    let tmp = scales_dir(&spec, SCALES_CSV);
    let store = tmp.path().join("wh");
    let o = ingest(&store, &[&tmp.path().join("scales.toml")], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("[groups] beta: no respondent has the raw value \"Bee\" in column \"grp\"; the closest values it has are \"b\", \"a\""),
        "{err}"
    );
    assert!(err.contains("(spec line 11)"), "{err}");
    // --strict: the same is an error, and nothing is written.
    let store = tmp.path().join("wh2");
    let before = snapshot(&store);
    let o = ingest(&store, &[&tmp.path().join("scales.toml")], &["--strict"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("scales.toml line 11, column groups.beta: [groups] beta: no respondent has the raw value \"Bee\""),
        "{err}"
    );
    assert_eq!(before, snapshot(&store), "the store changed");
    // strict = true in the spec does the same.
    std::fs::write(
        tmp.path().join("scales.toml"),
        format!("strict = true\n{spec}"),
    )
    .unwrap();
    let o = ingest(&store, &[&tmp.path().join("scales.toml")], &["--dry-run"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("column groups.beta"), "{}", stderr(&o));
}

/// A wave of the scales spec with id `wave`, dated `date`, the statement `binary` worded
/// `text` (with `extra` keys), written as `NAME.toml` beside the CSV.
fn worded(dir: &Path, wave: &str, date: &str, text: &str, extra: &str) -> PathBuf {
    let spec = SCALES_SPEC
        .replace("wave = \"scales\"", &format!("wave = \"{wave}\""))
        .replace("date = \"2024-01-01\"", &format!("date = \"{date}\""))
        .replace(
            "[statements.binary]\n",
            &format!("[statements.binary]\ntext = \"{text}\"\n{extra}"),
        );
    let path = dir.join(format!("{wave}.toml"));
    std::fs::write(&path, spec).unwrap();
    path
}

#[test]
fn a_changed_wording_warns_strict_refuses_and_the_decision_is_stored() {
    let tmp = scales_dir(SCALES_SPEC, SCALES_CSV);
    let d = tmp.path();
    let store = d.join("wh");
    let first = worded(d, "w1", "2023-01-01", "We work well together", "");
    let same = worded(d, "w2", "2024-01-01", "We  work well\ttogether ", "");
    let o = ingest(&store, &[&first, &same], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("wording differs"), "{}", stderr(&o));
    // A later wave, worded otherwise: a warning with both texts; the wave loads.
    let changed = worded(d, "w3", "2025-01-01", "We collaborate", "");
    let o = ingest(&store, &[&changed], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("w3: statement binary: the wording differs from wave w2 (2024-01-01): \"We  work well\\ttogether\" there, \"We collaborate\" here"),
        "{err}"
    );
    // --strict: an error naming the spec, its line and key; nothing written.
    let strict = worded(d, "w4", "2026-01-01", "We cooperate", "");
    let before = snapshot(&store);
    let o = ingest(&store, &[&strict], &["--strict"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("w4.toml line 16, column statements.binary.text: statement binary: the wording differs from wave w3"),
        "{}",
        stderr(&o)
    );
    assert_eq!(before, snapshot(&store), "the store changed");
    // same_series = true: no warning; series_break = true: a new series.
    let kept = worded(
        d,
        "w4",
        "2026-01-01",
        "We cooperate",
        "same_series = true\n",
    );
    let broke = worded(
        d,
        "w5",
        "2027-01-01",
        "Teams align",
        "series_break = true\n",
    );
    let o = ingest(&store, &[&kept, &broke], &["--strict"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = query_csv(
        &store,
        "SELECT wave, wording FROM statements WHERE statement = 'binary' ORDER BY wave",
    );
    let got: Vec<(String, String)> = rows
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let want = [
        ("w1", "first"),
        ("w2", "same"),
        ("w3", "changed"),
        ("w4", "same_series"),
        ("w5", "series_break"),
    ];
    assert_eq!(
        got,
        want.map(|(a, b)| (a.to_string(), b.to_string())).to_vec()
    );
    // The statements without a text have no decision.
    let rows = query_csv(
        &store,
        "SELECT count(*) FROM statements WHERE wording IS NULL",
    );
    assert_eq!(rows, vec![vec!["10".to_string()]]);
}

#[test]
fn a_raked_wave_names_every_problem_in_one_pass() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/weighting");
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::copy(src.join("rake.toml"), d.join("rake.toml")).unwrap();
    let csv = std::fs::read_to_string(src.join("rake.csv")).unwrap();
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    // Line 3: an answer off the scale; line 20: a region without a target; line 30: a
    // blank region.
    lines[2] = lines[2].replacen(",\"3\"", ",\"7\"", 1);
    let region = |l: &str| l.split(',').nth(3).unwrap().to_string();
    let r20 = region(&lines[19]);
    lines[19] = lines[19].replacen(&r20, "\"Antarctica\"", 1);
    let r30 = region(&lines[29]);
    lines[29] = lines[29].replacen(&r30, "\"\"", 1);
    std::fs::write(d.join("rake.csv"), lines.join("\n") + "\n").unwrap();
    let store = d.join("wh");
    let o = ingest(&store, &[&d.join("rake.toml")], &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("rake.csv line"))
        .collect();
    assert_eq!(errors.len(), 3, "{err}");
    assert!(
        errors[0].contains("rake.csv line 3, column Q1: \"7\" is not an answer from 1 to 5"),
        "{err}"
    );
    assert!(
        errors[1].contains("rake.csv line 20, column region: \"Antarctica\" has no target in [weighting.targets.region]"),
        "{err}"
    );
    assert!(
        errors[2].contains("rake.csv line 30, column region: \"\" is blank: every respondent needs a value of the weighting column \"region\""),
        "{err}"
    );
    assert!(!store.exists());
}
