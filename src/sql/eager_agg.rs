//! Eager aggregation of the microdata below a join (a logical optimizer rule).
//!
//! `SELECT w.date, r.grp, count(*), sum(r.weight) FROM responses r JOIN waves w ON
//! r.wave = w.wave GROUP BY w.date, r.grp` joins every one of the millions of `responses`
//! rows with its wave before grouping them. The same answer comes from grouping
//! `responses` first by its own grouping columns and its join keys (`wave, grp`: a few
//! hundred rows, grouped by gaptrack's dictionary-key operator), joining those rows, and
//! grouping again: a row of the first grouping stands for all the rows it summed, so
//! partial counts and sums are summed, minima and maxima taken again, and an average is
//! the sum of the partial sums over the sum of the partial counts.
//!
//! The rule fires only where that holds exactly: an inner equi-join without a filter, a
//! `GROUP BY` of plain columns (a global aggregate answers a row even over no rows),
//! every aggregate a plain `count`, `sum` (of integers or floats), `min`, `max` or `avg`
//! (of floats) whose arguments all come from one side, that side reading `responses` and
//! holding no aggregation of its own, and its join keys plain columns. Floating-point sums are added in another order, so their last bits
//! may differ from the plan without the rule.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, Result};
use datafusion::functions_aggregate::expr_fn::{count, max, min, sum};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{
    cast, Aggregate, Expr, ExprSchemable, Join, JoinType, LogicalPlan, Projection,
};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

/// The rule; see the module documentation.
#[derive(Debug, Default)]
pub struct EagerAggregate;

impl OptimizerRule for EagerAggregate {
    fn name(&self) -> &str {
        "gaptrack_eager_aggregate"
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
        let LogicalPlan::Aggregate(agg) = &plan else {
            return Ok(Transformed::no(plan));
        };
        match rewrite(agg)? {
            Some(p) => Ok(Transformed::yes(p)),
            None => Ok(Transformed::no(plan)),
        }
    }
}

/// How an aggregate is split into a partial one below the join and a final one above.
enum Split {
    /// count → sum of counts; sum → sum of sums.
    Sum,
    Min,
    Max,
    /// avg → sum of sums / sum of counts.
    Avg,
}

/// The join under `agg` (directly, or under a projection of plain columns).
fn join_under(agg: &Aggregate) -> Option<&Join> {
    match agg.input.as_ref() {
        LogicalPlan::Join(j) => Some(j),
        LogicalPlan::Projection(p) if p.expr.iter().all(|e| matches!(e, Expr::Column(_))) => {
            match p.input.as_ref() {
                LogicalPlan::Join(j) => Some(j),
                _ => None,
            }
        }
        _ => None,
    }
}

/// An aggregate expression (possibly aliased) as (function, argument, split).
fn split_of(e: &Expr, side: &LogicalPlan) -> Option<(Expr, Split)> {
    let e = match e {
        Expr::Alias(a) => a.expr.as_ref(),
        e => e,
    };
    let Expr::AggregateFunction(AggregateFunction { func, params }) = e else {
        return None;
    };
    if params.distinct
        || params.filter.is_some()
        || !params.order_by.is_empty()
        || params.null_treatment.is_some()
        || params.args.len() != 1
    {
        return None;
    }
    let arg = params.args[0].clone();
    let t = arg.get_type(side.schema()).ok()?;
    let split = match func.name() {
        "count" => Split::Sum,
        "sum" if t.is_integer() || t.is_floating() => Split::Sum,
        "min" => Split::Min,
        "max" => Split::Max,
        "avg" if t == DataType::Float64 => Split::Avg,
        _ => return None,
    };
    let partial = match (func.name(), &split) {
        ("count", _) => count(arg),
        (_, Split::Sum) => sum(arg),
        (_, Split::Min) => min(arg),
        (_, Split::Max) => max(arg),
        (_, Split::Avg) => sum(arg),
    };
    Some((partial, split))
}

