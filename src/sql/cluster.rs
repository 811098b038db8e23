//! What a session needs to run on an Apache Ballista cluster, shared by the client
//! (`--cluster`), the scheduler and the executors (`gaptrack cluster`, in
//! [`crate::cluster`]):
//!
//! - the store's tables travel as [`FilesTable`]s: [`LogicalCodec`] writes and reads them
//!   (everything else is Ballista's own codec);
//! - their files are read from the object store the plan names: `gaptrack://HEX`, the hex
//!   of the store's URL, which [`StoreRegistry`] opens with the credentials of the
//!   process's environment, as `--store` does;
//! - gaptrack's functions are registered everywhere a plan is decoded
//!   ([`scalar_functions`], [`aggregate_functions`], [`window_functions`]);
//! - the scheduler's plans keep what their stages need to run on their own
//!   ([`SortWindowInputs`]).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::TableReference;
use datafusion::error::DataFusionError;
use datafusion::execution::object_store::{
    DefaultObjectStoreRegistry, ObjectStoreRegistry, ObjectStoreUrl,
};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion::physical_expr::LexOrdering;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::execution_plan::replace_children_if_necessary;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::windows::{BoundedWindowAggExec, WindowAggExec};
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use object_store::ObjectStore;
use url::Url;

use super::files::FilesTable;
use crate::error::{Error, Result};
use crate::store::Store;

/// The scheme of the object store URLs in cluster plans.
const SCHEME: &str = "gaptrack";
/// What starts an encoded [`FilesTable`] (anything else is Ballista's).
const MAGIC: &[u8] = b"gaptrack-files:";

/// The object store URL under which a cluster plan reads the store's files.
pub fn plan_url(store: &Store) -> Result<ObjectStoreUrl> {
    let url = store.url();
    if url.scheme() == "memory" {
        return Err(Error::Usage(
            "a cluster's executors read the store themselves: a memory:// store cannot be \
             shared; use a path they can all read or an object store"
                .into(),
        ));
    }
    Ok(ObjectStoreUrl::parse(format!(
        "{SCHEME}://{}",
        hex::encode(url.as_str())
    ))?)
}

/// Fails at once, naming the address, when nothing listens at the scheduler's URL
/// (`df://HOST:PORT`), rather than when the first statement is sent.
pub async fn check_reachable(url: &str) -> Result<()> {
    let parsed = Url::parse(url)
        .ok()
        .filter(|u| u.scheme() == "df" && u.host_str().is_some() && u.port().is_some())
        .ok_or_else(|| Error::Usage(format!("--cluster {url:?}: give df://HOST:PORT")))?;
    let addr = format!(
        "{}:{}",
        parsed.host_str().unwrap_or_default(),
        parsed.port().unwrap_or_default()
    );
    let connect = tokio::net::TcpStream::connect(&addr);
    match tokio::time::timeout(std::time::Duration::from_secs(10), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Error::Other(format!(
            "cannot reach the cluster's scheduler at {addr}: {e}"
        ))),
        Err(_) => Err(Error::Other(format!(
            "cannot reach the cluster's scheduler at {addr}: no answer in 10 s"
        ))),
    }
}

/// Whether Ballista plans a job's stages adaptively, from the sizes of the stages
/// already run (`GAPTRACK_CLUSTER_ADAPTIVE=1`). Off by default: Ballista 55's adaptive
/// planner re-plans the stages of a deep view stack (`score_trend`) without end.
pub fn adaptive() -> bool {
    std::env::var("GAPTRACK_CLUSTER_ADAPTIVE").is_ok_and(|v| v.trim() == "1")
}

/// Object stores by URL, which also opens the store a `gaptrack://HEX` URL names.
#[derive(Debug, Default)]
pub struct StoreRegistry {
    inner: DefaultObjectStoreRegistry,
    opened: RwLock<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl StoreRegistry {
    fn open(&self, host: &str) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        if let Some(s) = self.opened.read().ok().and_then(|m| m.get(host).cloned()) {
            return Ok(s);
        }
        let location = hex::decode(host)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                DataFusionError::Configuration(format!("{SCHEME}://{host} names no store"))
            })?;
        let store = Store::open(&location).map_err(|e| DataFusionError::External(Box::new(e)))?;
        let root = store.object_store().0;
        if let Ok(mut m) = self.opened.write() {
            m.insert(host.to_string(), root.clone());
        }
        Ok(root)
    }
}

impl ObjectStoreRegistry for StoreRegistry {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.inner.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        self.inner.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        match (url.scheme(), url.host_str()) {
            (SCHEME, Some(host)) if host != "store" => self.open(host),
            _ => self.inner.get_store(url),
        }
    }
}

/// A runtime whose object stores include the stores cluster plans name.
pub fn runtime_env(base: RuntimeEnvBuilder) -> datafusion::error::Result<Arc<RuntimeEnv>> {
    base.with_object_store_registry(Arc::new(StoreRegistry::default()))
        .build_arc()
}

