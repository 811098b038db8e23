//! Published figures (`format = "cells"`): a CSV with `statement,group,n,agree_pct`, one
//! row per statement × group, as a publication reports them. `n` may be blank where the
//! publication gives no base.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use super::text::{csv_records, decode_source, lines_before, next_record, read_header};
use super::validate::HashingReader;
use crate::diag::{io_reason, not_utf8, quote};
use crate::error::{Error, InputError, Invalid, Result};
use crate::spec::WaveSpec;

/// The indexes of statement, group, n, agree_pct in a cells file's (lower-cased) header.
fn columns(names: &[String], shown: &str, header_line: u64) -> Result<[usize; 4]> {
    let find = |n: &str| names.iter().position(|h| h == n);
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| find(c).is_none())
        .collect();
    let (Some(ci_s), Some(ci_g), Some(ci_n), Some(ci_p)) = (
        find("statement"),
        find("group"),
        find("n"),
        find("agree_pct"),
    ) else {
        let found: Vec<String> = names.iter().map(|n| quote(n)).collect();
        return Err(Error::input(
            InputError::new(
                shown,
                format!(
                    "the header has no column {}: a cells file has the columns statement, group, n, agree_pct (found: {})",
                    missing.join(", "),
                    found.join(", ")
                ),
            )
            .line(header_line),
        ));
    };
    for c in COLUMNS {
        if names.iter().filter(|n| n.as_str() == c).count() > 1 {
            return Err(Error::input(
                InputError::new(
                    shown,
                    format!(
                        "column {c:?} appears more than once in the header: rename one of them"
                    ),
                )
                .line(header_line),
            ));
        }
    }
    Ok([ci_s, ci_g, ci_n, ci_p])
}

/// One row's statement, raw group, base and percentage; `None` (and the problems
/// recorded) when any is invalid.
fn parse_row(
    known: &HashMap<&str, ()>,
    ids: &[&str],
    record: &csv::ByteRecord,
    line: u64,
    [ci_s, ci_g, ci_n, ci_p]: [usize; 4],
    shown: &str,
    errors: &mut Invalid,
) -> Option<(String, String, Option<i64>, f64)> {
    let at = |i: usize| line + lines_before(record, i);
    let mut ok = true;
    let mut text = |i: usize, name: &str, errors: &mut Invalid| -> &str {
        match std::str::from_utf8(&record[i]) {
            Ok(s) => s.trim(),
            Err(e) => {
                errors.push(
                    InputError::new(shown, not_utf8(&record[i], e))
                        .line(at(i))
                        .column(name),
                );
                ok = false;
                ""
            }
        }
    };
    let st = text(ci_s, "statement", errors).to_string();
    let group_raw = text(ci_g, "group", errors).to_string();
    let n_raw = text(ci_n, "n", errors).to_string();
    let p_cell = text(ci_p, "agree_pct", errors).to_string();
    if !ok {
        return None;
    }
    if !known.contains_key(st.as_str()) {
        errors.push(
            InputError::new(
                shown,
                format!(
                    "{} is not a statement of the spec (statements: {})",
                    quote(&st),
                    ids.join(", ")
                ),
            )
            .line(at(ci_s))
            .column("statement"),
        );
        ok = false;
    }
    if group_raw.is_empty() {
        errors.push(
            InputError::new(shown, "\"\" is blank: every row needs a group")
                .line(at(ci_g))
                .column("group"),
        );
        ok = false;
    }
    let n = base(&n_raw).unwrap_or_else(|msg| {
        errors.push(InputError::new(shown, msg).line(at(ci_n)).column("n"));
        ok = false;
        None
    });
    let pct = percentage(&p_cell).unwrap_or_else(|msg| {
        errors.push(
            InputError::new(shown, msg)
                .line(at(ci_p))
                .column("agree_pct"),
        );
        ok = false;
        0.0
    });
    ok.then_some((st, group_raw, n, pct))
}

