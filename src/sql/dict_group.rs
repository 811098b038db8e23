//! `GROUP BY` over the string columns of `store.responses`, grouped on the Parquet
//! dictionary keys instead of the strings.
//!
//! Every string column of a `responses` file (respondent, group, statement, segments) is
//! dictionary-encoded: a row group holds each distinct value once and the rows hold small
//! integer keys. DataFusion reads them as strings and its first aggregation stage hashes
//! and compares those strings row by row (~40 % of an analyst's `GROUP BY wave,
//! statement, industry`). This physical optimizer rule finds a first-stage aggregate
//! (`Partial`, or `Single`) over such a scan whose grouping keys are plain string
//! columns, has the scan hand those columns over as Arrow dictionaries (the Parquet
//! reader then copies the keys, no strings are built), and replaces the aggregate by
//! [`DictGroupExec`], which finds each row's group from its keys: a dictionary value is
//! looked up once per row group, and a row costs an index into a small table.
//!
//! The aggregate functions are DataFusion's own (`GroupsAccumulator`s created from the
//! plan's aggregate expressions); only the group lookup differs. The output schema is
//! the replaced aggregate's, so the plan above it (the final aggregation stage) is
//! unchanged, and so are the results. Anything the rule does not recognise is left as
//! it is: grouping sets, ordered or DISTINCT aggregates, non-string or computed keys, a
//! column that a filter or an aggregate argument also reads (it stays a string column),
//! plans with other operators between the scan and the aggregate.

use std::fmt;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, DictionaryArray, RecordBatch, StringViewBuilder,
};
use arrow::datatypes::{
    DataType, Field, Int16Type, Int32Type, Int64Type, Int8Type, Schema, SchemaRef, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};
use bytes::Bytes;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{internal_err, Result};
use datafusion::config::ConfigOptions;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::{
    DefaultParquetFileReaderFactory, ParquetFileReaderFactory,
};
use datafusion::datasource::physical_plan::{FileScanConfigBuilder, FileSource, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::utils::collect_columns;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{
    aggregate_expressions, evaluate_many, AggregateExec, AggregateMode,
};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties,
    InputOrderMode, Partitioning, PlanProperties, ReplaceChildrenOptions,
};
use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt};
use object_store::ObjectStore;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::file::metadata::{FileMetaData, KeyValue, ParquetMetaData, ParquetMetaDataBuilder};
use rustc_hash::FxHashMap;

/// At most this many grouping columns (their ids are packed into one `u128`).
const MAX_KEYS: usize = 4;
/// A `Partial` stage hands its groups on once it holds this many (the final stage merges
/// them), so that a high-cardinality key does not hold every group in memory.
const EMIT_GROUPS: usize = 1 << 20;
/// Largest product of the per-batch key domains looked up through a dense table.
const DENSE_MAX: usize = 1 << 16;
const UNSET: u32 = u32::MAX;

/// The physical optimizer rule (see the module documentation).
#[derive(Debug)]
pub struct DictGroupBy {
    /// Scans of this object store URL are `store.responses` scans.
    url: ObjectStoreUrl,
    store: Arc<dyn ObjectStore>,
}

impl DictGroupBy {
    pub fn new(url: ObjectStoreUrl, store: Arc<dyn ObjectStore>) -> Self {
        DictGroupBy { url, store }
    }
}