/// A session state that plans and runs gaptrack's cluster plans (the client's in
/// Ballista's standalone mode, the scheduler's): DataFusion's defaults, every function a
/// plan may name, the stores plans name, and [`SortWindowInputs`].
pub fn state_builder(
    config: datafusion::prelude::SessionConfig,
    runtime: RuntimeEnvBuilder,
) -> datafusion::error::Result<datafusion::execution::session_state::SessionStateBuilder> {
    Ok(
        datafusion::execution::session_state::SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime_env(runtime)?)
            .with_default_features()
            .with_scalar_functions(scalar_functions())
            .with_aggregate_functions(aggregate_functions())
            .with_window_functions(window_functions())
            .with_physical_optimizer_rule(Arc::new(SortWindowInputs)),
    )
}

/// Ballista's logical codec, which also writes and reads [`FilesTable`]s.
#[derive(Debug, Default)]
pub struct LogicalCodec {
    inner: ballista_core::serde::BallistaLogicalExtensionCodec,
}

fn external(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> datafusion::error::Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> datafusion::error::Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> datafusion::error::Result<Arc<dyn TableProvider>> {
        match buf.strip_prefix(MAGIC) {
            Some(rest) => Ok(Arc::new(
                FilesTable::decode(rest, &schema).map_err(external)?,
            )),
            None => self
                .inner
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> datafusion::error::Result<()> {
        match node.downcast_ref::<FilesTable>() {
            Some(t) => {
                buf.extend_from_slice(MAGIC);
                buf.extend(t.encode().map_err(external)?);
                Ok(())
            }
            None => self
                .inner
                .try_encode_table_provider(table_ref, node, buf)
                .map_err(|e| {
                    DataFusionError::NotImplemented(format!(
                        "{table_ref} cannot be sent to the cluster: {e}"
                    ))
                }),
        }
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> datafusion::error::Result<Arc<dyn datafusion::datasource::file_format::FileFormatFactory>>
    {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn datafusion::datasource::file_format::FileFormatFactory>,
    ) -> datafusion::error::Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }
}

/// DataFusion's and Ballista's scalar functions, and gaptrack's (with the one
/// [`super::case_select::CaseToSelect`] writes).
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    let mut f = ballista_core::extension::ballista_scalar_functions();
    f.extend(super::udf::functions().into_iter().map(Arc::new));
    f.push(super::case_select::case_select());
    f
}

/// DataFusion's and Ballista's aggregate functions, and gaptrack's.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    let mut f = ballista_core::extension::ballista_aggregate_functions();
    f.extend(super::udf::aggregate_functions().into_iter().map(Arc::new));
    f
}

/// DataFusion's and Ballista's window functions, and gaptrack's.
pub fn window_functions() -> Vec<Arc<WindowUDF>> {
    let mut f = ballista_core::extension::ballista_window_functions();
    f.extend(super::udf::window_functions().into_iter().map(Arc::new));
    f
}

/// A physical rule of the scheduler: every window with `PARTITION BY` gets its input
/// sorted explicitly, unless the input's own sort order already is the one the window
/// needs. DataFusion drops that sort where the input is ordered only by what the plan
/// below knows (a filter made the partition columns constant); Ballista cuts the plan
/// into stages, and the stage that reads the shuffle no longer knows it, so its window
/// would refuse to run on the executor.
#[derive(Debug, Default)]
pub struct SortWindowInputs;

impl PhysicalOptimizerRule for SortWindowInputs {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &datafusion::config::ConfigOptions,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(sort_window_input).data()
    }

    fn name(&self) -> &str {
        "sort_window_inputs"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn sort_window_input(
    node: Arc<dyn ExecutionPlan>,
) -> datafusion::error::Result<Transformed<Arc<dyn ExecutionPlan>>> {
    if !(node.is::<WindowAggExec>() || node.is::<BoundedWindowAggExec>()) {
        return Ok(Transformed::no(node));
    }
    let Some(Some(required)) = node.required_input_ordering().into_iter().next() else {
        return Ok(Transformed::no(node));
    };
    let required = required.into_single();
    let input = node.children()[0].clone();
    let explicit = input.output_ordering().is_some_and(|have| {
        have.len() >= required.len()
            && required
                .iter()
                .zip(have.iter())
                .all(|(r, h)| r.expr.eq(&h.expr) && r.options.is_none_or(|o| o == h.options))
    });
    if explicit {
        return Ok(Transformed::no(node));
    }
    let sort = SortExec::new(LexOrdering::from(required), input).with_preserve_partitioning(true);
    let sorted: Arc<dyn ExecutionPlan> = Arc::new(sort);
    Ok(Transformed::yes(replace_children_if_necessary(
        node,
        vec![sorted],
    )?))
}
