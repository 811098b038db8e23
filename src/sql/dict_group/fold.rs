//! A filter taken over by [`super::DictGroupExec`]: where a `FilterExec` stands right
//! below the aggregate, the aggregate evaluates its predicate itself. When the predicate
//! keeps most of a batch, the batch is not copied: the rows it drops go to a trash group
//! that is never emitted, so the accumulators keep their branch-free path over the whole
//! batch. When it keeps less than half, the kept rows are copied as the filter would.
//! The aggregate's arguments are then evaluated on rows the filter drops, so the fold is
//! made only where they cannot fail on any row (columns, literals, null tests and
//! `case_select` of those): a filter that guards an expression (`WHERE x <> 0` before
//! `sum(1 / x)`) stays a filter.

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{filter_record_batch, prep_null_mask_filter};
use datafusion::common::{internal_err, Result};
use datafusion::physical_expr::expressions::{Column, IsNotNullExpr, IsNullExpr, Literal};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::ExecutionPlan;

/// The predicate and output projection of the filter taken over.
#[derive(Debug, Clone)]
pub(super) struct Folded {
    pub(super) predicate: Arc<dyn PhysicalExpr>,
    /// The filter's output columns, as indices of its input's.
    pub(super) projection: Option<Arc<[usize]>>,
}

impl Folded {
    /// The filter `input` is, with the filter's own input, where the aggregate can take it
    /// over: no row limit, and the aggregate's expressions (`args`, `filters`) total.
    pub(super) fn of(
        input: &Arc<dyn ExecutionPlan>,
        args: &[Vec<Arc<dyn PhysicalExpr>>],
        filters: &[Option<Arc<dyn PhysicalExpr>>],
    ) -> Option<(Folded, Arc<dyn ExecutionPlan>)> {
        let f = input.downcast_ref::<FilterExec>()?;
        let mut exprs = args.iter().flatten().chain(filters.iter().flatten());
        if ExecutionPlan::fetch(f).is_some() || !exprs.all(total) {
            return None;
        }
        let fold = Folded {
            predicate: Arc::clone(f.predicate()),
            projection: f.projection().clone(),
        };
        Some((fold, Arc::clone(f.input())))
    }

    /// The batch as the filter's output columns, and the rows to keep (`None`: all).
    pub(super) fn apply(
        &self,
        batch: &RecordBatch,
    ) -> Result<(RecordBatch, Option<BooleanBuffer>)> {
        let n = batch.num_rows();
        let mask = self.predicate.evaluate(batch)?.into_array(n)?;
        let Some(mask) = mask.as_boolean_opt() else {
            return internal_err!("DictGroupExec: a filter predicate that is not boolean");
        };
        let mask = match mask.nulls() {
            Some(_) => prep_null_mask_filter(mask),
            None => mask.clone(),
        };
        let kept = mask.true_count();
        let few = kept * 2 < n;
        let batch = if few {
            filter_record_batch(batch, &mask)?
        } else {
            batch.clone()
        };
        let batch = match &self.projection {
            Some(p) => batch.project(p)?,
            None => batch,
        };
        let keep = (!few && kept < n).then(|| mask.values().clone());
        Ok((batch, keep))
    }
}

/// Whether `e` evaluates without error on any row.
fn total(e: &Arc<dyn PhysicalExpr>) -> bool {
    let leaf = e.downcast_ref::<Column>().is_some() || e.downcast_ref::<Literal>().is_some();
    let safe = leaf
        || e.downcast_ref::<IsNullExpr>().is_some()
        || e.downcast_ref::<IsNotNullExpr>().is_some()
        || e.downcast_ref::<ScalarFunctionExpr>()
            .is_some_and(|f| f.name() == crate::sql::case_select::NAME);
    safe && e.children().into_iter().all(total)
}
