//! `gaptrack vacuum`: delete what no commit needs any more.

use super::Context;
use crate::error::Result;
use crate::store::Store;

/// Deletes the rows of loads the catalog does not name, then the files no table
/// references, both only when older than `retain_hours` (see [`crate::vacuum`]);
/// returns what was (or with `dry_run`, would be) removed.
pub async fn vacuum(
    ctx: &Context,
    retain_hours: u64,
    dry_run: bool,
    force: bool,
) -> Result<String> {
    let store = Store::open(&ctx.store_url())?;
    // A first load killed before its catalog commit leaves data tables without a
    // catalog: vacuum is what removes them.
    let mut any = false;
    for t in crate::store::DATA_TABLES {
        any = any || store.has_table(t).await?;
    }
    if !any {
        store.require_existing().await?;
    }
    let out = crate::vacuum::vacuum(&store, retain_hours, dry_run, force).await?;
    Ok(crate::vacuum::describe(&out))
}
