//! Removing a wave: one catalog commit, then its rows are dropped.

use tracing::info;

use super::commit::cleanup_load;
use super::{lease, stage::new_load_id};
use crate::catalog;
use crate::error::{Error, InputError, Result};
use crate::store::Store;

/// Removes a wave: one catalog commit, then its rows are dropped.
pub async fn remove(store: &Store, wave: &str) -> Result<()> {
    let cat = catalog::current(store).await?;
    let Some(entry) = cat.entries.iter().find(|e| e.wave == wave) else {
        let ids: Vec<&str> = cat.entries.iter().map(|e| e.wave.as_str()).collect();
        return Err(Error::input(InputError::new(
            &store.display,
            format!(
                "wave {wave:?} is not loaded (loaded waves: {})",
                if ids.is_empty() {
                    "none".to_string()
                } else {
                    ids.join(", ")
                }
            ),
        )));
    };
    // Holds the removed load against `vacuum` while its rows are cleaned up here.
    let lease = lease::Lease::take(store, wave, &new_load_id(wave), Some(&entry.load_id)).await?;
    let result = catalog::remove_entry(store, wave, &entry.load_id).await;
    if result.is_ok() {
        info!(event = "removed", wave, "wave {wave} removed");
        cleanup_load(store, wave, &entry.load_id).await;
    }
    lease.release().await;
    result.map(|_| ())
}
