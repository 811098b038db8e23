//! The checks behind the fuzz targets (`fuzz/`, run with `cargo fuzz`), in the library so
//! that the inputs the fuzzers found are replayed by `cargo test` too
//! (`tests/it/fuzz_regressions.rs` over `fuzz/regressions/`). Each function takes arbitrary
//! bytes and panics only when gaptrack breaks a promise: a panic on input, an empty error
//! message, or an accepted input whose result is inconsistent.

use std::sync::OnceLock;

use crate::ingest::read::{self, cells};
use crate::spec::WaveSpec;

/// Any bytes as a wave spec: parsing never panics, and a spec that parses holds the
/// invariants the rest of gaptrack relies on.
pub fn spec(data: &[u8]) {
    let dir = std::path::Path::new("/nonexistent-gaptrack-fuzz");
    match crate::spec::parse("fuzz.toml", dir, data.to_vec()) {
        Err(e) => {
            // Every refusal is a message a person can act on, never an empty one.
            assert!(!e.to_string().trim().is_empty());
        }
        Ok(s) => {
            assert!(crate::spec::valid_wave_id(&s.wave), "{:?}", s.wave);
            assert!(!s.statements.is_empty());
            for st in &s.statements {
                let sc = &st.scale;
                for a in &sc.agree {
                    assert!(
                        *a >= 1 && *a <= sc.points,
                        "agree {a} outside 1..{}",
                        sc.points
                    );
                }
                for m in &sc.missing {
                    assert!(!sc.is_answer(*m), "missing code {m} inside the scale");
                }
            }
        }
    }
}

const MICRODATA: &[&str] = &[
    // SPSS .sav, the columns of tests/data/formats/wave.sav (inputs built from it reach deep into the reader)
    r#"wave = "w"
date = "2020-01-01"
source = "w.sav"
format = "sav"
[respondent]
id = "respondent_id"
group = "function_code"
weight = "weight_final"
segments = ["region"]
[groups]
sales = ["Sales"]
[scale]
points = 5
agree = [4, 5]
missing = [9]
[statements.a]
column = "Q5_1"
[statements.b]
column = "Q5_2"
"#,
    // JSON Lines, the columns of tests/data/formats/wave.jsonl
    r#"wave = "w"
date = "2020-01-01"
source = "w.jsonl"
format = "jsonl"
[respondent]
id = "respondent_id"
group = "function"
weight = "weight_final"
segments = ["region"]
[scale]
points = 5
agree = [4, 5]
missing = [9]
[statements.a]
column = "Q5_1"
[statements.b]
column = "Q5_2"
"#,
    // a Qualtrics export
    r#"wave = "w"
date = "2020-01-01"
source = "w.csv"
format = "qualtrics"
[respondent]
id = "ResponseId"
group = "function"
[scale]
points = 5
agree = [4, 5]
missing = [9]
[statements.a]
column = "Q5_1"
"#,
    // Parquet, the columns of the formats fixture
    r#"wave = "w"
date = "2020-01-01"
source = "w.parquet"
format = "parquet"
[respondent]
id = "respondent_id"
group = "function"
weight = "weight_final"
[scale]
points = 5
agree = [4, 5]
missing = [9]
[statements.a]
column = "Q5_1"
"#,
    // csv, weights, segments, a 7-point statement with its own missing code
    r#"wave = "w"
date = "2020-01-01"
source = "w.csv"
[respondent]
id = "id"
group = "grp"
weight = "wt"
segments = ["region"]
[groups]
sales = ["Sales", "Sales Ops"]
[scale]
points = 5
agree = [4, 5]
missing = [9]
[statements.a]
column = "Q1"
[statements.b]
column = "Q2"
points = 7
agree = [6, 7]
missing = [99]
"#,
    // tsv, no weights
    r#"wave = "w"
date = "2020-01-01"
source = "w.tsv"
[respondent]
id = "id"
group = "grp"
[scale]
points = 5
agree = [4, 5]
[statements.a]
column = "Q1"
"#,
    // semicolons in windows-1252
    r#"wave = "w"
date = "2020-01-01"
source = "w.csv"
delimiter = ";"
encoding = "windows-1252"
[respondent]
id = "id"
group = "grp"
weight = "wt"
[scale]
points = 5
agree = [4, 5]
missing = [9]
[statements.a]
column = "Q1"
"#,
    // utf-16
    r#"wave = "w"
date = "2020-01-01"
source = "w.csv"
encoding = "utf-16"
[respondent]
id = "id"
group = "grp"
[scale]
points = 4
agree = [3, 4]
missing = [8, 9]
[statements.a]
column = "Q1"
"#,
];

