//! The `waves` catalog table: which load of which wave is live. Reading it gives a
//! consistent view of the store; committing it is the atomic switch of a load.

use std::collections::{BTreeMap, HashMap};

use deltalake::datafusion::prelude::{col, lit, SessionContext};
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use deltalake::DeltaTable;

use crate::error::InputError;
use crate::error::{Error, Result};
use crate::store::{commit_with_retries, CommitError, Store, DATA_TABLES, WAVES};
use crate::tables::{self, CatalogEntry};

/// The catalog at one version.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Delta version of the `waves` table; `None` for an empty store.
    pub version: Option<i64>,
    /// Live waves, ordered by date then id.
    pub entries: Vec<CatalogEntry>,
    /// Commit time of that version (ms since epoch).
    pub timestamp_ms: Option<i64>,
    /// The version of every data table that holds the rows of every load this catalog
    /// version names, as recorded by its commit (`None` for commits made before gaptrack
    /// recorded them: readers then go by [`Catalog::timestamp_ms`]).
    pub tables: Option<BTreeMap<String, i64>>,
}

/// The latest version of every data table. Read after the catalog version a commit
/// builds on: every load that version names committed its rows before, and no row of a
/// load is deleted while a catalog version names it, so these versions hold them all.
async fn table_versions(store: &Store) -> Result<BTreeMap<String, i64>> {
    let versions =
        futures::future::join_all(DATA_TABLES.iter().map(|t| store.latest_version(t))).await;
    let mut out = BTreeMap::new();
    for (name, v) in DATA_TABLES.iter().zip(versions) {
        if let Some(v) = v? {
            out.insert(name.to_string(), v);
        }
    }
    Ok(out)
}

/// Reads the rows of a loaded catalog table: the file(s) of a catalog as gaptrack writes
/// it (unpartitioned, see [`write_catalog`]) straight from the object store; one an
/// earlier build wrote partitioned by `wave` through DataFusion, which adds the
/// partition column.
pub async fn read(store: &Store, table: &DeltaTable) -> Result<Vec<CatalogEntry>> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let snapshot = table
        .snapshot()
        .map_err(|e| Error::delta("reading the waves table", e))?;
    let plain = !partitioned(table)
        && snapshot
            .log_data()
            .iter()
            .all(|f| f.deletion_vector_descriptor().is_none());
    if !plain {
        return read_partitioned(table).await;
    }
    let mut batches = Vec::new();
    for f in snapshot.log_data().iter() {
        let rel = format!("{WAVES}/{}", f.object_store_path());
        let unreadable = |e: &dyn std::fmt::Display| {
            Error::Other(format!("reading the waves table's file {rel}: {e}"))
        };
        let bytes = store
            .get(&rel)
            .await?
            .ok_or_else(|| unreadable(&"it is missing"))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .and_then(|b| b.build())
            .map_err(|e| unreadable(&e))?;
        for b in reader {
            batches.push(b?);
        }
    }
    tables::catalog_from_batches(&batches)
}

/// Reads a catalog table through DataFusion.
async fn read_partitioned(table: &DeltaTable) -> Result<Vec<CatalogEntry>> {
    let ctx = SessionContext::new();
    table
        .update_datafusion_session(&ctx.state())
        .map_err(|e| Error::delta("reading the waves table", e))?;
    let provider = table.table_provider().await?;
    let batches = ctx.read_table(provider)?.collect().await?;
    tables::catalog_from_batches(&batches)
}

/// The latest catalog.
pub async fn current(store: &Store) -> Result<Catalog> {
    at(store, None).await
}

/// The catalog at `version` (latest when `None`).
pub async fn at(store: &Store, version: Option<i64>) -> Result<Catalog> {
    Ok(at_with_table(store, version).await?.0)
}

/// The catalog at `version` (latest when `None`), and the `waves` table it was read from
/// (`None` for an empty store).
pub async fn at_with_table(
    store: &Store,
    version: Option<i64>,
) -> Result<(Catalog, Option<DeltaTable>)> {
    if let Some(v) = version {
        check_version(store, v).await?;
    }
    let Some(table) = store.load(WAVES, version).await? else {
        return Ok((Catalog::default(), None));
    };
    let entries = read(store, &table).await?;
    let v = table.version().map(|v| v as i64);
    let info = match v {
        Some(v) => store.commit_info(WAVES, v).await?,
        None => None,
    };
    let recorded = info
        .as_ref()
        .and_then(|i| i.pointer("/gaptrack/table_versions"))
        .and_then(|t| t.as_object());
    let cat = Catalog {
        version: v,
        timestamp_ms: info
            .as_ref()
            .and_then(|i| i.get("timestamp"))
            .and_then(|t| t.as_i64()),
        tables: recorded.map(|t| {
            t.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_i64()?)))
                .collect()
        }),
        entries,
    };
    Ok((cat, Some(table)))
}

