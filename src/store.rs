//! The store: one URL (local path, `file://`, `memory://`, `s3://`, `az://`/`abfs://`,
//! `gs://`) behind one `Arc<dyn ObjectStore>`, holding gaptrack's Delta tables.
//!
//! Tables (each a Delta table under the store root):
//! - `waves`: the catalog, one row per loaded wave. Its commits are the linearization
//!   points of the store: a wave becomes visible, is replaced or removed in exactly one
//!   catalog commit.
//! - `responses`, `cellstats`, `segstats`, `statements`: data tables, partitioned by `wave` and
//!   `load_id`. A load appends its rows under a fresh `load_id` first (invisible, since
//!   readers only see the load ids the catalog names), then commits the catalog, then
//!   deletes the rows of the load it replaced.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use deltalake::logstore::{
    default_logstore, logstore_factories, LogStore, LogStoreFactory, StorageConfig,
};
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError, ObjectStore};
use object_store::memory::InMemory;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStoreExt, PutPayload};
use url::Url;

use crate::error::{Error, InputError, Result};

pub const RESPONSES: &str = "responses";
pub const CELLSTATS: &str = "cellstats";
pub const SEGSTATS: &str = "segstats";
pub const STATEMENTS: &str = "statements";
pub const WAVES: &str = "waves";
/// Data tables, in the order a load writes them.
pub const DATA_TABLES: [&str; 4] = [RESPONSES, CELLSTATS, SEGSTATS, STATEMENTS];

/// A store location and the object store that serves it.
#[derive(Clone)]
pub struct Store {
    /// Root URL of the store, always ending in `/`.
    pub url: Url,
    /// As the user wrote it (for messages).
    pub display: String,
    /// Object store rooted at the scheme's root (bucket, container, `/`).
    root: Arc<dyn ObjectStore>,
    /// Path of the store root inside `root`.
    prefix: ObjPath,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.display)
    }
}

fn memory_store() -> Arc<dyn ObjectStore> {
    static MEM: OnceLock<Arc<dyn ObjectStore>> = OnceLock::new();
    MEM.get_or_init(|| Arc::new(InMemory::new())).clone()
}

#[derive(Debug, Default)]
struct CloudLogStoreFactory;

impl LogStoreFactory for CloudLogStoreFactory {
    fn with_options(
        &self,
        prefixed_store: deltalake::logstore::ObjectStoreRef,
        root_store: deltalake::logstore::ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> deltalake::DeltaResult<Arc<dyn LogStore>> {
        // Commits use conditional PUT (`PutMode::Create`), which S3, Azure and GCS all
        // support natively: no lock service and no unsafe rename is needed.
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

fn register_cloud_logstores() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let reg = logstore_factories();
        for scheme in ["s3", "s3a", "az", "abfs", "abfss", "azure", "gs"] {
            let url = Url::parse(&format!("{scheme}://")).expect("scheme url");
            reg.entry(url)
                .or_insert_with(|| Arc::new(CloudLogStoreFactory));
        }
    });
}

fn invalid_url(display: &str, why: impl std::fmt::Display) -> Error {
    Error::input(
        InputError::new(display, format!("not a usable store URL: {why}")).column("--store"),
    )
}

fn retry_config() -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: 5,
        retry_timeout: std::time::Duration::from_secs(120),
        backoff: object_store::BackoffConfig {
            init_backoff: std::time::Duration::from_millis(100),
            max_backoff: std::time::Duration::from_secs(5),
            base: 2.0,
        },
    }
}

