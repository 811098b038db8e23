//! `sum(case_select(cond, a, b))` over `Float64` as one accumulator: the weighted count
//! of every share (`sum(CASE WHEN agree THEN weight ELSE 0 END)`).
//!
//! Evaluated as written, the select builds a column of its own (every row's `a` or `b`)
//! that `sum` then reads. Here each row's value is picked and added in the same loop,
//! 64 rows per condition word, without a branch per row (`crate::sql::lanes`). The
//! sums, their order of addition and the NULL rules are those of `sum` over the select
//! (a row adds its picked value where that value is not NULL; a group that added none
//! is NULL), so the results are identical to the bit, and the state is `sum`'s (one
//! `Float64`), which the final stage merges as usual.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::DataType;
use datafusion::common::{internal_err, Result, ScalarValue};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::expressions::{Column, Literal};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};

use crate::sql::lanes::{pick, true_rows};

/// One branch of the select: a column (read from the arguments) or a constant.
#[derive(Debug, Clone, Copy)]
enum Branch {
    Column,
    Const(Option<f64>),
}

impl Branch {
    fn of(e: &Arc<dyn PhysicalExpr>) -> Option<Self> {
        if e.downcast_ref::<Column>().is_some() {
            return Some(Branch::Column);
        }
        match e.downcast_ref::<Literal>()?.value() {
            ScalarValue::Float64(v) => Some(Branch::Const(*v)),
            _ => None,
        }
    }
}

/// A recognised `sum(case_select(cond, a, b))`.
#[derive(Debug, Clone)]
pub(super) struct SumSelect {
    /// The expressions the accumulator is given: `cond`, then each column branch.
    pub(super) args: Vec<Arc<dyn PhysicalExpr>>,
    a: Branch,
    b: Branch,
}

impl SumSelect {
    /// `aggr` (with its arguments `args`) as a fused sum, where it is one.
    pub(super) fn of(
        aggr: &AggregateFunctionExpr,
        args: &[Arc<dyn PhysicalExpr>],
    ) -> Option<SumSelect> {
        let [arg] = args else { return None };
        let f = arg.downcast_ref::<ScalarFunctionExpr>()?;
        let float = |t: &DataType| *t == DataType::Float64;
        if aggr.fun().name() != "sum" || !float(aggr.field().data_type()) {
            return None;
        }
        if f.name() != crate::sql::case_select::NAME || !float(f.return_type()) {
            return None;
        }
        let [cond, a, b] = f.args() else { return None };
        let (ba, bb) = (Branch::of(a)?, Branch::of(b)?);
        let mut args = vec![Arc::clone(cond)];
        for (e, branch) in [(a, ba), (b, bb)] {
            if let Branch::Column = branch {
                args.push(Arc::clone(e));
            }
        }
        Some(SumSelect { args, a: ba, b: bb })
    }

    pub(super) fn accumulator(&self) -> Box<dyn GroupsAccumulator> {
        Box::new(SumSelectAcc {
            a: self.a,
            b: self.b,
            sums: Vec::new(),
            seen: Vec::new(),
        })
    }
}

/// The accumulator: each group's sum, and whether it added any value.
struct SumSelectAcc {
    a: Branch,
    b: Branch,
    sums: Vec<f64>,
    seen: Vec<bool>,
}

/// A branch's values in one batch.
enum Values<'a> {
    Array(&'a Float64Array),
    Const(Option<f64>),
}

impl<'a> Values<'a> {
    fn of(branch: Branch, cols: &mut impl Iterator<Item = &'a ArrayRef>) -> Result<Self> {
        match branch {
            Branch::Const(v) => Ok(Values::Const(v)),
            Branch::Column => match cols.next().and_then(|c| c.as_primitive_opt()) {
                Some(a) => Ok(Values::Array(a)),
                None => internal_err!("sum over case_select: a branch that is not Float64"),
            },
        }
    }

    /// Which of `n` rows hold a value (`None`: all of them).
    fn valid(&self, n: usize) -> Option<BooleanBuffer> {
        match self {
            Values::Array(a) => a.nulls().map(|v| v.inner().clone()),
            Values::Const(Some(_)) => None,
            Values::Const(None) => Some(BooleanBuffer::new_unset(n)),
        }
    }
}

/// Row `i`'s value of a branch.
trait Pick: Copy {
    fn at(self, i: usize) -> f64;
}

impl Pick for &[f64] {
    #[inline(always)]
    fn at(self, i: usize) -> f64 {
        self[i]
    }
}

impl Pick for f64 {
    #[inline(always)]
    fn at(self, _: usize) -> f64 {
        self
    }
}

