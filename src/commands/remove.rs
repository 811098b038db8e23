//! `gaptrack remove`: drop a wave.

use super::{open_existing, Context};
use crate::error::Result;

/// Drops the wave `wave` (one atomic commit); returns the line saying so.
pub async fn remove(ctx: &Context, wave: &str) -> Result<String> {
    let store = open_existing(&ctx.store_url()).await?;
    crate::ingest::remove(&store, wave).await?;
    Ok(format!("{wave}: removed\n"))
}
