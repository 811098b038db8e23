//! Published figures (`format = "cells"`): a CSV with `statement,group,n,agree_pct`, one
//! row per statement × group, as a publication reports them. `n` may be blank where the
//! publication gives no base.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::error::{Error, InputError, Invalid, Result};
use crate::ingest::microdata::MAX_ERRORS;
use crate::spec::WaveSpec;

#[derive(Debug, Clone, PartialEq)]
pub struct PublishedCell {
    pub statement: String,
    pub group: String,
    pub n: Option<i64>,
    /// Percent agreeing, 0-100.
    pub pct: f64,
}

/// Reads and validates a cells file. Returns the cells (sorted by statement, group) and
/// the source sha256.
pub fn read(spec: &WaveSpec, path: &Path, shown: &str) -> Result<(Vec<PublishedCell>, String)> {
    let file_err = |msg: String| Error::input(InputError::new(shown, msg));
    let (sha, _) = crate::ingest::microdata::sha256_file(path).map_err(|e| {
        file_err(format!(
            "cannot read the source: {}",
            crate::spec::io_reason(&e)
        ))
    })?;
    let reader = crate::ingest::decode::open(path, &spec.encoding).map_err(|e| {
        file_err(format!(
            "cannot read the source: {}",
            crate::spec::io_reason(&e)
        ))
    })?;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(spec.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut records = rdr.records();
    let header = match records.next() {
        None => {
            return Err(file_err(
                "the file is empty: expected the header statement,group,n,agree_pct".into(),
            ))
        }
        Some(Err(e)) => return Err(file_err(format!("malformed CSV: {e}"))),
        Some(Ok(h)) => h,
    };
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let find = |n: &str| names.iter().position(|h| h == n);
    let (Some(ci_s), Some(ci_g), Some(ci_n), Some(ci_p)) = (
        find("statement"),
        find("group"),
        find("n"),
        find("agree_pct"),
    ) else {
        return Err(Error::input(
            InputError::new(
                shown,
                format!(
                    "the header must name the columns statement, group, n, agree_pct (found: {})",
                    names.join(", ")
                ),
            )
            .line(1),
        ));
    };
    let known: HashMap<&str, ()> = spec
        .statements
        .iter()
        .map(|s| (s.id.as_str(), ()))
        .collect();
    let mut errors: Vec<InputError> = Vec::new();
    let mut total = 0usize;
    let mut push = |e: InputError, errors: &mut Vec<InputError>| {
        total += 1;
        if errors.len() < MAX_ERRORS {
            errors.push(e);
        }
    };
    let mut seen: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut out = Vec::new();
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                push(
                    InputError::new(shown, format!("malformed CSV: {e}")).line(line),
                    &mut errors,
                );
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.len() == 1 && rec.get(0).map(|s| s.trim().is_empty()).unwrap_or(false) {
            continue;
        }
        if rec.len() != names.len() {
            push(
                InputError::new(
                    shown,
                    format!(
                        "the row has {} fields but the header has {}",
                        rec.len(),
                        names.len()
                    ),
                )
                .line(line),
                &mut errors,
            );
            continue;
        }
        let st = rec[ci_s].trim().to_string();
        let group_raw = rec[ci_g].trim();
        let n_raw = rec[ci_n].trim();
        let p_raw = rec[ci_p].trim().trim_end_matches('%').trim();
        let mut ok = true;
        if !known.contains_key(st.as_str()) {
            let ids: Vec<&str> = spec.statements.iter().map(|s| s.id.as_str()).collect();
            push(
                InputError::new(
                    shown,
                    format!(
                        "{st:?} is not a statement of the spec (statements: {})",
                        ids.join(", ")
                    ),
                )
                .line(line)
                .column("statement"),
                &mut errors,
            );
            ok = false;
        }
        if group_raw.is_empty() {
            push(
                InputError::new(shown, "\"\" is empty; every row needs a group")
                    .line(line)
                    .column("group"),
                &mut errors,
            );
            ok = false;
        }
        let n = if n_raw.is_empty() {
            None
        } else {
            match n_raw.parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    push(
                        InputError::new(
                            shown,
                            format!("{n_raw:?} is not a valid base: a positive whole number, or blank where the publication gives none"),
                        )
                        .line(line)
                        .column("n"),
                        &mut errors,
                    );
                    ok = false;
                    None
                }
            }
        };
        let pct = match p_raw.parse::<f64>() {
            Ok(p) if p.is_finite() && (0.0..=100.0).contains(&p) => p,
            _ => {
                push(
                    InputError::new(
                        shown,
                        format!(
                            "{:?} is not a percentage between 0 and 100",
                            rec[ci_p].trim()
                        ),
                    )
                    .line(line)
                    .column("agree_pct"),
                    &mut errors,
                );
                ok = false;
                0.0
            }
        };
        if !ok {
            continue;
        }
        let group = spec.canonical_group(group_raw);
        if let Some(first) = seen.insert((st.clone(), group.clone()), line) {
            push(
                InputError::new(
                    shown,
                    format!(
                        "statement {st:?} and group {group:?} appear twice (first on line {first})"
                    ),
                )
                .line(line)
                .column("group"),
                &mut errors,
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
    if total > 0 {
        return Err(Error::Invalid(Invalid { errors, total }));
    }
    if out.is_empty() {
        return Err(Error::input(
            InputError::new(shown, "the file has a header but no rows").line(2),
        ));
    }
    out.sort_by(|a, b| (&a.statement, &a.group).cmp(&(&b.statement, &b.group)));
    Ok((out, sha))
}
