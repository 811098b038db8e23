//! `gaptrack shell`: an interactive SQL shell over the read-only session `query` opens
//! (docs/commands.md). Statements end with `;` and may span lines; dot commands
//! (`.tables`, `.schema NAME`, `.format`, `.output`, `.timer`) take one line. Line
//! editing, history and Tab completion come from `rustyline`.
//!
//! When standard input is not a terminal (a script piped in), the shell reads it to the
//! end and stops at the first error, with that error's exit code.

mod dot;
mod helper;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor};

use crate::error::{Error, Result};
use crate::sql::query::{self, OutputFormat};
use crate::sql::{AsOf, Session, Settings, Variance};
use crate::store::Store;
pub use helper::SqlHelper;

const PROMPT: &str = "gaptrack> ";
const CONTINUE: &str = "      ...> ";

/// The arguments of `gaptrack shell`.
#[derive(Debug, Clone, clap::Args)]
pub struct ShellArgs {
    /// Read the store as it was at a catalog version or a time.
    #[arg(long, value_parser = AsOf::parse)]
    pub as_of: Option<AsOf>,
    /// Base below which `low_base` is true.
    #[arg(long, default_value_t = 30)]
    pub min_base: i64,
    /// Which base the thresholds compare with: n (respondents) or n_eff (effective base).
    #[arg(long, value_enum, default_value_t = crate::sql::BaseOn::N)]
    pub min_base_on: crate::sql::BaseOn,
    /// How results are printed at the start (`.format` changes it).
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

/// The shell's state between statements.
struct Shell {
    session: Session,
    format: OutputFormat,
    /// `.output FILE`: results go there instead of stdout.
    output: Option<std::fs::File>,
    timer: bool,
    /// Input from a terminal: Ctrl-C stops a running statement, not the shell.
    interactive: bool,
}

/// The history file: `GAPTRACK_HISTORY`, else `~/.gaptrack_history`; none without a
/// home directory.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GAPTRACK_HISTORY").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".gaptrack_history"))
}

/// Runs the shell on the store at `location` until end of input or `.quit`.
pub async fn run(args: ShellArgs, location: &str, variance: Variance) -> Result<()> {
    let store = Store::open(location)?;
    store.require_existing().await?;
    let settings = Settings {
        min_base: args.min_base,
        min_base_on: args.min_base_on,
        variance,
        ..Settings::default()
    };
    let session = Session::open(&store, args.as_of.clone(), settings).await?;
    let names = dot::completion_words(&session).await;
    let interactive = std::io::stdin().is_terminal();
    let mut shell = Shell {
        session,
        format: args.format,
        output: None,
        timer: false,
        interactive,
    };
    let config = Config::builder().auto_add_history(false).build();
    let mut editor: Editor<SqlHelper, DefaultHistory> =
        Editor::with_config(config).map_err(|e| Error::Other(format!("shell: {e}")))?;
    editor.set_helper(Some(SqlHelper::new(names)));
    let history = history_path().filter(|_| interactive);
    if let Some(h) = &history {
        // A first run has no history yet.
        let _ = editor.load_history(h);
    }
    if interactive {
        eprintln!("gaptrack shell: statements end with ;  .help for commands, .quit to leave");
    }
    let result = read_loop(&mut shell, &mut editor, interactive, history.as_deref()).await;
    if let Some(f) = &mut shell.output {
        let _ = f.flush();
    }
    result
}

async fn read_loop(
    shell: &mut Shell,
    editor: &mut Editor<SqlHelper, DefaultHistory>,
    interactive: bool,
    history: Option<&std::path::Path>,
) -> Result<()> {
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { PROMPT } else { CONTINUE };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Error::Other(format!("shell: reading input: {e}"))),
        };
        buffer.push_str(&line);
        buffer.push('\n');
        let text = buffer.trim();
        if text.is_empty() || !crate::sql::statements::is_complete(&buffer) {
            if crate::sql::statements::is_blank_text(&buffer) {
                buffer.clear();
            }
            continue;
        }
        let entry = std::mem::take(&mut buffer);
        let entry = entry.trim();
        if interactive {
            let _ = editor.add_history_entry(entry);
            if let Some(h) = history {
                let _ = editor.save_history(h);
            }
        }
        match shell.run_entry(entry).await {
            Ok(Flow::Go) => {}
            Ok(Flow::Quit) => break,
            Err(e) if interactive => eprintln!("error: {e}"),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Whether the shell goes on after an entry.
enum Flow {
    Go,
    Quit,
}

impl Shell {
    /// Runs one entry: a dot command, or one or more `;`-ended statements.
    async fn run_entry(&mut self, entry: &str) -> Result<Flow> {
        if entry.starts_with('.') {
            return self.dot(entry).await;
        }
        for statement in crate::sql::statements::split(entry)? {
            let started = Instant::now();
            let rows = self.run_statement(&statement).await?;
            if self.timer {
                eprintln!(
                    "Run Time: {:.3} s ({rows} rows)",
                    started.elapsed().as_secs_f64()
                );
            }
        }
        Ok(Flow::Go)
    }

    /// Runs a statement, printing its rows; returns how many.
    async fn run_statement(&mut self, sql: &str) -> Result<u64> {
        let (schema, mut stream) = query::stream(&self.session, sql, &[]).await?;
        let format = match self.format {
            // Parquet is for files; the shell prints a table instead.
            OutputFormat::Parquet => OutputFormat::Table,
            f => f,
        };
        let out: Box<dyn Write + Send> = match &self.output {
            Some(f) => Box::new(
                f.try_clone()
                    .map_err(|e| Error::io("the .output file", e))?,
            ),
            None => Box::new(std::io::stdout()),
        };
        let mut writer = crate::sql::output::RowWriter::new(format, schema, out)?;
        // A script (no terminal) is stopped by Ctrl-C as any program is.
        let interactive = self.interactive;
        let cancel = async move {
            match interactive {
                true => tokio::signal::ctrl_c().await,
                false => std::future::pending().await,
            }
        };
        tokio::pin!(cancel);
        loop {
            let batch = tokio::select! {
                b = futures::StreamExt::next(&mut stream) => b,
                _ = &mut cancel => return Err(Error::Query("the statement was cancelled".into())),
            };
            match batch {
                Some(b) => writer.write(&b.map_err(query::execution_error)?)?,
                None => break,
            }
        }
        let rows = writer.rows();
        writer.finish()?;
        Ok(rows)
    }
}
