//! [`DictGroupExec`]: the first aggregation stage that groups on dictionary keys, and
//! its stream.

use arrow::array::AsArray;
use datafusion::physical_plan::ExecutionPlanProperties;
use futures::StreamExt;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use arrow::array::{ArrayRef, BooleanArray, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{internal_err, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::aggregates::{
    aggregate_expressions, evaluate_many, AggregateExec, AggregateMode,
};
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::Stream;

use super::fold::Folded;
use super::fused::Fused;
use super::groups::Groups;
use super::EMIT_GROUPS;

/// The first aggregation stage, grouping on dictionary keys (see the module docs).
#[derive(Debug, Clone)]
pub struct DictGroupExec {
    mode: AggregateMode,
    /// A `Partial` stage hands its groups on once it holds this many.
    pub(super) emit_groups: usize,
    /// Key column indices in the input.
    keys: Vec<usize>,
    aggr: Vec<Arc<datafusion::physical_expr::aggregate::AggregateFunctionExpr>>,
    args: Vec<Vec<Arc<dyn PhysicalExpr>>>,
    filters: Vec<Option<Arc<dyn PhysicalExpr>>>,
    /// Aggregates computed by an accumulator of this module (`args` are then its own).
    fused: Vec<Option<Fused>>,
    /// The filter taken over from a `FilterExec` below (`input` is then its input).
    fold: Option<Folded>,
    input: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    props: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl DictGroupExec {
    /// `agg` (grouping by the input columns `keys`) over `input`.
    pub(super) fn try_new(
        agg: &AggregateExec,
        keys: Vec<usize>,
        input: Arc<dyn ExecutionPlan>,
    ) -> Result<Self> {
        let schema = agg.schema();
        let mut args = aggregate_expressions(agg.aggr_expr(), agg.mode(), 0)?;
        let filters = agg.filter_expr().to_vec();
        let (fold, input) = match Folded::of(&input, &args, &filters) {
            Some((fold, below)) => (Some(fold), below),
            None => (None, input),
        };
        let fused = agg
            .aggr_expr()
            .iter()
            .zip(&mut args)
            .map(|(a, args)| {
                let (fused, own) = Fused::of(a, args)?;
                *args = own;
                Some(fused)
            })
            .collect();
        let props = Self::plan_properties(&schema, &input, agg.properties());
        Ok(DictGroupExec {
            mode: *agg.mode(),
            emit_groups: EMIT_GROUPS,
            keys,
            aggr: agg.aggr_expr().to_vec(),
            args,
            filters,
            fused,
            fold,
            input,
            schema,
            props: Arc::new(props),
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }

    /// How many aggregates are computed by a fused accumulator.
    #[cfg(test)]
    pub(super) fn fused(&self) -> usize {
        self.fused.iter().flatten().count()
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
        let name = |k: usize| {
            let k = match self.fold.as_ref().and_then(|f| f.projection.as_ref()) {
                Some(p) => p[k],
                None => k,
            };
            input.field(k).name().as_str()
        };
        let keys: Vec<&str> = self.keys.iter().map(|k| name(*k)).collect();
        let aggr: Vec<&str> = self.aggr.iter().map(|a| a.name()).collect();
        match t {
            DisplayFormatType::TreeRender => {
                write!(f, "mode={:?}\ngroup_by={}", self.mode, keys.join(", "))?;
            }
            _ => write!(
                f,
                "DictGroupExec: mode={:?}, gby=[{}], aggr=[{}]",
                self.mode,
                keys.join(", "),
                aggr.join(", ")
            )?,
        }
        let sep = match t {
            DisplayFormatType::TreeRender => "\n",
            _ => ", ",
        };
        match &self.fold {
            Some(fold) => write!(f, "{sep}filter={}", fold.predicate),
            None => Ok(()),
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
            .chain(self.fold.iter().map(|f| &f.predicate))
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
            .zip(&self.fused)
            .map(|(a, fused)| match fused {
                Some(f) => Ok(f.accumulator()),
                None => a.create_groups_accumulator(),
            })
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
            fold: self.fold.clone(),
            accs,
            groups: self.fold.as_ref().map_or_else(
                || Groups::new(self.keys.len()),
                |_| Groups::with_trash(self.keys.len()),
            ),
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
    fold: Option<Folded>,
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
        let (batch, keep) = match &self.fold {
            Some(fold) => fold.apply(batch)?,
            None => (batch.clone(), None),
        };
        let n = batch.num_rows();
        if n == 0 {
            return Ok(());
        }
        let cols: Vec<&ArrayRef> = self.keys.iter().map(|k| batch.column(*k)).collect();
        self.groups
            .assign(&cols, keep.as_ref(), &mut self.indices)?;
        let total = self.groups.len();
        let batch = &batch;
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
        let first = self.groups.emitted();
        let n = self.groups.len() - first;
        if n == 0 {
            return Ok(());
        }
        let mut columns = self.groups.key_arrays(&self.key_types)?;
        for acc in self.accs.iter_mut() {
            let values = match self.mode {
                AggregateMode::Partial => acc.state(EmitTo::All)?,
                _ => vec![acc.evaluate(EmitTo::All)?],
            };
            // The trash group's values are dropped.
            columns.extend(values.into_iter().map(|v| v.slice(first, n)));
        }
        self.groups = self.groups.fresh();
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