impl PhysicalOptimizerRule for DictGroupBy {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| match self.rewrite(&node)? {
            Some(new) => Ok(Transformed::yes(new)),
            None => Ok(Transformed::no(node)),
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "gaptrack_dict_group_by"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

/// A grouping key type [`DictGroupExec`] reads.
fn is_key_type(t: &DataType) -> bool {
    match t {
        DataType::Dictionary(_, v) => is_string(v),
        t => is_string(t),
    }
}

/// `node` over a child whose column types changed, with its output schema derived anew.
fn replace_child(
    node: &Arc<dyn ExecutionPlan>,
    child: Arc<dyn ExecutionPlan>,
) -> Result<Arc<dyn ExecutionPlan>> {
    // A ProjectionExec keeps its output schema when its child is replaced; build it again.
    if let Some(p) = node.downcast_ref::<ProjectionExec>() {
        return Ok(Arc::new(ProjectionExec::try_new(p.expr().to_vec(), child)?));
    }
    Arc::clone(node).replace_children(
        vec![child],
        ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
    )
}

/// Indices of the columns an expression reads.
fn columns_of(expr: &Arc<dyn PhysicalExpr>) -> Vec<usize> {
    collect_columns(expr).iter().map(|c| c.index()).collect()
}

impl DictGroupBy {
    fn rewrite(&self, node: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(agg) = node.downcast_ref::<AggregateExec>() else {
            return Ok(None);
        };
        if !matches!(agg.mode(), AggregateMode::Partial | AggregateMode::Single)
            || agg.group_expr().has_grouping_set()
            || agg.limit_options().is_some()
            || !agg.dynamic_expressions_produced().is_empty()
            || *agg.input_order_mode() != InputOrderMode::Linear
        {
            return Ok(None);
        }
        let group = agg.group_expr().expr();
        if group.is_empty() || group.len() > MAX_KEYS {
            return Ok(None);
        }
        let input_schema = agg.input().schema();
        let mut keys = Vec::with_capacity(group.len());
        for (expr, _) in group {
            let Some(col) = expr.downcast_ref::<Column>() else {
                return Ok(None);
            };
            if !is_key_type(input_schema.field(col.index()).data_type()) {
                return Ok(None);
            }
            keys.push(col.index());
        }
        for a in agg.aggr_expr() {
            if a.is_distinct() || !a.order_bys().is_empty() || !a.groups_accumulator_supported() {
                return Ok(None);
            }
        }
        // Columns read by anything other than the grouping: they keep their type.
        let mut blocked: Vec<usize> = Vec::new();
        for a in agg.aggr_expr() {
            for e in a.expressions() {
                blocked.extend(columns_of(&e));
            }
        }
        for e in agg.filter_expr().iter().flatten() {
            blocked.extend(columns_of(e));
        }

        // Walk down to the scan, following each key column through the operators.
        let mut path: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        let mut cur = Arc::clone(agg.input());
        let mut key_idx: Vec<Option<usize>> = keys.iter().map(|k| Some(*k)).collect();
        loop {
            if cur.is::<DataSourceExec>() {
                break;
            }
            let child = match cur.children().as_slice() {
                [c] => Arc::clone(*c),
                _ => return Ok(None),
            };
            if let Some(p) = cur.downcast_ref::<ProjectionExec>() {
                let exprs = p.expr();
                let through = |i: usize| exprs[i].expr.downcast_ref::<Column>().map(|c| c.index());
                let mut next_blocked = Vec::new();
                for (i, e) in exprs.iter().enumerate() {
                    match e.expr.downcast_ref::<Column>() {
                        Some(c) if blocked.contains(&i) => next_blocked.push(c.index()),
                        Some(_) => {}
                        None => next_blocked.extend(columns_of(&e.expr)),
                    }
                }
                key_idx = key_idx.iter().map(|k| k.and_then(through)).collect();
                blocked = next_blocked;
            } else if let Some(f) = cur.downcast_ref::<FilterExec>() {
                if let Some(proj) = f.projection() {
                    key_idx = key_idx.iter().map(|k| k.map(|i| proj[i])).collect();
                    blocked = blocked.iter().map(|i| proj[*i]).collect();
                }
                blocked.extend(columns_of(f.predicate()));
            } else if let Some(r) = cur.downcast_ref::<RepartitionExec>() {
                if !matches!(r.partitioning(), Partitioning::RoundRobinBatch(_))
                    || r.preserve_order()
                {
                    return Ok(None);
                }
            } else {
                return Ok(None);
            }
            path.push(cur);
            cur = child;
        }
        let Some(scan) = cur.downcast_ref::<DataSourceExec>() else {
            return Ok(None);
        };
        let Some((config, parquet)) = scan.downcast_to_file_source::<ParquetSource>() else {
            return Ok(None);
        };
        if config.object_store_url != self.url || parquet.parquet_file_reader_factory().is_some() {
            return Ok(None);
        }
        let table = parquet.table_schema();
        let file_schema = table.file_schema();
        let n_file = file_schema.fields().len();
        // Scan output column -> table column.
        let to_table = |i: usize| -> Option<usize> {
            match parquet.projection() {
                None => Some(i),
                Some(p) => p
                    .iter()
                    .nth(i)
                    .and_then(|e| e.expr.downcast_ref::<Column>().map(|c| c.index())),
            }
        };
        let mut table_blocked: Vec<usize> = blocked.iter().filter_map(|i| to_table(*i)).collect();
        if let Some(p) = parquet.projection() {
            for e in p.iter() {
                if e.expr.downcast_ref::<Column>().is_none() {
                    table_blocked.extend(columns_of(&e.expr));
                }
            }
        }
        if let Some(pred) = parquet.filter() {
            table_blocked.extend(columns_of(&pred));
        }
        let mut convert: Vec<usize> = Vec::new();
        for k in &key_idx {
            let Some(t) = k.and_then(to_table) else {
                return Ok(None);
            };
            if t >= n_file {
                continue; // a partition column: constant for a file, cheap as it is
            }
            if table_blocked.contains(&t) || !is_string(file_schema.field(t).data_type()) {
                return Ok(None);
            }
            if !convert.contains(&t) {
                convert.push(t);
            }
        }

        // gaptrack writes no encrypted files; an encrypted one keeps DataFusion's reader.
        if parquet
            .table_parquet_options()
            .crypto
            .file_decryption
            .is_some()
        {
            return Ok(None);
        }
        // Anything the rebuilt plan does not accept leaves the plan as it was.
        let built = (|| -> Result<Option<Arc<dyn ExecutionPlan>>> {
            let input = if convert.is_empty() {
                Arc::clone(agg.input())
            } else {
                match self.rebuild(config, parquet, &convert, &path)? {
                    Some(input) => input,
                    None => return Ok(None),
                }
            };
            Ok(Some(Arc::new(DictGroupExec::try_new(agg, keys, input)?)))
        })();
        built.or_else(|e| {
            tracing::debug!(error = %e, "dictionary grouping not applied");
            Ok(None)
        })
    }

    /// The scan reading the file columns `convert` as dictionaries, and the operators of
    /// `path` (top first) rebuilt over it.
    fn rebuild(
        &self,
        config: &datafusion::datasource::physical_plan::FileScanConfig,
        parquet: &ParquetSource,
        convert: &[usize],
        path: &[Arc<dyn ExecutionPlan>],
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let table = parquet.table_schema();
        let file_schema = table.file_schema();
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let fields: Vec<Field> = file_schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if convert.contains(&i) {
                    f.as_ref().clone().with_data_type(dict.clone())
                } else {
                    f.as_ref().clone()
                }
            })
            .collect();
        let names: Vec<String> = convert
            .iter()
            .map(|i| file_schema.field(*i).name().clone())
            .collect();
        let new_table = TableSchema::builder(Arc::new(Schema::new_with_metadata(
            fields,
            file_schema.metadata().clone(),
        )))
        .with_table_partition_cols(
            table
                .table_partition_cols()
                .iter()
                .cloned()
                .collect::<Vec<_>>(),
        )
        .with_virtual_columns(table.virtual_columns().clone())
        .build();
        let mut source = ParquetSource::new(new_table)
            .with_table_parquet_options(parquet.table_parquet_options().clone())
            .with_parquet_file_reader_factory(Arc::new(DictReaderFactory {
                inner: DefaultParquetFileReaderFactory::new(Arc::clone(&self.store)),
                columns: Arc::new(names),
            }));
        if let Some(pred) = parquet.filter() {
            source = source.with_predicate(pred);
        }
        let mut source: Arc<dyn FileSource> = Arc::new(source);
        if let Some(p) = parquet.projection() {
            match source.try_pushdown_projection(p)? {
                Some(s) => source = s,
                None => return Ok(None),
            }
        }
        let new_config = FileScanConfigBuilder::from(config.clone())
            .with_source(source)
            .build();
        let mut input: Arc<dyn ExecutionPlan> = DataSourceExec::from_data_source(new_config);
        for node in path.iter().rev() {
            input = replace_child(node, input)?;
        }
        Ok(Some(input))
    }
}

