//! Load leases: how `vacuum` tells a load in flight from one that was killed.
//!
//! Before a load writes its first data file it puts `_gaptrack/loads/<load_id>.json` in
//! the store, naming the wave, the load it replaces (if any), the host and the process.
//! While the load runs the object is rewritten every [`HEARTBEAT`]; once the load's
//! catalog commit is made (or given up) and the rows it replaced are cleaned up, the
//! object is deleted. A killed load leaves its lease behind: it stops being renewed.
//!
//! A lease holds its loads (the new one and the one it replaces) against `vacuum` while
//! it is *live*: written within [`STALE_AFTER`], and, when it names this host, its
//! process still running.

use std::time::Duration;

use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::store::Store;

/// Where the leases live, relative to the store root.
pub const LEASES: &str = "_gaptrack/loads";

/// How often a running load renews its lease.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// A lease not renewed for this long belongs to a load that is not running any more.
pub const STALE_AFTER: Duration = Duration::from_secs(600);

/// What a lease says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LeaseInfo {
    pub wave: String,
    pub load_id: String,
    /// The load this one replaces (its rows are cleaned up by this load).
    pub replaces: Option<String>,
    pub host: String,
    pub pid: u32,
    /// When the load started (ms since the epoch).
    pub started_ms: i64,
}

/// A lease held by this process; renewed until [`Lease::release`] (or drop).
pub struct Lease {
    store: Store,
    rel: String,
    renew: tokio::task::JoinHandle<()>,
}

/// This machine's name (empty when unknown).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default()
}

/// Whether process `pid` of this host is running: `None` when this system cannot tell.
pub fn process_running(pid: u32) -> Option<bool> {
    if !std::path::Path::new("/proc/self/stat").exists() {
        return None;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses; a zombie has exited.
        Ok(stat) => Some(
            stat.rsplit_once(')')
                .map(|(_, rest)| !matches!(rest.trim_start().chars().next(), Some('Z' | 'X')))
                .unwrap_or(true),
        ),
        Err(_) => Some(false),
    }
}

fn lease_rel(load_id: &str) -> String {
    format!("{LEASES}/{load_id}.json")
}

impl Lease {
    /// Puts the lease of a new load (before any of its data is written) and starts
    /// renewing it.
    pub async fn take(
        store: &Store,
        wave: &str,
        load_id: &str,
        replaces: Option<&str>,
    ) -> Result<Lease> {
        let info = LeaseInfo {
            wave: wave.to_string(),
            load_id: load_id.to_string(),
            replaces: replaces.map(str::to_string),
            host: host_name(),
            pid: std::process::id(),
            started_ms: chrono::Utc::now().timestamp_millis(),
        };
        let bytes = serde_json::to_vec(&info).map_err(|e| Error::Other(e.to_string()))?;
        let rel = lease_rel(load_id);
        store.put(&rel, bytes.clone()).await?;
        let renew = {
            let (store, rel) = (store.clone(), rel.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(HEARTBEAT).await;
                    if let Err(e) = store.put(&rel, bytes.clone()).await {
                        warn!(
                            event = "lease_renewal_failed",
                            "could not renew the load lease {rel}: {e}"
                        );
                    }
                }
            })
        };
        Ok(Lease {
            store: store.clone(),
            rel,
            renew,
        })
    }

    /// Stops renewing and deletes the lease: the load is over.
    pub async fn release(self) {
        self.renew.abort();
        let (root, _) = self.store.object_store();
        match root.delete(&self.store.path(&self.rel)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => debug!("could not remove the load lease {}: {e}", self.rel),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Not released (an error path): the lease is no longer renewed and goes stale.
        self.renew.abort();
    }
}

/// A lease found in the store, and whether it is live.
#[derive(Debug, Clone)]
pub struct Found {
    pub info: LeaseInfo,
    pub live: bool,
    /// Path relative to the store root.
    pub rel: String,
}

/// Every lease in the store.
pub async fn list(store: &Store) -> Result<Vec<Found>> {
    let (root, _) = store.object_store();
    let prefix = store.path(LEASES);
    let objects: Vec<object_store::ObjectMeta> = root
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(|e| Error::object_store(format!("listing {}{LEASES}", store.url), e))?;
    let now = chrono::Utc::now();
    let host = host_name();
    let mut out = Vec::new();
    for m in objects {
        let name = m.location.filename().unwrap_or_default().to_string();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let rel = lease_rel(stem);
        let bytes = match store.get(&rel).await? {
            Some(b) => b,
            None => continue, // released meanwhile
        };
        let Ok(info) = serde_json::from_slice::<LeaseInfo>(&bytes) else {
            continue;
        };
        let age = (now - m.last_modified).to_std().unwrap_or_default();
        let fresh = age < STALE_AFTER;
        let here_dead =
            !host.is_empty() && info.host == host && process_running(info.pid) == Some(false);
        out.push(Found {
            live: fresh && !here_dead,
            info,
            rel,
        });
    }
    Ok(out)
}

/// Removes a lease that is no longer live.
pub async fn remove(store: &Store, rel: &str) {
    let (root, _) = store.object_store();
    let _ = root.delete(&store.path(rel)).await;
}
