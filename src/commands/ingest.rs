//! `gaptrack ingest`: validate and load waves.

use std::path::PathBuf;

use super::{output, Context};
use crate::error::Result;
use crate::ingest::{self, IngestOptions};
use crate::store::Store;

/// Validates the waves of the spec files `specs` and loads them (one atomic commit
/// each), or with `dry_run` only validates; returns the lines describing each wave.
/// With `strict`, warnings are errors (see [`IngestOptions::strict`]).
pub async fn ingest(
    ctx: &Context,
    specs: &[PathBuf],
    dry_run: bool,
    strict: bool,
) -> Result<String> {
    let (specs, problems) = ingest::load_specs_lenient(specs)?;
    let store = Store::open(&ctx.store_url())?;
    let options = IngestOptions {
        dry_run,
        progress: ctx.progress,
        strict,
    };
    let outcomes = ingest::ingest_checked(&store, specs, problems, &options).await?;
    Ok(output::describe_outcomes(&outcomes))
}
