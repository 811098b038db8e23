//! The wide microdata reader: one row per respondent, one column per statement. Streams
//! the file record by record against the spec (no schema inference), validates every
//! field, and hands each valid respondent to a callback. Problems are collected (up to a
//! bound) so a user can fix a file in one pass.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use crate::error::{Error, InputError, Invalid, Result};
use crate::spec::{Scale, WaveSpec};

/// How many problems of one file are kept (the first is the headline).
pub const MAX_ERRORS: usize = 21;

/// Sufficient statistics of one wave × statement × group cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellAcc {
    /// Respondents with a non-missing answer.
    pub n: i64,
    /// Σw
    pub sum_w: f64,
    /// Σw·agree
    pub sum_wa: f64,
    /// Σw²
    pub sum_w2: f64,
    /// Σw²·agree
    pub sum_w2a: f64,
}

impl CellAcc {
    #[inline]
    pub fn add(&mut self, w: f64, agree: bool) {
        self.n += 1;
        self.sum_w += w;
        self.sum_w2 += w * w;
        if agree {
            self.sum_wa += w;
            self.sum_w2a += w * w;
        }
    }
}

/// What a pass over a microdata file found.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Respondents (data rows).
    pub respondents: u64,
    /// Respondents per canonical group.
    pub per_group: BTreeMap<String, u64>,
    /// Missing answers (empty or missing code) per statement, in spec order.
    pub missing: Vec<u64>,
    /// (statement index, group) -> statistics; only cells with at least one answer.
    pub cells: BTreeMap<(usize, String), CellAcc>,
    /// sha256 of the source bytes as read from disk.
    pub source_sha256: String,
    /// Bytes read.
    pub bytes: u64,
}

/// One valid respondent, borrowed from the reader's buffers.
pub struct Row<'a> {
    pub id: &'a str,
    pub group: &'a str,
    pub weight: f64,
    /// One per spec segment; `None` where the cell is empty.
    pub segments: &'a [Option<String>],
    /// One per statement: the coded value (`None` for an empty cell).
    pub values: &'a [Option<i32>],
    /// One per statement: agreement (`None` where missing).
    pub agree: &'a [Option<bool>],
}

/// Hashes while reading.
struct HashingReader<R> {
    inner: R,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

struct Errors {
    list: Vec<InputError>,
    total: usize,
}

impl Errors {
    fn push(&mut self, e: InputError) {
        self.total += 1;
        if self.list.len() < MAX_ERRORS {
            self.list.push(e);
        }
    }
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    use sha2::Digest;
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex::encode(h.finalize()), total))
}

fn quote(v: &str) -> String {
    let mut s: String = v.chars().take(60).collect();
    if v.chars().count() > 60 {
        s.push('…');
    }
    format!("{s:?}")
}

/// Parses an answer cell. `Ok(None)` for an empty cell.
fn parse_code(s: &str) -> std::result::Result<Option<i64>, ()> {
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(v) = s.parse::<i64>() {
        return Ok(Some(v));
    }
    // Exports from statistics packages write "4.0"; accept integral decimals only.
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => Ok(Some(f as i64)),
        _ => Err(()),
    }
}

