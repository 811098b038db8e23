//! The store: one URL (local path, `file://`, `memory://`, `s3://`, `az://`/`abfs://`,
//! `gs://`) behind one `Arc<dyn ObjectStore>`, holding gaptrack's Delta tables.
//!
//! Tables (each a Delta table under the store root):
//! - `waves`: the catalog, one row per loaded wave. Its commits are the linearization
//!   points of the store: a wave becomes visible, is replaced or removed in exactly one
//!   catalog commit.
//! - `responses`, `cellstats`, `segstats`, `statements`, `weighting`: data tables, partitioned by `wave` and
//!   `load_id`. A load appends its rows under a fresh `load_id` first (invisible, since
//!   readers only see the load ids the catalog names), then commits the catalog, then
//!   deletes the rows of the load it replaced.
//!
//! Commits: every Delta commit writes the next log entry with a conditional PUT
//! (`PutMode::Create`: `If-None-Match: *` on S3 and Azure, `if-generation-match: 0` on
//! GCS, an atomic create on local disk), so two writers can never both write version
//! N; the loser gets a conflict. Catalog commits are compare-and-swap on the wave they
//! touch ([`crate::catalog::commit_entry`]); a lost race on another wave is retried by
//! [`commit_with_retries`], a lost race on the same wave is [`Error::Conflict`] (exit 4).
//!
//! Credentials come only from each cloud's environment variables and are never shown:
//! messages pass through [`redact`], log lines through [`RedactingStderr`], and URLs
//! that carry credentials are refused.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use deltalake::logstore::{
    default_logstore, logstore_factories, LogStore, LogStoreFactory, StorageConfig,
};
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError, ObjectStore};
use object_store::memory::InMemory;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStoreExt, PutPayload};
use tracing::info;
use url::Url;

use crate::error::{Error, InputError, Result};

pub const RESPONSES: &str = "responses";
pub const CELLSTATS: &str = "cellstats";
pub const SEGSTATS: &str = "segstats";
pub const STATEMENTS: &str = "statements";
pub const WEIGHTING: &str = "weighting";
pub const WAVES: &str = "waves";
/// Data tables, in the order a load writes them.
pub const DATA_TABLES: [&str; 5] = [RESPONSES, CELLSTATS, SEGSTATS, STATEMENTS, WEIGHTING];

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

/// How the cloud clients treat slow or failing requests. Defaults, each overridable by an
/// environment variable (whole seconds, or a count):
/// - `GAPTRACK_HTTP_TIMEOUT` (120): the whole of one request, body included; generous
///   enough for a data file of a large load on a slow link;
/// - `GAPTRACK_HTTP_CONNECT_TIMEOUT` (5): establishing a connection;
/// - `GAPTRACK_HTTP_RETRIES` (5): retries of a request that failed with a 5xx, 429 or
///   408 answer, a timeout or a broken connection (with exponential backoff, 100 ms
///   doubling up to 5 s, within 120 s in all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    pub timeout_secs: u64,
    pub connect_timeout_secs: u64,
    pub retries: usize,
}

impl HttpSettings {
    /// The settings from the environment; a value that is not a whole number is a usage
    /// error naming the variable.
    pub fn from_env() -> Result<HttpSettings> {
        fn var(key: &str, default: u64, min: u64) -> Result<u64> {
            match env_nonempty(key) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n >= min && n <= 86_400 => Ok(n),
                    _ => Err(Error::Usage(format!(
                        "{key}={v:?} is not valid: give a whole number from {min} to 86400"
                    ))),
                },
            }
        }
        Ok(HttpSettings {
            timeout_secs: var("GAPTRACK_HTTP_TIMEOUT", 120, 1)?,
            connect_timeout_secs: var("GAPTRACK_HTTP_CONNECT_TIMEOUT", 5, 1)?,
            retries: var("GAPTRACK_HTTP_RETRIES", 5, 0)? as usize,
        })
    }

    fn client_keys(&self) -> [(object_store::ClientConfigKey, String); 2] {
        [
            (
                object_store::ClientConfigKey::Timeout,
                format!("{}s", self.timeout_secs),
            ),
            (
                object_store::ClientConfigKey::ConnectTimeout,
                format!("{}s", self.connect_timeout_secs),
            ),
        ]
    }
}

