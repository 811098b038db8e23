//! `gaptrack query`: read-only SQL over the tables and views.

use std::path::PathBuf;

use arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;

use super::{open_existing, Context};
use crate::error::{Error, Result};
use crate::sql::query::{self, OutputFormat, QuerySource};
use crate::sql::{AsOf, Session, Settings};

/// A query (the arguments of `gaptrack query`).
#[derive(Debug, Clone)]
pub struct QueryRequest {
    /// SQL text, a file stem of queries/, or a table/view name.
    pub sql: Option<String>,
    /// A file with the SQL (`-`: standard input).
    pub file: Option<PathBuf>,
    pub format: OutputFormat,
    /// Where the rows go (a path or store URL), instead of stdout.
    pub output: Option<String>,
    /// `name=value` for the `$name` placeholders.
    pub params: Vec<String>,
    /// The store as it was at a catalog version or a time.
    pub as_of: Option<AsOf>,
    /// Base below which `low_base` is true.
    pub min_base: i64,
    /// The base `low_base` compares with `min_base`.
    pub min_base_on: crate::sql::BaseOn,
}

/// One statement's result: its schema and its rows as they come.
pub type Rows = (SchemaRef, SendableRecordBatchStream);

/// Checks and plans the query, every statement of it (`;`-separated) before any runs;
/// returns each statement's schema and rows as they come (to be written with
/// [`super::output::write_rows`]). `--output` and Parquet take one statement.
pub async fn query(ctx: &Context, q: &QueryRequest) -> Result<Vec<Rows>> {
    let store = open_existing(&ctx.store_url()).await?;
    if let Some(target) = &q.output {
        crate::report::refuse_inside_store(&store, target, "--output")?;
    }
    let settings = Settings {
        min_base: q.min_base,
        min_base_on: q.min_base_on,
        variance: ctx.variance.unwrap_or_default(),
        ..Settings::default()
    };
    let session = Session::open_on(&store, q.as_of.clone(), settings, true, &ctx.engine()).await?;
    let src = match (&q.file, &q.sql) {
        (Some(f), _) => QuerySource::File(f.clone()),
        (None, Some(s)) => QuerySource::Text(s.clone()),
        (None, None) => return Err(Error::Usage("give SQL, a query name, or -f FILE".into())),
    };
    let sql = query::resolve(&src, &session)?;
    let params = query::parse_params(&q.params)?;
    if q.format == OutputFormat::Parquet && q.output.is_none() {
        return Err(Error::Usage(
            "--format parquet needs --output PATH_OR_URL".into(),
        ));
    }
    let statements = crate::sql::statements::split(&sql)?;
    if statements.len() > 1 && (q.output.is_some() || q.format == OutputFormat::Parquet) {
        return Err(Error::Usage(format!(
            "--output and --format parquet take one statement; the SQL holds {}",
            statements.len()
        )));
    }
    let mut results = Vec::with_capacity(statements.len());
    for statement in statements.iter().map(String::as_str).chain(
        // No statement at all: the empty query's own error.
        statements.is_empty().then_some(""),
    ) {
        results.push(query::stream(&session, statement, &params).await?);
    }
    Ok(results)
}
