//! Tests of the dictionary grouping: the group table, and plans and results against
//! DataFusion's own grouping.

use arrow::array::{Array, AsArray};
use datafusion::common::tree_node::TreeNode;
use std::sync::Arc;

use arrow::array::{ArrayRef, DictionaryArray, RecordBatch};
use arrow::datatypes::{DataType, Int32Type};
use datafusion::common::tree_node::Transformed;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;

use super::exec::DictGroupExec;
use super::groups::*;
use arrow::array::{Int32Array, StringArray, StringViewArray};
use std::collections::HashMap;

fn dict(keys: Vec<Option<i32>>, values: &[&str]) -> ArrayRef {
    Arc::new(
        DictionaryArray::<Int32Type>::try_new(
            Int32Array::from(keys),
            Arc::new(StringArray::from(values.to_vec())),
        )
        .unwrap(),
    )
}

/// Each row's key strings, as the group of its index says.
fn keys_of(groups: &Groups, idx: &[usize]) -> Vec<Vec<Option<String>>> {
    let types = vec![DataType::Utf8; groups.cols.len()];
    let arrays = groups.key_arrays(&types).unwrap();
    let first = groups.emitted();
    idx.iter()
        .map(|g| {
            arrays
                .iter()
                .map(|a| str_value(a.as_ref(), *g - first).map(str::to_string))
                .collect()
        })
        .collect()
}

/// The rows' strings read directly from the input columns.
fn rows_of(cols: &[ArrayRef]) -> Vec<Vec<Option<String>>> {
    let n = cols[0].len();
    (0..n)
        .map(|i| {
            cols.iter()
                .map(|c| match c.data_type() {
                    DataType::Dictionary(_, _) => {
                        let d = c.as_dictionary::<Int32Type>();
                        if d.is_null(i) {
                            None
                        } else {
                            let k = d.keys().value(i) as usize;
                            str_value(d.values().as_ref(), k).map(str::to_string)
                        }
                    }
                    _ => str_value(c.as_ref(), i).map(str::to_string),
                })
                .collect()
        })
        .collect()
}

/// Feeds batches through one `Groups` and checks that every row's group holds the
/// row's own key values and that equal keys always share a group; then the same with
/// every third row dropped ([`check_dropping`]).
fn check(batches: Vec<Vec<ArrayRef>>) -> Groups {
    check_dropping(&batches);
    let mut groups = Groups::new(batches[0].len());
    let mut seen: HashMap<Vec<Option<String>>, usize> = HashMap::new();
    let mut idx = Vec::new();
    for cols in &batches {
        let refs: Vec<&ArrayRef> = cols.iter().collect();
        groups.assign(&refs, None, &mut idx).unwrap();
        assert_eq!(idx.len(), cols[0].len());
        let want = rows_of(cols);
        assert_eq!(keys_of(&groups, &idx), want);
        for (row, g) in want.into_iter().zip(&idx) {
            assert_eq!(*seen.entry(row).or_insert(*g), *g);
        }
    }
    assert_eq!(groups.len(), seen.len());
    groups
}

/// With a trash group and every third row of a batch dropped: dropped rows go to group
/// 0, the others as without it, and a key only dropped rows have makes no group.
fn check_dropping(batches: &[Vec<ArrayRef>]) {
    let mut groups = Groups::with_trash(batches[0].len());
    let mut seen: HashMap<Vec<Option<String>>, usize> = HashMap::new();
    let mut idx = Vec::new();
    for cols in batches {
        let n = cols[0].len();
        let keep = arrow::buffer::BooleanBuffer::collect_bool(n, |i| i % 3 != 1);
        let refs: Vec<&ArrayRef> = cols.iter().collect();
        groups.assign(&refs, Some(&keep), &mut idx).unwrap();
        assert_eq!(idx.len(), n);
        let want = rows_of(cols);
        for (i, (row, g)) in want.into_iter().zip(&idx).enumerate() {
            if !keep.value(i) {
                assert_eq!(*g, 0);
                continue;
            }
            assert!(*g > 0);
            assert_eq!(keys_of(&groups, &[*g]), vec![row.clone()]);
            assert_eq!(*seen.entry(row).or_insert(*g), *g);
        }
    }
    assert_eq!(groups.len(), seen.len() + 1);
    let keys = groups
        .key_arrays(&vec![DataType::Utf8View; batches[0].len()])
        .unwrap();
    assert_eq!(keys[0].len(), seen.len());
}

