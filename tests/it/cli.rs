//! End-to-end tests of the `gaptrack` binary: exit codes, replace, unchanged, remove,
//! read-only refusals, query formats. Each test works in its own temporary store.

use crate::support::{
    assert_refused, bin, copy_fixture, fixture, fixture_copy, ingest_all, ingest_waves, panel,
    publish, run, scores, snapshot, stderr, stdout, PANEL_WAVES, SCORE_WAVES,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn log_entries(store: &Path) -> usize {
    snapshot(store)
        .keys()
        .filter(|p| {
            p.parent().is_some_and(|d| d.ends_with("_delta_log"))
                && p.extension().is_some_and(|e| e == "json")
        })
        .count()
}

fn query_csv(store: &Path, sql: &str) -> String {
    let o = run(store, &["query", sql, "--format", "csv"]);
    assert!(o.status.success(), "query failed: {}", stderr(&o));
    stdout(&o)
}

#[test]
fn ingest_then_unchanged_then_replace_then_remove() {
    let tmp = tempfile::tempdir().unwrap();
    let data = fixture_copy(tmp.path());
    let store = tmp.path().join("wh");

    let o = ingest_all(&store, &data);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.matches(": loaded:").count(), 3, "{out}");

    // Byte-identical spec and source: nothing is written.
    let before = log_entries(&store);
    let o = ingest_all(&store, &data);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o).matches(": unchanged").count(),
        3,
        "{}",
        stdout(&o)
    );
    assert_eq!(
        log_entries(&store),
        before,
        "an unchanged ingest wrote a commit"
    );

    let waves = query_csv(&store, "SELECT wave, kind FROM waves ORDER BY wave");
    assert_eq!(
        waves,
        "wave,kind\n2019,microdata\n2020,microdata\n2021,microdata\n"
    );

    // Replace 2020 with a file that keeps only the first 10 respondents.
    let text = std::fs::read_to_string(data.join("2020.csv")).unwrap();
    let short: Vec<&str> = text.lines().take(11).collect();
    std::fs::write(data.join("2020.csv"), short.join("\n") + "\n").unwrap();
    let o = run(
        &store,
        &["ingest", data.join("2020.toml").to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("2020: replaced: 10 respondents"),
        "{}",
        stdout(&o)
    );
    let counts = query_csv(
        &store,
        "SELECT wave, count(DISTINCT respondent) AS r, count(*) AS n FROM responses GROUP BY wave ORDER BY wave",
    );
    let lines: Vec<&str> = counts.lines().collect();
    assert_eq!(lines[2], "2020,10,30", "{counts}");
    let cat = query_csv(&store, "SELECT respondents FROM waves WHERE wave = '2020'");
    assert_eq!(cat, "respondents\n10\n");

    // Remove: one commit, the wave is gone everywhere.
    let o = run(&store, &["remove", "2020"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let left = query_csv(&store, "SELECT DISTINCT wave FROM responses ORDER BY wave");
    assert_eq!(left, "wave\n2019\n2021\n");
    let left = query_csv(&store, "SELECT DISTINCT wave FROM agreement ORDER BY wave");
    assert_eq!(left, "wave\n2019\n2021\n");
    let o = run(&store, &["remove", "2020"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("\"2020\" is not loaded"),
        "{}",
        stderr(&o)
    );

    // History: loaded ×3, replaced, removed.
    let o = run(&store, &["history", "--format", "csv"]);
    let h = stdout(&o);
    let ops: Vec<String> = h
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{} {}", f[2], f[3])
        })
        .collect();
    assert_eq!(
        ops,
        [
            "loaded 2019",
            "loaded 2020",
            "loaded 2021",
            "replaced 2020",
            "removed 2020"
        ],
        "{h}"
    );
}

#[test]
fn invalid_answer_exits_3_names_line_column_value_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = fixture_copy(tmp.path());
    let store = tmp.path().join("wh");
    assert!(ingest_all(&store, &data).status.success());
    let before = snapshot(&store);

    // Put an off-scale answer into line 5, column Q1 of 2021.
    let text = std::fs::read_to_string(data.join("2021.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let q1 = header.iter().position(|h| *h == "Q1").unwrap();
    let mut f: Vec<String> = lines[4].split(',').map(str::to_string).collect();
    f[q1] = "7".into();
    lines[4] = f.join(",");
    std::fs::write(data.join("2021.csv"), lines.join("\n") + "\n").unwrap();

    let o = run(
        &store,
        &["ingest", data.join("2021.toml").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let first = stderr(&o).lines().next().unwrap().to_string();
    assert!(
        first.starts_with("error: ")
            && first.contains(
                "2021.csv line 5, column Q1: \"7\" is not an answer from 1 to 5 (missing codes: 9)"
            ),
        "{first}"
    );
    assert_eq!(
        snapshot(&store),
        before,
        "a failed ingest changed the store"
    );
}

#[test]
fn usage_errors_exit_2() {
    let o = bin().args(["ingest"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = bin().args(["frobnicate"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn query_is_read_only() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    assert!(ingest_all(&store, &fixture()).status.success());
    let before = snapshot(&store);
    for sql in [
        "CREATE TABLE t AS SELECT 1",
        "INSERT INTO waves VALUES ('x')",
        "DROP VIEW gaps",
        "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/tmp/x.csv'",
        "COPY (SELECT 1) TO '/tmp/gaptrack-copy-test.csv'",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let o = run(&store, &["query", sql]);
        assert_eq!(o.status.code(), Some(3), "{sql}: {}", stderr(&o));
        assert!(stderr(&o).contains("read-only"), "{sql}: {}", stderr(&o));
    }
    assert!(!Path::new("/tmp/gaptrack-copy-test.csv").exists());
    assert_eq!(snapshot(&store), before);
}

#[test]
fn query_formats_params_and_names() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    assert!(ingest_all(&store, &fixture()).status.success());

    let o = run(
        &store,
        &[
            "query",
            "SELECT wave FROM waves WHERE date > $d ORDER BY wave",
            "--param",
            "d=2019-12-31",
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), r#"[{"wave":"2020"},{"wave":"2021"}]"#);

    // A queries/ name and a bare view name.
    let o = run(&store, &["query", "gap_trend", "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("statement,group_a,group_b,wave,prev_wave,gap_pp,prev_gap_pp,change_pp,se,p_value,q_value,trend,overlap\n"));
    let o = run(&store, &["query", "waves", "--format", "csv"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).lines().count(), 4);

    // Parquet to a file, read back.
    let out = tmp.path().join("out/gaps.parquet");
    let o = run(
        &store,
        &[
            "query",
            "SELECT * FROM gaps",
            "--format",
            "parquet",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let f = std::fs::File::open(&out).unwrap();
    let r = parquet::file::reader::SerializedFileReader::new(f).unwrap();
    use parquet::file::reader::FileReader;
    let rows: i64 = r.metadata().file_metadata().num_rows();
    let n: i64 = query_csv(&store, "SELECT count(*) AS n FROM gaps")
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(rows, n);
    assert!(n > 0);

    // A SQL error is exit 3 with one clear line.
    let o = run(&store, &["query", "SELEC 1"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).starts_with("error: SQL error"), "{}", stderr(&o));
}

/// Reading commands on a location where no store exists (a typo in `--store`) exit 3
/// naming it, answer nothing, create nothing, and `report` leaves the last good
/// publication as it was; a store whose waves were all removed is still a store. Fails
/// on a version that answers `count 0`, lists no waves, or publishes "data version -1".
#[test]
fn reading_commands_on_a_missing_store_exit_3_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    let typo = tmp.path().join("whh");
    let out = tmp.path().join("report");
    assert!(ingest_all(&store, &fixture()).status.success());
    let good = publish(&store, &out, &[]);
    let t = typo.to_str().unwrap();
    for args in [
        vec!["query", "SELECT count(*) AS n FROM waves"],
        vec!["query", "waves", "--output", "/dev/null"],
        vec!["waves"],
        vec!["history"],
        vec!["remove", "2019"],
        vec!["vacuum"],
        vec!["report", "--out", out.to_str().unwrap()],
        vec!["report", "--out", out.to_str().unwrap(), "--as-of", "0"],
    ] {
        let o = run(&typo, &args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(t) && err.contains("no gaptrack store exists"),
            "{args:?}: {err}"
        );
        assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
        assert!(!typo.exists(), "{args:?} created {t}");
        assert_eq!(snapshot(&out), good, "{args:?} changed the publication");
    }
    // The same through a `run` whose report has nothing to read cannot happen (run loads
    // first); a store with every wave removed is a store: reading it answers empty.
    for w in ["2019", "2020", "2021"] {
        assert!(run(&store, &["remove", w]).status.success());
    }
    assert_eq!(
        query_csv(&store, "SELECT count(*) AS n FROM waves"),
        "n\n0\n"
    );
    let o = run(&store, &["waves", "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "wave,date,kind,respondents,source_sha256,loaded_at,title,source\n"
    );
    // ... but a report of it would be empty: exit 3, the publication stays.
    let o = run(&store, &["report", "--out", out.to_str().unwrap()]);
    assert_refused(&o, 3, &["holds no loaded wave"], &out, &good);
}

/// `--pair` naming a group that no loaded wave has (at the version read), or a pair
/// never asked together, and `--by` naming a segment with nothing to show, exit 3
/// listing what exists; the previous publication stays byte for byte. Fails on a
/// version that writes header-only files over it with exit 0.
#[test]
fn report_of_a_pair_or_segment_with_nothing_to_show_exits_3() {
    let tmp = tempfile::tempdir().unwrap();
    let data = fixture_copy(tmp.path());
    // In 2021, sales is called "revenue": a group of the latest wave only.
    let spec = std::fs::read_to_string(data.join("2021.toml")).unwrap();
    let (before, after) = spec.split_once("[groups]").expect("a [groups] table");
    let renamed = after.replacen("sales =", "revenue =", 1);
    assert_ne!(renamed, after, "{spec}");
    std::fs::write(data.join("2021.toml"), format!("{before}[groups]{renamed}")).unwrap();
    let store = tmp.path().join("wh");
    let o = ingest_all(&store, &data);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = tmp.path().join("report");
    let good = publish(&store, &out, &["--by", "region"]);
    assert!(good.keys().any(|p| p.ends_with("breakdown.csv")));
    let cases: [(&[&str], &[&str]); 5] = [
        (
            &["--pair", "marketing:salse"],
            &[
                "\"salse\" is not a group",
                "\"marketing\", \"operations\", \"revenue\", \"sales\"",
            ],
        ),
        (
            &["--pair", "nobody:noone"],
            &["\"nobody\", \"noone\" are not"],
        ),
        // At version 1 (2019 and 2020) there is no "revenue" yet.
        (
            &["--pair", "marketing:revenue", "--as-of", "1"],
            &["\"revenue\" is not a group", "data version 1"],
        ),
        // sales (2019, 2020) and revenue (2021) were never asked together.
        (
            &["--pair", "sales:revenue"],
            &[
                "no loaded wave has answers from both",
                "\"sales\" in 2019, 2020",
                "\"revenue\" in 2021",
            ],
        ),
        (
            &["--by", "sector"],
            &["\"sector\" is not a segment", "\"region\", \"size\""],
        ),
    ];
    for (args, says) in cases {
        let mut a = vec!["report", "--out", out.to_str().unwrap()];
        a.extend_from_slice(args);
        let o = run(&store, &a);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        for s in says {
            assert!(
                stderr(&o).contains(s),
                "{args:?}: {s:?} not in {}",
                stderr(&o)
            );
        }
        assert_eq!(snapshot(&out), good, "{args:?} changed the publication");
    }
    // `--by size` for marketing:sales: size is only in 2021, where sales is absent.
    let o = run(
        &store,
        &["report", "--out", out.to_str().unwrap(), "--by", "size"],
    );
    assert_refused(
        &o,
        3,
        &["\"size\": no wave that has this segment (2021)"],
        &out,
        &good,
    );

    // The same in `run`: exit 3 naming the config key, the publication unchanged.
    let cfg = write_config(tmp.path(), &store, &out);
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("marketing:sales", "marketing:salse")).unwrap();
    let o = bin()
        .args(["run", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_refused(
        &o,
        3,
        &["column report.pair", "\"salse\" is not a group"],
        &out,
        &good,
    );
}

/// `query --output` and `report --out` (and a job's `report.out`) inside the store are
/// refused with exit 3 and write nothing: by path, through `..`, through a link, as a
/// `file://` URL. Fails on a version that overwrote the first commit of `waves`.
#[test]
fn outputs_inside_the_store_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    assert!(ingest_all(&store, &fixture()).status.success());
    #[cfg(unix)]
    std::os::unix::fs::symlink(&store, tmp.path().join("link")).unwrap();
    let before = snapshot(&store);
    let s = store.display().to_string();
    let t = tmp.path().display().to_string();
    let mut targets = vec![
        format!("{s}/waves/_delta_log/00000000000000000000.json"),
        format!("{s}/responses/new.parquet"),
        format!("{t}/elsewhere/../wh/waves/_delta_log/00000000000000000001.json"),
        format!("file://{s}/waves/_delta_log/00000000000000000000.json"),
        format!("{s}/x.csv"),
    ];
    if cfg!(unix) {
        targets.push(format!(
            "{t}/link/waves/_delta_log/00000000000000000000.json"
        ));
    }
    for target in &targets {
        let o = run(
            &store,
            &["query", "waves", "--format", "json", "--output", target],
        );
        assert_eq!(o.status.code(), Some(3), "{target}: {}", stderr(&o));
        assert!(stderr(&o).contains("is inside the store"), "{}", stderr(&o));
        assert_eq!(snapshot(&store), before, "{target}");
        let dir = target.rsplit_once('/').unwrap().0;
        let o = run(&store, &["report", "--out", dir]);
        assert_eq!(o.status.code(), Some(3), "{dir}: {}", stderr(&o));
        assert!(stderr(&o).contains("column --out"), "{}", stderr(&o));
        assert_eq!(snapshot(&store), before, "{dir}");
    }
    let o = run(&store, &["report", "--out", &s]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(snapshot(&store), before);
    // Outside the store, both work.
    let o = run(
        &store,
        &[
            "query",
            "waves",
            "--format",
            "csv",
            "--output",
            &format!("{t}/wh-waves.csv"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(run(&store, &["report", "--out", &format!("{t}/wh-report")])
        .status
        .success());
    // A job whose report.out is inside its store loads nothing.
    fixture_copy(tmp.path());
    let fresh = tmp.path().join("fresh");
    let cfg = write_config(tmp.path(), &fresh, &fresh.join("report"));
    let o = bin()
        .args(["run", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("column report.out"), "{}", stderr(&o));
    assert!(!fresh.exists(), "a refused job wrote to its store");
}

#[test]
fn dry_run_writes_nothing_and_summarizes() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    let o = run(
        &store,
        &[
            "ingest",
            "--dry-run",
            fixture().join("2019.toml").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("2019: valid (dry run; nothing written)"),
        "{out}"
    );
    assert!(out.contains("respondents by group: marketing"), "{out}");
    assert!(out.contains("missing answers by statement:"), "{out}");
    assert!(!store.exists());
}

#[test]
fn same_wave_twice_in_one_command_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    let spec = fixture().join("2019.toml");
    let o = run(
        &store,
        &["ingest", spec.to_str().unwrap(), spec.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("wave \"2019\" is also defined by"),
        "{}",
        stderr(&o)
    );
    assert!(!store.exists());
}

fn write_config(dir: &Path, store: &Path, out: &Path) -> PathBuf {
    let cfg = dir.join("pipeline.toml");
    std::fs::write(
        &cfg,
        format!(
            "store = {:?}\nwaves = [\"data/*.toml\"]\n[report]\nout = {:?}\npair = \"marketing:sales\"\nmin_base = 30\nformats = [\"md\", \"csv\", \"json\", \"html\"]\n",
            store.display().to_string(),
            out.display().to_string()
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn run_twice_writes_nothing_new_and_identical_reports() {
    let tmp = tempfile::tempdir().unwrap();
    fixture_copy(tmp.path());
    let store = tmp.path().join("wh");
    let out = tmp.path().join("report");
    let cfg = write_config(tmp.path(), &store, &out);

    let o = bin()
        .args(["run", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).matches(": loaded:").count(), 3, "{}", stdout(&o));
    let first = snapshot(&out);
    // md, csv, json, html; datapackage.json and trend.csv-metadata.json; manifest.json
    assert_eq!(first.len(), 7, "{:?}", first.keys());
    let entries = log_entries(&store);

    let o = bin()
        .args(["run", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).matches(": unchanged").count(), 3);
    assert_eq!(log_entries(&store), entries, "a second run wrote a commit");
    assert_eq!(snapshot(&out), first, "a second run changed the report");

    // trend.csv: the §8 columns, one row per statement × wave for the pair.
    let csv = std::fs::read_to_string(out.join("trend.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert_eq!(header, "statement,text,wave,date,group_a,group_b,n_a,n_b,pct_a,pct_b,gap_pp,gap_ci_low,gap_ci_high,gap_p_value,change_pp,change_p_value,change_q_value,trend,low_base");
    let pairs = query_csv(
        &store,
        "SELECT count(*) AS n FROM gaps WHERE group_a = 'marketing' AND group_b = 'sales'",
    );
    let n: usize = pairs.lines().nth(1).unwrap().parse().unwrap();
    assert_eq!(csv.lines().count() - 1, n);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("trend.json")).unwrap()).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), n);
}

#[test]
fn run_with_an_invalid_wave_loads_and_publishes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = fixture_copy(tmp.path());
    // Break two waves in different ways.
    let t = std::fs::read_to_string(data.join("2020.toml")).unwrap();
    std::fs::write(
        data.join("2020.toml"),
        t.replace("points = 5", "points = 5\nponts = 3"),
    )
    .unwrap();
    let c = std::fs::read_to_string(data.join("2021.csv")).unwrap();
    std::fs::write(data.join("2021.csv"), c.replacen('\n', "\nbad-row\n", 1)).unwrap();
    let store = tmp.path().join("wh");
    let out = tmp.path().join("report");
    let cfg = write_config(tmp.path(), &store, &out);
    let o = bin()
        .args(["run", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("2020.toml"), "{err}");
    assert!(err.contains("2021.csv line 2"), "{err}");
    assert!(!store.exists(), "an invalid run wrote to the store");
    assert!(!out.exists(), "an invalid run published");
}

#[test]
fn report_as_of_reproduces_an_earlier_publication() {
    let tmp = tempfile::tempdir().unwrap();
    let data = fixture_copy(tmp.path());
    let store = tmp.path().join("wh");
    assert!(ingest_all(&store, &data).status.success());
    let r1 = tmp.path().join("r1");
    let o = run(&store, &["report", "--out", r1.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let version: String = query_csv(&store, "SELECT data_version FROM settings")
        .lines()
        .nth(1)
        .unwrap()
        .to_string();

    // Replace a wave: the report changes …
    let text = std::fs::read_to_string(data.join("2021.csv")).unwrap();
    let short: Vec<&str> = text.lines().take(40).collect();
    std::fs::write(data.join("2021.csv"), short.join("\n") + "\n").unwrap();
    assert!(run(
        &store,
        &["ingest", data.join("2021.toml").to_str().unwrap()]
    )
    .status
    .success());
    let r2 = tmp.path().join("r2");
    assert!(run(&store, &["report", "--out", r2.to_str().unwrap()])
        .status
        .success());
    assert_ne!(
        std::fs::read(r1.join("trend.csv")).unwrap(),
        std::fs::read(r2.join("trend.csv")).unwrap()
    );
    // … and --as-of the earlier version reproduces the earlier files byte for byte.
    let r3 = tmp.path().join("r3");
    let o = run(
        &store,
        &["report", "--out", r3.to_str().unwrap(), "--as-of", &version],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        snapshot(&r1).into_values().collect::<Vec<_>>(),
        snapshot(&r3).into_values().collect::<Vec<_>>()
    );
    let md = std::fs::read_to_string(r3.join("trend.md")).unwrap();
    assert!(
        md.contains(&format!("data version {version}")),
        "the methods note names the data version"
    );
}

fn parse_csv(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            head.iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// `report --by` publishes the pair's gap within every value of each segment, in every
/// wave that has the segment, equal to the independent reference
/// (tests/reference/make_segment_reference.py: pandas + statsmodels), with the
/// suppression and low-base rules applied per cell.
#[test]
fn report_by_segment_matches_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let out = tmp.path().join("report");
    assert!(ingest_all(&store, &fixture()).status.success());
    let o = run(
        &store,
        &[
            "report",
            "--out",
            out.to_str().unwrap(),
            "--by",
            "region,size",
            // Segment bases are 13-24 here: thresholds that split them exercise both rules.
            "--suppress-below",
            "20",
            "--min-base",
            "22",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["breakdown.csv", "breakdown.json"] {
        assert!(stdout(&o).contains(f), "{f} listed in {}", stdout(&o));
    }

    let reference = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/reference/gaps_by_segment.csv"),
    )
    .unwrap();
    let expected: Vec<_> = parse_csv(&reference)
        .into_iter()
        .filter(|r| r["group_a"] == "marketing" && r["group_b"] == "sales")
        .collect();
    let got = parse_csv(&std::fs::read_to_string(out.join("breakdown.csv")).unwrap());
    assert_eq!(
        got.len(),
        expected.len(),
        "one row per segment × value × statement × wave"
    );
    let key = |r: &BTreeMap<String, String>| {
        (
            r["segment"].clone(),
            r["segment_value"].clone(),
            r["statement"].clone(),
            r["wave"].clone(),
        )
    };
    let got: BTreeMap<_, _> = got.iter().map(|r| (key(r), r)).collect();
    let num = |s: &str| s.parse::<f64>().unwrap();
    let mut suppressed = 0;
    for e in &expected {
        let g = got
            .get(&key(e))
            .unwrap_or_else(|| panic!("no row for {:?}", key(e)));
        assert_eq!(g["n_a"], e["n_a"], "{:?}", key(e));
        assert_eq!(g["n_b"], e["n_b"], "{:?}", key(e));
        let (na, nb) = (num(&e["n_a"]), num(&e["n_b"]));
        assert_eq!(g["low_base"], (na < 22.0 || nb < 22.0).to_string());
        if na < 20.0 || nb < 20.0 {
            suppressed += 1;
            for c in [
                "pct_a",
                "pct_b",
                "gap_pp",
                "gap_ci_low",
                "gap_ci_high",
                "gap_p_value",
            ] {
                assert_eq!(g[c], "", "{c} of suppressed {:?}", key(e));
            }
            continue;
        }
        for (c, r, tol) in [
            ("pct_a", "pct_a", 5.1e-5),
            ("pct_b", "pct_b", 5.1e-5),
            ("gap_pp", "gap_pp", 5.1e-5),
            ("gap_ci_low", "ci_low", 5.1e-5),
            ("gap_ci_high", "ci_high", 5.1e-5),
            ("gap_p_value", "p_value", 5.1e-7),
        ] {
            if e[r].is_empty() {
                assert_eq!(g[c], "", "{c} of {:?}", key(e));
            } else {
                let (x, y) = (num(&g[c]), num(&e[r]));
                assert!((x - y).abs() <= tol, "{c} of {:?}: {x} vs {y}", key(e));
            }
        }
    }
    assert!(
        suppressed > 0,
        "the fixture has cells under the suppression base"
    );
    assert!(suppressed < expected.len(), "and cells above it");

    // The reading files show the latest wave with the segment (2021 has both).
    let md = std::fs::read_to_string(out.join("trend.md")).unwrap();
    assert!(md.contains("## Gap by region (wave 2021"), "{md}");
    assert!(md.contains("## Gap by size (wave 2021"), "{md}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains(">Gap by region</h2>") && html.contains(">Gap by size</h2>"));
    let json = std::fs::read_to_string(out.join("breakdown.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), expected.len());

    // trend.csv keeps exactly its columns: the breakdown does not leak into it.
    let trend = std::fs::read_to_string(out.join("trend.csv")).unwrap();
    assert!(trend.starts_with("statement,text,wave,date,group_a,group_b,n_a,n_b,"));
    assert!(!trend.contains("segment"));

    // The pair the other way round: sides swapped, the gap and its interval mirrored.
    let rev = tmp.path().join("report-rev");
    let o = run(
        &store,
        &[
            "report",
            "--out",
            rev.to_str().unwrap(),
            "--pair",
            "sales:marketing",
            "--by",
            "region",
            "--suppress-below",
            "20",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = parse_csv(&std::fs::read_to_string(rev.join("breakdown.csv")).unwrap());
    let mut checked = 0;
    for g in &rows {
        assert_eq!(
            (g["group_a"].as_str(), g["group_b"].as_str()),
            ("sales", "marketing")
        );
        let e = expected
            .iter()
            .find(|e| key(e) == key(g))
            .unwrap_or_else(|| panic!("no reference for {:?}", key(g)));
        assert_eq!((&g["n_a"], &g["n_b"]), (&e["n_b"], &e["n_a"]));
        if g["gap_pp"].is_empty() {
            continue;
        }
        checked += 1;
        for (c, r, sign) in [
            ("pct_a", "pct_b", 1.0),
            ("pct_b", "pct_a", 1.0),
            ("gap_pp", "gap_pp", -1.0),
            ("gap_ci_low", "ci_high", -1.0),
            ("gap_ci_high", "ci_low", -1.0),
        ] {
            let (x, y) = (num(&g[c]), sign * num(&e[r]));
            assert!((x - y).abs() <= 5.1e-5, "{c} of {:?}: {x} vs {y}", key(g));
        }
    }
    assert!(checked > 0);

    // A segment no wave has: exit 3, named with the ones that exist, nothing written.
    let out2 = tmp.path().join("report2");
    let o = run(
        &store,
        &[
            "report",
            "--out",
            out2.to_str().unwrap(),
            "--by",
            "industry",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let first = stderr(&o).lines().next().unwrap_or_default().to_string();
    assert!(
        first.contains("\"industry\"")
            && first.contains("\"region\"")
            && first.contains("\"size\""),
        "{first}"
    );
    assert!(!out2.exists());
}

/// `by` in a pipeline config: a segment that no matched wave has is refused before
/// anything is loaded; a known one publishes the breakdown files.
#[test]
fn run_with_a_breakdown_checks_the_segment_before_loading() {
    let tmp = tempfile::tempdir().unwrap();
    let waves = tmp.path().join("waves");
    std::fs::create_dir(&waves).unwrap();
    copy_fixture(&waves);
    let config = |by: &str| {
        let p = tmp.path().join("pipeline.toml");
        std::fs::write(
            &p,
            format!(
                "store = \"store\"\nwaves = [\"waves/*.toml\"]\n[report]\nout = \"report\"\nby = [{by}]\n"
            ),
        )
        .unwrap();
        p
    };
    let store = tmp.path().join("store");
    let o = bin()
        .args(["run", "--config"])
        .arg(config("\"industry\""))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let first = stderr(&o).lines().next().unwrap_or_default().to_string();
    assert!(
        first.contains("pipeline.toml")
            && first.contains("\"industry\"")
            && first.contains("\"size\""),
        "{first}"
    );
    assert!(!store.exists(), "nothing loaded");
    assert!(!tmp.path().join("report").exists(), "nothing published");

    let o = bin()
        .args(["run", "--config"])
        .arg(config("\"size\""))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(tmp.path().join("report/breakdown.csv")).unwrap();
    assert!(text.lines().count() > 1);
    assert!(text.lines().skip(1).all(|l| l.starts_with("size,")));
}

/// The README's main job, as written: from a copy of the repository's `data/`,
/// `gaptrack run --config data/pipeline.toml` loads the sample waves into the default
/// `./warehouse` (the config says `../warehouse`, relative to itself), publishes `./report`
/// and prints the gap trend.
#[test]
fn readme_main_job_runs_on_the_sample_data() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut stack = vec![src.clone()];
    while let Some(d) = stack.pop() {
        let rel = d.strip_prefix(&src).unwrap();
        std::fs::create_dir_all(tmp.path().join("data").join(rel)).unwrap();
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                std::fs::copy(
                    &p,
                    tmp.path()
                        .join("data")
                        .join(rel)
                        .join(p.file_name().unwrap()),
                )
                .unwrap();
            }
        }
    }
    let o = bin()
        .current_dir(tmp.path())
        .args(["run", "--config", "data/pipeline.toml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Marketing vs Sales: agreement gap by wave"),
        "{out}"
    );
    assert!(
        out.contains("Our marketing team understands our customers"),
        "{out}"
    );
    assert!(tmp.path().join("warehouse/waves/_delta_log").is_dir());
    // Every file the README names, the chart pictures of the sample's statements too.
    for f in [
        "trend.md",
        "trend.csv",
        "trend.json",
        "index.html",
        "trend.xlsx",
        "datapackage.json",
        "manifest.json",
        "charts/marketing_understands_customers.png",
        "charts/marketing_understands_customers.svg",
    ] {
        assert!(tmp.path().join("report").join(f).is_file(), "{f}");
    }
    assert!(!tmp.path().join("data/warehouse").exists());
}

/// The pages of the documentation: README.md and docs/*.md.
fn doc_pages() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md")];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    pages.sort();
    pages
}

/// The lines of a markdown text outside fenced code blocks (a fence is a line starting
/// with three backticks), with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            out.push((i + 1, line));
        }
    }
    out
}

/// A line without its inline code spans (a run of n backticks up to the next run of
/// exactly n), so that code is never read as a link.
fn without_code_spans(line: &str) -> String {
    let b: Vec<char> = line.chars().collect();
    let run = |i: usize| b[i..].iter().take_while(|c| **c == '`').count();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != '`' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let n = run(i);
        let mut j = i + n;
        let mut end = None;
        while j < b.len() {
            if b[j] == '`' {
                let m = run(j);
                if m == n {
                    end = Some(j + m);
                    break;
                }
                j += m;
            } else {
                j += 1;
            }
        }
        match end {
            Some(e) => {
                out.push_str("CODE");
                i = e;
            }
            None => {
                out.extend(&b[i..i + n]);
                i += n;
            }
        }
    }
    out
}

/// The anchors GitHub gives the headings of a markdown text: lower case, characters other
/// than letters, digits, `_`, `-` and spaces dropped, spaces turned into `-`; a repeated
/// slug gets `-1`, `-2`, ….
fn heading_anchors(text: &str) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (_, line) in prose_lines(text) {
        let Some(title) = line.strip_prefix('#') else {
            continue;
        };
        let title = title.trim_start_matches('#');
        if !title.starts_with(' ') {
            continue;
        }
        let slug: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' '))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        out.push(if *n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        *n += 1;
    }
    out
}

/// The targets of the inline links `[text](target)` of a markdown text, with their line.
fn link_targets(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (no, line) in prose_lines(text) {
        let line = without_code_spans(line);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].split_whitespace().next().unwrap_or("");
            out.push((no, target.to_string()));
            rest = &after[end..];
        }
    }
    out
}

/// The ```sql blocks of a markdown text: (line, SQL, params from a
/// `<!-- params: a=x b=y -->` comment on the line right before the block).
fn sql_blocks(text: &str) -> Vec<(usize, String, Vec<String>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() == "```sql" {
            let params = i
                .checked_sub(1)
                .and_then(|p| lines[p].trim().strip_prefix("<!-- params:"))
                .and_then(|p| p.strip_suffix("-->"))
                .map(|p| p.split_whitespace().map(String::from).collect())
                .unwrap_or_default();
            let end = (i + 1..lines.len())
                .find(|j| lines[*j].starts_with("```"))
                .expect("a ```sql block is closed");
            out.push((i + 1, lines[i + 1..end].join("\n"), params));
            i = end;
        } else if lines[i].starts_with("```") {
            // Skip other fenced blocks whole.
            i = (i + 1..lines.len())
                .find(|j| lines[*j].starts_with("```"))
                .unwrap_or(lines.len());
        }
        i += 1;
    }
    out
}

/// The tracked files of the repository (all files outside build output when git cannot
/// list them).
fn repository_files(root: &Path) -> Vec<PathBuf> {
    if let Ok(o) = Command::new("git")
        .current_dir(root)
        .args(["ls-files", "-z"])
        .output()
    {
        if o.status.success() && !o.stdout.is_empty() {
            return o
                .stdout
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| root.join(String::from_utf8_lossy(p).as_ref()))
                .collect();
        }
    }
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                if !["target", ".git", "warehouse", "report"].contains(&name.as_str()) {
                    stack.push(p);
                }
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The documentation holds: (a) every relative link of README.md and docs/*.md resolves
/// to a file of the repository, and its `#anchor` to a heading of the target; (b) no
/// tracked file refers to a path outside the repository; (c) every ```sql block of the
/// docs and every file of queries/ (by name, with the `--param`s of its `Usage:` line)
/// runs on the fixture waves; (d) every table `SHOW TABLES` lists is documented in
/// docs/sql.md (a heading naming it).
#[test]
fn docs_links_resolve_and_every_sql_example_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let canon_root = root.canonicalize().unwrap();
    let pages = doc_pages();
    assert!(pages.len() >= 7, "{pages:?}");

    // (a) Links.
    let mut problems = Vec::new();
    let mut links = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        let shown = page.strip_prefix(root).unwrap().display().to_string();
        for (no, target) in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            links += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(path)
            };
            match file.canonicalize() {
                Ok(f) if f.starts_with(&canon_root) && f.exists() => {
                    if let Some(anchor) = anchor {
                        let target_text = std::fs::read_to_string(&f).unwrap_or_default();
                        if !heading_anchors(&target_text).iter().any(|a| a == anchor) {
                            problems.push(format!(
                                "{shown} line {no}: {target}: no heading with anchor #{anchor}"
                            ));
                        }
                    }
                }
                Ok(_) => problems.push(format!(
                    "{shown} line {no}: {target} is outside the repository"
                )),
                Err(_) => problems.push(format!("{shown} line {no}: {target} does not exist")),
            }
        }
    }
    assert!(
        links > 50,
        "only {links} links found: is the parser broken?"
    );

    // (b) No reference to a path outside the repository (the words are built here, so
    // that this file does not contain them).
    let outside = ["..", "/shared"].concat();
    let contract = ["CONT", "RACT"].concat();
    let mut files = 0;
    for f in repository_files(root) {
        // A third party's licence, quoted as published (its warranty clause).
        if f.starts_with(root.join("assets/fonts")) {
            continue;
        }
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        files += 1;
        for (i, line) in text.lines().enumerate() {
            if line.contains(&outside) || line.contains(&contract) {
                problems.push(format!(
                    "{} line {}: refers outside the repository: {}",
                    f.strip_prefix(root).unwrap_or(&f).display(),
                    i + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(files > 100, "only {files} text files found");

    // (c) Every SQL example of the docs, and every shipped query, runs on the fixture
    // waves, the score waves (disagree codes, themes) and the panel waves. The working
    // directory is the repository, so `query NAME` runs the file queries/NAME.sql itself.
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let o = ingest_all(&store, &fixture());
    assert!(o.status.success(), "{}", stderr(&o));
    let o = ingest_waves(&store, &scores(), &SCORE_WAVES);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = ingest_waves(&store, &panel(), &PANEL_WAVES);
    assert!(o.status.success(), "{}", stderr(&o));
    let query = |sql: &str, params: &[String]| {
        let mut c = bin();
        c.current_dir(root)
            .arg("--store")
            .arg(&store)
            .args(["query", sql, "--format", "csv"]);
        for p in params {
            c.arg("--param").arg(p);
        }
        c.output().unwrap()
    };
    let mut blocks = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        let shown = page.strip_prefix(root).unwrap().display().to_string();
        for (no, sql, params) in sql_blocks(&text) {
            blocks += 1;
            let o = query(&sql, &params);
            if !o.status.success() {
                problems.push(format!(
                    "{shown} line {no}: the SQL example exits {:?}: {}",
                    o.status.code(),
                    stderr(&o).trim()
                ));
            }
        }
    }
    assert!(blocks >= 15, "only {blocks} SQL examples found");
    let mut names = Vec::new();
    for e in std::fs::read_dir(root.join("queries")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "sql") {
            names.push(p);
        }
    }
    names.sort();
    assert!(names.len() >= 9, "{names:?}");
    for p in &names {
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(p).unwrap();
        // `-- Usage: gaptrack query NAME --param a=x --param b=y` names the parameters.
        let mut params = Vec::new();
        if let Some(usage) = text.lines().find(|l| l.contains("Usage: gaptrack query")) {
            let words: Vec<&str> = usage.split_whitespace().collect();
            for w in words.windows(2) {
                if w[0] == "--param" {
                    params.push(w[1].to_string());
                }
            }
        }
        let o = query(&name, &params);
        if !o.status.success() {
            problems.push(format!(
                "queries/{name}.sql exits {:?}: {}",
                o.status.code(),
                stderr(&o).trim()
            ));
        } else if stdout(&o).lines().count() < 2 {
            problems.push(format!(
                "queries/{name}.sql returns no row on the fixture, score and panel waves"
            ));
        }
    }

    // (d) Every table and view SHOW TABLES lists is documented in docs/sql.md: a heading
    // names `name` (schema public) or `store.name`; information_schema views are named.
    let sql_md = std::fs::read_to_string(root.join("docs/sql.md")).unwrap();
    let headings: Vec<&str> = prose_lines(&sql_md)
        .into_iter()
        .map(|(_, l)| l)
        .filter(|l| l.starts_with('#'))
        .collect();
    let o = query("SHOW TABLES", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let listed = parse_csv(&stdout(&o));
    assert!(listed.len() >= 20, "{listed:?}");
    for row in &listed {
        let (schema, table) = (&row["table_schema"], &row["table_name"]);
        let documented = match schema.as_str() {
            "public" => headings.iter().any(|h| h.contains(&format!("`{table}`"))),
            "store" => headings
                .iter()
                .any(|h| h.contains(&format!("`store.{table}`"))),
            _ => sql_md.contains(&format!("`{schema}.{table}`")),
        };
        if !documented {
            problems.push(format!("{schema}.{table} is not documented in docs/sql.md"));
        }
    }

    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A wave without rim weighting is validated and written in one pass: its files are
/// staged, and removed again when it, or another wave of the command, is invalid.
/// Here the problem shows only at the end of the source (a repeated respondent id, found
/// once every row is read), after more than one row group of the wave was written.
#[test]
fn waves_staged_before_a_problem_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big");
    let o = Command::new(env!("CARGO_BIN_EXE_gaptrack-sample"))
        .args(["--out", big.to_str().unwrap(), "--waves", "1"])
        .args([
            "--respondents",
            "30000",
            "--statements",
            "40",
            "--seed",
            "5",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let spec = std::fs::read_dir(&big)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "toml"))
        .unwrap();
    let csv = spec.with_extension("csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let first_row = text.lines().nth(1).unwrap().to_string();
    let rows = text.lines().count();
    std::fs::write(&csv, format!("{text}{first_row}\n")).unwrap();

    let data = fixture_copy(tmp.path());
    let spec = spec.to_str().unwrap();
    let w2019 = data.join("2019.toml");
    let w2019 = w2019.to_str().unwrap();

    // A fresh store: the valid 2019 is staged first; the store does not even exist after.
    let store = tmp.path().join("wh");
    let o = run(&store, &["ingest", w2019, spec]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let first = stderr(&o).lines().next().unwrap().to_string();
    assert!(
        first.contains(&format!("line {}", rows + 1)) && first.contains("duplicate respondent id"),
        "{first}"
    );
    assert!(
        !store.exists(),
        "a refused ingest created {}",
        store.display()
    );

    // A store holding every wave: a changed 2019 and the big wave are refused together,
    // the store stays byte for byte as it was.
    assert!(ingest_all(&store, &data).status.success());
    let before = snapshot(&store);
    let c = std::fs::read_to_string(data.join("2019.csv")).unwrap();
    std::fs::write(data.join("2019.csv"), c.replacen(",4,", ",5,", 1)).unwrap();
    let o = run(&store, &["ingest", w2019, spec]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        snapshot(&store),
        before,
        "a refused ingest changed the store"
    );

    // Without the repeated row the big wave loads, in more than one row group.
    std::fs::write(&csv, text).unwrap();
    let o = run(&store, &["ingest", spec]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        query_csv(&store, "SELECT count(*) AS n, count(DISTINCT respondent) AS r FROM responses WHERE wave NOT IN ('2019', '2020', '2021')"),
        format!("n,r\n{},{}\n", (rows - 1) * 40, rows - 1)
    );
}

/// A gaptrack command under `sh -c 'ulimit -v KB; exec gaptrack …'`, with env.
fn run_limited(store: &Path, vmem_kb: Option<u64>, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut script = String::new();
    if let Some(kb) = vmem_kb {
        script.push_str(&format!("ulimit -v {kb}; "));
    }
    script.push_str("exec \"$0\" \"$@\"");
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_gaptrack"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("GAPTRACK_STORE");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// No statement makes gaptrack abort (exit 134) or run the machine out of memory: too
/// deep statements are exit 3, a query over the memory limit fails alone with exit 1
/// naming the limit, deep but allowed statements answer, and results stream.
#[test]
fn no_statement_aborts() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    assert!(ingest_all(&store, &fixture()).status.success());
    let chain = |n: usize, sep: &str, term: &str| vec![term; n].join(sep);
    // Deep but allowed: answered.
    let sums = format!("SELECT {} AS s", chain(1_900, " + ", "1"));
    assert_eq!(query_csv(&store, &sums), "s\n1900\n");
    let unions = chain(1_500, " UNION ALL ", "SELECT 1 AS x");
    let q = format!("SELECT count(*) AS n, sum(x) AS s FROM ({unions})");
    assert_eq!(query_csv(&store, &q), "n,s\n1500,1500\n");
    // Too deep: refused before planning.
    for (sql, what) in [
        (
            format!("SELECT {}", chain(10_000, " + ", "1")),
            "levels deep",
        ),
        (chain(3_000, " UNION ALL ", "SELECT 1"), "SELECTs"),
        (
            format!(
                "SELECT * FROM waves WHERE {}",
                chain(5_000, " OR ", "wave = 'x'")
            ),
            "levels deep",
        ),
    ] {
        let o = run(&store, &["query", &sql]);
        assert_eq!(o.status.code(), Some(3), "{what}: {}", stderr(&o));
        assert!(stderr(&o).contains(what), "{}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    }
    // A cross join sorted: over a small limit it fails alone, without spilling room.
    let cross = "SELECT a.respondent, b.respondent, a.value FROM responses a CROSS JOIN responses b ORDER BY 3, 1, 2";
    let env = [
        ("GAPTRACK_MEMORY_LIMIT", "32M"),
        ("GAPTRACK_SPILL_LIMIT", "0"),
    ];
    let o = run_limited(&store, None, &env, &["query", cross, "--format", "csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("GAPTRACK_MEMORY_LIMIT"),
        "{}",
        stderr(&o)
    );
    // Under an address-space limit the default memory limit follows it.
    let o = run_limited(
        &store,
        Some(3 << 20),
        &[("GAPTRACK_SPILL_LIMIT", "0")],
        &["query", cross, "--format", "csv"],
    );
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{:?}: {}",
        o.status,
        stderr(&o)
    );
    // A result far larger than the memory the process may use streams to its end.
    let big = "SELECT repeat('x', 1000) AS s FROM generate_series(1, 1500000)";
    let out = tmp.path().join("big.csv");
    let o = run_limited(
        &store,
        Some(2 << 20),
        &[],
        &[
            "query",
            big,
            "--format",
            "csv",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{:?}: {}", o.status, stderr(&o));
    let meta = std::fs::metadata(&out).unwrap();
    assert_eq!(meta.len(), 2 + 1_500_000 * 1001);
    // Renamed into place from a temporary file, it is as readable as any new file.
    #[cfg(unix)]
    assert_ne!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o044,
        0
    );
}

/// Every entry under `dir` (hidden ones included) with its sha256; directories as "dir".
fn listing(dir: &Path) -> BTreeMap<String, String> {
    use sha2::{Digest, Sha256};
    snapshot(dir)
        .into_iter()
        .map(|(p, bytes)| {
            let name = p.strip_prefix(dir).unwrap().display().to_string();
            let what = if p.is_dir() {
                "dir".to_string()
            } else {
                hex::encode(Sha256::digest(bytes.unwrap_or_default()))
            };
            (name, what)
        })
        .collect()
}

/// Names, sizes and modification times under `dir`: cheap enough to poll.
fn fingerprint(dir: &Path) -> Vec<(std::ffi::OsString, u64, Option<std::time::SystemTime>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    let m = e.metadata().ok();
                    (
                        e.file_name(),
                        m.as_ref().map_or(0, |m| m.len()),
                        m.and_then(|m| m.modified().ok()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Copies the files of `from` (and of its subdirectories, e.g. `charts/`) into a fresh `to`.
fn copy_dir(from: &Path, to: &Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).unwrap();
    }
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, target).unwrap();
        }
    }
}

/// A report killed (SIGKILL) at random moments leaves the output directory holding
/// exactly the complete old publication or the complete new one (names and sha256 of
/// every entry), never a mix, never a partial file; `breakdown.*` of the old set is
/// gone once the new set (without `--by`) is in; what a killed publication staged is
/// removed by the next one. Fails on a version that writes the files one by one in
/// place.
#[test]
fn a_killed_report_leaves_the_old_or_the_new_publication() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    assert!(ingest_all(&store, &fixture()).status.success());
    // The old set: latest data, with breakdowns. The new set: data version 1, without.
    let old_args = ["--by", "region,size"];
    let new_args = ["--as-of", "1"];
    let publish = |out: &Path, extra: &[&str]| {
        let mut c = bin();
        c.arg("--store")
            .arg(&store)
            .args(["report", "--out"])
            .arg(out)
            .args(extra);
        c
    };
    let old_dir = tmp.path().join("old");
    let new_dir = tmp.path().join("new");
    assert!(publish(&old_dir, &old_args)
        .output()
        .unwrap()
        .status
        .success());
    let started = std::time::Instant::now();
    assert!(publish(&new_dir, &new_args)
        .output()
        .unwrap()
        .status
        .success());
    let took = started.elapsed();
    let (old, new) = (listing(&old_dir), listing(&new_dir));
    assert!(old.contains_key("breakdown.csv") && !new.contains_key("breakdown.csv"));
    assert_ne!(old["trend.json"], new["trend.json"]);

    let out = tmp.path().join("site").join("report");
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}, a publication takes {took:?}");
    let (mut saw_old, mut saw_new) = (0, 0);
    for i in 0..18 {
        copy_dir(&old_dir, &out);
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Spread over the whole run, the last fifth again (where the switch is), and
        // every third at the first visible change.
        let frac = ((seed >> 33) % 1000) as f64 / 1000.0;
        let frac = if i % 2 == 0 { frac } else { 0.8 + frac * 0.3 };
        let mut child = publish(&out, &new_args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        if i % 3 == 2 {
            // At the first change a reader could see: where a version writing in place
            // is half-way.
            let before = fingerprint(&out);
            let until = std::time::Instant::now() + took * 4;
            while fingerprint(&out) == before
                && std::time::Instant::now() < until
                && child.try_wait().unwrap().is_none()
            {
                std::hint::spin_loop();
            }
        } else {
            std::thread::sleep(took.mul_f64(frac));
        }
        let _ = child.kill();
        let _ = child.wait();
        let now = listing(&out);
        if now == old {
            saw_old += 1;
        } else if now == new {
            saw_new += 1;
        } else {
            panic!(
                "kill {i} at {:.0} % left a mix:\n{now:#?}\nold {old:#?}\nnew {new:#?}",
                frac * 100.0
            );
        }
    }
    println!("{saw_old} kills left the old set, {saw_new} the new one");
    // The next publication completes and leaves nothing staged beside or inside.
    assert!(publish(&out, &new_args).output().unwrap().status.success());
    assert_eq!(listing(&out), new);
    let beside: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["report"], "left beside the output: {beside:?}");
    assert!(old.contains_key("manifest.json") && new.contains_key("manifest.json"));
}

/// A publication whose writes fail part-way (here the file size limit, as a full disk
/// would) exits 1 and leaves the previous publication exactly as it was, with nothing
/// staged left behind. Fails on a version that writes the files in place.
#[cfg(unix)]
#[test]
fn a_report_whose_writes_fail_leaves_the_old_publication() {
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("wh");
    assert!(ingest_all(&store, &fixture()).status.success());
    let out = tmp.path().join("report");
    let o = run(
        &store,
        &["report", "--out", out.to_str().unwrap(), "--as-of", "1"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let good = listing(&out);
    let sizes: Vec<u64> = snapshot(&out)
        .values()
        .map(|b| b.as_ref().map_or(0, |b| b.len() as u64))
        .collect();
    let (small, large) = (*sizes.iter().min().unwrap(), *sizes.iter().max().unwrap());
    // Writes fail once a file would exceed the limit: some files of the set are written,
    // a larger one is not.
    for limit in [small / 2, (small + large) / 2] {
        let mut cmd = bin();
        cmd.arg("--store")
            .arg(&store)
            .args(["report", "--out", out.to_str().unwrap()]);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let l = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &l) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let o = cmd.output().unwrap();
        assert_eq!(o.status.code(), Some(1), "limit {limit}: {}", stderr(&o));
        assert!(stderr(&o).contains("File too large"), "{}", stderr(&o));
        assert_eq!(listing(&out), good, "limit {limit} changed the publication");
        let beside: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.contains("gaptrack"))
            .collect();
        assert!(beside.is_empty(), "left behind: {beside:?}");
    }
}

/// A store file missing while a query runs is the store's problem (exit 1, one line
/// naming it), not the user's input.
#[test]
fn a_missing_data_file_is_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    assert!(ingest_all(&store, &fixture()).status.success());
    let victim = snapshot(&store.join("responses"))
        .into_keys()
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    std::fs::remove_file(&victim).unwrap();
    let o = run(&store, &["query", "SELECT count(*) FROM responses"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(stderr(&o).contains(name), "{}", stderr(&o));
}

/// A write that fails (here a file size limit, as a full disk) is one `error:` line that
/// says what the storage said: no panic text, no "Failed to read", exit 1, the store as
/// it was.
#[test]
fn a_failed_write_is_one_line_without_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    copy_fixture(&data);
    assert!(run(
        &store,
        &["ingest", data.join("2019.toml").to_str().unwrap()]
    )
    .status
    .success());
    let waves = |store: &Path| {
        query_csv(
            store,
            "SELECT wave, respondents, source_sha256 FROM waves ORDER BY wave",
        )
    };
    let before = waves(&store);
    for format in ["text", "json"] {
        let spec = data.join("2020.toml");
        let o = Command::new("sh")
            .arg("-c")
            .arg("trap '' XFSZ; ulimit -f 8; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_gaptrack"))
            .args(["--log-format", format, "--store"])
            .arg(&store)
            .arg("ingest")
            .arg(&spec)
            .env_remove("GAPTRACK_STORE")
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        for wrong in [
            "panicked",
            "Failed to read",
            "Failed to parse",
            "RUST_BACKTRACE",
        ] {
            assert!(!err.contains(wrong), "{err}");
        }
        assert!(err.contains("File too large"), "{err}");
        let errors = err.lines().filter(|l| l.contains("error")).count();
        assert_eq!(errors, 1, "{err}");
        assert!(
            err.lines()
                .all(|l| format == "json" || l.starts_with("error: ")),
            "{err}"
        );
        // What the failed load left is invisible: the store reads as it was.
        assert_eq!(waves(&store), before, "{err}");
    }
}

/// Writes wave `id` as a copy of the fixture's 2021 wave whose segment `size` is spelled
/// `spelling` (in the spec and in the CSV header).
fn wave_2021_as(dir: &Path, id: &str, spelling: &str) -> PathBuf {
    let spec = std::fs::read_to_string(fixture().join("2021.toml"))
        .unwrap()
        .replace("wave = \"2021\"", &format!("wave = \"{id}\""))
        .replace("date = \"2021-05-01\"", &format!("date = \"{id}-05-01\""))
        .replace("source = \"2021.csv\"", &format!("source = \"{id}.csv\""))
        .replace(
            "segments = [\"region\", \"size\"]",
            &format!("segments = [\"region\", \"{spelling}\"]"),
        );
    assert!(spec.contains(spelling));
    let csv = std::fs::read_to_string(fixture().join("2021.csv")).unwrap();
    let csv = csv.replacen(",size,", &format!(",{spelling},"), 1);
    std::fs::write(dir.join(format!("{id}.csv")), csv).unwrap();
    let p = dir.join(format!("{id}.toml"));
    std::fs::write(&p, spec).unwrap();
    p
}

/// Segment names are matched without regard to case: waves loaded as `size`, `SIZE` and
/// `Size` (the same data) fill one column of `responses`, spelled as first stored, with
/// the same values; `segstats` names the segment the same way and agrees with
/// `responses`; `report --by SIZE` finds it. Two segments of one spec that differ only by
/// case are refused (exit 3) naming both.
#[test]
fn segment_names_differing_by_case_are_one_column() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let specs = [
        wave_2021_as(tmp.path(), "2021", "size"),
        wave_2021_as(tmp.path(), "2022", "SIZE"),
        wave_2021_as(tmp.path(), "2023", "Size"),
    ];
    for s in &specs {
        let o = run(&store, &["ingest", &s.display().to_string()]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    // The same data in every wave: the same values in `responses`, none lost.
    let per_wave = query_csv(
        &store,
        "SELECT wave, size, count(*) AS n, count(agree) AS answered FROM responses \
         GROUP BY wave, size ORDER BY size, wave",
    );
    let rows = parse_csv(&per_wave);
    assert!(rows.iter().all(|r| !r["size"].is_empty()), "{per_wave}");
    for chunk in rows.chunks(3) {
        assert_eq!(
            chunk.iter().map(|r| r["wave"].as_str()).collect::<Vec<_>>(),
            ["2021", "2022", "2023"],
            "{per_wave}"
        );
        assert!(
            chunk
                .iter()
                .all(|r| r["n"] == chunk[0]["n"] && r["answered"] == chunk[0]["answered"]),
            "{per_wave}"
        );
    }
    // segstats: one spelling, and the counts of `responses`.
    let segs = query_csv(
        &store,
        "SELECT DISTINCT segment FROM segstats ORDER BY segment",
    );
    assert_eq!(segs, "segment\nregion\nsize\n");
    let by_seg = parse_csv(&query_csv(
        &store,
        "SELECT wave, statement, grp, segment_value, n FROM agreement_by_segment \
         WHERE segment = 'size' ORDER BY wave, statement, grp, segment_value",
    ));
    let from_rows = parse_csv(&query_csv(
        &store,
        "SELECT wave, statement, grp, size AS segment_value, count(agree) AS n FROM responses \
         WHERE grp IS NOT NULL AND agree IS NOT NULL \
         GROUP BY wave, statement, grp, size ORDER BY wave, statement, grp, segment_value",
    ));
    assert!(!by_seg.is_empty());
    assert_eq!(by_seg, from_rows);
    let waves: Vec<_> = by_seg.iter().map(|r| r["wave"].as_str()).collect();
    assert!(waves.contains(&"2022") && waves.contains(&"2023"));

    // report --by, any spelling.
    let out = tmp.path().join("report");
    let o = run(
        &store,
        &[
            "report",
            "--out",
            &out.display().to_string(),
            "--by",
            "SIZE",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(out.join("breakdown.csv")).unwrap();
    for w in ["2021", "2022", "2023"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("size,") && l.contains(w)),
            "{text}"
        );
    }

    // One spec, two spellings: refused, naming both, nothing written.
    let clash = wave_2021_as(tmp.path(), "2024", "size");
    let spec = std::fs::read_to_string(&clash)
        .unwrap()
        .replace("[\"region\", \"size\"]", "[\"region\", \"size\", \"SIZE\"]");
    std::fs::write(&clash, spec).unwrap();
    let before = snapshot(&store);
    let o = run(&store, &["ingest", &clash.display().to_string()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("\"size\"") && stderr(&o).contains("\"SIZE\""),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(&store), before, "a refused spec wrote something");
}

/// Query errors read plainly: a syntax error is the parser's words once (exit 3), a
/// missing `--param` names the parameter (exit 2), and `-f -` reads standard input.
#[test]
fn query_errors_read_plainly_and_sql_comes_from_stdin() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    assert!(ingest_all(&store, &fixture()).status.success());
    let o = run(&store, &["query", "SELEC wave FROM waves"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.starts_with("error: SQL error: "), "{err}");
    assert!(
        !err.contains("SQL error: SQL error") && !err.contains("ParserError"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let o = run(&store, &["query", "pair_trend"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--param a="), "{}", stderr(&o));
    let mut child = bin()
        .arg("--store")
        .arg(&store)
        .args(["query", "-f", "-", "--format", "csv"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT count(*) AS n FROM waves")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(stdout(&o), "n\n3\n");
}

/// Several `;`-separated statements run in turn, each result printed; `--output` takes
/// one statement; an unknown table gets the closest name.
#[test]
fn query_runs_several_statements_and_suggests_names() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    assert!(ingest_all(&store, &fixture()).status.success());
    let sql = "SELECT count(*) AS n FROM waves; SELECT ';' AS s;\n-- done;\n";
    let o = run(&store, &["query", sql, "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "n\n3\n\ns\n;\n");
    let o = run(&store, &["query", sql, "--format", "json"]);
    assert_eq!(stdout(&o), "[{\"n\":3}]\n[{\"s\":\";\"}]\n");
    let out = tmp.path().join("two.csv");
    let o = run(&store, &["query", sql, "--output", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!out.exists());
    // A bad second statement: nothing of the first is printed.
    let o = run(&store, &["query", "SELECT 1 AS a; SELECT * FROM gapz"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stdout(&o), "");
    assert!(stderr(&o).contains("did you mean gaps?"), "{}", stderr(&o));
    let o = run(&store, &["query", "SELECT * FROM zzzzzz"]);
    assert!(
        stderr(&o).contains("the tables and views are: agreement, "),
        "{}",
        stderr(&o)
    );
}

/// `pair_trend` gives the gap a − b in the order the parameters name the groups.
#[test]
fn pair_trend_follows_the_order_of_its_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    assert!(ingest_all(&store, &fixture()).status.success());
    let rows = |a: &str, b: &str| -> Vec<Vec<String>> {
        let o = run(
            &store,
            &[
                "query",
                "pair_trend",
                "--param",
                &format!("a={a}"),
                "--param",
                &format!("b={b}"),
                "--format",
                "csv",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let ms = rows("marketing", "sales");
    let sm = rows("sales", "marketing");
    assert!(!ms.is_empty());
    assert_eq!(ms.len(), sm.len());
    let num = |s: &str| s.parse::<f64>().unwrap();
    for (x, y) in ms.iter().zip(&sm) {
        assert_eq!((&x[1][..], &x[2][..]), ("marketing", "sales"));
        assert_eq!((&y[1][..], &y[2][..]), ("sales", "marketing"));
        assert_eq!(x[0], y[0]);
        for col in [5, 6, 7] {
            assert_eq!(num(&x[col]), -num(&y[col]), "{x:?} {y:?}");
            assert!(!y[col].starts_with("-0.0") || num(&y[col]) != 0.0, "{y:?}");
        }
        assert_eq!(x[8..], y[8..]);
    }
    // The 2020 gap of understands_customers: marketing 77.78 % − sales 84.42 % (gaps.slt).
    let row = ms
        .iter()
        .find(|r| r[0] == "understands_customers" && r[4] == "2020")
        .unwrap();
    assert_eq!(row[6], "-6.6");
}

/// `--min-base-on n_eff` on `query` and `report`, and `[report] min_base_on`: the
/// thresholds apply to the effective base (report_neff.slt checks the rows themselves).
#[test]
fn the_thresholds_can_apply_to_the_effective_base() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let o = ingest_all(&store, &fixture());
    assert!(o.status.success(), "{}", stderr(&o));
    let setting = |extra: &[&str]| {
        let mut args = vec![
            "query",
            "SELECT min_base_on FROM settings",
            "--format",
            "csv",
        ];
        args.extend(extra);
        let o = run(&store, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    assert_eq!(setting(&[]), "min_base_on\nn\n");
    assert_eq!(setting(&["--min-base-on", "n_eff"]), "min_base_on\nn_eff\n");
    let o = run(&store, &["query", "SELECT 1", "--min-base-on", "neff"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Marketing's 72 respondents of 2019 answering qualifies_leads have an effective base
    // of 62.1: a low base at 65 only when the threshold applies to n_eff.
    let low = |extra: &[&str]| {
        let mut args = vec![
            "query",
            "SELECT low_base FROM agreement WHERE wave = '2019' AND statement = 'qualifies_leads' AND grp = 'marketing'",
            "--format",
            "csv",
            "--min-base",
            "65",
        ];
        args.extend(extra);
        stdout(&run(&store, &args))
    };
    assert_eq!(low(&[]), "low_base\nfalse\n");
    assert_eq!(low(&["--min-base-on", "n_eff"]), "low_base\ntrue\n");
    // The report says which base its thresholds apply to.
    let out = tmp.path().join("report");
    let o = run(
        &store,
        &[
            "report",
            "--out",
            out.to_str().unwrap(),
            "--formats",
            "md,json",
            "--min-base",
            "65",
            "--min-base-on",
            "n_eff",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let json = std::fs::read_to_string(out.join("trend.json")).unwrap();
    assert!(json.contains("\"min_base_on\": \"n_eff\""), "{json}");
    let md = std::fs::read_to_string(out.join("trend.md")).unwrap();
    assert!(md.contains("an effective base below 65"), "{md}");
    // In a pipeline config: a value that is not a base is refused, naming the key.
    let cfg = tmp.path().join("pipeline.toml");
    std::fs::write(
        &cfg,
        "store = \"store\"\nwaves = []\n[report]\nout = \"r\"\nmin_base_on = \"weights\"\n",
    )
    .unwrap();
    let o = bin().args(["run", "--config"]).arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("line 5, column report.min_base_on")
            && stderr(&o).contains("\"weights\" is not a base (n, n_eff)"),
        "{}",
        stderr(&o)
    );
}

/// `report --baseline WAVE`: the change of every gap since that wave in the reading and
/// data files (the rows themselves: gap_vs_baseline.slt checks report_baseline); a wave
/// the report does not have is exit 3, naming the waves it has.
#[test]
fn the_report_shows_the_change_since_a_chosen_wave() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let o = ingest_all(&store, &fixture());
    assert!(o.status.success(), "{}", stderr(&o));
    let out = tmp.path().join("report");
    let report = |baseline: &str| {
        run(
            &store,
            &[
                "report",
                "--out",
                out.to_str().unwrap(),
                "--formats",
                "md,json,xlsx",
                "--baseline",
                baseline,
            ],
        )
    };
    let o = report("2018");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("\"2018\" is not a wave of the report (2019, 2020, 2021)"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing published");
    let o = report("2019");
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("trend.md")).unwrap();
    let section = &md[md.find("## Change since 2019").unwrap()..md.find("## Detail").unwrap()];
    // marketing − sales: understands_customers went from +43.9 to +10.6 (narrowed).
    assert!(
        section.contains("| Our marketing team understands our customers | 2021 | +43.9 | +10.6 | \u{2212}33.3 | 0.006 | narrowed |"),
        "{section}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("trend.json")).unwrap()).unwrap();
    assert_eq!(json["baseline_wave"], "2019");
    // Three statements in 2020, two in 2021 (work_well_together has a new series there).
    assert_eq!(
        json["baseline"].as_array().unwrap().len(),
        5,
        "{}",
        json["baseline"]
    );
}

/// With themes in the specs, the report opens with them: trend.md's first section after
/// the wave list, and a key of trend.json. The numbers are those of
/// the reference (tests/sql/scores.slt, from tests/reference/make_score_reference.py).
#[test]
fn the_report_leads_with_the_themes() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let o = ingest_waves(&store, &scores(), &SCORE_WAVES);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = tmp.path().join("report");
    let o = run(
        &store,
        &[
            "report",
            "--out",
            out.to_str().unwrap(),
            "--formats",
            "md,json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("trend.md")).unwrap();
    let (themes, gaps) = (
        md.find("## Themes").unwrap(),
        md.find("## Gap by wave").unwrap(),
    );
    assert!(themes < gaps, "{md}");
    let section = &md[themes..gaps];
    // alignment loses joint_planning in s2023: series 2, whose slope is −10.9 a year.
    assert!(
        section.contains("alignment (aligned\\_goals, shared\\_data): the Marketing \u{2212} Sales gap held (no significant trend) from +40.8 points in s2023 to +29.5 in s2024 (\u{2212}10.9 points a year, q 0.171). Series 2 starts in s2023"),
        "{section}"
    );
    assert!(
        section.contains("| alignment | s2022 | 53.2 | 17.9 | +35.3 | +15.0 | 0.054 | stable |"),
        "{section}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("trend.json")).unwrap()).unwrap();
    let rows = json["themes"].as_array().unwrap();
    assert_eq!(rows.len(), 7, "{rows:?}");
    assert_eq!(
        rows[1]["members"],
        "aligned_goals,joint_planning,shared_data"
    );
    assert_eq!(rows[1]["gap_pp"], 35.3042);
    assert_eq!(rows[2]["series"], 2);
}

/// The panel waves (tests/reference/make_panel_waves.py), copied so a test may edit them.
fn panel_copy(tmp: &Path) -> PathBuf {
    let dir = tmp.join("panel");
    copy_dir(&panel(), &dir);
    dir
}

/// se and overlap of one change of aligned_goals, marketing − sales, in `view`.
fn panel_change(store: &Path, view: &str, wave: &str) -> (f64, i64) {
    let csv = query_csv(
        store,
        &format!(
            "SELECT se, overlap FROM {view} WHERE statement = 'aligned_goals' \
             AND group_a = 'marketing' AND group_b = 'sales' AND wave = '{wave}'"
        ),
    );
    let row = csv.lines().nth(1).unwrap_or_else(|| panic!("{csv}"));
    let (se, overlap) = row.split_once(',').unwrap();
    (se.parse().unwrap(), overlap.parse().unwrap())
}

#[test]
fn repeated_respondents_follow_the_live_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, dir) = (tmp.path().join("store"), panel_copy(tmp.path()));
    let o = ingest_waves(&store, &dir, &PANEL_WAVES);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("95 respondent ids also in wave p2021: changes between the two waves are tested as repeated respondents"),
        "{}",
        stdout(&o)
    );
    // tests/sql/panel.slt (R): Kish, aligned_goals, marketing − sales.
    let close = |(se, n): (f64, i64), want: (f64, i64)| {
        assert!(
            (se - want.0).abs() < 1e-9 && n == want.1,
            "{se} {n}, want {want:?}"
        );
    };
    let p2022 = (12.857389867401517, 53);
    close(panel_change(&store, "gap_trend", "p2022"), p2022);

    // p2021 loaded again: its new load matches itself with p2022 and p2023; the rows
    // p2022 and p2023 wrote against its old load are dropped.
    let spec = dir.join("p2021.toml");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, format!("{text}# loaded again\n")).unwrap();
    let o = ingest_waves(&store, &dir, &["p2021"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("95 respondent ids also in wave p2022"),
        "{}",
        stdout(&o)
    );
    close(panel_change(&store, "gap_trend", "p2022"), p2022);
    let n: i64 = query_csv(
        &store,
        "SELECT count(*) FROM panelstats WHERE statement IS NULL",
    )
    .lines()
    .nth(1)
    .unwrap()
    .parse()
    .unwrap();
    let all: i64 = query_csv(
        &store,
        "SELECT count(*) FROM store.panelstats WHERE statement IS NULL",
    )
    .lines()
    .nth(1)
    .unwrap()
    .parse()
    .unwrap();
    // The replaced load's cross sums are cleaned up with it.
    assert!(n > 0 && all == n, "live {n}, stored {all}");

    // Without p2022, p2023 is compared with p2021: the baseline change of R.
    let o = run(&store, &["remove", "p2022"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p2023 = (13.25584128886536, 28);
    close(panel_change(&store, "gap_trend", "p2023"), p2023);
    close(panel_change(&store, "gap_vs_baseline", "p2023"), p2023);

    // panel = false: nobody of p2023 is matched; the independent test again.
    let spec = dir.join("p2023.toml");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(
        &spec,
        text.replace("group = \"team\"\n", "group = \"team\"\npanel = false\n"),
    )
    .unwrap();
    let o = ingest_waves(&store, &dir, &["p2023"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !stdout(&o).contains("respondent ids also in"),
        "{}",
        stdout(&o)
    );
    let (se, overlap) = panel_change(&store, "gap_trend", "p2023");
    let gaps = query_csv(
        &store,
        "SELECT sqrt(sum(se * se)) FROM gaps WHERE statement = 'aligned_goals' \
         AND group_a = 'marketing' AND group_b = 'sales' AND wave IN ('p2021', 'p2023')",
    );
    let independent: f64 = gaps.lines().nth(1).unwrap().parse().unwrap();
    assert_eq!(overlap, 0);
    assert!((se - independent).abs() < 1e-9, "{se} vs {independent}");
    assert!((se - p2023.0).abs() > 0.1, "{se}");
}

/// `report --by` gives the trend of the gap within each segment value: the rows of
/// `report_breakdown_slope` (checked against statsmodels in tests/sql/gap_slope.slt) in
/// trend.md, index.html, breakdown.json and trend.xlsx.
#[test]
fn report_by_segment_has_the_trend_within_each_value() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let out = tmp.path().join("report");
    assert!(ingest_all(&store, &fixture()).status.success());
    let o = run(
        &store,
        &["report", "--out", out.to_str().unwrap(), "--by", "region"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("trend.md")).unwrap();
    let at = md
        .find("### Trend by region across all waves")
        .unwrap_or_else(|| panic!("{md}"));
    let section = &md[at..];
    // APAC, understands_customers: −4.73 points a year (make_slope_reference.py), flat.
    let row = section
        .lines()
        .find(|l| l.contains("understand"))
        .unwrap_or_else(|| panic!("{section}"));
    assert!(row.contains("| \u{2212}4.7 (flat) |"), "{row}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Trend by region across all waves"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("breakdown.json")).unwrap())
            .unwrap();
    let slopes = json["slopes"].as_array().unwrap();
    assert_eq!(slopes.len(), 8, "{slopes:?}");
    let emea = slopes
        .iter()
        .find(|x| x["segment_value"] == "EMEA" && x["statement"] == "qualifies_leads")
        .unwrap();
    let slope = emea["slope_pp_per_year"].as_f64().unwrap();
    assert!((slope - 16.746400205664536).abs() < 1e-4, "{emea}");
    assert_eq!(emea["segment"], "region");
    assert_eq!(emea["direction"], "flat");
}
