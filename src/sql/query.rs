//! `gaptrack query`: read-only SQL with named parameters and several output formats.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use datafusion::common::ParamValues;
use datafusion::execution::context::SQLOptions;
use datafusion::scalar::ScalarValue;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;

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
                let local = std::path::Path::new("queries").join(format!("{word}.sql"));
                if local.is_file() {
                    return std::fs::read_to_string(&local)
                        .map_err(|e| Error::io(format!("reading {}", local.display()), e));
                }
                if let Some(q) = crate::sql::query_text(word) {
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
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let started = std::time::Instant::now();
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
            return Err(Error::Query(format!(
                "SQL error: {}",
                first_line(&e.to_string())
            )));
        }
    };
    let df = if params.is_empty() {
        df
    } else {
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
        for k in types.keys() {
            if !map.contains_key(k) {
                return Err(Error::Usage(format!(
                    "the query uses ${k}: give it with --param {k}=VALUE"
                )));
            }
        }
        df.with_param_values(ParamValues::from(map))
            .map_err(|e| Error::Query(format!("SQL error: {}", first_line(&e.to_string()))))?
    };
    let schema: Arc<Schema> = Arc::new(df.schema().as_arrow().clone());
    let planned = started.elapsed();
    let batches = df
        .collect()
        .await
        .map_err(|e| Error::Query(format!("SQL error: {}", first_line(&e.to_string()))))?;
    tracing::debug!(
        planned_ms = planned.as_secs_f64() * 1e3,
        total_ms = started.elapsed().as_secs_f64() * 1e3,
        "query ran"
    );
    Ok((schema, batches))
}

/// What a statement would change, or `None` when it only reads.
fn writes(statement: &DFStatement) -> Option<&'static str> {
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

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// Renders batches in a text format, or Parquet bytes.
pub fn render(
    format: OutputFormat,
    schema: &Arc<Schema>,
    batches: &[RecordBatch],
) -> Result<Vec<u8>> {
    match format {
        OutputFormat::Table => {
            let s = arrow::util::pretty::pretty_format_batches(batches)?.to_string();
            let mut s = if batches.iter().all(|b| b.num_rows() == 0) {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                format!("(no rows; columns: {})", names.join(", "))
            } else {
                s
            };
            s.push('\n');
            Ok(s.into_bytes())
        }
        OutputFormat::Csv => {
            let mut buf = Vec::new();
            {
                let mut w = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut buf);
                if batches.is_empty() {
                    w.write(&RecordBatch::new_empty(schema.clone()))?;
                }
                for b in batches {
                    w.write(b)?;
                }
            }
            Ok(buf)
        }
        OutputFormat::Json => {
            let mut buf = Vec::new();
            {
                let mut w = arrow::json::ArrayWriter::new(&mut buf);
                for b in batches {
                    w.write(b)?;
                }
                w.finish()?;
            }
            if buf.is_empty() {
                buf.extend_from_slice(b"[]");
            }
            buf.push(b'\n');
            Ok(buf)
        }
        OutputFormat::Parquet => {
            let mut buf = Vec::new();
            {
                let mut w = parquet::arrow::ArrowWriter::try_new(
                    &mut buf,
                    schema.clone(),
                    Some(crate::ingest::writer_properties()),
                )
                .map_err(|e| Error::Other(format!("writing parquet: {e}")))?;
                for b in batches {
                    w.write(b)
                        .map_err(|e| Error::Other(format!("writing parquet: {e}")))?;
                }
                w.close()
                    .map_err(|e| Error::Other(format!("writing parquet: {e}")))?;
            }
            Ok(buf)
        }
    }
}
