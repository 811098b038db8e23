//! `gaptrack query`: read-only SQL with named parameters and several output formats.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use datafusion::common::ParamValues;
use datafusion::dataframe::DataFrame;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::scalar::ScalarValue;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use futures::TryStreamExt;

use crate::error::{Error, Result};
use crate::sql::Session;

/// Output formats of `query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

/// What the user asked to run.
#[derive(Debug, Clone)]
pub enum QuerySource {
    /// SQL text, a `queries/` name, or a bare table/view name.
    Text(String),
    /// A SQL file.
    File(std::path::PathBuf),
}

/// The SQL text to run for `query ARG`: a file stem of `queries/` (a `queries/NAME.sql`
/// in the working directory first, then the embedded ones), a bare table or view name
/// (`SELECT * FROM name`), or SQL text.
pub fn resolve(src: &QuerySource, session: &Session) -> Result<String> {
    match src {
        QuerySource::File(p) if p.as_os_str() == "-" => {
            let mut sql = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut sql).map_err(|e| {
                Error::input(crate::error::InputError::new(
                    "standard input",
                    format!("cannot read the SQL: {}", crate::spec::io_reason(&e)),
                ))
            })?;
            Ok(sql)
        }
        QuerySource::File(p) => std::fs::read_to_string(p).map_err(|e| {
            Error::input(crate::error::InputError::new(
                p.display().to_string(),
                format!("cannot read the SQL file: {}", crate::spec::io_reason(&e)),
            ))
        }),
        QuerySource::Text(t) => {
            let word = t.trim();
            let is_ident = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
            if is_ident {
                let shipped = crate::sql::query_text(word);
                let local = std::path::Path::new("queries").join(format!("{word}.sql"));
                if local.is_file() {
                    let text = std::fs::read_to_string(&local)
                        .map_err(|e| Error::io(format!("reading {}", local.display()), e))?;
                    if shipped != Some(text.as_str()) {
                        return Ok(text);
                    }
                }
                // A view's own name reads the view (the same rows as its SQL), so that
                // its kept result answers (see `crate::sql::cache`).
                if crate::sql::VIEWS.contains(&word) {
                    return Ok(format!("SELECT * FROM {word}"));
                }
                if let Some(q) = shipped {
                    return Ok(q.to_string());
                }
                if session.has_table(word) {
                    return Ok(format!("SELECT * FROM {word}"));
                }
            }
            Ok(t.clone())
        }
    }
}

/// Parses `--param name=value` pairs.
pub fn parse_params(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().trim_start_matches('$').to_string(), v.to_string()))
            }
            _ => Err(Error::Usage(format!(
                "--param {p:?} is not of the form name=value"
            ))),
        })
        .collect()
}

fn refused(e: &datafusion::error::DataFusionError) -> Option<String> {
    let msg = e.to_string();
    let lower = msg.to_lowercase();
    if lower.contains("ddl not supported")
        || lower.contains("dml not supported")
        || lower.contains("statement not supported")
    {
        Some(msg)
    } else {
        None
    }
}

/// Runs read-only SQL and returns the schema and result batches.
pub async fn run(
    session: &Session,
    sql: &str,
    params: &[(String, String)],
) -> Result<(Arc<Schema>, Vec<RecordBatch>)> {
    let (schema, stream) = stream(session, sql, params).await?;
    let started = std::time::Instant::now();
    let batches: Vec<RecordBatch> = stream.try_collect().await.map_err(execution_error)?;
    tracing::debug!(run_ms = started.elapsed().as_secs_f64() * 1e3, "query ran");
    Ok((schema, batches))
}

/// Plans read-only SQL and starts it: the schema and a stream of result batches, so a
/// result of any size is written as it comes instead of being held in memory.
pub async fn stream(
    session: &Session,
    sql: &str,
    params: &[(String, String)],
) -> Result<(Arc<Schema>, SendableRecordBatchStream)> {
    let started = std::time::Instant::now();
    let df = plan(session, sql, params).await?;
    let schema: Arc<Schema> = Arc::new(df.schema().as_arrow().clone());
    let stream = df.execute_stream().await.map_err(execution_error)?;
    tracing::debug!(
        planned_ms = started.elapsed().as_secs_f64() * 1e3,
        "query planned"
    );
    Ok((schema, stream))
}

