//! The first phase of a wave: its source made readable locally (a store URL is fetched
//! to a temporary file) and, where its hash is needed before it is read, hashed; and,
//! for a wave not validated and staged in one pass, the validation pass (with rim
//! weighting's collector, where the spec asks for it).

use std::path::PathBuf;

use sha2::Digest;

use super::{read, weights};
use crate::diag::io_reason;
use crate::error::{Error, InputError, Result};
use crate::spec::{Format, Source, WaveSpec};
use crate::store::Store;

/// A spec whose source is readable locally (a store URL source is fetched to a temp file).
pub(super) struct Resolved {
    pub(super) spec: WaveSpec,
    pub(super) path: PathBuf,
    pub(super) shown: String,
    pub(super) spec_sha256: String,
    /// The source's sha256: taken by [`hash_source`] before the source is read where
    /// that is needed (to tell an unchanged wave, or to check that a second pass reads
    /// the same bytes); else from the one pass that reads it.
    pub(super) source_sha256: Option<String>,
    /// The source's size and modification time when it was resolved: a load checks
    /// them again once it has read the source (see [`Stamp::changed`]).
    pub(super) stamp: Stamp,
    /// The wording of each statement against the wave before (set once every wave of
    /// the command is validated).
    pub(super) wording: std::collections::HashMap<String, super::wording::Wording>,
    _tmp: Option<tempfile::TempPath>,
}

/// The data of one validated wave.
pub(super) enum Validated {
    /// The summary of the validation pass and, for a wave with `[weighting]`, the final
    /// weight of each respondent by its position.
    Microdata(Box<read::Summary>, Option<Box<crate::stats::rake::Raked>>),
    Cells(Vec<read::cells::PublishedCell>),
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

pub(super) async fn resolve(spec: WaveSpec) -> Result<Resolved> {
    let source_line = spec.source_line;
    resolve_source(spec).await.map_err(|e| match e {
        // Problems reported against the spec's `source` key get the key's line.
        Error::Invalid(mut i) => {
            for err in &mut i.errors {
                if err.column.as_deref() == Some("source") && err.line.is_none() {
                    err.line = source_line;
                }
            }
            Error::Invalid(i)
        }
        other => other,
    })
}

async fn resolve_source(spec: WaveSpec) -> Result<Resolved> {
    let spec_sha256 = sha256_hex(&spec.spec_bytes);
    let (path, shown, tmp) = match &spec.source {
        Source::Path(p) => (p.clone(), p.display().to_string(), None),
        Source::Url(u) => {
            let (dir, name) = match u.rsplit_once('/') {
                Some((d, n)) if !n.is_empty() => (d.to_string(), n.to_string()),
                _ => {
                    return Err(Error::input(
                        InputError::new(&spec.spec_path, format!("{u:?} does not name a file"))
                            .column("source"),
                    ))
                }
            };
            let store = Store::open(&dir).map_err(|e| match e {
                Error::Invalid(mut i) => {
                    for err in &mut i.errors {
                        err.file = spec.spec_path.clone();
                        err.column = Some("source".into());
                    }
                    Error::Invalid(i)
                }
                other => other,
            })?;
            let bytes = store.get(&name).await?.ok_or_else(|| {
                Error::input(
                    InputError::new(&spec.spec_path, format!("source {u:?} does not exist"))
                        .column("source"),
                )
            })?;
            let mut tmp = tempfile::NamedTempFile::new()
                .map_err(|e| Error::io("creating a temporary file", e))?;
            std::io::Write::write_all(&mut tmp, &bytes)
                .map_err(|e| Error::io("writing a temporary file", e))?;
            let tp = tmp.into_temp_path();
            (tp.to_path_buf(), u.clone(), Some(tp))
        }
    };
    let meta = std::fs::metadata(&path);
    let stamp = match meta {
        Ok(m) if m.is_file() => Stamp::of(&m),
        Ok(_) => {
            return Err(Error::input(
                InputError::new(&spec.spec_path, format!("source {shown:?} is not a file"))
                    .column("source"),
            ))
        }
        Err(e) => {
            return Err(Error::input(
                InputError::new(
                    &spec.spec_path,
                    format!("source {shown:?} cannot be read: {}", io_reason(&e)),
                )
                .column("source"),
            ))
        }
    };
    Ok(Resolved {
        spec,
        path,
        shown,
        spec_sha256,
        source_sha256: None,
        stamp,
        wording: Default::default(),
        _tmp: tmp,
    })
}

/// A file's size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Stamp {
    fn of(m: &std::fs::Metadata) -> Stamp {
        Stamp {
            len: m.len(),
            modified: m.modified().ok(),
        }
    }

    /// `true` when the file at `path` is no longer as stamped (written to, replaced,
    /// removed): a source that changed while it was being read.
    pub(super) fn changed(&self, path: &std::path::Path) -> bool {
        std::fs::metadata(path).map_or(true, |m| Stamp::of(&m) != *self)
    }
}

/// Hashes the source of `r` (a pass over its bytes) into `r.source_sha256`.
pub(super) async fn hash_source(r: &mut Resolved) -> Result<()> {
    let path = r.path.clone();
    let (sha, _) = tokio::task::spawn_blocking(move || read::sha256_file(&path))
        .await
        .map_err(|e| Error::Other(e.to_string()))?
        .map_err(|e| {
            Error::input(InputError::new(
                &r.shown,
                format!("cannot read the source: {}", io_reason(&e)),
            ))
        })?;
    r.source_sha256 = Some(sha);
    Ok(())
}

pub(super) async fn validate(r: &Resolved) -> Result<Validated> {
    let spec = r.spec.clone();
    let path = r.path.clone();
    let shown = r.shown.clone();
    tokio::task::spawn_blocking(move || match spec.format {
        Format::Cells => read::cells::read(&spec, &path, &shown).map(|(c, _)| Validated::Cells(c)),
        // Every microdata format: rim weighting, where the spec asks for it, collects
        // what it needs in the same pass.
        _ => {
            let mut rim = weights::Collector::new(&spec, &shown);
            let read = read::read(&spec, &path, &shown, None, |row| {
                if let Some(c) = rim.as_mut() {
                    c.add(row);
                }
                Ok(())
            });
            // The id hashes are the write pass's (this summary lives on meanwhile).
            let read = read.map(|s| read::Summary {
                id_hashes: Vec::new(),
                ..s
            });
            match (read, rim) {
                (Ok(s), None) => Ok(Validated::Microdata(Box::new(s), None)),
                (Ok(s), Some(c)) => {
                    let raked = c.finish(&spec)?;
                    Ok(Validated::Microdata(Box::new(s), Some(Box::new(raked))))
                }
                (Err(Error::Invalid(i)), Some(c)) => Err(Error::Invalid(c.before(i))),
                (Err(e), _) => Err(e),
            }
        }
    })
    .await
    .map_err(|e| Error::Other(format!("validation task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_sees_a_file_written_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wave.csv");
        std::fs::write(&path, "id,group\n1,sales\n").unwrap();
        let stamp = Stamp::of(&std::fs::metadata(&path).unwrap());
        assert!(!stamp.changed(&path));
        std::fs::write(&path, "id,group\n1,sales\n2,marketing\n").unwrap();
        assert!(stamp.changed(&path));
        std::fs::remove_file(&path).unwrap();
        assert!(stamp.changed(&path));
    }
}
