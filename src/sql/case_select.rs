//! `CASE WHEN cond THEN a ELSE b END` over plain columns and literals, evaluated as one
//! vectorised select.
//!
//! This is the idiom of every weighted share in survey SQL
//! (`sum(CASE WHEN agree THEN weight ELSE 0 END) / sum(weight)`). DataFusion evaluates
//! a CASE branch by branch (filter the rows of each branch, evaluate, merge the pieces)
//! so that a branch is never evaluated on rows where it could fail. When both branches
//! are columns or literals nothing can fail, and a select (Arrow's `zip`: NULL or false
//! conditions take `b`, exactly as CASE does) gives the same values several times
//! faster. The rule keeps every expression's name, so plans and result columns are
//! unchanged. Anything else (more branches, a CASE with an operand, computed branches)
//! is left to DataFusion.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ArrowPrimitiveType, BooleanArray, PrimitiveArray};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::DataType;
use arrow::datatypes::{Float32Type, Float64Type, Int32Type, Int64Type};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::{Case, ScalarFunction};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, LogicalPlan, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

use crate::sql::lanes::{pick, true_rows, Lane};

/// The function's name in plans.
pub const NAME: &str = "case_select";

/// `case_select(cond, a, b)`: `a` where `cond` is true, else `b`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct CaseSelect {
    signature: Signature,
}

impl ScalarUDFImpl for CaseSelect {
    fn name(&self) -> &str {
        NAME
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[1].clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [cond, a, b] = args.args.as_slice() else {
            return datafusion::common::internal_err!("case_select takes 3 arguments");
        };
        let mask = match cond {
            ColumnarValue::Scalar(s) => {
                let take_a = matches!(s, datafusion::common::ScalarValue::Boolean(Some(true)));
                return Ok(if take_a { a.clone() } else { b.clone() });
            }
            ColumnarValue::Array(m) => m,
        };
        let Some(mask) = mask.as_any().downcast_ref::<BooleanArray>() else {
            return datafusion::common::internal_err!("case_select needs a boolean condition");
        };
        let take_a = true_rows(mask);
        macro_rules! fast {
            ($($t:ty),*) => {$(
                if let Some(out) = select_primitive::<$t>(&take_a, a, b) {
                    return Ok(ColumnarValue::Array(out));
                }
            )*};
        }
        fast!(Float64Type, Int64Type, Int32Type, Float32Type);
        let datum = |v: &ColumnarValue| -> Result<Box<dyn arrow::array::Datum>> {
            Ok(match v {
                ColumnarValue::Array(a) => Box::new(a.clone()),
                ColumnarValue::Scalar(s) => Box::new(s.to_scalar()?),
            })
        };
        let out = arrow::compute::kernels::zip::zip(mask, datum(a)?.as_ref(), datum(b)?.as_ref())?;
        Ok(ColumnarValue::Array(out))
    }
}

/// One side of a select over primitive values: the values of an array, or a scalar
/// repeated (`None` for NULL).
enum Side<'a, T: ArrowPrimitiveType> {
    Array(&'a PrimitiveArray<T>),
    Scalar(Option<T::Native>),
}

impl<'a, T: ArrowPrimitiveType> Side<'a, T> {
    fn of(v: &'a ColumnarValue) -> Option<Self> {
        match v {
            ColumnarValue::Array(a) => a
                .as_any()
                .downcast_ref::<PrimitiveArray<T>>()
                .map(Side::Array),
            ColumnarValue::Scalar(s) => {
                let a = s.to_array_of_size(1).ok()?;
                let p = a.as_any().downcast_ref::<PrimitiveArray<T>>()?;
                Some(Side::Scalar(p.is_valid(0).then(|| p.value(0))))
            }
        }
    }

    /// Validity as a bitmap of `n` bits.
    fn valid(&self, n: usize) -> BooleanBuffer {
        match self {
            Side::Array(a) => match a.nulls() {
                Some(nulls) => nulls.inner().clone(),
                None => BooleanBuffer::new_set(n),
            },
            Side::Scalar(Some(_)) => BooleanBuffer::new_set(n),
            Side::Scalar(None) => BooleanBuffer::new_unset(n),
        }
    }

    fn has_nulls(&self) -> bool {
        match self {
            Side::Array(a) => a.null_count() > 0,
            Side::Scalar(v) => v.is_none(),
        }
    }
}

/// Values of one side as `(values, step)`: the `k`-th block of 64 values starts at
/// `k * step`. An array steps by 64; a scalar is one block of 64 copies, step 0.
fn blocks<'a, T: ArrowPrimitiveType>(
    side: &'a Side<'a, T>,
    scalar: &'a mut [T::Native; 64],
) -> (&'a [T::Native], usize) {
    match side {
        Side::Array(a) => (a.values(), 64),
        Side::Scalar(v) => {
            *scalar = [v.unwrap_or_default(); 64];
            (&scalar[..], 0)
        }
    }
}

