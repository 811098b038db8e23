//! Loading waves: every spec and source is validated before anything is committed.
//! A microdata wave without rim weighting is validated and written in one pass: its
//! `responses` files are staged under a fresh load id (no commit names them) and removed
//! again if any wave of the command is invalid. Then, wave by wave, the staged files are
//! committed as one append, the small tables are written, and the catalog commit (the
//! one atomic switch that makes the wave visible) is made; the rows of the load it
//! replaced are dropped.

pub mod lease;
pub mod longfile;
pub mod read;
pub mod weights;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use deltalake::datafusion::prelude::{col, lit};
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::Action;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::DeltaTable;
use indexmap::IndexMap;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use sha2::Digest;
use tracing::{info, warn};

use crate::catalog;
use crate::diag::io_reason;
use crate::error::{Error, InputError, Invalid, Result};
use crate::spec::{Format, Source, WaveSpec};
use crate::store::{Store, CELLSTATS, RESPONSES, SEGSTATS, STATEMENTS, WEIGHTING};
use crate::tables::{self, CatalogEntry, CellStat, SegStat, StatementRow, PARTITIONS};

/// Whether to draw a progress bar on stderr (set by the CLI for text output on a TTY).
pub static PROGRESS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

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
    /// What rim weighting achieved (waves with `[weighting]`).
    pub weighting: Option<crate::stats::rake::Report>,
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
    /// The summary of the validation pass and, for a wave with `[weighting]`, the final
    /// weight of each respondent by its position.
    Microdata(Box<read::Summary>, Option<Box<crate::stats::rake::Raked>>),
    Cells(Vec<read::cells::PublishedCell>),
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
                    format!("source {shown:?} cannot be read: {}", io_reason(&e)),
                )
                .column("source"),
            ))
        }
    }
    let p2 = path.clone();
    let (source_sha256, _) = tokio::task::spawn_blocking(move || read::sha256_file(&p2))
        .await
        .map_err(|e| Error::Other(e.to_string()))?
        .map_err(|e| {
            Error::input(InputError::new(
                &shown,
                format!("cannot read the source: {}", io_reason(&e)),
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
        Format::Cells => read::cells::read(&spec, &path, &shown).map(|(c, _)| Validated::Cells(c)),
        // Every microdata format: rim weighting, where the spec asks for it, collects
        // what it needs in the same pass.
        _ => {
            let mut rim = weights::Collector::new(&spec, &shown);
            let read = read::read(&spec, &path, &shown, None, |row| {
                if let Some(c) = rim.as_mut() {
                    c.add(row);
                }
                Ok(())
            });
            match (read, rim) {
                (Ok(s), None) => Ok(Validated::Microdata(Box::new(s), None)),
                (Ok(s), Some(c)) => {
                    let raked = c.finish(&spec)?;
                    Ok(Validated::Microdata(Box::new(s), Some(Box::new(raked))))
                }
                (Err(Error::Invalid(i)), Some(c)) => Err(Error::Invalid(c.before(i))),
                (Err(e), _) => Err(e),
            }
        }
    })
    .await
    .map_err(|e| Error::Other(format!("validation task failed: {e}")))?
}

/// Parses every spec file; all problems of all specs are reported together.
pub fn load_specs(paths: &[PathBuf]) -> Result<Vec<WaveSpec>> {
    let (specs, invalid) = load_specs_lenient(paths)?;
    match invalid {
        Some(i) => Err(Error::Invalid(i)),
        None => Ok(specs),
    }
}

/// Parses every spec; returns the valid ones and the problems of the others, so that a
/// command can validate the data of the valid waves too and name every problem at once.
pub fn load_specs_lenient(paths: &[PathBuf]) -> Result<(Vec<WaveSpec>, Option<Invalid>)> {
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
    let invalid = (total > 0).then_some(Invalid { errors, total });
    Ok((specs, invalid))
}

/// Loads the specs at `paths` and ingests them: every spec and every wave's data is
/// validated before anything is written, and all problems are reported together.
pub async fn ingest_paths(store: &Store, paths: &[PathBuf], dry_run: bool) -> Result<Vec<Outcome>> {
    let (specs, invalid) = load_specs_lenient(paths)?;
    ingest_checked(store, specs, invalid, dry_run).await
}

/// Validates and loads waves. With `dry_run` only validates (and still reports which
/// waves are unchanged). Any invalid wave: nothing is written, every problem is returned.
pub async fn ingest(store: &Store, specs: Vec<WaveSpec>, dry_run: bool) -> Result<Vec<Outcome>> {
    ingest_checked(store, specs, None, dry_run).await
}

/// [`ingest`], with the problems already found in other specs of the same command.
pub async fn ingest_checked(
    store: &Store,
    specs: Vec<WaveSpec>,
    spec_problems: Option<Invalid>,
    dry_run: bool,
) -> Result<Vec<Outcome>> {
    let cat = catalog::current(store).await?;
    let loaded: HashMap<&str, &CatalogEntry> =
        cat.entries.iter().map(|e| (e.wave.as_str(), e)).collect();

    // 1. Resolve and validate everything; collect all problems. A microdata wave
    //    without rim weighting is validated and written in one pass: its files are
    //    staged (not committed) and removed again if any wave turns out invalid.
    let mut work: Vec<(Resolved, Option<Validated>, Option<Staged>, f64)> = Vec::new();
    let (mut errors, mut total) = match spec_problems {
        Some(i) => (i.errors, i.total),
        None => (Vec::new(), 0),
    };
    let outcome: Result<()> = async {
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
            let unchanged = loaded.get(r.spec.wave.as_str()).is_some_and(|e| {
                e.spec_sha256 == r.spec_sha256 && e.source_sha256 == r.source_sha256
            });
            if unchanged {
                work.push((r, None, None, t0.elapsed().as_secs_f64()));
                continue;
            }
            let one_pass = !dry_run
                && total == 0
                && r.spec.format != Format::Cells
                && r.spec.weighting.is_none();
            let replaces = loaded.get(r.spec.wave.as_str()).map(|e| e.load_id.clone());
            let prepared = if one_pass {
                stage_responses(store, &r, None, replaces.as_deref())
                    .await
                    .map(|(staged, s)| (Validated::Microdata(Box::new(s), None), Some(staged)))
            } else {
                validate(&r).await.map(|v| (v, None))
            };
            match prepared {
                Ok((v, staged)) => work.push((r, Some(v), staged, t0.elapsed().as_secs_f64())),
                Err(Error::Invalid(i)) => {
                    // No event here: the error lines, printed first, name the file and place.
                    total += i.total;
                    errors.extend(i.errors);
                }
                Err(e) => return Err(e),
            }
        }
        if total > 0 {
            return Err(Error::Invalid(Invalid {
                errors: std::mem::take(&mut errors),
                total,
            }));
        }
        // Rim-weighted waves are written in a second pass, with their final weights.
        if !dry_run {
            for (r, v, staged, secs) in work.iter_mut() {
                if let Some(Validated::Microdata(_, Some(raked))) = v {
                    let t0 = Instant::now();
                    let replaces = loaded.get(r.spec.wave.as_str()).map(|e| e.load_id.clone());
                    let (s, _) =
                        stage_responses(store, r, Some(raked.weights.clone()), replaces.as_deref())
                            .await?;
                    *staged = Some(s);
                    *secs += t0.elapsed().as_secs_f64();
                }
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = outcome {
        discard_all(store, &mut work).await;
        return Err(e);
    }
    // Logged only once every wave passed, so that on failure the errors come first.
    for (r, v, _, secs) in &work {
        if v.is_some() {
            info!(event = "validate", outcome = "valid", wave = %r.spec.wave, duration = secs, "wave {} is valid", r.spec.wave);
        }
    }

    // 2. Commit the changed waves, one catalog commit each.
    let mut outcomes = Vec::new();
    while !work.is_empty() {
        let (r, v, staged, secs) = work.remove(0);
        let t0 = Instant::now();
        let Some(v) = v else {
            info!(event = "ingest", outcome = "unchanged", wave = %r.spec.wave, rows = 0u64, duration = secs, "wave {} is unchanged", r.spec.wave);
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
                weighting: None,
            });
            continue;
        };
        let mut out = summarize(&r, &v);
        if let Some(w) = &out.weighting {
            info!(event = "weighting", wave = %out.wave, respondents = w.respondents, n_eff = w.n_eff, weighting_efficiency = w.efficiency, weighting_iterations = w.iterations, weighting_max_residual = w.max_residual, "wave {}: rim weights n_eff {:.1} of {} (efficiency {:.1} %)", out.wave, w.n_eff, w.respondents, 100.0 * w.efficiency);
        }
        if dry_run {
            out.status = Status::Valid;
            out.seconds = secs;
            outcomes.push(out);
            continue;
        }
        let previous = loaded.get(r.spec.wave.as_str()).map(|e| e.load_id.clone());
        let rows = match write_wave(store, &r, v, staged, previous.as_deref()).await {
            Ok(rows) => rows,
            Err(e) => {
                // The waves not committed yet leave nothing behind.
                discard_all(store, &mut work).await;
                let rest: Vec<String> = work.iter().map(|w| w.0.spec.wave.clone()).collect();
                return Err(stopped_part_way(e, &outcomes, &r.spec.wave, &rest));
            }
        };
        out.rows = rows;
        out.status = if previous.is_some() {
            Status::Replaced
        } else {
            Status::Loaded
        };
        out.seconds = secs + t0.elapsed().as_secs_f64();
        let w = out.weighting.as_ref();
        info!(
            event = "ingest",
            outcome = out.status.as_str(),
            wave = %out.wave,
            rows = out.rows,
            duration = out.seconds,
            n_eff = w.map(|w| w.n_eff),
            weighting_efficiency = w.map(|w| w.efficiency),
            weighting_iterations = w.map(|w| w.iterations),
            weighting_max_residual = w.map(|w| w.max_residual),
            "wave {} {} ({} rows)",
            out.wave,
            out.status.as_str(),
            out.rows
        );
        outcomes.push(out);
    }
    Ok(outcomes)
}

/// Removes the staged files of every wave in `work`.
async fn discard_all(
    store: &Store,
    work: &mut [(Resolved, Option<Validated>, Option<Staged>, f64)],
) {
    // Directories last, deepest first: waves staged later may have written into the
    // directories an earlier one created (the leases' directory).
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (_, _, staged, _) in work.iter_mut() {
        if let Some(mut s) = staged.take() {
            dirs.append(&mut s.new_dirs);
            discard_staged(store, s).await;
        }
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    dirs.dedup();
    for d in dirs {
        let _ = std::fs::remove_dir(d);
    }
}

/// The error of a command that stopped at wave `failed` after committing some of its
/// waves: it says, wave by wave, what happened (`done`: the waves before, in order;
/// `rest`: the waves not reached). With nothing committed before, the error as it is
/// ("nothing was written" is then true).
fn stopped_part_way(e: Error, done: &[Outcome], failed: &str, rest: &[String]) -> Error {
    if !done
        .iter()
        .any(|o| matches!(o.status, Status::Loaded | Status::Replaced))
    {
        return e;
    }
    let (cause, why) = match &e {
        Error::Conflict(m) => (format!("conflict: {m}"), "conflict"),
        other => (other.to_string(), "error"),
    };
    let mut parts: Vec<String> = done
        .iter()
        .map(|o| format!("wave {}: {}", o.wave, o.status.as_str()))
        .collect();
    parts.push(format!("wave {failed}: not loaded: {why}"));
    parts.extend(
        rest.iter()
            .map(|w| format!("wave {w}: not loaded: not attempted")),
    );
    Error::Partial {
        message: format!(
            "{cause}. This command stopped part-way: {}. The waves loaded or replaced stay committed; run the command again to load the others",
            parts.join("; ")
        ),
        code: e.exit_code(),
    }
}

fn summarize(r: &Resolved, v: &Validated) -> Outcome {
    match v {
        Validated::Microdata(s, raked) => Outcome {
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
            weighting: raked.as_ref().map(|r| r.report.clone()),
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
            weighting: None,
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

/// Commits one wave: its staged `responses` files, the small tables, then the catalog
/// (the switch that makes the wave visible); cleans up the replaced load. Returns the
/// number of rows written.
async fn write_wave(
    store: &Store,
    r: &Resolved,
    v: Validated,
    staged: Option<Staged>,
    previous: Option<&str>,
) -> Result<u64> {
    let spec = &r.spec;
    let mut versions: HashMap<String, i64> = HashMap::new();
    let mut cell_rows: Vec<CellStat> = Vec::new();
    let mut segments: Vec<String> = Vec::new();
    // Small tables written before `cellstats` and `statements`: (table, rows).
    let mut small: Vec<(&str, RecordBatch)> = Vec::new();
    let (load_id, lease, kind, respondents, rows) = match v {
        Validated::Microdata(summary, raked) => {
            let mut staged =
                staged.ok_or_else(|| Error::Other("a microdata wave was not staged".into()))?;
            let mut restaged = 0;
            let version = loop {
                match commit_responses(store, &staged).await {
                    Ok(Some(v)) => break v,
                    // Another writer added one of this wave's segment columns, spelled
                    // differently, after these files were written: they are written
                    // again with the table's spelling.
                    Ok(None) if restaged < 3 => {
                        restaged += 1;
                        info!(event = "restage", wave = %spec.wave, "wave {}: a segment column was added meanwhile with another spelling; writing the files again", spec.wave);
                        discard_staged(store, staged).await;
                        let weights = raked.as_ref().map(|k| k.weights.clone());
                        staged = stage_responses(store, r, weights, previous).await?.0;
                    }
                    Ok(None) => {
                        discard_staged(store, staged).await;
                        return Err(Error::Conflict(format!(
                            "wave {}: other writers kept adding its segment columns with other spellings",
                            spec.wave
                        )));
                    }
                    Err(e) => {
                        discard_staged(store, staged).await;
                        return Err(e);
                    }
                }
            };
            let load_id = staged.load_id.clone();
            segments = staged.seg_names.clone();
            versions.insert(RESPONSES.into(), version);
            if !staged.seg_rows.is_empty() {
                let batch = tables::segstats_batch(&spec.wave, &load_id, &staged.seg_rows)?;
                small.push((SEGSTATS, batch));
            }
            if let Some(raked) = &raked {
                let batch = tables::weighting_batch(&spec.wave, &load_id, &raked.report)?;
                small.push((WEIGHTING, batch));
            }
            for ((k, g), acc) in &staged.cells {
                cell_rows.push(cell_stat(spec.statements[*k].id.clone(), g.clone(), acc));
            }
            let lease = staged.lease.take();
            (
                load_id,
                lease,
                "microdata",
                Some(summary.respondents as i64),
                staged.rows,
            )
        }
        Validated::Cells(cells) => {
            let load_id = new_load_id(&spec.wave);
            let lease = lease::Lease::take(store, &spec.wave, &load_id, previous).await?;
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
            (load_id, Some(lease), "cells", None, cells.len() as u64)
        }
    };
    let result = commit_rest(
        store,
        r,
        load_id,
        kind,
        respondents,
        segments,
        versions,
        small,
        cell_rows,
        previous,
    )
    .await;
    if let Some(l) = lease {
        l.release().await;
    }
    result.map(|()| rows)
}

/// The small tables and the catalog commit of a wave whose `responses` files (if any)
/// are committed; then the cleanup of the load it replaced.
#[allow(clippy::too_many_arguments)]
async fn commit_rest(
    store: &Store,
    r: &Resolved,
    load_id: String,
    kind: &str,
    respondents: Option<i64>,
    segments: Vec<String>,
    mut versions: HashMap<String, i64>,
    small: Vec<(&str, RecordBatch)>,
    mut cell_rows: Vec<CellStat>,
    previous: Option<&str>,
) -> Result<()> {
    let spec = &r.spec;
    for (name, batch) in small {
        versions.insert(
            name.to_string(),
            append_small(store, name, &load_id, batch).await?,
        );
    }
    cell_rows.sort_by(|a, b| (&a.statement, &a.grp).cmp(&(&b.statement, &b.grp)));
    let batch = tables::cellstats_batch(&spec.wave, &load_id, &cell_rows)?;
    versions.insert(
        CELLSTATS.into(),
        append_small(store, CELLSTATS, &load_id, batch).await?,
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
        append_small(store, STATEMENTS, &load_id, batch).await?,
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
        // As the `responses` table spells them.
        segments,
    };
    catalog::test_halt("data_committed").await;
    if let Err(e) = catalog::commit_entry(store, &entry, previous, &versions).await {
        // The commit may have landed even though its answer was lost (a connection
        // dropped after the request was sent): the catalog decides.
        match catalog::current(store).await {
            Ok(c) if c.entries.iter().any(|x| x.load_id == load_id) => {
                warn!(event = "commit_recovered", wave = %spec.wave, "the catalog commit of {} reported an error ({e}) but did land", spec.wave);
            }
            Ok(_) => {
                // Nothing of this load became visible; drop its rows.
                cleanup_load(store, &spec.wave, &load_id).await;
                return Err(e);
            }
            Err(_) => {
                warn!(event = "cleanup_skipped", wave = %spec.wave, "could not tell whether load {load_id} of {} committed; its rows stay until `gaptrack vacuum`", spec.wave);
                return Err(e);
            }
        }
    }
    catalog::test_halt("catalog_committed").await;
    if let Some(old) = previous {
        cleanup_load(store, &spec.wave, old).await;
    }
    Ok(())
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
        if name == RESPONSES {
            catalog::test_halt("responses_cleaned").await;
        }
        if let Err(e) = res {
            warn!(event = "cleanup_failed", wave, table = name, "could not remove the replaced rows of {wave} from {name}: {e} (run `gaptrack vacuum`)");
        }
    }
}

/// Appends a small batch to a data table, creating the table if needed. Returns the new
/// table version. Appends never conflict with each other; creating the table races
/// with other writers creating it, and the loser appends to the winner's table.
async fn append_small(store: &Store, name: &str, load_id: &str, batch: RecordBatch) -> Result<i64> {
    let what = format!("writing {name}");
    let (what, batch) = (&what, &batch);
    let mut attempts = 0;
    crate::store::commit_with_retries(what, || {
        attempts += 1;
        let first = attempts == 1;
        async move {
            let (table, retries) = match store.load(name, None).await? {
                Some(t) => {
                    if !first && holds_load(&t, load_id) {
                        // An earlier attempt did commit, but its answer was lost.
                        info!(
                            event = "commit_recognised",
                            table = name,
                            "the {name} commit did land"
                        );
                        return Ok(t.version().unwrap_or(0) as i64);
                    }
                    (t, 15)
                }
                None => (store.table_handle(name)?, 0),
            };
            let t = table
                .write(vec![batch.clone()])
                .with_save_mode(SaveMode::Append)
                .with_partition_columns(PARTITIONS)
                .with_writer_properties(writer_properties())
                .with_commit_properties(CommitProperties::default().with_max_retries(retries))
                .await
                .map_err(|e| Error::delta(what, e))?;
            Ok(t.version().unwrap_or(0) as i64)
        }
    })
    .await
}

/// Whether a table's current version holds files of `load_id` (load ids are unique, so
/// such files can only come from this load).
fn holds_load(t: &DeltaTable, load_id: &str) -> bool {
    t.snapshot().is_ok_and(|s| {
        s.log_data().iter().any(|f| {
            f.partition_values_map()
                .get("load_id")
                .is_some_and(|v| v.as_deref() == Some(load_id))
        })
    })
}

/// The `responses` table with a column for every segment of this wave (matched without
/// regard to case): created if it does not exist, widened (a schema-only commit) when
/// the wave brings new segments.
async fn responses_table(store: &Store, segments: &[String]) -> Result<DeltaTable> {
    let table = match store.load(RESPONSES, None).await? {
        Some(t) => t,
        None => {
            let mut columns = tables::responses_columns();
            columns.extend(segments.iter().map(|s| tables::segment_column(s)));
            let handle = store.table_handle(RESPONSES)?;
            match handle
                .create()
                .with_columns(columns)
                .with_partition_columns(PARTITIONS)
                .with_save_mode(SaveMode::Ignore)
                .with_comment("gaptrack long microdata: wave × respondent × statement")
                .with_commit_properties(CommitProperties::default().with_max_retries(0))
                .await
            {
                Ok(t) => t,
                // Another writer created it at the same moment.
                Err(e) => match store.load(RESPONSES, None).await? {
                    Some(t) => t,
                    None => return Err(Error::delta("creating the responses table", e)),
                },
            }
        }
    };
    let existing = responses_column_names(&table)?;
    let missing: Vec<_> = segments
        .iter()
        .filter(|s| !existing.iter().any(|e| e.eq_ignore_ascii_case(s)))
        .map(|s| tables::segment_column(s))
        .collect();
    if missing.is_empty() {
        return Ok(table);
    }
    // A schema-only commit. When another writer committed first (an append, or other
    // new columns) it fails; the caller reads the table again and tries again.
    table
        .add_columns()
        .with_fields(missing)
        .with_commit_properties(CommitProperties::default().with_max_retries(0))
        .await
        .map_err(|e| {
            warn!(event = "retry", "widening responses: {e}");
            Error::Conflict(format!("adding segment columns to responses: {e}"))
        })
}

fn cell_stat(statement: String, grp: String, acc: &read::CellAcc) -> CellStat {
    CellStat {
        statement,
        grp,
        n: Some(acc.n),
        sum_w: Some(acc.sum_w),
        sum_wa: Some(acc.sum_wa),
        sum_w2: Some(acc.sum_w2),
        sum_w2a: Some(acc.sum_w2a),
        // Σw·agree ≤ Σw, but 100·x/x can round to 100.00000000000001.
        pct: (100.0 * acc.sum_wa / acc.sum_w).clamp(0.0, 100.0),
    }
}

/// Long rows per data file of `responses` (whole row groups).
const FILE_ROWS: u64 = 64 * longfile::ROW_GROUP_ROWS as u64;

/// The `responses` files of one load, written but not yet committed.
struct Staged {
    load_id: String,
    adds: Vec<deltalake::kernel::Add>,
    /// Every object written, for [`discard`].
    paths: Vec<object_store::path::Path>,
    /// Directories of a local store that this load created.
    new_dirs: Vec<PathBuf>,
    rows: u64,
    /// The segment columns of the files, as `responses` spelled them when they were
    /// written.
    seg_names: Vec<String>,
    seg_rows: Vec<SegStat>,
    /// The cells of the write pass: with rim weighting, weighted by the final weights.
    cells: BTreeMap<(usize, String), read::CellAcc>,
    /// Holds the load against `vacuum` until its catalog commit is done.
    lease: Option<lease::Lease>,
}

/// Removes the files of a staged load that is not going to be committed, and its lease.
async fn discard_staged(store: &Store, mut s: Staged) {
    if let Some(l) = s.lease.take() {
        l.release().await;
    }
    discard(store, &s.paths, &s.new_dirs).await;
}

/// Removes the files of a load that is not going to be committed (and, on a local
/// store, the directories it created), so that the store is as it was.
async fn discard(store: &Store, paths: &[object_store::path::Path], new_dirs: &[PathBuf]) {
    let (root, _) = store.object_store();
    for p in paths {
        match object_store::ObjectStoreExt::delete(&root, p).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                warn!(
                    event = "cleanup_failed",
                    "could not remove {p}: {e} (run `gaptrack vacuum`)"
                )
            }
        }
    }
    for d in new_dirs.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
}

/// The column names of the loaded `responses` table.
fn responses_column_names(table: &DeltaTable) -> Result<Vec<String>> {
    Ok(table
        .snapshot()
        .map_err(|e| Error::delta("reading the responses table", e))?
        .schema()
        .fields()
        .map(|f| f.name().to_string())
        .collect())
}

/// Segment names as the columns `existing` spell them (names match without regard to
/// case; the spelling already stored wins); a name not there keeps its own spelling.
fn spelled(existing: &[String], segments: &[String]) -> Vec<String> {
    segments
        .iter()
        .map(|s| {
            existing
                .iter()
                .find(|e| e.eq_ignore_ascii_case(s))
                .cloned()
                .unwrap_or_else(|| s.clone())
        })
        .collect()
}

/// The segment columns of this wave's files, spelled as the `responses` table spells
/// them where it has them. The same spelling names the wave's segments in `segstats`
/// and in the catalog.
async fn file_segments(store: &Store, wave_segments: &[String]) -> Result<Vec<String>> {
    let existing = match store.load(RESPONSES, None).await? {
        Some(t) => responses_column_names(&t)?,
        None => Vec::new(),
    };
    Ok(spelled(&existing, wave_segments))
}

/// Reads the source once more (or for the first time: a wave without rim weighting is
/// validated and written in one pass) and writes its long rows as `responses` files of a
/// new load, without committing them. `weights` replaces each respondent's weight (rim
/// weighting). Any problem: the files written are removed again and the error returned.
async fn stage_responses(
    store: &Store,
    r: &Resolved,
    weights: Option<Vec<f64>>,
    replaces: Option<&str>,
) -> Result<(Staged, read::Summary)> {
    let spec = r.spec.clone();
    let load_id = new_load_id(&spec.wave);
    let wave_segments = spec
        .respondent
        .as_ref()
        .map(|x| x.segments.clone())
        .unwrap_or_default();
    let seg_names = file_segments(store, &wave_segments).await?;
    let staged_names = seg_names.clone();
    let dir = format!("{RESPONSES}/wave={}/load_id={load_id}", spec.wave);
    let new_dirs: Vec<PathBuf> = match store.url.to_file_path() {
        Ok(base) if store.is_local() => {
            // The store's own directory and its parents may not exist yet either.
            let mut out: Vec<PathBuf> = base
                .ancestors()
                .take_while(|d| !d.exists())
                .map(PathBuf::from)
                .collect();
            out.reverse();
            for sub in [dir.as_str(), lease::LEASES] {
                let mut d = base.clone();
                for part in sub.split('/') {
                    d = d.join(part);
                    if !d.exists() {
                        out.push(d.clone());
                    }
                }
            }
            out
        }
        _ => Vec::new(),
    };
    // Taken before the first file is written: `vacuum` leaves the load alone.
    let lease = lease::Lease::take(store, &spec.wave, &load_id, replaces).await?;
    let (root, _) = store.object_store();
    let statements: Arc<Vec<String>> =
        Arc::new(spec.statements.iter().map(|s| s.id.clone()).collect());
    let n_statements = statements.len();
    let written_paths = Arc::new(std::sync::Mutex::new(Vec::<object_store::path::Path>::new()));
    let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rows_done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::sync_channel::<longfile::Chunk>(2);

    // The encoder: row groups into files, each uploaded while it is written.
    let handle = tokio::runtime::Handle::current();
    let encoder = {
        let (failed, rows_done, paths) = (failed.clone(), rows_done.clone(), written_paths.clone());
        let (store, statements, load_id) = (store.clone(), statements.clone(), load_id.clone());
        tokio::task::spawn_blocking(move || -> Result<Encoded> {
            let put_err = |e: object_store::Error| {
                Error::object_store(format!("writing {}{RESPONSES}", store.url), e)
            };
            let mut files: Vec<FileDone> = Vec::new();
            let mut seg = longfile::SegAcc::default();
            let mut last = None;
            let mut cur: Option<(
                longfile::FileEncoder,
                object_store::buffered::BufWriter,
                String,
                u64,
            )> = None;
            let result = (|| -> Result<()> {
                for chunk in rx.iter() {
                    seg.add(&chunk, n_statements);
                    if chunk.respondents() > 0 {
                        if cur.is_none() {
                            let rel =
                                format!("{dir}/part-{:05}-{load_id}.zstd.parquet", files.len());
                            let path = store.path(&rel);
                            paths.lock().expect("paths").push(path.clone());
                            let up = object_store::buffered::BufWriter::with_capacity(
                                root.clone(),
                                path,
                                16 << 20,
                            );
                            cur = Some((
                                longfile::FileEncoder::new(statements.clone(), &seg_names)?,
                                up,
                                rel,
                                0,
                            ));
                        }
                        let (enc, up, _, size) = cur.as_mut().expect("open file");
                        enc.write(&chunk)?;
                        let bytes = enc.take_bytes()?;
                        *size += bytes.len() as u64;
                        handle.block_on(up.put(bytes.into())).map_err(put_err)?;
                        rows_done.fetch_add(
                            (chunk.respondents() * n_statements) as u64,
                            std::sync::atomic::Ordering::Relaxed,
                        );
                        if enc.rows >= FILE_ROWS {
                            files.push(close_file(
                                &handle,
                                cur.take().expect("open file"),
                                &put_err,
                            )?);
                        }
                    }
                    last = Some(chunk);
                }
                if failed.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err(Error::WriterStopped);
                }
                if let Some(c) = cur.take() {
                    files.push(close_file(&handle, c, &put_err)?);
                }
                Ok(())
            })();
            if let Err(e) = result {
                if let Some((_, mut up, _, _)) = cur.take() {
                    let _ = handle.block_on(up.abort());
                }
                return Err(e);
            }
            Ok((files, seg, last))
        })
    };

    // The reader: validation, and the keys of every row.
    let reader = {
        let (failed, spec) = (failed.clone(), spec.clone());
        let (path, shown, expected_sha) =
            (r.path.clone(), r.shown.clone(), r.source_sha256.clone());
        let n_segments = wave_segments.len();
        tokio::task::spawn_blocking(move || -> Result<read::Summary> {
            let mut keyer = longfile::Keyer::new(n_statements, n_segments);
            let read = read::read(&spec, &path, &shown, weights.as_deref(), |row| {
                if let Some(chunk) = keyer.push(row) {
                    tx.send(chunk).map_err(|_| Error::WriterStopped)?;
                }
                Ok(())
            })
            .and_then(|summary| {
                if summary.source_sha256 != expected_sha {
                    return Err(Error::input(InputError::new(
                        &shown,
                        "the source changed while it was being loaded; run the command again",
                    )));
                }
                Ok(summary)
            });
            match read {
                Ok(summary) => {
                    // The last chunk, even if empty: it carries the final dictionaries.
                    tx.send(keyer.take()).map_err(|_| Error::WriterStopped)?;
                    Ok(summary)
                }
                Err(e) => {
                    // Before the channel closes, so that the encoder drops its file.
                    failed.store(true, std::sync::atomic::Ordering::SeqCst);
                    Err(e)
                }
            }
        })
    };

    let bar = if PROGRESS.load(std::sync::atomic::Ordering::Relaxed) {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg} {human_pos} rows ({per_sec}, {elapsed})",
            )
            .expect("progress template"),
        );
        b.set_message(format!("loading {}", r.spec.wave));
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut reader = reader;
    let read_result = loop {
        tokio::select! {
            res = &mut reader => break res,
            _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                bar.set_position(rows_done.load(std::sync::atomic::Ordering::Relaxed));
            }
        }
    };
    let encoded = encoder.await;
    bar.finish_and_clear();
    let read_result = match read_result {
        Ok(x) => x,
        Err(e) => Err(Error::Other(format!("reader task failed: {e}"))),
    };
    let encoded = match encoded {
        Ok(x) => x,
        Err(e) => Err(Error::Other(format!("writer task failed: {e}"))),
    };
    let outcome = match (read_result, encoded) {
        (Ok(summary), Ok(enc)) => Ok((summary, enc)),
        // A reader error (bad input, a changed source) comes first; an encoder that
        // stopped only because of it is not the cause.
        (Err(e), _) if !matches!(&e, Error::WriterStopped) => Err(e),
        (Err(e), enc) => Err(enc.err().unwrap_or(e)),
        (Ok(_), Err(e)) => Err(e),
    };
    let paths = std::mem::take(&mut *written_paths.lock().expect("paths"));
    let (summary, (files, seg, last)) = match outcome {
        Ok(x) => x,
        Err(e) => {
            lease.release().await;
            discard(store, &paths, &new_dirs).await;
            return Err(e);
        }
    };
    let mut pv: IndexMap<String, Option<String>> = IndexMap::new();
    pv.insert("wave".into(), Some(spec.wave.clone()));
    pv.insert("load_id".into(), Some(load_id.clone()));
    let now = chrono::Utc::now().timestamp_millis();
    let adds = files
        .into_iter()
        .map(|(rel, size, stats)| deltalake::kernel::Add {
            path: rel[RESPONSES.len() + 1..].to_string(),
            partition_values: pv.clone().into_iter().collect(),
            size: size as i64,
            modification_time: now,
            data_change: true,
            stats: Some(stats),
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        })
        .collect();
    let seg_rows = match &last {
        Some(last) => seg_stats(&spec, &staged_names, seg.into_cells(last)),
        None => Vec::new(),
    };
    let rows = rows_done.load(std::sync::atomic::Ordering::Relaxed);
    Ok((
        Staged {
            load_id,
            adds,
            paths,
            new_dirs,
            rows,
            seg_names: staged_names,
            seg_rows,
            cells: summary.cells.clone(),
            lease: Some(lease),
        },
        summary,
    ))
}