const CELLS: &str = r#"wave = "p"
date = "2017-01-01"
source = "p.csv"
format = "cells"
[statements.a]
text = "A statement"
[statements.b]
text = "Another"
"#;

fn specs() -> &'static (Vec<WaveSpec>, WaveSpec) {
    static SPECS: OnceLock<(Vec<WaveSpec>, WaveSpec)> = OnceLock::new();
    SPECS.get_or_init(|| {
        let dir = std::path::Path::new("/nonexistent-gaptrack-fuzz");
        let parse = |t: &str| crate::spec::parse("fuzz.toml", dir, t.as_bytes().to_vec());
        (
            MICRODATA
                .iter()
                .map(|t| parse(t).expect("a fuzz spec"))
                .collect(),
            parse(CELLS).expect("the cells spec"),
        )
    })
}

/// Any bytes as the data file of a wave: the reader never panics, and what it accepts is
/// consistent (every respondent counted once, every cell within its group). The first
/// byte picks one of a few specs (delimiters, encodings, scales, weights, published cells).
pub fn reader(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let (micro, cells_spec) = specs();
    let k = pick as usize % (micro.len() + 1);
    if k == micro.len() {
        if let Ok((cells, _)) = cells::read_from(cells_spec, body, "fuzz.csv") {
            for c in cells {
                assert!(
                    c.pct.is_finite() && (0.0..=100.0).contains(&c.pct),
                    "{}",
                    c.pct
                );
            }
        }
        return;
    }
    let spec = &micro[k];
    let mut rows = 0u64;
    // Accepted rows are also written as a `responses` file (with tiny row groups and
    // pages, so that there are several), which must read back row for row.
    use crate::ingest::longfile::{FileEncoder, Keyer};
    let s = spec.statements.len();
    let segments = spec
        .respondent
        .as_ref()
        .map(|r| r.segments.clone())
        .unwrap_or_default();
    let mut keyer = Keyer::with_group_rows(s, segments.len(), 3 * s);
    let statements = std::sync::Arc::new(spec.statements.iter().map(|x| x.id.clone()).collect());
    let mut enc = FileEncoder::new(statements, &segments).expect("an encoder");
    let mut file = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    let res = read::read_from(spec, body, "fuzz.csv", None, |row| {
        rows += 1;
        assert!(!row.id.is_empty() && !row.group.is_empty());
        assert!(row.weight.is_finite() && row.weight > 0.0);
        ids.push(row.id.to_string());
        if let Some(c) = keyer.push(row) {
            enc.write(&c).expect("a row group");
            file.extend(enc.take_bytes().expect("bytes"));
        }
        Ok(())
    });
    if res.is_ok() {
        enc.write(&keyer.take()).expect("a row group");
        let (rest, _) = enc.finish().expect("a footer");
        file.extend(rest);
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            bytes::Bytes::from(file),
        )
        .expect("a readable file")
        .build()
        .expect("a reader");
        let mut got: Vec<String> = Vec::new();
        for b in reader {
            let b = b.expect("a batch");
            let col = arrow::array::AsArray::as_string::<i32>(b.column(0));
            got.extend(col.iter().map(|v| v.expect("an id").to_string()));
        }
        let want: Vec<String> = ids
            .iter()
            .flat_map(|id| std::iter::repeat_n(id.clone(), s))
            .collect();
        assert_eq!(got, want, "the respondent column read back");
    }
    match res {
        Err(e) => assert!(!e.to_string().trim().is_empty()),
        Ok(s) => {
            assert_eq!(s.respondents, rows);
            assert_eq!(s.per_group.values().sum::<u64>(), rows);
            assert_eq!(s.bytes, body.len() as u64);
            for ((j, g), acc) in &s.cells {
                assert!(*j < spec.statements.len());
                assert!(acc.n as u64 <= s.per_group[g]);
                assert!(acc.sum_wa <= acc.sum_w * (1.0 + 1e-12));
            }
        }
    }
}