/// Reads a wide CSV/TSV microdata file, validating it against `spec`, calling `on_row`
/// for every valid respondent. Returns the summary, or every problem found.
pub fn read(
    spec: &WaveSpec,
    path: &Path,
    shown: &str,
    mut on_row: impl FnMut(&Row) -> Result<()>,
) -> Result<Summary> {
    use sha2::Digest;
    let resp = spec
        .respondent
        .as_ref()
        .expect("microdata specs have [respondent]");
    let file_err = |msg: String| Error::input(InputError::new(shown, msg));
    let raw = crate::ingest::decode::open(path, &spec.encoding).map_err(|e| {
        file_err(format!(
            "cannot read the source: {}",
            crate::spec::io_reason(&e)
        ))
    })?;
    let mut hashing = HashingReader {
        inner: raw,
        hasher: sha2::Sha256::new(),
        bytes: 0,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(spec.delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(&mut hashing);

    let mut errors = Errors {
        list: Vec::new(),
        total: 0,
    };
    let mut record = csv::ByteRecord::new();

    // Header.
    let header: Vec<String> = match rdr.read_byte_record(&mut record) {
        Ok(false) => {
            return Err(file_err(
                "the file is empty: expected a header row and data rows".into(),
            ))
        }
        Err(e) => return Err(csv_error(shown, &e)),
        Ok(true) => {
            let mut h = Vec::with_capacity(record.len());
            for (i, f) in record.iter().enumerate() {
                match std::str::from_utf8(f) {
                    Ok(s) => h.push(s.trim().trim_start_matches('\u{feff}').to_string()),
                    Err(_) => {
                        return Err(Error::input(
                            InputError::new(shown, format!(
                                "header field {} is not valid UTF-8; set `encoding` in the spec (e.g. \"windows-1252\")",
                                i + 1
                            ))
                            .line(1),
                        ))
                    }
                }
            }
            h
        }
    };
    if header.len() == 1 && header[0].is_empty() {
        return Err(Error::input(
            InputError::new(shown, "the header row is empty").line(1),
        ));
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut dup_header: Vec<&str> = Vec::new();
    for (i, h) in header.iter().enumerate() {
        if index.insert(h.as_str(), i).is_some() {
            dup_header.push(h.as_str());
        }
    }
    let mut missing_cols = Vec::new();
    let mut col = |name: &str, role: String| -> Option<usize> {
        if dup_header.contains(&name) {
            missing_cols.push(format!(
                "column {name:?} ({role}) appears more than once in the header"
            ));
            return None;
        }
        match index.get(name) {
            Some(&i) => Some(i),
            None => {
                missing_cols.push(format!("column {name:?} ({role}) is not in the header"));
                None
            }
        }
    };
    let id_col = col(&resp.id, "respondent id".into());
    let group_col = col(&resp.group, "group".into());
    let weight_col = resp.weight.as_ref().map(|w| col(w, "weight".into()));
    let seg_cols: Vec<Option<usize>> = resp
        .segments
        .iter()
        .map(|s| col(s, "segment".into()))
        .collect();
    let stmt_cols: Vec<Option<usize>> = spec
        .statements
        .iter()
        .map(|s| {
            col(
                s.column.as_deref().unwrap_or(""),
                format!("statement {}", s.id),
            )
        })
        .collect();
    if !missing_cols.is_empty() {
        let total = missing_cols.len();
        let mut list: Vec<InputError> = missing_cols
            .into_iter()
            .map(|m| {
                let available = header.join(", ");
                let shown_avail: String = available.chars().take(200).collect();
                InputError::new(shown, format!("{m} (columns: {shown_avail})")).line(1)
            })
            .collect();
        list.truncate(MAX_ERRORS);
        return Err(Error::Invalid(Invalid {
            errors: list,
            total,
        }));
    }
    let id_col = id_col.unwrap();
    let group_col = group_col.unwrap();
    let weight_col = weight_col.flatten();
    let seg_cols: Vec<usize> = seg_cols.into_iter().map(Option::unwrap).collect();
    let stmt_cols: Vec<usize> = stmt_cols.into_iter().map(Option::unwrap).collect();
    let scales: Vec<&Scale> = spec.statements.iter().map(|s| &s.scale).collect();
    let weight_name = resp.weight.clone().unwrap_or_default();

    let mut summary = Summary {
        missing: vec![0; spec.statements.len()],
        ..Default::default()
    };
    let mut seen_ids: HashMap<Box<str>, u64> = HashMap::new();
    let mut group_cache: HashMap<String, String> = HashMap::new();
    let mut cells: Vec<HashMap<String, CellAcc>> = vec![HashMap::new(); spec.statements.len()];
    let mut segments: Vec<Option<String>> = vec![None; seg_cols.len()];
    let mut values: Vec<Option<i32>> = vec![None; stmt_cols.len()];
    let mut agree: Vec<Option<bool>> = vec![None; stmt_cols.len()];
    let width = header.len();

    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                errors.push(csv_input_error(shown, &e));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        // A completely empty line at the end (or in the middle) of a file is not a respondent.
        if record.len() == 1 && record.get(0).map(|f| f.is_empty()).unwrap_or(false) {
            continue;
        }
        if record.len() != width {
            errors.push(
                InputError::new(
                    shown,
                    format!(
                        "the row has {} fields but the header has {width} (a stray delimiter, or an unquoted field containing one?)",
                        record.len()
                    ),
                )
                .line(line),
            );
            continue;
        }
        let mut row_ok = true;
        let field = |i: usize, name: &str, errors: &mut Errors| -> Option<&str> {
            match std::str::from_utf8(&record[i]) {
                Ok(s) => Some(s.trim()),
                Err(e) => {
                    let bad = &record[i][e.valid_up_to()..];
                    let byte = bad.first().copied().unwrap_or(0);
                    errors.push(
                        InputError::new(
                            shown,
                            format!(
                                "byte 0x{byte:02X} is not valid UTF-8; set `encoding` in the spec (e.g. \"windows-1252\" for Excel exports)"
                            ),
                        )
                        .line(line)
                        .column(name),
                    );
                    None
                }
            }
        };
        let id = field(id_col, &resp.id, &mut errors);
        let group_raw = field(group_col, &resp.group, &mut errors);
        let id = match id {
            None => {
                row_ok = false;
                ""
            }
            Some("") => {
                errors.push(
                    InputError::new(
                        shown,
                        "\"\" is empty; every row needs a unique respondent id",
                    )
                    .line(line)
                    .column(&resp.id),
                );
                row_ok = false;
                ""
            }
            Some(id) => {
                if let Some(&first) = seen_ids.get(id) {
                    errors.push(
                        InputError::new(
                            shown,
                            format!(
                                "{} is a duplicate respondent id (first on line {first})",
                                quote(id)
                            ),
                        )
                        .line(line)
                        .column(&resp.id),
                    );
                    row_ok = false;
                } else {
                    seen_ids.insert(id.into(), line);
                }
                id
            }
        };
        let group: Option<String> = match group_raw {
            None => None,
            Some("") => {
                errors.push(
                    InputError::new(shown, "\"\" is empty; every respondent needs a group")
                        .line(line)
                        .column(&resp.group),
                );
                None
            }
            Some(g) => Some(match group_cache.get(g) {
                Some(c) => c.clone(),
                None => {
                    let c = spec.canonical_group(g);
                    group_cache.insert(g.to_string(), c.clone());
                    c
                }
            }),
        };
        if group.is_none() {
            row_ok = false;
        }
        let weight = match weight_col {
            None => 1.0,
            Some(i) => match field(i, &weight_name, &mut errors) {
                None => {
                    row_ok = false;
                    1.0
                }
                Some(s) => match s.parse::<f64>() {
                    Ok(w) if w.is_finite() && w > 0.0 => w,
                    _ => {
                        let why = if s.is_empty() {
                            "is blank"
                        } else {
                            "is not a valid weight"
                        };
                        errors.push(
                            InputError::new(
                                shown,
                                format!(
                                    "{} {why}; weights must be positive finite numbers",
                                    quote(s)
                                ),
                            )
                            .line(line)
                            .column(&weight_name),
                        );
                        row_ok = false;
                        1.0
                    }
                },
            },
        };
        for (k, &i) in seg_cols.iter().enumerate() {
            segments[k] = match field(i, &resp.segments[k], &mut errors) {
                None => {
                    row_ok = false;
                    None
                }
                Some("") => None,
                Some(s) => Some(s.to_string()),
            };
        }
        for (k, &i) in stmt_cols.iter().enumerate() {
            let name = spec.statements[k].column.as_deref().unwrap_or("");
            let Some(s) = field(i, name, &mut errors) else {
                row_ok = false;
                continue;
            };
            let scale = scales[k];
            match parse_code(s) {
                Ok(None) => {
                    values[k] = None;
                    agree[k] = None;
                }
                Ok(Some(v)) if scale.missing.contains(&v) => {
                    values[k] = Some(v as i32);
                    agree[k] = None;
                }
                Ok(Some(v)) if scale.is_answer(v) => {
                    values[k] = Some(v as i32);
                    agree[k] = Some(scale.agree.contains(&(v as u32)));
                }
                Ok(Some(_)) => {
                    errors.push(
                        InputError::new(shown, format!("{} is not {}", quote(s), scale.describe()))
                            .line(line)
                            .column(name),
                    );
                    row_ok = false;
                }
                Err(()) => {
                    let what = if s.parse::<f64>().is_ok() {
                        "is not a whole number"
                    } else {
                        "is not a number"
                    };
                    errors.push(
                        InputError::new(
                            shown,
                            format!("{} {what}; expected {}", quote(s), scale.describe()),
                        )
                        .line(line)
                        .column(name),
                    );
                    row_ok = false;
                }
            }
        }
        if !row_ok || errors.total > 0 {
            continue;
        }
        let group = group.unwrap();
        summary.respondents += 1;
        *summary.per_group.entry(group.clone()).or_insert(0) += 1;
        for k in 0..stmt_cols.len() {
            match agree[k] {
                None => summary.missing[k] += 1,
                Some(a) => {
                    let acc = match cells[k].get_mut(&group) {
                        Some(acc) => acc,
                        None => cells[k].entry(group.clone()).or_default(),
                    };
                    acc.add(weight, a);
                }
            }
        }
        on_row(&Row {
            id,
            group: &group,
            weight,
            segments: &segments,
            values: &values,
            agree: &agree,
        })?;
    }
    drop(rdr);
    if errors.total > 0 {
        return Err(Error::Invalid(Invalid {
            errors: errors.list,
            total: errors.total,
        }));
    }
    if summary.respondents == 0 {
        return Err(Error::input(
            InputError::new(shown, "the file has a header but no data rows").line(2),
        ));
    }
    for (k, m) in cells.into_iter().enumerate() {
        for (g, acc) in m {
            summary.cells.insert((k, g), acc);
        }
    }
    summary.bytes = hashing.bytes;
    summary.source_sha256 = hex::encode(hashing.hasher.finalize());
    Ok(summary)
}

fn csv_input_error(shown: &str, e: &csv::Error) -> InputError {
    let line = e.position().map(|p| p.line());
    let msg = match e.kind() {
        csv::ErrorKind::Io(io) => format!("cannot read the source: {io}"),
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 in field {}", err.field() + 1),
        other => format!("malformed CSV: {other:?}"),
    };
    let mut ie = InputError::new(shown, msg);
    ie.line = line;
    ie
}

fn csv_error(shown: &str, e: &csv::Error) -> Error {
    Error::input(csv_input_error(shown, e))
}
