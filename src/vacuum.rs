//! `gaptrack vacuum`: removes what no reader of the current state needs.
//!
//! 1. Rows of loads the catalog does not name (a load that was killed or failed after
//!    committing some of its data, or whose replaced rows could not be cleaned up) are
//!    deleted from every data table, one delete commit per table. Only loads older than
//!    the retention are touched, so that a load still in flight in another process (its
//!    data committed, its catalog commit not yet) is left alone. A load's age is taken
//!    from the later of the time in its load id (when the load started) and the
//!    modification time of its newest data file (when its data was written).
//! 2. Then, in every table (`waves` too), Parquet files that the Delta log no longer
//!    references and that are older than the retention are deleted: files of rows that
//!    were deleted or replaced more than the retention ago (tombstones), and files that no
//!    commit ever added (left by a killed load) whose object is older than the retention.
//!    This is deltalake's vacuum in its full mode.
//!
//! Nothing that the current version of any table references is ever deleted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use deltalake::datafusion::prelude::{col, lit, Expr};
use deltalake::operations::vacuum::VacuumMode;
use futures::TryStreamExt;
use object_store::ObjectStore;
use tracing::info;

use crate::catalog;
use crate::error::{Error, Result};
use crate::store::{Store, DATA_TABLES, WAVES};

/// Delta's default retention: 7 days.
pub const DEFAULT_RETAIN_HOURS: u64 = 168;

/// What `vacuum` removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub dry_run: bool,
    pub retain_hours: u64,
    /// Loads not named by the catalog whose rows were deleted.
    pub loads: Vec<OrphanLoad>,
    /// Loads not named by the catalog that are younger than the retention (kept).
    pub young_loads: Vec<(String, String)>,
    /// Files deleted (or to be deleted), per table.
    pub files: Vec<TableFiles>,
}

/// The rows of one load that the catalog does not name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrphanLoad {
    pub wave: String,
    pub load_id: String,
    /// Per data table: (files, rows where the log knows them, bytes).
    pub tables: BTreeMap<String, (u64, Option<u64>, u64)>,
}

impl OrphanLoad {
    pub fn rows(&self) -> Option<u64> {
        self.tables.values().map(|t| t.1).sum()
    }
    pub fn files(&self) -> u64 {
        self.tables.values().map(|t| t.0).sum()
    }
    pub fn bytes(&self) -> u64 {
        self.tables.values().map(|t| t.2).sum()
    }
}

/// Files removed from one table.
#[derive(Debug, Clone, Default)]
pub struct TableFiles {
    pub table: String,
    /// Paths relative to the table root, with their size in bytes.
    pub files: Vec<(String, u64)>,
}

impl TableFiles {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.1).sum()
    }
}

impl Outcome {
    pub fn files(&self) -> usize {
        self.files.iter().map(|t| t.files.len()).sum()
    }
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(TableFiles::bytes).sum()
    }
}

/// The start time of a load from its id (`YYYYmmddTHHMMSS-…`, UTC), in ms since the epoch.
pub fn load_id_time_ms(load_id: &str) -> Option<i64> {
    let stamp = load_id.get(..15)?;
    let t = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S").ok()?;
    Some(t.and_utc().timestamp_millis())
}

/// Files of one table's current version, grouped by (wave, load_id):
/// (files, rows, bytes, newest modification time in ms).
type LoadFiles = BTreeMap<(String, String), (u64, Option<u64>, u64, i64)>;

async fn loads_of(store: &Store, name: &str) -> Result<LoadFiles> {
    let mut out: LoadFiles = BTreeMap::new();
    let Some(t) = store.load(name, None).await? else {
        return Ok(out);
    };
    let state = t
        .snapshot()
        .map_err(|e| Error::delta(format!("reading table {name}"), e))?;
    for f in state.log_data().iter() {
        let pv = f.partition_values_map();
        let get = |k: &str| pv.get(k).cloned().flatten().unwrap_or_default();
        let e = out
            .entry((get("wave"), get("load_id")))
            .or_insert((0, Some(0), 0, 0));
        e.0 += 1;
        e.1 = match (e.1, f.num_records()) {
            (Some(a), Some(b)) => Some(a + b as u64),
            _ => None,
        };
        e.2 += f.size().max(0) as u64;
        e.3 = e.3.max(f.modification_time());
    }
    Ok(out)
}

