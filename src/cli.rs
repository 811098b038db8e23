//! The command line: argument parsing and output. `main.rs` only calls [`main`].

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::ingest::{self, Status};
use crate::sql::query::{self, OutputFormat, QuerySource};
use crate::sql::{AsOf, Session, Settings};
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "gaptrack",
    version,
    about = "Repeated B2B surveys into Delta tables; agreement gaps and their trends in SQL",
    propagate_version = true
)]
pub struct Cli {
    /// Store URL: a path, file://, memory://, s3://bucket/prefix, az://container/prefix,
    /// abfs://…, gs://bucket/prefix.
    /// [default: ./warehouse; for `run`, the config's `store`]
    #[arg(long, global = true, env = "GAPTRACK_STORE", hide_env_values = true)]
    pub store: Option<String>,

    /// Progress and errors on stderr as text, or as JSON lines for schedulers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Variance of the estimates in every view and report: kish (Kish effective base,
    /// the default) or linearized (Taylor, weights-only design); see docs/statistics.md. For `run`, overrides the config.
    #[arg(long, global = true, env = "GAPTRACK_VARIANCE", value_enum)]
    pub variance: Option<crate::sql::Variance>,

    /// More detail on stderr (repeat for debug output).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate and load waves (one atomic commit each).
    Ingest {
        /// Wave spec files (TOML).
        #[arg(required = true)]
        specs: Vec<PathBuf>,
        /// Validate only; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the loaded waves.
    Waves {
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Drop a wave (one atomic commit).
    Remove {
        /// Wave id.
        wave: String,
    },
    /// Run read-only SQL over the tables and views.
    Query(QueryArgs),
    /// Publish the year-over-year trend tables (trend.csv, trend.json, trend.md, index.html).
    Report(ReportArgs),
    /// The scheduled job: ingest every new or changed wave of a config, then report.
    Run {
        /// Pipeline config (TOML).
        #[arg(long)]
        config: PathBuf,
    },
    /// List the commits of the store (loads, replacements, removals).
    History {
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Delete the rows of loads the catalog does not name, then the data files no table
    /// references any more, both only when older than the retention.
    Vacuum {
        /// Keep anything younger than this many hours: rows of loads that may still be
        /// in flight, and files that readers of recent versions (`--as-of`) still need.
        /// Below 1 hour only with --force.
        #[arg(long, default_value_t = crate::vacuum::DEFAULT_RETAIN_HOURS)]
        retain_hours: u64,
        /// Accept a retention below 1 hour (`--as-of` reads of recent versions may then
        /// fail). Files of the latest version and loads in progress are kept even so.
        #[arg(long)]
        force: bool,
        /// List what would be removed; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// SQL text, a file stem of queries/ (e.g. gap_trend), or a table/view name.
    #[arg(conflicts_with = "file", required_unless_present = "file")]
    pub sql: Option<String>,
    /// Read the SQL from a file (`-`: standard input).
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Write the result to a path or store URL instead of stdout.
    #[arg(long)]
    pub output: Option<String>,
    /// A value for a `$name` placeholder: --param name=value (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Read the store as it was at a catalog version or a time.
    #[arg(long, value_parser = AsOf::parse)]
    pub as_of: Option<AsOf>,
    /// Base below which `low_base` is true.
    #[arg(long, default_value_t = 30)]
    pub min_base: i64,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output directory or store URL.
    #[arg(long)]
    pub out: String,
    /// The pair of groups, A:B (gap = A − B).
    #[arg(long, default_value = "marketing:sales", value_parser = crate::report::parse_pair)]
    pub pair: (String, String),
    /// Bases below this are flagged as low.
    #[arg(long, default_value_t = 30)]
    pub min_base: i64,
    /// Bases below this are suppressed (no percentage published).
    #[arg(long, default_value_t = 10)]
    pub suppress_below: i64,
    /// Comma-separated formats: md, csv, json, html.
    #[arg(long, value_delimiter = ',', default_value = "md,csv,json,html", value_parser = crate::report::ReportFormat::parse)]
    pub formats: Vec<crate::report::ReportFormat>,
    /// Build the report from the store as it was at a catalog version or a time.
    #[arg(long, value_parser = AsOf::parse)]
    pub as_of: Option<AsOf>,
    /// Add a breakdown of the gap by a segment column (repeatable or comma-separated):
    /// breakdown.csv / breakdown.json, and a table in trend.md and index.html.
    #[arg(long = "by", value_name = "SEGMENT", value_delimiter = ',')]
    pub by: Vec<String>,
}

fn init_logging(format: LogFormat, verbose: u8) {
    use tracing_subscriber::EnvFilter;
    // Every log line and error passes through `store::redact` (panics: `quiet_panics`).
    crate::store::init_redaction();
    let default = match (format, verbose) {
        (_, v) if v >= 2 => "debug",
        (LogFormat::Json, _) | (_, 1) => "gaptrack=info",
        _ => "gaptrack=warn",
    };
    let filter =
        EnvFilter::try_from_env("GAPTRACK_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::store::RedactingStderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.without_time().try_init(),
    };
}

/// Parses arguments, runs the command, prints errors; returns the contract's exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(cli.log_format, cli.verbose);
    if cli.log_format == LogFormat::Text && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        crate::ingest::PROGRESS.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    // Planning and running a deeply nested statement recurses deeply: the command runs on
    // a thread with a large stack, as do the runtime's workers (address space only: the
    // pages a thread never touches are never used). Statements nested deeper than
    // `query::MAX_DEPTH` are refused before planning.
    quiet_panics();
    let format = cli.log_format;
    let worker = std::thread::Builder::new()
        .name("gaptrack".into())
        .stack_size(MAIN_STACK)
        .spawn(move || run_main(cli));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(payload)) => {
            let what = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            let e = Error::Other(format!("internal error: {what}"));
            report_error(&e, format);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            ExitCode::from(1)
        }
    }
}

/// A panic (in gaptrack or a dependency, e.g. a runtime shut down under a full disk) is
/// not printed as Rust's message: it is logged at debug level, and the command's error,
/// one line as always, says what failed.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        tracing::debug!(
            "panic in thread {:?}{at}: {}",
            std::thread::current().name().unwrap_or("?"),
            crate::store::redact(what)
        );
    }));
}