/// The catalog version `--as-of TIME` names: the latest committed at or before `t`, by
/// the commit times `gaptrack history` shows. A time before the first commit is invalid.
pub async fn version_at(store: &Store, t: chrono::DateTime<chrono::Utc>) -> Result<i64> {
    let commits = history(store).await?;
    let ms = t.timestamp_millis();
    if let Some(c) = commits.iter().rev().find(|c| c.timestamp_ms <= ms) {
        return Ok(c.version);
    }
    let when = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let problem = match commits.first() {
        None => format!("held no waves at {when}: it holds no waves"),
        Some(c) => format!(
            "held no waves at {when}: its first version {} was committed at {}",
            c.version,
            chrono::DateTime::from_timestamp_millis(c.timestamp_ms)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default()
        ),
    };
    Err(Error::input(InputError::new(
        format!("the store {}", store.display),
        problem,
    )))
}

/// A catalog version that `--as-of` may name: one the store has.
async fn check_version(store: &Store, v: i64) -> Result<()> {
    let latest = store.latest_version(WAVES).await?;
    let problem = match latest {
        None => format!("has no version {v}: it holds no waves"),
        Some(l) if v > l => format!("has no version {v}: its latest version is {l}"),
        Some(_) if store.commit_info(WAVES, v).await?.is_none() => {
            format!("no longer has the log of version {v}")
        }
        Some(_) => return Ok(()),
    };
    Err(Error::input(InputError::new(
        format!("the store {}", store.display),
        problem,
    )))
}

/// Commit properties of a catalog commit. No retries inside deltalake: a catalog commit
/// is a compare-and-swap on the version it read (see [`commit_entry`]), and the retry
/// decision is gaptrack's.
fn props(meta: Vec<(String, serde_json::Value)>) -> CommitProperties {
    CommitProperties::default()
        .with_metadata(meta)
        .with_max_retries(0)
}

/// The load id of `wave` among a catalog's rows (`None` when the wave is not loaded).
fn live_load(entries: &[CatalogEntry], wave: &str) -> Option<String> {
    entries
        .iter()
        .find(|e| e.wave == wave)
        .map(|e| e.load_id.clone())
}

/// Whether a catalog table is partitioned (by `wave`, as earlier builds wrote it).
fn partitioned(table: &DeltaTable) -> bool {
    table
        .snapshot()
        .is_ok_and(|s| !s.metadata().partition_columns().is_empty())
}

fn changed_meanwhile(wave: &str, expected: Option<&str>, found: Option<&str>) -> Error {
    let what = match (expected, found) {
        (None, Some(_)) => "was loaded by another writer",
        (Some(_), None) => "was removed by another writer",
        _ => "was replaced by another writer",
    };
    Error::Conflict(format!(
        "wave {wave} {what} while this command ran; the store keeps the other writer's load"
    ))
}

/// Commits one catalog row: the wave appears (or its previous load is replaced) in one
/// atomic commit.
///
/// The commit is a compare-and-swap: it succeeds only if the wave's live load is still
/// `expected` (the load this command saw and replaces; `None` for a new wave). A commit
/// of another writer that touched other waves only is retried on the new catalog
/// version (bounded, with backoff); one that loaded, replaced or removed the same wave
/// fails with [`Error::Conflict`] (exit 4) and nothing of this load becomes visible.
pub async fn commit_entry(
    store: &Store,
    entry: &CatalogEntry,
    expected: Option<&str>,
    data_versions: &HashMap<String, i64>,
) -> Result<i64> {
    let operation = if expected.is_some() {
        "replaced"
    } else {
        "loaded"
    };
    let what = &format!("committing wave {}", entry.wave);
    commit_catalog(what, |first| {
        async move {
            let existing = store.load(WAVES, None).await?;
            if first {
                test_barrier().await;
            }
            let meta = tables::commit_metadata(
                operation,
                &entry.wave,
                Some(&entry.load_id),
                Some(&entry.source_sha256),
                data_versions,
                &table_versions(store).await?,
            );
            let mut entries = match &existing {
                Some(t) => read(store, t).await?,
                None => Vec::new(),
            };
            let found = live_load(&entries, &entry.wave);
            if let (Some(t), false) = (&existing, first) {
                if found.as_deref() == Some(entry.load_id.as_str()) {
                    // An earlier attempt did commit, but its answer was lost (a
                    // retried conditional PUT then finds its own commit): done.
                    tracing::info!(event = "commit_recognised", table = WAVES, wave = %entry.wave, "the catalog commit of {} did land", entry.wave);
                    return Ok(t.version().unwrap_or(0) as i64);
                }
            }
            if found.as_deref() != expected {
                return Err(CommitError::Fail(changed_meanwhile(
                    &entry.wave,
                    expected,
                    found.as_deref(),
                )));
            }
            entries.retain(|e| e.wave != entry.wave);
            entries.push(entry.clone());
            let t = write_catalog(store, existing, &entries, meta, what).await?;
            Ok(t.version().unwrap_or(0) as i64)
        }
    })
    .await
}

