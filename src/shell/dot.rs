//! The shell's dot commands, and the names its Tab completion offers.

use std::path::PathBuf;

use super::{Flow, Shell};
use crate::error::{Error, Result};
use crate::sql::query::OutputFormat;
use crate::sql::Session;

const HELP: &str = "\
.tables              the tables and views
.schema NAME         the columns of a table or view, with their types
.format FORMAT       print results as table (default), csv or json
.output [FILE]       write results to FILE (created or emptied); without FILE, to the screen
.timer on|off        print each statement's run time
.help                this list
.quit, .exit         leave the shell (also Ctrl-D)
Statements end with ; and may span lines. Ctrl-C clears the line or stops a running statement.
";

/// Table, view, column and function names of the session, for Tab completion.
pub async fn completion_words(session: &Session) -> Vec<String> {
    let mut words = session.table_names();
    for name in session.table_names() {
        if let Ok(t) = session.ctx.table(name.as_str()).await {
            words.extend(t.schema().fields().iter().map(|f| f.name().clone()));
        }
    }
    words.extend(session.ctx.state().scalar_functions().keys().cloned());
    words.extend(session.ctx.state().aggregate_functions().keys().cloned());
    words.extend(session.ctx.state().window_functions().keys().cloned());
    words.sort();
    words.dedup();
    words
}

impl Shell {
    /// Runs a dot command (one line).
    pub(super) async fn dot(&mut self, line: &str) -> Result<Flow> {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or_default();
        let arg = words.next();
        if let Some(extra) = words.next() {
            return Err(Error::Usage(format!("{command}: unexpected {extra:?}")));
        }
        match (command, arg) {
            (".quit" | ".exit", None) => return Ok(Flow::Quit),
            (".help", None) => eprint!("{HELP}"),
            (".tables", None) => {
                self.run_statement(
                    "SELECT table_name AS name, lower(table_type) AS kind \
                     FROM information_schema.tables WHERE table_schema = 'public' \
                     ORDER BY table_name",
                )
                .await?;
            }
            (".schema", Some(name)) => {
                if !self.session.has_table(name) {
                    return Err(Error::Query(format!(
                        "no table or view {name:?}{}",
                        crate::sql::query::suggest(name, &self.session)
                    )));
                }
                self.run_statement(&format!(
                    "SELECT column_name AS column, data_type AS type, is_nullable AS nullable \
                     FROM information_schema.columns \
                     WHERE table_schema = 'public' AND table_name = {} \
                     ORDER BY ordinal_position",
                    crate::sql::quote_lit(name)
                ))
                .await?;
            }
            (".format", Some(f)) => {
                self.format = match f {
                    "table" => OutputFormat::Table,
                    "csv" => OutputFormat::Csv,
                    "json" => OutputFormat::Json,
                    _ => return Err(Error::Usage(format!(".format {f}: use table, csv or json"))),
                }
            }
            (".output", file) => self.set_output(file)?,
            (".timer", Some(v)) => {
                self.timer = match v {
                    "on" => true,
                    "off" => false,
                    _ => return Err(Error::Usage(format!(".timer {v}: use on or off"))),
                }
            }
            _ => {
                return Err(Error::Usage(format!(
                    "unknown or incomplete command {line:?} (.help lists the commands)"
                )))
            }
        }
        Ok(Flow::Go)
    }

    fn set_output(&mut self, file: Option<&str>) -> Result<()> {
        self.output = match file {
            None => None,
            Some(f) => {
                let path = PathBuf::from(f);
                let file = std::fs::File::create(&path)
                    .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
                Some(file)
            }
        };
        Ok(())
    }
}
