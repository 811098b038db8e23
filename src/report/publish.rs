//! Publishing a report: the whole set of files or nothing, and never into the store.
//!
//! A publication is a set of files: the chosen formats, their breakdowns, and
//! `manifest.json`, which lists every other file of the set with its size and sha256 and
//! the data version (see [`Manifest`]). Every file of the set is written aside first
//! (a hidden staging directory or prefix), so a failure while writing leaves the previous
//! publication as it was. Then the set is switched:
//!
//! - on local disk, the staging directory (a hidden sibling of the output directory)
//!   is exchanged with the output directory in one `renameat2(RENAME_EXCHANGE)`: a
//!   reader sees the old set or the new one, whatever moment the process is killed at.
//!   Where that cannot be done (the output directory holds files that are not part of a
//!   publication, is the working directory, is a mount point, or the system has no
//!   exchange), each file is renamed into place, `manifest.json` last;
//! - on an object store (no rename), each staged object is copied into place,
//!   `manifest.json` last. The manifest defines the set: a publication is complete when
//!   every file it lists has its size and sha256 ([`Manifest::verify`]).
//!
//! Files of the previous set that the new one does not have (`breakdown.*` of an
//! earlier `--by`, a format no longer asked for) are removed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::Report;
use super::{render_set, ReportFormat};
use crate::error::{Error, InputError, Result};
use crate::store::{normalize_path, Store};

/// The name of the manifest of a publication.
pub const MANIFEST: &str = "manifest.json";

/// The files a publication of an earlier version (before manifests) may hold.
const KNOWN_FILES: [&str; 6] = [
    "trend.md",
    "trend.csv",
    "trend.json",
    "index.html",
    "breakdown.csv",
    "breakdown.json",
];

/// `manifest.json`: what one publication holds. Deterministic (no clock time; files
/// sorted by name), so the same store state gives the same manifest byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `gaptrack-report/1`.
    pub format: String,
    /// The data version the report was built from.
    pub data_version: i64,
    /// The pair, `A:B`.
    pub pair: String,
    /// Every other file of the publication, sorted by name.
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    pub const FORMAT: &'static str = "gaptrack-report/1";

    /// The manifest of `files` (name, bytes), rendered from `r`.
    pub fn of(r: &Report, files: &[(String, Vec<u8>)]) -> Manifest {
        let mut list: Vec<ManifestFile> = files
            .iter()
            .map(|(name, bytes)| ManifestFile {
                name: name.clone(),
                bytes: bytes.len() as u64,
                sha256: hex::encode(Sha256::digest(bytes)),
            })
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Manifest {
            format: Self::FORMAT.to_string(),
            data_version: r.data_version,
            pair: format!("{}:{}", r.group_a, r.group_b),
            files: list,
        }
    }

    pub fn render(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a manifest serialises");
        out.push(b'\n');
        out
    }

    pub fn parse(bytes: &[u8]) -> Option<Manifest> {
        serde_json::from_slice(bytes)
            .ok()
            .filter(|m: &Manifest| m.format == Self::FORMAT)
    }

    /// Whether the publication is complete: `read(name)` gives each listed file with
    /// its size and sha256.
    pub fn verify(&self, mut read: impl FnMut(&str) -> Option<Vec<u8>>) -> bool {
        self.files.iter().all(|f| {
            read(&f.name).is_some_and(|b| {
                b.len() as u64 == f.bytes && hex::encode(Sha256::digest(&b)) == f.sha256
            })
        })
    }

    fn names(&self) -> Vec<String> {
        self.files.iter().map(|f| f.name.clone()).collect()
    }
}

/// The names of the previous publication's files (from its manifest; for a publication
/// without one, the report files it may hold).
fn previous_names(manifest: Option<&[u8]>) -> Vec<String> {
    match manifest.and_then(Manifest::parse) {
        Some(m) => m.names(),
        None => KNOWN_FILES.iter().map(|s| s.to_string()).collect(),
    }
}

fn out_error(e: Error) -> Error {
    match e {
        Error::Invalid(mut i) => {
            for err in &mut i.errors {
                err.column = Some("--out".into());
            }
            Error::Invalid(i)
        }
        other => other,
    }
}

/// Writes the chosen formats and `manifest.json` into `out` (a directory or store URL),
/// atomically as a set. Returns the names of the files written.
pub async fn publish(r: &Report, out: &str, formats: &[ReportFormat]) -> Result<Vec<String>> {
    let target = Store::open(out).map_err(out_error)?;
    publish_to(r, &target, formats).await
}

