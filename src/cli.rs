//! The command line: the arguments ([`Cli`], parsed by clap), logging, and the printing
//! of errors. `main.rs` parses, runs [`dispatch`] and maps an error to its exit code;
//! each command's body is a library function in [`crate::commands`], and what commands
//! print is formatted in [`crate::commands::output`].

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{self, output, Context, QueryRequest, ReportRequest};
use crate::error::{Error, Result};
use crate::sql::query::OutputFormat;
use crate::sql::AsOf;

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

    /// Run `query` and `report` on an Apache Ballista cluster: its scheduler,
    /// df://HOST:PORT (docs/cluster.md). For `run`, overrides the config's `cluster`.
    #[arg(long, global = true, env = "GAPTRACK_CLUSTER", value_name = "URL")]
    pub cluster: Option<String>,

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
        /// Treat warnings as errors (exit 3): a [groups] raw value no respondent has.
        #[arg(long)]
        strict: bool,
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
    /// An interactive SQL shell over the same read-only session as `query`: line
    /// editing, history, Tab completion, dot commands (.help).
    Shell(crate::shell::ShellArgs),
    /// Serve the read-only SQL session to other tools: Arrow Flight SQL and/or the
    /// PostgreSQL wire protocol (docs/serve.md).
    Serve(crate::serve::ServeArgs),
    /// Publish the year-over-year trend tables (trend.csv, trend.json, trend.md, index.html).
    Report(ReportArgs),
    /// The scheduled job: ingest every new or changed wave of a config, then report.
    Run {
        /// Pipeline config (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Treat warnings as errors (exit 3), as `ingest --strict`.
        #[arg(long)]
        strict: bool,
    },
    /// Run a node of an Apache Ballista cluster that runs gaptrack's SQL: the
    /// scheduler, or an executor (docs/cluster.md).
    Cluster(crate::cluster::ClusterArgs),
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

impl Command {
    /// Whether the command loads waves (and so holds a wave's data while it runs).
    pub fn loads_waves(&self) -> bool {
        matches!(self, Command::Ingest { .. } | Command::Run { .. })
    }
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
    /// Which base the thresholds compare with: n (respondents) or n_eff (effective base).
    #[arg(long, value_enum, default_value_t = crate::sql::BaseOn::N)]
    pub min_base_on: crate::sql::BaseOn,
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
    /// Which base the thresholds compare with: n (respondents) or n_eff (effective base).
    #[arg(long, value_enum, default_value_t = crate::sql::BaseOn::N)]
    pub min_base_on: crate::sql::BaseOn,
    /// Comma-separated formats: md, csv, json, html, xlsx, charts (SVG and PNG per statement).
    #[arg(long, value_delimiter = ',', default_value = "md,csv,json,html,xlsx,charts", value_parser = crate::report::ReportFormat::parse)]
    pub formats: Vec<crate::report::ReportFormat>,
    /// Build the report from the store as it was at a catalog version or a time.
    #[arg(long, value_parser = AsOf::parse)]
    pub as_of: Option<AsOf>,
    /// Add a breakdown of the gap by a segment column (repeatable or comma-separated):
    /// breakdown.csv / breakdown.json, and a table in trend.md and index.html.
    #[arg(long = "by", value_name = "SEGMENT", value_delimiter = ',')]
    pub by: Vec<String>,
    /// Add the change of every gap since this wave (a wave id of the report).
    #[arg(long, value_name = "WAVE")]
    pub baseline: Option<String>,
    /// The report's title (default: "A vs B: agreement gap by wave").
    #[arg(long)]
    pub title: Option<String>,
    /// A line under the title.
    #[arg(long)]
    pub subtitle: Option<String>,
    /// Where the data come from (shown with the notes).
    #[arg(long)]
    pub source: Option<String>,
    /// Who publishes the report (shown under the title).
    #[arg(long)]
    pub byline: Option<String>,
    /// Notes in Markdown, read from this file.
    #[arg(long, value_name = "PATH")]
    pub notes: Option<PathBuf>,
    /// The label of a wave's column: --wave-label ID=LABEL (repeatable).
    #[arg(long = "wave-label", value_name = "ID=LABEL", value_parser = label_pair)]
    pub wave_labels: Vec<(String, String)>,
    /// The label of a group: --group-label ID=LABEL (repeatable).
    #[arg(long = "group-label", value_name = "ID=LABEL", value_parser = label_pair)]
    pub group_labels: Vec<(String, String)>,
    /// The label of a --by segment: --segment-label NAME=LABEL (repeatable).
    #[arg(long = "segment-label", value_name = "NAME=LABEL", value_parser = label_pair)]
    pub segment_labels: Vec<(String, String)>,
    /// Statement ids shown first, in this order (comma-separated).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub statement_order: Vec<String>,
}