/// A written file: (path in the table, size, Delta stats).
type FileDone = (String, u64, String);
/// What the encoder hands back: the files, the segment statistics, the last chunk (with
/// the final dictionaries).
type Encoded = (Vec<FileDone>, longfile::SegAcc, Option<longfile::Chunk>);
type OpenFile = (
    longfile::FileEncoder,
    object_store::buffered::BufWriter,
    String,
    u64,
);

/// Writes a file's footer, completes its upload; returns (path in the table, size, stats).
fn close_file(
    handle: &tokio::runtime::Handle,
    (enc, mut up, rel, size): OpenFile,
    put_err: &dyn Fn(object_store::Error) -> Error,
) -> Result<FileDone> {
    let (rest, stats) = enc.finish()?;
    let size = size + rest.len() as u64;
    handle
        .block_on(async {
            up.put(rest.into()).await?;
            tokio::io::AsyncWriteExt::shutdown(&mut up)
                .await
                .map_err(|e| object_store::Error::Generic {
                    store: "responses",
                    source: Box::new(e),
                })
        })
        .map_err(put_err)?;
    Ok((rel, size, stats))
}

/// Segment statistics rows, sorted; `names` are the segments as `responses` spells them.
fn seg_stats(
    spec: &WaveSpec,
    names: &[String],
    cells: Vec<(usize, String, String, Vec<read::CellAcc>)>,
) -> Vec<SegStat> {
    let mut rows: Vec<SegStat> = Vec::new();
    for (si, g, v, block) in cells {
        for (k, acc) in block.iter().enumerate() {
            if acc.n > 0 {
                rows.push(SegStat {
                    segment: names[si].clone(),
                    segment_value: v.clone(),
                    cell: cell_stat(spec.statements[k].id.clone(), g.clone(), acc),
                });
            }
        }
    }
    rows.sort_by(|a, b| {
        (&a.segment, &a.segment_value, &a.cell.statement, &a.cell.grp).cmp(&(
            &b.segment,
            &b.segment_value,
            &b.cell.statement,
            &b.cell.grp,
        ))
    });
    rows
}