/// Finds the loads of the data tables that the catalog does not name, split into those
/// older than `cutoff_ms` and the younger ones.
async fn orphans(
    store: &Store,
    cutoff_ms: i64,
) -> Result<(Vec<OrphanLoad>, Vec<(String, String)>)> {
    let mut per_load: BTreeMap<(String, String), (OrphanLoad, i64)> = BTreeMap::new();
    for name in DATA_TABLES {
        for ((wave, load_id), (files, rows, bytes, newest)) in loads_of(store, name).await? {
            let e = per_load
                .entry((wave.clone(), load_id.clone()))
                .or_insert_with(|| {
                    (
                        OrphanLoad {
                            wave,
                            load_id,
                            tables: BTreeMap::new(),
                        },
                        i64::MIN,
                    )
                });
            e.0.tables.insert(name.to_string(), (files, rows, bytes));
            e.1 = e.1.max(newest);
        }
    }
    // The catalog is read after the data tables: a load whose catalog commit lands
    // between the two reads is live here, never an orphan.
    let live: BTreeSet<(String, String)> = catalog::current(store)
        .await?
        .entries
        .into_iter()
        .map(|e| (e.wave, e.load_id))
        .collect();
    let mut old = Vec::new();
    let mut young = Vec::new();
    for (key, (load, newest)) in per_load {
        if live.contains(&key) {
            continue;
        }
        let started = load_id_time_ms(&load.load_id).unwrap_or(i64::MIN);
        if newest.max(started) < cutoff_ms {
            old.push(load);
        } else {
            young.push(key);
        }
    }
    Ok((old, young))
}

fn load_predicate(loads: &[&OrphanLoad]) -> Option<Expr> {
    loads
        .iter()
        .map(|l| {
            col("wave")
                .eq(lit(l.wave.clone()))
                .and(col("load_id").eq(lit(l.load_id.clone())))
        })
        .reduce(Expr::or)
}

/// Deletes the rows of `loads` from every data table (one commit per table that holds
/// any). Before each commit the catalog is read again, and a load it names now is spared.
async fn delete_loads(store: &Store, loads: &[OrphanLoad]) -> Result<()> {
    for name in DATA_TABLES {
        let live: BTreeSet<(String, String)> = catalog::current(store)
            .await?
            .entries
            .into_iter()
            .map(|e| (e.wave, e.load_id))
            .collect();
        let here: Vec<&OrphanLoad> = loads
            .iter()
            .filter(|l| l.tables.contains_key(name))
            .filter(|l| !live.contains(&(l.wave.clone(), l.load_id.clone())))
            .collect();
        let Some(pred) = load_predicate(&here) else {
            continue;
        };
        let Some(t) = store.load(name, None).await? else {
            continue;
        };
        t.delete()
            .with_predicate(pred)
            .await
            .map_err(|e| Error::delta(format!("vacuum: deleting orphan rows from {name}"), e))?;
        info!(
            event = "vacuum_rows",
            table = name,
            loads = here.len(),
            "deleted the rows of {} loads not in the catalog from {name}",
            here.len()
        );
    }
    Ok(())
}

/// Sizes of the objects under a table (path relative to the table root -> bytes).
async fn object_sizes(store: &Store, name: &str) -> Result<HashMap<String, u64>> {
    let (root, _) = store.object_store();
    let prefix = store.path(name);
    let objects: Vec<object_store::ObjectMeta> = root
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(|e| Error::object_store(format!("listing {}{name}", store.url), e))?;
    let base = format!("{prefix}/");
    Ok(objects
        .into_iter()
        .map(|m| {
            let p = m.location.to_string();
            let rel = p.strip_prefix(&base).unwrap_or(&p).to_string();
            (rel, m.size)
        })
        .collect())
}