/// Parses `ID=LABEL`.
fn label_pair(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
            Ok((k.trim().to_string(), v.trim().to_string()))
        }
        _ => Err(format!("{s:?} is not of the form ID=LABEL")),
    }
}

/// Sets up logging on stderr (every line redacted): text or JSON lines; `verbose`
/// raises the level.
pub fn init_logging(format: LogFormat, verbose: u8) {
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

/// Memory freed by the C libraries (zstd's compression contexts and their buffers) is
/// returned to the system: Rust's own allocations go to mimalloc ([`crate::alloc`]),
/// theirs to glibc's malloc. By default glibc raises its threshold for mapping large
/// blocks each time such a block is freed, so later large blocks come from the heap,
/// and it keeps freed heap (up to twice that threshold, tens of MiB) unreturned. A fixed
/// 1 MiB trim threshold (which also fixes the mmap threshold at 128 KiB) returns it; it
/// kept the peak RSS of the 16M-respondent wave at 218 MiB (265 without) when glibc
/// served every allocation (BENCHMARKS.md, third round), and the load figures with
/// mimalloc are measured with it. Only commands that load waves set it. With another C
/// library this does nothing.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets malloc's parameters; called before any other thread runs.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 20);
    }
}

/// A panic (in gaptrack or a dependency, e.g. a runtime shut down under a full disk) is
/// not printed as Rust's message: it is logged at debug level, and the command's error,
/// one line as always, says what failed.
pub fn quiet_panics() {
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

impl Cli {
    /// The global options as the commands take them; `progress`: whether to draw
    /// progress bars on stderr.
    pub fn context(&self, progress: bool) -> Context {
        Context {
            store: self.store.clone(),
            variance: self.variance,
            cluster: self.cluster.clone(),
            progress,
        }
    }
}

impl From<QueryArgs> for QueryRequest {
    fn from(q: QueryArgs) -> Self {
        QueryRequest {
            sql: q.sql,
            file: q.file,
            format: q.format,
            output: q.output,
            params: q.params,
            as_of: q.as_of,
            min_base: q.min_base,
            min_base_on: q.min_base_on,
        }
    }
}

impl ReportArgs {
    /// The request of these arguments (the notes file read).
    fn request(self) -> Result<ReportRequest> {
        let notes = match &self.notes {
            None => None,
            Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
                Error::input(crate::error::InputError::new(
                    p.display().to_string(),
                    format!("cannot read the notes: {}", crate::spec::io_reason(&e)),
                ))
            })?),
        };
        Ok(ReportRequest {
            out: self.out,
            pair: self.pair,
            min_base: self.min_base,
            suppress_below: self.suppress_below,
            min_base_on: self.min_base_on,
            formats: self.formats,
            as_of: self.as_of,
            by: self.by,
            baseline: self.baseline,
            words: crate::report::model::Words {
                title: self.title,
                subtitle: self.subtitle,
                source: self.source,
                byline: self.byline,
                notes,
                wave_labels: self.wave_labels.into_iter().collect(),
                group_labels: self.group_labels.into_iter().collect(),
                segment_labels: self.segment_labels.into_iter().collect(),
                statement_order: self.statement_order,
            },
        })
    }
}

/// Runs the command of `cli` and prints its output on stdout.
pub async fn dispatch(cli: Cli) -> Result<()> {
    // Progress bars for text output on a terminal only.
    let progress =
        cli.log_format == LogFormat::Text && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let ctx = cli.context(progress);
    let text = match cli.command {
        Command::Ingest {
            specs,
            dry_run,
            strict,
        } => commands::ingest(&ctx, &specs, dry_run, strict).await?,
        Command::Run { config, strict } => commands::run(&ctx, &config, strict).await?,
        Command::Remove { wave } => commands::remove(&ctx, &wave).await?,
        Command::Report(r) => commands::report(&ctx, &r.request()?).await?,
        Command::Vacuum {
            retain_hours,
            dry_run,
            force,
        } => commands::vacuum(&ctx, retain_hours, dry_run, force).await?,
        Command::Waves { format } => {
            return output::stdout_write(&commands::waves(&ctx, format).await?)
        }
        Command::History { format } => {
            return output::stdout_write(&commands::history(&ctx, format).await?)
        }
        Command::Serve(s) => {
            return crate::serve::run(s, &ctx.store_url(), ctx.variance.unwrap_or_default()).await
        }
        Command::Cluster(c) => return crate::cluster::run(c).await,
        Command::Shell(s) => {
            return crate::shell::run(s, &ctx.store_url(), ctx.variance.unwrap_or_default()).await
        }
        Command::Query(q) => {
            let q = QueryRequest::from(q);
            let results = commands::query(&ctx, &q).await?;
            return output::write_results(q.output.as_deref(), q.format, results).await;
        }
    };
    output::stdout_write(text.as_bytes())
}