/// The rows whose picked value is counted: it is not NULL, and the filter keeps the row.
fn counted(
    take: &BooleanBuffer,
    a: &Values,
    b: &Values,
    filter: Option<&BooleanArray>,
) -> Option<BooleanBuffer> {
    let n = take.len();
    let ok = match (a.valid(n), b.valid(n)) {
        (None, None) => None,
        (va, vb) => {
            let va = va.unwrap_or_else(|| BooleanBuffer::new_set(n));
            let vb = vb.unwrap_or_else(|| BooleanBuffer::new_set(n));
            Some(&(take & &va) | &(&!take & &vb))
        }
    };
    match (ok, filter.map(true_rows)) {
        (Some(ok), Some(f)) => Some(&ok & &f),
        (ok, f) => ok.or(f),
    }
}

impl SumSelectAcc {
    /// Adds each row's picked value to its group's sum: `a` where `take`, else `b`,
    /// counted where `ok` (`None`: every row).
    fn add<A: Pick, B: Pick>(
        &mut self,
        groups: &[usize],
        take: &BooleanBuffer,
        ok: Option<&BooleanBuffer>,
        a: A,
        b: B,
    ) {
        let (sums, seen) = (&mut self.sums, &mut self.seen);
        let words = take.inner().bit_chunks(take.offset(), groups.len());
        let chunks = words.iter_padded().zip(groups.chunks(64)).enumerate();
        match ok {
            None => {
                for (k, (word, gs)) in chunks {
                    for (j, &g) in gs.iter().enumerate() {
                        let i = k * 64 + j;
                        sums[g] += pick(word, j, a.at(i), b.at(i));
                        seen[g] = true;
                    }
                }
            }
            Some(ok) => {
                let oks = ok.inner().bit_chunks(ok.offset(), groups.len());
                for ((k, (word, gs)), okw) in chunks.zip(oks.iter_padded()) {
                    for (j, &g) in gs.iter().enumerate() {
                        let i = k * 64 + j;
                        let v = pick(word, j, a.at(i), b.at(i));
                        sums[g] += pick(okw, j, v, 0.0);
                        seen[g] |= (okw >> j) & 1 == 1;
                    }
                }
            }
        }
    }

    /// [`Self::add`] over the branches' values, whatever each is.
    fn add_values(
        &mut self,
        groups: &[usize],
        take: &BooleanBuffer,
        ok: Option<&BooleanBuffer>,
        a: &Values,
        b: &Values,
    ) {
        // A NULL constant is never counted; any value stands in for it.
        let konst = |v: &Option<f64>| v.unwrap_or(0.0);
        match (a, b) {
            (Values::Array(x), Values::Array(y)) => {
                self.add(groups, take, ok, &x.values()[..], &y.values()[..])
            }
            (Values::Array(x), Values::Const(y)) => {
                self.add(groups, take, ok, &x.values()[..], konst(y))
            }
            (Values::Const(x), Values::Array(y)) => {
                self.add(groups, take, ok, konst(x), &y.values()[..])
            }
            (Values::Const(x), Values::Const(y)) => self.add(groups, take, ok, konst(x), konst(y)),
        }
    }
}

