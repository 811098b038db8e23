//! The results of the statistics views, kept in the store per state of the store,
//! settings and build.
//!
//! A view of [`super::VIEWS`] answers from the per-load statistics tables of the live
//! loads, the session's settings, and gaptrack's own SQL and functions: one catalog
//! version, one set of settings and one build of gaptrack always give the same rows.
//! The first `gaptrack query` statement that reads such a view computes it whole and
//! keeps the rows in the store, `_gaptrack/cache/v<VERSION>/<KEY>/<VIEW>.arrows` (Arrow
//! IPC stream; the key is a hash of the catalog commit, the settings and the build); later
//! statements of that state read them instead of planning the view stack. A load or a removal commits
//! a new catalog version, which no kept result names. A result that cannot be kept (a
//! store the process may only read) or read back (a damaged file) is computed as if it
//! had never been kept. `gaptrack vacuum` deletes the results of older catalog versions;
//! `GAPTRACK_CACHE=off` turns the whole mechanism off.

use std::sync::{Arc, OnceLock};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use sha2::{Digest, Sha256};

use super::Settings;
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::store::Store;

pub use crate::store::KEPT_RESULTS as CACHE_DIR;

/// Results larger than this are not kept (their planning is a small part of them).
const MAX_BYTES: usize = 32 << 20;

/// The kept results of one session: one catalog version, settings and build.
#[derive(Debug, Clone)]
pub struct ResultCache {
    store: Store,
    dir: String,
}

impl ResultCache {
    /// The cache of the state `cat` read with `settings`; `None` for an empty store, where
    /// `GAPTRACK_CACHE=off`, or where the build cannot be told apart from another.
    pub fn new(store: &Store, cat: &Catalog, settings: &Settings) -> Option<ResultCache> {
        if std::env::var("GAPTRACK_CACHE").is_ok_and(|v| v.eq_ignore_ascii_case("off")) {
            return None;
        }
        let version = cat.version?;
        let build = build_id()?;
        let mut h = Sha256::new();
        h.update(build.as_bytes());
        h.update(format!(
            "{version}|{:?}|{:?}|{settings:?}",
            cat.timestamp_ms, cat.tables
        ));
        let key = hex::encode(&h.finalize()[..12]);
        Some(ResultCache {
            store: store.clone(),
            dir: format!("{CACHE_DIR}/v{version}/{key}"),
        })
    }

    fn path(&self, view: &str) -> String {
        format!("{}/{view}.arrows", self.dir)
    }

    /// The kept rows of `view`, if any can be read.
    pub async fn get(&self, view: &str) -> Option<(SchemaRef, Vec<RecordBatch>)> {
        let bytes = match self.store.get(&self.path(view)).await {
            Ok(b) => b?,
            Err(e) => {
                tracing::debug!(view, error = %e, "kept result not read");
                return None;
            }
        };
        match decode(bytes) {
            Ok(rows) => Some(rows),
            Err(e) => {
                tracing::warn!(view, error = %e, "a kept result is damaged; computing the view");
                None
            }
        }
    }

    /// Keeps the rows of `view`; a failure only costs the next statement the planning.
    pub async fn put(&self, view: &str, schema: &SchemaRef, batches: &[RecordBatch]) {
        let bytes = match encode(schema, batches) {
            Ok(b) if b.len() <= MAX_BYTES => b,
            Ok(b) => {
                tracing::debug!(view, bytes = b.len(), "result too large to keep");
                return;
            }
            Err(e) => {
                tracing::debug!(view, error = %e, "result not encoded");
                return;
            }
        };
        if let Err(e) = self.store.put(&self.path(view), bytes).await {
            tracing::debug!(view, error = %e, "result not kept");
        }
    }
}

/// What tells this build from another: the version and the executable's size and
/// modification time (a rebuild of the same version is another build).
fn build_id() -> Option<&'static str> {
    static ID: OnceLock<Option<String>> = OnceLock::new();
    ID.get_or_init(|| {
        let exe = std::env::current_exe().ok()?;
        let meta = std::fs::metadata(exe).ok()?;
        let mtime = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        Some(format!(
            "{}|{}|{}",
            env!("CARGO_PKG_VERSION"),
            meta.len(),
            mtime.as_nanos()
        ))
    })
    .as_deref()
}

fn encode(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut w = StreamWriter::try_new(&mut out, schema)?;
    for b in batches {
        w.write(&compact(b)?)?;
    }
    w.finish()?;
    drop(w);
    Ok(out)
}

/// `batch` with its string and binary views holding their own bytes alone: a batch's
/// views may point into buffers shared with other batches, which IPC would write whole
/// with each batch.
fn compact(batch: &RecordBatch) -> Result<RecordBatch> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::DataType;
    let columns = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Utf8View => Arc::new(c.as_string_view().gc()) as Arc<dyn Array>,
            DataType::BinaryView => Arc::new(c.as_binary_view().gc()),
            _ => c.clone(),
        })
        .collect();
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

fn decode(bytes: Vec<u8>) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let reader = StreamReader::try_new(std::io::Cursor::new(bytes), None)?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Other(format!("reading a kept result: {e}")))?;
    Ok((schema, batches))
}

