//! `GROUP BY` over the string columns of `store.responses`, grouped on the Parquet
//! dictionary keys instead of the strings.
//!
//! Every string column of a `responses` file (respondent, group, statement, segments) is
//! dictionary-encoded: a row group holds each distinct value once and the rows hold small
//! integer keys. DataFusion reads them as strings and its first aggregation stage hashes
//! and compares those strings row by row (~40 % of an analyst's `GROUP BY wave,
//! statement, industry`). This physical optimizer rule finds a first-stage aggregate
//! (`Partial`, or `Single`) over such a scan whose grouping keys are plain string
//! columns, has the scan hand those columns over as Arrow dictionaries (the Parquet
//! reader then copies the keys, no strings are built), and replaces the aggregate by
//! [`DictGroupExec`], which finds each row's group from its keys: a dictionary value is
//! looked up once per row group, and a row costs an index into a small table.
//!
//! The aggregate functions are DataFusion's own (`GroupsAccumulator`s created from the
//! plan's aggregate expressions, but for the two fused ones below, whose results are
//! identical); only the group lookup differs. The output schema is
//! the replaced aggregate's, so the plan above it (the final aggregation stage) is
//! unchanged, and so are the results. Anything the rule does not recognise is left as
//! it is: grouping sets, ordered or DISTINCT aggregates, non-string or computed keys, a
//! column that a filter or an aggregate argument also reads (it stays a string column),
//! plans with other operators between the scan and the aggregate.
//!
//! A filter right below the aggregate (`WHERE agree IS NOT NULL`) is evaluated by the
//! aggregate itself, without copying the rows it keeps (`fold`). `count(*)` and the
//! weighted count of a share, `sum(CASE WHEN agree THEN weight ELSE 0 END)`, have
//! accumulators of their own (`fused`): the first counts rows without reading a column
//! of ones, the second picks and adds each row's value in one pass (`sum_select`).
//!
//! Layout: `rule` is the optimizer rule that recognises the plan and rewrites it,
//! `reader` hands the scan the files' metadata with dictionary columns, `exec` is the
//! replacing aggregate and its stream, `fold` the filter it takes over, `groups` the
//! table that finds each row's group, `fused` and `sum_select` the fused aggregates.

mod exec;
mod fold;
mod fused;
mod groups;
mod reader;
mod rule;
mod sum_select;
#[cfg(test)]
mod tests;

pub use exec::DictGroupExec;
pub use rule::DictGroupBy;

/// At most this many grouping columns (their ids are packed into one `u128`).
const MAX_KEYS: usize = 4;
/// A `Partial` stage hands its groups on once it holds this many (the final stage merges
/// them), so that a high-cardinality key does not hold every group in memory.
const EMIT_GROUPS: usize = 1 << 20;
/// Largest product of the per-batch key domains looked up through a dense table.
const DENSE_MAX: usize = 1 << 16;
const UNSET: u32 = u32::MAX;