/// Stack of the thread that parses and plans statements: planning a statement at
/// `query::MAX_DEPTH` touches about 30 MiB of it.
const MAIN_STACK: usize = 128 << 20;
/// Stack of the runtime's threads, which run the plans.
const WORKER_STACK: usize = 16 << 20;
/// Threads for blocking work (each reserves its stack's address space: under
/// `ulimit -v`, hundreds of them would not fit).
const BLOCKING_THREADS: usize = 16;

fn run_main(cli: Cli) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK)
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let format = cli.log_format;
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report_error(&e, format);
            ExitCode::from(e.exit_code())
        }
    }
}

/// Prints an error: the first line names what and where; further problems of the same
/// input follow (at most 20, then "and N more").
pub fn report_error(e: &Error, format: LogFormat) {
    let stderr = std::io::stderr();
    let mut out = stderr.lock();
    match (e, format) {
        (Error::Invalid(inv), LogFormat::Text) => {
            for (i, err) in inv.errors.iter().enumerate() {
                let prefix = if i == 0 { "error: " } else { "  " };
                let _ = writeln!(out, "{prefix}{}", crate::store::redact(&err.to_string()));
            }
            if inv.total > inv.errors.len() {
                let _ = writeln!(out, "  … and {} more", inv.total - inv.errors.len());
            }
        }
        (Error::Invalid(inv), LogFormat::Json) => {
            for err in &inv.errors {
                let mut v = serde_json::json!({
                    "level": "ERROR",
                    "event": "invalid_input",
                    "file": err.file,
                    "line": err.line,
                    "column": err.column,
                    "message": crate::store::redact(&err.to_string()),
                    "exit_code": 3,
                });
                if let Some(row) = err.row {
                    v["row"] = row.into();
                }
                let _ = writeln!(out, "{}", crate::store::redact(&v.to_string()));
            }
            if inv.total > inv.errors.len() {
                let v = serde_json::json!({"level": "ERROR", "event": "invalid_input", "more": inv.total - inv.errors.len()});
                let _ = writeln!(out, "{v}");
            }
        }
        (e, LogFormat::Text) => {
            // One line: a server's answer quoted in the message may span several.
            let msg = crate::store::redact(&e.to_string()).replace(['\r', '\n'], " ");
            let _ = writeln!(out, "error: {msg}");
        }
        (e, LogFormat::Json) => {
            let v = serde_json::json!({
                "level": "ERROR",
                "event": "error",
                "message": crate::store::redact(&e.to_string()),
                "exit_code": e.exit_code(),
            });
            let _ = writeln!(out, "{v}");
        }
    }
}