/// Commits the staged files as one append to `responses` (creating or widening the
/// table first). Returns the table version, or `None` when the table now spells one of
/// the wave's segment columns otherwise than its files do (another writer added it
/// meanwhile): the files must then be written again.
///
/// Another writer's commit in between (an append, or the schema-only commit of a wave
/// that adds segment columns) is merged by trying again on the new table version.
async fn commit_responses(store: &Store, staged: &Staged) -> Result<Option<i64>> {
    let load_id = &staged.load_id;
    let mut attempts = 0;
    crate::store::commit_with_retries("committing responses", || {
        attempts += 1;
        let first = attempts == 1;
        async move {
            if !first {
                // A commit whose answer was lost is retried and finds its version taken
                // by itself. The table decides: files of this load (its id is unique)
                // mean the commit landed.
                if let Some(t) = store.load(RESPONSES, None).await? {
                    if holds_load(&t, load_id) {
                        info!(
                            event = "commit_recognised",
                            table = RESPONSES,
                            "the responses commit did land"
                        );
                        return Ok(Some(t.version().unwrap_or(0) as i64));
                    }
                }
            }
            let table = responses_table(store, &staged.seg_names).await?;
            let existing = responses_column_names(&table)?;
            if spelled(&existing, &staged.seg_names) != staged.seg_names {
                return Ok(None);
            }
            responses_barrier().await;
            let actions: Vec<Action> = staged.adds.iter().cloned().map(Action::Add).collect();
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
                .map_err(|e| Error::delta("committing responses", e))?;
            Ok(Some(done.version() as i64))
        }
    })
    .await
}

/// A hook for tests of concurrent writers: with `GAPTRACK_TEST_RESPONSES_BARRIER=DIR`, the
/// first load of the process to reach its `responses` append (the table read, and
/// widened for its segments) creates `DIR/<pid>.ready` and waits (at most 60 s) until
/// `DIR/go` exists. Two loads that each add a column are so released with the table
/// read before the other's schema-only commit: the first append then has to be tried
/// again on the new version.
async fn responses_barrier() {
    static PASSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let Some(dir) = std::env::var_os("GAPTRACK_TEST_RESPONSES_BARRIER") else {
        return;
    };
    if PASSED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let dir = PathBuf::from(dir);
    let _ = std::fs::write(dir.join(format!("{}.ready", std::process::id())), b"");
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while !dir.join("go").exists() && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
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
    // Holds the removed load against `vacuum` while its rows are cleaned up here.
    let lease = lease::Lease::take(store, wave, &new_load_id(wave), Some(&entry.load_id)).await?;
    let result = catalog::remove_entry(store, wave, &entry.load_id).await;
    if result.is_ok() {
        info!(event = "removed", wave, "wave {wave} removed");
        cleanup_load(store, wave, &entry.load_id).await;
    }
    lease.release().await;
    result.map(|_| ())
}