/// `a` where `take_a`, else `b`, for primitive arrays and scalars of type `T`: 64 values
/// per mask word, no branch per value (`crate::sql::lanes`). `None` when the arguments
/// are not of type `T`.
fn select_primitive<T: ArrowPrimitiveType>(
    take_a: &BooleanBuffer,
    a: &ColumnarValue,
    b: &ColumnarValue,
) -> Option<ArrayRef>
where
    T::Native: Lane,
{
    let (sa, sb) = (Side::<T>::of(a)?, Side::<T>::of(b)?);
    let n = take_a.len();
    let (mut scalar_a, mut scalar_b) = ([T::Native::default(); 64], [T::Native::default(); 64]);
    let (va, step_a) = blocks(&sa, &mut scalar_a);
    let (vb, step_b) = blocks(&sb, &mut scalar_b);
    let mut values = vec![T::Native::default(); n];
    let chunks = take_a.inner().bit_chunks(take_a.offset(), n);
    let mut out = values.chunks_exact_mut(64);
    for (k, (word, o)) in chunks.iter().zip(&mut out).enumerate() {
        let (x, y) = (&va[k * step_a..][..64], &vb[k * step_b..][..64]);
        for j in 0..64 {
            o[j] = pick(word, j, x[j], y[j]);
        }
    }
    let rest = out.into_remainder();
    if !rest.is_empty() {
        let k = n / 64;
        let word = chunks.remainder_bits();
        let (x, y) = (&va[k * step_a..], &vb[k * step_b..]);
        for (j, o) in rest.iter_mut().enumerate() {
            *o = pick(word, j, x[j], y[j]);
        }
    }
    let nulls = (sa.has_nulls() || sb.has_nulls()).then(|| {
        let (va, vb) = (sa.valid(n), sb.valid(n));
        NullBuffer::new(&(take_a & &va) | &(&!take_a & &vb))
    });
    let data_type = match a {
        ColumnarValue::Array(x) => x.data_type().clone(),
        ColumnarValue::Scalar(s) => s.data_type(),
    };
    Some(Arc::new(
        PrimitiveArray::<T>::new(values.into(), nulls).with_data_type(data_type),
    ))
}

/// The function the rule writes (registered where a cluster decodes plans).
pub fn case_select() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(CaseSelect {
        signature: Signature::any(3, Volatility::Immutable),
    }))
}

/// The optimizer rule; see the module documentation.
#[derive(Debug)]
pub struct CaseToSelect {
    udf: Arc<ScalarUDF>,
}

impl Default for CaseToSelect {
    fn default() -> Self {
        CaseToSelect { udf: case_select() }
    }
}

fn plain(e: &Expr) -> bool {
    matches!(e, Expr::Column(_) | Expr::Literal(..))
}

impl CaseToSelect {
    fn rewrite_expr(&self, e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
        e.transform_up(|e| {
            let Expr::Case(Case {
                expr: None,
                when_then_expr,
                else_expr: Some(b),
            }) = &e
            else {
                return Ok(Transformed::no(e));
            };
            let [(cond, a)] = when_then_expr.as_slice() else {
                return Ok(Transformed::no(e));
            };
            if !plain(a) || !plain(b) {
                return Ok(Transformed::no(e));
            }
            let (Ok(ct), Ok(at), Ok(bt)) = (
                cond.get_type(schema),
                a.get_type(schema),
                b.get_type(schema),
            ) else {
                return Ok(Transformed::no(e));
            };
            if ct != DataType::Boolean || at != bt || at == DataType::Null {
                return Ok(Transformed::no(e));
            }
            let args = vec![
                cond.as_ref().clone(),
                a.as_ref().clone(),
                b.as_ref().clone(),
            ];
            Ok(Transformed::yes(Expr::ScalarFunction(
                ScalarFunction::new_udf(self.udf.clone(), args),
            )))
        })
    }
}