/// Hands the scan the files' Parquet metadata with an Arrow schema that reads the chosen
/// string columns as dictionaries (the reader then keeps the Parquet keys).
#[derive(Debug)]
struct DictReaderFactory {
    inner: DefaultParquetFileReaderFactory,
    columns: Arc<Vec<String>>,
}

impl ParquetFileReaderFactory for DictReaderFactory {
    fn create_reader(
        &self,
        partition_index: usize,
        partitioned_file: PartitionedFile,
        metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> Result<Box<dyn AsyncFileReader + Send>> {
        let inner = self.inner.create_reader(
            partition_index,
            partitioned_file,
            metadata_size_hint,
            metrics,
        )?;
        Ok(Box::new(DictReader {
            inner,
            columns: Arc::clone(&self.columns),
        }))
    }
}

struct DictReader {
    inner: Box<dyn AsyncFileReader + Send>,
    columns: Arc<Vec<String>>,
}

impl AsyncFileReader for DictReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        self.inner.get_bytes(range)
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        self.inner.get_byte_ranges(ranges)
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let meta = self.inner.get_metadata(options).await?;
            with_dictionary_schema(&meta, &self.columns)
        }
        .boxed()
    }
}

/// `meta` with an `ARROW:schema` entry that reads `columns` (where they are strings) as
/// `Dictionary(Int32, Utf8)`.
fn with_dictionary_schema(
    meta: &Arc<ParquetMetaData>,
    columns: &[String],
) -> parquet::errors::Result<Arc<ParquetMetaData>> {
    let fm = meta.file_metadata();
    let schema =
        parquet::arrow::parquet_to_arrow_schema(fm.schema_descr(), fm.key_value_metadata())?;
    let mut changed = false;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if columns.iter().any(|c| c == f.name()) && is_string(f.data_type()) {
                changed = true;
                f.as_ref().clone().with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(DataType::Utf8),
                ))
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    if !changed {
        return Ok(Arc::clone(meta));
    }
    let encoded = parquet::arrow::encode_arrow_schema(&Schema::new(fields));
    let mut kv: Vec<KeyValue> = fm
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .filter(|e| e.key != parquet::arrow::ARROW_SCHEMA_META_KEY)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    kv.push(KeyValue::new(
        parquet::arrow::ARROW_SCHEMA_META_KEY.to_string(),
        encoded,
    ));
    let new_fm = FileMetaData::new(
        fm.version(),
        fm.num_rows(),
        fm.created_by().map(str::to_string),
        Some(kv),
        fm.schema_descr_ptr(),
        fm.column_orders().cloned(),
    );
    let built = ParquetMetaDataBuilder::new(new_fm)
        .set_row_groups(meta.row_groups().to_vec())
        .set_column_index(meta.column_index().cloned())
        .set_offset_index(meta.offset_index().cloned())
        .build();
    Ok(Arc::new(built))
}

/// The first aggregation stage, grouping on dictionary keys (see the module docs).
#[derive(Debug, Clone)]
pub struct DictGroupExec {
    mode: AggregateMode,
    /// A `Partial` stage hands its groups on once it holds this many.
    emit_groups: usize,
    /// Key column indices in the input.
    keys: Vec<usize>,
    aggr: Vec<Arc<datafusion::physical_expr::aggregate::AggregateFunctionExpr>>,
    args: Vec<Vec<Arc<dyn PhysicalExpr>>>,
    filters: Vec<Option<Arc<dyn PhysicalExpr>>>,
    input: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    props: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl DictGroupExec {
    /// `agg` (grouping by the input columns `keys`) over `input`.
    fn try_new(
        agg: &AggregateExec,
        keys: Vec<usize>,
        input: Arc<dyn ExecutionPlan>,
    ) -> Result<Self> {
        let schema = agg.schema();
        let props = Self::plan_properties(&schema, &input, agg.properties());
        Ok(DictGroupExec {
            mode: *agg.mode(),
            emit_groups: EMIT_GROUPS,
            keys,
            aggr: agg.aggr_expr().to_vec(),
            args: aggregate_expressions(agg.aggr_expr(), agg.mode(), 0)?,
            filters: agg.filter_expr().to_vec(),
            input,
            schema,
            props: Arc::new(props),
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }

    /// The replaced stage's emission and boundedness over `input`'s partitions; no
    /// ordering is claimed.
    fn plan_properties(
        schema: &SchemaRef,
        input: &Arc<dyn ExecutionPlan>,
        of: &PlanProperties,
    ) -> PlanProperties {
        PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(schema)),
            Partitioning::UnknownPartitioning(input.output_partitioning().partition_count()),
            of.emission_type,
            of.boundedness,
        )
    }
}

impl DisplayAs for DictGroupExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let input = self.input.schema();
        let keys: Vec<&str> = self
            .keys
            .iter()
            .map(|k| input.field(*k).name().as_str())
            .collect();
        let aggr: Vec<&str> = self.aggr.iter().map(|a| a.name()).collect();
        match t {
            DisplayFormatType::TreeRender => {
                write!(f, "mode={:?}\ngroup_by={}", self.mode, keys.join(", "))
            }
            _ => write!(
                f,
                "DictGroupExec: mode={:?}, gby=[{}], aggr=[{}]",
                self.mode,
                keys.join(", "),
                aggr.join(", ")
            ),
        }
    }
}

