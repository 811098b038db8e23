//! `gaptrack waves`: the loaded waves.

use super::{open_existing, Context};
use crate::error::Result;
use crate::sql::query::{self, OutputFormat};
use crate::sql::{Session, Settings};

/// The loaded waves, oldest first, rendered in `format`.
pub async fn waves(ctx: &Context, format: OutputFormat) -> Result<Vec<u8>> {
    let store = open_existing(&ctx.store_url()).await?;
    let session = Session::open(&store, None, Settings::default()).await?;
    let (schema, batches) = query::run(
        &session,
        "SELECT wave, date, kind, respondents, source_sha256, loaded_at, title, source FROM waves ORDER BY date, wave",
        &[],
    )
    .await?;
    query::render(format, &schema, &batches)
}
