//! Results of repeated queries. A catalog version of the store never changes, so a
//! statement over it (with the same parameters and settings) always gives the same rows:
//! they are kept, keyed by the statement's text, its parameters and the version read,
//! within a budget of bytes (least recently used first out). A statement that calls a
//! function whose result may change between calls (`now()`, `random()`) is not kept.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility};

/// What identifies a result: the catalog version, the statement, its parameters.
pub type Key = (Option<i64>, String, Vec<(String, String)>);

/// One kept result.
#[derive(Clone)]
pub struct Entry {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    bytes: usize,
}

/// The kept results, at most `budget` bytes of batches in all.
pub struct ResultCache {
    budget: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    /// Keys from least to most recently used.
    order: VecDeque<Key>,
    bytes: usize,
}

impl ResultCache {
    /// A cache of `budget` bytes (0: nothing is kept).
    pub fn new(budget: usize) -> ResultCache {
        ResultCache {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The most a single result may take: a quarter of the budget.
    pub fn entry_limit(&self) -> usize {
        self.budget / 4
    }

    /// The kept result of `key`, marked as just used.
    pub fn get(&self, key: &Key) -> Option<Entry> {
        let mut inner = self.inner.lock().expect("cache lock");
        let entry = inner.entries.get(key)?.clone();
        inner.order.retain(|k| k != key);
        inner.order.push_back(key.clone());
        Some(entry)
    }

    /// Keeps a complete result, dropping the least recently used ones to make room.
    pub fn put(&self, key: Key, schema: SchemaRef, batches: Vec<RecordBatch>) {
        let bytes: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        if bytes > self.entry_limit() {
            return;
        }
        let mut inner = self.inner.lock().expect("cache lock");
        if let Some(old) = inner.entries.remove(&key) {
            inner.bytes -= old.bytes;
            inner.order.retain(|k| k != &key);
        }
        while inner.bytes + bytes > self.budget {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.bytes -= e.bytes;
            }
        }
        inner.bytes += bytes;
        inner.order.push_back(key.clone());
        inner.entries.insert(
            key,
            Entry {
                schema,
                batches,
                bytes,
            },
        );
    }

    /// Forgets every result of a version other than `version`.
    pub fn retain_version(&self, version: Option<i64>) {
        let mut inner = self.inner.lock().expect("cache lock");
        let stale: Vec<Key> = inner
            .entries
            .keys()
            .filter(|k| k.0 != version)
            .cloned()
            .collect();
        for k in stale {
            if let Some(e) = inner.entries.remove(&k) {
                inner.bytes -= e.bytes;
            }
            inner.order.retain(|x| x != &k);
        }
    }
}

/// Whether the rows of `plan` (as written, before optimisation folds `now()` into a
/// constant) depend on nothing but the data: every function it calls is immutable.
pub fn repeatable(plan: &LogicalPlan) -> bool {
    let mut repeatable = true;
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|e| {
                let volatility = match e {
                    Expr::ScalarFunction(f) => Some(f.func.signature().volatility),
                    Expr::AggregateFunction(f) => Some(f.func.signature().volatility),
                    Expr::WindowFunction(f) => Some(f.fun.signature().volatility),
                    _ => None,
                };
                if volatility.is_some_and(|v| v != Volatility::Immutable) {
                    repeatable = false;
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })?;
        Ok(if repeatable {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    repeatable
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(n: usize) -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![1i64; n]))],
        )
        .unwrap();
        (schema, b)
    }

    fn key(v: i64, sql: &str) -> Key {
        (Some(v), sql.to_string(), vec![])
    }

    #[test]
    fn keeps_results_within_the_budget_least_recently_used_out() {
        let (schema, b) = batch(1000);
        let size = b.get_array_memory_size();
        let cache = ResultCache::new(size * 4);
        cache.put(key(1, "a"), schema.clone(), vec![b.clone()]);
        cache.put(key(1, "b"), schema.clone(), vec![b.clone()]);
        assert!(cache.get(&key(1, "a")).is_some());
        // Too big for one entry (a quarter of the budget): not kept.
        cache.put(key(1, "big"), schema.clone(), vec![b.clone(); 2]);
        assert!(cache.get(&key(1, "big")).is_none());
        // Full at four; a fifth drops "b", the least recently used, and keeps "a".
        for k in ["c", "d", "e"] {
            cache.put(key(1, k), schema.clone(), vec![b.clone()]);
        }
        assert!(cache.get(&key(1, "b")).is_none());
        for k in ["a", "c", "d", "e"] {
            assert_eq!(
                cache.get(&key(1, k)).unwrap().batches,
                vec![b.clone()],
                "{k}"
            );
        }
        // Another version is another result; moving on forgets the old ones.
        assert!(cache.get(&key(2, "e")).is_none());
        cache.retain_version(Some(2));
        assert!(cache.get(&key(1, "e")).is_none());
        // A budget of 0 keeps nothing.
        let off = ResultCache::new(0);
        off.put(key(1, "a"), schema, vec![b]);
        assert!(off.get(&key(1, "a")).is_none());
    }

    #[tokio::test]
    async fn a_statement_calling_now_or_random_is_not_repeatable() {
        let ctx = datafusion::prelude::SessionContext::new();
        for (sql, want) in [
            ("SELECT 1 + 1", true),
            ("SELECT abs(-1), count(*) FROM (VALUES (1)) t(x)", true),
            ("SELECT now()", false),
            ("SELECT random()", false),
            (
                "SELECT x FROM (VALUES (1)) t(x) WHERE x < (SELECT random())",
                false,
            ),
        ] {
            let plan = ctx.sql(sql).await.unwrap().logical_plan().clone();
            assert_eq!(repeatable(&plan), want, "{sql}");
        }
    }
}