fn reads_responses_only_once_grouped(side: &LogicalPlan) -> bool {
    let mut responses = false;
    let mut grouped = false;
    let _ = side.apply(|p| {
        match p {
            LogicalPlan::TableScan(s) if s.table_name.table() == "responses" => responses = true,
            LogicalPlan::Aggregate(_) | LogicalPlan::Distinct(_) | LogicalPlan::Window(_) => {
                grouped = true
            }
            _ => {}
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    responses && !grouped
}

fn rewrite(agg: &Aggregate) -> Result<Option<LogicalPlan>> {
    let Some(join) = join_under(agg) else {
        return Ok(None);
    };
    // A global aggregate (no GROUP BY) answers one row even over no rows (count 0),
    // which a sum of partial counts would turn into NULL: left alone.
    if agg.group_expr.is_empty()
        || join.join_type != JoinType::Inner
        || join.filter.is_some()
        || join.null_aware
    {
        return Ok(None);
    }
    let Some(groups) = agg
        .group_expr
        .iter()
        .map(|g| match g {
            Expr::Column(c) => Some(c.clone()),
            _ => None,
        })
        .collect::<Option<Vec<Column>>>()
    else {
        return Ok(None);
    };
    // The side every aggregate's argument comes from.
    let mut refs = Vec::new();
    for e in &agg.aggr_expr {
        refs.extend(e.column_refs().into_iter().cloned());
    }
    let left_side = refs.iter().all(|c| join.left.schema().has_column(c));
    let right_side = refs.iter().all(|c| join.right.schema().has_column(c));
    // Without arguments (`count(*)` alone) the side that reads `responses` is the one.
    let (left_side, right_side) = if refs.is_empty() {
        (
            reads_responses_only_once_grouped(&join.left),
            reads_responses_only_once_grouped(&join.right),
        )
    } else {
        (left_side, right_side)
    };
    let (fact, other, fact_left) = match (left_side, right_side) {
        (true, false) => (&join.left, &join.right, true),
        (false, true) => (&join.right, &join.left, false),
        _ => return Ok(None),
    };
    if !reads_responses_only_once_grouped(fact) {
        return Ok(None);
    }
    let Some(splits) = agg
        .aggr_expr
        .iter()
        .map(|e| split_of(e, fact))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    // Group the fact side by its grouping columns and its join keys.
    let mut pre_groups: Vec<Column> = groups
        .iter()
        .filter(|c| fact.schema().has_column(c))
        .cloned()
        .collect();
    for (l, r) in &join.on {
        let Expr::Column(k) = (if fact_left { l } else { r }) else {
            return Ok(None);
        };
        if !pre_groups.contains(k) {
            pre_groups.push(k.clone());
        }
    }
    let mut pre_aggs = Vec::new();
    let mut final_aggs = Vec::new();
    let mut outputs = Vec::new();
    for (i, (partial, split)) in splits.into_iter().enumerate() {
        let s = format!("__eager_{i}");
        let c = format!("__eager_{i}_n");
        let f = format!("__eager_{i}_f");
        let g = format!("__eager_{i}_g");
        let name = agg.schema.field(agg.group_expr.len() + i).name().clone();
        match split {
            Split::Sum => final_aggs.push(sum(col(&s)).alias(&f)),
            Split::Min => final_aggs.push(min(col(&s)).alias(&f)),
            Split::Max => final_aggs.push(max(col(&s)).alias(&f)),
            Split::Avg => {
                let Expr::AggregateFunction(a) = &partial else {
                    unreachable!("a partial is an aggregate")
                };
                pre_aggs.push(count(a.params.args[0].clone()).alias(&c));
                final_aggs.push(sum(col(&s)).alias(&f));
                final_aggs.push(sum(col(&c)).alias(&g));
            }
        }
        pre_aggs.push(partial.alias(&s));
        outputs.push(match split {
            Split::Avg => (col(&f) / cast(col(&g), DataType::Float64)).alias(name),
            _ => col(&f).alias(name),
        });
    }
    let pre = LogicalPlan::Aggregate(Aggregate::try_new(
        Arc::clone(fact),
        pre_groups.into_iter().map(Expr::Column).collect(),
        pre_aggs,
    )?);
    let (left, right) = if fact_left {
        (Arc::new(pre), Arc::clone(other))
    } else {
        (Arc::clone(other), Arc::new(pre))
    };
    let joined = LogicalPlan::Join(Join::try_new(
        left,
        right,
        join.on.clone(),
        None,
        JoinType::Inner,
        join.join_constraint,
        join.null_equality,
        false,
    )?);
    let grouped = LogicalPlan::Aggregate(Aggregate::try_new(
        Arc::new(joined),
        agg.group_expr.clone(),
        final_aggs,
    )?);
    let mut exprs: Vec<Expr> = groups.into_iter().map(Expr::Column).collect();
    exprs.extend(outputs);
    Ok(Some(LogicalPlan::Projection(Projection::try_new(
        exprs,
        Arc::new(grouped),
    )?)))
}

fn col(name: &str) -> Expr {
    Expr::Column(Column::from_name(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    /// `responses` (with NULLs, a wave no `waves` row has) and `waves` (a wave listed
    /// twice, so each of its rows is joined twice).
    async fn context(rule: bool) -> SessionContext {
        let ctx = SessionContext::new();
        if rule {
            ctx.add_optimizer_rule(Arc::new(EagerAggregate));
        }
        for sql in [
            "CREATE TABLE responses (wave VARCHAR, grp VARCHAR, weight DOUBLE, value INT, agree BOOLEAN) AS VALUES \
             ('w1', 'sales', 1.5, 4, true), ('w1', 'sales', 0.5, 2, false), ('w1', 'mkt', 2.0, NULL, NULL), \
             ('w1', 'mkt', 1.0, 5, true), ('w2', 'sales', 3.0, 1, false), ('w2', 'mkt', 0.25, 4, true), \
             ('w3', 'sales', 9.0, 5, true)",
            "CREATE TABLE waves (wave VARCHAR, date DATE, respondents BIGINT) AS VALUES \
             ('w1', DATE '2020-01-01', 4), ('w2', DATE '2021-01-01', 2), ('w2', DATE '2021-06-01', 2)",
        ] {
            ctx.sql(sql).await.unwrap().collect().await.unwrap();
        }
        ctx
    }

    async fn run(rule: bool, sql: &str) -> (String, String) {
        let ctx = context(rule).await;
        let rows = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let plan = ctx
            .sql(&format!("EXPLAIN {sql}"))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        (
            pretty_format_batches(&rows).unwrap().to_string(),
            pretty_format_batches(&plan).unwrap().to_string(),
        )
    }

    #[tokio::test]
    async fn count_star_alone_groups_the_responses_side() {
        let sql = "SELECT w.date, count(*) AS n FROM waves w JOIN responses r ON r.wave = w.wave \
                   GROUP BY w.date ORDER BY w.date";
        let (with, plan) = run(true, sql).await;
        let (without, _) = run(false, sql).await;
        assert!(plan.contains("__eager_0"), "{plan}");
        assert_eq!(with, without);
    }

    const JOIN: &str = "SELECT w.date, r.grp, count(*) AS n, count(r.value) AS answered, \
        sum(r.weight) AS sw, sum(r.value) AS sv, avg(CAST(r.value AS DOUBLE)) AS mean, \
        min(r.value) AS lo, max(r.agree) AS any_agree \
        FROM responses r JOIN waves w ON r.wave = w.wave \
        WHERE w.respondents > 0 GROUP BY w.date, r.grp ORDER BY w.date, r.grp";

    #[tokio::test]
    async fn the_microdata_is_grouped_before_the_join_and_answers_the_same() {
        let (with, plan) = run(true, JOIN).await;
        let (without, plain) = run(false, JOIN).await;
        assert!(plan.contains("__eager_0"), "{plan}");
        assert!(!plain.contains("__eager"), "{plain}");
        assert_eq!(with, without);
        // By hand: w2 is listed twice (two dates), so each of its rows counts once per
        // date; w3 has no waves row; mkt in w1 has a NULL value.
        let expected = [
            "+------------+-------+---+----------+------+----+------+----+-----------+",
            "| date       | grp   | n | answered | sw   | sv | mean | lo | any_agree |",
            "+------------+-------+---+----------+------+----+------+----+-----------+",
            "| 2020-01-01 | mkt   | 2 | 1        | 3.0  | 5  | 5.0  | 5  | true      |",
            "| 2020-01-01 | sales | 2 | 2        | 2.0  | 6  | 3.0  | 2  | true      |",
            "| 2021-01-01 | mkt   | 1 | 1        | 0.25 | 4  | 4.0  | 4  | true      |",
            "| 2021-01-01 | sales | 1 | 1        | 3.0  | 1  | 1.0  | 1  | false     |",
            "| 2021-06-01 | mkt   | 1 | 1        | 0.25 | 4  | 4.0  | 4  | true      |",
            "| 2021-06-01 | sales | 1 | 1        | 3.0  | 1  | 1.0  | 1  | false     |",
            "+------------+-------+---+----------+------+----+------+----+-----------+",
        ]
        .join("\n");
        assert_eq!(with, expected);
    }

    #[tokio::test]
    async fn the_rule_leaves_what_it_cannot_split_alone() {
        for sql in [
            // DISTINCT, an expression as key, arguments from both sides, an outer join,
            // a side without responses.
            "SELECT w.date, count(DISTINCT r.grp) FROM responses r JOIN waves w ON r.wave = w.wave GROUP BY w.date ORDER BY 1",
            "SELECT upper(r.grp), sum(r.weight) FROM responses r JOIN waves w ON r.wave = w.wave GROUP BY upper(r.grp) ORDER BY 1",
            "SELECT r.grp, sum(r.weight * w.respondents) FROM responses r JOIN waves w ON r.wave = w.wave GROUP BY r.grp ORDER BY 1",
            "SELECT w.date, sum(r.weight) FROM responses r LEFT JOIN waves w ON r.wave = w.wave GROUP BY w.date ORDER BY 1",
            "SELECT a.date, sum(b.respondents) FROM waves a JOIN waves b ON a.wave = b.wave GROUP BY a.date ORDER BY 1",
            "SELECT a.grp, count(*) FROM responses a JOIN responses b ON a.wave = b.wave GROUP BY a.grp ORDER BY 1",
            // No GROUP BY: over no rows count is 0, not NULL.
            "SELECT count(*), sum(r.weight) FROM responses r JOIN waves w ON r.wave = w.wave WHERE w.respondents > 100",
        ] {
            let (with, plan) = run(true, sql).await;
            let (without, _) = run(false, sql).await;
            assert!(!plan.contains("__eager"), "{sql}: {plan}");
            assert_eq!(with, without, "{sql}");
        }
    }
}