fn stdout_write(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("writing to stdout", e)),
    }
}

/// Standard output that treats a closed pipe (`| head`) as the end of the output, not
/// as an error of ours.
struct Stdout {
    out: std::io::BufWriter<std::io::Stdout>,
    closed: bool,
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        match self.out.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buf.len())
            }
            r => r,
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self.out.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r if self.closed => r.or(Ok(())),
            r => r,
        }
    }
}

/// Writes a query's rows as they come: to stdout, or to a local path or store URL. A
/// file appears only complete: rows go to a temporary file first, which is then renamed
/// (a local path) or uploaded (a store URL).
pub async fn write_rows(
    target: Option<&str>,
    format: OutputFormat,
    schema: std::sync::Arc<arrow::datatypes::Schema>,
    mut rows: datafusion::execution::SendableRecordBatchStream,
) -> Result<()> {
    use crate::sql::output::RowWriter;
    use futures::StreamExt;
    let Some(target) = target else {
        let out = Stdout {
            out: std::io::BufWriter::new(std::io::stdout()),
            closed: false,
        };
        let mut w = RowWriter::new(format, schema, out)?;
        while let Some(batch) = rows.next().await {
            w.write(&batch.map_err(query::execution_error)?)?;
        }
        w.finish()?;
        return Ok(());
    };
    let remote = target.contains("://") && !target.starts_with("file://");
    let (dir, name) = if remote {
        let (dir, name) = target
            .rsplit_once('/')
            .filter(|(_, n)| !n.is_empty())
            .ok_or_else(|| Error::Usage(format!("--output {target:?} does not name a file")))?;
        (std::env::temp_dir(), Some((dir, name)))
    } else {
        let path = PathBuf::from(target.strip_prefix("file://").unwrap_or(target));
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        std::fs::create_dir_all(&parent)
            .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
        (parent, None)
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".gaptrack-output-");
    // The file is renamed into place: it gets the mode any new file gets (0666 less the
    // umask), not a temporary file's 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder
        .tempfile_in(&dir)
        .map_err(|e| Error::io(format!("creating a file in {}", dir.display()), e))?;
    let file = tmp
        .reopen()
        .map_err(|e| Error::io(format!("writing {}", tmp.path().display()), e))?;
    let mut w = RowWriter::new(format, schema, std::io::BufWriter::new(file))?;
    while let Some(batch) = rows.next().await {
        w.write(&batch.map_err(query::execution_error)?)?;
    }
    w.finish()?;
    match name {
        Some((dir, name)) => Store::open(dir)?.put_file(name, tmp.path()).await,
        None => {
            let path = PathBuf::from(target.strip_prefix("file://").unwrap_or(target));
            tmp.persist(&path)
                .map(|_| ())
                .map_err(|e| Error::io(format!("writing {}", path.display()), e.error))
        }
    }
}

/// Opens the store of a command that reads it: where no store exists (a typo in the
/// URL), invalid input (exit 3) naming the location, instead of an empty answer.
async fn open_existing(location: &str) -> Result<Store> {
    let store = Store::open(location)?;
    store.require_existing().await?;
    Ok(store)
}

