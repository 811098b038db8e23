//! `gaptrack run`: the scheduled job of a pipeline config.

use std::path::Path;

use super::{output, Context, DEFAULT_STORE};
use crate::error::Result;
use crate::ingest::IngestOptions;
use crate::store::Store;

/// Runs the job of the config at `config` (see [`crate::pipeline`]): ingests every new
/// or changed wave, then publishes the report; returns the lines describing each wave,
/// the report's files and its trend tables as text.
/// With `strict`, warnings are errors (as `ingest --strict`).
pub async fn run(ctx: &Context, config: &Path, strict: bool) -> Result<String> {
    let mut cfg = crate::pipeline::load(config)?;
    if let (Some(v), Some(r)) = (ctx.variance, cfg.report.as_mut()) {
        r.settings.variance = v;
    }
    if ctx.cluster.is_some() {
        cfg.cluster = ctx.cluster.clone();
    }
    let url = ctx
        .store
        .clone()
        .or(cfg.store.clone())
        .unwrap_or_else(|| DEFAULT_STORE.into());
    let store = Store::open(&url)?;
    let options = IngestOptions {
        dry_run: false,
        progress: ctx.progress,
        strict,
    };
    let out = crate::pipeline::run(&cfg, &store, &options).await?;
    let mut text = output::describe_outcomes(&out.waves);
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
    Ok(text)
}
