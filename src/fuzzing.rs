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
                    assert!(sc.is_answer(*a), "agree {a} outside {}..{}", sc.min, sc.max);
                }
                for m in &sc.missing {
                    assert!(!sc.is_answer(*m), "missing code {m} is an answer");
                    assert!(
                        *m != sc.min && *m != sc.max,
                        "missing code {m} ends the range"
                    );
                }
            }
        }
    }
}

/// The 5-point scale most fuzz specs use.
const SCALE: &str = "[scale]\npoints = 5\nagree = [4, 5]\nmissing = [9]\n";
/// The statement of column Q5_1 (the formats fixture), and with it that of Q5_2.
const Q5_1: &str = "[statements.a]\ncolumn = \"Q5_1\"\n";
const Q5_2: &str = "[statements.b]\ncolumn = \"Q5_2\"\n";
/// The respondent columns of the formats fixture (tests/data/formats/).
const FORMATS_RESPONDENT: &str =
    "id = \"respondent_id\"\ngroup = \"function\"\nweight = \"weight_final\"\n";
/// The respondent columns of the small csv fixtures.
const CSV_RESPONDENT: &str = "id = \"id\"\ngroup = \"grp\"\n";

/// A fuzz spec of wave `w`: the top-level lines `top` (source, format, ...), the
/// `[respondent]` table (and any table after it), the scale and the statements.
fn wave(top: &str, respondent: &str, scale: &str, statements: &[&str]) -> String {
    format!(
        "wave = \"w\"\ndate = \"2020-01-01\"\n{top}[respondent]\n{respondent}{scale}{}",
        statements.concat()
    )
}

/// The microdata specs the first byte of a `reader` input picks from (their order is that
/// of the inputs in `fuzz/regressions/`).
fn microdata() -> Vec<String> {
    vec![
        // SPSS .sav, the columns of tests/data/formats/wave.sav (inputs built from it reach
        // deep into the reader)
        wave(
            "source = \"w.sav\"\nformat = \"sav\"\n",
            "id = \"respondent_id\"\ngroup = \"function_code\"\nweight = \"weight_final\"\n\
             segments = [\"region\"]\n[groups]\nsales = [\"Sales\"]\n",
            SCALE,
            &[Q5_1, Q5_2],
        ),
        // JSON Lines, the columns of tests/data/formats/wave.jsonl
        wave(
            "source = \"w.jsonl\"\nformat = \"jsonl\"\n",
            &format!("{FORMATS_RESPONDENT}segments = [\"region\"]\n"),
            SCALE,
            &[Q5_1, Q5_2],
        ),
        // a Qualtrics export
        wave(
            "source = \"w.csv\"\nformat = \"qualtrics\"\n",
            "id = \"ResponseId\"\ngroup = \"function\"\n",
            SCALE,
            &[Q5_1],
        ),
        // Parquet, the columns of the formats fixture
        wave(
            "source = \"w.parquet\"\nformat = \"parquet\"\n",
            FORMATS_RESPONDENT,
            SCALE,
            &[Q5_1],
        ),
        // csv, weights, segments, a 7-point statement with its own missing code
        wave(
            "source = \"w.csv\"\n",
            &format!(
                "{CSV_RESPONDENT}weight = \"wt\"\nsegments = [\"region\"]\n\
                 [groups]\nsales = [\"Sales\", \"Sales Ops\"]\n"
            ),
            SCALE,
            &[
                "[statements.a]\ncolumn = \"Q1\"\n",
                "[statements.b]\ncolumn = \"Q2\"\npoints = 7\nagree = [6, 7]\nmissing = [99]\n",
            ],
        ),
        // tsv, no weights
        wave(
            "source = \"w.tsv\"\n",
            CSV_RESPONDENT,
            "[scale]\npoints = 5\nagree = [4, 5]\n",
            &[Q1],
        ),
        // semicolons in windows-1252
        wave(
            "source = \"w.csv\"\ndelimiter = \";\"\nencoding = \"windows-1252\"\n",
            &format!("{CSV_RESPONDENT}weight = \"wt\"\n"),
            SCALE,
            &[Q1],
        ),
        // utf-16
        wave(
            "source = \"w.csv\"\nencoding = \"utf-16\"\n",
            CSV_RESPONDENT,
            "[scale]\npoints = 4\nagree = [3, 4]\nmissing = [8, 9]\n",
            &[Q1],
        ),
    ]
}

/// The statement of column Q1.
const Q1: &str = "[statements.a]\ncolumn = \"Q1\"\n";

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
            microdata()
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
