//! SPSS files as their producers wrote them (tests/data/spss, see its README): real files
//! from IBM SPSS 6.1 to 25 and ReadStat, and a survey written with pyreadstat. Every
//! figure equals the one pyreadstat gives with the file's user-missing values and weight
//! applied (tests/reference/spss_reference.py wrote reference.csv and
//! reference_segments.csv); what was taken from the file is said in the ingest output;
//! files that cannot load are refused with their row and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{run, stderr, stdout};

fn spss_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spss")
}

/// A copy of tests/data/spss (ingest reads the sources next to the specs).
fn workdir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(spss_dir()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, tmp.path().join(p.file_name().unwrap())).unwrap();
    }
    tmp
}

fn query(store: &Path, sql: &str) -> String {
    let o = run(store, &["query", sql, "--format", "csv"]);
    assert!(o.status.success(), "{sql}: {}", stderr(&o));
    stdout(&o)
}

/// The waves that load, and their segments.
const WAVES: &[(&str, &[&str])] = &[
    ("survey", &["region", "q3"]),
    ("survey_zsav", &["region", "q3"]),
    ("survey_plain", &["region", "q3"]),
    ("survey_spec", &["region"]),
    ("survey_override", &["region"]),
    ("electric", &["DAYOFWK"]),
    ("sample", &[]),
    ("sample_zsav", &[]),
];

/// The rows of a CSV without its header (and the reference files' `#` comment line).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn spss_figures_equal_pyreadstat_with_the_files_missing_values_and_weight() {
    let dir = workdir();
    let store = dir.path().join("store");
    let specs: Vec<String> = WAVES
        .iter()
        .map(|(w, _)| dir.path().join(format!("{w}.toml")).display().to_string())
        .collect();
    let mut args = vec!["ingest"];
    args.extend(specs.iter().map(String::as_str));
    let o = run(&store, &args);
    assert!(o.status.success(), "{}", stderr(&o));

    // (case, statement, group) -> (n, pct)
    let reference: BTreeMap<(String, String, String), (i64, f64)> =
        csv_rows(&std::fs::read_to_string(spss_dir().join("reference.csv")).unwrap())
            .into_iter()
            .map(|r| {
                let key = (r[0].clone(), r[1].clone(), r[2].clone());
                (key, (r[3].parse().unwrap(), r[5].parse().unwrap()))
            })
            .collect();
    let got = query(
        &store,
        "SELECT wave, statement, grp, n, pct FROM agreement ORDER BY wave, statement, grp",
    );
    let got: BTreeMap<(String, String, String), (i64, f64)> = csv_rows(&got)
        .into_iter()
        .map(|r| {
            let key = (r[0].clone(), r[1].clone(), r[2].clone());
            (key, (r[3].parse().unwrap(), r[4].parse().unwrap()))
        })
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        reference.keys().collect::<Vec<_>>()
    );
    for (k, (n, pct)) in &reference {
        let (gn, gpct) = got[k];
        assert_eq!(gn, *n, "{k:?}: n");
        assert!((gpct - pct).abs() < 1e-9, "{k:?}: pct {gpct} vs {pct}");
    }

    // Segments: value labels, the user-missing category NULL.
    let mut want: BTreeMap<(String, String), Vec<(String, i64)>> = BTreeMap::new();
    for r in csv_rows(&std::fs::read_to_string(spss_dir().join("reference_segments.csv")).unwrap())
    {
        want.entry((r[0].clone(), r[1].clone()))
            .or_default()
            .push((r[2].clone(), r[3].parse().unwrap()));
    }
    for (wave, segments) in WAVES {
        for s in *segments {
            let got = query(
                &store,
                &format!(
                    "SELECT \"{s}\" AS v, count(DISTINCT respondent) AS n FROM responses \
                     WHERE wave = '{wave}' GROUP BY 1 ORDER BY v NULLS LAST"
                ),
            );
            let got: Vec<(String, i64)> = csv_rows(&got)
                .into_iter()
                .map(|r| (r[0].clone(), r[1].parse().unwrap()))
                .collect();
            assert_eq!(got, want[&(wave.to_string(), s.to_string())], "{wave} {s}");
        }
    }

    // Answers stay codes where the variable is a segment too (q3; DAYOFWK), and a
    // user-missing answer keeps its code with no agreement.
    let q = query(
        &store,
        "SELECT value, agree IS NULL AS missing, count(*) AS n FROM responses \
         WHERE wave = 'electric' AND statement = 'weekend' GROUP BY ALL ORDER BY value",
    );
    assert_eq!(
        q,
        "value,missing,n\n1,false,19\n2,false,11\n3,false,19\n4,false,17\n5,false,15\n6,false,13\n7,false,16\n9,true,130\n"
    );
    // The file's weight: wt (WEIGHT BY), or the spec's wt2.
    let w = query(
        &store,
        "SELECT wave, round(sum(weight), 4) AS w FROM responses WHERE statement = 'economy' \
         AND wave IN ('survey', 'survey_zsav', 'survey_spec') GROUP BY wave ORDER BY wave",
    );
    let sums: Vec<f64> = csv_rows(&w).iter().map(|r| r[1].parse().unwrap()).collect();
    assert_eq!(sums[0], sums[2], "{w}");
    assert_ne!(sums[0], sums[1], "{w}");
    assert_ne!(sums[0], 300.0, "{w}");

    // Statement text: the file's variable label where the spec has none.
    let t = query(
        &store,
        "SELECT statement, text FROM statements WHERE wave IN ('survey', 'survey_spec') \
         ORDER BY wave, statement",
    );
    assert_eq!(
        t,
        "statement,text\n\
         economy,The economy is getting better\n\
         media,Trust in the news media\n\
         president,The president is doing a good job\n\
         economy,The economy is getting better\n\
         president,President: good job\n\
         schools,Local schools are good\n"
    );
}

