//! The store tables of a lazy session ([`super::Session::open_lazy`]): each Delta table is
//! read when a statement first needs it (directly as `store.NAME`, or through a view), so
//! that a statement that reads three tables does not pay for reading the logs of nine,
//! and `SELECT 1` reads none. The tables are read at their latest versions (or the
//! `--as-of` ones); if the catalog moved since the session read it (a load committed
//! meanwhile, and may have cleaned up rows of a load this session sees), they are read
//! again at the versions the session's catalog commit recorded, which hold every row
//! of every load it names.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::catalog::MemorySchemaProvider;
use datafusion::prelude::SessionContext;

use super::{
    base_views, load_tables, register_tables, segment_columns, statement_range_columns,
    store_tables, DataAt, Registered, Scan,
};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::store::Store;

/// The `statements` columns a base view's text names before the table is read (only
/// its references count then; the text is written again once the table is read).
pub(super) const RANGE_PLACEHOLDER: &str = "min_code, max_code, wording, disagree_codes";

/// What the session has read so far.
#[derive(Default)]
pub(super) struct Loaded {
    names: HashSet<&'static str>,
    responses_live_only: bool,
    /// Whether a live load has `panelstats` rows (known once `panelstats` is read).
    pub(super) panel: bool,
}

pub(super) struct Tables {
    store: Store,
    scan: Scan,
    schema: Arc<MemorySchemaProvider>,
    waves: Option<deltalake::DeltaTable>,
    data_at: DataAt,
    loaded: tokio::sync::Mutex<Loaded>,
}

impl Tables {
    pub(super) fn new(
        store: &Store,
        scan: Scan,
        schema: Arc<MemorySchemaProvider>,
        waves: Option<deltalake::DeltaTable>,
        data_at: DataAt,
    ) -> Tables {
        Tables {
            store: store.clone(),
            scan,
            schema,
            waves,
            data_at,
            loaded: tokio::sync::Mutex::new(Loaded::default()),
        }
    }

    /// Reads and registers the tables of `wanted` (store table names; others are
    /// ignored) not read yet; what is read by then.
    pub(super) async fn ensure(
        &self,
        ctx: &SessionContext,
        cat: &Catalog,
        wanted: &HashSet<String>,
    ) -> Result<tokio::sync::MutexGuard<'_, Loaded>> {
        let mut loaded = self.loaded.lock().await;
        let names: Vec<_> = store_tables()
            .into_iter()
            .filter(|(n, _)| wanted.contains(*n) && !loaded.names.contains(n))
            .collect();
        if names.is_empty() {
            return Ok(loaded);
        }
        let mut tables = load_tables(&self.store, cat, &self.waves, &self.data_at, &names).await?;
        if matches!(self.data_at, DataAt::Latest) && self.catalog_moved(cat).await? {
            let Some(recorded) = &cat.tables else {
                return Err(Error::Conflict(
                    "the store changed while it was being read; run the command again".into(),
                ));
            };
            let at = DataAt::Versions(recorded.clone());
            tables = load_tables(&self.store, cat, &self.waves, &at, &names).await?;
        }
        let read: Vec<&'static str> = names.iter().map(|(n, _)| *n).collect();
        let Registered {
            versions,
            responses_live_only,
            panel,
        } = register_tables(
            ctx,
            &self.schema,
            &self.store,
            &self.scan,
            cat,
            names,
            tables,
        )
        .await?;
        tracing::debug!(?versions, "tables read");
        for n in &read {
            loaded.names.insert(n);
            match *n {
                crate::store::RESPONSES => loaded.responses_live_only = responses_live_only,
                crate::store::PANELSTATS => loaded.panel = panel,
                _ => {}
            }
        }
        Ok(loaded)
    }

    /// Whether the catalog has a newer version than the session's.
    async fn catalog_moved(&self, cat: &Catalog) -> Result<bool> {
        let now = match &self.waves {
            Some(t) => match t.get_latest_version().await {
                Ok(v) => Some(v as i64),
                Err(_) => crate::catalog::current(&self.store).await?.version,
            },
            None => crate::catalog::current(&self.store).await?.version,
        };
        Ok(now != cat.version)
    }

    /// The base views' texts over the tables read so far (a view over a table not read
    /// yet is not needed yet).
    pub(super) async fn base_views(
        &self,
        loaded: &Loaded,
        cat: &Catalog,
    ) -> Result<Vec<(String, String)>> {
        let seg_cols = segment_columns(&self.schema).await?;
        let range = statement_range_columns(&self.schema).await?;
        Ok(base_views(
            cat,
            &seg_cols,
            &range,
            loaded.responses_live_only,
        ))
    }
}
