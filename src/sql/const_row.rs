//! A join with a row of constants (`CROSS JOIN settings s`), planned as the other side
//! with the row's values as literal columns.
//!
//! The statistics views read the session's settings by a cross join with `settings`, a
//! table of one row. DataFusion plans that as a join: a nested-loop join per view, and
//! the settings stay columns, so `CASE WHEN s.variance = 'linearized' …` is evaluated
//! row by row. This logical rule replaces an inner join whose one side is such a row
//! (a [`ConstantRow`] table, or a projection of literals over one empty row) by a
//! projection of the other side that adds the row's values as literals, named as the
//! join named them (and the join's condition, if it has one, as a filter over it). The
//! simplifier then folds the comparisons of constants. Same rows, same columns.

use std::any::Any;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result, ScalarValue};
use datafusion::datasource::{source_as_provider, MemTable};
use datafusion::logical_expr::{
    Expr, ExprSchemable, Filter, JoinType, LogicalPlan, Projection, TableScan, TableType,
};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion::physical_plan::ExecutionPlan;

/// A table of one row whose values the planner may use as constants.
#[derive(Debug)]
pub struct ConstantRow {
    row: RecordBatch,
    table: MemTable,
}

impl ConstantRow {
    /// The table of `row` (a batch of exactly one row).
    pub fn new(row: RecordBatch) -> Result<ConstantRow> {
        assert_eq!(row.num_rows(), 1, "a constant row");
        let table = MemTable::try_new(row.schema(), vec![vec![row.clone()]])?;
        Ok(ConstantRow { row, table })
    }

    /// The row's values as literals, column by column.
    fn values(&self) -> Result<Vec<Expr>> {
        self.row
            .columns()
            .iter()
            .map(|c| Ok(Expr::Literal(ScalarValue::try_from_array(c, 0)?, None)))
            .collect()
    }
}

#[async_trait::async_trait]
impl TableProvider for ConstantRow {
    fn schema(&self) -> SchemaRef {
        self.row.schema()
    }
    fn table_type(&self) -> TableType {
        TableType::Base
    }
    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.table.scan(state, projection, filters, limit).await
    }
}

/// The optimizer rule (see the module's text).
#[derive(Debug, Default)]
pub struct ConstantRowJoin;

impl OptimizerRule for ConstantRowJoin {
    fn name(&self) -> &str {
        "constant_row_join"
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
        let LogicalPlan::Join(join) = &plan else {
            return Ok(Transformed::no(plan));
        };
        if join.join_type != JoinType::Inner || !join.on.is_empty() {
            return Ok(Transformed::no(plan));
        }
        let left_len = join.left.schema().fields().len();
        let (other, row, row_first) = match (constants(&join.left)?, constants(&join.right)?) {
            (_, Some(row)) => (join.left.clone(), row, false),
            (Some(row), None) => (join.right.clone(), row, true),
            (None, None) => return Ok(Transformed::no(plan)),
        };
        let mut exprs = Vec::with_capacity(join.schema.fields().len());
        for i in 0..join.schema.fields().len() {
            let (qualifier, field) = join.schema.qualified_field(i);
            let in_row = if row_first {
                i < left_len
            } else {
                i >= left_len
            };
            exprs.push(if in_row {
                let at = if row_first { i } else { i - left_len };
                row[at]
                    .clone()
                    .cast_to(field.data_type(), join.schema.as_ref())?
                    .alias_qualified(qualifier.cloned(), field.name())
            } else {
                Expr::Column(Column::from((qualifier, field)))
            });
        }
        let projected = LogicalPlan::Projection(Projection::try_new(exprs, other)?);
        Ok(Transformed::yes(match &join.filter {
            None => projected,
            Some(f) => LogicalPlan::Filter(Filter::try_new(f.clone(), Arc::new(projected))?),
        }))
    }
}