impl GroupsAccumulator for SumSelectAcc {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let Some(cond) = values.first().and_then(|c| c.as_boolean_opt()) else {
            return internal_err!("sum over case_select: a condition that is not boolean");
        };
        let mut cols = values[1..].iter();
        let a = Values::of(self.a, &mut cols)?;
        let b = Values::of(self.b, &mut cols)?;
        let take = true_rows(cond);
        let ok = counted(&take, &a, &b, opt_filter);
        self.sums.resize(total_num_groups, 0.0);
        self.seen.resize(total_num_groups, false);
        self.add_values(group_indices, &take, ok.as_ref(), &a, &b);
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let sums = emit_to.take_needed(&mut self.sums);
        let seen = emit_to.take_needed(&mut self.seen);
        let nulls = (!seen.iter().all(|s| *s)).then(|| NullBuffer::from(seen));
        Ok(Arc::new(Float64Array::new(sums.into(), nulls)))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.evaluate(emit_to)?])
    }

    /// Partial sums (the state): each non-NULL one is added.
    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        let Some(state) = values.first().and_then(|c| c.as_primitive_opt()) else {
            return internal_err!("sum over case_select: a state that is not Float64");
        };
        let take = BooleanBuffer::new_set(state.len());
        let a = Values::Array(state);
        let b = Values::Const(None);
        let ok = counted(&take, &a, &b, None);
        self.sums.resize(total_num_groups, 0.0);
        self.seen.resize(total_num_groups, false);
        self.add_values(group_indices, &take, ok.as_ref(), &a, &b);
        Ok(())
    }

    /// Each row as a state of its own: its picked value where counted, else NULL.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let n = values.first().map_or(0, |c| c.len());
        let mut one = SumSelectAcc {
            a: self.a,
            b: self.b,
            sums: Vec::new(),
            seen: Vec::new(),
        };
        let rows: Vec<usize> = (0..n).collect();
        one.update_batch(values, &rows, opt_filter, n)?;
        Ok(vec![one.evaluate(EmitTo::All)?])
    }

    fn size(&self) -> usize {
        self.sums.capacity() * std::mem::size_of::<f64>() + self.seen.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row: its group, condition, branch values, and whether the filter keeps it.
    type Row = (usize, Option<bool>, Option<f64>, Option<f64>, bool);

    /// `CASE WHEN cond THEN a ELSE b END` row by row, then `sum` per group: the
    /// reference the accumulator must match exactly.
    fn reference(rows: &[Row], groups: usize) -> Vec<Option<f64>> {
        let mut out = vec![None; groups];
        for &(g, cond, a, b, kept) in rows {
            let v = if cond == Some(true) { a } else { b };
            if let (Some(v), true) = (v, kept) {
                out[g] = Some(out[g].unwrap_or(0.0) + v);
            }
        }
        out
    }

    /// 300 rows over 7 groups (more than four mask words, a partial last one), with NULL
    /// conditions and values, signed zeros and a filter that drops every fifth row.
    fn rows() -> Vec<Row> {
        (0..300)
            .map(|i| {
                let cond = [Some(true), Some(false), None][i % 3];
                let a = (i % 11 != 0).then_some(i as f64 * 0.25 - 3.0);
                let b = (i % 13 != 0).then_some(if i % 2 == 0 { -0.0 } else { 1.5 });
                (i % 7, cond, a, b, i % 5 != 0)
            })
            .collect()
    }

    fn run(a: Branch, b: Branch, rows: &[Row], filter: bool) -> Vec<Option<f64>> {
        let mut acc = SumSelectAcc {
            a,
            b,
            sums: Vec::new(),
            seen: Vec::new(),
        };
        // Two batches, the second splitting the rows unevenly.
        for part in [&rows[..130], &rows[130..]] {
            let cond: ArrayRef = Arc::new(BooleanArray::from_iter(part.iter().map(|r| r.1)));
            let mut values = vec![cond];
            for (branch, col) in [(a, 2), (b, 3)] {
                if let Branch::Column = branch {
                    let v = part.iter().map(|r| if col == 2 { r.2 } else { r.3 });
                    values.push(Arc::new(Float64Array::from_iter(v)) as ArrayRef);
                }
            }
            let kept = BooleanArray::from_iter(part.iter().map(|r| Some(r.4)));
            let groups: Vec<usize> = part.iter().map(|r| r.0).collect();
            let filter = filter.then_some(&kept);
            acc.update_batch(&values, &groups, filter, 7).unwrap();
        }
        let out = acc.evaluate(EmitTo::All).unwrap();
        out.as_primitive::<arrow::datatypes::Float64Type>()
            .iter()
            .collect()
    }

    #[test]
    fn sums_match_case_then_sum_for_every_branch_kind() {
        let base = rows();
        let kinds = [
            Branch::Column,
            Branch::Const(Some(2.5)),
            Branch::Const(Some(0.0)),
            Branch::Const(None),
        ];
        for a in kinds {
            for b in kinds {
                for filter in [false, true] {
                    // A constant branch's column holds the constant.
                    let rows: Vec<Row> = base
                        .iter()
                        .map(|&(g, c, x, y, k)| {
                            let x = if let Branch::Const(v) = a { v } else { x };
                            let y = if let Branch::Const(v) = b { v } else { y };
                            (g, c, x, y, k || !filter)
                        })
                        .collect();
                    let got = run(a, b, &rows, filter);
                    let want = reference(&rows, 7);
                    let bits = |v: &[Option<f64>]| -> Vec<Option<u64>> {
                        v.iter().map(|x| x.map(f64::to_bits)).collect()
                    };
                    assert_eq!(bits(&got), bits(&want), "{a:?} {b:?} filter={filter}");
                }
            }
        }
    }

    #[test]
    fn a_group_that_adds_nothing_is_null_and_states_merge() {
        let mut acc = SumSelect {
            args: Vec::new(),
            a: Branch::Column,
            b: Branch::Const(None),
        }
        .accumulator();
        let cond: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), Some(false), None]));
        let a: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]));
        acc.update_batch(&[cond, a], &[0, 1, 1], None, 3).unwrap();
        let first = acc.state(EmitTo::First(2)).unwrap();
        let first: Vec<Option<f64>> = first[0]
            .as_primitive::<arrow::datatypes::Float64Type>()
            .iter()
            .collect();
        assert_eq!(first, vec![Some(1.0), None]);
        // What is left is the third group (now the first), which saw no row.
        let state: ArrayRef = Arc::new(Float64Array::from(vec![Some(4.0), None, Some(0.5)]));
        acc.merge_batch(&[state], &[0, 0, 1], 2).unwrap();
        let out = acc.evaluate(EmitTo::All).unwrap();
        let out: Vec<Option<f64>> = out
            .as_primitive::<arrow::datatypes::Float64Type>()
            .iter()
            .collect();
        assert_eq!(out, vec![Some(4.0), Some(0.5)]);
    }
}
