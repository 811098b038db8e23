//! Source formats: the same small wave (tests/data/formats) as CSV, JSON Lines, Parquet,
//! a Qualtrics export and SPSS `.sav` (uncompressed, bytecode-compressed and ZSAV) loads into
//! identical responses and identical `agreement` rows, equal to the values worked out by
//! hand below; and bad input of each new format is refused with its place (exit 3,
//! nothing written).
//!
//! The Parquet file is written here, with the crate's own `parquet` dependency, from the
//! rows of wave.csv (see `write_parquet`); the `.sav` files were written by ReadStat
//! (pyreadstat) with tests/data/formats/make_sav.py.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use crate::support::{snapshot, stderr};
use arrow::array::{
    ArrayRef, DictionaryArray, Float32Array, Float64Array, Int64Array, LargeStringArray,
    RecordBatch, StringArray,
};
use arrow::datatypes::Int32Type;

fn formats_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/formats")
}

fn gaptrack(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gaptrack"))
        .env_remove("GAPTRACK_STORE")
        .env_remove("GAPTRACK_LOG")
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

/// One row of wave.csv: (id, group, weight, region, Q5_1, Q5_2); `None` is empty.
type WaveRow = (String, String, f64, String, i64, Option<f64>);

/// The rows of wave.csv.
fn csv_rows() -> Vec<WaveRow> {
    let text = std::fs::read_to_string(formats_dir().join("wave.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].parse().unwrap(),
                f[3].to_string(),
                f[4].parse().unwrap(),
                (!f[5].is_empty()).then(|| f[5].parse().unwrap()),
            )
        })
        .collect()
}

/// wave.csv as Parquet, with the column types a Parquet producer may choose: a plain
/// string id, a dictionary-encoded group, a float32 weight, a large-string segment, an
/// int64 answer and a float64 answer (4.0 for 4, null for the empty cell).
fn write_parquet(path: &Path, rows: &[WaveRow]) {
    let ids: StringArray = rows.iter().map(|r| Some(r.0.as_str())).collect();
    let groups: DictionaryArray<Int32Type> = rows.iter().map(|r| r.1.as_str()).collect();
    let wts: Float32Array = rows.iter().map(|r| Some(r.2 as f32)).collect();
    let regions: LargeStringArray = rows.iter().map(|r| Some(r.3.as_str())).collect();
    let q1: Int64Array = rows.iter().map(|r| Some(r.4)).collect();
    let q2: Float64Array = rows.iter().map(|r| r.5).collect();
    let batch = RecordBatch::try_from_iter(vec![
        ("resp_id", Arc::new(ids) as ArrayRef),
        ("function", Arc::new(groups) as ArrayRef),
        ("wt", Arc::new(wts) as ArrayRef),
        ("region", Arc::new(regions) as ArrayRef),
        ("Q5_1", Arc::new(q1) as ArrayRef),
        ("Q5_2", Arc::new(q2) as ArrayRef),
    ])
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    // Small row groups and batches: the reader crosses batch boundaries.
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(5))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// A copy of tests/data/formats in a temporary directory, with wave.parquet written.
fn workdir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(formats_dir()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, tmp.path().join(p.file_name().unwrap())).unwrap();
    }
    write_parquet(&tmp.path().join("wave.parquet"), &csv_rows());
    tmp
}