async fn run(cli: Cli) -> Result<()> {
    let store_arg = cli.store.clone();
    let variance = cli.variance.unwrap_or_default();
    let store_url = store_arg
        .clone()
        .unwrap_or_else(|| "./warehouse".to_string());
    match cli.command {
        Command::Report(r) => {
            let store = open_existing(&store_url).await?;
            crate::report::refuse_inside_store(&store, &r.out, "--out")?;
            let settings = Settings {
                min_base: r.min_base,
                suppress_below: r.suppress_below,
                variance,
            };
            let session = Session::open(&store, r.as_of.clone(), settings).await?;
            let mut model = crate::report::build(&session, &r.pair.0, &r.pair.1).await?;
            crate::report::add_breakdowns(&mut model, &session, &r.by).await?;
            let files = crate::report::publish(&model, &r.out, &r.formats).await?;
            stdout_write(
                format!(
                    "report: {} written to {} (data version {})\n\n{}",
                    files.join(", "),
                    r.out,
                    model.data_version,
                    crate::report::render_text(&model)
                )
                .as_bytes(),
            )
        }
        Command::Run { config } => {
            let mut cfg = crate::pipeline::load(&config)?;
            if let (Some(v), Some(r)) = (cli.variance, cfg.report.as_mut()) {
                r.settings.variance = v;
            }
            let url = store_arg
                .or(cfg.store.clone())
                .unwrap_or_else(|| "./warehouse".into());
            let store = Store::open(&url)?;
            let out = crate::pipeline::run(&cfg, &store).await?;
            let mut text = String::new();
            for o in &out.waves {
                text.push_str(&describe_outcome(o));
            }
            if let Some(dir) = &out.report_out {
                text.push_str(&format!(
                    "report: {} written to {dir} (data version {})\n",
                    out.report_files.join(", "),
                    out.data_version.unwrap_or(-1)
                ));
            }
            if let Some(model) = &out.report {
                text.push('\n');
                text.push_str(&crate::report::render_text(model));
            }
            stdout_write(text.as_bytes())
        }
        Command::Ingest { specs, dry_run } => {
            let (specs, problems) = ingest::load_specs_lenient(&specs)?;
            let store = Store::open(&store_url)?;
            let outcomes = ingest::ingest_checked(&store, specs, problems, dry_run).await?;
            let mut text = String::new();
            for o in &outcomes {
                text.push_str(&describe_outcome(o));
            }
            stdout_write(text.as_bytes())
        }
        Command::Waves { format } => {
            let store = open_existing(&store_url).await?;
            let session = Session::open(&store, None, Settings::default()).await?;
            let (schema, batches) = query::run(
                &session,
                "SELECT wave, date, kind, respondents, source_sha256, loaded_at, title, source FROM waves ORDER BY date, wave",
                &[],
            )
            .await?;
            stdout_write(&query::render(format, &schema, &batches)?)
        }
        Command::Remove { wave } => {
            let store = open_existing(&store_url).await?;
            ingest::remove(&store, &wave).await?;
            stdout_write(format!("{wave}: removed\n").as_bytes())
        }
        Command::History { format } => {
            let store = open_existing(&store_url).await?;
            let h = crate::catalog::history(&store).await?;
            let batch = history_batch(&h)?;
            stdout_write(&query::render(format, &batch.schema(), &[batch])?)
        }
        Command::Vacuum {
            retain_hours,
            dry_run,
            force,
        } => {
            let store = Store::open(&store_url)?;
            // A first load killed before its catalog commit leaves data tables without a
            // catalog: vacuum is what removes them.
            let mut any = false;
            for t in crate::store::DATA_TABLES {
                any = any || store.has_table(t).await?;
            }
            if !any {
                store.require_existing().await?;
            }
            let out = crate::vacuum::vacuum(&store, retain_hours, dry_run, force).await?;
            stdout_write(crate::vacuum::describe(&out).as_bytes())
        }
        Command::Query(q) => {
            let store = open_existing(&store_url).await?;
            if let Some(target) = &q.output {
                crate::report::refuse_inside_store(&store, target, "--output")?;
            }
            let settings = Settings {
                min_base: q.min_base,
                variance,
                ..Settings::default()
            };
            let session = Session::open_lazy(&store, q.as_of.clone(), settings).await?;
            let src = match (&q.file, &q.sql) {
                (Some(f), _) => QuerySource::File(f.clone()),
                (None, Some(s)) => QuerySource::Text(s.clone()),
                (None, None) => {
                    return Err(Error::Usage("give SQL, a query name, or -f FILE".into()))
                }
            };
            let sql = query::resolve(&src, &session)?;
            let params = query::parse_params(&q.params)?;
            if q.format == OutputFormat::Parquet && q.output.is_none() {
                return Err(Error::Usage(
                    "--format parquet needs --output PATH_OR_URL".into(),
                ));
            }
            let (schema, rows) = query::stream(&session, &sql, &params).await?;
            write_rows(q.output.as_deref(), q.format, schema, rows).await
        }
    }
}