/// Commits `entries` as the whole catalog: one file, which replaces every file of the
/// version `existing` was read at (a new table when `None`). Reading the catalog then
/// reads one file however many waves the store holds. A catalog that an earlier
/// gaptrack wrote partitioned by `wave` (a file per wave) is rewritten unpartitioned by
/// its next commit; readers read either layout.
async fn write_catalog(
    store: &Store,
    existing: Option<DeltaTable>,
    entries: &[CatalogEntry],
    meta: Vec<(String, serde_json::Value)>,
    what: &str,
) -> std::result::Result<DeltaTable, CommitError> {
    let batch = tables::waves_batch(entries)?;
    let write = match existing {
        Some(t) => {
            let was_partitioned = partitioned(&t);
            let write = t.write(vec![batch]).with_save_mode(SaveMode::Overwrite);
            if was_partitioned {
                write
                    .with_schema_mode(SchemaMode::Overwrite)
                    .with_partition_columns(Vec::<String>::new())
            } else {
                write
            }
        }
        None => store
            .table_handle(WAVES)?
            .write(vec![batch])
            .with_save_mode(SaveMode::Append)
            .with_configuration(crate::tables::TABLE_PROPERTIES),
    };
    Ok(write
        .with_commit_properties(props(meta))
        .await
        .map_err(|e| Error::delta(what, e))?)
}

/// [`commit_with_retries`] of a catalog commit: `attempt(first)` is told whether it is
/// the first attempt (which waits at the test barrier).
async fn commit_catalog<T, F, Fut>(what: &str, mut attempt: F) -> Result<T>
where
    F: FnMut(bool) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, CommitError>>,
{
    let mut attempts = 0;
    commit_with_retries(what, || {
        attempts += 1;
        attempt(attempts == 1)
    })
    .await
}

/// A hook for tests of concurrent writers: with `GAPTRACK_TEST_COMMIT_BARRIER=DIR`, the
/// first attempt of a catalog commit, once it has read the catalog, creates
/// `DIR/<pid>.ready` and waits (at most 60 s) until `DIR/go` exists. A test releases
/// several processes at once, so that their commits race on the same catalog version.
async fn test_barrier() {
    let Some(dir) = std::env::var_os("GAPTRACK_TEST_COMMIT_BARRIER") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let _ = std::fs::write(dir.join(format!("{}.ready", std::process::id())), b"");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !dir.join("go").exists() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// A hook for crash tests: with `GAPTRACK_TEST_HALT_AT=POINT` and
/// `GAPTRACK_TEST_HALT_DIR=DIR`, a load that reaches `POINT` creates `DIR/POINT` and
/// waits there (at most 60 s) to be killed. Points: `data_committed` (every data table
/// holds the new load; the catalog does not name it yet), `catalog_committed` (the catalog
/// names the new load; the replaced rows are still there), `responses_cleaned` (the
/// replaced rows are gone from `responses` only).
pub async fn test_halt(point: &str) {
    let (Some(at), Some(dir)) = (
        std::env::var_os("GAPTRACK_TEST_HALT_AT"),
        std::env::var_os("GAPTRACK_TEST_HALT_DIR"),
    ) else {
        return;
    };
    if at != point {
        return;
    }
    let _ = std::fs::write(std::path::Path::new(&dir).join(point), b"");
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
}

/// Removes one wave's catalog row in one commit, if its live load is still `expected`
/// (the load the caller saw, whose rows it then drops). Commits of other writers on
/// other waves are retried as in [`commit_entry`]; a concurrent change of the same wave
/// is a [`Error::Conflict`].
pub async fn remove_entry(store: &Store, wave: &str, expected: &str) -> Result<i64> {
    let what = &format!("removing wave {wave}");
    commit_catalog(what, |first| {
        async move {
            let Some(t) = store.load(WAVES, None).await? else {
                return Err(CommitError::Fail(changed_meanwhile(
                    wave,
                    Some(expected),
                    None,
                )));
            };
            let mut entries = read(store, &t).await?;
            let found = live_load(&entries, wave);
            if !first && found.is_none() {
                // An earlier attempt did commit, but its answer was lost: the wave is gone.
                tracing::info!(
                    event = "commit_recognised",
                    table = WAVES,
                    wave,
                    "the removal of {wave} did land"
                );
                return Ok(t.version().unwrap_or(0) as i64);
            }
            if found.as_deref() != Some(expected) {
                return Err(CommitError::Fail(changed_meanwhile(
                    wave,
                    Some(expected),
                    found.as_deref(),
                )));
            }
            let meta = tables::commit_metadata(
                "removed",
                wave,
                None,
                None,
                &HashMap::new(),
                &table_versions(store).await?,
            );
            entries.retain(|e| e.wave != wave);
            let t = write_catalog(store, Some(t), &entries, meta, what).await?;
            Ok(t.version().unwrap_or(0) as i64)
        }
    })
    .await
}

/// One commit of the catalog, as `gaptrack history` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub version: i64,
    /// Commit time, ms since the epoch.
    pub timestamp_ms: i64,
    /// loaded | replaced | removed
    pub operation: String,
    pub wave: String,
    pub source_sha256: Option<String>,
}

