//! `gaptrack history`: the commits of the store.

use super::{open_existing, output, Context};
use crate::error::Result;
use crate::sql::query::{self, OutputFormat};

/// The commits of the store (loads, replacements, removals), rendered in `format`.
pub async fn history(ctx: &Context, format: OutputFormat) -> Result<Vec<u8>> {
    let store = open_existing(&ctx.store_url()).await?;
    let h = crate::catalog::history(&store).await?;
    let batch = output::history_batch(&h)?;
    query::render(format, &batch.schema(), &[batch])
}
