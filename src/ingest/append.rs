//! Appends of files a load wrote itself (`responses`, `respondent_ids`): their Delta add
//! actions with the load's partition values, the commit, and the recognition of a commit
//! that landed although its answer was lost (load ids are unique: files of the load in
//! the table mean its commit is there).

use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add, StructField};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::DeltaTable;
use indexmap::IndexMap;
use tracing::info;

use crate::error::{Error, Result};
use crate::store::Store;
use crate::tables::{self, PARTITIONS};

/// A written file: (path in the store, size, Delta stats).
pub(super) type FileDone = (String, u64, String);

/// The add action of a file of `table` (`rel` is its path in the store) in the partition
/// of a load.
pub(super) fn add_action(
    table: &str,
    (rel, size, stats): FileDone,
    wave: &str,
    load_id: &str,
) -> Add {
    let mut pv: IndexMap<String, Option<String>> = IndexMap::new();
    pv.insert("wave".into(), Some(wave.to_string()));
    pv.insert("load_id".into(), Some(load_id.to_string()));
    Add {
        path: rel[table.len() + 1..].to_string(),
        partition_values: pv.into_iter().collect(),
        size: size as i64,
        modification_time: chrono::Utc::now().timestamp_millis(),
        data_change: true,
        stats: Some(stats),
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    }
}

/// Commits `adds` to `table` as one append; returns the new version.
pub(super) async fn commit_adds(table: &DeltaTable, adds: &[Add], what: &str) -> Result<i64> {
    let actions: Vec<Action> = adds.iter().cloned().map(Action::Add).collect();
    let snapshot = table.snapshot().map_err(|e| Error::delta(what, e))?;
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
        .map_err(|e| Error::delta(what, e))?;
    Ok(done.version() as i64)
}

/// Commits the files of a load to the table `name` (created with `columns`, partitioned
/// by wave and load id, if it does not exist), trying again when another writer
/// committed first. Returns the new version.
pub(super) async fn append_files(
    store: &Store,
    name: &str,
    load_id: &str,
    adds: &[Add],
    columns: Vec<StructField>,
) -> Result<i64> {
    let what = format!("committing {name}");
    let (what, columns) = (&what, &columns);
    let mut attempts = 0;
    crate::store::commit_with_retries(what, || {
        attempts += 1;
        let first = attempts == 1;
        async move {
            if !first {
                if let Some(v) = landed(store, name, load_id).await? {
                    return Ok(v);
                }
            }
            let table = match store.load(name, None).await? {
                Some(t) => t,
                None => create(store, name, columns.clone()).await?,
            };
            Ok(commit_adds(&table, adds, what).await?)
        }
    })
    .await
}

/// The table `name`, created by this writer or by another one at the same moment.
async fn create(store: &Store, name: &str, columns: Vec<StructField>) -> Result<DeltaTable> {
    let created = store
        .table_handle(name)?
        .create()
        .with_columns(columns)
        .with_partition_columns(PARTITIONS)
        .with_configuration(tables::TABLE_PROPERTIES)
        .with_save_mode(SaveMode::Ignore)
        .with_commit_properties(CommitProperties::default().with_max_retries(0))
        .await;
    match created {
        Ok(t) => Ok(t),
        Err(e) => match store.load(name, None).await? {
            Some(t) => Ok(t),
            None => Err(Error::delta(format!("creating the {name} table"), e)),
        },
    }
}

/// The version of `name` if it holds files of `load_id`: an earlier attempt did commit,
/// but its answer was lost.
pub(super) async fn landed(store: &Store, name: &str, load_id: &str) -> Result<Option<i64>> {
    let Some(t) = store.load(name, None).await? else {
        return Ok(None);
    };
    if !holds_load(&t, load_id) {
        return Ok(None);
    }
    info!(
        event = "commit_recognised",
        table = name,
        "the {name} commit did land"
    );
    Ok(Some(t.version().unwrap_or(0) as i64))
}

/// Whether a table's current version holds files of `load_id` (load ids are unique, so
/// such files can only come from this load).
pub(super) fn holds_load(t: &DeltaTable, load_id: &str) -> bool {
    t.snapshot().is_ok_and(|s| {
        s.log_data().iter().any(|f| {
            f.partition_values_map()
                .get("load_id")
                .is_some_and(|v| v.as_deref() == Some(load_id))
        })
    })
}
