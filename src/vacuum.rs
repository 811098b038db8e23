//! `gaptrack vacuum`: removes what no reader of the store needs.
//!
//! 1. Rows of loads the catalog does not name (a load that was killed or failed after
//!    committing some of its data, or whose replaced rows could not be cleaned up) are
//!    deleted from every data table, one delete commit per table. A load still in flight
//!    in another process (its data committed, its catalog commit not yet) is never
//!    touched: every load holds a lease while it runs (see [`crate::ingest::lease`]), and
//!    a load held by a live lease, or the load it replaces, is kept whatever the
//!    retention. Without a lease, only loads older than the retention are deleted; a
//!    load's age is the later of the time in its load id (when it started) and the
//!    modification time of its newest data file.
//! 2. Then, in every table (`waves` too), data files (`*.parquet` outside `_delta_log`
//!    and other `_`/`.` directories) that the table's latest version does not reference
//!    are deleted when no version within the retention can need them: files that a
//!    commit removed more than the retention ago (tombstones), and files that no commit
//!    added, of a load that is not running (no live lease) and older than the retention.
//!    A file that no commit added and that no load can be found for (a `waves` file
//!    whose catalog commit may be under way) is kept for at least
//!    [`MIN_RETAIN_HOURS`] even with `--force`. Any other file (not `*.parquet`, not
//!    named like a data file) is never touched.
//! 3. The kept results of the views (`_gaptrack/cache/`, written by `gaptrack query`)
//!    of every catalog version but the latest are deleted.
//!
//! The object listing is taken first, then the leases, then the table's latest version:
//! a file committed meanwhile is referenced by that version, and a file of a load that
//! finished meanwhile too. Nothing that the latest version of any table references is
//! ever deleted. A retention below [`MIN_RETAIN_HOURS`] is refused (exit 2) unless
//! `force`, as Delta Lake's own VACUUM refuses one below the table's minimum. vacuum
//! writes no commit of its own besides the orphan rows' delete commits.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use deltalake::datafusion::prelude::{col, lit, Expr};
use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use tracing::{info, warn};

use crate::catalog;
use crate::error::{Error, Result};
use crate::ingest::lease;
use crate::store::{Store, DATA_TABLES, WAVES};

/// Delta's default retention: 7 days.
pub const DEFAULT_RETAIN_HOURS: u64 = 168;

/// The smallest retention accepted without `--force`; also how long a data file that no
/// commit added and no load can be found for is kept, even with `--force`.
pub const MIN_RETAIN_HOURS: u64 = 1;

/// What `vacuum` removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub dry_run: bool,
    pub retain_hours: u64,
    /// Loads not named by the catalog whose rows were deleted.
    pub loads: Vec<OrphanLoad>,
    /// Loads not named by the catalog that are younger than the retention (kept).
    pub young_loads: Vec<(String, String)>,
    /// Loads not named by the catalog that a load in progress holds (kept): (wave,
    /// load id, who holds it).
    pub held_loads: Vec<(String, String, String)>,
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
    let live = live_loads(store).await?;
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

