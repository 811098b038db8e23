//! Loading waves: validate every spec and source first (nothing is written if any is
//! invalid), then for each changed wave append its rows under a fresh load id, commit the
//! catalog (the one atomic switch that makes the wave visible), and drop the rows of the
//! load it replaced.

pub mod cells;
pub mod decode;
pub mod microdata;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, MapBuilder, MapFieldNames, RecordBatch,
    StringBuilder,
};
use arrow::datatypes::SchemaRef;
use deltalake::datafusion::prelude::{col, lit};
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::Action;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::DeltaTable;
use indexmap::IndexMap;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use sha2::Digest;
use tracing::{info, warn};

use crate::catalog;
use crate::error::{Error, InputError, Invalid, Result};
use crate::spec::{Format, Source, WaveSpec};
use crate::store::{Store, CELLSTATS, RESPONSES, STATEMENTS};
use crate::tables::{self, CatalogEntry, CellStat, StatementRow, PARTITIONS};

/// Long rows per record batch handed to the Parquet writer.
const BATCH_ROWS: usize = 65_536;

/// What happened to one wave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Validated only (`--dry-run`).
    Valid,
    /// Byte-identical spec and source are already loaded: nothing written.
    Unchanged,
    /// A new wave.
    Loaded,
    /// A wave that existed was replaced.
    Replaced,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Unchanged => "unchanged",
            Status::Loaded => "loaded",
            Status::Replaced => "replaced",
        }
    }
}

/// The outcome of one wave.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub wave: String,
    pub spec: String,
    pub status: Status,
    pub kind: &'static str,
    pub respondents: Option<u64>,
    /// Long rows (respondent × statement) or published cells.
    pub rows: u64,
    pub per_group: BTreeMap<String, u64>,
    /// Missing answers per statement id.
    pub missing: Vec<(String, u64)>,
    pub seconds: f64,
}

/// A spec whose source is readable locally (a store URL source is fetched to a temp file).
struct Resolved {
    spec: WaveSpec,
    path: PathBuf,
    shown: String,
    spec_sha256: String,
    source_sha256: String,
    _tmp: Option<tempfile::TempPath>,
}

/// The data of one validated wave.
enum Validated {
    Microdata(Box<microdata::Summary>),
    Cells(Vec<cells::PublishedCell>),
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

async fn resolve(spec: WaveSpec) -> Result<Resolved> {
    let source_line = spec.source_line;
    resolve_source(spec).await.map_err(|e| match e {
        // Problems reported against the spec's `source` key get the key's line.
        Error::Invalid(mut i) => {
            for err in &mut i.errors {
                if err.column.as_deref() == Some("source") && err.line.is_none() {
                    err.line = source_line;
                }
            }
            Error::Invalid(i)
        }
        other => other,
    })
}

async fn resolve_source(spec: WaveSpec) -> Result<Resolved> {
    let spec_sha256 = sha256_hex(&spec.spec_bytes);
    let (path, shown, tmp) = match &spec.source {
        Source::Path(p) => (p.clone(), p.display().to_string(), None),
        Source::Url(u) => {
            let (dir, name) = match u.rsplit_once('/') {
                Some((d, n)) if !n.is_empty() => (d.to_string(), n.to_string()),
                _ => {
                    return Err(Error::input(
                        InputError::new(&spec.spec_path, format!("{u:?} does not name a file"))
                            .column("source"),
                    ))
                }
            };
            let store = Store::open(&dir).map_err(|e| match e {
                Error::Invalid(mut i) => {
                    for err in &mut i.errors {
                        err.file = spec.spec_path.clone();
                        err.column = Some("source".into());
                    }
                    Error::Invalid(i)
                }
                other => other,
            })?;
            let bytes = store.get(&name).await?.ok_or_else(|| {
                Error::input(
                    InputError::new(&spec.spec_path, format!("source {u:?} does not exist"))
                        .column("source"),
                )
            })?;
            let mut tmp = tempfile::NamedTempFile::new()
                .map_err(|e| Error::io("creating a temporary file", e))?;
            std::io::Write::write_all(&mut tmp, &bytes)
                .map_err(|e| Error::io("writing a temporary file", e))?;
            let tp = tmp.into_temp_path();
            (tp.to_path_buf(), u.clone(), Some(tp))
        }
    };
    let meta = std::fs::metadata(&path);
    match meta {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(Error::input(
                InputError::new(&spec.spec_path, format!("source {shown:?} is not a file"))
                    .column("source"),
            ))
        }
        Err(e) => {
            return Err(Error::input(
                InputError::new(
                    &spec.spec_path,
                    format!(
                        "source {shown:?} cannot be read: {}",
                        crate::spec::io_reason(&e)
                    ),
                )
                .column("source"),
            ))
        }
    }
    let p2 = path.clone();
    let (source_sha256, _) = tokio::task::spawn_blocking(move || microdata::sha256_file(&p2))
        .await
        .map_err(|e| Error::Other(e.to_string()))?
        .map_err(|e| {
            Error::input(InputError::new(
                &shown,
                format!("cannot read the source: {}", crate::spec::io_reason(&e)),
            ))
        })?;
    Ok(Resolved {
        spec,
        path,
        shown,
        spec_sha256,
        source_sha256,
        _tmp: tmp,
    })
}