/// A table of kept rows.
pub fn table(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<Arc<datafusion::datasource::MemTable>> {
    Ok(Arc::new(datafusion::datasource::MemTable::try_new(
        schema,
        vec![batches],
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{DictionaryArray, Float64Array, StringArray, StringViewArray};
    use arrow::datatypes::{DataType, Field, Int32Type, Schema};

    #[test]
    fn rows_read_back_as_written() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("wave", DataType::Utf8, false),
            Field::new("gap_pp", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["2021", "2022"])),
                Arc::new(Float64Array::from(vec![Some(5.25), None])),
            ],
        )
        .unwrap();
        let (s, rows) = decode(encode(&schema, std::slice::from_ref(&batch)).unwrap()).unwrap();
        assert_eq!(s, schema);
        assert_eq!(rows, vec![batch]);
        let (s, rows) = decode(encode(&schema, &[]).unwrap()).unwrap();
        assert_eq!((s, rows.len()), (schema, 0));
        // Each batch of a dictionary column may have its own dictionary.
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let schema = Arc::new(Schema::new(vec![Field::new("grp", dict, true)]));
        let batches: Vec<RecordBatch> = [vec!["sales", "sales"], vec!["marketing"]]
            .into_iter()
            .map(|v| {
                let a: DictionaryArray<Int32Type> = v.into_iter().collect();
                RecordBatch::try_new(schema.clone(), vec![Arc::new(a)]).unwrap()
            })
            .collect();
        let (_, rows) = decode(encode(&schema, &batches).unwrap()).unwrap();
        assert_eq!(rows, batches);
        // A one-row slice of a string view array is written with its own bytes alone.
        let long: Vec<String> = (0..1000).map(|i| format!("statement number {i}")).collect();
        let views = StringViewArray::from_iter_values(long.iter());
        let schema = Arc::new(Schema::new(vec![Field::new(
            "s",
            DataType::Utf8View,
            false,
        )]));
        let all = RecordBatch::try_new(schema.clone(), vec![Arc::new(views)]).unwrap();
        let one = all.slice(500, 1);
        let bytes = encode(&schema, std::slice::from_ref(&one)).unwrap();
        assert!(bytes.len() < 1000, "{}", bytes.len());
        assert_eq!(decode(bytes).unwrap().1, vec![one]);
        assert!(decode(b"damaged".to_vec()).is_err());
    }

    #[tokio::test]
    async fn every_view_is_kept_as_computed() {
        use crate::sql::{query, Session, VIEWS};
        let (_dir, store) = crate::sql::tests::fixture_store().await;
        for view in VIEWS {
            let sql = format!("SELECT * FROM {view}");
            let first = Session::open_lazy(&store, None, Settings::default()).await;
            let (_, computed) = query::run(&first.unwrap(), &sql, &[]).await.unwrap();
            let second = Session::open_lazy(&store, None, Settings::default()).await;
            let second = second.unwrap();
            let cache = ResultCache::new(&store, &second.catalog, &second.settings).unwrap();
            let (_, kept) = cache
                .get(view)
                .await
                .unwrap_or_else(|| panic!("{view} not kept"));
            let (_, read) = query::run(&second, &sql, &[]).await.unwrap();
            let rows = |b: &[RecordBatch]| b.iter().map(|b| b.num_rows()).sum::<usize>();
            assert_eq!(rows(&kept), rows(&computed), "{view}");
            assert_eq!(rows(&read), rows(&computed), "{view}");
            if rows(&computed) == 0 {
                continue;
            }
            let same = arrow::compute::concat_batches(&computed[0].schema(), &computed).unwrap();
            let back = arrow::compute::concat_batches(&read[0].schema(), &read).unwrap();
            assert_eq!(same.columns(), back.columns(), "{view}");
        }
    }

    #[tokio::test]
    async fn a_kept_result_answers_its_own_state_and_settings_alone() {
        use crate::sql::{query, AsOf, Session, Variance};
        let (_dir, store) = crate::sql::tests::fixture_store().await;
        let gaps = |as_of: Option<AsOf>, settings: Settings| {
            let store = store.clone();
            async move {
                let s = Session::open_lazy(&store, as_of, settings).await.unwrap();
                let (_, b) = query::run(&s, "SELECT * FROM gaps", &[]).await.unwrap();
                (
                    s.catalog.clone(),
                    b.iter().map(|b| b.num_rows()).sum::<usize>(),
                )
            }
        };
        let settings = Settings::default();
        let (cat, n) = gaps(None, settings).await;
        assert!(n > 1, "{n}");
        let cache = ResultCache::new(&store, &cat, &settings).unwrap();
        let (schema, kept) = cache
            .get("gaps")
            .await
            .expect("kept by the first statement");
        assert_eq!(kept.iter().map(|b| b.num_rows()).sum::<usize>(), n);
        // The next statement of the same state and settings reads the kept rows: keep
        // the first one alone.
        cache.put("gaps", &schema, &[kept[0].slice(0, 1)]).await;
        assert_eq!(gaps(None, settings).await.1, 1);
        // Other settings, or another state of the store: computed.
        let linearized = Settings {
            variance: Variance::Linearized,
            ..settings
        };
        assert_eq!(gaps(None, linearized).await.1, n);
        let latest = cat.version.unwrap();
        let (old, before) = gaps(Some(AsOf::Version(latest - 1)), settings).await;
        assert!(before < n, "{before} {n}");
        let old = ResultCache::new(&store, &old, &settings).unwrap();
        assert!(old.get("gaps").await.is_some());
        // A damaged result is computed again.
        store
            .put(&cache.path("gaps"), b"damaged".to_vec())
            .await
            .unwrap();
        assert_eq!(gaps(None, settings).await.1, n);
        // vacuum removes the older state's results, not the latest's.
        let outcome = crate::vacuum::vacuum(&store, 1, false, false)
            .await
            .unwrap();
        let removed = outcome.files.iter().find(|t| t.table == CACHE_DIR).unwrap();
        assert_eq!(removed.files.len(), 1, "{:?}", removed.files);
        assert!(old.get("gaps").await.is_none());
        assert!(cache.get("gaps").await.is_some());
    }
}