/// A row's base: blank, or a positive whole number; otherwise the problem.
fn base(n_raw: &str) -> std::result::Result<Option<i64>, String> {
    if n_raw.is_empty() {
        return Ok(None);
    }
    match n_raw.parse::<i64>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => {
            let hint = if n_raw.contains([',', '.', ' '])
                && n_raw.replace([',', '.', ' '], "").parse::<i64>().is_ok()
            {
                " (write it without thousands separators)"
            } else {
                ""
            };
            Err(format!(
                "{} is not a valid base{hint}: a positive whole number, or blank where the publication gives none",
                quote(n_raw)
            ))
        }
    }
}

/// A row's agreement percentage, from 0 to 100 with or without a `%`; otherwise the
/// problem.
fn percentage(p_cell: &str) -> std::result::Result<f64, String> {
    match p_cell.trim_end_matches('%').trim().parse::<f64>() {
        Ok(p) if p.is_finite() && (0.0..=100.0).contains(&p) => Ok(p),
        _ => {
            let what = if p_cell.is_empty() {
                " is blank:"
            } else {
                " is not"
            };
            Err(format!(
                "{}{what} a percentage between 0 and 100 (e.g. 45.5 or 45.5%)",
                quote(p_cell)
            ))
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PublishedCell {
    pub statement: String,
    pub group: String,
    pub n: Option<i64>,
    /// Percent agreeing, 0-100.
    pub pct: f64,
}

/// The columns of a cells file.
const COLUMNS: [&str; 4] = ["statement", "group", "n", "agree_pct"];

/// Reads and validates a cells file. Returns the cells (sorted by statement, group) and
/// the source sha256.
pub fn read(spec: &WaveSpec, path: &Path, shown: &str) -> Result<(Vec<PublishedCell>, String)> {
    let file = std::fs::File::open(path).map_err(|e| {
        Error::input(InputError::new(
            shown,
            format!("cannot read the source: {}", io_reason(&e)),
        ))
    })?;
    read_from(spec, file, shown)
}

/// [`read`] from any byte stream (the source's raw bytes, in the spec's encoding).
pub fn read_from<R: Read>(
    spec: &WaveSpec,
    source: R,
    shown: &str,
) -> Result<(Vec<PublishedCell>, String)> {
    let mut hashing = HashingReader::new(source);
    let text = decode_source(&mut hashing, &spec.encoding, shown)?;
    let mut rdr = csv_records(text, spec.delimiter);
    let mut record = csv::ByteRecord::new();
    let (header_line, names) = read_header(
        &mut rdr,
        &mut record,
        shown,
        "the file is empty: expected the header statement,group,n,agree_pct and one row per statement and group",
    )?;
    let names: Vec<String> = names.into_iter().map(|n| n.to_lowercase()).collect();
    let idx = columns(&names, shown, header_line)?;
    let known: HashMap<&str, ()> = spec
        .statements
        .iter()
        .map(|s| (s.id.as_str(), ()))
        .collect();
    let ids: Vec<&str> = spec.statements.iter().map(|s| s.id.as_str()).collect();
    let mut errors = Invalid::default();
    let mut seen: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut out = Vec::new();
    let mut k: u64 = 0;
    while let Some(line) = next_record(&mut rdr, &mut record, &mut k, shown, &names, &mut errors) {
        let Some((st, group_raw, n, pct)) =
            parse_row(&known, &ids, &record, line, idx, shown, &mut errors)
        else {
            continue;
        };
        let at = |i: usize| line + lines_before(&record, i);
        let ci_g = idx[1];
        let group = spec.canonical_group(&group_raw);
        if let Some(first) = seen.insert((st.clone(), group.clone()), line) {
            errors.push(
                InputError::new(
                    shown,
                    format!(
                        "statement {} and group {} appear twice (first on line {first})",
                        quote(&st),
                        quote(&group)
                    ),
                )
                .line(at(ci_g))
                .column("group"),
            );
            continue;
        }
        out.push(PublishedCell {
            statement: st,
            group,
            n,
            pct,
        });
    }
    drop(rdr);
    errors.check()?;
    if out.is_empty() {
        return Err(Error::input(
            InputError::new(
                shown,
                "the file has a header row but no data rows: expected one row per statement and group",
            )
            .line(header_line),
        ));
    }
    out.sort_by(|a, b| (&a.statement, &a.group).cmp(&(&b.statement, &b.group)));
    Ok((out, hashing.sha256_hex()))
}
