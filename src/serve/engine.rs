//! The session every client of `gaptrack serve` shares: opened once, reopened when a load
//! commits a new catalog version (unless pinned with `--as-of`), and the limits each query
//! runs under (its own memory pool, a timeout, a cap on queries running at once).

use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::dataframe::DataFrame;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::Stream;
use tokio::sync::{OwnedSemaphorePermit, RwLock, Semaphore};

use super::result_cache::{repeatable, Key, ResultCache};
use crate::error::{Error, Result};
use crate::sql::{query, AsOf, Session, Settings};
use crate::store::{Store, WAVES};

/// What each query may use.
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    /// Bytes of memory one query may hold (its own pool: one query over it fails alone).
    pub memory: u64,
    /// Wall time from planning to the last row.
    pub timeout: Duration,
    /// Queries running at once; more wait for a place (within their timeout).
    pub concurrent: usize,
    /// Bytes of results kept for repeated queries (0: none; see [`ResultCache`]).
    pub result_cache: usize,
}

/// One opened session and the catalog version it reads.
pub struct Current {
    pub session: Session,
    pub version: Option<i64>,
}

/// What is done to each newly opened session before it answers.
pub type OnOpen =
    Box<dyn for<'a> Fn(&'a Session) -> futures::future::BoxFuture<'a, Result<()>> + Send + Sync>;

/// The shared, read-only session of a server.
pub struct Engine {
    store: Store,
    as_of: Option<AsOf>,
    settings: Settings,
    limits: QueryLimits,
    current: RwLock<Arc<Current>>,
    reopen: tokio::sync::Mutex<()>,
    /// Sessions of the versions connections asked for (`gaptrack.as_of`), by request.
    pinned: tokio::sync::Mutex<Vec<(AsOf, Arc<Current>)>>,
    running: Arc<Semaphore>,
    cache: Arc<ResultCache>,
    /// Called with each newly opened session (the PostgreSQL catalog tables are added).
    on_open: OnOpen,
}

impl Engine {
    /// Opens the session (the server refuses to start where this fails).
    pub async fn open(
        store: Store,
        as_of: Option<AsOf>,
        settings: Settings,
        limits: QueryLimits,
        on_open: OnOpen,
    ) -> Result<Engine> {
        let session = Session::open(&store, as_of.clone(), settings).await?;
        on_open(&session).await?;
        let version = session.catalog.version;
        Ok(Engine {
            store,
            as_of,
            settings,
            running: Arc::new(Semaphore::new(limits.concurrent.max(1))),
            cache: Arc::new(ResultCache::new(limits.result_cache)),
            limits,
            current: RwLock::new(Arc::new(Current { session, version })),
            reopen: tokio::sync::Mutex::new(()),
            pinned: tokio::sync::Mutex::new(Vec::new()),
            on_open,
        })
    }

    pub fn limits(&self) -> QueryLimits {
        self.limits
    }

    /// The session to answer the next statement with: the latest catalog version's (one
    /// listing of the catalog's log tells whether a load committed since), or the pinned one.
    pub async fn session(&self) -> Result<Arc<Current>> {
        let cur = self.current.read().await.clone();
        if self.as_of.is_some() {
            return Ok(cur);
        }
        let latest = self.store.latest_version(WAVES).await?;
        if latest == cur.version {
            return Ok(cur);
        }
        let _one = self.reopen.lock().await;
        let cur = self.current.read().await.clone();
        if latest == cur.version {
            return Ok(cur);
        }
        let session = Session::open(&self.store, None, self.settings).await?;
        (self.on_open)(&session).await?;
        let version = session.catalog.version;
        tracing::info!(
            event = "serve_reopened",
            version = version.unwrap_or(-1),
            "the store moved to catalog version {}; new queries read it",
            version.unwrap_or(-1)
        );
        let next = Arc::new(Current { session, version });
        *self.current.write().await = next.clone();
        self.cache.retain_version(version);
        Ok(next)
    }