/// The values of `plan`'s one row where it is a row of constants: a [`ConstantRow`]
/// scan, or projections of literals (and of such a row's columns) over one empty row.
fn constants(plan: &LogicalPlan) -> Result<Option<Vec<Expr>>> {
    Ok(match plan {
        LogicalPlan::SubqueryAlias(a) => constants(&a.input)?,
        LogicalPlan::EmptyRelation(e) if e.produce_one_row => {
            (e.schema.fields().is_empty()).then(Vec::new)
        }
        LogicalPlan::TableScan(scan) => scanned(scan)?,
        LogicalPlan::Projection(p) => {
            let Some(input) = constants(&p.input)? else {
                return Ok(None);
            };
            let mut out = Vec::with_capacity(p.expr.len());
            for e in &p.expr {
                let e = match e {
                    Expr::Alias(a) => a.expr.as_ref(),
                    e => e,
                };
                match e {
                    Expr::Column(c) => match p.input.schema().index_of_column(c) {
                        Ok(i) => out.push(input[i].clone()),
                        Err(_) => return Ok(None),
                    },
                    e if e.column_refs().is_empty() && !e.is_volatile() => out.push(e.clone()),
                    _ => return Ok(None),
                }
            }
            Some(out)
        }
        _ => None,
    })
}

/// The projected values of a scan of a [`ConstantRow`] table with no filter or limit.
fn scanned(scan: &TableScan) -> Result<Option<Vec<Expr>>> {
    if !scan.filters.is_empty() || scan.fetch.is_some() {
        return Ok(None);
    }
    let Ok(provider) = source_as_provider(&scan.source) else {
        return Ok(None);
    };
    let Some(row) = (provider.as_ref() as &dyn Any).downcast_ref::<ConstantRow>() else {
        return Ok(None);
    };
    let values = row.values()?;
    Ok(Some(match &scan.projection {
        Some(p) => p.iter().map(|&i| values[i].clone()).collect(),
        None => values,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::prelude::SessionContext;

    fn settings() -> RecordBatch {
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("min_base", DataType::Int64, false),
                Field::new("variance", DataType::Utf8, false),
            ])),
            vec![
                Arc::new(Int64Array::from(vec![3])),
                Arc::new(StringArray::from(vec!["kish"])),
            ],
        )
        .unwrap()
    }

    async fn context(rule: bool) -> SessionContext {
        let ctx = SessionContext::new();
        if rule {
            ctx.add_optimizer_rule(Arc::new(ConstantRowJoin));
        }
        ctx.register_table("settings", Arc::new(ConstantRow::new(settings()).unwrap()))
            .unwrap();
        ctx.sql("CREATE VIEW t AS SELECT * FROM (VALUES (1, 'a'), (5, 'b'), (NULL, 'c')) v(n, g)")
            .await
            .unwrap();
        ctx
    }

    /// The rule's answers are the join's, and its plans have no join left.
    #[tokio::test]
    async fn a_constant_row_join_answers_as_the_join() {
        let queries = [
            "SELECT t.g, CASE WHEN s.variance = 'kish' THEN t.n ELSE -1 END AS x, s.min_base \
             FROM t CROSS JOIN settings s ORDER BY t.g",
            "SELECT g FROM settings s CROSS JOIN t WHERE t.n >= s.min_base ORDER BY g",
            "SELECT t.g, c.k FROM t CROSS JOIN (SELECT 2 * 7 AS k) c ORDER BY t.g",
            "SELECT count(*) AS n FROM t JOIN settings s ON t.n < s.min_base",
            "SELECT * FROM settings",
        ];
        let plain = context(false).await;
        let ruled = context(true).await;
        for q in queries {
            let a = plain.sql(q).await.unwrap().collect().await.unwrap();
            let df = ruled.sql(q).await.unwrap();
            let plan = format!(
                "{}",
                df.clone().into_optimized_plan().unwrap().display_indent()
            );
            let b = df.collect().await.unwrap();
            assert_eq!(
                arrow::util::pretty::pretty_format_batches(&a)
                    .unwrap()
                    .to_string(),
                arrow::util::pretty::pretty_format_batches(&b)
                    .unwrap()
                    .to_string(),
                "{q}"
            );
            assert!(!plan.contains("Join"), "{q}\n{plan}");
            let without = plain.sql(q).await.unwrap().into_optimized_plan().unwrap();
            let joined = format!("{}", without.display_indent()).contains("Join");
            assert_eq!(joined, q.contains("JOIN"), "{q}");
        }
        // The first query's settings columns are literals in the plan.
        let df = ruled.sql(queries[0]).await.unwrap();
        let plan = format!("{}", df.into_optimized_plan().unwrap().display_indent());
        assert!(!plan.contains("TableScan: settings"), "{plan}");
    }
}
