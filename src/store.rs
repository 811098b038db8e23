//! The store: one URL (local path, `file://`, `memory://`, `s3://`, `az://`/`abfs://`,
//! `gs://`) behind one `Arc<dyn ObjectStore>`, holding gaptrack's Delta tables.
//!
//! Tables (each a Delta table under the store root):
//! - `waves`: the catalog, one row per loaded wave. Its commits are the linearization
//!   points of the store: a wave becomes visible, is replaced or removed in exactly one
//!   catalog commit.
//! - `responses`, `cellstats`, `segstats`, `statements`, `weighting`, `scorestats`,
//!   `respondent_ids`, `panelstats`: data tables, partitioned by `wave` and `load_id`.
//!   A load appends its rows under a fresh `load_id` first (invisible, since readers
//!   only see the load ids the catalog names), then commits the catalog, then deletes
//!   the rows of the load it replaced.
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
use object_store::{aws, azure, gcp};
use object_store::{ObjectStoreExt, PutPayload};
use tracing::info;
use url::Url;

use crate::error::{Error, InputError, Result};

pub const RESPONSES: &str = "responses";
pub const CELLSTATS: &str = "cellstats";
pub const SEGSTATS: &str = "segstats";
pub const STATEMENTS: &str = "statements";
pub const WEIGHTING: &str = "weighting";
pub const SCORESTATS: &str = "scorestats";
pub const RESPONDENT_IDS: &str = "respondent_ids";
pub const PANELSTATS: &str = "panelstats";
pub const WAVES: &str = "waves";
/// Where `gaptrack query` keeps the views' results (not a table; see `sql::cache`).
pub const KEPT_RESULTS: &str = "_gaptrack/cache";
/// Data tables, in the order a load writes them.
pub const DATA_TABLES: [&str; 8] = [
    RESPONSES,
    CELLSTATS,
    SEGSTATS,
    STATEMENTS,
    WEIGHTING,
    SCORESTATS,
    RESPONDENT_IDS,
    PANELSTATS,
];

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
    /// Parses a store URL or path (docs/storage.md). Credentials come from the environment of
    /// each cloud and are never printed.
    pub fn open(location: &str) -> Result<Store> {
        register_cloud_logstores();
        let display = redact_location(location);
        let url = parse_location(location, &display)?;
        let root: Arc<dyn ObjectStore> = match url.scheme() {
            "file" => Arc::new(object_store::local::LocalFileSystem::new()),
            "memory" => memory_store(),
            "s3" | "s3a" => cloud_store::<aws::AmazonS3Builder>(
                &url,
                &display,
                "an s3 URL needs a bucket: s3://bucket/prefix",
            )?,
            "az" | "abfs" | "abfss" | "azure" => {
                cloud_store::<azure::MicrosoftAzureBuilder>(
                    &url,
                    &display,
                    "an Azure URL needs a container: az://container/prefix",
                )?
            }
            "gs" => cloud_store::<gcp::GoogleCloudStorageBuilder>(
                &url,
                &display,
                "a gs URL needs a bucket: gs://bucket/prefix",
            )?,
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
        let root: Arc<dyn ObjectStore> = Arc::new(NamedStore {
            name: display.clone(),
            inner: root,
        });
        Ok(Store {
            url,
            display,
            root,
            prefix,
        })
    }

    /// The store's URL (a directory: it ends in `/`).
    pub fn url(&self) -> &Url {
        &self.url
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
                (stem.len() == 20)
                    .then(|| stem.parse::<i64>().ok())
                    .flatten()
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

/// The object store of a [`Store`]: every operation goes to `inner`, but `Debug` and
/// `Display` name only the store's location. A cloud client's `Debug` shows its whole
/// configuration, credentials included (the Azure account key as its decoded bytes), and
/// deltalake logs the store of every table it opens at debug level.
struct NamedStore {
    name: String,
    inner: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for NamedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectStore({})", self.name)
    }
}

impl std::fmt::Display for NamedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectStore({})", self.name)
    }
}