    /// The session of the version a connection asked for (`as_of`), opened on first use
    /// and kept (the last 8); else the server's own ([`Engine::session`]).
    pub async fn session_for(&self, as_of: Option<&AsOf>) -> Result<Arc<Current>> {
        let Some(as_of) = as_of else {
            return self.session().await;
        };
        let mut pinned = self.pinned.lock().await;
        if let Some(i) = pinned.iter().position(|(a, _)| a == as_of) {
            let hit = pinned.remove(i);
            pinned.push(hit.clone());
            return Ok(hit.1);
        }
        let session = Session::open(&self.store, Some(as_of.clone()), self.settings).await?;
        (self.on_open)(&session).await?;
        let version = session.catalog.version;
        let cur = Arc::new(Current { session, version });
        if pinned.len() >= 8 {
            pinned.remove(0);
        }
        pinned.push((as_of.clone(), cur.clone()));
        Ok(cur)
    }

    /// The result schema of `sql` with `params` bound: the kept result's, or planned.
    pub async fn schema(
        &self,
        sql: &str,
        params: &[(String, String)],
        as_of: Option<&AsOf>,
    ) -> Result<SchemaRef> {
        let cur = self.session_for(as_of).await?;
        let key: Key = (cur.version, sql.trim().to_string(), params.to_vec());
        if let Some(hit) = self.cache.get(&key) {
            return Ok(hit.schema);
        }
        let df = query::plan(&cur.session, sql, params).await?;
        Ok(Arc::new(df.schema().as_arrow().clone()))
    }

    /// The result schema of `sql` and the types of its `$n` placeholders (unbound), for
    /// prepared statements; refuses what writes as `query` does.
    pub async fn describe(
        &self,
        sql: &str,
        as_of: Option<&AsOf>,
    ) -> Result<(SchemaRef, Vec<(String, DataType)>)> {
        let cur = self.session_for(as_of).await?;
        let ctx = &cur.session.ctx;
        let trimmed = sql.trim().trim_end_matches(';').trim();
        if trimmed.is_empty() {
            return Err(Error::Query("the query is empty".into()));
        }
        let dialect = ctx.state().config().options().sql_parser.dialect;
        if let Ok(statement) = ctx.state().sql_to_statement(trimmed, &dialect) {
            if let Some(kind) = query::writes(&statement) {
                return Err(Error::Query(format!(
                    "gaptrack query is read-only: {kind} is refused (DDL, DML, SET, COPY and external tables are; use --output to write results)"
                )));
            }
        }
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let df = ctx
            .sql_with_options(trimmed, options)
            .await
            .map_err(query::execution_error)?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let mut params: Vec<(String, DataType)> = df
            .logical_plan()
            .get_parameter_types()
            .map_err(|e| Error::Query(e.to_string()))?
            .into_iter()
            .map(|(k, t)| (k, t.unwrap_or(DataType::Utf8)))
            .collect();
        params.sort_by_key(|(k, _)| placeholder_order(k));
        Ok((schema, params))
    }