/// Removes (with `dry_run`: lists) the files of one table that its current version does
/// not reference and that are older than the retention.
async fn vacuum_files(
    store: &Store,
    name: &str,
    retain_hours: u64,
    dry_run: bool,
) -> Result<TableFiles> {
    let mut out = TableFiles {
        table: name.to_string(),
        files: vec![],
    };
    let Some(t) = store.load(name, None).await? else {
        return Ok(out);
    };
    let sizes = object_sizes(store, name).await?;
    let hours = i64::try_from(retain_hours).unwrap_or(i64::MAX / 3_600_000);
    let (_, metrics) = t
        .vacuum()
        .with_retention_period(chrono::Duration::hours(hours))
        .with_enforce_retention_duration(false)
        .with_mode(VacuumMode::Full)
        .with_dry_run(dry_run)
        .await
        .map_err(|e| Error::delta(format!("vacuum: removing unreferenced files of {name}"), e))?;
    for f in metrics.files_deleted {
        let rel = f
            .strip_prefix(&format!("{}/", store.path(name)))
            .unwrap_or(&f)
            .to_string();
        // deltalake also names the files of expired tombstones that an earlier vacuum
        // already deleted: only files that were there count.
        if let Some(size) = sizes.get(&rel) {
            out.files.push((rel, *size));
        }
    }
    out.files.sort();
    Ok(out)
}

/// Runs vacuum on the store: orphan rows first, then unreferenced files.
pub async fn vacuum(store: &Store, retain_hours: u64, dry_run: bool) -> Result<Outcome> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let retain_ms = i64::try_from(retain_hours)
        .ok()
        .and_then(|h| h.checked_mul(3_600_000))
        .unwrap_or(i64::MAX);
    let cutoff_ms = now_ms.saturating_sub(retain_ms);
    let (loads, young_loads) = orphans(store, cutoff_ms).await?;
    if !dry_run && !loads.is_empty() {
        delete_loads(store, &loads).await?;
    }
    let mut files = Vec::new();
    for name in DATA_TABLES.iter().chain(std::iter::once(&WAVES)) {
        let f = vacuum_files(store, name, retain_hours, dry_run).await?;
        if !f.files.is_empty() {
            info!(
                event = "vacuum_files",
                table = *name,
                files = f.files.len(),
                bytes = f.bytes(),
                dry_run,
                "{} {} unreferenced files ({} bytes) of {name}",
                if dry_run { "would remove" } else { "removed" },
                f.files.len(),
                f.bytes()
            );
        }
        files.push(f);
    }
    Ok(Outcome {
        dry_run,
        retain_hours,
        loads,
        young_loads,
        files,
    })
}

/// The text `gaptrack vacuum` prints.
pub fn describe(o: &Outcome) -> String {
    let mut s = String::new();
    let (verb_rows, verb_files) = if o.dry_run {
        ("would delete", "would remove")
    } else {
        ("deleted", "removed")
    };
    for l in &o.loads {
        let rows = l
            .rows()
            .map(|r| format!("{r} rows"))
            .unwrap_or_else(|| "rows".into());
        s.push_str(&format!(
            "vacuum: {verb_rows} load {} of wave {} (not in the catalog): {rows} in {} files, {} bytes\n",
            l.load_id,
            l.wave,
            l.files(),
            l.bytes()
        ));
    }
    for (wave, load_id) in &o.young_loads {
        s.push_str(&format!(
            "vacuum: kept load {load_id} of wave {wave}: not in the catalog, but younger than {} hours (it may still be loading)\n",
            o.retain_hours
        ));
    }
    for t in &o.files {
        if o.dry_run {
            for (f, size) in &t.files {
                s.push_str(&format!(
                    "vacuum: would remove {}/{f} ({size} bytes)\n",
                    t.table
                ));
            }
        }
        if !t.files.is_empty() {
            s.push_str(&format!(
                "vacuum: {verb_files} {} files of {} ({} bytes)\n",
                t.files.len(),
                t.table,
                t.bytes()
            ));
        }
    }
    s.push_str(&format!(
        "vacuum: {verb_rows} {} loads not in the catalog; {verb_files} {} files, {} bytes (retention {} hours){}\n",
        o.loads.len(),
        o.files(),
        o.bytes(),
        o.retain_hours,
        if o.dry_run { "; dry run, nothing changed" } else { "" }
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_id_times() {
        assert_eq!(
            load_id_time_ms("20240131T235959-0a1b2c3d4e5f"),
            Some(
                chrono::NaiveDate::from_ymd_opt(2024, 1, 31)
                    .and_then(|d| d.and_hms_opt(23, 59, 59))
                    .map(|t| t.and_utc().timestamp_millis())
                    .unwrap()
            )
        );
        assert_eq!(load_id_time_ms("not-a-load-id"), None);
        assert_eq!(load_id_time_ms("2024"), None);
        assert_eq!(load_id_time_ms("é20240131T235959"), None);
    }
}
