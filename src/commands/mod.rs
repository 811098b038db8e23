//! The commands of the command line, as library functions: each takes the global
//! options ([`Context`]) and its own arguments and returns what the command prints on
//! stdout (text, rendered rows, or a stream of rows for `query`). The command line
//! ([`crate::cli`]) parses arguments, calls one of these and prints the result; tests
//! call the same functions in-process. What they print is formatted in [`output`].

mod history;
mod ingest;
pub mod output;
mod query;
mod remove;
mod report;
mod run;
mod vacuum;
mod waves;

pub use history::history;
pub use ingest::ingest;
pub use query::{query, QueryRequest, Rows};
pub use remove::remove;
pub use report::{report, ReportRequest};
pub use run::run;
pub use vacuum::vacuum;
pub use waves::waves;

use crate::error::Result;
use crate::sql::Variance;
use crate::store::Store;

/// The store used when neither `--store` nor (for `run`) the config names one.
pub const DEFAULT_STORE: &str = "./warehouse";

/// The global options every command gets.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `--store`: [`DEFAULT_STORE`] when absent; for `run`, the config's `store` first.
    pub store: Option<String>,
    /// `--variance`: the default variance when absent; for `run`, the config's first.
    pub variance: Option<Variance>,
    /// `--cluster`: the Ballista scheduler that runs `query` and `report`; for `run`,
    /// the config's `cluster` when absent.
    pub cluster: Option<String>,
    /// Draw a progress bar on stderr while a wave is written.
    pub progress: bool,
}

impl Context {
    /// The store location of a command other than `run`.
    pub fn store_url(&self) -> String {
        self.store.clone().unwrap_or_else(|| DEFAULT_STORE.into())
    }

    /// Where `query` and `report` run their plans.
    pub fn engine(&self) -> crate::sql::Engine {
        crate::sql::Engine::of(self.cluster.as_deref())
    }
}

/// Opens the store of a command that reads it: where no store exists (a typo in the
/// URL), invalid input (exit 3) naming the location, instead of an empty answer.
async fn open_existing(location: &str) -> Result<Store> {
    let store = Store::open(location)?;
    store.require_existing().await?;
    Ok(store)
}