/// [`publish`] into an opened location.
pub async fn publish_to(
    r: &Report,
    target: &Store,
    formats: &[ReportFormat],
) -> Result<Vec<String>> {
    let mut files = render_set(r, formats)?;
    let manifest = Manifest::of(r, &files);
    files.push((MANIFEST.to_string(), manifest.render()));
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    if target.is_local() {
        let dir = target.url.to_file_path().map_err(|_| {
            Error::input(InputError::new(&target.display, "not a local directory").column("--out"))
        })?;
        tokio::task::spawn_blocking(move || local::publish(&dir, &files))
            .await
            .map_err(|e| Error::Other(format!("publishing the report: {e}")))??;
    } else {
        remote::publish(target, files).await?;
    }
    Ok(names)
}

/// A unique suffix for a staging name: the process id (so that a later publication can
/// tell a leftover of a dead process) and the time in nanoseconds.
fn staging_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// Whether the process that wrote a staging name (`…-PID-NANOS`) is gone: on this
/// machine (`here`) by its process id where there is a process table, else (and for
/// object stores, which other machines write too) when the staging is an hour old.
fn writer_is_gone(name: &str, modified: Option<std::time::SystemTime>, here: bool) -> bool {
    let pid = name.rsplit('-').nth(1).and_then(|p| p.parse::<u32>().ok());
    if here && Path::new("/proc/self").exists() {
        if let Some(pid) = pid {
            return pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists();
        }
    }
    // Without a process table: an hour old is abandoned.
    modified
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 3600)
}

mod local {
    use super::*;
    use std::fs;
    use std::io::Write;

    fn io(what: impl std::fmt::Display, path: &Path, e: std::io::Error) -> Error {
        Error::io(format!("{what} {}", path.display()), e)
    }

    fn sync_dir(dir: &Path) {
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }

    /// Removes staging directories left by killed publications into `dir`.
    fn remove_leftovers(parent: &Path, prefix: &str) {
        let Ok(entries) = fs::read_dir(parent) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with(prefix) {
                let modified = e.metadata().ok().and_then(|m| m.modified().ok());
                if writer_is_gone(&name, modified, true) {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }

    fn write_set(staging: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
        fs::create_dir(staging).map_err(|e| io("creating", staging, e))?;
        for (name, bytes) in files {
            let p = staging.join(name);
            if let Some(dir) = p.parent().filter(|d| *d != staging) {
                fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
            }
            let mut f = fs::File::create_new(&p).map_err(|e| io("creating", &p, e))?;
            f.write_all(bytes).map_err(|e| io("writing", &p, e))?;
            f.sync_all().map_err(|e| io("writing", &p, e))?;
        }
        sync_dir(staging);
        Ok(())
    }

    /// Exchanges two paths in one step (Linux `renameat2(RENAME_EXCHANGE)`).
    #[cfg(target_os = "linux")]
    fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let ca = CString::new(a.as_os_str().as_bytes())?;
        let cb = CString::new(b.as_os_str().as_bytes())?;
        // SAFETY: two valid NUL-terminated paths; the call reads nothing else.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                ca.as_ptr(),
                libc::AT_FDCWD,
                cb.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }

    #[cfg(unix)]
    fn same_device(a: &Path, b: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (fs::metadata(a), fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev(),
            _ => false,
        }
    }

    #[cfg(not(unix))]
    fn same_device(_: &Path, _: &Path) -> bool {
        false
    }

    /// Whether `dir` holds nothing but a publication (the files of `previous`, the
    /// manifest) and leftovers of earlier publications: only then may it be exchanged
    /// as a whole.
    fn holds_only_a_publication(dir: &Path, previous: &[String]) -> bool {
        holds_only(dir, "", previous)
    }

    /// Whether `dir` (at `prefix` in the publication) holds only files of `previous`,
    /// in subdirectories such as `charts/` too, and staging leftovers at the top.
    fn holds_only(dir: &Path, prefix: &str, previous: &[String]) -> bool {
        let Ok(entries) = fs::read_dir(dir) else {
            return false;
        };
        entries.flatten().all(|e| {
            let name = format!("{prefix}{}", e.file_name().to_string_lossy());
            let Ok(kind) = e.file_type() else {
                return false;
            };
            (kind.is_file() && (name == MANIFEST || previous.contains(&name)))
                || (kind.is_dir() && prefix.is_empty() && name.starts_with(".gaptrack-staging-"))
                || (kind.is_dir()
                    && previous.iter().any(|p| p.starts_with(&format!("{name}/")))
                    && holds_only(&e.path(), &format!("{name}/"), previous))
        })
    }

    fn is_working_directory(dir: &Path) -> bool {
        std::env::current_dir()
            .ok()
            .and_then(|c| c.canonicalize().ok())
            .is_some_and(|c| c.starts_with(dir))
    }

    pub(super) fn publish(out: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
        let out = normalize_path(out);
        // Through a link to the directory it names (the link itself stays).
        let out = out.canonicalize().unwrap_or(out);
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let parent = out.parent().filter(|_| !name.is_empty());
        if let Some(parent) = parent {
            fs::create_dir_all(parent).map_err(|e| io("creating", parent, e))?;
        }
        let exists = out.is_dir();
        let sibling_prefix = format!(".{name}.gaptrack-");
        let inner_prefix = ".gaptrack-staging-";
        if let Some(parent) = parent {
            remove_leftovers(parent, &sibling_prefix);
        }
        if exists {
            remove_leftovers(&out, inner_prefix);
        }
        let previous = previous_names(fs::read(out.join(MANIFEST)).ok().as_deref());
        // Stage beside the output directory (then it can be switched in one step), or
        // inside it when it is a mount point or has no parent.
        let sibling = parent.filter(|p| !exists || same_device(p, &out));
        let staging = match sibling {
            Some(p) => p.join(format!("{sibling_prefix}{}", staging_suffix())),
            None => {
                fs::create_dir_all(&out).map_err(|e| io("creating", &out, e))?;
                out.join(format!("{inner_prefix}{}", staging_suffix()))
            }
        };
        if let Err(e) = write_set(&staging, files) {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        if sibling.is_some() {
            if !out.exists() && fs::rename(&staging, &out).is_ok() {
                if let Some(p) = parent {
                    sync_dir(p);
                }
                return Ok(());
            }
            if out.is_dir()
                && holds_only_a_publication(&out, &previous)
                && !is_working_directory(&out)
            {
                if let Ok(meta) = fs::metadata(&out) {
                    let _ = fs::set_permissions(&staging, meta.permissions());
                }
                if exchange(&staging, &out).is_ok() {
                    // `staging` now holds the previous publication.
                    if let Some(p) = parent {
                        sync_dir(p);
                    }
                    let _ = fs::remove_dir_all(&staging);
                    return Ok(());
                }
            }
        }
        // File by file, the manifest last.
        let result = (|| {
            fs::create_dir_all(&out).map_err(|e| io("creating", &out, e))?;
            for (name, _) in files.iter().filter(|(n, _)| n != MANIFEST) {
                let (from, to) = (staging.join(name), out.join(name));
                if let Some(dir) = to.parent() {
                    fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
                }
                fs::rename(&from, &to).map_err(|e| io("publishing", &to, e))?;
            }
            let to = out.join(MANIFEST);
            fs::rename(staging.join(MANIFEST), &to).map_err(|e| io("publishing", &to, e))?;
            sync_dir(&out);
            for stale in previous
                .iter()
                .filter(|p| !files.iter().any(|(n, _)| n == *p))
            {
                let p = out.join(stale);
                if p.is_file() {
                    fs::remove_file(&p).map_err(|e| io("removing", &p, e))?;
                }
                // A subdirectory such as `charts/` goes with its last file.
                if let Some(dir) = p.parent().filter(|d| *d != out) {
                    let _ = fs::remove_dir(dir);
                }
            }
            sync_dir(&out);
            Ok(())
        })();
        let _ = fs::remove_dir_all(&staging);
        result
    }
}

mod remote {
    use super::*;
    use futures::StreamExt;
    use object_store::path::Path as ObjPath;
    use object_store::{ObjectStoreExt, PutPayload};

    const STAGING: &str = ".gaptrack-staging";

    fn err(target: &Store, what: &str, rel: &str, e: object_store::Error) -> Error {
        Error::object_store(
            format!("{what} {}/{rel}", target.display.trim_end_matches('/')),
            e,
        )
    }

    /// Deletes staged objects of publications whose writer is gone.
    async fn remove_leftovers(target: &Store) {
        let (root, _) = target.object_store();
        let prefix = target.path(STAGING);
        let mut old = Vec::new();
        let mut list = root.list(Some(&prefix));
        while let Some(Ok(meta)) = list.next().await {
            let parts: Vec<_> = meta.location.parts().collect();
            let Some(run) = parts.iter().rev().nth(1) else {
                continue;
            };
            if writer_is_gone(run.as_ref(), Some(meta.last_modified.into()), false) {
                old.push(meta.location);
            }
        }
        for p in old {
            let _ = root.delete(&p).await;
        }
    }

    pub(super) async fn publish(target: &Store, files: Vec<(String, Vec<u8>)>) -> Result<()> {
        let (root, _) = target.object_store();
        remove_leftovers(target).await;
        let previous = previous_names(target.get(MANIFEST).await?.as_deref());
        let run = format!("{STAGING}/{}", staging_suffix());
        let staged = |name: &str| -> ObjPath { target.path(&format!("{run}/{name}")) };
        let cleanup = || async {
            for (name, _) in &files {
                let _ = root.delete(&staged(name)).await;
            }
        };
        // 1. Everything aside: a failure here leaves the publication as it was.
        for (name, bytes) in &files {
            if let Err(e) = root
                .put(&staged(name), PutPayload::from(bytes.clone()))
                .await
            {
                cleanup().await;
                return Err(err(target, "writing", name, e));
            }
        }
        // 2. Into place, the manifest last.
        let order = files
            .iter()
            .filter(|(n, _)| n != MANIFEST)
            .chain(files.iter().filter(|(n, _)| n == MANIFEST));
        for (name, _) in order {
            if let Err(e) = root.copy(&staged(name), &target.path(name)).await {
                cleanup().await;
                return Err(err(target, "publishing", name, e));
            }
        }
        // 3. What the new set does not have.
        for stale in previous
            .iter()
            .filter(|p| !files.iter().any(|(n, _)| n == *p))
        {
            match root.delete(&target.path(stale)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    cleanup().await;
                    return Err(err(target, "removing", stale, e));
                }
            }
        }
        cleanup().await;
        Ok(())
    }
}

// --- Outputs inside the store -------------------------------------------------------------

/// A location reduced to what decides containment.
#[derive(Debug, PartialEq)]
enum Place {
    /// An absolute local path, `..` resolved (and links, where they resolve).
    Local(PathBuf),
    /// An object store location: scheme family, bucket or container, path segments.
    Remote(String, String, Vec<String>),
}

fn local_path(s: &str) -> Option<PathBuf> {
    let p = std::path::absolute(s).ok()?;
    Some(normalize_path(&p))
}

/// `p` with links resolved as far as the path exists.
fn resolve_links(p: &Path) -> PathBuf {
    let mut existing = p.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            let mut out = c;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.file_name(), existing.parent()) {
            (Some(n), Some(parent)) => {
                rest.push(n.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return p.to_path_buf(),
        }
    }
}

fn places(location: &str) -> Vec<Place> {
    let location = location.trim();
    if !location.contains("://") || location.starts_with("file://") {
        let path = match location.strip_prefix("file://") {
            Some(rest) => url::Url::parse(location)
                .ok()
                .and_then(|u| u.to_file_path().ok())
                .or_else(|| Some(PathBuf::from(rest))),
            None => Some(PathBuf::from(location)),
        };
        let Some(p) = path.and_then(|p| local_path(&p.to_string_lossy())) else {
            return vec![];
        };
        let resolved = resolve_links(&p);
        return vec![Place::Local(p), Place::Local(resolved)];
    }
    let Ok(url) = url::Url::parse(location) else {
        return vec![];
    };
    let family = match url.scheme() {
        "s3" | "s3a" => "s3",
        "az" | "abfs" | "abfss" | "azure" | "adl" => "az",
        other => other,
    }
    .to_string();
    // abfs://container@account.dfs.core.windows.net/path names the container first.
    let container = if family == "az" && !url.username().is_empty() {
        url.username().to_string()
    } else {
        url.host_str().unwrap_or("").to_string()
    };
    let mut segments: Vec<String> = Vec::new();
    for s in url.path_segments().into_iter().flatten() {
        let s = percent_decode(s);
        match s.as_str() {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(s),
        }
    }
    vec![Place::Remote(family, container, segments)]
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

fn inside(target: &Place, store: &Place) -> bool {
    match (target, store) {
        (Place::Local(t), Place::Local(s)) => t.starts_with(s),
        (Place::Remote(tf, tc, tp), Place::Remote(sf, sc, sp)) => {
            tf == sf && tc == sc && tp.len() >= sp.len() && tp[..sp.len()] == sp[..]
        }
        _ => false,
    }
}

/// Refuses (invalid input, exit 3) an output location `target` (given as `flag`) that
/// is the store or lies inside it: writing there could overwrite a table's commit or
/// data file. Local paths are compared after resolving `..` and, where the path exists,
/// links; object store URLs by scheme, bucket or container, and path prefix.
pub fn refuse_inside_store(store: &Store, target: &str, flag: &str) -> Result<()> {
    let stores = places(store.url.as_str());
    let targets = places(target);
    if targets.iter().any(|t| stores.iter().any(|s| inside(t, s))) {
        return Err(Error::input(
            InputError::new(
                crate::store::redact_location(target),
                format!(
                    "is inside the store {}; writing there could overwrite its tables. \
                     Choose a location outside the store",
                    store.display
                ),
            )
            .column(flag),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(store: &str, target: &str) -> bool {
        // Cloud stores without credentials in the environment: any client will do.
        let s = Store::open(store).unwrap_or_else(|_| {
            let url = url::Url::parse(store).unwrap();
            let os = std::sync::Arc::new(object_store::memory::InMemory::new());
            Store::with_object_store(&url, store, os).unwrap()
        });
        refuse_inside_store(&s, target, "--output").is_err()
    }

    #[test]
    fn outputs_inside_the_store_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let wh = tmp.path().join("wh");
        std::fs::create_dir_all(wh.join("waves/_delta_log")).unwrap();
        let w = wh.display().to_string();
        let t = tmp.path().display().to_string();
        assert!(refused(
            &w,
            &format!("{w}/waves/_delta_log/00000000000000000000.json")
        ));
        assert!(refused(&w, &w));
        assert!(refused(&w, &format!("{t}/other/../wh/x.csv")));
        assert!(refused(&w, &format!("file://{w}/responses/x.parquet")));
        assert!(!refused(&w, &format!("{t}/wh2/x.csv")));
        assert!(!refused(&w, &format!("{t}/x.csv")));
        // Through a link to the store.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&wh, tmp.path().join("link")).unwrap();
            assert!(refused(&w, &format!("{t}/link/waves/new.json")));
            assert!(refused(&format!("{t}/link"), &format!("{w}/x.csv")));
        }
        assert!(refused("s3://b/wh", "s3://b/wh/waves/_delta_log/0.json"));
        assert!(refused("s3://b/wh", "s3a://b/x/../wh/waves/y"));
        assert!(refused("s3://b/wh", "s3://b/wh/%77aves/y"));
        assert!(refused(
            "az://c/wh",
            "abfs://c@acct.dfs.core.windows.net/wh/t/x"
        ));
        assert!(refused("memory:///wh", "memory:///wh/waves/x"));
        assert!(!refused("s3://b/wh", "s3://b/wh2/x.csv"));
        assert!(!refused("s3://b/wh", "s3://other/wh/x.csv"));
        assert!(!refused("s3://b/wh", "gs://b/wh/x.csv"));
        assert!(!refused(&w, "s3://b/wh/x.csv"));
    }

    #[test]
    fn a_manifest_is_deterministic_and_verifies_its_files() {
        let r = Report {
            group_a: "a".into(),
            group_b: "b".into(),
            waves: vec![],
            statements: vec![],
            min_base: 30,
            suppress_below: 10,
            min_base_on: crate::sql::BaseOn::N,
            data_version: 4,
            variance: "kish".into(),
            breakdowns: vec![],
            slopes: vec![],
            baseline: None,
            themes: vec![],
            words: crate::report::model::Words::default(),
        };
        let files = vec![
            ("trend.md".to_string(), b"md".to_vec()),
            ("index.html".to_string(), b"html".to_vec()),
        ];
        let m = Manifest::of(&r, &files);
        assert_eq!(m.render(), Manifest::of(&r, &files).render());
        assert_eq!(m.files[0].name, "index.html");
        assert_eq!(Manifest::parse(&m.render()), Some(m.clone()));
        let get = |n: &str| files.iter().find(|f| f.0 == n).map(|f| f.1.clone());
        assert!(m.verify(get));
        assert!(!m.verify(|n| if n == "trend.md" {
            Some(b"mx".to_vec())
        } else {
            get(n)
        }));
        assert!(!m.verify(|n| if n == "trend.md" { None } else { get(n) }));
    }
}