async fn validate(r: &Resolved) -> Result<Validated> {
    let spec = r.spec.clone();
    let path = r.path.clone();
    let shown = r.shown.clone();
    tokio::task::spawn_blocking(move || match spec.format {
        Format::Csv | Format::Tsv => microdata::read(&spec, &path, &shown, |_| Ok(()))
            .map(|s| Validated::Microdata(Box::new(s))),
        Format::Cells => cells::read(&spec, &path, &shown).map(|(c, _)| Validated::Cells(c)),
        Format::Jsonl | Format::Parquet => Err(Error::input(
            InputError::new(
                &spec.spec_path,
                format!(
                    "format {:?} is not supported by this version (csv, tsv, cells)",
                    spec.format.name()
                ),
            )
            .column("format"),
        )),
    })
    .await
    .map_err(|e| Error::Other(format!("validation task failed: {e}")))?
}

/// Parses every spec file; all problems of all specs are reported together.
pub fn load_specs(paths: &[PathBuf]) -> Result<Vec<WaveSpec>> {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    let mut total = 0;
    let mut seen: HashMap<String, String> = HashMap::new();
    for p in paths {
        match crate::spec::load(p) {
            Ok(s) => {
                if let Some(prev) = seen.insert(s.wave.clone(), s.spec_path.clone()) {
                    total += 1;
                    let mut e = InputError::new(
                        &s.spec_path,
                        format!("wave {:?} is also defined by {prev}; a wave id may appear once per command", s.wave),
                    )
                    .column("wave");
                    e.line = s.wave_line;
                    errors.push(e);
                }
                specs.push(s);
            }
            Err(Error::Invalid(i)) => {
                total += i.total;
                errors.extend(i.errors);
            }
            Err(e) => return Err(e),
        }
    }
    if total > 0 {
        return Err(Error::Invalid(Invalid { errors, total }));
    }
    Ok(specs)
}