#[test]
fn dictionary_keys_group_across_changing_dictionaries() {
    // The second batch has another dictionary: the same strings in another order,
    // a value the first did not have, a NULL key and an unused value.
    let g = check(vec![
        vec![
            dict(
                vec![Some(0), Some(1), Some(0), Some(2)],
                &["q1", "q2", "q3"],
            ),
            dict(vec![Some(1), Some(1), Some(0), None], &["tech", "retail"]),
        ],
        vec![
            dict(
                vec![Some(2), Some(0), Some(1), None],
                &["q3", "q2", "q1", "zz"],
            ),
            dict(
                vec![Some(0), Some(0), Some(2), Some(1)],
                &["retail", "tech", "gov"],
            ),
        ],
    ]);
    // Rows: (q1,tech) (q2,tech) (q1,retail) (q3,NULL), then (q1,retail) (q3,retail)
    // (q2,gov) (NULL,tech): 7 distinct.
    assert_eq!(g.len(), 7);
}

#[test]
fn constant_views_runs_and_plain_strings() {
    let wave: ArrayRef = Arc::new(StringViewArray::from(vec!["2019"; 5]));
    let seg: ArrayRef = Arc::new(StringViewArray::from(vec![
        Some("a long segment value"),
        Some("a long segment value"),
        None,
        Some("b"),
        Some("a long segment value"),
    ]));
    let st = dict(
        vec![Some(0), Some(1), Some(0), Some(1), Some(0)],
        &["s1", "s2"],
    );
    let wave2: ArrayRef = Arc::new(StringArray::from(vec!["2020", "2019", "2020"]));
    let seg2: ArrayRef = Arc::new(StringArray::from(vec![Some("b"), None, Some("b")]));
    let st2 = dict(vec![Some(0), Some(0), None], &["s2"]);
    check(vec![vec![wave, seg, st], vec![wave2, seg2, st2]]);
}

#[test]
fn many_codes_take_the_hash_path() {
    // Two columns of 300 distinct values: 301 * 301 codes is more than the dense
    // table takes.
    let values: Vec<String> = (0..300).map(|i| format!("v{i}")).collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let a: Vec<Option<i32>> = (0..1000).map(|i| Some((i * 7) % 300)).collect();
    let b: Vec<Option<i32>> = (0..1000)
        .map(|i| {
            if i % 13 == 0 {
                None
            } else {
                Some((i * 11) % 300)
            }
        })
        .collect();
    let rev: Vec<&str> = refs.iter().rev().copied().collect();
    let g = check(vec![
        vec![dict(a.clone(), &refs), dict(b.clone(), &refs)],
        vec![dict(a, &rev), dict(b, &refs)],
    ]);
    // 301 * 301 codes: no dense table was built.
    assert!(g.dense.is_empty());
    assert!(g.len() > 300);
}

#[test]
fn key_arrays_take_the_output_type() {
    let mut g = Groups::new(1);
    let mut idx = Vec::new();
    let col = dict(vec![Some(1), None, Some(0)], &["x", "y"]);
    g.assign(&[&col], None, &mut idx).unwrap();
    assert_eq!(idx, vec![0, 1, 2]);
    let out = g.key_arrays(&[DataType::Utf8View]).unwrap();
    assert_eq!(out[0].data_type(), &DataType::Utf8View);
    let v: Vec<Option<&str>> = out[0].as_string_view().iter().collect();
    assert_eq!(v, vec![Some("y"), None, Some("x")]);
    let out = g.key_arrays(&[DataType::LargeUtf8]).unwrap();
    assert_eq!(out[0].data_type(), &DataType::LargeUtf8);
}

async fn fixture() -> (tempfile::TempDir, crate::sql::Session) {
    let (dir, store) = crate::sql::tests::fixture_store().await;
    let session = crate::sql::Session::open(&store, None, Default::default())
        .await
        .unwrap();
    (dir, session)
}

/// Every row as `a|b|c`, sorted.
fn sorted_rows(batches: &[RecordBatch]) -> Vec<String> {
    let mut rows = Vec::new();
    for b in batches {
        let fmt: Vec<_> = b
            .columns()
            .iter()
            .map(|c| {
                arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &Default::default())
                    .unwrap()
            })
            .collect();
        for r in 0..b.num_rows() {
            let cells: Vec<String> = fmt.iter().map(|f| f.value(r).to_string()).collect();
            rows.push(cells.join("|"));
        }
    }
    rows.sort();
    rows
}

/// The physical plan of `sql` in `ctx`.
async fn physical_plan(
    ctx: &datafusion::prelude::SessionContext,
    sql: &str,
) -> Arc<dyn ExecutionPlan> {
    ctx.sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap()
}

