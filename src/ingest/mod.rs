//! Loading waves: every spec and source is validated before anything is committed.
//! A microdata wave without rim weighting is validated and written in one pass: its
//! `responses` files are staged under a fresh load id (no commit names them) and removed
//! again if any wave of the command is invalid. Then, wave by wave, the staged files are
//! committed as one append, the small tables are written, and the catalog commit (the
//! one atomic switch that makes the wave visible) is made; the rows of the load it
//! replaced are dropped.
//!
//! The phases, a file each:
//! - [`orchestrate`]: the order of it all ([`ingest_checked`]): resolve and validate
//!   every wave, stage, then commit wave by wave; what a command that stops part-way says.
//! - [`resolve`]: a spec's source made readable (a store URL fetched) and hashed, and the
//!   validation pass of a wave that is not staged in the same pass.
//! - [`stage`]: the `responses` files of a load written but not committed (the reader
//!   and encoder threads, the progress bar), and removed again when not wanted.
//! - [`commit`]: the Delta commits of a wave: `responses`, the small tables (the
//!   `statements` rows are built in [`commit::statement_rows`]), then the catalog.
//! - [`outcome`]: what happened to each wave ([`Outcome`], built by [`outcome::summarize`]).
//! - [`panel`]: the respondents a load shares with other waves (`panelstats`), matched
//!   when it is committed; [`idfile`] writes the load's `respondent_ids` file.
//! - [`append`]: the add actions and commit of files a load wrote (`responses`,
//!   `respondent_ids`), and how a commit whose answer was lost is recognised.
//! - [`remove`](mod@remove): dropping a wave.
//!
//! Readers of each source format live in [`read`]; rim weighting's collector in
//! [`weights`]; the Parquet encoder of `responses` files in [`longfile`]; the leases
//! that keep `vacuum` off a load in progress in [`lease`].

mod append;
mod commit;
mod idfile;
pub mod lease;
pub mod longfile;
mod orchestrate;
pub mod outcome;
pub mod panel;
pub mod read;
mod remove;
mod resolve;
pub mod scores;
mod stage;
pub mod weights;
pub mod wording;

use std::collections::HashMap;
use std::path::PathBuf;

use crate::error::{Error, InputError, Invalid, Result};
use crate::spec::WaveSpec;
use crate::store::Store;

pub use commit::{cleanup_load, writer_properties};
pub use orchestrate::{ingest_checked, IngestOptions};
pub use outcome::{Outcome, Status};
pub use remove::remove;

/// Parses every spec file; all problems of all specs are reported together.
pub fn load_specs(paths: &[PathBuf]) -> Result<Vec<WaveSpec>> {
    let (specs, invalid) = load_specs_lenient(paths)?;
    match invalid {
        Some(i) => Err(Error::Invalid(i)),
        None => Ok(specs),
    }
}

/// Parses every spec; returns the valid ones and the problems of the others, so that a
/// command can validate the data of the valid waves too and name every problem at once.
pub fn load_specs_lenient(paths: &[PathBuf]) -> Result<(Vec<WaveSpec>, Option<Invalid>)> {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    let mut total = 0;
    let mut seen: HashMap<String, String> = HashMap::new();
    for p in paths {
        match crate::spec::load(p) {
            Ok(s) => {
                if let Some(prev) = seen.insert(s.wave.clone(), s.spec_path.clone()) {
                    total += 1;
                    let mut e = InputError::new(
                        &s.spec_path,
                        format!("wave {:?} is also defined by {prev}; a wave id may appear once per command", s.wave),
                    )
                    .column("wave");
                    e.line = s.wave_line;
                    errors.push(e);
                }
                specs.push(s);
            }
            Err(Error::Invalid(i)) => {
                total += i.total;
                errors.extend(i.errors);
            }
            Err(e) => return Err(e),
        }
    }
    let invalid = (total > 0).then_some(Invalid { errors, total });
    Ok((specs, invalid))
}

/// Loads the specs at `paths` and ingests them: every spec and every wave's data is
/// validated before anything is written, and all problems are reported together.
pub async fn ingest_paths(
    store: &Store,
    paths: &[PathBuf],
    options: &IngestOptions,
) -> Result<Vec<Outcome>> {
    let (specs, invalid) = load_specs_lenient(paths)?;
    ingest_checked(store, specs, invalid, options).await
}

/// Validates and loads waves. With `dry_run` only validates (and still reports which
/// waves are unchanged). Any invalid wave: nothing is written, every problem is returned.
pub async fn ingest(store: &Store, specs: Vec<WaveSpec>, dry_run: bool) -> Result<Vec<Outcome>> {
    let options = IngestOptions {
        dry_run,
        ..IngestOptions::default()
    };
    ingest_checked(store, specs, None, &options).await
}
