//! The readers of wave sources, one file per format; this module only picks the reader of
//! a spec's format. Every reader of wide microdata streams its source record by record
//! into the one [`validate::Validator`]; [`text`] holds what the CSV-shaped readers share
//! (decoding, line tracking, CSV records). A new format is one file here and one arm in
//! [`read_from`].
//!
//! - [`csv`] — CSV and TSV, and Qualtrics exports (their two extra header rows)
//! - [`jsonl`] — JSON Lines
//! - [`parquet`] — Parquet
//! - [`sav`] — SPSS `.sav` / `.zsav`
//! - [`cells`] — published figures (one row per statement × group), not microdata

pub mod cells;
pub mod csv;
mod ids;
pub mod jsonl;
pub mod parquet;
pub mod sav;
pub mod text;
pub mod validate;

use std::io::Read;
use std::path::Path;

pub use validate::{sha256_file, CellAcc, Row, Summary};

use crate::diag::io_reason;
use crate::error::{Error, InputError, Result};
use crate::spec::{Format, WaveSpec};

/// Reads a wide microdata file (any microdata format of the spec), validating it against
/// `spec`, calling `on_row` for every valid respondent. Returns the summary, or every
/// problem found.
pub fn read(
    spec: &WaveSpec,
    path: &Path,
    shown: &str,
    weights: Option<&[f64]>,
    on_row: impl FnMut(&Row) -> Result<()>,
) -> Result<Summary> {
    let file = std::fs::File::open(path).map_err(|e| {
        Error::input(InputError::new(
            shown,
            format!("cannot read the source: {}", io_reason(&e)),
        ))
    })?;
    if spec.format == Format::Parquet {
        let (sha, bytes) = sha256_file(path).map_err(|e| {
            Error::input(InputError::new(
                shown,
                format!("cannot read the source: {}", io_reason(&e)),
            ))
        })?;
        return parquet::read(spec, file, shown, sha, bytes, weights, on_row);
    }
    read_from(spec, file, shown, weights, on_row)
}

/// [`read`] from any byte stream (the source's raw bytes, in the spec's encoding).
/// `shown` names the source in messages. A Parquet source, which needs random access, is
/// read into memory first (use [`read`] for files). `weights`, when given, replaces each
/// valid respondent's weight by the one at its position (rim weights of the wave).
pub fn read_from<R: Read>(
    spec: &WaveSpec,
    source: R,
    shown: &str,
    weights: Option<&[f64]>,
    on_row: impl FnMut(&Row) -> Result<()>,
) -> Result<Summary> {
    match spec.format {
        Format::Jsonl => jsonl::read_from(spec, source, shown, weights, on_row),
        Format::Sav => sav::read_from(spec, source, shown, weights, on_row),
        Format::Parquet => {
            let mut source = source;
            let mut buf = Vec::new();
            source.read_to_end(&mut buf).map_err(|e| {
                Error::input(InputError::new(
                    shown,
                    format!("cannot read the source: {e}"),
                ))
            })?;
            use sha2::Digest;
            let sha = hex::encode(sha2::Sha256::digest(&buf));
            let n = buf.len() as u64;
            parquet::read(
                spec,
                bytes::Bytes::from(buf),
                shown,
                sha,
                n,
                weights,
                on_row,
            )
        }
        Format::Csv | Format::Tsv | Format::Qualtrics | Format::Cells => {
            csv::read(spec, source, shown, weights, on_row)
        }
    }
}