async fn plan_and_rows(
    ctx: &datafusion::prelude::SessionContext,
    sql: &str,
) -> (String, Vec<String>) {
    let df = ctx.sql(sql).await.unwrap();
    let plan = df.clone().create_physical_plan().await.unwrap();
    let text = datafusion::physical_plan::displayable(plan.as_ref())
        .indent(true)
        .to_string();
    let batches = df.collect().await.unwrap();
    let rows = sorted_rows(&batches);
    (text, rows)
}

/// Each query groups on dictionary keys and gives exactly what DataFusion's own
/// grouping gives for the same keys written as expressions (which the rule leaves
/// alone).
#[tokio::test]
async fn fixture_queries_match_datafusion_grouping() {
    let (_dir, session) = fixture().await;
    let ctx = &session.ctx;
    let cases = [
        // The analyst's query: statement and a segment, the wave a partition column.
        (
            "SELECT {wave}, {statement}, {region}, count(*) AS n, \
          sum(CASE WHEN agree THEN weight ELSE 0 END) / sum(weight) AS p \
          FROM responses WHERE agree IS NOT NULL GROUP BY 1, 2, 3",
            27,
        ),
        // NULL segment values, no filter, several aggregates with a FILTER clause.
        (
            "SELECT {region}, {grp}, count(*), count(value), min(value), max(weight), \
          sum(weight) FILTER (WHERE agree) FROM responses GROUP BY 1, 2",
            0,
        ),
        // Weighted counts summed in one pass (`sum_select`): a constant or a column
        // in either branch, a NULL branch, a FILTER clause with NULL conditions.
        (
            "SELECT {statement}, {grp}, \
             sum(CASE WHEN value > 3 THEN 1.5 ELSE weight END) FILTER (WHERE agree), \
             sum(CASE WHEN agree THEN weight ELSE NULL END), \
             sum(CASE WHEN agree THEN CAST(NULL AS DOUBLE) ELSE 0.5 END), \
             sum(CASE WHEN value < 3 THEN weight ELSE weight END), \
             count(*) FILTER (WHERE value > 3), count(2) FILTER (WHERE agree) \
             FROM responses GROUP BY 1, 2",
            0,
        ),
        // A high-cardinality key: one group per respondent.
        (
            "SELECT {respondent}, count(agree), avg(value) FROM responses GROUP BY 1",
            0,
        ),
        // DISTINCT: DataFusion groups by (grp, respondent) first; that stage is ours.
        (
            "SELECT {grp}, count(DISTINCT respondent) FROM responses GROUP BY 1",
            0,
        ),
        // A computed projection between the scan and the aggregate (common
        // subexpressions, a subquery's computed column).
        (
            "SELECT {statement}, sum(value * weight), max(value * weight) \
             FROM responses GROUP BY 1",
            0,
        ),
        (
            "SELECT s, avg(v) FROM (SELECT {statement} AS s, value * weight AS v \
             FROM responses) GROUP BY s",
            0,
        ),
        // A virtual column of the scan.
        (
            "SELECT {statement}, count(file_row_index()) FROM responses GROUP BY 1",
            0,
        ),
        // One key; a filter on another column.
        (
            "SELECT {grp}, sum(value) FROM responses WHERE value > 2 GROUP BY 1",
            0,
        ),
        // Filters the aggregate takes over: keeping most rows (the rows dropped go to
        // the trash group), keeping few (copied), NULL for some rows, and dropping every
        // row of some respondents (who must not appear).
        (
            "SELECT {grp}, {statement}, count(*), sum(weight), min(value) FROM responses \
             WHERE value > 1 GROUP BY 1, 2",
            0,
        ),
        (
            "SELECT {grp}, count(*), max(weight) FROM responses WHERE value = 3 GROUP BY 1",
            0,
        ),
        (
            "SELECT {respondent}, count(*), sum(weight) FROM responses WHERE agree GROUP BY 1",
            0,
        ),
        // A filter that guards an argument (division by zero where value = 1) stays a
        // filter: the argument is evaluated on kept rows only.
        (
            "SELECT {grp}, sum(10 / (value - 1)) FROM responses WHERE value <> 1 GROUP BY 1",
            0,
        ),
    ];
    // Then with tiny batches (many batches per dictionary), and on one partition
    // (the single-stage aggregate).
    let settings = [
        None,
        Some("SET datafusion.execution.batch_size = 7"),
        Some("SET datafusion.execution.target_partitions = 1"),
    ];
    for set in settings {
        if let Some(set) = set {
            ctx.sql(set).await.unwrap().collect().await.unwrap();
        }
        check_cases(ctx, &cases).await;
    }
    let (plan, _) = plan_and_rows(ctx, "SELECT grp, count(*) FROM responses GROUP BY 1").await;
    assert!(plan.contains("DictGroupExec: mode=Single"), "{plan}");
}

