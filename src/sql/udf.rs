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
//! | `trend_fit(date, g, u)` | aggregate: the inverse-variance weighted line through (date, g) with weights u, a struct of `slope` (per year), `se`, `nonlinearity_p`, `fitted_last` ([`stats::trend`]) |
//!
//! Every function returns NULL when any argument is NULL.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, ListArray, StructArray};
use arrow::datatypes::{DataType, Date32Type, Field, FieldRef, Fields, Float64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{
    AccumulatorArgs, PartitionEvaluatorArgs, StateFieldsArgs, WindowUDFFieldArgs,
};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, PartitionEvaluator,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, WindowUDF, WindowUDFImpl,
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

/// All of gaptrack's SQL aggregate functions.
pub fn aggregate_functions() -> Vec<AggregateUDF> {
    vec![AggregateUDF::new_from_impl(TrendFit {
        signature: Signature::exact(
            vec![DataType::Date32, DataType::Float64, DataType::Float64],
            Volatility::Immutable,
        ),
    })]
}

pub fn register(ctx: &SessionContext) {
    for f in functions() {
        ctx.register_udf(f);
    }
    for f in window_functions() {
        ctx.register_udwf(f);
    }
    for f in aggregate_functions() {
        ctx.register_udaf(f);
    }
}

/// `trend_fit(date, g, u)`: [`stats::trend::wls_trend`] over the rows of each group with
/// all three values, t in years since the group's first date.
#[derive(Debug, PartialEq, Eq, Hash)]
struct TrendFit {
    signature: Signature,
}

fn trend_fields() -> Fields {
    ["slope", "se", "nonlinearity_p", "fitted_last"]
        .into_iter()
        .map(|n| Field::new(n, DataType::Float64, true))
        .collect()
}

impl AggregateUDFImpl for TrendFit {
    fn name(&self) -> &str {
        "trend_fit"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(trend_fields()))
    }
    fn accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::<TrendAcc>::default())
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let item = Arc::new(Field::new_list_field(DataType::Float64, true));
        Ok(vec![Arc::new(Field::new(
            format!("{}_points", args.name),
            DataType::List(item),
            true,
        ))])
    }
}

/// The points of one group: (days since 1970, g, u).
#[derive(Debug, Default)]
struct TrendAcc {
    points: Vec<(f64, f64, f64)>,
}

impl Accumulator for TrendAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let d = values[0].as_primitive::<Date32Type>();
        let g = values[1].as_primitive::<Float64Type>();
        let u = values[2].as_primitive::<Float64Type>();
        for i in 0..d.len() {
            if d.is_valid(i) && g.is_valid(i) && u.is_valid(i) {
                self.points
                    .push((f64::from(d.value(i)), g.value(i), u.value(i)));
            }
        }
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        // The sums of the fit in one order whatever order the rows came in (partitions,
        // executors): the same bits on every engine.
        self.points.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then(a.1.total_cmp(&b.1))
                .then(a.2.total_cmp(&b.2))
        });
        let first = self
            .points
            .iter()
            .map(|p| p.0)
            .fold(f64::INFINITY, f64::min);
        let years: Vec<(f64, f64, f64)> = self
            .points
            .iter()
            .map(|&(d, g, u)| ((d - first) / 365.25, g, u))
            .collect();
        let fit = stats::trend::wls_trend(&years);
        let col = |v: Option<f64>| Arc::new(Float64Array::from(vec![v])) as ArrayRef;
        let s = StructArray::new(
            trend_fields(),
            vec![
                col(fit.map(|f| f.slope)),
                col(fit.map(|f| f.se)),
                col(fit.and_then(|f| f.nonlinearity_p)),
                col(fit.map(|f| f.fitted_last)),
            ],
            None,
        );
        Ok(ScalarValue::Struct(Arc::new(s)))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.points.capacity() * 24
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let flat: Vec<Option<f64>> = self
            .points
            .iter()
            .flat_map(|&(d, g, u)| [Some(d), Some(g), Some(u)])
            .collect();
        let list = ListArray::from_iter_primitive::<Float64Type, _, _>([Some(flat)]);
        Ok(vec![ScalarValue::List(Arc::new(list))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for row in lists.iter().flatten() {
            let v = row.as_primitive::<Float64Type>();
            for c in v.values().chunks_exact(3) {
                self.points.push((c[0], c[1], c[2]));
            }
        }
        Ok(())
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
