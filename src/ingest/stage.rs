//! Staging: the `responses` files of a load written but not committed. A reader thread
//! validates the source and keys every row; an encoder thread turns the keys into
//! Parquet row groups ([`longfile`]) and uploads each file while it is written. Files of
//! a load that is not going to be committed are removed again ([`discard_staged`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use deltalake::DeltaTable;
use sha2::Digest;
use tracing::warn;

use super::append::{self, FileDone};
use super::resolve::Resolved;
use super::scores::Scoring;
use super::{lease, longfile, read};
use crate::error::{Error, InputError, Result};
use crate::spec::WaveSpec;
use crate::store::{Store, RESPONSES};
use crate::tables::{CellStat, ScoreRow, ScoreStat, SegStat};

/// A new load id: the time, and a hash of the wave, the time and the process.
pub(super) fn new_load_id(wave: &str) -> String {
    let now = chrono::Utc::now();
    let mut h = sha2::Sha256::new();
    h.update(wave.as_bytes());
    h.update(now.timestamp_nanos_opt().unwrap_or(0).to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    let rand = hex::encode(&h.finalize()[..6]);
    format!("{}-{rand}", now.format("%Y%m%dT%H%M%S"))
}

/// A cell of `cellstats` from the sums of the write pass.
pub(super) fn cell_stat(statement: String, grp: String, acc: &read::CellAcc) -> CellStat {
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
pub(super) struct Staged {
    pub(super) load_id: String,
    pub(super) adds: Vec<deltalake::kernel::Add>,
    /// Every object written, for [`discard`].
    pub(super) paths: Vec<object_store::path::Path>,
    /// Directories of a local store that this load created.
    pub(super) new_dirs: Vec<PathBuf>,
    pub(super) rows: u64,
    /// The segment columns of the files, as `responses` spelled them when they were
    /// written.
    pub(super) seg_names: Vec<String>,
    pub(super) seg_rows: Vec<SegStat>,
    /// The `scorestats` rows of the segment values.
    pub(super) seg_scores: Vec<ScoreRow>,
    /// The cells of the write pass: with rim weighting, weighted by the final weights.
    pub(super) cells: BTreeMap<(usize, String), read::CellAcc>,
    /// The whole wave's `scorestats` rows of the write pass.
    pub(super) scores: Vec<ScoreStat>,
    /// Each respondent's id hash, sorted (`respondent_ids`; empty with `panel = false`).
    pub(super) id_hashes: Vec<u64>,
    /// Holds the load against `vacuum` until its catalog commit is done.
    pub(super) lease: Option<lease::Lease>,
}

/// Removes the files of a staged load that is not going to be committed, and its lease.
pub(super) async fn discard_staged(store: &Store, mut s: Staged) {
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
pub(super) fn responses_column_names(table: &DeltaTable) -> Result<Vec<String>> {
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
pub(super) fn spelled(existing: &[String], segments: &[String]) -> Vec<String> {
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
/// weighting); `progress` draws a progress bar on stderr. Any problem: the files written
/// are removed again and the error returned.
pub(super) async fn stage_responses(
    store: &Store,
    r: &Resolved,
    weights: Option<Vec<f64>>,
    replaces: Option<&str>,
    progress: bool,
) -> Result<(Staged, read::Summary)> {
    let spec = r.spec.clone();
    let load_id = new_load_id(&spec.wave);
    let wave_segments = spec
        .respondent
        .as_ref()
        .map(|x| x.segments.clone())
        .unwrap_or_default();
    let seg_names = file_segments(store, &wave_segments).await?;
    let dir = format!("{RESPONSES}/wave={}/load_id={load_id}", spec.wave);
    let new_dirs = local_new_dirs(store, &dir);
    // Taken before the first file is written: `vacuum` leaves the load alone.
    let lease = lease::Lease::take(store, &spec.wave, &load_id, replaces).await?;
    let statements: Arc<Vec<String>> =
        Arc::new(spec.statements.iter().map(|s| s.id.clone()).collect());
    let shared = Shared::default();
    let (tx, rx) = std::sync::mpsc::sync_channel::<longfile::Chunk>(2);
    let job = EncoderJob {
        handle: tokio::runtime::Handle::current(),
        store: store.clone(),
        dir,
        load_id: load_id.clone(),
        statements: statements.clone(),
        seg_names: seg_names.clone(),
        scoring: Scoring::new(&spec),
        shared: shared.clone(),
    };
    let encoder = tokio::task::spawn_blocking(move || encode(job, rx));
    let reader = spawn_reader(
        r,
        weights,
        statements.len(),
        wave_segments.len(),
        tx,
        &shared,
    );
    let outcome = join(reader, encoder, &shared, progress, &spec.wave).await;
    let paths = std::mem::take(&mut *shared.paths.lock().expect("paths"));
    let (mut summary, (files, seg, last)) = match outcome {
        Ok(x) => x,
        Err(e) => {
            lease.release().await;
            discard(store, &paths, &new_dirs).await;
            return Err(e);
        }
    };
    let scoring = Scoring::new(&spec).with_agree_codes(&summary.agree_codes);
    let (seg_rows, seg_scores) = match &last {
        Some(last) => seg_stats(&spec, &scoring, &seg_names, seg.into_cells(last, &scoring)),
        None => (Vec::new(), Vec::new()),
    };
    let rows = shared.rows.load(Ordering::Relaxed);
    let id_hashes = std::mem::take(&mut summary.id_hashes);
    Ok((
        Staged {
            adds: add_actions(&spec.wave, &load_id, files),
            load_id,
            paths,
            new_dirs,
            rows,
            seg_names,
            seg_rows,
            seg_scores,
            cells: summary.cells.clone(),
            scores: summary.scores.clone(),
            id_hashes,
            lease: Some(lease),
        },
        summary,
    ))
}

/// The directories a load into `dir` of a local store creates (the store's own
/// directory and its parents may not exist yet either), outermost first; none for an
/// object store.
fn local_new_dirs(store: &Store, dir: &str) -> Vec<PathBuf> {
    match store.url.to_file_path() {
        Ok(base) if store.is_local() => {
            let mut out: Vec<PathBuf> = base
                .ancestors()
                .take_while(|d| !d.exists())
                .map(PathBuf::from)
                .collect();
            out.reverse();
            for sub in [dir, lease::LEASES] {
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
    }
}

/// What the reader and the encoder threads of one load share.
#[derive(Clone, Default)]
struct Shared {
    /// Set by the reader when it fails, before the channel closes, so that the encoder
    /// drops its file.
    failed: Arc<AtomicBool>,
    /// Long rows written so far (the progress bar, and the staged row count).
    rows: Arc<AtomicU64>,
    /// Every object written, for [`discard`].
    paths: Arc<std::sync::Mutex<Vec<object_store::path::Path>>>,
}

/// What the encoder thread needs.
struct EncoderJob {
    handle: tokio::runtime::Handle,
    store: Store,
    /// The load's directory in the store.
    dir: String,
    load_id: String,
    statements: Arc<Vec<String>>,
    /// The segment columns of the files.
    seg_names: Vec<String>,
    /// How the segment cells' scores are accumulated.
    scoring: Scoring,
    shared: Shared,
}

/// The encoder (on a blocking thread): row groups into files, each uploaded while it
/// is written.
fn encode(job: EncoderJob, rx: std::sync::mpsc::Receiver<longfile::Chunk>) -> Result<Encoded> {
    let put_err = |e: object_store::Error| {
        Error::object_store(format!("writing {}{RESPONSES}", job.store.url), e)
    };
    let mut files: Vec<FileDone> = Vec::new();
    let mut seg = longfile::SegAcc::new(job.scoring.clone());
    let mut last = None;
    let mut cur: Option<OpenFile> = None;
    let n_statements = job.statements.len();
    let result = (|| -> Result<()> {
        for chunk in rx.iter() {
            seg.add(&chunk, n_statements);
            if chunk.respondents() > 0 {
                if cur.is_none() {
                    cur = Some(open_file(&job, files.len())?);
                }
                let (enc, up, _, size) = cur.as_mut().expect("open file");
                enc.write(&chunk)?;
                let bytes = enc.take_bytes()?;
                *size += bytes.len() as u64;
                job.handle.block_on(up.put(bytes.into())).map_err(put_err)?;
                job.shared.rows.fetch_add(
                    (chunk.respondents() * n_statements) as u64,
                    Ordering::Relaxed,
                );
                if enc.rows >= FILE_ROWS {
                    let file = cur.take().expect("open file");
                    files.push(close_file(&job.handle, file, &put_err)?);
                }
            }
            last = Some(chunk);
        }
        if job.shared.failed.load(Ordering::SeqCst) {
            return Err(Error::WriterStopped);
        }
        if let Some(c) = cur.take() {
            files.push(close_file(&job.handle, c, &put_err)?);
        }
        Ok(())
    })();
    if let Err(e) = result {
        if let Some((_, mut up, _, _)) = cur.take() {
            let _ = job.handle.block_on(up.abort());
        }
        return Err(e);
    }
    Ok((files, seg, last))
}

/// Starts the `n`-th file of a load: its encoder and its upload.
fn open_file(job: &EncoderJob, n: usize) -> Result<OpenFile> {
    let rel = format!("{}/part-{n:05}-{}.zstd.parquet", job.dir, job.load_id);
    let path = job.store.path(&rel);
    job.shared.paths.lock().expect("paths").push(path.clone());
    let (root, _) = job.store.object_store();
    let up = object_store::buffered::BufWriter::with_capacity(root, path, 16 << 20);
    let enc = longfile::FileEncoder::new(job.statements.clone(), &job.seg_names)?;
    Ok((enc, up, rel, 0))
}

/// The reader (on a blocking thread): validation, and the keys of every row, sent to
/// the encoder in chunks.
fn spawn_reader(
    r: &Resolved,
    weights: Option<Vec<f64>>,
    n_statements: usize,
    n_segments: usize,
    tx: std::sync::mpsc::SyncSender<longfile::Chunk>,
    shared: &Shared,
) -> tokio::task::JoinHandle<Result<read::Summary>> {
    let (failed, spec) = (shared.failed.clone(), r.spec.clone());
    let (path, shown, expected_sha) = (r.path.clone(), r.shown.clone(), r.source_sha256.clone());
    let stamp = r.stamp;
    tokio::task::spawn_blocking(move || -> Result<read::Summary> {
        let mut keyer = longfile::Keyer::new(n_statements, n_segments);
        let read = read::read(&spec, &path, &shown, weights.as_deref(), |row| {
            if let Some(chunk) = keyer.push(row) {
                tx.send(chunk).map_err(|_| Error::WriterStopped)?;
            }
            Ok(())
        })
        .and_then(|summary| {
            // Against the hash taken before (where one was), and the size and time of
            // the file when it was resolved (a new wave's hash is the one just taken).
            if expected_sha.is_some_and(|sha| summary.source_sha256 != sha) || stamp.changed(&path)
            {
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
                failed.store(true, Ordering::SeqCst);
                Err(e)
            }
        }
    })
}

/// Waits for the reader and the encoder (drawing the progress bar meanwhile, if
/// `progress`); the error that explains a failure.
async fn join(
    mut reader: tokio::task::JoinHandle<Result<read::Summary>>,
    encoder: tokio::task::JoinHandle<Result<Encoded>>,
    shared: &Shared,
    progress: bool,
    wave: &str,
) -> Result<(read::Summary, Encoded)> {
    let bar = progress_bar(progress, wave);
    let read_result = loop {
        tokio::select! {
            res = &mut reader => break res,
            _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                bar.set_position(shared.rows.load(Ordering::Relaxed));
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
    match (read_result, encoded) {
        (Ok(summary), Ok(enc)) => Ok((summary, enc)),
        // A reader error (bad input, a changed source) comes first; an encoder that
        // stopped only because of it is not the cause.
        (Err(e), _) if !matches!(&e, Error::WriterStopped) => Err(e),
        (Err(e), enc) => Err(enc.err().unwrap_or(e)),
        (Ok(_), Err(e)) => Err(e),
    }
}

/// A spinner on stderr with the rows written (hidden unless `progress`).
fn progress_bar(progress: bool, wave: &str) -> indicatif::ProgressBar {
    if !progress {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new_spinner();
    b.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg} {human_pos} rows ({per_sec}, {elapsed})",
        )
        .expect("progress template"),
    );
    b.set_message(format!("loading {wave}"));
    b
}

/// The Delta `add` actions of a load's files.
fn add_actions(wave: &str, load_id: &str, files: Vec<FileDone>) -> Vec<deltalake::kernel::Add> {
    files
        .into_iter()
        .map(|f| append::add_action(RESPONSES, f, wave, load_id))
        .collect()
}

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

/// Segment statistics rows and score rows, sorted; `names` are the segments as
/// `responses` spells them.
fn seg_stats(
    spec: &WaveSpec,
    scoring: &Scoring,
    names: &[String],
    cells: longfile::SegCells,
) -> (Vec<SegStat>, Vec<ScoreRow>) {
    let mut rows: Vec<SegStat> = Vec::new();
    let mut scores: Vec<ScoreRow> = Vec::new();
    for (si, g, v, block, score_block) in cells {
        for (k, acc) in block.iter().enumerate() {
            if acc.n > 0 {
                rows.push(SegStat {
                    segment: names[si].clone(),
                    segment_value: v.clone(),
                    cell: cell_stat(spec.statements[k].id.clone(), g.clone(), acc),
                });
            }
        }
        scores.extend(
            scoring
                .rows(spec, &g, &score_block)
                .into_iter()
                .map(|stat| ScoreRow {
                    segment: Some((names[si].clone(), v.clone())),
                    stat,
                }),
        );
    }
    rows.sort_by(|a, b| {
        (&a.segment, &a.segment_value, &a.cell.statement, &a.cell.grp).cmp(&(
            &b.segment,
            &b.segment_value,
            &b.cell.statement,
            &b.cell.grp,
        ))
    });
    scores.sort_by(|a, b| a.key().cmp(&b.key()));
    (rows, scores)
}