/// The number of fused aggregates in the plan's `DictGroupExec`s.
fn fused_aggregates(plan: &Arc<dyn ExecutionPlan>) -> usize {
    let mut n = 0;
    plan.apply(|node| {
        if let Some(d) = node.downcast_ref::<DictGroupExec>() {
            n += d.fused();
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    })
    .unwrap();
    n
}

/// `count(*)` and each `sum` over a select of columns and `Float64` constants are
/// fused; `count` of a column, a select of integers, or of a computed branch, are left
/// to DataFusion's own.
#[tokio::test]
async fn counts_and_weighted_counts_are_fused() {
    let (_dir, session) = fixture().await;
    let ctx = &session.ctx;
    let cases = [
        (
            "SELECT statement, count(*), sum(CASE WHEN agree THEN weight ELSE 0 END), \
             sum(weight) FROM responses WHERE agree IS NOT NULL GROUP BY 1",
            2,
        ),
        (
            "SELECT statement, sum(CASE WHEN agree THEN weight ELSE NULL END), \
             sum(CASE WHEN value > 3 THEN 1.5 ELSE weight END) FROM responses GROUP BY 1",
            2,
        ),
        (
            "SELECT statement, count(value), sum(CASE WHEN agree THEN value ELSE 0 END), \
             sum(CASE WHEN agree THEN weight * 2 ELSE 0 END) FROM responses GROUP BY 1",
            0,
        ),
    ];
    for (sql, want) in cases {
        assert_eq!(
            fused_aggregates(&physical_plan(ctx, sql).await),
            want,
            "{sql}"
        );
    }
}

/// The analyst's `WHERE agree IS NOT NULL` is taken over by the aggregate; a filter
/// guarding an argument is not.
#[tokio::test]
async fn a_filter_below_is_folded_where_the_arguments_are_total() {
    let (_dir, session) = fixture().await;
    let folded = "SELECT statement, count(*), \
                  sum(CASE WHEN agree THEN weight ELSE 0 END) / sum(weight) \
                  FROM responses WHERE agree IS NOT NULL GROUP BY 1";
    let (plan, _) = plan_and_rows(&session.ctx, folded).await;
    assert!(plan.contains(", filter=agree@"), "{plan}");
    assert!(!plan.contains("FilterExec"), "{plan}");
    let guarded = "SELECT grp, sum(10 / (value - 1)) FROM responses WHERE value <> 1 GROUP BY 1";
    let (plan, rows) = plan_and_rows(&session.ctx, guarded).await;
    assert!(plan.contains("DictGroupExec"), "{plan}");
    assert!(plan.contains("FilterExec"), "{plan}");
    assert!(!rows.is_empty());
}

async fn check_cases(ctx: &datafusion::prelude::SessionContext, cases: &[(&str, usize)]) {
    for &(sql, expect_rows) in cases {
        // `{col}` is the column itself, or for the reference `substr(col, 1)`: the
        // same strings, computed, which the rule leaves to DataFusion.
        let (mut plain, mut reference) = (sql.to_string(), sql.to_string());
        for col in ["wave", "statement", "region", "grp", "respondent"] {
            let key = format!("{{{col}}}");
            plain = plain.replace(&key, col);
            reference = reference.replace(&key, &format!("substr({col}, 1)"));
        }
        let (plan, rows) = plan_and_rows(ctx, &plain).await;
        assert!(plan.contains("DictGroupExec"), "{plain}\n{plan}");
        let (ref_plan, ref_rows) = plan_and_rows(ctx, &reference).await;
        assert!(
            !ref_plan.contains("DictGroupExec"),
            "{reference}\n{ref_plan}"
        );
        assert!(!rows.is_empty());
        if expect_rows > 0 {
            assert_eq!(rows.len(), expect_rows, "{plain}");
        }
        assert_eq!(rows, ref_rows, "{plain}");
    }
}

/// A `Partial` stage that hands its groups on every few groups gives the same result
/// (the final stage merges the pieces).
#[tokio::test]
async fn early_emission_gives_the_same_result() {
    let (_dir, session) = fixture().await;
    for filter in ["", "WHERE value > 1"] {
        early_emission_case(&session, filter).await;
    }
}

/// [`early_emission_gives_the_same_result`] for one `WHERE` clause (a folded filter:
/// the trash group is dropped at every emission).
async fn early_emission_case(session: &crate::sql::Session, filter: &str) {
    let sql = format!(
        "SELECT respondent, statement, count(*), sum(weight) FILTER (WHERE agree), \
         max(value), sum(CASE WHEN agree THEN weight ELSE 0 END) \
         FROM responses {filter} GROUP BY 1, 2"
    );
    let sql = sql.as_str();
    let (plan_text, want) = plan_and_rows(&session.ctx, sql).await;
    assert!(
        plan_text.contains("DictGroupExec: mode=Partial"),
        "{plan_text}"
    );
    let plan = physical_plan(&session.ctx, sql).await;
    let mut seen = 0;
    let plan = plan
        .transform_up(|node| {
            Ok(match node.downcast_ref::<DictGroupExec>() {
                Some(d) => {
                    seen += 1;
                    let mut d = d.clone();
                    d.emit_groups = 5;
                    Transformed::yes(Arc::new(d) as Arc<dyn ExecutionPlan>)
                }
                None => Transformed::no(node),
            })
        })
        .unwrap()
        .data;
    assert_eq!(seen, 1);
    let batches = datafusion::physical_plan::collect(plan, session.ctx.task_ctx())
        .await
        .unwrap();
    let rows = sorted_rows(&batches);
    assert_eq!(rows, want);
    assert!(rows.len() > 1000);
}

/// The groups are held in the session's memory pool: under a pool too small for them a
/// `Partial` stage hands them on early (same result), and a single stage fails the
/// query with the pool's error instead of growing past the limit.
#[tokio::test]
async fn groups_are_held_in_the_memory_pool() {
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    let (_dir, session) = fixture().await;
    let sql = "SELECT respondent, statement, count(*), max(value) FROM responses GROUP BY 1, 2";
    let (plan_text, want) = plan_and_rows(&session.ctx, sql).await;
    assert!(
        plan_text.contains("DictGroupExec: mode=Partial"),
        "{plan_text}"
    );
    let small = |bytes: usize| {
        let runtime = RuntimeEnvBuilder::new()
            .with_object_store_registry(session.ctx.runtime_env().object_store_registry.clone())
            .with_memory_limit(bytes, 1.0)
            .build_arc()
            .unwrap();
        Arc::new(TaskContext::from(&session.ctx.state()).with_runtime(runtime))
    };
    let plan = physical_plan(&session.ctx, sql).await;
    // Partial: groups handed on whenever the pool is full; the final stage (DataFusion's
    // own) gets room enough.
    let batches = datafusion::physical_plan::collect(plan, small(4 << 20))
        .await
        .unwrap();
    assert_eq!(sorted_rows(&batches), want);
    // A single stage (one partition) cannot hand anything on: it fails cleanly.
    let mut state = session.ctx.state();
    state.config_mut().options_mut().execution.target_partitions = 1;
    let single = datafusion::prelude::SessionContext::new_with_state(state);
    let plan = physical_plan(&single, sql).await;
    let text = datafusion::physical_plan::displayable(plan.as_ref())
        .indent(true)
        .to_string();
    assert!(text.contains("DictGroupExec: mode=Single"), "{text}");
    let e = datafusion::physical_plan::collect(plan, small(16 << 10))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.find_root(),
            datafusion::error::DataFusionError::ResourcesExhausted(_)
        ),
        "{e}"
    );
}

/// Where a key column is also filtered on, or a key is computed, the rule stays out.
#[tokio::test]
async fn other_shapes_are_left_to_datafusion() {
    let (_dir, session) = fixture().await;
    for sql in [
        "SELECT statement, count(*) FROM responses WHERE statement <> 'x' GROUP BY 1",
        "SELECT lower(grp), count(*) FROM responses GROUP BY 1",
        "SELECT value, count(*) FROM responses GROUP BY 1",
    ] {
        let (plan, rows) = plan_and_rows(&session.ctx, sql).await;
        assert!(!plan.contains("DictGroupExec"), "{sql}\n{plan}");
        assert!(!rows.is_empty());
    }
}

/// The constant-column check over whole chunks of 16 views and the remainder.
#[test]
fn all_equal_finds_any_differing_view() {
    for n in [1, 15, 16, 17, 40] {
        let views = vec![7u128; n];
        assert!(all_equal(&views, 7), "{n}");
        for at in 0..n {
            let mut v = views.clone();
            v[at] = 8;
            assert!(!all_equal(&v, 7), "{n} {at}");
        }
    }
}