impl Store {
    /// Parses a store URL or path (CONTRACT §2). Credentials come from the environment of
    /// each cloud and are never printed.
    pub fn open(location: &str) -> Result<Store> {
        register_cloud_logstores();
        let display = location.to_string();
        let trimmed = location.trim();
        if trimmed.is_empty() {
            return Err(invalid_url(&display, "it is empty"));
        }
        let url = if trimmed.contains("://") {
            let mut u = Url::parse(trimmed).map_err(|e| invalid_url(&display, e))?;
            if !u.path().ends_with('/') {
                let p = format!("{}/", u.path());
                u.set_path(&p);
            }
            u
        } else {
            let abs = std::path::absolute(trimmed).map_err(|e| invalid_url(&display, e))?;
            let mut u = Url::from_directory_path(&abs)
                .map_err(|_| invalid_url(&display, "not an absolute path"))?;
            if !u.path().ends_with('/') {
                let p = format!("{}/", u.path());
                u.set_path(&p);
            }
            u
        };
        let prefix = ObjPath::from_url_path(url.path()).map_err(|e| invalid_url(&display, e))?;
        let root: Arc<dyn ObjectStore> = match url.scheme() {
            "file" => Arc::new(object_store::local::LocalFileSystem::new()),
            "memory" => memory_store(),
            "s3" | "s3a" => {
                if url.host_str().unwrap_or("").is_empty() {
                    return Err(invalid_url(&display, "an s3 URL needs a bucket: s3://bucket/prefix"));
                }
                let b = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .with_retry(retry_config())
                    .build()
                    .map_err(|e| invalid_url(&display, redact(&e.to_string())))?;
                Arc::new(b)
            }
            "az" | "abfs" | "abfss" | "azure" => {
                if url.host_str().unwrap_or("").is_empty() {
                    return Err(invalid_url(&display, "an Azure URL needs a container: az://container/prefix"));
                }
                let b = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url.as_str())
                    .with_retry(retry_config())
                    .build()
                    .map_err(|e| invalid_url(&display, redact(&e.to_string())))?;
                Arc::new(b)
            }
            "gs" => {
                if url.host_str().unwrap_or("").is_empty() {
                    return Err(invalid_url(&display, "a gs URL needs a bucket: gs://bucket/prefix"));
                }
                let b = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(url.as_str())
                    .with_retry(retry_config())
                    .build()
                    .map_err(|e| invalid_url(&display, redact(&e.to_string())))?;
                Arc::new(b)
            }
            other => {
                return Err(invalid_url(
                    &display,
                    format!("unsupported scheme {other:?} (use a path, file://, memory://, s3://, az://, abfs://, gs://)"),
                ))
            }
        };
        Ok(Store {
            url,
            display,
            root,
            prefix,
        })
    }

    /// `true` for a store on the local file system.
    pub fn is_local(&self) -> bool {
        self.url.scheme() == "file"
    }

    pub fn table_url(&self, name: &str) -> Url {
        self.url.join(&format!("{name}/")).expect("table url")
    }

    /// The object store rooted at the scheme root, and the store's path inside it.
    pub fn object_store(&self) -> (Arc<dyn ObjectStore>, ObjPath) {
        (self.root.clone(), self.prefix.clone())
    }

    /// Path of `rel` (slash-separated) inside the root object store.
    pub fn path(&self, rel: &str) -> ObjPath {
        let mut p = self.prefix.clone();
        for part in rel.split('/').filter(|s| !s.is_empty()) {
            p = p.clone().join(part);
        }
        p
    }

    fn builder(&self, name: &str) -> Result<DeltaTableBuilder> {
        let url = self.table_url(name);
        let b = DeltaTableBuilder::from_url(url.clone())
            .map_err(|e| Error::delta(format!("{} table {name}", self.display), e))?
            .with_storage_backend(self.root.clone(), url);
        Ok(b)
    }

    /// An unloaded handle on a table (for creating it).
    pub fn table_handle(&self, name: &str) -> Result<DeltaTable> {
        self.builder(name)?
            .build()
            .map_err(|e| Error::delta(format!("{} table {name}", self.display), e))
    }

    /// Loads a table at its latest version (or at `version`); `None` if it does not exist.
    pub async fn load(&self, name: &str, version: Option<i64>) -> Result<Option<DeltaTable>> {
        let mut b = self.builder(name)?;
        if let Some(v) = version {
            b = b.with_version(v as _);
        }
        match b.load().await {
            Ok(t) => Ok(Some(t)),
            Err(DeltaTableError::NotATable(_)) => Ok(None),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) if version.is_some() => Err(Error::Usage(format!(
                "table {name} of store {} has no version {}: {}",
                self.display,
                version.unwrap_or_default(),
                redact(&e.to_string())
            ))),
            Err(e) => Err(self.unreachable(name, e)),
        }
    }

    /// Loads a table as of a point in time (the latest version committed at or before it).
    pub async fn load_at_time(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<DeltaTable>> {
        let Some(mut t) = self.load(name, None).await? else {
            return Ok(None);
        };
        match t.load_with_datetime(at).await {
            Ok(()) => Ok(Some(t)),
            Err(DeltaTableError::NotATable(_)) => Ok(None),
            Err(e) => {
                // The table did not exist yet at that time.
                let msg = e.to_string();
                if msg.contains("earliest")
                    || msg.contains("Invalid version")
                    || msg.contains("not found")
                {
                    Ok(None)
                } else {
                    Err(self.unreachable(name, e))
                }
            }
        }
    }

    fn unreachable(&self, name: &str, e: DeltaTableError) -> Error {
        Error::Other(format!(
            "cannot read table {name} of store {}: {}",
            self.display,
            redact(&e.to_string())
        ))
    }

    /// Writes a small object (a report file) at `rel` under `base` (a store URL).
    pub async fn put(&self, rel: &str, bytes: Vec<u8>) -> Result<()> {
        let path = self.path(rel);
        self.root
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|e| Error::object_store(format!("writing {}{rel}", self.url), e))?;
        Ok(())
    }

    /// Reads an object at `rel`.
    pub async fn get(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(rel);
        match self.root.get(&path).await {
            Ok(r) => {
                let b = r
                    .bytes()
                    .await
                    .map_err(|e| Error::object_store(format!("reading {}{rel}", self.url), e))?;
                Ok(Some(b.to_vec()))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::object_store(format!("reading {}{rel}", self.url), e)),
        }
    }
}

/// A table location that does not exist (yet).
fn is_missing(e: &DeltaTableError) -> bool {
    let m = e.to_string();
    m.contains("Path does not exist")
        || m.contains("No files in log segment")
        || m.contains("not found")
}

/// Removes anything that looks like a credential from a message before it is shown.
pub fn redact(msg: &str) -> String {
    let mut out = msg.to_string();
    for key in [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_ACCESS_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "AZURE_CLIENT_SECRET",
        "GOOGLE_SERVICE_ACCOUNT_KEY",
    ] {
        if let Ok(v) = std::env::var(key) {
            if v.len() >= 4 {
                out = out.replace(&v, "***");
            }
        }
    }
    out
}

/// Storage options as deltalake wants them (unused keys are fine).
pub fn no_options() -> HashMap<String, String> {
    HashMap::new()
}
