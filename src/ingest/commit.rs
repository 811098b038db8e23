//! The Delta commits of a wave: its staged `responses` files as one append (the table
//! created or widened for new segment columns first), the small tables (`segstats`,
//! `weighting`, `cellstats`, `statements`), then the catalog commit that makes the wave
//! visible; and the cleanup of the rows of a load the catalog no longer names.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use arrow::array::RecordBatch;
use deltalake::datafusion::prelude::{col, lit};
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;
use deltalake::DeltaTable;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use tracing::{info, warn};

use super::resolve::{Resolved, Validated};
use super::stage::{
    cell_stat, discard_staged, new_load_id, responses_column_names, spelled, stage_responses,
    Staged,
};
use super::wording::Wording;
use super::{append, idfile, lease, panel, read};
use crate::catalog;
use crate::error::{Error, Result};
use crate::spec::WaveSpec;
use crate::stats::rake::Raked;
use crate::store::{
    Store, CELLSTATS, RESPONDENT_IDS, RESPONSES, SCORESTATS, SEGSTATS, STATEMENTS, WEIGHTING,
};
use crate::tables::{self, CatalogEntry, CellStat, StatementRow, PARTITIONS};

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
/// number of rows written and the notes on respondents shared with other waves.
/// `progress`: a progress bar while files are written again.
pub(super) async fn write_wave(
    store: &Store,
    r: &Resolved,
    v: Validated,
    staged: Option<Staged>,
    previous: Option<&str>,
    progress: bool,
) -> Result<(u64, Vec<String>)> {
    let mut notes = Vec::new();
    let spec = &r.spec;
    let (load, lease, rows) = match v {
        Validated::Microdata(summary, raked) => {
            let staged =
                staged.ok_or_else(|| Error::Other("a microdata wave was not staged".into()))?;
            let raked = raked.as_deref();
            let (mut staged, version) =
                commit_staged(store, r, staged, raked, previous, progress).await?;
            let mut shared =
                panel::shared_respondents(store, spec, &staged.load_id, &staged.id_hashes).await?;
            notes = std::mem::take(&mut shared.notes);
            let mut load = microdata_load(spec, &staged, version, summary.respondents, raked)?;
            load.small.extend(panel::panelstats_of(shared)?);
            load.id_hashes = std::mem::take(&mut staged.id_hashes);
            (load, staged.lease.take(), staged.rows)
        }
        Validated::Cells(cells) => {
            let load_id = new_load_id(&spec.wave);
            let lease = lease::Lease::take(store, &spec.wave, &load_id, previous).await?;
            let load = Load {
                load_id,
                kind: "cells",
                respondents: None,
                segments: Vec::new(),
                versions: HashMap::new(),
                small: Vec::new(),
                id_hashes: Vec::new(),
                cell_rows: published_cells(&cells),
            };
            (load, Some(lease), cells.len() as u64)
        }
    };
    let result = commit_rest(store, r, load, previous).await;
    if let Some(l) = lease {
        l.release().await;
    }
    result.map(|()| (rows, notes))
}