/// The catalog's commits, oldest first.
pub async fn history(store: &Store) -> Result<Vec<HistoryEntry>> {
    use futures::StreamExt;
    let Some(t) = store.load(WAVES, None).await? else {
        return Ok(vec![]);
    };
    let latest = t.version().unwrap_or(0) as i64;
    let mut out = Vec::new();
    let mut stream = t.history(None);
    let mut v = latest;
    while let Some(ci) = stream.next().await {
        let ci = ci.map_err(|e| Error::delta("reading history", e))?;
        let g = ci.info.get("gaptrack").cloned().unwrap_or_default();
        let maintenance = g.is_null()
            && ci
                .operation
                .as_deref()
                .is_some_and(|o| o.to_ascii_uppercase().starts_with("VACUUM"));
        if maintenance {
            // `gaptrack vacuum` changes no wave: not a row of the history.
            v -= 1;
            continue;
        }
        let s = |k: &str| g.get(k).and_then(|x| x.as_str()).map(str::to_string);
        out.push(HistoryEntry {
            version: v,
            timestamp_ms: ci.timestamp.unwrap_or(0),
            operation: s("operation")
                .unwrap_or_else(|| ci.operation.clone().unwrap_or_default().to_lowercase()),
            wave: s("wave").unwrap_or_default(),
            source_sha256: s("source_sha256"),
        });
        v -= 1;
    }
    out.reverse();
    Ok(out)
}