#[test]
fn the_dry_run_says_what_was_taken_from_the_file() {
    let dir = workdir();
    let store = dir.path().join("store");
    let spec = |w: &str| dir.path().join(format!("{w}.toml")).display().to_string();
    let o = run(
        &store,
        &[
            "ingest",
            "--dry-run",
            &spec("survey_zsav"),
            &spec("survey_spec"),
            &spec("electric"),
            &spec("survey_override"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for line in [
        "  weight: the file's WEIGHT BY variable \"wt\"\n",
        "  statement text from the file's variable labels: economy, president\n",
        "  missing values from the file: q2 (statement economy): 8, 97 thru 99 (46 answers missing, not counted)\n",
        "  missing values from the file: q1 (statement president): 8, 9 (43 answers missing, not counted)\n",
        "  missing values from the file: region (segment): 9 (34 respondents with no region)\n",
        "  weight: \"wt2\" from the spec; the file's WEIGHT BY variable \"wt\" is not used\n",
        "  missing values from the file: q4 (statement schools): 9 (20 answers missing, not counted)\n",
        "  missing values from the file: DAYOFWK (statement weekend): 9 (130 answers missing, not counted)\n",
        "  missing values from the file: DAYOFWK (segment): 9 (130 respondents with no DAYOFWK)\n",
        "  weight: none (weight = false); the file's WEIGHT BY variable \"wt\" is not used\n",
        "  agree codes from the file's value labels: q1 (statement president): \"Agree\" = 4, \"Strongly agree\" = 5\n",
        "  missing values from the file read as answers (file_missing = false): q1 (statement president): 8, 9\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    assert!(!store.exists(), "a dry run wrote the store");
}

#[test]
fn spss_files_that_cannot_load_name_row_column_and_the_files_codes() {
    let dir = workdir();
    let store = dir.path().join("store");
    let spec = |w: &str| dir.path().join(format!("{w}.toml")).display().to_string();
    // A group's user-missing value, a blank id; an answer out of the scale, listing the
    // file's missing codes.
    let o = run(
        &store,
        &["ingest", &spec("sample_missing"), &spec("simple_alltypes")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    for line in [
        "sample_missing.sav row 6, column mylabl: \"undetermined\" is a missing value declared in the file: every respondent needs a group",
        "sample_missing.sav row 7, column mychar: \"\" is blank: every row needs a unique respondent id",
        "simple_alltypes.sav row 5, column str: \"\" is blank: every row needs a unique respondent id",
        "simple_alltypes.sav row 6, column x: \"9\" is not an answer from 1 to 4 (missing codes: 7, 8, 99 declared missing in the file)",
    ] {
        assert!(err.contains(line), "missing {line:?} in\n{err}");
    }
    // The spec's missing codes and the file's, together.
    let text = std::fs::read_to_string(dir.path().join("survey_spec.toml"))
        .unwrap()
        .replace(
            "column  = \"q4\"\nmissing = [6]",
            "column  = \"q4\"\nmissing = [7]",
        );
    std::fs::write(dir.path().join("survey_q4.toml"), text).unwrap();
    let o = run(&store, &["ingest", &spec("survey_q4")]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(", column q4: \"6\" is not an answer from 1 to 5 (missing codes: 7; 9 declared missing in the file)"),
        "{err}"
    );
    // A portable file (pyreadstat's sample.por), recognised by its extension.
    std::fs::write(
        dir.path().join("por.toml"),
        "wave = \"por\"\ndate = \"2018-08-15\"\nsource = \"sample.por\"\n\
         [respondent]\nid = \"mychar\"\ngroup = \"mylabl\"\n\
         [scale]\npoints = 3\nagree = [3]\n[statements.order]\ncolumn = \"myord\"\n",
    )
    .unwrap();
    let o = run(&store, &["ingest", &spec("por")]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("sample.por: the file is an SPSS portable file (.por)")
            && err.contains("haven::write_sav(haven::read_por(\"x.por\"), \"x.sav\")"),
        "{err}"
    );
    // An agree label the variable does not have; one that names a code off the scale.
    let text = std::fs::read_to_string(dir.path().join("survey_override.toml")).unwrap();
    std::fs::write(
        dir.path().join("bad_label.toml"),
        text.replace("\"strongly agree \"", "\"Totally agree\""),
    )
    .unwrap();
    let o = run(&store, &["ingest", &spec("bad_label")]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("survey.sav column q2: agree label \"Totally agree\" of statement economy is not a value label of the variable (its labels: 1 = \"Strongly disagree\", 2 = \"Disagree\", 3 = \"Neither\", 4 = \"Agree\", 5 = \"Strongly agree\", 8 = \"Don't know\", 97 = \"Not asked\""),
        "{}",
        stderr(&o)
    );
    std::fs::write(
        dir.path().join("bad_code.toml"),
        text.replace("\"strongly agree \"", "\"Refused\""),
    )
    .unwrap();
    let o = run(&store, &["ingest", &spec("bad_code")]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("survey.sav column q2: agree label \"Refused\" of statement economy names code 99, which is not an answer from 1 to 5"),
        "{}",
        stderr(&o)
    );
    assert!(!store.exists(), "a refused wave wrote the store");
}
