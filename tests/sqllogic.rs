//! sqllogictest runner for the SQL of `queries/` (the way DataFusion tests its SQL).
//!
//! Each `tests/sql/*.slt` file runs against a fresh store loaded with the fixture waves of
//! `tests/data/fixture/` through gaptrack's own ingest, in a read-only session exactly as
//! `gaptrack query` uses it. Expected results come from `tests/reference/make_reference.py`
//! (computed independently with pandas/statsmodels), see `tests/reference/README.md`.
//!
//! `GAPTRACK_SLT_COMPLETE=1 cargo test --test sqllogic` rewrites the expected output.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;
use gaptrack::sql::{query, Session, Settings};
use gaptrack::store::Store;
use sqllogictest::{DBOutput, DefaultColumnType};

#[derive(Debug)]
struct SqlError(String);
impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SqlError {}

struct Db {
    session: Arc<Session>,
}

fn cell(batch: &RecordBatch, col: usize, row: usize) -> String {
    let a = batch.column(col);
    if a.is_null(row) {
        return "NULL".into();
    }
    let opts = FormatOptions::default();
    let f = ArrayFormatter::try_new(a.as_ref(), &opts).expect("formatter");
    let s = f.value(row).to_string();
    if s.is_empty() {
        "(empty)".into()
    } else {
        s
    }
}

fn column_type(t: &DataType) -> DefaultColumnType {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => DefaultColumnType::Integer,
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) => {
            DefaultColumnType::FloatingPoint
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DefaultColumnType::Text,
        _ => DefaultColumnType::Any,
    }
}

#[async_trait]
impl sqllogictest::AsyncDB for Db {
    type Error = SqlError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let (schema, batches) = query::run(&self.session, sql, &[])
            .await
            .map_err(|e| SqlError(e.to_string()))?;
        let types = schema
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        let mut rows = Vec::new();
        for b in &batches {
            for r in 0..b.num_rows() {
                rows.push((0..b.num_columns()).map(|c| cell(b, c, r)).collect());
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "gaptrack"
    }
}

async fn fixture_session(dir: &Path, settings: Settings) -> Arc<Session> {
    let store = Store::open(dir.to_str().unwrap()).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixture");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    specs.sort();
    let specs = gaptrack::ingest::load_specs(&specs).expect("fixture specs are valid");
    gaptrack::ingest::ingest(&store, specs, false)
        .await
        .expect("fixture ingests");
    Arc::new(
        Session::open(&store, None, settings)
            .await
            .expect("session"),
    )
}

/// Compares results token by token; two numbers match within 1e-9 (relative, or absolute
/// near zero), so expected values can be written with the full precision of the
/// reference implementation.
fn numeric_validator(
    normalizer: sqllogictest::Normalizer,
    actual: &[Vec<String>],
    expected: &[String],
) -> bool {
    let actual: Vec<String> = actual.iter().map(|r| normalizer(&r.join(" "))).collect();
    let expected: Vec<String> = expected.iter().map(normalizer).collect();
    if actual.len() != expected.len() {
        return false;
    }
    actual.iter().zip(&expected).all(|(a, e)| {
        let at: Vec<&str> = a.split_ascii_whitespace().collect();
        let et: Vec<&str> = e.split_ascii_whitespace().collect();
        at.len() == et.len()
            && at.iter().zip(&et).all(|(x, y)| {
                x == y
                    || match (x.parse::<f64>(), y.parse::<f64>()) {
                        (Ok(a), Ok(b)) => (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                        _ => false,
                    }
            })
    })
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let complete = std::env::var("GAPTRACK_SLT_COMPLETE").is_ok_and(|v| v == "1");
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .filter(|p| {
            filter
                .as_ref()
                .is_none_or(|f| p.to_string_lossy().contains(f.as_str()))
        })
        .collect();
    files.sort();
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        let tmp = tempfile::tempdir().unwrap();
        // A file whose name says `linearized` runs with the linearized variance.
        let settings = Settings {
            variance: if file.to_string_lossy().contains("linearized") {
                gaptrack::sql::Variance::Linearized
            } else {
                gaptrack::sql::Variance::Kish
            },
            ..Settings::default()
        };
        let session = rt.block_on(fixture_session(tmp.path(), settings));
        let mut runner = sqllogictest::Runner::new(move || {
            let session = session.clone();
            async move { Ok::<_, SqlError>(Db { session }) }
        });
        runner.with_validator(numeric_validator);
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let res = if complete {
            rt.block_on(runner.update_test_file(
                &file,
                " ",
                numeric_validator,
                sqllogictest::default_normalizer,
                sqllogictest::default_column_validator,
            ))
            .map_err(|e| e.to_string())
        } else {
            rt.block_on(runner.run_file_async(&file))
                .map_err(|e| e.display(true).to_string())
        };
        match res {
            Ok(()) => {
                println!("test sql/{name} ... ok");
                passed += 1;
            }
            Err(e) => {
                println!("test sql/{name} ... FAILED\n{e}");
                failed += 1;
            }
        }
    }
    println!("\nsqllogictest: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