/// Validates and loads waves. With `dry_run` only validates (and still reports which
/// waves are unchanged). Any invalid wave: nothing is written, every problem is returned.
pub async fn ingest(store: &Store, specs: Vec<WaveSpec>, dry_run: bool) -> Result<Vec<Outcome>> {
    let cat = catalog::current(store).await?;
    let loaded: HashMap<&str, &CatalogEntry> =
        cat.entries.iter().map(|e| (e.wave.as_str(), e)).collect();

    // 1. Resolve and validate everything; collect all problems.
    let mut work: Vec<(Resolved, Option<Validated>, f64)> = Vec::new();
    let mut errors = Vec::new();
    let mut total = 0;
    for spec in specs {
        let t0 = Instant::now();
        let r = match resolve(spec).await {
            Ok(r) => r,
            Err(Error::Invalid(i)) => {
                total += i.total;
                errors.extend(i.errors);
                continue;
            }
            Err(e) => return Err(e),
        };
        let unchanged = loaded
            .get(r.spec.wave.as_str())
            .is_some_and(|e| e.spec_sha256 == r.spec_sha256 && e.source_sha256 == r.source_sha256);
        if unchanged {
            work.push((r, None, t0.elapsed().as_secs_f64()));
            continue;
        }
        match validate(&r).await {
            Ok(v) => work.push((r, Some(v), t0.elapsed().as_secs_f64())),
            Err(Error::Invalid(i)) => {
                total += i.total;
                errors.extend(i.errors);
            }
            Err(e) => return Err(e),
        }
    }
    if total > 0 {
        return Err(Error::Invalid(Invalid { errors, total }));
    }

    // 2. Load the changed waves, one catalog commit each.
    let mut outcomes = Vec::new();
    for (r, v, secs) in work {
        let t0 = Instant::now();
        let Some(v) = v else {
            info!(event = "unchanged", wave = %r.spec.wave, "wave {} is unchanged", r.spec.wave);
            let e = loaded[r.spec.wave.as_str()];
            outcomes.push(Outcome {
                wave: r.spec.wave.clone(),
                spec: r.spec.spec_path.clone(),
                status: Status::Unchanged,
                kind: if e.kind == "cells" {
                    "cells"
                } else {
                    "microdata"
                },
                respondents: e.respondents.map(|n| n as u64),
                rows: 0,
                per_group: BTreeMap::new(),
                missing: vec![],
                seconds: secs,
            });
            continue;
        };
        let mut out = summarize(&r, &v);
        if dry_run {
            out.status = Status::Valid;
            out.seconds = secs;
            outcomes.push(out);
            continue;
        }
        let previous = loaded.get(r.spec.wave.as_str()).map(|e| e.load_id.clone());
        let rows = write_wave(store, &r, v, previous.as_deref()).await?;
        out.rows = rows;
        out.status = if previous.is_some() {
            Status::Replaced
        } else {
            Status::Loaded
        };
        out.seconds = secs + t0.elapsed().as_secs_f64();
        info!(
            event = out.status.as_str(),
            wave = %out.wave,
            rows = out.rows,
            duration = out.seconds,
            "wave {} {} ({} rows)",
            out.wave,
            out.status.as_str(),
            out.rows
        );
        outcomes.push(out);
    }
    Ok(outcomes)
}

fn summarize(r: &Resolved, v: &Validated) -> Outcome {
    match v {
        Validated::Microdata(s) => Outcome {
            wave: r.spec.wave.clone(),
            spec: r.spec.spec_path.clone(),
            status: Status::Valid,
            kind: "microdata",
            respondents: Some(s.respondents),
            rows: s.respondents * r.spec.statements.len() as u64,
            per_group: s.per_group.clone(),
            missing: r
                .spec
                .statements
                .iter()
                .zip(&s.missing)
                .map(|(st, m)| (st.id.clone(), *m))
                .collect(),
            seconds: 0.0,
        },
        Validated::Cells(c) => Outcome {
            wave: r.spec.wave.clone(),
            spec: r.spec.spec_path.clone(),
            status: Status::Valid,
            kind: "cells",
            respondents: None,
            rows: c.len() as u64,
            per_group: BTreeMap::new(),
            missing: vec![],
            seconds: 0.0,
        },
    }
}

fn new_load_id(wave: &str) -> String {
    let now = chrono::Utc::now();
    let mut h = sha2::Sha256::new();
    h.update(wave.as_bytes());
    h.update(now.timestamp_nanos_opt().unwrap_or(0).to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    let rand = hex::encode(&h.finalize()[..6]);
    format!("{}-{rand}", now.format("%Y%m%dT%H%M%S"))
}

/// Writer settings of the data files, chosen by measurement (see BENCHMARKS.md).
pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("zstd level"),
        ))
        .set_dictionary_enabled(true)
        .set_data_page_row_count_limit(20_000)
        .set_max_row_group_row_count(Some(1 << 20))
        .build()
}