impl ExecutionPlan for DictGroupExec {
    fn name(&self) -> &str {
        "DictGroupExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.props
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        for e in self
            .args
            .iter()
            .flatten()
            .chain(self.filters.iter().flatten())
        {
            if f(e)? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return internal_err!("DictGroupExec has one child");
        }
        let input = children.swap_remove(0);
        let props = Self::plan_properties(&self.schema, &input, &self.props);
        Ok(Arc::new(DictGroupExec {
            input,
            props: Arc::new(props),
            metrics: ExecutionPlanMetricsSet::new(),
            ..(*self).clone()
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let batch_size = context.session_config().batch_size().max(1);
        let reservation = MemoryConsumer::new(format!("DictGroupExec[{partition}]"))
            .register(context.memory_pool());
        let input = self.input.execute(partition, context)?;
        let accs = self
            .aggr
            .iter()
            .map(|a| a.create_groups_accumulator())
            .collect::<Result<Vec<_>>>()?;
        let key_types = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, _)| self.schema.field(i).data_type().clone())
            .collect();
        Ok(Box::pin(DictGroupStream {
            schema: Arc::clone(&self.schema),
            input,
            mode: self.mode,
            emit_groups: self.emit_groups,
            keys: self.keys.clone(),
            key_types,
            args: self.args.clone(),
            filters: self.filters.clone(),
            accs,
            groups: Groups::new(self.keys.len()),
            indices: Vec::new(),
            out: std::collections::VecDeque::new(),
            done: false,
            batch_size,
            baseline: BaselineMetrics::new(&self.metrics, partition),
            reservation,
        }))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

struct DictGroupStream {
    schema: SchemaRef,
    input: SendableRecordBatchStream,
    mode: AggregateMode,
    emit_groups: usize,
    keys: Vec<usize>,
    key_types: Vec<DataType>,
    args: Vec<Vec<Arc<dyn PhysicalExpr>>>,
    filters: Vec<Option<Arc<dyn PhysicalExpr>>>,
    accs: Vec<Box<dyn GroupsAccumulator>>,
    groups: Groups,
    indices: Vec<usize>,
    out: std::collections::VecDeque<RecordBatch>,
    done: bool,
    batch_size: usize,
    baseline: BaselineMetrics,
    /// The groups' memory, held in the session's pool: a `Partial` stage that cannot
    /// grow hands its groups on early; any other fails the query with the pool's error.
    reservation: MemoryReservation,
}

impl DictGroupStream {
    fn consume(&mut self, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(());
        }
        let cols: Vec<&ArrayRef> = self.keys.iter().map(|k| batch.column(*k)).collect();
        self.groups.assign(&cols, &mut self.indices)?;
        let total = self.groups.len();
        let values = evaluate_many(&self.args, batch)?;
        for ((acc, vals), filter) in self.accs.iter_mut().zip(&values).zip(&self.filters) {
            let mask = match filter {
                Some(e) => Some(e.evaluate(batch)?.into_array(n)?),
                None => None,
            };
            let mask: Option<&BooleanArray> = mask.as_ref().map(|m| m.as_boolean());
            acc.update_batch(vals, &self.indices, mask, total)?;
        }
        if self.mode == AggregateMode::Partial && total >= self.emit_groups {
            self.emit()?;
        }
        self.reserve()
    }

    /// Holds the groups' current size in the memory pool.
    fn reserve(&mut self) -> Result<()> {
        let size = self.accs.iter().map(|a| a.size()).sum::<usize>() + self.groups.size();
        match self.reservation.try_resize(size) {
            Ok(()) => Ok(()),
            Err(_) if self.mode == AggregateMode::Partial => {
                self.emit()?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Moves every group to the output (accumulator states in a `Partial` stage, final
    /// values otherwise) and starts afresh.
    fn emit(&mut self) -> Result<()> {
        let n = self.groups.len();
        if n == 0 {
            return Ok(());
        }
        let mut columns = self.groups.key_arrays(&self.key_types)?;
        for acc in self.accs.iter_mut() {
            match self.mode {
                AggregateMode::Partial => columns.extend(acc.state(EmitTo::All)?),
                _ => columns.push(acc.evaluate(EmitTo::All)?),
            }
        }
        self.groups = Groups::new(self.keys.len());
        self.reservation.free();
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
        let mut offset = 0;
        while offset < n {
            let len = self.batch_size.min(n - offset);
            self.out.push_back(batch.slice(offset, len));
            offset += len;
        }
        Ok(())
    }
}

impl Stream for DictGroupStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(b) = self.out.pop_front() {
                self.baseline.record_output(b.num_rows());
                return Poll::Ready(Some(Ok(b)));
            }
            if self.done {
                self.baseline.done();
                return Poll::Ready(None);
            }
            let next = match self.input.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(next) => next,
            };
            let elapsed = self.baseline.elapsed_compute().clone();
            let timer = elapsed.timer();
            let step = match next {
                Some(Ok(batch)) => self.consume(&batch),
                Some(Err(e)) => Err(e),
                None => {
                    self.done = true;
                    self.emit()
                }
            };
            timer.done();
            if let Err(e) = step {
                self.done = true;
                self.out.clear();
                return Poll::Ready(Some(Err(e)));
            }
        }
    }
}

impl RecordBatchStream for DictGroupStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

/// The string of `arr` at `i` (`arr` is a string array).
fn str_value(arr: &dyn Array, i: usize) -> Option<&str> {
    if arr.is_null(i) {
        return None;
    }
    match arr.data_type() {
        DataType::Utf8 => Some(arr.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Some(arr.as_string::<i64>().value(i)),
        DataType::Utf8View => Some(arr.as_string_view().value(i)),
        _ => None,
    }
}

/// The distinct values of one grouping column, each with an id.
#[derive(Default)]
struct KeyColumn {
    values: Vec<Option<Box<str>>>,
    ids: FxHashMap<Box<str>, u32>,
    null_id: Option<u32>,
    /// The dictionary of the current batch, and its values' ids (`UNSET` until seen).
    dict: Option<ArrayRef>,
    remap: Vec<u32>,
}

impl KeyColumn {
    fn id(&mut self, v: Option<&str>) -> u32 {
        match v {
            None => match self.null_id {
                Some(id) => id,
                None => {
                    let id = self.values.len() as u32;
                    self.values.push(None);
                    self.null_id = Some(id);
                    id
                }
            },
            Some(s) => match self.ids.get(s) {
                Some(id) => *id,
                None => {
                    let id = self.values.len() as u32;
                    self.values.push(Some(s.into()));
                    self.ids.insert(s.into(), id);
                    id
                }
            },
        }
    }

    /// Makes `values` the current dictionary; true when it changed.
    fn set_dict(&mut self, values: &ArrayRef) -> bool {
        if let Some(d) = &self.dict {
            if Arc::ptr_eq(d, values) {
                return false;
            }
        }
        self.dict = Some(Arc::clone(values));
        self.remap.clear();
        // One more code for NULL keys.
        self.remap.resize(values.len() + 1, UNSET);
        true
    }

    /// The id of dictionary code `code` (`dict.len()` is a NULL key).
    fn global(&mut self, code: u32) -> u32 {
        let id = self.remap[code as usize];
        if id != UNSET {
            return id;
        }
        let Some(dict) = self.dict.clone() else {
            return UNSET;
        };
        let v = if code as usize >= dict.len() {
            None
        } else {
            str_value(dict.as_ref(), code as usize)
        };
        let id = self.id(v);
        self.remap[code as usize] = id;
        id
    }
}

/// One batch's view of a grouping column.
enum Codes {
    /// Every row holds this id.
    Const(u32),
    /// Dictionary codes (NULL = the dictionary's length), `domain` of them.
    Keys(Vec<u32>, usize),
    /// Ids, row by row.
    Ids(Vec<u32>),
}

fn dict_codes<K: arrow::datatypes::ArrowDictionaryKeyType>(
    arr: &dyn Array,
) -> (Vec<u32>, ArrayRef) {
    let d: &DictionaryArray<K> = arr.as_dictionary::<K>();
    let len = d.values().len() as u32;
    let mut codes: Vec<u32> = d
        .keys()
        .values()
        .iter()
        .map(|k| arrow::datatypes::ArrowNativeType::as_usize(*k) as u32)
        .collect();
    if let Some(nulls) = d.keys().nulls() {
        for i in (0..codes.len()).filter(|i| nulls.is_null(*i)) {
            codes[i] = len;
        }
    }
    (codes, Arc::clone(d.values()))
}

/// Rows to group indices.
struct Groups {
    cols: Vec<KeyColumn>,
    /// Packed column ids (32 bits each) -> group index.
    map: FxHashMap<u128, u32>,
    /// Each group's packed ids.
    keys: Vec<u128>,
    /// Group index by the batch's combined dictionary codes, valid while `dense_ident`
    /// (each column's constant id or dictionary size) is unchanged and no dictionary
    /// changed.
    dense: Vec<u32>,
    dense_ident: Vec<(bool, u32, usize)>,
    comp: Vec<u32>,
}

impl Groups {
    /// Bytes held by the group table.
    fn size(&self) -> usize {
        self.keys.capacity() * std::mem::size_of::<u128>()
            + self.map.capacity() * (std::mem::size_of::<(u128, u32)>() + 1)
            + (self.dense.capacity() + self.comp.capacity()) * std::mem::size_of::<u32>()
    }

    fn new(n: usize) -> Self {
        Groups {
            cols: (0..n).map(|_| KeyColumn::default()).collect(),
            map: FxHashMap::default(),
            keys: Vec::new(),
            dense: Vec::new(),
            dense_ident: Vec::new(),
            comp: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn lookup(&mut self, packed: u128) -> u32 {
        let next = self.keys.len() as u32;
        let g = *self.map.entry(packed).or_insert(next);
        if g == next {
            self.keys.push(packed);
        }
        g
    }

    /// How column `j` looks in this batch.
    fn codes(&mut self, j: usize, arr: &ArrayRef) -> Result<Codes> {
        let n = arr.len();
        let col = &mut self.cols[j];
        if let DataType::Dictionary(k, _) = arr.data_type() {
            let (codes, values) = match k.as_ref() {
                DataType::Int32 => dict_codes::<Int32Type>(arr.as_ref()),
                DataType::Int8 => dict_codes::<Int8Type>(arr.as_ref()),
                DataType::Int16 => dict_codes::<Int16Type>(arr.as_ref()),
                DataType::Int64 => dict_codes::<Int64Type>(arr.as_ref()),
                DataType::UInt8 => dict_codes::<UInt8Type>(arr.as_ref()),
                DataType::UInt16 => dict_codes::<UInt16Type>(arr.as_ref()),
                DataType::UInt32 => dict_codes::<UInt32Type>(arr.as_ref()),
                DataType::UInt64 => dict_codes::<UInt64Type>(arr.as_ref()),
                other => return internal_err!("DictGroupExec: dictionary key type {other}"),
            };
            if col.set_dict(&values) {
                self.dense_ident.clear();
            }
            return Ok(Codes::Keys(codes, values.len() + 1));
        }
        if n == 0 {
            return Ok(Codes::Ids(Vec::new()));
        }
        // A string column: constant in the batch (a partition column), or ids row by row
        // with the previous row's id reused for a run of equal values.
        if let DataType::Utf8View = arr.data_type() {
            let a = arr.as_string_view();
            let views = a.views();
            let first = views[0];
            if a.null_count() == 0 && views.iter().all(|v| *v == first) {
                return Ok(Codes::Const(col.id(Some(a.value(0)))));
            }
            let mut ids = Vec::with_capacity(n);
            let mut prev: Option<(u128, u32)> = None;
            for i in 0..n {
                if a.is_null(i) {
                    ids.push(col.id(None));
                    prev = None;
                    continue;
                }
                let v = views[i];
                let id = match prev {
                    Some((pv, pid)) if pv == v => pid,
                    _ => col.id(Some(a.value(i))),
                };
                prev = Some((v, id));
                ids.push(id);
            }
            return Ok(Codes::Ids(ids));
        }
        if arr.logical_null_count() == n {
            return Ok(Codes::Const(col.id(None)));
        }
        let first = str_value(arr.as_ref(), 0);
        if arr.null_count() == 0 && (1..n).all(|i| str_value(arr.as_ref(), i) == first) {
            return Ok(Codes::Const(col.id(first)));
        }
        let mut ids = Vec::with_capacity(n);
        let mut prev: Option<(Option<&str>, u32)> = None;
        for i in 0..n {
            let v = str_value(arr.as_ref(), i);
            let id = match prev {
                Some((pv, pid)) if pv == v => pid,
                _ => col.id(v),
            };
            prev = Some((v, id));
            ids.push(id);
        }
        Ok(Codes::Ids(ids))
    }

    /// The group index of every row of a batch whose grouping columns are `cols`.
    fn assign(&mut self, cols: &[&ArrayRef], out: &mut Vec<usize>) -> Result<()> {
        let n = cols.first().map(|c| c.len()).unwrap_or(0);
        let codes = cols
            .iter()
            .enumerate()
            .map(|(j, a)| self.codes(j, a))
            .collect::<Result<Vec<_>>>()?;
        out.clear();
        out.reserve(n);

        // Dense table over the batch's dictionary codes when it is small.
        let mut domain = 1usize;
        let mut dense_ok = true;
        for c in &codes {
            match c {
                Codes::Const(_) => {}
                Codes::Keys(_, d) => domain = domain.saturating_mul(*d),
                Codes::Ids(_) => dense_ok = false,
            }
        }
        if dense_ok && domain <= DENSE_MAX {
            let ident: Vec<(bool, u32, usize)> = codes
                .iter()
                .map(|c| match c {
                    Codes::Const(id) => (true, *id, 1),
                    Codes::Keys(_, d) => (false, 0, *d),
                    Codes::Ids(_) => (false, 0, 0),
                })
                .collect();
            if ident != self.dense_ident {
                self.dense.clear();
                self.dense.resize(domain, UNSET);
                self.dense_ident = ident;
            }
            let mut comp = std::mem::take(&mut self.comp);
            comp.clear();
            comp.resize(n, 0);
            for c in &codes {
                if let Codes::Keys(k, d) = c {
                    let d = *d as u32;
                    for (x, k) in comp.iter_mut().zip(k) {
                        *x = *x * d + *k;
                    }
                }
            }
            for (i, &c) in comp.iter().enumerate() {
                let mut g = self.dense[c as usize];
                if g == UNSET {
                    let packed = self.packed(&codes, i);
                    g = self.lookup(packed);
                    self.dense[c as usize] = g;
                }
                out.push(g as usize);
            }
            self.comp = comp;
            return Ok(());
        }

        // Otherwise: each column's ids, then a hash lookup per row (runs reuse the
        // previous row's group).
        let mut prev: Option<(u128, u32)> = None;
        for i in 0..n {
            let packed = self.packed(&codes, i);
            let g = match prev {
                Some((p, g)) if p == packed => g,
                _ => self.lookup(packed),
            };
            prev = Some((packed, g));
            out.push(g as usize);
        }
        Ok(())
    }

    /// The packed column ids of row `i`.
    fn packed(&mut self, codes: &[Codes], i: usize) -> u128 {
        let mut packed = 0u128;
        for (j, c) in codes.iter().enumerate() {
            let id = match c {
                Codes::Const(id) => *id,
                Codes::Keys(k, _) => self.cols[j].global(k[i]),
                Codes::Ids(ids) => ids[i],
            };
            packed |= (id as u128) << (32 * j);
        }
        packed
    }

    /// The grouping columns of every group, in group order, as `types`.
    fn key_arrays(&self, types: &[DataType]) -> Result<Vec<ArrayRef>> {
        let mut out = Vec::with_capacity(types.len());
        for (j, t) in types.iter().enumerate() {
            let col = &self.cols[j];
            let mut b = StringViewBuilder::with_capacity(self.keys.len());
            for k in &self.keys {
                let id = (*k >> (32 * j)) as u32;
                match &col.values[id as usize] {
                    Some(s) => b.append_value(s),
                    None => b.append_null(),
                }
            }
            let arr: ArrayRef = Arc::new(b.finish());
            out.push(if arr.data_type() == t {
                arr
            } else {
                arrow::compute::cast(&arr, t)?
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, StringArray, StringViewArray};
    use std::collections::HashMap;

    fn dict(keys: Vec<Option<i32>>, values: &[&str]) -> ArrayRef {
        Arc::new(
            DictionaryArray::<Int32Type>::try_new(
                Int32Array::from(keys),
                Arc::new(StringArray::from(values.to_vec())),
            )
            .unwrap(),
        )
    }

    /// Each row's key strings, as the group of its index says.
    fn keys_of(groups: &Groups, idx: &[usize]) -> Vec<Vec<Option<String>>> {
        let types = vec![DataType::Utf8; groups.cols.len()];
        let arrays = groups.key_arrays(&types).unwrap();
        idx.iter()
            .map(|g| {
                arrays
                    .iter()
                    .map(|a| str_value(a.as_ref(), *g).map(str::to_string))
                    .collect()
            })
            .collect()
    }

    /// The rows' strings read directly from the input columns.
    fn rows_of(cols: &[ArrayRef]) -> Vec<Vec<Option<String>>> {
        let n = cols[0].len();
        (0..n)
            .map(|i| {
                cols.iter()
                    .map(|c| match c.data_type() {
                        DataType::Dictionary(_, _) => {
                            let d = c.as_dictionary::<Int32Type>();
                            if d.is_null(i) {
                                None
                            } else {
                                let k = d.keys().value(i) as usize;
                                str_value(d.values().as_ref(), k).map(str::to_string)
                            }
                        }
                        _ => str_value(c.as_ref(), i).map(str::to_string),
                    })
                    .collect()
            })
            .collect()
    }

    /// Feeds batches through one `Groups` and checks that every row's group holds the
    /// row's own key values and that equal keys always share a group.
    fn check(batches: Vec<Vec<ArrayRef>>) -> Groups {
        let mut groups = Groups::new(batches[0].len());
        let mut seen: HashMap<Vec<Option<String>>, usize> = HashMap::new();
        let mut idx = Vec::new();
        for cols in &batches {
            let refs: Vec<&ArrayRef> = cols.iter().collect();
            groups.assign(&refs, &mut idx).unwrap();
            assert_eq!(idx.len(), cols[0].len());
            let want = rows_of(cols);
            assert_eq!(keys_of(&groups, &idx), want);
            for (row, g) in want.into_iter().zip(&idx) {
                assert_eq!(*seen.entry(row).or_insert(*g), *g);
            }
        }
        assert_eq!(groups.len(), seen.len());
        groups
    }

    #[test]
    fn dictionary_keys_group_across_changing_dictionaries() {
        // The second batch has another dictionary: the same strings in another order,
        // a value the first did not have, a NULL key and an unused value.
        let g = check(vec![
            vec![
                dict(
                    vec![Some(0), Some(1), Some(0), Some(2)],
                    &["q1", "q2", "q3"],
                ),
                dict(vec![Some(1), Some(1), Some(0), None], &["tech", "retail"]),
            ],
            vec![
                dict(
                    vec![Some(2), Some(0), Some(1), None],
                    &["q3", "q2", "q1", "zz"],
                ),
                dict(
                    vec![Some(0), Some(0), Some(2), Some(1)],
                    &["retail", "tech", "gov"],
                ),
            ],
        ]);
        // Rows: (q1,tech) (q2,tech) (q1,retail) (q3,NULL), then (q1,retail) (q3,retail)
        // (q2,gov) (NULL,tech): 7 distinct.
        assert_eq!(g.len(), 7);
    }

    #[test]
    fn constant_views_runs_and_plain_strings() {
        let wave: ArrayRef = Arc::new(StringViewArray::from(vec!["2019"; 5]));
        let seg: ArrayRef = Arc::new(StringViewArray::from(vec![
            Some("a long segment value"),
            Some("a long segment value"),
            None,
            Some("b"),
            Some("a long segment value"),
        ]));
        let st = dict(
            vec![Some(0), Some(1), Some(0), Some(1), Some(0)],
            &["s1", "s2"],
        );
        let wave2: ArrayRef = Arc::new(StringArray::from(vec!["2020", "2019", "2020"]));
        let seg2: ArrayRef = Arc::new(StringArray::from(vec![Some("b"), None, Some("b")]));
        let st2 = dict(vec![Some(0), Some(0), None], &["s2"]);
        check(vec![vec![wave, seg, st], vec![wave2, seg2, st2]]);
    }

    #[test]
    fn many_codes_take_the_hash_path() {
        // Two columns of 300 distinct values: 301 * 301 codes is more than the dense
        // table takes.
        let values: Vec<String> = (0..300).map(|i| format!("v{i}")).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let a: Vec<Option<i32>> = (0..1000).map(|i| Some((i * 7) % 300)).collect();
        let b: Vec<Option<i32>> = (0..1000)
            .map(|i| {
                if i % 13 == 0 {
                    None
                } else {
                    Some((i * 11) % 300)
                }
            })
            .collect();
        let rev: Vec<&str> = refs.iter().rev().copied().collect();
        let g = check(vec![
            vec![dict(a.clone(), &refs), dict(b.clone(), &refs)],
            vec![dict(a, &rev), dict(b, &refs)],
        ]);
        // 301 * 301 codes: no dense table was built.
        assert!(g.dense.is_empty());
        assert!(g.len() > 300);
    }

    #[test]
    fn key_arrays_take_the_output_type() {
        let mut g = Groups::new(1);
        let mut idx = Vec::new();
        let col = dict(vec![Some(1), None, Some(0)], &["x", "y"]);
        g.assign(&[&col], &mut idx).unwrap();
        assert_eq!(idx, vec![0, 1, 2]);
        let out = g.key_arrays(&[DataType::Utf8View]).unwrap();
        assert_eq!(out[0].data_type(), &DataType::Utf8View);
        let v: Vec<Option<&str>> = out[0].as_string_view().iter().collect();
        assert_eq!(v, vec![Some("y"), None, Some("x")]);
        let out = g.key_arrays(&[DataType::LargeUtf8]).unwrap();
        assert_eq!(out[0].data_type(), &DataType::LargeUtf8);
    }

    async fn fixture() -> (tempfile::TempDir, crate::sql::Session) {
        let (dir, store) = crate::sql::tests::fixture_store().await;
        let session = crate::sql::Session::open(&store, None, Default::default())
            .await
            .unwrap();
        (dir, session)
    }

    /// Every row as `a|b|c`, sorted.
    fn sorted_rows(batches: &[RecordBatch]) -> Vec<String> {
        let mut rows = Vec::new();
        for b in batches {
            let fmt: Vec<_> = b
                .columns()
                .iter()
                .map(|c| {
                    arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &Default::default())
                        .unwrap()
                })
                .collect();
            for r in 0..b.num_rows() {
                let cells: Vec<String> = fmt.iter().map(|f| f.value(r).to_string()).collect();
                rows.push(cells.join("|"));
            }
        }
        rows.sort();
        rows
    }

    async fn plan_and_rows(
        ctx: &datafusion::prelude::SessionContext,
        sql: &str,
    ) -> (String, Vec<String>) {
        let df = ctx.sql(sql).await.unwrap();
        let plan = df.clone().create_physical_plan().await.unwrap();
        let text = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(true)
            .to_string();
        let batches = df.collect().await.unwrap();
        let rows = sorted_rows(&batches);
        (text, rows)
    }

    /// Each query groups on dictionary keys and gives exactly what DataFusion's own
    /// grouping gives for the same keys written as expressions (which the rule leaves
    /// alone).
    #[tokio::test]
    async fn fixture_queries_match_datafusion_grouping() {
        let (_dir, session) = fixture().await;
        let ctx = &session.ctx;
        let cases = [
            // The analyst's query: statement and a segment, the wave a partition column.
            (
                "SELECT {wave}, {statement}, {region}, count(*) AS n, \
              sum(CASE WHEN agree THEN weight ELSE 0 END) / sum(weight) AS p \
              FROM responses WHERE agree IS NOT NULL GROUP BY 1, 2, 3",
                27,
            ),
            // NULL segment values, no filter, several aggregates with a FILTER clause.
            (
                "SELECT {region}, {grp}, count(*), count(value), min(value), max(weight), \
              sum(weight) FILTER (WHERE agree) FROM responses GROUP BY 1, 2",
                0,
            ),
            // A high-cardinality key: one group per respondent.
            (
                "SELECT {respondent}, count(agree), avg(value) FROM responses GROUP BY 1",
                0,
            ),
            // DISTINCT: DataFusion groups by (grp, respondent) first; that stage is ours.
            (
                "SELECT {grp}, count(DISTINCT respondent) FROM responses GROUP BY 1",
                0,
            ),
            // A computed projection between the scan and the aggregate (common
            // subexpressions, a subquery's computed column).
            (
                "SELECT {statement}, sum(value * weight), max(value * weight) \
                 FROM responses GROUP BY 1",
                0,
            ),
            (
                "SELECT s, avg(v) FROM (SELECT {statement} AS s, value * weight AS v \
                 FROM responses) GROUP BY s",
                0,
            ),
            // A virtual column of the scan.
            (
                "SELECT {statement}, count(file_row_index()) FROM responses GROUP BY 1",
                0,
            ),
            // One key; a filter on another column.
            (
                "SELECT {grp}, sum(value) FROM responses WHERE value > 2 GROUP BY 1",
                0,
            ),
        ];
        // Then with tiny batches (many batches per dictionary), and on one partition
        // (the single-stage aggregate).
        let settings = [
            None,
            Some("SET datafusion.execution.batch_size = 7"),
            Some("SET datafusion.execution.target_partitions = 1"),
        ];
        for set in settings {
            if let Some(set) = set {
                ctx.sql(set).await.unwrap().collect().await.unwrap();
            }
            check_cases(ctx, &cases).await;
        }
        let (plan, _) = plan_and_rows(ctx, "SELECT grp, count(*) FROM responses GROUP BY 1").await;
        assert!(plan.contains("DictGroupExec: mode=Single"), "{plan}");
    }

    async fn check_cases(ctx: &datafusion::prelude::SessionContext, cases: &[(&str, usize)]) {
        for &(sql, expect_rows) in cases {
            // `{col}` is the column itself, or for the reference `substr(col, 1)`: the
            // same strings, computed, which the rule leaves to DataFusion.
            let (mut plain, mut reference) = (sql.to_string(), sql.to_string());
            for col in ["wave", "statement", "region", "grp", "respondent"] {
                let key = format!("{{{col}}}");
                plain = plain.replace(&key, col);
                reference = reference.replace(&key, &format!("substr({col}, 1)"));
            }
            let (plan, rows) = plan_and_rows(ctx, &plain).await;
            assert!(plan.contains("DictGroupExec"), "{plain}\n{plan}");
            let (ref_plan, ref_rows) = plan_and_rows(ctx, &reference).await;
            assert!(
                !ref_plan.contains("DictGroupExec"),
                "{reference}\n{ref_plan}"
            );
            assert!(!rows.is_empty());
            if expect_rows > 0 {
                assert_eq!(rows.len(), expect_rows, "{plain}");
            }
            assert_eq!(rows, ref_rows, "{plain}");
        }
    }

    /// A `Partial` stage that hands its groups on every few groups gives the same result
    /// (the final stage merges the pieces).
    #[tokio::test]
    async fn early_emission_gives_the_same_result() {
        let (_dir, session) = fixture().await;
        let sql = "SELECT respondent, statement, count(*), sum(weight) FILTER (WHERE agree), \
                   max(value) FROM responses GROUP BY 1, 2";
        let (plan_text, want) = plan_and_rows(&session.ctx, sql).await;
        assert!(
            plan_text.contains("DictGroupExec: mode=Partial"),
            "{plan_text}"
        );
        let plan = session
            .ctx
            .sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let mut seen = 0;
        let plan = plan
            .transform_up(|node| {
                Ok(match node.downcast_ref::<DictGroupExec>() {
                    Some(d) => {
                        seen += 1;
                        let mut d = d.clone();
                        d.emit_groups = 5;
                        Transformed::yes(Arc::new(d) as Arc<dyn ExecutionPlan>)
                    }
                    None => Transformed::no(node),
                })
            })
            .unwrap()
            .data;
        assert_eq!(seen, 1);
        let batches = datafusion::physical_plan::collect(plan, session.ctx.task_ctx())
            .await
            .unwrap();
        let rows = sorted_rows(&batches);
        assert_eq!(rows, want);
        assert!(rows.len() > 1000);
    }

    /// The groups are held in the session's memory pool: under a pool too small for them a
    /// `Partial` stage hands them on early (same result), and a single stage fails the
    /// query with the pool's error instead of growing past the limit.
    #[tokio::test]
    async fn groups_are_held_in_the_memory_pool() {
        use datafusion::execution::runtime_env::RuntimeEnvBuilder;
        let (_dir, session) = fixture().await;
        let sql = "SELECT respondent, statement, count(*), max(value) FROM responses GROUP BY 1, 2";
        let (plan_text, want) = plan_and_rows(&session.ctx, sql).await;
        assert!(
            plan_text.contains("DictGroupExec: mode=Partial"),
            "{plan_text}"
        );
        let small = |bytes: usize| {
            let runtime = RuntimeEnvBuilder::new()
                .with_object_store_registry(session.ctx.runtime_env().object_store_registry.clone())
                .with_memory_limit(bytes, 1.0)
                .build_arc()
                .unwrap();
            Arc::new(TaskContext::from(&session.ctx.state()).with_runtime(runtime))
        };
        let plan = session
            .ctx
            .sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        // Partial: groups handed on whenever the pool is full; the final stage (DataFusion's
        // own) gets room enough.
        let batches = datafusion::physical_plan::collect(plan, small(4 << 20))
            .await
            .unwrap();
        assert_eq!(sorted_rows(&batches), want);
        // A single stage (one partition) cannot hand anything on: it fails cleanly.
        let mut state = session.ctx.state();
        state.config_mut().options_mut().execution.target_partitions = 1;
        let single = datafusion::prelude::SessionContext::new_with_state(state);
        let plan = single
            .sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let text = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(true)
            .to_string();
        assert!(text.contains("DictGroupExec: mode=Single"), "{text}");
        let e = datafusion::physical_plan::collect(plan, small(16 << 10))
            .await
            .unwrap_err();
        assert!(
            matches!(
                e.find_root(),
                datafusion::error::DataFusionError::ResourcesExhausted(_)
            ),
            "{e}"
        );
    }

    /// Where a key column is also filtered on, or a key is computed, the rule stays out.
    #[tokio::test]
    async fn other_shapes_are_left_to_datafusion() {
        let (_dir, session) = fixture().await;
        for sql in [
            "SELECT statement, count(*) FROM responses WHERE statement <> 'x' GROUP BY 1",
            "SELECT lower(grp), count(*) FROM responses GROUP BY 1",
            "SELECT value, count(*) FROM responses GROUP BY 1",
        ] {
            let (plan, rows) = plan_and_rows(&session.ctx, sql).await;
            assert!(!plan.contains("DictGroupExec"), "{sql}\n{plan}");
            assert!(!rows.is_empty());
        }
    }
}