/// An error met while a planned query runs: the store's or the machine's (exit 1), or
/// the statement's own, such as a failed cast (exit 3).
pub fn execution_error(e: datafusion::error::DataFusionError) -> Error {
    use datafusion::error::DataFusionError as D;
    let root = e.find_root();
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    let mut io = false;
    while let Some(s) = source {
        if s.downcast_ref::<object_store::Error>().is_some()
            || s.downcast_ref::<std::io::Error>().is_some()
            || s.downcast_ref::<parquet::errors::ParquetError>().is_some()
        {
            io = true;
        }
        source = s.source();
    }
    let msg = first_line(&root.strip_backtrace());
    match root {
        D::ResourcesExhausted(_) => Error::Other(format!(
            "the query needs more memory than its limit allows (GAPTRACK_MEMORY_LIMIT, now {}; spill files: GAPTRACK_SPILL_LIMIT): {msg}",
            crate::sql::runtime::Limits::from_env()
                .map(|l| human_bytes(l.memory))
                .unwrap_or_default()
        )),
        D::ObjectStore(_) | D::IoError(_) | D::ParquetError(_) | D::ExecutionJoin(_) => {
            Error::Other(format!("reading the store failed: {msg}"))
        }
        _ if io => Error::Other(format!("reading the store failed: {msg}")),
        _ => Error::Query(format!("SQL error: {}", sql_message(&e))),
    }
}

fn human_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b => format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64),
    }
}

/// Checks that `sql` only reads, then plans it with `params` bound.
pub async fn plan(session: &Session, sql: &str, params: &[(String, String)]) -> Result<DataFrame> {
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let trimmed = sql.trim().trim_end_matches(';').trim();
    if trimmed.is_empty() {
        return Err(Error::Query("the query is empty".into()));
    }
    // Refuse anything but reading by the statement's kind, before planning (so a bad
    // INSERT is refused as an INSERT, not reported as a planning error).
    let dialect = session.ctx.state().config().options().sql_parser.dialect;
    if let Ok(statement) = session.ctx.state().sql_to_statement(trimmed, &dialect) {
        if let Some(kind) = writes(&statement) {
            return Err(Error::Query(format!(
                "gaptrack query is read-only: {kind} is refused (DDL, DML, SET, COPY and external tables are; use --output to write results)"
            )));
        }
        check_size(&statement)?;
    }
    session.prepare(trimmed).await?;
    let df = match session.ctx.sql_with_options(trimmed, options).await {
        Ok(df) => df,
        Err(e) => {
            if let Some(m) = refused(&e) {
                return Err(Error::Query(format!(
                    "gaptrack query is read-only: DDL, DML, COPY and external tables are refused ({m})"
                )));
            }
            return Err(match execution_error(e) {
                Error::Query(m) => Error::Query(did_you_mean(m, session)),
                other => other,
            });
        }
    };
    bind(df, params)
}

/// A "table 'x' not found" message with the closest names of the session's tables
/// and views added ("did you mean gaps?").
fn did_you_mean(msg: String, session: &Session) -> String {
    let Some(rest) = msg.split("table '").nth(1) else {
        return msg;
    };
    let Some(name) = rest
        .split("' not found")
        .next()
        .filter(|_| rest.contains("' not found"))
    else {
        return msg;
    };
    let name = name.rsplit('.').next().unwrap_or(name);
    format!("{msg}{}", suggest(name, session))
}

/// The name of the session's tables and views closest to `name` ("; did you mean
/// gaps?"), or the list of them all when none is close.
pub fn suggest(name: &str, session: &Session) -> String {
    let name = name.to_lowercase();
    let names = session.table_names();
    let mut close: Vec<(f64, &String)> = names
        .iter()
        .map(|t| (strsim::jaro_winkler(&name, t), t))
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    close.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    match close.first() {
        Some((_, best)) => format!("; did you mean {best}?"),
        None => format!("; the tables and views are: {}", names.join(", ")),
    }
}

/// Binds `params` to the `$name` placeholders of a planned statement, each typed from
/// its context (a placeholder without one takes a string); a placeholder left without a
/// value is a usage error naming it.
pub fn bind(df: DataFrame, params: &[(String, String)]) -> Result<DataFrame> {
    let types = df
        .logical_plan()
        .get_parameter_types()
        .map_err(|e| Error::Query(e.to_string()))?;
    let mut map: HashMap<String, ScalarValue> = HashMap::new();
    // Placeholders are named with their `$`; --param names them without.
    let types: HashMap<String, Option<arrow::datatypes::DataType>> = types
        .into_iter()
        .map(|(k, t)| (k.trim_start_matches('$').to_string(), t))
        .collect();
    for (k, v) in params {
        let k = &k.trim_start_matches('$').to_string();
        let ty = types.get(k).cloned().flatten();
        let value = match ty {
            Some(t) => ScalarValue::try_from_string(v.clone(), &t)
                .map_err(|_| Error::Usage(format!("--param {k}={v:?} is not a valid {t}")))?,
            None => ScalarValue::Utf8(Some(v.clone())),
        };
        map.insert(k.clone(), value);
    }
    let mut missing: Vec<&String> = types.keys().filter(|k| !map.contains_key(*k)).collect();
    missing.sort();
    if let Some(k) = missing.first() {
        return Err(Error::Usage(format!(
            "the query uses ${k}: give it with --param {k}=VALUE"
        )));
    }
    if map.is_empty() {
        return Ok(df);
    }
    df.with_param_values(ParamValues::from(map))
        .map_err(|e| Error::Query(format!("SQL error: {}", sql_message(&e))))
}

