//! The physical optimizer rule: finds a first-stage aggregate over a `responses` scan
//! that can group on dictionary keys and rewrites the plan to [`DictGroupExec`].

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::Result;
use datafusion::config::ConfigOptions;
use datafusion::datasource::physical_plan::{FileScanConfigBuilder, FileSource, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::utils::collect_columns;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, ExecutionPlan, InputOrderMode, Partitioning, ReplaceChildrenOptions,
};
use object_store::ObjectStore;

use super::exec::DictGroupExec;
use super::reader::DictReaderFactory;
use super::MAX_KEYS;

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

pub(super) fn is_string(t: &DataType) -> bool {
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
    /// The plan that replaces `node` (an aggregate the rule recognises), or `None` to
    /// leave it as it is.
    fn rewrite(&self, node: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(agg) = node.downcast_ref::<AggregateExec>() else {
            return Ok(None);
        };
        let Some((keys, blocked)) = grouping(agg) else {
            return Ok(None);
        };
        let Some(walk) = walk_to_scan(agg, &keys, blocked) else {
            return Ok(None);
        };
        let Some(scan) = walk.scan.downcast_ref::<DataSourceExec>() else {
            return Ok(None);
        };
        let Some((config, parquet)) = scan.downcast_to_file_source::<ParquetSource>() else {
            return Ok(None);
        };
        if config.object_store_url != self.url || parquet.parquet_file_reader_factory().is_some() {
            return Ok(None);
        }
        let Some(convert) = columns_to_convert(parquet, &walk) else {
            return Ok(None);
        };
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
                match self.rebuild(config, parquet, &convert, &walk.path)? {
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
            .with_parquet_file_reader_factory(Arc::new(DictReaderFactory::new(
                Arc::clone(&self.store),
                names,
            )));
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

/// The grouping columns of a first-stage aggregate the rule can take over, and the input
/// columns that anything other than the grouping reads (they keep their type); `None` for
/// any other aggregate.
fn grouping(agg: &AggregateExec) -> Option<(Vec<usize>, Vec<usize>)> {
    if !matches!(agg.mode(), AggregateMode::Partial | AggregateMode::Single)
        || agg.group_expr().has_grouping_set()
        || agg.limit_options().is_some()
        || !agg.dynamic_expressions_produced().is_empty()
        || *agg.input_order_mode() != InputOrderMode::Linear
    {
        return None;
    }
    let group = agg.group_expr().expr();
    if group.is_empty() || group.len() > MAX_KEYS {
        return None;
    }
    let input_schema = agg.input().schema();
    let mut keys = Vec::with_capacity(group.len());
    for (expr, _) in group {
        let col = expr.downcast_ref::<Column>()?;
        if !is_key_type(input_schema.field(col.index()).data_type()) {
            return None;
        }
        keys.push(col.index());
    }
    for a in agg.aggr_expr() {
        if a.is_distinct() || !a.order_bys().is_empty() || !a.groups_accumulator_supported() {
            return None;
        }
    }
    let mut blocked: Vec<usize> = Vec::new();
    for a in agg.aggr_expr() {
        for e in a.expressions() {
            blocked.extend(columns_of(&e));
        }
    }
    for e in agg.filter_expr().iter().flatten() {
        blocked.extend(columns_of(e));
    }
    Some((keys, blocked))
}

/// The way from an aggregate's input down to its scan.
struct Walk {
    /// The operators between the aggregate and the scan, top first.
    path: Vec<Arc<dyn ExecutionPlan>>,
    scan: Arc<dyn ExecutionPlan>,
    /// Each grouping key as a column of the scan's output (`None`: computed on the way).
    key_idx: Vec<Option<usize>>,
    /// The scan's output columns that something other than the grouping reads.
    blocked: Vec<usize>,
}

/// Walks from `agg`'s input down to the scan, following each key column (and the
/// `blocked` ones) through projections, filters and round-robin repartitions; `None`
/// where any other operator stands between.
fn walk_to_scan(agg: &AggregateExec, keys: &[usize], mut blocked: Vec<usize>) -> Option<Walk> {
    let mut path: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
    let mut cur = Arc::clone(agg.input());
    let mut key_idx: Vec<Option<usize>> = keys.iter().map(|k| Some(*k)).collect();
    while !cur.is::<DataSourceExec>() {
        let child = match cur.children().as_slice() {
            [c] => Arc::clone(*c),
            _ => return None,
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
            if !matches!(r.partitioning(), Partitioning::RoundRobinBatch(_)) || r.preserve_order() {
                return None;
            }
        } else {
            return None;
        }
        path.push(cur);
        cur = child;
    }
    Some(Walk {
        path,
        scan: cur,
        key_idx,
        blocked,
    })
}

/// The file columns the scan is to read as dictionaries: every key that is a plain
/// string column of the files (a partition column is constant for a file and stays as
/// it is); `None` where a key is computed, not a string, or read by anything else.
fn columns_to_convert(parquet: &ParquetSource, walk: &Walk) -> Option<Vec<usize>> {
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
    let mut table_blocked: Vec<usize> = walk.blocked.iter().filter_map(|i| to_table(*i)).collect();
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
    for k in &walk.key_idx {
        let t = k.and_then(to_table)?;
        if t >= n_file {
            continue; // a partition column: constant for a file, cheap as it is
        }
        if table_blocked.contains(&t) || !is_string(file_schema.field(t).data_type()) {
            return None;
        }
        if !convert.contains(&t) {
            convert.push(t);
        }
    }
    Some(convert)
}