fn retry_config(http: &HttpSettings) -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: http.retries,
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
        let display = redact_location(location);
        let url = parse_location(location, &display)?;
        let host = url.host_str().unwrap_or("").to_string();
        let root: Arc<dyn ObjectStore> = match url.scheme() {
            "file" => Arc::new(object_store::local::LocalFileSystem::new()),
            "memory" => memory_store(),
            "s3" | "s3a" => {
                if host.is_empty() {
                    return Err(invalid_url(
                        &display,
                        "an s3 URL needs a bucket: s3://bucket/prefix",
                    ));
                }
                let http = HttpSettings::from_env()?;
                let mut b = s3_builder(&url, &http);
                for (k, v) in http.client_keys() {
                    b = b.with_config(object_store::aws::AmazonS3ConfigKey::Client(k), v);
                }
                Arc::new(b.build().map_err(|e| build_error(&display, e))?)
            }
            "az" | "abfs" | "abfss" | "azure" => {
                if host.is_empty() {
                    return Err(invalid_url(
                        &display,
                        "an Azure URL needs a container: az://container/prefix",
                    ));
                }
                let http = HttpSettings::from_env()?;
                let mut b = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url.as_str())
                    .with_retry(retry_config(&http));
                for (k, v) in http.client_keys() {
                    b = b.with_config(object_store::azure::AzureConfigKey::Client(k), v);
                }
                Arc::new(b.build().map_err(|e| build_error(&display, e))?)
            }
            "gs" => {
                if host.is_empty() {
                    return Err(invalid_url(
                        &display,
                        "a gs URL needs a bucket: gs://bucket/prefix",
                    ));
                }
                let http = HttpSettings::from_env()?;
                let mut b = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(url.as_str())
                    .with_retry(retry_config(&http));
                for (k, v) in http.client_keys() {
                    b = b.with_config(object_store::gcp::GoogleConfigKey::Client(k), v);
                }
                Arc::new(b.build().map_err(|e| build_error(&display, e))?)
            }
            other => {
                return Err(invalid_url(
                    &display,
                    format!("unsupported scheme {other:?} (use a path, file://, memory://, s3://, az://, abfs://, gs://)"),
                ))
            }
        };
        Store::with_object_store(&url, display, root)
    }

    /// A store on an object store the caller configured (for embedding gaptrack, and for
    /// tests that must not read credentials from the process environment). `root` serves
    /// the scheme's root (the bucket or container); `url` names the store inside it.
    pub fn with_object_store(
        url: &Url,
        display: impl Into<String>,
        root: Arc<dyn ObjectStore>,
    ) -> Result<Store> {
        register_cloud_logstores();
        let display = display.into();
        let mut url = url.clone();
        if !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        let prefix = ObjPath::from_url_path(url.path()).map_err(|e| invalid_url(&display, e))?;
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

    /// The latest version of a table, from a listing of its log (no snapshot is read);
    /// `None` where the table does not exist.
    pub async fn latest_version(&self, name: &str) -> Result<Option<i64>> {
        use futures::TryStreamExt;
        let log = self.path(&format!("{name}/_delta_log"));
        let objects: Vec<_> = self
            .root
            .list(Some(&log))
            .try_collect()
            .await
            .map_err(|e| Error::object_store(format!("listing {}{name}", self.url), e))?;
        Ok(objects
            .iter()
            .filter_map(|o| {
                let file = o.location.filename()?;
                let stem = file.strip_suffix(".json")?;
                (stem.len() == 20).then(|| stem.parse::<i64>().ok()).flatten()
            })
            .max())
    }

    /// When the log file of one commit of a table was written (the time deltalake's
    /// time travel goes by); `None` where it does not exist.
    pub async fn commit_written_at(
        &self,
        name: &str,
        version: i64,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let path = self.path(&format!("{name}/_delta_log/{version:020}.json"));
        match self.root.head(&path).await {
            Ok(meta) => Ok(Some(meta.last_modified)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::object_store(
                format!("reading {}{name} version {version}", self.url),
                e,
            )),
        }
    }

    /// The `commitInfo` action of one commit of a table; `None` where the commit (or its
    /// log file) does not exist.
    pub async fn commit_info(&self, name: &str, version: i64) -> Result<Option<serde_json::Value>> {
        let Some(bytes) = self
            .get(&format!("{name}/_delta_log/{version:020}.json"))
            .await?
        else {
            return Ok(None);
        };
        Ok(bytes
            .split(|b| *b == b'\n')
            .filter_map(|line| serde_json::from_slice::<serde_json::Value>(line).ok())
            .find_map(|mut action| action.get_mut("commitInfo").map(serde_json::Value::take)))
    }

    /// Uploads a local file to `rel` under the store's root, in parts (a result of any
    /// size); the object appears only when the upload is complete.
    pub async fn put_file(&self, rel: &str, file: &std::path::Path) -> Result<()> {
        use std::io::Read;
        let path = self.path(rel);
        let what = || format!("writing {}{rel}", self.url);
        let upload = self
            .root
            .put_multipart(&path)
            .await
            .map_err(|e| Error::object_store(what(), e))?;
        let mut parts = object_store::WriteMultipart::new(upload);
        let mut f = std::fs::File::open(file)
            .map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
        let mut buf = vec![0u8; 8 << 20];
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
            if n == 0 {
                break;
            }
            parts
                .wait_for_capacity(4)
                .await
                .map_err(|e| Error::object_store(what(), e))?;
            parts.write(&buf[..n]);
        }
        parts
            .finish()
            .await
            .map_err(|e| Error::object_store(what(), e))?;
        Ok(())
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

    /// Whether the Delta table `name` exists here: its log holds a commit or a checkpoint.
    /// One LIST request, stopped at the first entry that qualifies.
    pub async fn has_table(&self, name: &str) -> Result<bool> {
        use futures::StreamExt;
        let log = self.path(&format!("{name}/_delta_log"));
        let mut entries = self.root.list(Some(&log));
        while let Some(e) = entries.next().await {
            let meta = match e {
                Ok(m) => m,
                Err(object_store::Error::NotFound { .. }) => return Ok(false),
                Err(e) => {
                    return Err(Error::object_store(
                        format!(
                            "listing {}/{name}/_delta_log",
                            self.display.trim_end_matches('/')
                        ),
                        e,
                    ))
                }
            };
            let file = meta.location.filename().unwrap_or("");
            let stem = file.split('.').next().unwrap_or("");
            let versioned = stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit());
            if versioned && (file.ends_with(".json") || file.contains(".checkpoint")) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Fails with invalid input (exit 3) naming the location unless a store exists here:
    /// its `waves` catalog table has been committed at least once. A store whose waves
    /// were all removed exists; a path or URL that never held one (a typo) does not.
    pub async fn require_existing(&self) -> Result<()> {
        if self.has_table(WAVES).await? {
            return Ok(());
        }
        Err(Error::input(
            InputError::new(
                &self.display,
                "no gaptrack store exists at this location (it holds no `waves` table); \
                 check --store or GAPTRACK_STORE, or load a wave there with `gaptrack ingest`",
            )
            .column("--store"),
        ))
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

// --- Optimistic commits ---------------------------------------------------------------

/// How one attempt of an optimistic commit failed.
#[derive(Debug)]
pub enum CommitError {
    /// Another writer committed first, and what it changed does not touch what this
    /// commit depends on: read the new state and try again.
    Retry(Error),
    /// Give up with this error (it may still be [`Error::Conflict`]: a conflict that a
    /// retry cannot resolve).
    Fail(Error),
}

impl From<Error> for CommitError {
    fn from(e: Error) -> Self {
        match e {
            Error::Conflict(_) => CommitError::Retry(e),
            other => CommitError::Fail(other),
        }
    }
}

/// Attempts of one optimistic commit before it gives up with a conflict (exit 4).
pub const COMMIT_ATTEMPTS: u32 = 10;

/// Runs `attempt` until it succeeds, fails for good, or [`COMMIT_ATTEMPTS`] attempts lost
/// a race against other writers. Between attempts it waits with exponential backoff
/// (50 ms doubling up to 2 s, plus jitter), about 10 s in all at most. Each retry is
/// logged as event `commit_retry`.
pub async fn commit_with_retries<T, F, Fut>(what: &str, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, CommitError>>,
{
    let mut delay = Duration::from_millis(50);
    let mut n = 1;
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(CommitError::Fail(e)) => return Err(e),
            Err(CommitError::Retry(e)) if n >= COMMIT_ATTEMPTS => {
                return Err(match e {
                    Error::Conflict(m) => {
                        Error::Conflict(format!("{m} (gave up after {n} attempts)"))
                    }
                    other => other,
                })
            }
            Err(CommitError::Retry(_)) => {
                let wait = delay + jitter(delay);
                info!(
                    event = "commit_retry",
                    attempt = n,
                    what,
                    wait_ms = wait.as_millis() as u64,
                    "{what}: another writer committed first; retrying in {} ms",
                    wait.as_millis()
                );
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(Duration::from_secs(2));
                n += 1;
            }
        }
    }
}

/// A random duration in `[0, max)`, so that writers that collided do not collide again.
fn jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let r = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let ms = max.as_millis().max(1) as u64;
    Duration::from_millis(r % ms)
}

// --- Locations ---------------------------------------------------------------------------

/// `data/../warehouse` as `warehouse`, `./x` as `x`: the path as written, normalised
/// lexically (links are not followed, so the result names what the user wrote).
pub fn normalize_path(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // `..` at the start of a relative path stays; above the root is the root.
                None | Some(Component::ParentDir) => out.push(".."),
                Some(_) => {}
            },
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Parses a location into a URL ending in `/`. Cloud URLs may not carry credentials (a
/// password or a query string such as a SAS token): those belong in the environment.
fn parse_location(location: &str, display: &str) -> Result<Url> {
    let trimmed = location.trim();
    if trimmed.is_empty() {
        return Err(invalid_url(display, "it is empty"));
    }
    let mut url = if trimmed.contains("://") {
        let u = Url::parse(trimmed).map_err(|e| invalid_url(display, redact(&e.to_string())))?;
        if u.password().is_some() || u.query().is_some() || u.fragment().is_some() {
            return Err(invalid_url(
                display,
                "credentials or options in the URL are not accepted; give them in the \
                 environment (AWS_*, AZURE_STORAGE_*, GOOGLE_*)",
            ));
        }
        u
    } else {
        let abs = std::path::absolute(trimmed).map_err(|e| invalid_url(display, e))?;
        // Object store paths may not contain `..`.
        Url::from_directory_path(normalize_path(&abs))
            .map_err(|_| invalid_url(display, "not an absolute path"))?
    };
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

/// A location as it may be shown: a password, query string or fragment is replaced by
/// `***`, and known credentials are redacted.
pub fn redact_location(location: &str) -> String {
    if !location.contains("://") {
        return redact(location);
    }
    match Url::parse(location.trim()) {
        Ok(mut u) => {
            let mut changed = false;
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
                changed = true;
            }
            if u.query().is_some() {
                u.set_query(Some("***"));
                changed = true;
            }
            if u.fragment().is_some() {
                u.set_fragment(Some("***"));
                changed = true;
            }
            if changed {
                redact(u.as_str())
            } else {
                redact(location)
            }
        }
        Err(_) => {
            // Keep the scheme and what follows the last `@`, drop any query.
            let (scheme, rest) = location.split_once("://").unwrap_or(("", location));
            let rest = rest.split(['?', '#']).next().unwrap_or("");
            let rest = match rest.rsplit_once('@') {
                Some((_, host)) => format!("***@{host}"),
                None => rest.to_string(),
            };
            redact(&format!("{scheme}://{rest}"))
        }
    }
}

fn build_error(display: &str, e: object_store::Error) -> Error {
    invalid_url(display, redact(&e.to_string()))
}

/// The S3 client: everything from the standard AWS environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
/// `AWS_ALLOW_HTTP`, …), commits by conditional PUT (`If-None-Match: *`).
fn s3_builder(url: &Url, http: &HttpSettings) -> object_store::aws::AmazonS3Builder {
    use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
    let mut b = AmazonS3Builder::from_env();
    // `from_env` takes both AWS_ENDPOINT (object_store's name) and AWS_ENDPOINT_URL (the
    // AWS SDKs' name) in no defined order; the SDKs' name wins. AWS_ENDPOINT_URL_S3 is
    // kept apart and wins over both, as in the SDKs.
    if let Some(endpoint) = env_nonempty("AWS_ENDPOINT_URL") {
        b = b.with_endpoint(endpoint);
    }
    // Delta commits are `PutMode::Create`, sent as a PUT with `If-None-Match: *`: S3
    // (since 2024), MinIO, Ceph, R2 and moto support it. It is object_store's default;
    // it is set here so that a commit can never fall back to an unsafe overwrite.
    if env_nonempty("AWS_CONDITIONAL_PUT").is_none() {
        b = b.with_conditional_put(S3ConditionalPut::ETagMatch);
    }
    b.with_url(url.as_str()).with_retry(retry_config(http))
}

fn env_nonempty(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

// --- Credentials are never shown ---------------------------------------------------------

/// Shortest value of a credential variable that is redacted (shorter values are not
/// credentials of any cloud, and replacing them would garble ordinary words).
const MIN_SECRET_LEN: usize = 8;

/// Query and header parameters whose value is a credential wherever it appears.
const SECRET_MARKERS: &[&str] = &[
    "sig=",
    "Signature=",
    "X-Amz-Credential=",
    "X-Amz-Security-Token=",
    "AccountKey=",
    "SharedAccessSignature=",
];

/// Whether an environment variable holds a credential of a cloud.
fn is_secret_var(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let cloud = ["AWS_", "AZURE_", "GOOGLE_", "GCS_", "GCP_", "OBJECT_STORE_"]
        .iter()
        .any(|p| n.starts_with(p));
    cloud
        && [
            "SECRET",
            "KEY",
            "TOKEN",
            "PASSWORD",
            "SAS",
            "CREDENTIAL",
            "CONNECTION_STRING",
            "SIGNATURE",
        ]
        .iter()
        .any(|w| n.contains(w))
}

/// Every form in which a credential value may appear in a message: as is, URL-encoded
/// (both hex cases), JSON-escaped; for a JSON key file also its key fields; for a SAS
/// token also its signature.
fn secret_forms(v: &str, out: &mut Vec<String>) {
    let v = v.trim();
    if v.len() < MIN_SECRET_LEN {
        return;
    }
    out.push(v.to_string());
    let mut upper = String::new();
    let mut lower = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            upper.push(b as char);
            lower.push(b as char);
        } else {
            upper.push_str(&format!("%{b:02X}"));
            lower.push_str(&format!("%{b:02x}"));
        }
    }
    out.push(upper);
    out.push(lower);
    out.push(url::form_urlencoded::byte_serialize(v.as_bytes()).collect());
    if let Ok(j) = serde_json::to_string(v) {
        out.push(j.trim_matches('"').to_string());
    }
    if v.starts_with('{') {
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(v) {
            for (k, val) in m {
                let k = k.to_ascii_lowercase();
                if ["key", "secret", "token", "password"]
                    .iter()
                    .any(|w| k.contains(w))
                {
                    if let Some(s) = val.as_str() {
                        secret_forms(s, out);
                    }
                }
            }
        }
    }
    if v.contains("sig=") {
        for (k, val) in url::form_urlencoded::parse(v.trim_start_matches('?').as_bytes()) {
            if k == "sig" {
                secret_forms(&val, out);
            }
        }
    }
}

fn secrets() -> &'static [String] {
    static SECRETS: OnceLock<Vec<String>> = OnceLock::new();
    SECRETS.get_or_init(|| {
        let mut out = Vec::new();
        for (k, v) in std::env::vars_os() {
            if let (Some(k), Some(v)) = (k.to_str(), v.to_str()) {
                if is_secret_var(k) {
                    secret_forms(v, &mut out);
                }
            }
        }
        out.retain(|s| s.len() >= MIN_SECRET_LEN);
        // Longest first, so that a secret containing another is replaced whole.
        out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        out.dedup();
        out
    })
}