fn query(store: &Path, sql: &str) -> String {
    let o = gaptrack(store, &["query", sql, "--format", "csv"]);
    assert!(o.status.success(), "{sql}: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

const SPECS: &[&str] = &[
    "csv",
    "jsonl",
    "parquet",
    "qualtrics",
    "sav",
    "sav_compressed",
    "sav_zsav",
];

#[test]
fn every_format_loads_the_same_wave() {
    let dir = workdir();
    let mut agreement: Vec<(String, String)> = Vec::new();
    let mut responses: Vec<(String, String)> = Vec::new();
    for name in SPECS {
        let store = dir.path().join(format!("store_{name}"));
        let spec = dir.path().join(format!("{name}.toml"));
        let o = gaptrack(&store, &["ingest", spec.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        agreement.push((
            name.to_string(),
            query(
                &store,
                "SELECT statement, grp, n, round(n_eff, 9) AS n_eff, round(pct, 9) AS pct, \
                 round(se, 9) AS se, round(ci_low, 9) AS ci_low, round(ci_high, 9) AS ci_high \
                 FROM agreement ORDER BY statement, grp",
            ),
        ));
        responses.push((
            name.to_string(),
            query(
                &store,
                "SELECT respondent, grp, weight, region, statement, value, agree \
                 FROM responses ORDER BY respondent, statement",
            ),
        ));
    }
    for (name, a) in &agreement[1..] {
        assert_eq!(a, &agreement[0].1, "agreement of {name} differs from csv");
    }
    for (name, r) in &responses[1..] {
        assert_eq!(r, &responses[0].1, "responses of {name} differ from csv");
    }
    // 12 respondents × 2 statements; r06 has no Q5_2 (value empty, agree empty), the sav
    // group came through its value label ("Marketing") and then [groups].
    let r = &responses[0].1;
    assert_eq!(r.lines().count(), 1 + 24, "{r}");
    assert!(
        r.contains("r06,marketing,1.5,south,shared_goals,,\n"),
        "{r}"
    );
    assert!(
        r.contains("r09,ops,1.0,north,marketing_understands_customers,9,\n"),
        "{r}"
    );

    // By hand (agree = 4 or 5; 9 and empty are missing), pct = 100·Σw·agree/Σw,
    // n_eff = (Σw)²/Σw²:
    // Q5_1 (marketing_understands_customers)
    //   sales:     r01 5 w1, r02 4 w2, r03 2 w1, r04 1 w0.5 -> 100·3/4.5   = 66.666666667
    //              n_eff = 4.5²/(1+4+1+0.25) = 20.25/6.25 = 3.24
    //   marketing: r05 3 w1, r06 5 w1.5, r07 2 w1, r08 4 w2 -> 100·3.5/5.5 = 63.636363636
    //              n_eff = 5.5²/(1+2.25+1+4) = 30.25/8.25 = 3.666666667
    //   ops:       r09 9 (missing), r10 4 w1, r11 5 w0.5, r12 1 w1 -> 100·1.5/2.5 = 60
    //              n_eff = 2.5²/(1+0.25+1) = 6.25/2.25 = 2.777777778
    // Q5_2 (shared_goals)
    //   sales:     r01 4 w1, r02 2 w2, r03 9 (missing), r04 5 w0.5 -> 100·1.5/3.5 = 42.857142857
    //              n_eff = 3.5²/(1+4+0.25) = 12.25/5.25 = 2.333333333
    //   marketing: r05 4 w1, r06 empty, r07 1 w1, r08 5 w2 -> 100·3/4 = 75
    //              n_eff = 4²/(1+1+4) = 16/6 = 2.666666667
    //   ops:       r09 3 w1, r10 4 w1, r11 2 w0.5, r12 5 w1 -> 100·2/3.5 = 57.142857143
    //              n_eff = 3.5²/(1+1+0.25+1) = 12.25/3.25 = 3.769230769
    let expected = [
        (
            "marketing_understands_customers",
            "marketing",
            4,
            3.666666667,
            63.636363636,
        ),
        (
            "marketing_understands_customers",
            "ops",
            3,
            2.777777778,
            60.0,
        ),
        (
            "marketing_understands_customers",
            "sales",
            4,
            3.24,
            66.666666667,
        ),
        ("shared_goals", "marketing", 3, 2.666666667, 75.0),
        ("shared_goals", "ops", 4, 3.769230769, 57.142857143),
        ("shared_goals", "sales", 3, 2.333333333, 42.857142857),
    ];
    let lines: Vec<&str> = agreement[0].1.lines().skip(1).collect();
    assert_eq!(lines.len(), expected.len(), "{}", agreement[0].1);
    for (line, (st, g, n, n_eff, pct)) in lines.iter().zip(expected) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(
            (f[0], f[1], f[2]),
            (st, g, n.to_string().as_str()),
            "{line}"
        );
        let got_neff: f64 = f[3].parse().unwrap();
        let got_pct: f64 = f[4].parse().unwrap();
        assert!((got_neff - n_eff).abs() < 1e-6, "{line}: n_eff {n_eff}");
        assert!((got_pct - pct).abs() < 1e-6, "{line}: pct {pct}");
    }
}

/// A spec of the formats directory with its source (and format) replaced.
fn variant(dir: &Path, base: &str, name: &str, source: &str, data: &[u8]) -> PathBuf {
    let spec = std::fs::read_to_string(dir.join(format!("{base}.toml"))).unwrap();
    let old = spec
        .lines()
        .find(|l| l.starts_with("source"))
        .unwrap()
        .to_string();
    let spec = spec
        .replace(&old, &format!("source = {source:?}"))
        .replace(&format!("wave  = {base:?}"), &format!("wave  = {name:?}"));
    std::fs::write(dir.join(source), data).unwrap();
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, spec).unwrap();
    p
}

#[test]
fn bad_input_of_each_format_names_its_place() {
    let tmp = workdir();
    let dir = tmp.path();
    let jsonl = std::fs::read_to_string(dir.join("wave.jsonl")).unwrap();
    let sav = std::fs::read(dir.join("wave.sav")).unwrap();
    let sav_c = std::fs::read(dir.join("wave_compressed.sav")).unwrap();
    let qualtrics = std::fs::read_to_string(dir.join("wave_qualtrics.csv")).unwrap();
    let mut rows = csv_rows();
    let mut cases: Vec<(PathBuf, Vec<String>)> = Vec::new();
    let mut case = |spec: PathBuf, first: &[&str]| {
        cases.push((spec, first.iter().map(|s| s.to_string()).collect()))
    };
    const SCALE5: &str = "an answer from 1 to 5 (missing codes: 9)";

    // JSON Lines: line 3 (r03) answers 7; r08 (line 9: after the blank line 5) is a list.
    let bad = jsonl.replacen("\"Q5_1\": 2, \"Q5_2\": 9", "\"Q5_1\": 7, \"Q5_2\": 9", 1);
    case(
        variant(dir, "jsonl", "jsonl_answer", "answer.jsonl", bad.as_bytes()),
        &["answer.jsonl line 3, column Q5_1: \"7\" is not ", SCALE5],
    );
    let mut lines: Vec<&str> = jsonl.lines().collect();
    lines[8] = "[\"r08\", \"Marketing\", 2, \"south\", 4, 5]";
    case(
        variant(
            dir,
            "jsonl",
            "jsonl_array",
            "array.jsonl",
            lines.join("\n").as_bytes(),
        ),
        &[
            "array.jsonl line 9: \"[\\\"r08\\\"",
            "is an array, not a JSON object",
        ],
    );
    let bad = jsonl.replacen("{\"resp_id\": \"r04\"", "{\"resp_id\": \"r04\",", 1);
    case(
        variant(dir, "jsonl", "jsonl_syntax", "syntax.jsonl", bad.as_bytes()),
        &[
            "syntax.jsonl line 4: ",
            "is not valid JSON (",
            "at character ",
        ],
    );
    let bad = jsonl.replace("\"wt\": ", "\"weight\": ");
    case(
        variant(dir, "jsonl", "jsonl_no_key", "no_key.jsonl", bad.as_bytes()),
        &["no_key.jsonl: column \"wt\" (weight) is a key on no line of the file; the lines have keys ", "\"weight\""],
    );
    let bad = jsonl.replacen("\"Q5_2\": 4}", "\"Q5_2\": {\"value\": 4}}", 1);
    case(
        variant(dir, "jsonl", "jsonl_object", "object.jsonl", bad.as_bytes()),
        &["object.jsonl line 1, column Q5_2: \"{\\\"value\\\":4}\" is an object, not a value"],
    );

    // Parquet: row 7 (r07) answers 4.5; a file without the weight column.
    rows[6].4 = 3;
    rows[6].5 = Some(4.5);
    write_parquet(&dir.join("fraction.parquet"), &rows);
    case(
        variant(
            dir,
            "parquet",
            "parquet_fraction",
            "fraction.parquet",
            &std::fs::read(dir.join("fraction.parquet")).unwrap(),
        ),
        &[
            "fraction.parquet row 7, column Q5_2: \"4.5\" is not a whole number; expected ",
            SCALE5,
        ],
    );
    let spec = std::fs::read_to_string(dir.join("parquet.toml"))
        .unwrap()
        .replace("weight   = \"wt\"", "weight   = \"weight\"")
        .replace("wave  = \"parquet\"", "wave  = \"parquet_no_column\"");
    std::fs::write(dir.join("parquet_no_column.toml"), spec).unwrap();
    case(
        dir.join("parquet_no_column.toml"),
        &["wave.parquet: column \"weight\" (weight) is not a column of the file; the file has columns \"resp_id\", \"function\", \"wt\""],
    );
    case(
        variant(
            dir,
            "parquet",
            "parquet_not",
            "not.parquet",
            b"resp_id,function\nr1,Sales\n",
        ),
        &["not.parquet: the file is not a readable Parquet file"],
    );

    // Qualtrics: a plain CSV (no question-text and ImportId rows); an answer as choice text.
    case(
        variant(dir, "qualtrics", "qualtrics_plain", "plain.csv", &std::fs::read(dir.join("wave.csv")).unwrap()),
        &["plain.csv line 3, column resp_id: \"r02\" is not a Qualtrics ImportId; a Qualtrics export has three header rows", "format = \"csv\""],
    );
    // r02's Q5_1 is on line 7: the question text of Q5_1 spans lines 2-4.
    let bad = qualtrics.replacen(
        "\"r02\",\"Sales\",\"2.0\",\"south\",\"4\"",
        "\"r02\",\"Sales\",\"2.0\",\"south\",\"Somewhat agree\"",
        1,
    );
    case(
        variant(dir, "qualtrics", "qualtrics_text", "text.csv", bad.as_bytes()),
        &["text.csv line 7, column Q5_1: \"Somewhat agree\" is not a number (a Qualtrics export with choice text?", "Use numeric values"],
    );

    // SPSS: truncated inside the data, inside the dictionary; zsav; not an SPSS file.
    case(
        variant(
            dir,
            "sav",
            "sav_truncated",
            "truncated.sav",
            &sav[..sav.len() - 100],
        ),
        &[
            "truncated.sav row ",
            ": the file is truncated (it ends inside a case)",
        ],
    );
    case(
        variant(
            dir,
            "sav_compressed",
            "sav_c_truncated",
            "truncated_c.sav",
            &sav_c[..sav_c.len() - 60],
        ),
        &["truncated_c.sav row ", "truncated"],
    );
    case(
        variant(
            dir,
            "sav",
            "sav_dict_truncated",
            "dict_truncated.sav",
            &sav[..300],
        ),
        &["dict_truncated.sav: the file is truncated (it ends inside a variable record)"],
    );
    // A ZSAV whose compressed data is cut: the row where it ends, never a panic.
    let zsav = std::fs::read(dir.join("wave.zsav")).unwrap();
    case(
        variant(
            dir,
            "sav_zsav",
            "sav_zsav_truncated",
            "truncated.zsav",
            &zsav[..zsav.len() - 60],
        ),
        &[
            "truncated.zsav row ",
            "truncated (it ends inside compressed block 1)",
        ],
    );
    // A portable file, by its extension: how to convert it without SPSS.
    case(
        variant(dir, "sav", "sav_por", "x.por", b"ASCII SPSS PORT FILE"),
        &[
            "x.por: the file is an SPSS portable file (.por)",
            "haven::write_sav(haven::read_por(\"x.por\"), \"x.sav\")",
            "pyreadstat.read_por",
        ],
    );
    case(
        variant(
            dir,
            "sav",
            "sav_not",
            "not.sav",
            b"respondent_id,function_code\n",
        ),
        &["not.sav: the file is not an SPSS system file (it does not start with $FL2 or $FL3)"],
    );
    let spec = std::fs::read_to_string(dir.join("sav.toml"))
        .unwrap()
        .replace("column = \"Q5_2\"", "column = \"Q5_3\"")
        .replace("wave  = \"sav\"", "wave  = \"sav_no_variable\"");
    std::fs::write(dir.join("sav_no_variable.toml"), spec).unwrap();
    case(
        dir.join("sav_no_variable.toml"),
        &[
            "wave.sav: column \"Q5_3\" (statement shared_goals) is not a variable of the file",
            "\"Q5_2\"",
        ],
    );

    let store = dir.join("store");
    let o = gaptrack(&store, &["ingest", dir.join("csv.toml").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = snapshot(&store);
    let mut failures = Vec::new();
    for (spec, first) in &cases {
        let o = gaptrack(&store, &["ingest", spec.to_str().unwrap()]);
        let err = stderr(&o);
        let line = err.lines().next().unwrap_or("");
        let mut why = Vec::new();
        if o.status.code() != Some(3) {
            why.push(format!("exit {:?}", o.status.code()));
        }
        if err.contains("panicked") {
            why.push("panicked".into());
        }
        for piece in first {
            if !line.contains(piece.as_str()) {
                why.push(format!("missing {piece:?}"));
            }
        }
        if snapshot(&store) != before {
            why.push("the store changed".into());
        }
        if !why.is_empty() {
            failures.push(format!("{}: {}\n  {line}", spec.display(), why.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// JSON Lines in the spec's `encoding` (windows-1252 here) arrive decoded; `null` is an
/// empty cell (a segment without value) and `true` is text.
#[test]
fn jsonl_respects_the_encoding() {
    let tmp = workdir();
    let dir = tmp.path();
    let lines = [
        "{\"resp_id\": \"a1\", \"function\": \"Sales\", \"wt\": 1, \"region\": \"Z\u{fc}rich\", \"Q5_1\": 5, \"Q5_2\": 4}",
        "{\"resp_id\": \"a2\", \"function\": \"Marketing\", \"wt\": 1, \"region\": null, \"Q5_1\": 1, \"Q5_2\": 4}",
        "{\"resp_id\": \"a3\", \"function\": true, \"wt\": 1, \"region\": \"Gen\u{e8}ve\", \"Q5_1\": 4, \"Q5_2\": 4}",
    ];
    let joined = lines.join("\r\n");
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&joined);
    assert!(bytes.contains(&0xFC), "the file is not UTF-8");
    let spec = variant(dir, "jsonl", "jsonl_1252", "latin.jsonl", &bytes);
    let text = std::fs::read_to_string(&spec).unwrap().replace(
        "\n[respondent]",
        "encoding = \"windows-1252\"\n[respondent]",
    );
    std::fs::write(&spec, text).unwrap();
    let store = dir.join("store");
    let o = gaptrack(&store, &["ingest", spec.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = query(
        &store,
        "SELECT respondent, grp, region FROM responses WHERE statement = 'shared_goals' ORDER BY respondent",
    );
    assert_eq!(
        out,
        "respondent,grp,region\na1,sales,Zürich\na2,marketing,\na3,true,Genève\n"
    );
}