/// The wording of every statement of the catalog's waves, as stored in `statements`:
/// (wave, statement) → text. Empty for a store without statements.
pub async fn statement_texts(
    store: &Store,
    cat: &Catalog,
) -> Result<HashMap<(String, String), String>> {
    use arrow::array::Array;
    let mut out = HashMap::new();
    if cat.entries.is_empty() {
        return Ok(out);
    }
    let Some(table) = store.load(crate::store::STATEMENTS, None).await? else {
        return Ok(out);
    };
    let ctx = SessionContext::new();
    table
        .update_datafusion_session(&ctx.state())
        .map_err(|e| Error::delta("reading the statements table", e))?;
    let live: Vec<_> = cat.entries.iter().map(|e| lit(e.load_id.clone())).collect();
    let batches = ctx
        .read_table(table.table_provider().await?)?
        .filter(col("load_id").in_list(live, false))?
        .select_columns(&["wave", "statement", "text"])?
        .collect()
        .await?;
    for b in &batches {
        // Text columns may come back as Utf8, LargeUtf8 or views: read them as Utf8.
        let text = |i: usize| -> Result<arrow::array::StringArray> {
            let a = arrow::compute::cast(b.column(i), &arrow::datatypes::DataType::Utf8)?;
            Ok(arrow::array::AsArray::as_string::<i32>(&a).clone())
        };
        let (wave, statement, wording) = (text(0)?, text(1)?, text(2)?);
        for i in 0..b.num_rows() {
            if wave.is_valid(i) && statement.is_valid(i) && wording.is_valid(i) {
                out.insert(
                    (wave.value(i).to_string(), statement.value(i).to_string()),
                    wording.value(i).to_string(),
                );
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(wave: &str, load_id: &str, day: u32) -> CatalogEntry {
        CatalogEntry {
            wave: wave.into(),
            load_id: load_id.into(),
            date: chrono::NaiveDate::from_ymd_opt(2024, 1, day).unwrap(),
            title: None,
            kind: "microdata".into(),
            respondents: Some(10),
            source: format!("{wave}.csv"),
            source_sha256: format!("sha-{load_id}"),
            spec: format!("{wave}.toml"),
            spec_sha256: "spec".into(),
            loaded_at: 0,
            segments: vec!["role".into()],
        }
    }

    /// The data files of the latest catalog version and its partition columns.
    async fn layout(store: &Store) -> (usize, Vec<String>) {
        let t = store.load(WAVES, None).await.unwrap().unwrap();
        let s = t.snapshot().unwrap();
        (
            s.log_data().iter().count(),
            s.metadata().partition_columns().to_vec(),
        )
    }

    fn waves(cat: &Catalog) -> Vec<(String, String)> {
        cat.entries
            .iter()
            .map(|e| (e.wave.clone(), e.load_id.clone()))
            .collect()
    }

    /// Every catalog version is one unpartitioned file holding every live wave, through
    /// loads, a replacement and a removal; older versions still read as they were.
    #[tokio::test]
    async fn every_version_is_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().to_str().unwrap()).unwrap();
        let none = HashMap::new();
        commit_entry(&store, &entry("w1", "a", 1), None, &none)
            .await
            .unwrap();
        commit_entry(&store, &entry("w2", "b", 2), None, &none)
            .await
            .unwrap();
        commit_entry(&store, &entry("w3", "c", 3), None, &none)
            .await
            .unwrap();
        commit_entry(&store, &entry("w2", "d", 2), Some("b"), &none)
            .await
            .unwrap();
        let v = remove_entry(&store, "w1", "a").await.unwrap();
        assert_eq!(layout(&store).await, (1, vec![]));
        let now = current(&store).await.unwrap();
        assert_eq!(now.version, Some(v));
        let expect = |w: &[(&str, &str)]| -> Vec<(String, String)> {
            w.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(waves(&now), expect(&[("w2", "d"), ("w3", "c")]));
        let before = at(&store, Some(v - 1)).await.unwrap();
        assert_eq!(
            waves(&before),
            expect(&[("w1", "a"), ("w2", "d"), ("w3", "c")])
        );
        // A stale expectation is a conflict, and changes nothing.
        let err = commit_entry(&store, &entry("w3", "e", 3), Some("x"), &none).await;
        assert!(matches!(err, Err(Error::Conflict(_))), "{err:?}");
        assert!(remove_entry(&store, "w1", "a").await.is_err());
        assert_eq!(current(&store).await.unwrap().version, Some(v));
        // Removing the last waves leaves an empty catalog, not a missing one.
        remove_entry(&store, "w2", "d").await.unwrap();
        remove_entry(&store, "w3", "c").await.unwrap();
        let empty = current(&store).await.unwrap();
        assert!(empty.entries.is_empty() && empty.version.is_some());
    }

    /// A catalog an earlier gaptrack wrote (partitioned by `wave`, a file per wave) reads
    /// as it is, and its next commit rewrites it as one unpartitioned file keeping every
    /// wave.
    #[tokio::test]
    async fn a_partitioned_catalog_is_rewritten_by_its_next_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().to_str().unwrap()).unwrap();
        let old = [entry("w1", "a", 1), entry("w2", "b", 2)];
        store
            .table_handle(WAVES)
            .unwrap()
            .write(vec![tables::waves_batch(&old).unwrap()])
            .with_partition_columns(["wave"])
            .with_configuration(crate::tables::TABLE_PROPERTIES)
            .await
            .unwrap();
        assert_eq!(layout(&store).await, (2, vec!["wave".to_string()]));
        let cat = current(&store).await.unwrap();
        assert_eq!(cat.entries, old.to_vec());
        let none = HashMap::new();
        commit_entry(&store, &entry("w3", "c", 3), None, &none)
            .await
            .unwrap();
        assert_eq!(layout(&store).await, (1, vec![]));
        let mut all = old.to_vec();
        all.push(entry("w3", "c", 3));
        assert_eq!(current(&store).await.unwrap().entries, all);
    }
}