/// Replaces the value that follows each `marker` (up to a delimiter) by `***`.
fn redact_after(s: &str, marker: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(marker) {
        let (head, tail) = rest.split_at(i + marker.len());
        out.push_str(head);
        let end = tail
            .find(|c: char| {
                c.is_whitespace()
                    || matches!(c, '&' | '"' | '\'' | '<' | '>' | ')' | ',' | '\\' | ';')
            })
            .unwrap_or(tail.len());
        if end > 0 {
            out.push_str("***");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Removes every credential from a message before it is shown: the values (in any
/// encoding) of the credential variables of the environment (`AWS_*`, `AZURE_*`,
/// `GOOGLE_*` whose name says key, secret, token, password, SAS or credential), and
/// signatures and keys given as URL or header parameters.
pub fn redact(msg: &str) -> String {
    let mut out = std::borrow::Cow::Borrowed(msg);
    for s in secrets() {
        if out.contains(s.as_str()) {
            out = std::borrow::Cow::Owned(out.replace(s.as_str(), "***"));
        }
    }
    for m in SECRET_MARKERS {
        if out.contains(m) {
            out = std::borrow::Cow::Owned(redact_after(&out, m));
        }
    }
    out.into_owned()
}

/// The writer of gaptrack's log lines: stderr, with [`redact`] applied to every line, so
/// that no credential reaches a log, whatever a library logs at debug level.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedactingStderr;

/// One log line's writer (see [`RedactingStderr`]).
#[derive(Debug)]
pub struct RedactingWriter;

impl Write for RedactingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let clean = redact(&text);
        let mut err = std::io::stderr().lock();
        if clean == text {
            err.write_all(buf)?;
        } else {
            err.write_all(clean.as_bytes())?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingWriter;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter
    }
}

/// Storage options as deltalake wants them (unused keys are fine).
pub fn no_options() -> HashMap<String, String> {
    HashMap::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_as_written() {
        use std::path::Path;
        for (p, want) in [
            ("data/../warehouse", "warehouse"),
            ("./data/./waves/../report", "data/report"),
            ("/srv/survey/data/../warehouse", "/srv/survey/warehouse"),
            ("../shared/store", "../shared/store"),
            ("a/../../b", "../b"),
            ("/..", "/"),
            ("a/..", "."),
        ] {
            assert_eq!(normalize_path(Path::new(p)), Path::new(want), "{p}");
        }
        let url = parse_location("/tmp/x/data/../warehouse", "w").unwrap();
        assert_eq!(url.as_str(), "file:///tmp/x/warehouse/");
    }

    #[test]
    fn secret_variables() {
        for k in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SESSION_TOKEN",
            "AZURE_STORAGE_ACCOUNT_KEY",
            "AZURE_STORAGE_SAS_KEY",
            "AZURE_STORAGE_SAS_TOKEN",
            "AZURE_STORAGE_TOKEN",
            "AZURE_CLIENT_SECRET",
            "GOOGLE_SERVICE_ACCOUNT_KEY",
        ] {
            assert!(is_secret_var(k), "{k}");
        }
        for k in [
            "AWS_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_ALLOW_HTTP",
            "PATH",
            "HOME",
        ] {
            assert!(!is_secret_var(k), "{k}");
        }
    }

    #[test]
    fn forms_of_a_secret() {
        let mut out = Vec::new();
        secret_forms("ab+c/d=ef\"gh", &mut out);
        assert!(out.contains(&"ab+c/d=ef\"gh".to_string()));
        assert!(out.contains(&"ab%2Bc%2Fd%3Def%22gh".to_string()));
        assert!(out.contains(&"ab%2bc%2fd%3def%22gh".to_string()));
        assert!(out.contains(&"ab+c/d=ef\\\"gh".to_string()));
        let mut out = Vec::new();
        secret_forms(
            r#"{"private_key": "-----BEGIN KEY-----\nabcdefgh\n", "client_email": "a@b.c"}"#,
            &mut out,
        );
        assert!(out.iter().any(|s| s == "-----BEGIN KEY-----\nabcdefgh"));
        assert!(!out.iter().any(|s| s == "a@b.c"));
        let mut out = Vec::new();
        secret_forms("sv=2021-08-06&ss=b&sig=AbCdEf%2BgHiJk%3D", &mut out);
        assert!(out.iter().any(|s| s == "AbCdEf+gHiJk="));
    }

    #[test]
    fn markers_are_redacted() {
        let m = "GET https://a.blob.core.windows.net/c/x?sv=1&sig=SECRETSIG%3D&se=2 failed";
        assert_eq!(
            redact(m),
            "GET https://a.blob.core.windows.net/c/x?sv=1&sig=***&se=2 failed"
        );
        let m = r#"{"message":"url?X-Amz-Signature=abcdef0123","x":1}"#;
        assert_eq!(redact(m), r#"{"message":"url?X-Amz-Signature=***","x":1}"#);
    }

    #[test]
    fn locations_hide_credentials() {
        assert_eq!(
            redact_location("s3://AKIA:topsecretvalue@bucket/p"),
            "s3://AKIA:***@bucket/p"
        );
        assert_eq!(redact_location("az://c/p?sv=1&sig=abc"), "az://c/p?***");
        let e = Store::open("s3://AKIA:topsecretvalue@bucket/p").unwrap_err();
        assert!(!e.to_string().contains("topsecretvalue"), "{e}");
        assert_eq!(e.exit_code(), 3);
        let e = Store::open("az://c/p?sv=1&sig=abcdefghijk").unwrap_err();
        assert!(!e.to_string().contains("abcdefghijk"), "{e}");
    }

    #[tokio::test]
    async fn conflicts_are_retried_then_given_up() {
        let mut calls = 0;
        let r: Result<u32> = commit_with_retries("test", || {
            calls += 1;
            let c = calls;
            async move {
                if c < 3 {
                    Err(Error::Conflict("busy".into()).into())
                } else {
                    Ok(c)
                }
            }
        })
        .await;
        assert_eq!(r.unwrap(), 3);
        let mut calls = 0;
        let r: Result<u32> = commit_with_retries("test", || {
            calls += 1;
            async { Err(CommitError::Fail(Error::Conflict("same wave".into()))) }
        })
        .await;
        assert!(matches!(r, Err(Error::Conflict(_))));
        assert_eq!(calls, 1);
    }
}