/// Writes one wave's data, commits the catalog, cleans up the replaced load. Returns the
/// number of rows written.
async fn write_wave(
    store: &Store,
    r: &Resolved,
    v: Validated,
    previous: Option<&str>,
) -> Result<u64> {
    let spec = &r.spec;
    let load_id = new_load_id(&spec.wave);
    let mut versions: HashMap<String, i64> = HashMap::new();
    let mut cell_rows: Vec<CellStat> = Vec::new();
    let (kind, respondents, rows) = match v {
        Validated::Microdata(summary) => {
            let (version, rows) = write_responses(store, r, &load_id).await?;
            versions.insert(RESPONSES.into(), version);
            for ((k, g), acc) in &summary.cells {
                cell_rows.push(CellStat {
                    statement: spec.statements[*k].id.clone(),
                    grp: g.clone(),
                    n: Some(acc.n),
                    sum_w: Some(acc.sum_w),
                    sum_wa: Some(acc.sum_wa),
                    sum_w2: Some(acc.sum_w2),
                    sum_w2a: Some(acc.sum_w2a),
                    pct: 100.0 * acc.sum_wa / acc.sum_w,
                });
            }
            ("microdata", Some(summary.respondents as i64), rows)
        }
        Validated::Cells(cells) => {
            for c in &cells {
                let n = c.n.map(|n| n as f64);
                let p = c.pct / 100.0;
                cell_rows.push(CellStat {
                    statement: c.statement.clone(),
                    grp: c.group.clone(),
                    n: c.n,
                    sum_w: n,
                    sum_wa: n.map(|n| n * p),
                    sum_w2: n,
                    sum_w2a: n.map(|n| n * p),
                    pct: c.pct,
                });
            }
            ("cells", None, cells.len() as u64)
        }
    };
    cell_rows.sort_by(|a, b| (&a.statement, &a.grp).cmp(&(&b.statement, &b.grp)));
    let batch = tables::cellstats_batch(&spec.wave, &load_id, &cell_rows)?;
    versions.insert(
        CELLSTATS.into(),
        append_small(store, CELLSTATS, batch).await?,
    );

    let stmt_rows: Vec<StatementRow> = spec
        .statements
        .iter()
        .map(|s| StatementRow {
            statement: s.id.clone(),
            text: s.text.clone(),
            series_break: s.series_break,
            column: s.column.clone(),
            points: (s.scale.points > 0).then_some(s.scale.points as i32),
            agree_codes: (!s.scale.agree.is_empty()).then(|| {
                s.scale
                    .agree
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            missing_codes: (s.scale.points > 0).then(|| {
                s.scale
                    .missing
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }),
        })
        .collect();
    let batch = tables::statements_batch(&spec.wave, &load_id, &stmt_rows)?;
    versions.insert(
        STATEMENTS.into(),
        append_small(store, STATEMENTS, batch).await?,
    );

    let entry = CatalogEntry {
        wave: spec.wave.clone(),
        load_id: load_id.clone(),
        date: spec.date,
        title: spec.title.clone(),
        kind: kind.into(),
        respondents,
        source: spec.source_text.clone(),
        source_sha256: r.source_sha256.clone(),
        spec: spec.spec_path.clone(),
        spec_sha256: r.spec_sha256.clone(),
        loaded_at: chrono::Utc::now().timestamp_micros(),
        segments: spec
            .respondent
            .as_ref()
            .map(|x| x.segments.clone())
            .unwrap_or_default(),
    };
    let op = if previous.is_some() {
        "replaced"
    } else {
        "loaded"
    };
    catalog::commit_entry(store, &entry, op, &versions).await?;
    if let Some(old) = previous {
        cleanup_load(store, &spec.wave, old).await;
    }
    Ok(rows)
}

/// Deletes the rows of a load that is no longer in the catalog. Failures are logged, not
/// fatal: the rows are invisible to readers and `vacuum` removes them later.
pub async fn cleanup_load(store: &Store, wave: &str, load_id: &str) {
    for name in crate::store::DATA_TABLES {
        let res = async {
            let Some(t) = store.load(name, None).await? else {
                return Ok::<(), Error>(());
            };
            t.delete()
                .with_predicate(
                    col("wave")
                        .eq(lit(wave))
                        .and(col("load_id").eq(lit(load_id))),
                )
                .await
                .map_err(|e| Error::delta(format!("cleaning up {name}"), e))?;
            Ok(())
        }
        .await;
        if let Err(e) = res {
            warn!(event = "cleanup_failed", wave, table = name, "could not remove the replaced rows of {wave} from {name}: {e} (run `gaptrack vacuum`)");
        }
    }
}

/// Appends a small batch to a data table, creating the table if needed. Returns the new
/// table version.
async fn append_small(store: &Store, name: &str, batch: RecordBatch) -> Result<i64> {
    let table = match store.load(name, None).await? {
        Some(t) => t,
        None => store.table_handle(name)?,
    };
    let t = table
        .write(vec![batch])
        .with_save_mode(SaveMode::Append)
        .with_partition_columns(PARTITIONS)
        .with_writer_properties(writer_properties())
        .await
        .map_err(|e| Error::delta(format!("writing {name}"), e))?;
    Ok(t.version().unwrap_or(0) as i64)
}

async fn responses_table(store: &Store) -> Result<DeltaTable> {
    if let Some(t) = store.load(RESPONSES, None).await? {
        return Ok(t);
    }
    let handle = store.table_handle(RESPONSES)?;
    match handle
        .create()
        .with_columns(tables::responses_columns())
        .with_partition_columns(PARTITIONS)
        .with_save_mode(SaveMode::Ignore)
        .with_comment("gaptrack long microdata: wave × respondent × statement")
        .await
    {
        Ok(t) => Ok(t),
        Err(e) => {
            // Another writer created it at the same moment.
            match store.load(RESPONSES, None).await? {
                Some(t) => Ok(t),
                None => Err(Error::delta("creating the responses table", e)),
            }
        }
    }
}

/// Builds long `responses` batches (without partition columns).
struct LongBuilder {
    schema: SchemaRef,
    statements: Vec<String>,
    segment_names: Vec<String>,
    respondent: StringBuilder,
    grp: StringBuilder,
    weight: Float64Builder,
    statement: StringBuilder,
    value: Int32Builder,
    agree: BooleanBuilder,
    segments: MapBuilder<StringBuilder, StringBuilder>,
    rows: usize,
}

impl LongBuilder {
    fn new(schema: SchemaRef, statements: Vec<String>, segment_names: Vec<String>) -> Self {
        let names = MapFieldNames {
            entry: "key_value".into(),
            key: "key".into(),
            value: "value".into(),
        };
        LongBuilder {
            schema,
            statements,
            segment_names,
            respondent: StringBuilder::new(),
            grp: StringBuilder::new(),
            weight: Float64Builder::new(),
            statement: StringBuilder::new(),
            value: Int32Builder::new(),
            agree: BooleanBuilder::new(),
            segments: MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new()),
            rows: 0,
        }
    }

    fn push(&mut self, row: &microdata::Row) -> Result<()> {
        for (k, st) in self.statements.iter().enumerate() {
            self.respondent.append_value(row.id);
            self.grp.append_value(row.group);
            self.weight.append_value(row.weight);
            self.statement.append_value(st);
            self.value.append_option(row.values[k]);
            self.agree.append_option(row.agree[k]);
            for (name, v) in self.segment_names.iter().zip(row.segments) {
                self.segments.keys().append_value(name);
                self.segments.values().append_option(v.as_deref());
            }
            self.segments.append(true)?;
        }
        self.rows += self.statements.len();
        Ok(())
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let seg: ArrayRef = Arc::new(self.segments.finish());
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(self.respondent.finish()),
            Arc::new(self.grp.finish()),
            Arc::new(self.weight.finish()),
            Arc::new(self.statement.finish()),
            Arc::new(self.value.finish()),
            Arc::new(self.agree.finish()),
            seg,
        ];
        // Conform to the table's arrow types (field names and nullability of the map).
        for (i, f) in self.schema.fields().iter().enumerate() {
            if cols[i].data_type() != f.data_type() {
                cols[i] = arrow::compute::cast(&cols[i], f.data_type())?;
            }
        }
        self.rows = 0;
        Ok(RecordBatch::try_new(self.schema.clone(), cols)?)
    }
}