impl OptimizerRule for CaseToSelect {
    fn name(&self) -> &str {
        "gaptrack_case_to_select"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        // Expressions are typed against the node's inputs; a node without inputs (a
        // scan with pushed-down filters, VALUES) is left alone.
        let inputs = plan.inputs();
        if inputs.is_empty() {
            return Ok(Transformed::no(plan));
        }
        let mut schema = DFSchema::empty();
        for i in &inputs {
            schema.merge(i.schema());
        }
        let names = NamePreserver::new(&plan);
        plan.map_expressions(|e| {
            if let Expr::GroupingSet(_) = &e {
                return Ok(Transformed::no(e));
            }
            let name = names.save(&e);
            let t = self.rewrite_expr(e, &schema)?;
            Ok(Transformed::new_transformed(
                name.restore(t.data),
                t.transformed,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    async fn optimized(sql: &str) -> String {
        let ctx = SessionContext::new();
        ctx.add_optimizer_rule(Arc::new(CaseToSelect::default()));
        ctx.sql(
            "CREATE TABLE t (b BOOLEAN, x DOUBLE, d INT) AS VALUES (true, 1.0, 0), (NULL, 2.0, 1)",
        )
        .await
        .unwrap();
        let df = ctx.sql(sql).await.unwrap();
        let plan = df.into_optimized_plan().unwrap();
        format!("{}", plan.display_indent())
    }

    #[tokio::test]
    async fn rewrites_only_plain_two_branch_cases_and_keeps_names() {
        let p = optimized("SELECT sum(CASE WHEN b THEN x ELSE 0 END) AS s FROM t").await;
        assert!(p.contains("case_select(t.b, t.x, Float64(0))"), "{p}");
        // The aggregate keeps its name.
        assert!(
            p.contains("AS sum(CASE WHEN t.b THEN t.x ELSE Int64(0) END)"),
            "{p}"
        );
        for kept in [
            "SELECT CASE WHEN d <> 0 THEN 10 / d ELSE -1 END FROM t",
            "SELECT CASE WHEN b THEN x WHEN d = 1 THEN 2 ELSE 0 END FROM t",
            "SELECT CASE d WHEN 0 THEN x ELSE 1 END FROM t",
            "SELECT CASE WHEN b THEN x END FROM t",
        ] {
            let p = optimized(kept).await;
            assert!(!p.contains("case_select"), "{kept}:\n{p}");
        }
    }

    #[tokio::test]
    async fn null_conditions_take_the_else_branch() {
        let ctx = SessionContext::new();
        ctx.add_optimizer_rule(Arc::new(CaseToSelect::default()));
        let df = ctx
            .sql("SELECT CASE WHEN b THEN x ELSE y END AS v FROM (VALUES (true, 1.0, -1.0), (false, 2.0, -2.0), (NULL, 3.0, -3.0), (true, NULL, -4.0), (false, 5.0, NULL)) AS t(b, x, y)")
            .await
            .unwrap();
        let plan = format!(
            "{}",
            df.clone().into_optimized_plan().unwrap().display_indent()
        );
        assert!(plan.contains("case_select"), "{plan}");
        let out = df.collect().await.unwrap();
        let v = out[0]
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .unwrap();
        let got: Vec<Option<f64>> = v.iter().collect();
        assert_eq!(got, [Some(1.0), Some(-2.0), Some(-3.0), None, None]);
    }

    /// The word-at-a-time select equals CASE's definition value by value: lengths around
    /// the 64-value blocks, sliced inputs (bit offsets), NULL conditions, NULL values and
    /// every array/scalar combination.
    #[test]
    fn select_equals_the_per_value_definition() {
        use arrow::array::Float64Array;
        use datafusion::common::ScalarValue;
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in [0, 1, 5, 63, 64, 65, 127, 128, 200, 1000] {
            for offset in [0, 1, 3, 64, 70] {
                let total = n + offset;
                let mask: BooleanArray = (0..total)
                    .map(|_| match next() % 5 {
                        0 => None,
                        r => Some(r % 2 == 0),
                    })
                    .collect::<BooleanArray>()
                    .slice(offset, n);
                let col = |nulls: bool, next: &mut dyn FnMut() -> u64| -> Float64Array {
                    (0..total)
                        .map(|_| {
                            let r = next();
                            (!nulls || r % 7 != 0).then_some((r % 1000) as f64)
                        })
                        .collect::<Float64Array>()
                        .slice(offset, n)
                };
                let xa = col(false, &mut next);
                let xb = col(true, &mut next);
                let sides = [
                    ColumnarValue::Array(Arc::new(xa.clone())),
                    ColumnarValue::Array(Arc::new(xb.clone())),
                    ColumnarValue::Scalar(ScalarValue::Float64(Some(-1.5))),
                    ColumnarValue::Scalar(ScalarValue::Float64(None)),
                ];
                let at = |v: &ColumnarValue, i: usize| -> Option<f64> {
                    match v {
                        ColumnarValue::Array(a) => {
                            let a = a.as_any().downcast_ref::<Float64Array>().unwrap();
                            a.is_valid(i).then(|| a.value(i))
                        }
                        ColumnarValue::Scalar(ScalarValue::Float64(x)) => *x,
                        _ => unreachable!(),
                    }
                };
                let take_a = match mask.nulls() {
                    Some(nl) => mask.values() & nl.inner(),
                    None => mask.values().clone(),
                };
                for a in &sides {
                    for b in &sides {
                        let out = select_primitive::<Float64Type>(&take_a, a, b).unwrap();
                        let out = out.as_any().downcast_ref::<Float64Array>().unwrap();
                        let got: Vec<Option<f64>> = out.iter().collect();
                        let want: Vec<Option<f64>> = (0..n)
                            .map(|i| {
                                if mask.is_valid(i) && mask.value(i) {
                                    at(a, i)
                                } else {
                                    at(b, i)
                                }
                            })
                            .collect();
                        assert_eq!(got, want, "n {n} offset {offset}");
                    }
                }
            }
        }
    }
}
