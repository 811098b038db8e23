//! Aggregates that [`super::DictGroupExec`] computes with accumulators of its own, for
//! the two that every share query has: `count(*)`, and the weighted count
//! `sum(CASE WHEN agree THEN weight ELSE 0 END)` ([`SumSelect`]). Their states and results
//! are those of DataFusion's `count` and `sum`, so the final stage merges them as usual.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use arrow::datatypes::Int64Type;
use datafusion::common::{internal_err, Result};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::PhysicalExpr;

use super::sum_select::SumSelect;
use crate::sql::lanes::true_rows;

/// An aggregate computed here.
#[derive(Debug, Clone)]
pub(super) enum Fused {
    /// `count` of a constant that is not NULL (`count(*)`): the rows of each group.
    CountRows,
    Sum(SumSelect),
}

impl Fused {
    /// `aggr` with its arguments `args` as a fused aggregate, and the arguments its
    /// accumulator is given instead.
    pub(super) fn of(
        aggr: &AggregateFunctionExpr,
        args: &[Arc<dyn PhysicalExpr>],
    ) -> Option<(Fused, Vec<Arc<dyn PhysicalExpr>>)> {
        if let Some(sum) = SumSelect::of(aggr, args) {
            let args = sum.args.clone();
            return Some((Fused::Sum(sum), args));
        }
        let [arg] = args else { return None };
        let constant = arg.downcast_ref::<Literal>()?;
        let counts_rows = aggr.fun().name() == "count" && !aggr.is_distinct();
        (counts_rows && !constant.value().is_null()).then_some((Fused::CountRows, Vec::new()))
    }

    pub(super) fn accumulator(&self) -> Box<dyn GroupsAccumulator> {
        match self {
            Fused::CountRows => Box::new(CountRows { counts: Vec::new() }),
            Fused::Sum(sum) => sum.accumulator(),
        }
    }
}

/// Each group's number of rows (that the aggregate's `FILTER` keeps).
struct CountRows {
    counts: Vec<i64>,
}

impl GroupsAccumulator for CountRows {
    fn update_batch(
        &mut self,
        _values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.counts.resize(total_num_groups, 0);
        match opt_filter {
            None => {
                for &g in group_indices {
                    self.counts[g] += 1;
                }
            }
            Some(f) => {
                for (&g, keep) in group_indices.iter().zip(true_rows(f).iter()) {
                    self.counts[g] += i64::from(keep);
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let counts = emit_to.take_needed(&mut self.counts);
        Ok(Arc::new(Int64Array::from(counts)))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.evaluate(emit_to)?])
    }

    /// Partial counts (the state), added.
    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        let Some(partial) = values
            .first()
            .and_then(|v| v.as_primitive_opt::<Int64Type>())
        else {
            return internal_err!("count: a state that is not Int64");
        };
        if partial.null_count() > 0 {
            return internal_err!("count: a NULL partial count");
        }
        self.counts.resize(total_num_groups, 0);
        for (&g, n) in group_indices.iter().zip(partial.values()) {
            self.counts[g] += n;
        }
        Ok(())
    }

    /// Each row as a count of its own: 1, or 0 where the filter drops it.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let n = values.first().map_or(0, |v| v.len());
        let counts: Int64Array = match opt_filter {
            None => vec![1i64; n].into(),
            Some(f) => true_rows(f)
                .iter()
                .map(i64::from)
                .collect::<Vec<_>>()
                .into(),
        };
        Ok(vec![Arc::new(counts)])
    }

    fn size(&self) -> usize {
        self.counts.capacity() * std::mem::size_of::<i64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rows_the_filter_keeps_and_merges_states() {
        let mut acc = Fused::CountRows.accumulator();
        acc.update_batch(&[], &[0, 1, 1, 2], None, 3).unwrap();
        let keep = BooleanArray::from(vec![Some(true), None, Some(false), Some(true)]);
        acc.update_batch(&[], &[1, 1, 0, 1], Some(&keep), 3)
            .unwrap();
        let first = acc.state(EmitTo::First(1)).unwrap();
        assert_eq!(first[0].as_primitive::<Int64Type>().values(), &[1]);
        // Left: groups 1 and 2 (now 0 and 1) with 4 and 1 rows.
        let partial: ArrayRef = Arc::new(Int64Array::from(vec![5, 7]));
        acc.merge_batch(&[partial], &[1, 0], 2).unwrap();
        let out = acc.evaluate(EmitTo::All).unwrap();
        assert_eq!(out.as_primitive::<Int64Type>().values(), &[4 + 7, 1 + 5]);
        assert_eq!(out.null_count(), 0);
    }
}