/// What a wave commits after its `responses` files (if any).
struct Load {
    load_id: String,
    kind: &'static str,
    respondents: Option<i64>,
    /// The segment columns, as the `responses` table spells them.
    segments: Vec<String>,
    /// The version of each table committed so far.
    versions: HashMap<String, i64>,
    /// Small tables written before `cellstats` and `statements`: (table, rows).
    small: Vec<(&'static str, RecordBatch)>,
    /// The respondents' id hashes, sorted (the `respondent_ids` file; none with
    /// `panel = false`).
    id_hashes: Vec<u64>,
    cell_rows: Vec<CellStat>,
}

/// Commits the staged `responses` files of a wave; returns them and the table version.
/// When another writer added one of the wave's segment columns, spelled differently,
/// after the files were written, they are written again with the table's spelling (at
/// most three times). Any failure: the staged files are removed.
async fn commit_staged(
    store: &Store,
    r: &Resolved,
    mut staged: Staged,
    raked: Option<&Raked>,
    previous: Option<&str>,
    progress: bool,
) -> Result<(Staged, i64)> {
    let spec = &r.spec;
    let mut restaged = 0;
    loop {
        match commit_responses(store, &staged).await {
            Ok(Some(v)) => return Ok((staged, v)),
            Ok(None) if restaged < 3 => {
                restaged += 1;
                info!(event = "restage", wave = %spec.wave, "wave {}: a segment column was added meanwhile with another spelling; writing the files again", spec.wave);
                discard_staged(store, staged).await;
                let weights = raked.map(|k| k.weights.clone());
                staged = stage_responses(store, r, weights, previous, progress)
                    .await?
                    .0;
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
    }
}

/// What a microdata wave commits after its `responses` files (committed at `version`).
fn microdata_load(
    spec: &WaveSpec,
    staged: &Staged,
    version: i64,
    respondents: u64,
    raked: Option<&Raked>,
) -> Result<Load> {
    let load_id = staged.load_id.clone();
    let mut small = Vec::new();
    if !staged.seg_rows.is_empty() {
        let batch = tables::segstats_batch(&spec.wave, &load_id, &staged.seg_rows)?;
        small.push((SEGSTATS, batch));
    }
    if let Some(raked) = raked {
        let batch = tables::weighting_batch(&spec.wave, &load_id, &raked.report)?;
        small.push((WEIGHTING, batch));
    }
    let mut scores: Vec<tables::ScoreRow> = staged
        .scores
        .iter()
        .map(|stat| tables::ScoreRow {
            segment: None,
            stat: stat.clone(),
        })
        .collect();
    scores.sort_by(|a, b| a.key().cmp(&b.key()));
    scores.extend(staged.seg_scores.iter().cloned());
    if !scores.is_empty() {
        let batch = tables::scorestats_batch(&spec.wave, &load_id, &scores)?;
        small.push((SCORESTATS, batch));
    }
    let cell_rows = staged
        .cells
        .iter()
        .map(|((k, g), acc)| cell_stat(spec.statements[*k].id.clone(), g.clone(), acc))
        .collect();
    Ok(Load {
        load_id,
        kind: "microdata",
        respondents: Some(respondents as i64),
        segments: staged.seg_names.clone(),
        versions: HashMap::from([(RESPONSES.to_string(), version)]),
        small,
        id_hashes: Vec::new(),
        cell_rows,
    })
}

/// The `cellstats` rows of published cells: the base taken as the sum of weights.
fn published_cells(cells: &[read::cells::PublishedCell]) -> Vec<CellStat> {
    cells
        .iter()
        .map(|c| {
            let n = c.n.map(|n| n as f64);
            let p = c.pct / 100.0;
            CellStat {
                statement: c.statement.clone(),
                grp: c.group.clone(),
                n: c.n,
                sum_w: n,
                sum_wa: n.map(|n| n * p),
                sum_w2: n,
                sum_w2a: n.map(|n| n * p),
                pct: c.pct,
            }
        })
        .collect()
}

/// The rows of `statements` of a wave: each statement's text, scale and codes, as the
/// spec gives them.
pub(super) fn statement_rows(
    spec: &WaveSpec,
    wording: &HashMap<String, Wording>,
) -> Vec<StatementRow> {
    spec.statements
        .iter()
        .map(|s| StatementRow {
            statement: s.id.clone(),
            text: s.text.clone(),
            series_break: s.series_break,
            wording: wording.get(&s.id).map(|w| w.as_str().to_string()),
            column: s.column.clone(),
            points: s.scale.points().and_then(|n| i32::try_from(n).ok()),
            min_code: (!s.scale.is_none()).then_some(s.scale.min as i32),
            max_code: (!s.scale.is_none()).then_some(s.scale.max as i32),
            agree_codes: (!s.scale.agree.is_empty()).then(|| join_codes(&s.scale.agree)),
            missing_codes: (!s.scale.is_none()).then(|| join_codes(&s.scale.missing)),
            disagree_codes: (!s.scale.disagree.is_empty()).then(|| join_codes(&s.scale.disagree)),
        })
        .collect()
}

/// Codes as the `statements` table stores them: "4,5".
fn join_codes(codes: &[i64]) -> String {
    codes
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The small tables and the catalog commit of a wave whose `responses` files (if any)
/// are committed; then the cleanup of the load it replaced.
async fn commit_rest(
    store: &Store,
    r: &Resolved,
    load: Load,
    previous: Option<&str>,
) -> Result<()> {
    let spec = &r.spec;
    let Load {
        load_id,
        kind,
        respondents,
        segments,
        mut versions,
        small,
        id_hashes,
        mut cell_rows,
    } = load;
    if !id_hashes.is_empty() {
        let v = idfile::append(store, &spec.wave, &load_id, &id_hashes).await?;
        versions.insert(RESPONDENT_IDS.to_string(), v);
    }
    drop(id_hashes);
    for (name, batch) in small {
        versions.insert(
            name.to_string(),
            append_small(store, name, &load_id, batch).await?,
        );
    }
    let source_sha256 = r
        .source_sha256
        .as_ref()
        .ok_or_else(|| Error::Other(format!("wave {}: the source was never hashed", spec.wave)))?;
    cell_rows.sort_by(|a, b| (&a.statement, &a.grp).cmp(&(&b.statement, &b.grp)));
    let batch = tables::cellstats_batch(&spec.wave, &load_id, &cell_rows)?;
    versions.insert(
        CELLSTATS.into(),
        append_small(store, CELLSTATS, &load_id, batch).await?,
    );
    let batch = tables::statements_batch(&spec.wave, &load_id, &statement_rows(spec, &r.wording))?;
    versions.insert(
        STATEMENTS.into(),
        append_small(store, STATEMENTS, &load_id, batch).await?,
    );
    let entry = CatalogEntry {
        wave: spec.wave.clone(),
        load_id,
        date: spec.date,
        title: spec.title.clone(),
        kind: kind.into(),
        respondents,
        source: spec.source_text.clone(),
        source_sha256: source_sha256.clone(),
        spec: spec.spec_path.clone(),
        spec_sha256: r.spec_sha256.clone(),
        loaded_at: chrono::Utc::now().timestamp_micros(),
        // As the `responses` table spells them.
        segments,
    };
    commit_catalog(store, &entry, previous, &versions).await
}

/// The catalog commit of a wave whose data is committed (the switch that makes it
/// visible), then the cleanup of the load it replaced. A commit whose answer was lost
/// is recognised; one that did not land drops the load's rows.
async fn commit_catalog(
    store: &Store,
    entry: &CatalogEntry,
    previous: Option<&str>,
    versions: &HashMap<String, i64>,
) -> Result<()> {
    let (wave, load_id) = (&entry.wave, &entry.load_id);
    catalog::test_halt("data_committed").await;
    if let Err(e) = catalog::commit_entry(store, entry, previous, versions).await {
        // The commit may have landed even though its answer was lost (a connection
        // dropped after the request was sent): the catalog decides.
        match catalog::current(store).await {
            Ok(c) if c.entries.iter().any(|x| &x.load_id == load_id) => {
                warn!(event = "commit_recovered", wave = %wave, "the catalog commit of {wave} reported an error ({e}) but did land");
            }
            Ok(_) => {
                // Nothing of this load became visible; drop its rows.
                cleanup_load(store, wave, load_id).await;
                return Err(e);
            }
            Err(_) => {
                warn!(event = "cleanup_skipped", wave = %wave, "could not tell whether load {load_id} of {wave} committed; its rows stay until `gaptrack vacuum`");
                return Err(e);
            }
        }
    }
    catalog::test_halt("catalog_committed").await;
    if let Some(old) = previous {
        cleanup_load(store, wave, old).await;
    }
    Ok(())
}

/// Deletes the rows of a load that is no longer in the catalog (and the `panelstats` rows
/// other loads wrote against it). Failures are logged, not
/// fatal: the rows are invisible to readers and `vacuum` removes them later.
pub async fn cleanup_load(store: &Store, wave: &str, load_id: &str) {
    for name in crate::store::DATA_TABLES {
        let res = async {
            let Some(t) = store.load(name, None).await? else {
                return Ok::<(), Error>(());
            };
            let rows = col("wave")
                .eq(lit(wave))
                .and(col("load_id").eq(lit(load_id)));
            let (t, _) = t
                .delete()
                .with_predicate(rows)
                .await
                .map_err(|e| Error::delta(format!("cleaning up {name}"), e))?;
            if name == crate::store::PANELSTATS {
                // Other loads' cross sums with this one are dead with it.
                t.delete()
                    .with_predicate(col("other_load_id").eq(lit(load_id)))
                    .await
                    .map_err(|e| Error::delta(format!("cleaning up {name}"), e))?;
            }
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
                    if !first && append::holds_load(&t, load_id) {
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
                // A table written before a column was added (`statements` gained
                // min_code/max_code) gains it: its older rows read NULL there.
                .with_schema_mode(deltalake::operations::write::SchemaMode::Merge)
                .with_partition_columns(PARTITIONS)
                .with_configuration(tables::TABLE_PROPERTIES)
                .with_writer_properties(writer_properties())
                .with_commit_properties(CommitProperties::default().with_max_retries(retries))
                .await
                .map_err(|e| Error::delta(what, e))?;
            Ok(t.version().unwrap_or(0) as i64)
        }
    })
    .await
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
                .with_configuration(tables::TABLE_PROPERTIES)
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
                // by itself: files of this load in the table mean the commit landed.
                if let Some(v) = append::landed(store, RESPONSES, load_id).await? {
                    return Ok(Some(v));
                }
            }
            let table = responses_table(store, &staged.seg_names).await?;
            let existing = responses_column_names(&table)?;
            if spelled(&existing, &staged.seg_names) != staged.seg_names {
                return Ok(None);
            }
            responses_barrier().await;
            Ok(Some(
                append::commit_adds(&table, &staged.adds, "committing responses").await?,
            ))
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