/// Streams the wave's long rows into Parquet files of the `responses` table and commits
/// them as one append. Returns (table version, rows).
async fn write_responses(store: &Store, r: &Resolved, load_id: &str) -> Result<(i64, u64)> {
    let table = responses_table(store).await?;
    let mut writer = RecordBatchWriter::for_table(&table)
        .map_err(|e| Error::delta("opening the responses writer", e))?
        .with_writer_properties(writer_properties());
    let full = writer.arrow_schema();
    let file_fields: Vec<_> = full
        .fields()
        .iter()
        .filter(|f| !PARTITIONS.contains(&f.name().as_str()))
        .cloned()
        .collect();
    let file_schema: SchemaRef = Arc::new(arrow::datatypes::Schema::new(file_fields));
    let mut pv: IndexMap<String, delta_kernel::expressions::Scalar> = IndexMap::new();
    pv.insert(
        "wave".into(),
        delta_kernel::expressions::Scalar::String(r.spec.wave.clone()),
    );
    pv.insert(
        "load_id".into(),
        delta_kernel::expressions::Scalar::String(load_id.to_string()),
    );

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(4);
    let spec = r.spec.clone();
    let path = r.path.clone();
    let shown = r.shown.clone();
    let expected_sha = r.source_sha256.clone();
    let statements: Vec<String> = spec.statements.iter().map(|s| s.id.clone()).collect();
    let segs = spec
        .respondent
        .as_ref()
        .map(|x| x.segments.clone())
        .unwrap_or_default();
    let reader = tokio::task::spawn_blocking(move || -> Result<()> {
        let mut b = LongBuilder::new(file_schema, statements, segs);
        let tx2 = tx.clone();
        let res = microdata::read(&spec, &path, &shown, |row| {
            b.push(row)?;
            if b.rows >= BATCH_ROWS {
                let batch = b.finish()?;
                tx2.blocking_send(Ok(batch))
                    .map_err(|_| Error::Other("the writer stopped".into()))?;
            }
            Ok(())
        });
        match res {
            Ok(summary) => {
                if summary.source_sha256 != expected_sha {
                    let _ = tx.blocking_send(Err(Error::input(InputError::new(
                        &shown,
                        "the source changed while it was being loaded; run the command again",
                    ))));
                    return Ok(());
                }
                if b.rows > 0 {
                    let batch = b.finish()?;
                    let _ = tx.blocking_send(Ok(batch));
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
            }
        }
        Ok(())
    });
    let mut rows = 0u64;
    while let Some(batch) = rx.recv().await {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer
            .write_partition(batch, &pv, deltalake::writer::WriteMode::Default)
            .await
            .map_err(|e| Error::delta("writing responses", e))?;
    }
    reader
        .await
        .map_err(|e| Error::Other(format!("reader task failed: {e}")))??;
    let adds = writer
        .flush()
        .await
        .map_err(|e| Error::delta("writing responses", e))?;
    let actions: Vec<Action> = adds.into_iter().map(Action::Add).collect();
    let snapshot = table
        .snapshot()
        .map_err(|e| Error::delta("reading the responses table", e))?;
    let done = CommitBuilder::from(CommitProperties::default())
        .with_actions(actions)
        .build(
            Some(snapshot),
            table.log_store(),
            DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: Some(PARTITIONS.iter().map(|s| s.to_string()).collect()),
                predicate: None,
            },
        )
        .await
        .map_err(|e| Error::delta("committing responses", e.into()))?;
    Ok((done.version() as i64, rows))
}

/// Removes a wave: one catalog commit, then its rows are dropped.
pub async fn remove(store: &Store, wave: &str) -> Result<()> {
    let cat = catalog::current(store).await?;
    let Some(entry) = cat.entries.iter().find(|e| e.wave == wave) else {
        let ids: Vec<&str> = cat.entries.iter().map(|e| e.wave.as_str()).collect();
        return Err(Error::input(InputError::new(
            &store.display,
            format!(
                "wave {wave:?} is not loaded (loaded waves: {})",
                if ids.is_empty() {
                    "none".to_string()
                } else {
                    ids.join(", ")
                }
            ),
        )));
    };
    catalog::remove_entry(store, wave).await?;
    info!(event = "removed", wave, "wave {wave} removed");
    cleanup_load(store, wave, &entry.load_id).await;
    Ok(())
}