#[async_trait::async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for NamedStore {
    async fn put_opts(
        &self,
        location: &ObjPath,
        payload: PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjPath,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &ObjPath,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &ObjPath,
        ranges: &[std::ops::Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: futures::stream::BoxStream<'static, object_store::Result<ObjPath>>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<ObjPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&ObjPath>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&ObjPath>,
        offset: &ObjPath,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjPath>,
    ) -> object_store::Result<object_store::ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &ObjPath,
        to: &ObjPath,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &ObjPath,
        to: &ObjPath,
        options: object_store::RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
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
        if (!u.username().is_empty() && !is_azure_container_user(&u)) || u.password().is_some() {
            return Err(invalid_url(
                display,
                "a user part (before `@`) is not accepted in a store URL: credentials \
                 belong in the environment (AWS_*, AZURE_STORAGE_*, GOOGLE_*)",
            ));
        }
        if u.query().is_some() || u.fragment().is_some() {
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

/// Whether the user part of `u` is an Azure container, as in
/// `abfss://container@account.dfs.core.windows.net/prefix` (the only URLs with a user
/// part that are accepted).
fn is_azure_container_user(u: &Url) -> bool {
    let azure_host = u
        .host_str()
        .and_then(|h| h.split_once('.'))
        .is_some_and(|(a, d)| {
            !a.is_empty()
                && [
                    "dfs.core.windows.net",
                    "blob.core.windows.net",
                    "dfs.fabric.microsoft.com",
                    "blob.fabric.microsoft.com",
                ]
                .contains(&d)
        });
    matches!(u.scheme(), "az" | "abfs" | "abfss") && azure_host && u.password().is_none()
}

/// A location as it may be shown: a user part (other than an Azure container), password,
/// query string or fragment is replaced by `***`, and known credentials are redacted.
pub fn redact_location(location: &str) -> String {
    if !location.contains("://") {
        return redact(location);
    }
    match Url::parse(location.trim()) {
        Ok(mut u) => {
            let mut changed = false;
            if (!u.username().is_empty() || u.password().is_some()) && !is_azure_container_user(&u)
            {
                let _ = u.set_password(None);
                let _ = u.set_username("***");
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

/// The builder of one cloud's object store, as [`cloud_store`] uses it.
trait CloudBuilder: Sized {
    type Store: ObjectStore;
    /// The builder for `url`, from the cloud's standard environment and `http`.
    fn for_url(url: &Url, http: &HttpSettings) -> Self;
    /// Sets one HTTP client option.
    fn client(self, key: object_store::ClientConfigKey, value: String) -> Self;
    fn finish(self) -> object_store::Result<Self::Store>;
}

/// [`CloudBuilder`] for a builder of the object_store crate; `$key` wraps a client option
/// in the builder's own key type. Without `$make`, the builder is the cloud's standard
/// environment with the URL and the retry settings.
macro_rules! cloud_builder {
    ($builder:ty, $store:ty, $key:path) => {
        cloud_builder!($builder, $store, $key, |url, http| <$builder>::from_env()
            .with_url(url.as_str())
            .with_retry(retry_config(http)));
    };
    ($builder:ty, $store:ty, $key:path, |$url:ident, $http:ident| $make:expr) => {
        impl CloudBuilder for $builder {
            type Store = $store;
            fn for_url($url: &Url, $http: &HttpSettings) -> Self {
                $make
            }
            fn client(self, key: object_store::ClientConfigKey, value: String) -> Self {
                self.with_config($key(key), value)
            }
            fn finish(self) -> object_store::Result<$store> {
                self.build()
            }
        }
    };
}

cloud_builder!(
    aws::AmazonS3Builder,
    aws::AmazonS3,
    aws::AmazonS3ConfigKey::Client,
    |url, http| s3_builder(url, http)
);
cloud_builder!(
    azure::MicrosoftAzureBuilder,
    azure::MicrosoftAzure,
    azure::AzureConfigKey::Client
);
cloud_builder!(
    gcp::GoogleCloudStorageBuilder,
    gcp::GoogleCloudStorage,
    gcp::GoogleConfigKey::Client
);

/// A cloud object store for `url`: refuses a URL without a bucket or container (`needs`
/// says what it lacks), then builds the client from the cloud's environment with the HTTP
/// settings of [`HttpSettings::from_env`] as client options.
fn cloud_store<B: CloudBuilder>(
    url: &Url,
    display: &str,
    needs: &str,
) -> Result<Arc<dyn ObjectStore>> {
    if url.host_str().unwrap_or("").is_empty() {
        return Err(invalid_url(display, needs));
    }
    let http = HttpSettings::from_env()?;
    let mut b = B::for_url(url, &http);
    for (k, v) in http.client_keys() {
        b = b.client(k, v);
    }
    Ok(Arc::new(b.finish().map_err(|e| build_error(display, e))?))
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

/// Largest credential file read to learn what to redact (key files and tokens are a few
/// KB).
const MAX_SECRET_FILE: u64 = 1 << 20;

/// Parameters whose value is a credential wherever it appears, as `name=value` in a URL,
/// a header or a form body (matched whatever the case: `sig=` also covers `Sig=`,
/// `signature=` covers `X-Amz-Signature=` and `SharedAccessSignature=`, `credential=`
/// covers `X-Amz-Credential=` and `X-Goog-Credential=`, `token=` covers
/// `X-Amz-Security-Token=`, `access_token=`, `refresh_token=`).
const SECRET_PARAMS: &[&str] = &[
    "sig=",
    "signature=",
    "credential=",
    "token=",
    "accountkey=",
    "secret=",
    "client_assertion=",
    "assertion=",
    "password=",
];

/// Headers whose value is a credential (`name: value`, `"name": "value"`).
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-ms-copy-source-authorization",
    "x-amz-security-token",
    "x-identity-header",
    "x-goog-api-key",
];

/// Keys whose quoted value is a credential in JSON (`"key": "value"`), in a Rust `Debug`
/// dump (`key: "value"`, `key: Some("value")`) or a list of pairs (`("sig", "value")`).
const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "private_key",
    "private_key_id",
    "secret_access_key",
    "secretaccesskey",
    "sessiontoken",
    "session_token",
    "secret_key",
    "account_key",
    "accountkey",
    "sas_token",
    "bearer_token",
    "token",
    "sig",
    "signature",
    "password",
    "assertion",
    "client_assertion",
];

/// XML elements (S3, STS, Azure and GCS error and credential bodies) whose content is a
/// credential or derived from one.
const SECRET_TAGS: &[&str] = &[
    "SignatureProvided",
    "StringToSign",
    "StringToSignBytes",
    "CanonicalRequest",
    "CanonicalRequestBytes",
    "AWSAccessKeyId",
    "AccessKeyId",
    "SecretAccessKey",
    "SessionToken",
    "Token",
    "Signature",
    "AuthenticationErrorDetail",
];

/// Whether an environment variable holds a credential itself: `AWS_*`, `AZURE_*`,
/// `GOOGLE_*`, `GCS_*`, `GCP_*`, `OBJECT_STORE_*` whose name says secret, key, token,
/// password, SAS, credential, connection string or signature (every credential key of
/// object_store's S3, Azure and GCS builders: `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_TOKEN`,
/// `AWS_SSE_CUSTOMER_KEY_BASE64`, `AZURE_STORAGE_ACCOUNT_KEY`,
/// `AZURE_STORAGE_ACCESS_KEY`, `AZURE_STORAGE_MASTER_KEY`, `AZURE_STORAGE_SAS_KEY`,
/// `AZURE_STORAGE_SAS_TOKEN`, `AZURE_STORAGE_TOKEN`, `AZURE_CLIENT_SECRET`,
/// `AZURE_STORAGE_CLIENT_SECRET`, `AZURE_FABRIC_SESSION_TOKEN`,
/// `GOOGLE_SERVICE_ACCOUNT_KEY`, …), and the Azure managed identity's `IDENTITY_HEADER`
/// and `MSI_SECRET`. Variables that name a file are [`is_secret_file_var`].
fn is_secret_var(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    if is_secret_file_var(&n) {
        return false;
    }
    if n == "IDENTITY_HEADER" || n == "MSI_SECRET" {
        return true;
    }
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

/// Whether an environment variable names a file whose content is a credential
/// (`AZURE_FEDERATED_TOKEN_FILE`, `AWS_WEB_IDENTITY_TOKEN_FILE`,
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, `GOOGLE_SERVICE_ACCOUNT`,
/// `GOOGLE_SERVICE_ACCOUNT_PATH`, `SERVICE_ACCOUNT`, `GOOGLE_APPLICATION_CREDENTIALS`,
/// any cloud variable ending in `_FILE` or `_PATH`). The path itself is shown.
fn is_secret_file_var(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let cloud = ["AWS_", "AZURE_", "GOOGLE_", "GCS_", "GCP_", "OBJECT_STORE_"]
        .iter()
        .any(|p| n.starts_with(p));
    (cloud && (n.ends_with("_FILE") || n.ends_with("_PATH")))
        || [
            "GOOGLE_APPLICATION_CREDENTIALS",
            "GOOGLE_SERVICE_ACCOUNT",
            "SERVICE_ACCOUNT",
        ]
        .contains(&n.as_str())
}

/// What [`redact`] removes: every printed form of every credential.
#[derive(Debug, Default)]
struct SecretSet {
    /// Text forms, longest first (so that a form containing another is replaced whole).
    texts: Vec<String>,
    /// Byte strings (each credential's bytes, and what a base64 credential decodes to),
    /// looked for in printed lists of numbers (`[87, 82, …]`, `[0x57, …]`).
    bytes: Vec<Vec<u8>>,
}

impl SecretSet {
    fn from_values<'a>(values: impl IntoIterator<Item = &'a str>) -> SecretSet {
        let mut set = SecretSet::default();
        for v in values {
            set.add(v, 0);
        }
        set.finish();
        set
    }

    fn finish(&mut self) {
        self.texts.retain(|s| s.len() >= MIN_SECRET_LEN);
        self.texts
            .sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        self.texts.dedup();
        self.bytes.retain(|b| b.len() >= MIN_SECRET_LEN);
        self.bytes.sort();
        self.bytes.dedup();
    }

    /// A text form, also as it appears inside a JSON string and in a Rust `Debug` string.
    fn push_text(&mut self, s: &str) {
        if s.len() < MIN_SECRET_LEN {
            return;
        }
        let json = json_escaped(s);
        let debug = debug_escaped(s);
        let json_debug = json_escaped(&debug);
        self.texts.push(s.to_string());
        self.texts.push(json);
        self.texts.push(debug);
        self.texts.push(json_debug);
    }

    /// Every form in which a credential value may be printed: as is, percent-encoded
    /// (both hex cases, and as a form value), JSON- and `Debug`-escaped, its bytes in
    /// base64 (standard and URL-safe alphabet, at any offset inside a longer encoded
    /// text) and hex; a value that is base64 also as the bytes it decodes to (hex, a
    /// byte-string literal, a list of numbers, base64 in the other alphabet); for a
    /// JSON key file, a connection string, a SAS token, a PEM key or an INI credentials
    /// file also the credentials inside.
    fn add(&mut self, v: &str, depth: usize) {
        let v = v.trim();
        if v.len() < MIN_SECRET_LEN || depth > 3 {
            return;
        }
        self.push_text(v);
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
        self.push_text(&upper);
        self.push_text(&lower);
        let form: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
        self.push_text(&form);
        self.add_bytes(v.as_bytes(), false);
        if v.len() >= 12 {
            if let Some(decoded) = b64_decode(v) {
                self.add_bytes(&decoded, true);
            }
        }
        if v.starts_with('{') {
            if let Ok(j) = serde_json::from_str::<serde_json::Value>(v) {
                self.add_json(&j, depth);
            }
        }
        if v.contains("-----BEGIN") {
            self.add_pem(v);
        }
        if v.starts_with('{') || v.contains("-----BEGIN") {
            return;
        }
        // A SAS token (`sv=…&sig=…`), a connection string (`…;AccountKey=…;…`) or an INI
        // credentials file (`aws_secret_access_key = …`).
        for part in v.split(['&', ';', '\n', '?']) {
            let Some((k, val)) = part.split_once('=') else {
                continue;
            };
            let k = k.trim().to_ascii_lowercase();
            if k == "sig"
                || [
                    "key",
                    "secret",
                    "token",
                    "password",
                    "signature",
                    "credential",
                ]
                .iter()
                .any(|w| k.contains(w))
            {
                let val = val.trim();
                let decoded: String = url::form_urlencoded::parse(format!("x={val}").as_bytes())
                    .map(|(_, v)| v.into_owned())
                    .next()
                    .unwrap_or_default();
                self.add(val, depth + 1);
                if decoded != val {
                    self.add(&decoded, depth + 1);
                }
            }
        }
    }

    /// Forms of raw bytes: hex (both cases), base64 at any offset, the byte-string
    /// literal of `Debug`; the bytes themselves for lists of numbers. `whole` adds the
    /// complete base64 encodings too (for bytes a credential decodes to).
    fn add_bytes(&mut self, b: &[u8], whole: bool) {
        if b.len() < MIN_SECRET_LEN {
            return;
        }
        self.bytes.push(b.to_vec());
        self.push_text(&hex::encode(b));
        self.push_text(&hex::encode_upper(b));
        for alphabet in [B64_STD, B64_URL] {
            for frag in b64_fragments(b, alphabet) {
                self.push_text(&frag);
            }
            if whole {
                let e = b64_encode(b, alphabet);
                self.push_text(&e);
                self.push_text(e.trim_end_matches('='));
            }
        }
        if whole {
            let lit: String = b.escape_ascii().to_string();
            self.push_text(&lit);
            // `bytes::Bytes` writes `\0` and does not escape `'`.
            let mut alt = String::new();
            for &c in b {
                match c {
                    b'\0' => alt.push_str("\\0"),
                    b'\'' => alt.push('\''),
                    _ => alt.push_str(&[c].escape_ascii().to_string()),
                }
            }
            self.push_text(&alt);
        }
    }

    fn add_json(&mut self, j: &serde_json::Value, depth: usize) {
        match j {
            serde_json::Value::Object(m) => {
                for (k, val) in m {
                    let k = k.to_ascii_lowercase();
                    let secret = ["key", "secret", "token", "password", "assertion"]
                        .iter()
                        .any(|w| k.contains(w));
                    match val {
                        serde_json::Value::String(s) if secret => self.add(s, depth + 1),
                        serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                            self.add_json(val, depth + 1)
                        }
                        _ => {}
                    }
                }
            }
            serde_json::Value::Array(a) => {
                for val in a {
                    self.add_json(val, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// A PEM key: each line of its body, and the key bytes.
    fn add_pem(&mut self, v: &str) {
        let mut body = String::new();
        let mut in_block = false;
        for line in v.split(['\n', '\r']).map(str::trim) {
            if line.starts_with("-----BEGIN") {
                in_block = true;
                continue;
            }
            if line.starts_with("-----END") {
                in_block = false;
                continue;
            }
            if in_block && !line.is_empty() {
                self.push_text(line);
                body.push_str(line);
            }
        }
        if let Some(der) = b64_decode(&body) {
            self.add_bytes(&der, false);
        }
    }
}

fn json_escaped(s: &str) -> String {
    let j = serde_json::to_string(s).unwrap_or_default();
    j[1..j.len().saturating_sub(1).max(1)].to_string()
}

fn debug_escaped(s: &str) -> String {
    let d = format!("{s:?}");
    d[1..d.len().saturating_sub(1).max(1)].to_string()
}

const B64_STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 with `=` padding.
fn b64_encode(b: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The parts of the base64 encoding of `b` that are the same wherever `b` starts inside
/// a longer encoded text (a credential inside an encoded header or token): the
/// characters that depend on `b` alone, for each of the three offsets.
fn b64_fragments(b: &[u8], alphabet: &[u8; 64]) -> Vec<String> {
    let mut out = Vec::new();
    for (k, skip) in [(0usize, 0usize), (1, 2), (2, 3)] {
        let mut data = vec![0u8; k];
        data.extend_from_slice(b);
        let full = 4 * (data.len() / 3);
        let enc = b64_encode(&data, alphabet);
        if full > skip + MIN_SECRET_LEN {
            out.push(enc[skip..full].to_string());
        }
    }
    out
}

/// Decodes standard or URL-safe base64 (padding optional); `None` if `s` is not base64.
fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bits < 6).then_some(out)
}

/// The credentials of this process: the values of the credential variables of the
/// environment and the content of the credential files they name (and of gcloud's
/// application default credentials), read once.
fn secrets() -> &'static SecretSet {
    static SECRETS: OnceLock<SecretSet> = OnceLock::new();
    SECRETS.get_or_init(|| {
        let mut values: Vec<String> = Vec::new();
        let mut files: Vec<std::path::PathBuf> = Vec::new();
        for (k, v) in std::env::vars_os() {
            if let (Some(k), Some(v)) = (k.to_str(), v.to_str()) {
                if is_secret_var(k) {
                    values.push(v.to_string());
                } else if is_secret_file_var(k) && !v.trim().is_empty() {
                    files.push(v.trim().into());
                }
            }
        }
        if let Some(home) = std::env::var_os("HOME") {
            files.push(
                std::path::Path::new(&home)
                    .join(".config/gcloud/application_default_credentials.json"),
            );
        }
        for f in files {
            let small =
                std::fs::metadata(&f).is_ok_and(|m| m.is_file() && m.len() <= MAX_SECRET_FILE);
            if small {
                if let Ok(text) = std::fs::read_to_string(&f) {
                    values.push(text);
                }
            }
        }
        SecretSet::from_values(values.iter().map(String::as_str))
    })
}

/// Reads the credentials [`redact`] removes (from the environment and the files it
/// names) now, before any command runs.
pub fn init_redaction() {
    let _ = secrets();
}

/// Replaces by `***` the value each match of `needle` (found whatever the case) stands
/// for: `value(at)` gives the byte range of the value of the match at `at`, or `None`
/// where that match names no value. The search goes on after a replaced value.
fn redact_values(s: &str, needle: &str, value: impl Fn(usize) -> Option<(usize, usize)>) -> String {
    // ASCII lower-casing keeps every byte offset.
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    let mut from = 0;
    while let Some(i) = lower[from..].find(needle) {
        let at = from + i;
        from = at + needle.len();
        match value(at) {
            Some((k, end)) if end > k => {
                out.push_str(&s[pos..k]);
                out.push_str("***");
                pos = end;
                from = end;
            }
            _ => {}
        }
    }
    out.push_str(&s[pos..]);
    out
}

/// Replaces the value that follows each `marker` (matched whatever the case, up to a
/// delimiter) by `***`.
fn redact_after(s: &str, marker: &str) -> String {
    redact_values(s, marker, |at| {
        let start = at + marker.len();
        let tail = &s[start..];
        let end = tail
            .find(|c: char| {
                c.is_whitespace()
                    || matches!(c, '&' | '"' | '\'' | '<' | '>' | ')' | ',' | '\\' | ';')
            })
            .unwrap_or(tail.len());
        Some((start, start + end))
    })
}

/// Replaces the value of a header `name: value` (also quoted, also inside a JSON
/// string) by `***`, up to the end of the line or of the quoted value.
fn redact_header(s: &str, name: &str) -> String {
    let b = s.as_bytes();
    redact_values(s, name, |at| {
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'-') {
            return None;
        }
        let mut k = at + name.len();
        while k < b.len() && matches!(b[k], b'"' | b'\\') {
            k += 1;
        }
        if k >= b.len() || b[k] != b':' {
            return None;
        }
        k += 1;
        while k < b.len() && matches!(b[k], b' ' | b'"' | b'\\') {
            k += 1;
        }
        let end = s[k..]
            .find(['"', '\\', '\'', '<', '>', '\n', '\r', ';'])
            .map_or(s.len(), |e| k + e);
        Some((k, end))
    })
}

/// Replaces the quoted value of `key` by `***`: `"key": "v"`, `key: "v"`,
/// `key: Some("v")`, `("key", "v")`, `key="v"`, also inside a JSON string (`\"v\"`).
fn redact_key(s: &str, key: &str) -> String {
    let b = s.as_bytes();
    redact_values(s, key, |at| {
        let mut k = at + key.len();
        if (at > 0 && b[at - 1].is_ascii_alphanumeric())
            || (k < b.len() && (b[k].is_ascii_alphanumeric() || b[k] == b'_'))
        {
            return None;
        }
        while k < b.len() && matches!(b[k], b'"' | b'\\') {
            k += 1;
        }
        while k < b.len() && b[k] == b' ' {
            k += 1;
        }
        if k >= b.len() || !matches!(b[k], b':' | b'=' | b',') {
            return None;
        }
        k += 1;
        while k < b.len() && b[k] == b' ' {
            k += 1;
        }
        if s[k..].starts_with("Some(") {
            k += 5;
        }
        let escaped = s[k..].starts_with("\\\"");
        if escaped {
            k += 2;
        } else if s[k..].starts_with('"') {
            k += 1;
        } else {
            return None;
        }
        Some((k, closing_quote(s, k, escaped)))
    })
}

/// The end of a quoted value that starts at `k`: the next `\"` inside a JSON string
/// (`escaped`), else the next `"` not escaped; the end of `s` without one.
fn closing_quote(s: &str, k: usize, escaped: bool) -> usize {
    let b = s.as_bytes();
    let mut end = k;
    loop {
        match s[end..].find('"') {
            None => return s.len(),
            Some(q) => {
                let q = end + q;
                let backslash = q > 0 && b[q - 1] == b'\\';
                if escaped == backslash {
                    return if escaped { q - 1 } else { q };
                }
                end = q + 1;
            }
        }
    }
}

/// Replaces the content of the XML element `tag` by `***`.
fn redact_tag(s: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(&open) {
        let (head, tail) = rest.split_at(i + open.len());
        out.push_str(head);
        let end = tail.find(&close).unwrap_or(tail.len());
        if end > 0 {
            out.push_str("***");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A token of a printed list of numbers as a decimal byte (`0`–`255`) and as a hex byte
/// (`57`, `0x57`), where it is one.
fn byte_token(t: &str) -> (Option<u8>, Option<u8>) {
    let dec = (t.len() <= 3 && t.bytes().all(|c| c.is_ascii_digit()))
        .then(|| t.parse::<u16>().ok())
        .flatten()
        .and_then(|v| u8::try_from(v).ok());
    let h = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let hex = (!h.is_empty() && h.len() <= 2 && h.bytes().all(|c| c.is_ascii_hexdigit()))
        .then(|| u8::from_str_radix(h, 16).ok())
        .flatten();
    (dec, hex)
}

/// The end of the spaces, commas and line breaks (also escaped ones: `\n`) from `k` in
/// `b`, and how many commas they hold.
fn separator(b: &[u8], mut k: usize) -> (usize, usize) {
    let n = b.len();
    let mut commas = 0;
    loop {
        if k < n && matches!(b[k], b' ' | b'\t' | b'\n' | b'\r') {
            k += 1;
        } else if k < n && b[k] == b',' {
            commas += 1;
            k += 1;
        } else if k + 1 < n && b[k] == b'\\' && matches!(b[k + 1], b'n' | b't' | b'r') {
            k += 2;
        } else {
            break;
        }
    }
    (k, commas)
}

/// Replaces every printed list of numbers (`[87, 82, …]` as `Debug` prints bytes, also
/// one number a line, also in hex as `{:x?}` prints it) that holds a credential's bytes,
/// or a run of at least [`MIN_SECRET_LEN`] of them, by `***`. `None` if there is none.
fn redact_byte_lists(s: &str, secrets: &[Vec<u8>]) -> Option<String> {
    if secrets.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    let n = b.len();
    let is_tok = |c: u8| c.is_ascii_hexdigit() || c == b'x' || c == b'X';
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let overlaps = |run: &[u8]| {
        secrets.iter().any(|sec| {
            if run.len() >= sec.len() {
                run.windows(sec.len()).any(|w| w == sec.as_slice())
            } else {
                sec.windows(run.len()).any(|w| w == run)
            }
        })
    };
    let mut out = String::new();
    let mut last = 0;
    let mut i = 0;
    while i < n {
        let escaped_break = i >= 2 && b[i - 2] == b'\\' && matches!(b[i - 1], b'n' | b't' | b'r');
        if !is_tok(b[i]) || (i > 0 && is_word(b[i - 1]) && !escaped_break) {
            i += 1;
            continue;
        }
        let start = i;
        let mut dec = Vec::new();
        let mut hex = Vec::new();
        let (mut all_dec, mut all_hex) = (true, true);
        let mut end = start;
        let mut j = start;
        loop {
            let ts = j;
            while j < n && is_tok(b[j]) {
                j += 1;
            }
            if j < n && is_word(b[j]) {
                break;
            }
            let (d, h) = byte_token(&s[ts..j]);
            let (nd, nh) = (all_dec && d.is_some(), all_hex && h.is_some());
            if !nd && !nh {
                break;
            }
            (all_dec, all_hex) = (nd, nh);
            dec.extend(d);
            hex.extend(h);
            end = j;
            // The separator: one comma, and spaces or line breaks (also escaped ones).
            let (k, commas) = separator(b, j);
            if commas == 1 && k < n && is_tok(b[k]) {
                j = k;
            } else {
                break;
            }
        }
        if end == start {
            i = start + 1;
            while i < n && is_tok(b[i]) {
                i += 1;
            }
            continue;
        }
        let count = if all_dec { dec.len() } else { hex.len() };
        if count >= MIN_SECRET_LEN && ((all_dec && overlaps(&dec)) || (all_hex && overlaps(&hex))) {
            out.push_str(&s[last..start]);
            out.push_str("***");
            last = end;
        }
        i = end;
    }
    if last == 0 {
        return None;
    }
    out.push_str(&s[last..]);
    Some(out)
}

/// Removes every credential from a message before it is shown: each form of the values of
/// the credential variables of the environment and of the credential files they name
/// (see [`SecretSet::add`]), lists of numbers holding a credential's bytes, the values of
/// credential parameters, headers and keys ([`SECRET_PARAMS`], [`SECRET_HEADERS`],
/// [`SECRET_KEYS`]) and the content of credential XML elements ([`SECRET_TAGS`]).
pub fn redact(msg: &str) -> String {
    redact_with(msg, secrets())
}

fn redact_with(msg: &str, set: &SecretSet) -> String {
    use std::borrow::Cow;
    let mut out = Cow::Borrowed(msg);
    for s in &set.texts {
        if out.contains(s.as_str()) {
            out = Cow::Owned(out.replace(s.as_str(), "***"));
        }
    }
    if let Some(r) = redact_byte_lists(&out, &set.bytes) {
        out = Cow::Owned(r);
    }
    let lower = out.to_ascii_lowercase();
    for m in SECRET_PARAMS {
        if lower.contains(m) {
            out = Cow::Owned(redact_after(&out, m));
        }
    }
    for h in SECRET_HEADERS {
        if lower.contains(h) {
            out = Cow::Owned(redact_header(&out, h));
        }
    }
    for k in SECRET_KEYS {
        if lower.contains(k) {
            out = Cow::Owned(redact_key(&out, k));
        }
    }
    for t in SECRET_TAGS {
        if out.contains(&format!("<{t}>")) {
            out = Cow::Owned(redact_tag(&out, t));
        }
    }
    out.into_owned()
}

/// The writer of gaptrack's log lines: stderr, with [`redact`] applied to every line, so
/// that no credential reaches a log, whatever a library logs at any level.
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
            ("../other/store", "../other/store"),
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
            "AWS_TOKEN",
            "AWS_SSE_CUSTOMER_KEY_BASE64",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AZURE_STORAGE_ACCOUNT_KEY",
            "AZURE_STORAGE_ACCESS_KEY",
            "AZURE_STORAGE_MASTER_KEY",
            "AZURE_STORAGE_SAS_KEY",
            "AZURE_STORAGE_SAS_TOKEN",
            "AZURE_STORAGE_TOKEN",
            "AZURE_CLIENT_SECRET",
            "AZURE_STORAGE_CLIENT_SECRET",
            "AZURE_FABRIC_SESSION_TOKEN",
            "AZURE_STORAGE_CONNECTION_STRING",
            "GOOGLE_SERVICE_ACCOUNT_KEY",
            "IDENTITY_HEADER",
            "MSI_SECRET",
        ] {
            assert!(is_secret_var(k), "{k}");
        }
        for k in [
            "AZURE_FEDERATED_TOKEN_FILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "GOOGLE_SERVICE_ACCOUNT",
            "GOOGLE_SERVICE_ACCOUNT_PATH",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "SERVICE_ACCOUNT",
        ] {
            assert!(is_secret_file_var(k), "{k}");
            assert!(
                !is_secret_var(k),
                "{k} names a file; the path is not a secret"
            );
        }
        for k in [
            "AWS_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_ALLOW_HTTP",
            "AZURE_STORAGE_ACCOUNT_NAME",
            "PATH",
            "HOME",
        ] {
            assert!(!is_secret_var(k), "{k}");
            assert!(!is_secret_file_var(k), "{k}");
        }
    }

    /// An Azure account key: base64 of 64 random bytes.
    const AZ_KEY: &str =
        "wP9GiYRCS6eir34a3s3eTBsAeTQGzURNmclTj/GC0kDkQAHO/2XigJO9qN0DLEAwc3JiPWjTor/r8UksDKJS6A==";

    fn az_key_bytes() -> Vec<u8> {
        b64_decode(AZ_KEY).unwrap()
    }

    /// A message holding `form` must come out of `redact` with `form` masked: at most a
    /// few letters or digits of it left (the edges of a base64 text, where its characters
    /// also depend on what surrounds the secret).
    fn assert_masked(set: &SecretSet, form: &str, what: &str) {
        assert_masked_but(set, form, what, 6);
    }

    fn assert_masked_but(set: &SecretSet, form: &str, what: &str, keep: usize) {
        let msg = format!("before {form} after");
        let out = redact_with(&msg, set);
        assert!(out.contains("***"), "{what}: nothing masked in {out}");
        assert!(
            out.starts_with("before ") && out.ends_with(" after"),
            "{what}: {out}"
        );
        let leftover = out["before ".len()..out.len() - " after".len()].replace("***", "");
        let left = leftover
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .count();
        assert!(
            left <= keep,
            "{what}: {left} characters of {form:?} left: {out}"
        );
    }

    #[test]
    fn every_form_of_an_azure_key_is_masked() {
        let set = SecretSet::from_values([AZ_KEY]);
        let key = az_key_bytes();
        assert_eq!(key.len(), 64);
        let hexl = hex::encode(&key);
        let list = format!("{key:?}");
        let pretty = format!("{key:#?}");
        let hexlist = format!("{key:x?}");
        let hexlist0x = format!("{key:#04x?}");
        let pct: String = url::form_urlencoded::byte_serialize(AZ_KEY.as_bytes()).collect();
        let url_safe = b64_encode(&key, B64_URL);
        for (what, form) in [
            ("raw", AZ_KEY.to_string()),
            ("percent-encoded", pct.clone()),
            (
                "percent-encoded, lower case",
                pct.replace("%2B", "%2b")
                    .replace("%2F", "%2f")
                    .replace("%3D", "%3d"),
            ),
            (
                "url-safe base64",
                url_safe.trim_end_matches('=').to_string(),
            ),
            ("hex", hexl.clone()),
            ("HEX", hexl.to_uppercase()),
            ("decoded bytes", list.clone()),
            ("decoded bytes, pretty", pretty.clone()),
            (
                "decoded bytes, in JSON",
                serde_json::to_string(&pretty).unwrap(),
            ),
            ("decoded bytes, hex list", hexlist),
            ("decoded bytes, 0x list", hexlist0x),
            ("bytes literal", key.escape_ascii().to_string()),
            (
                "base64 of the base64",
                b64_encode(AZ_KEY.as_bytes(), B64_STD),
            ),
            ("hex of the text", hex::encode(AZ_KEY.as_bytes())),
            ("text bytes", format!("{:?}", AZ_KEY.as_bytes())),
        ] {
            assert_masked(&set, &form, what);
        }
        // Inside a longer base64 text (`account:key`, as in a basic authorization):
        // only the encoded account name and the edges are left.
        let prefix = "devstoreaccount1:";
        let embedded = b64_encode(format!("{prefix}{AZ_KEY}").as_bytes(), B64_STD);
        assert_masked_but(&set, &embedded, "inside a longer base64 text", 24 + 6);
        // A truncated dump still shows none of the key's bytes.
        let head = format!("{:?}", &key[..10]);
        assert_masked(&set, &head, "first bytes");
        // What object_store itself prints: the access key and the whole client.
        let ak = object_store::azure::AzureAccessKey::try_new(AZ_KEY).unwrap();
        let dump = format!("{ak:?}");
        assert!(dump.contains(&list[1..20]), "{dump}");
        let out = redact_with(&dump, &set);
        assert_eq!(out, "AzureAccessKey([***])");
        let client = object_store::azure::MicrosoftAzureBuilder::new()
            .with_account("gtaccount")
            .with_container_name("c")
            .with_access_key(AZ_KEY)
            .build()
            .unwrap();
        for dump in [format!("{client:?}"), format!("{client:#?}")] {
            let out = redact_with(&dump, &set);
            assert!(!out.contains(&list[1..20]), "{out}");
            let squeezed: String = out.chars().filter(|c| !c.is_whitespace()).collect();
            let first: Vec<String> = key[..8].iter().map(|b| b.to_string()).collect();
            assert!(!squeezed.contains(&first.join(",")), "{out}");
        }
    }

    #[test]
    fn every_form_of_a_text_secret_is_masked() {
        let secret = "gtSecret+Access/Key=9f8e\"7d6c\\5b4a3210ZYXW";
        let set = SecretSet::from_values([secret]);
        let pct = |lower: bool| -> String {
            secret
                .bytes()
                .map(|b| match (b.is_ascii_alphanumeric(), lower) {
                    (true, _) => (b as char).to_string(),
                    (false, false) => format!("%{b:02X}"),
                    (false, true) => format!("%{b:02x}"),
                })
                .collect()
        };
        for (what, form) in [
            ("raw", secret.to_string()),
            ("percent-encoded", pct(false)),
            ("percent-encoded, lower case", pct(true)),
            (
                "form-encoded",
                url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
            ),
            ("JSON", serde_json::to_string(secret).unwrap()),
            ("Debug", format!("{secret:?}")),
            (
                "Debug in JSON",
                serde_json::to_string(&format!("{secret:?}")).unwrap(),
            ),
            ("base64", b64_encode(secret.as_bytes(), B64_STD)),
            (
                "base64 at offset 1",
                b64_encode(format!("u:{secret}").as_bytes(), B64_STD),
            ),
            (
                "base64 at offset 2",
                b64_encode(format!("us:{secret}").as_bytes(), B64_URL),
            ),
            ("hex", hex::encode(secret.as_bytes())),
            ("bytes", format!("{:?}", secret.as_bytes())),
            ("bytes, pretty", format!("{:#?}", secret.as_bytes())),
        ] {
            assert_masked(&set, &form, what);
        }
        // Ordinary text is left alone, numbers included.
        for msg in [
            "loaded wave 2021-01 (10000 respondents, 3 statements) in 1.2 s",
            "versions [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]",
            "Make sure the value of Authorization header is formed correctly",
            "the token expired; the key is wrong",
        ] {
            assert_eq!(redact_with(msg, &set), msg);
        }
    }

    #[test]
    fn credentials_inside_keys_tokens_and_files_are_masked() {
        // A GCS service-account key: the PEM body, its lines and its bytes, the key id.
        let line1 = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDGTgcsPRIVATE";
        let line2 = "keyMATERIALabcdefghij0123456789+/ABCDEFGHIJKLMNOPQRSTUVWXYZabcd";
        let pem =
            format!("-----BEGIN PRIVATE KEY-----\n{line1}\n{line2}\n-----END PRIVATE KEY-----\n");
        let key = serde_json::json!({
            "type": "service_account",
            "private_key": pem,
            "private_key_id": "gtgcsprivatekeyid0123",
            "client_email": "gaptrack@example.iam.gserviceaccount.com",
        })
        .to_string();
        let set = SecretSet::from_values([key.as_str()]);
        for (what, form) in [
            ("whole key", key.clone()),
            ("key in JSON", serde_json::to_string(&key).unwrap()),
            ("PEM", pem.trim().to_string()),
            ("PEM, escaped", serde_json::to_string(&pem).unwrap()),
            ("PEM line", line1.to_string()),
            ("PEM line 2", line2.to_string()),
            ("key id", "gtgcsprivatekeyid0123".to_string()),
        ] {
            assert_masked(&set, &form, what);
        }
        let der = b64_decode(&format!("{line1}{line2}")).unwrap();
        assert_masked(&set, &format!("{:?}", &der[..16]), "key bytes");
        assert_eq!(
            redact_with(
                "client_email gaptrack@example.iam.gserviceaccount.com",
                &set
            ),
            "client_email gaptrack@example.iam.gserviceaccount.com"
        );
        // A SAS token: the token, its signature (decoded and not).
        let sas = "sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&sig=AbCdEf%2BgHiJk%2FlMnOp%3D";
        let set = SecretSet::from_values([sas]);
        for form in [sas, "AbCdEf+gHiJk/lMnOp=", "AbCdEf%2BgHiJk%2FlMnOp%3D"] {
            assert_masked(&set, form, form);
        }
        assert_eq!(
            redact_with(
                r#"SASToken([("sv", "2021-08-06"), ("sig", "ZZZZsignature0123=")])"#,
                &set
            ),
            r#"SASToken([("sv", "2021-08-06"), ("sig", "***")])"#
        );
        // A connection string and an INI credentials file.
        let set = SecretSet::from_values([
            "DefaultEndpointsProtocol=https;AccountName=gt;AccountKey=Q29ubmVjdGlvblN0cmluZ0tleTAxMjM0NTY3ODk=;EndpointSuffix=core.windows.net",
            "[default]\naws_access_key_id = AKIAINIFILE000000001\naws_secret_access_key = iniSecretValue/0123456789+abcdefghijklmn\n",
        ]);
        for form in [
            "Q29ubmVjdGlvblN0cmluZ0tleTAxMjM0NTY3ODk=",
            "AKIAINIFILE000000001",
            "iniSecretValue/0123456789+abcdefghijklmn",
        ] {
            assert_masked(&set, form, form);
        }
    }

    #[test]
    fn markers_are_redacted() {
        let none = SecretSet::default();
        for (m, want) in [
            (
                "GET https://a.blob.core.windows.net/c/x?sv=1&sig=SECRETSIG%3D&se=2 failed",
                "GET https://a.blob.core.windows.net/c/x?sv=1&sig=***&se=2 failed",
            ),
            (
                r#"{"message":"url?X-Amz-Signature=abcdef0123","x":1}"#,
                r#"{"message":"url?X-Amz-Signature=***","x":1}"#,
            ),
            (
                "url?X-Amz-Credential=AKIA%2F2024&X-Amz-Security-Token=FwoGZX&X-Goog-Signature=0a1b",
                "url?X-Amz-Credential=***&X-Amz-Security-Token=***&X-Goog-Signature=***",
            ),
            (
                "Authorization: AWS4-HMAC-SHA256 Credential=AKIA/20240101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=fe5f80f77d5f\nnext",
                "Authorization: ***\nnext",
            ),
            (
                r#"headers: {"authorization": "SharedKey acct:c2lnbmF0dXJl", "x-ms-version": "2021"}"#,
                r#"headers: {"authorization": "***", "x-ms-version": "2021"}"#,
            ),
            (
                r#"{"message":"headers: {\"authorization\": \"Bearer eyJ0eXAi.abc\", \"x-amz-security-token\": \"FwoGZXIvYXdz\"}"}"#,
                r#"{"message":"headers: {\"authorization\": \"***\", \"x-amz-security-token\": \"***\"}"}"#,
            ),
            (
                r#"token response {"access_token":"ya29.a0Af","expires_in":3599,"refresh_token":"1//0g"}"#,
                r#"token response {"access_token":"***","expires_in":3599,"refresh_token":"***"}"#,
            ),
            (
                r#"AzureCliCredential { token: Some("eyJ0eXAi"), client_secret: "cs~123" }"#,
                r#"AzureCliCredential { token: Some("***"), client_secret: "***" }"#,
            ),
            (
                "grant_type=client_credentials&client_secret=abc~def&client_assertion=eyJhbGc.x.y",
                "grant_type=client_credentials&client_secret=***&client_assertion=***",
            ),
            (
                "<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>AKIAX</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n2024\nabc</StringToSign><SignatureProvided>fe5f80f7</SignatureProvided><StringToSignBytes>41 57 53</StringToSignBytes><CanonicalRequest>GET\n/\nx-amz-security-token:FwoG</CanonicalRequest></Error>",
                "<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>***</AWSAccessKeyId><StringToSign>***</StringToSign><SignatureProvided>***</SignatureProvided><StringToSignBytes>***</StringToSignBytes><CanonicalRequest>***</CanonicalRequest></Error>",
            ),
            (
                "<Code>AuthenticationFailed</Code><AuthenticationErrorDetail>The MAC signature found in the HTTP request 'c2ln' is not the same</AuthenticationErrorDetail>",
                "<Code>AuthenticationFailed</Code><AuthenticationErrorDetail>***</AuthenticationErrorDetail>",
            ),
            (
                "<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>wJalr</SecretAccessKey><SessionToken>FwoG</SessionToken></Credentials>",
                "<Credentials><AccessKeyId>***</AccessKeyId><SecretAccessKey>***</SecretAccessKey><SessionToken>***</SessionToken></Credentials>",
            ),
        ] {
            assert_eq!(redact_with(m, &none), want, "{m}");
        }
    }

    #[test]
    fn base64_round_trips() {
        for n in 0..40 {
            let b: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            for alphabet in [B64_STD, B64_URL] {
                let e = b64_encode(&b, alphabet);
                assert_eq!(b64_decode(&e).unwrap(), b, "{e}");
                assert_eq!(b64_decode(e.trim_end_matches('=')).unwrap(), b, "{e}");
            }
        }
        assert!(b64_decode("not base64!").is_none());
    }

    #[test]
    fn locations_hide_credentials() {
        assert_eq!(
            redact_location("s3://AKIA:topsecretvalue@bucket/p"),
            "s3://***@bucket/p"
        );
        assert_eq!(
            redact_location("s3://AKIAKEYIDVALUE@bucket/p"),
            "s3://***@bucket/p"
        );
        assert_eq!(redact_location("az://c/p?sv=1&sig=abc"), "az://c/p?***");
        assert_eq!(
            redact_location("abfss://container@acct.dfs.core.windows.net/p"),
            "abfss://container@acct.dfs.core.windows.net/p"
        );
        for url in [
            "s3://AKIA:topsecretvalue@bucket/p",
            "s3://topsecretvalue@bucket/p",
            "s3://:topsecretvalue@bucket/p",
            "gs://topsecretvalue@bucket/p",
            "az://topsecretvalue:pw@container/p",
            "az://topsecretvalue@container/p",
            "abfss://topsecretvalue@host.example.com/p",
            "abfss://c:topsecretvalue@acct.dfs.core.windows.net/p",
            "memory://topsecretvalue@x/p",
            "file://topsecretvalue@localhost/tmp/p",
            "az://c/p?sv=1&sig=topsecretvalue",
        ] {
            let e = Store::open(url).unwrap_err();
            assert!(!e.to_string().contains("topsecretvalue"), "{url}: {e}");
            assert_eq!(e.exit_code(), 3, "{url}: {e}");
        }
        // The container of an ADLS URL is not a credential.
        let url = parse_location("abfss://container@acct.dfs.core.windows.net/p", "x").unwrap();
        assert_eq!(url.username(), "container");
    }

    /// deltalake logs the object store of every table it opens (`{store:?}`): a store's
    /// object store names its location only, never the client's configuration.
    #[test]
    fn object_store_debug_names_the_location_only() {
        let client = object_store::azure::MicrosoftAzureBuilder::new()
            .with_account("gtaccount")
            .with_container_name("c")
            .with_access_key(AZ_KEY)
            .build()
            .unwrap();
        let key = az_key_bytes();
        let raw = format!("{client:?}");
        assert!(raw.contains(&format!("{key:?}")[1..20]), "{raw}");
        let url = Url::parse("az://c/wh").unwrap();
        let store = Store::with_object_store(&url, "az://c/wh", Arc::new(client)).unwrap();
        let (os, _) = store.object_store();
        assert_eq!(format!("{os:?}"), "ObjectStore(az://c/wh)");
        assert_eq!(format!("{os}"), "ObjectStore(az://c/wh)");
        let b = store.builder(WAVES).unwrap();
        let dump = format!("{b:?}");
        assert!(!dump.contains(&format!("{key:?}")[1..20]), "{dump}");
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
