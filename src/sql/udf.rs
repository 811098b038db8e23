//! The statistics of docs/statistics.md as SQL scalar functions, so analysts can use the same
//! formulas in their own queries:
//!
//! | function | returns |
//! |---|---|
//! | `kish_n_eff(sum_w, sum_w2)` | (Σw)²/Σw² |
//! | `wilson_low(p, n)`, `wilson_high(p, n)` | Wilson 95 % bounds of proportion `p` (0-1) with size `n` |
//! | `newcombe_low(p1, n1, p2, n2)`, `newcombe_high(…)` | Newcombe hybrid score 95 % bounds of p1 − p2 |
//! | `z_test_p(estimate, variance)` | two-sided p value of a z test (NULL when variance ≤ 0) |
//! | `chi2_sf(x, df)` | P(χ²_df > x), the chi-square upper tail (NULL when df ≤ 0) |
//! | `bh_q(p) OVER (PARTITION BY …)` | window function: Benjamini–Hochberg adjusted p over the rows of each partition with a p |
//!
//! Every function returns NULL when any argument is NULL.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::error::Result;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    ColumnarValue, PartitionEvaluator, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility, WindowUDF, WindowUDFImpl,
};
use datafusion::prelude::SessionContext;

use crate::stats;

#[derive(Debug)]
struct StatFn {
    name: &'static str,
    signature: Signature,
    f: fn(&[f64]) -> Option<f64>,
}

// Functions are identified by name (their signatures differ by name too).
impl PartialEq for StatFn {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.signature == other.signature
    }
}
impl Eq for StatFn {}
impl std::hash::Hash for StatFn {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.signature.hash(state);
    }
}

impl ScalarUDFImpl for StatFn {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays: Vec<ArrayRef> = ColumnarValue::values_to_arrays(&args.args)?
            .into_iter()
            .map(|a| arrow::compute::cast(&a, &DataType::Float64))
            .collect::<std::result::Result<_, _>>()?;
        let floats: Vec<&Float64Array> = arrays
            .iter()
            .map(|a| {
                a.as_any()
                    .downcast_ref::<Float64Array>()
                    .expect("cast to f64")
            })
            .collect();
        let len = if all_scalar { 1 } else { n };
        let mut vals = vec![0.0; floats.len()];
        let out: Float64Array = (0..len)
            .map(|i| {
                for (k, a) in floats.iter().enumerate() {
                    let idx = if a.len() == 1 { 0 } else { i };
                    if a.is_null(idx) {
                        return None;
                    }
                    vals[k] = a.value(idx);
                }
                (self.f)(&vals).filter(|v| v.is_finite())
            })
            .collect();
        if all_scalar {
            let s = datafusion::scalar::ScalarValue::try_from_array(&out, 0)?;
            Ok(ColumnarValue::Scalar(s))
        } else {
            Ok(ColumnarValue::Array(Arc::new(out)))
        }
    }
}

fn udf(name: &'static str, arity: usize, f: fn(&[f64]) -> Option<f64>) -> ScalarUDF {
    ScalarUDF::from(StatFn {
        name,
        signature: Signature::uniform(arity, vec![DataType::Float64], Volatility::Immutable),
        f,
    })
}

/// All of gaptrack's SQL functions.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        udf("kish_n_eff", 2, |a| stats::kish_n_eff(a[0], a[1])),
        udf("wilson_low", 2, |a| stats::wilson(a[0], a[1]).map(|x| x.0)),
        udf("wilson_high", 2, |a| stats::wilson(a[0], a[1]).map(|x| x.1)),
        udf("newcombe_low", 4, |a| {
            stats::newcombe(a[0], a[1], a[2], a[3]).map(|x| x.0)
        }),
        udf("newcombe_high", 4, |a| {
            stats::newcombe(a[0], a[1], a[2], a[3]).map(|x| x.1)
        }),
        udf("z_test_p", 2, |a| stats::z_test_p(a[0], a[1])),
        udf("chi2_sf", 2, |a| stats::gamma::chi2_sf(a[0], a[1])),
    ]
}

/// All of gaptrack's SQL window functions.
pub fn window_functions() -> Vec<WindowUDF> {
    vec![WindowUDF::new_from_impl(BhQ {
        signature: Signature::exact(vec![DataType::Float64], Volatility::Immutable),
    })]
}

pub fn register(ctx: &SessionContext) {
    for f in functions() {
        ctx.register_udf(f);
    }
    for f in window_functions() {
        ctx.register_udwf(f);
    }
}

/// `bh_q(p) OVER (PARTITION BY family)`: [`stats::benjamini_hochberg`] over each
/// partition (the order of the rows does not matter).
#[derive(Debug, PartialEq, Eq, Hash)]
struct BhQ {
    signature: Signature,
}

impl WindowUDFImpl for BhQ {
    fn name(&self) -> &str {
        "bh_q"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn partition_evaluator(
        &self,
        _: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(BhEvaluator))
    }
    fn field(&self, args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(args.name(), DataType::Float64, true)))
    }
}

#[derive(Debug)]
struct BhEvaluator;

impl PartitionEvaluator for BhEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], _rows: usize) -> Result<ArrayRef> {
        let p = values[0].as_primitive::<Float64Type>();
        let p: Vec<Option<f64>> = p.iter().collect();
        Ok(Arc::new(Float64Array::from(stats::benjamini_hochberg(&p))))
    }
}