/// The deepest nesting of expressions and subqueries a statement may have (`1 + 1 + …`
/// nests one level per `+`).
pub const MAX_DEPTH: usize = 2_000;
/// The most `SELECT`s one statement may hold (`… UNION ALL SELECT …` nests one level per
/// branch).
pub const MAX_SELECTS: usize = 2_000;

/// Refuses a statement too deep to plan within the stack (exit 3, not a crash).
fn check_size(statement: &DFStatement) -> Result<()> {
    use datafusion::sql::sqlparser::ast::{Expr, Query, Select, Visit, Visitor};
    use std::ops::ControlFlow;
    #[derive(Default)]
    struct Size {
        depth: usize,
        selects: usize,
    }
    impl Size {
        fn enter(&mut self) -> ControlFlow<String> {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return ControlFlow::Break(format!(
                    "nests expressions or subqueries more than {MAX_DEPTH} levels deep"
                ));
            }
            ControlFlow::Continue(())
        }
    }
    impl Visitor for Size {
        type Break = String;
        fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<Self::Break> {
            self.enter()
        }
        fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<Self::Break> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<Self::Break> {
            self.enter()
        }
        fn post_visit_query(&mut self, _: &Query) -> ControlFlow<Self::Break> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_select(&mut self, _: &Select) -> ControlFlow<Self::Break> {
            self.selects += 1;
            if self.selects > MAX_SELECTS {
                return ControlFlow::Break(format!("holds more than {MAX_SELECTS} SELECTs"));
            }
            ControlFlow::Continue(())
        }
    }
    let statement = match statement {
        DFStatement::Statement(s) => s.as_ref(),
        DFStatement::Explain(e) => return check_size(&e.statement),
        _ => return Ok(()),
    };
    match statement.visit(&mut Size::default()) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(what) => Err(Error::Query(format!(
            "the statement {what}: write it in smaller steps (e.g. a VALUES or IN list instead of a chain of UNION ALL, OR or +)"
        ))),
    }
}

/// What a statement would change, or `None` when it only reads.
pub fn writes(statement: &DFStatement) -> Option<&'static str> {
    match statement {
        DFStatement::Statement(s) => writes_sql(s),
        DFStatement::Explain(e) => writes(&e.statement),
        DFStatement::CreateExternalTable(_) => Some("CREATE EXTERNAL TABLE"),
        DFStatement::CopyTo(_) => Some("COPY"),
        DFStatement::Reset(_) => Some("RESET"),
    }
}

fn writes_sql(statement: &SqlStatement) -> Option<&'static str> {
    match statement {
        SqlStatement::Query(_)
        | SqlStatement::ShowTables { .. }
        | SqlStatement::ShowColumns { .. }
        | SqlStatement::ShowFunctions { .. }
        | SqlStatement::ShowVariable { .. }
        | SqlStatement::ExplainTable { .. } => None,
        SqlStatement::Explain { statement, .. } => writes_sql(statement),
        SqlStatement::Insert(_) => Some("INSERT"),
        SqlStatement::Update { .. } => Some("UPDATE"),
        SqlStatement::Delete(_) => Some("DELETE"),
        SqlStatement::Merge { .. } => Some("MERGE"),
        SqlStatement::Copy { .. } => Some("COPY"),
        SqlStatement::Set(_) => Some("SET"),
        SqlStatement::Drop { .. } => Some("DROP"),
        SqlStatement::CreateTable(_) => Some("CREATE TABLE"),
        SqlStatement::CreateView { .. } => Some("CREATE VIEW"),
        _ => Some("this statement"),
    }
}

/// A DataFusion error as one line without its wrappers: `SQL error: ParserError("…")`
/// reads as the parser's own words.
fn sql_message(e: &datafusion::error::DataFusionError) -> String {
    // A context ("type_coercion", "optimizer rule …") says where; its cause says what.
    let m = match e {
        datafusion::error::DataFusionError::Context(..) => {
            first_line(&e.find_root().strip_backtrace())
        }
        _ => first_line(&e.strip_backtrace()),
    };
    let m = m.strip_prefix("SQL error: ").unwrap_or(&m);
    for wrapper in ["ParserError(\"", "TokenizerError(\""] {
        if let Some(inner) = m.strip_prefix(wrapper) {
            return inner.trim_end_matches("\")").replace("\\\"", "\"");
        }
    }
    m.to_string()
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// Renders batches in a text format, or Parquet bytes.
pub use crate::sql::output::render;