fn describe_outcome(o: &ingest::Outcome) -> String {
    let mut s = match o.status {
        Status::Unchanged => format!(
            "{}: unchanged (spec and source are identical to the loaded wave; nothing written)\n",
            o.wave
        ),
        Status::Valid | Status::Loaded | Status::Replaced => {
            let what = match o.status {
                Status::Valid => "valid (dry run; nothing written)",
                Status::Loaded => "loaded",
                _ => "replaced",
            };
            match o.respondents {
                Some(r) => format!(
                    "{}: {what}: {r} respondents, {} rows ({:.2}s)\n",
                    o.wave, o.rows, o.seconds
                ),
                None => format!(
                    "{}: {what}: {} published cells ({:.2}s)\n",
                    o.wave, o.rows, o.seconds
                ),
            }
        }
    };
    if let Some(w) = &o.weighting {
        s.push_str(&format!(
            "  weighting: n_eff {:.1} of {} respondents (efficiency {:.1} %), weight / mean {:.3} to {:.3}, {} iterations, max residual {:.1e}\n",
            w.n_eff,
            w.respondents,
            100.0 * w.efficiency,
            w.min_ratio,
            w.max_ratio,
            w.iterations,
            w.max_residual
        ));
    }
    if o.status == Status::Valid {
        if !o.per_group.is_empty() {
            let groups: Vec<String> = o
                .per_group
                .iter()
                .map(|(g, n)| format!("{g} {n}"))
                .collect();
            s.push_str(&format!("  respondents by group: {}\n", groups.join(", ")));
        }
        if !o.missing.is_empty() {
            let m: Vec<String> = o
                .missing
                .iter()
                .map(|(st, n)| format!("{st} {n}"))
                .collect();
            s.push_str(&format!(
                "  missing answers by statement: {}\n",
                m.join(", ")
            ));
        }
    }
    s
}

fn history_batch(h: &[crate::catalog::HistoryEntry]) -> Result<arrow::array::RecordBatch> {
    use arrow::array::{Int64Array, StringArray, TimestampMillisecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![
        Field::new("version", DataType::Int64, false),
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("operation", DataType::Utf8, false),
        Field::new("wave", DataType::Utf8, false),
        Field::new("source_sha256", DataType::Utf8, true),
    ]));
    Ok(arrow::array::RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(h.iter().map(|e| e.version))),
            Arc::new(
                TimestampMillisecondArray::from_iter_values(h.iter().map(|e| e.timestamp_ms))
                    .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from_iter_values(
                h.iter().map(|e| e.operation.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                h.iter().map(|e| e.wave.as_str()),
            )),
            Arc::new(StringArray::from_iter(
                h.iter().map(|e| e.source_sha256.as_deref()),
            )),
        ],
    )?)
}