    /// Runs `sql`: its schema and rows, under the per-query memory pool, the timeout and
    /// the cap on queries running at once.
    pub async fn execute(
        &self,
        sql: &str,
        params: &[(String, String)],
        as_of: Option<&AsOf>,
    ) -> Result<(SchemaRef, QueryStream)> {
        let deadline = tokio::time::Instant::now() + self.limits.timeout;
        let timed_out = || {
            Error::Query(format!(
                "the query ran longer than the server's limit of {} s (--query-timeout)",
                self.limits.timeout.as_secs()
            ))
        };
        let permit = tokio::time::timeout_at(deadline, self.running.clone().acquire_owned())
            .await
            .map_err(|_| timed_out())?
            .map_err(|_| Error::Other("the server is shutting down".into()))?;
        let started = async {
            let cur = self.session_for(as_of).await?;
            let key: Key = (cur.version, sql.trim().to_string(), params.to_vec());
            if let Some(hit) = self.cache.get(&key) {
                let batches = hit.batches.into_iter().map(Ok);
                let stream = RecordBatchStreamAdapter::new(
                    hit.schema.clone(),
                    futures::stream::iter(batches),
                );
                return Ok((
                    hit.schema,
                    Box::pin(stream) as SendableRecordBatchStream,
                    None,
                ));
            }
            let df = query::plan(&cur.session, sql, params).await?;
            let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
            let record = repeatable(df.logical_plan()).then(|| Recording {
                cache: self.cache.clone(),
                key,
                schema: schema.clone(),
                batches: Vec::new(),
                bytes: 0,
            });
            let (state, plan) = df.into_parts();
            let mut runtime = (*state.runtime_env().clone()).clone();
            runtime.memory_pool = Arc::new(TrackConsumersPool::new(
                FairSpillPool::new(self.limits.memory as usize),
                NonZeroUsize::new(3).expect("3 > 0"),
            ));
            let state = SessionStateBuilder::new_from_existing(state)
                .with_runtime_env(Arc::new(runtime))
                .build();
            let stream = DataFrame::new(state, plan)
                .execute_stream()
                .await
                .map_err(|e| memory_error(e, self.limits.memory))?;
            Ok::<_, Error>((schema, stream, record))
        };
        let (schema, inner, record) = tokio::time::timeout_at(deadline, started)
            .await
            .map_err(|_| timed_out())??;
        Ok((
            schema,
            QueryStream {
                inner,
                deadline: Box::pin(tokio::time::sleep_until(deadline)),
                timeout: self.limits.timeout,
                memory: self.limits.memory,
                done: false,
                record,
                _permit: permit,
            },
        ))
    }
}

/// `$1`, `$2`, … in their order (named placeholders after them, by name).
fn placeholder_order(k: &str) -> (usize, String) {
    let bare = k.trim_start_matches('$');
    (
        bare.parse::<usize>().unwrap_or(usize::MAX),
        bare.to_string(),
    )
}

/// An error of a running query; running out of the per-query memory says which limit.
fn memory_error(e: datafusion::error::DataFusionError, limit: u64) -> Error {
    if matches!(
        e.find_root(),
        datafusion::error::DataFusionError::ResourcesExhausted(_)
    ) {
        return Error::Query(format!(
            "the query needs more memory than the server allows one query (--query-memory, now {} MiB): {}",
            limit >> 20,
            e.find_root().strip_backtrace().lines().next().unwrap_or("")
        ));
    }
    query::execution_error(e)
}

/// The rows of a running query: ends with an error at the deadline; holds its place
/// among the queries running at once until dropped.
pub struct QueryStream {
    inner: SendableRecordBatchStream,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
    memory: u64,
    done: bool,
    /// The rows so far, kept for the cache when the query ends well.
    record: Option<Recording>,
    _permit: OwnedSemaphorePermit,
}

/// The rows of a running query on their way into the result cache.
struct Recording {
    cache: Arc<ResultCache>,
    key: Key,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    bytes: usize,
}

impl Recording {
    /// Keeps `batch`; gives up (false) once the result is too big to be kept.
    fn add(&mut self, batch: &RecordBatch) -> bool {
        self.bytes += batch.get_array_memory_size();
        self.batches.push(batch.clone());
        self.bytes <= self.cache.entry_limit()
    }
}

impl QueryStream {
    pub fn schema(&self) -> Arc<Schema> {
        self.inner.schema()
    }
}

impl Stream for QueryStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.done = true;
            let secs = self.timeout.as_secs();
            return Poll::Ready(Some(Err(Error::Query(format!(
                "the query ran longer than the server's limit of {secs} s (--query-timeout)"
            )))));
        }
        let memory = self.memory;
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                self.record = None;
                Poll::Ready(Some(Err(memory_error(e, memory))))
            }
            Poll::Ready(None) => {
                self.done = true;
                if let Some(r) = self.record.take() {
                    r.cache.put(r.key, r.schema, r.batches);
                }
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(batch))) => {
                if let Some(r) = self.record.as_mut() {
                    if !r.add(&batch) {
                        self.record = None;
                    }
                }
                Poll::Ready(Some(Ok(batch)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