/// The (wave, load id) of every load the catalog names now.
async fn live_loads(store: &Store) -> Result<BTreeSet<(String, String)>> {
    Ok(catalog::current(store)
        .await?
        .entries
        .into_iter()
        .map(|e| (e.wave, e.load_id))
        .collect())
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
/// A delete that loses a race (another process cleaned up the same rows) is tried again
/// on the new table version.
async fn delete_loads(store: &Store, loads: &[OrphanLoad]) -> Result<()> {
    for name in DATA_TABLES {
        let what = format!("vacuum: deleting orphan rows from {name}");
        crate::store::commit_with_retries(&what, || async {
            let live = live_loads(store).await?;
            let here: Vec<&OrphanLoad> = loads
                .iter()
                .filter(|l| l.tables.contains_key(name))
                .filter(|l| !live.contains(&(l.wave.clone(), l.load_id.clone())))
                .collect();
            let Some(pred) = load_predicate(&here) else {
                return Ok(());
            };
            let Some(t) = store.load(name, None).await? else {
                return Ok(());
            };
            t.delete()
                .with_predicate(pred)
                .await
                .map_err(|e| Error::delta(&what, e))?;
            info!(
                event = "vacuum_rows",
                table = name,
                loads = here.len(),
                "deleted the rows of {} loads not in the catalog from {name}",
                here.len()
            );
            Ok(())
        })
        .await?;
    }
    Ok(())
}

/// `%XX` escapes decoded (paths in the Delta log and in listings may differ in escaping).
fn decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            if let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The load ids that live leases hold (each load's own and the one it replaces), with
/// who holds them; and the leases that are not live any more.
async fn held_loads(store: &Store) -> Result<(HashMap<String, String>, Vec<String>)> {
    let mut held = HashMap::new();
    let mut dead = Vec::new();
    for l in lease::list(store).await? {
        if !l.live {
            dead.push(l.rel);
            continue;
        }
        let who = format!(
            "load {} of wave {} in process {} on {}",
            l.info.load_id,
            l.info.wave,
            l.info.pid,
            if l.info.host.is_empty() {
                "an unknown host"
            } else {
                l.info.host.as_str()
            }
        );
        if let Some(r) = &l.info.replaces {
            held.insert(r.clone(), who.clone());
        }
        held.insert(l.info.load_id.clone(), who);
    }
    Ok((held, dead))
}

/// The files the latest version of table `name` references, and those its log removed
/// with the time of their (latest) removal; both as paths inside the table.
async fn logged_files(
    store: &Store,
    name: &str,
) -> Result<(HashSet<String>, HashMap<String, Option<i64>>)> {
    let mut referenced: HashSet<String> = HashSet::new();
    let mut removed: HashMap<String, Option<i64>> = HashMap::new();
    let Some(t) = store.load(name, None).await? else {
        return Ok((referenced, removed));
    };
    let snapshot = t
        .snapshot()
        .map_err(|e| Error::delta(format!("reading table {name}"), e))?;
    for f in snapshot.log_data().iter() {
        referenced.insert(decoded(&f.path()));
    }
    let log_store = t.log_store();
    let tombstones: Vec<_> = snapshot
        .all_tombstones(log_store.as_ref())
        .try_collect()
        .await
        .map_err(|e| Error::delta(format!("reading table {name}"), e))?;
    for r in tombstones {
        let ts = r.deletion_timestamp();
        let e = removed.entry(decoded(&r.path())).or_insert(ts);
        // Removed twice: the later removal counts.
        *e = match (*e, ts) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }
    Ok((referenced, removed))
}

/// Removes (with `dry_run`: lists) the data files of one table that no version within
/// the retention needs (see the module documentation). `cutoff_ms`: the retention's
/// start; `floor_ms`: the latest modification time of a file that can be attributed to
/// no load.
async fn vacuum_files(
    store: &Store,
    name: &str,
    cutoff_ms: i64,
    floor_ms: i64,
    dry_run: bool,
) -> Result<TableFiles> {
    let mut out = TableFiles {
        table: name.to_string(),
        files: vec![],
    };
    // 1. What is there.
    let (root, _) = store.object_store();
    let prefix = store.path(name);
    let objects: Vec<object_store::ObjectMeta> = root
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(|e| Error::object_store(format!("listing {}{name}", store.url), e))?;
    if objects.is_empty() {
        return Ok(out);
    }
    // 2. Which loads are running (after the listing).
    let (held, _) = held_loads(store).await?;
    // 3. The table's latest version (after both).
    let (referenced, removed) = logged_files(store, name).await?;
    let base = format!("{prefix}/");
    for m in objects {
        let p = m.location.to_string();
        let Some(rel) = p.strip_prefix(&base) else {
            continue;
        };
        let parts: Vec<&str> = rel.split('/').collect();
        // `_delta_log`, `_change_data`, hidden files: never.
        if parts
            .iter()
            .any(|s| s.starts_with('_') || s.starts_with('.'))
        {
            continue;
        }
        let file = parts.last().copied().unwrap_or_default();
        if !file.ends_with(".parquet") {
            continue;
        }
        let key = decoded(rel);
        if referenced.contains(&key) {
            continue;
        }
        let modified = m.last_modified.timestamp_millis();
        let delete = match removed.get(&key) {
            // Removed by a commit: versions up to that commit reference it.
            Some(when) => when.unwrap_or(modified) <= cutoff_ms,
            // Added by no commit the log knows: a load's files before its commit, or
            // the files of a load that died, or of an expired tombstone.
            None if file.starts_with("part-") => {
                let load = parts
                    .iter()
                    .find_map(|s| s.strip_prefix("load_id="))
                    .map(decoded);
                match load {
                    Some(l) => !held.contains_key(&l) && modified <= cutoff_ms,
                    None => modified <= cutoff_ms.min(floor_ms),
                }
            }
            // Not a data file of gaptrack or deltalake: not ours to remove.
            None => false,
        };
        if !delete {
            continue;
        }
        remove_listed(store, &m, name, rel, dry_run, &mut out).await?;
    }
    out.files.sort();
    Ok(out)
}

/// Deletes a listed object `dir/rel` (with `dry_run`: nothing) and records it in `out`.
async fn remove_listed(
    store: &Store,
    m: &object_store::ObjectMeta,
    dir: &str,
    rel: &str,
    dry_run: bool,
    out: &mut TableFiles,
) -> Result<()> {
    if !dry_run {
        let (root, _) = store.object_store();
        match root.delete(&m.location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                return Err(Error::object_store(
                    format!("vacuum: removing {}{dir}/{rel}", store.url),
                    e,
                ))
            }
        }
    }
    out.files.push((rel.to_string(), m.size));
    Ok(())
}

/// Removes (with `dry_run`: lists) the kept view results (`_gaptrack/cache/`) of
/// every catalog version but the latest: they can only answer `--as-of` statements,
/// which compute them again.
async fn vacuum_cache(store: &Store, dry_run: bool) -> Result<TableFiles> {
    use crate::store::KEPT_RESULTS as CACHE_DIR;
    let mut out = TableFiles {
        table: CACHE_DIR.to_string(),
        files: vec![],
    };
    let (root, _) = store.object_store();
    let prefix = store.path(CACHE_DIR);
    let objects: Vec<object_store::ObjectMeta> = match root.list(Some(&prefix)).try_collect().await
    {
        Ok(o) => o,
        Err(object_store::Error::NotFound { .. }) => return Ok(out),
        Err(e) => {
            return Err(Error::object_store(
                format!("listing {}{CACHE_DIR}", store.url),
                e,
            ))
        }
    };
    let latest = store.latest_version(WAVES).await?;
    let base = format!("{prefix}/");
    for m in objects {
        let p = m.location.to_string();
        let Some(rel) = p.strip_prefix(&base) else {
            continue;
        };
        let version = rel
            .split('/')
            .next()
            .and_then(|v| v.strip_prefix('v'))
            .and_then(|v| v.parse::<i64>().ok());
        if version.is_none() || version == latest {
            continue;
        }
        remove_listed(store, &m, CACHE_DIR, rel, dry_run, &mut out).await?;
    }
    out.files.sort();
    Ok(out)
}

/// Runs vacuum on the store: orphan rows first, then unreferenced files. A retention
/// below [`MIN_RETAIN_HOURS`] needs `force` (else exit 2).
pub async fn vacuum(
    store: &Store,
    retain_hours: u64,
    dry_run: bool,
    force: bool,
) -> Result<Outcome> {
    if retain_hours < MIN_RETAIN_HOURS && !force {
        return Err(Error::Usage(format!(
            "vacuum: --retain-hours {retain_hours} is below the safe minimum of {MIN_RETAIN_HOURS} hour: \
             it would remove the files that readers of the last hour's versions (`--as-of`) still need; \
             pass --force to remove them anyway (the files of the latest version and of loads in progress are kept even then)"
        )));
    }
    let retain_ms = i64::try_from(retain_hours)
        .ok()
        .and_then(|h| h.checked_mul(3_600_000))
        .unwrap_or(i64::MAX);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let (candidates, young_loads) = orphans(store, now_ms.saturating_sub(retain_ms)).await?;
    // The leases are read after the data tables and the catalog: a load that finished
    // meanwhile is named by the catalog that `delete_loads` reads again.
    let (held, _) = held_loads(store).await?;
    let mut loads = Vec::new();
    let mut held_loads_out = Vec::new();
    for l in candidates {
        match held.get(&l.load_id) {
            Some(who) => held_loads_out.push((l.wave, l.load_id, who.clone())),
            None => loads.push(l),
        }
    }
    if !dry_run && !loads.is_empty() {
        delete_loads(store, &loads).await?;
    }
    // Taken after the deletes: their files go in this run when the retention is 0.
    let now_ms = chrono::Utc::now().timestamp_millis();
    let cutoff_ms = now_ms.saturating_sub(retain_ms);
    let floor_ms = now_ms - (MIN_RETAIN_HOURS as i64) * 3_600_000;
    let mut files = Vec::new();
    for name in DATA_TABLES.iter().chain(std::iter::once(&WAVES)) {
        let f = vacuum_files(store, name, cutoff_ms, floor_ms, dry_run).await?;
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
    files.push(vacuum_cache(store, dry_run).await?);
    if !dry_run {
        // Leases of loads that are not running any more.
        match held_loads(store).await {
            Ok((_, dead)) => {
                for rel in dead {
                    lease::remove(store, &rel).await;
                }
            }
            Err(e) => warn!("vacuum: could not list the load leases: {e}"),
        }
    }
    Ok(Outcome {
        dry_run,
        retain_hours,
        loads,
        young_loads,
        held_loads: held_loads_out,
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
    for (wave, load_id, who) in &o.held_loads {
        s.push_str(&format!(
            "vacuum: kept load {load_id} of wave {wave}: not in the catalog, but held by a load in progress ({who})\n"
        ));
    }
    for t in &o.files {
        // Kept view results are counted, not listed: their names are hashes.
        if o.dry_run && t.table != crate::store::KEPT_RESULTS {
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
