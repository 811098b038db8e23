//! SPSS system files (`format = "sav"`, `.sav`): a small reader for what SPSS, PSPP,
//! ReadStat (pyreadstat, haven) and other writers put in a `.sav` file.
//!
//! Read: the file header (`$FL2`, either byte order, no compression or bytecode
//! compression), variable records (numeric; strings with their continuation records),
//! value labels (records 3 and 4) of numeric variables, documents (skipped), extension
//! records 7.3 (integer info: the character code), 7.4 (float info: the system-missing
//! value), 7.13 (long variable names), 7.14 (very long strings, whose segments are
//! joined), 7.20 (character encoding); other extension records are skipped. Then the
//! cases, streamed one by one. Zlib-compressed files (`$FL3`, "zsav") are refused with
//! what to do.
//!
//! Values reach the [`Validator`] as text: a numeric value is its number (4.0 is 4), the
//! system-missing value an empty cell; the group and segment columns are mapped through
//! their value labels (the label, then `[groups]`); answers stay numeric codes. SPSS
//! user-missing definitions are not applied: list such codes in the spec's `missing`.
//! Every length read from the file is bounded before anything is allocated, and a
//! truncated or malformed file is an error naming what is wrong, never a panic.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufReader, Read};

use encoding_rs::Encoding;

use super::validate::{
    available, find_columns, missing_columns_error, needed_columns, respondent, Fields,
    HashingReader, Loc, Row, Summary, Validator,
};
use crate::error::{Error, InputError, Result};
use crate::spec::WaveSpec;

/// Most 8-byte slots in one case (SPSS allows 32767 variables; very long strings add more).
const MAX_SLOTS: usize = 1 << 20;
/// Most bytes of one extension record, variable label or document read.
const MAX_RECORD: usize = 1 << 26;
/// Most value labels in one record.
const MAX_LABELS: usize = 1 << 24;

/// A problem with the file's structure (turned into an input error naming the file).
struct Bad(String);

type R<T> = std::result::Result<T, Bad>;

fn bad<T>(msg: impl Into<String>) -> R<T> {
    Err(Bad(msg.into()))
}

/// Reads the file's fields in its byte order.
struct Src<T> {
    inner: T,
    big: bool,
}

impl<T: Read> Src<T> {
    /// Exactly `buf.len()` bytes; `Ok(false)` at the end of the input before any byte.
    fn fill(&mut self, buf: &mut [u8], what: &str) -> R<bool> {
        let mut n = 0;
        while n < buf.len() {
            match self.inner.read(&mut buf[n..]) {
                Ok(0) if n == 0 => return Ok(false),
                Ok(0) => return bad(format!("the file is truncated (it ends inside {what})")),
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return bad(format!("cannot read the source: {e}")),
            }
        }
        Ok(true)
    }
    fn exact(&mut self, buf: &mut [u8], what: &str) -> R<()> {
        if self.fill(buf, what)? || buf.is_empty() {
            Ok(())
        } else {
            bad(format!("the file is truncated (it ends before {what})"))
        }
    }
    fn i32(&mut self, what: &str) -> R<i32> {
        let mut b = [0u8; 4];
        self.exact(&mut b, what)?;
        Ok(if self.big {
            i32::from_be_bytes(b)
        } else {
            i32::from_le_bytes(b)
        })
    }
    fn f64(&mut self, what: &str) -> R<f64> {
        let mut b = [0u8; 8];
        self.exact(&mut b, what)?;
        Ok(self.num(b))
    }
    fn num(&self, b: [u8; 8]) -> f64 {
        if self.big {
            f64::from_be_bytes(b)
        } else {
            f64::from_le_bytes(b)
        }
    }
    fn bytes(&mut self, n: usize, what: &str) -> R<Vec<u8>> {
        if n > MAX_RECORD {
            return bad(format!("{what} claims {n} bytes: the file is malformed"));
        }
        let mut v = Vec::new();
        let got = (&mut self.inner)
            .take(n as u64)
            .read_to_end(&mut v)
            .map_err(|e| Bad(format!("cannot read the source: {e}")))?;
        if got < n {
            return bad(format!("the file is truncated (it ends inside {what})"));
        }
        Ok(v)
    }
    fn skip(&mut self, n: u64, what: &str) -> R<()> {
        let got = std::io::copy(&mut (&mut self.inner).take(n), &mut std::io::sink())
            .map_err(|e| Bad(format!("cannot read the source: {e}")))?;
        if got < n {
            return bad(format!("the file is truncated (it ends inside {what})"));
        }
        Ok(())
    }
    /// A count that must be in `0..=max`.
    fn count(&mut self, max: usize, what: &str) -> R<usize> {
        let n = self.i32(what)?;
        match usize::try_from(n) {
            Ok(n) if n <= max => Ok(n),
            _ => bad(format!("{what} is {n}: the file is malformed")),
        }
    }
}

/// The raw values and labels of one value-label record.
type LabelSet = (Vec<[u8; 8]>, Vec<Vec<u8>>);

/// One variable of the dictionary.
#[derive(Debug)]
struct Var {
    /// The short (8-character) name, then the long name from record 7.13.
    short: String,
    name: String,
    /// 0 numeric, else the string width in bytes.
    width: usize,
    /// Index of its first 8-byte slot in a case.
    slot: usize,
    /// Slots it takes.
    slots: usize,
    /// Value labels (numeric variables): the value's bits -> label.
    labels: HashMap<u64, String>,
    /// Segments joined into this very long string (indices of later variables).
    segments: Vec<usize>,
    /// A segment of a very long string (not a column of its own).
    segment_of: Option<usize>,
}

/// The dictionary of a file.
struct Dict {
    vars: Vec<Var>,
    slots: usize,
    compressed: bool,
    bias: f64,
    ncases: Option<u64>,
    sysmis: f64,
    encoding: &'static Encoding,
}

fn name_text(b: &[u8], enc: &'static Encoding) -> String {
    let (s, _) = enc.decode_without_bom_handling(b);
    s.trim_end_matches([' ', '\0']).trim().to_string()
}

fn codepage(code: i32) -> Option<&'static Encoding> {
    match code {
        65001 => Some(encoding_rs::UTF_8),
        2 | 3 | 1252 | 28591 => Some(encoding_rs::WINDOWS_1252),
        c if c > 0 => Encoding::for_label(format!("windows-{c}").as_bytes())
            .or_else(|| Encoding::for_label(format!("cp{c}").as_bytes())),
        _ => None,
    }
}

/// Reads the header and the dictionary, up to the start of the data.
fn dictionary<T: Read>(src: &mut Src<T>, fallback: &'static Encoding) -> R<Dict> {
    let mut magic = [0u8; 4];
    if !src.fill(&mut magic, "the file header")? {
        return bad("the file is empty: expected an SPSS system file (.sav)");
    }
    match &magic {
        b"$FL2" => {}
        b"$FL3" => {
            return bad(
                "the file is a zlib-compressed SPSS file (ZSAV), which gaptrack does not read: save it from SPSS as a .sav without \"compressed (ZSAV)\" (uncompressed or standard compression), or export it as CSV",
            )
        }
        _ => {
            return bad(
                "the file is not an SPSS system file (it does not start with $FL2): check `format` and `source` (a portable .por file must be saved as .sav first)",
            )
        }
    }
    let mut rest = [0u8; 172];
    src.exact(&mut rest, "the file header")?;
    let layout = <[u8; 4]>::try_from(&rest[60..64]).unwrap_or_default();
    src.big = match (i32::from_le_bytes(layout), i32::from_be_bytes(layout)) {
        (2 | 3, _) => false,
        (_, 2 | 3) => true,
        _ => return bad("the file header has an unknown layout code: not an SPSS system file"),
    };
    let int_at = |o: usize| -> i32 {
        let b = <[u8; 4]>::try_from(&rest[o..o + 4]).unwrap_or_default();
        if src.big {
            i32::from_be_bytes(b)
        } else {
            i32::from_le_bytes(b)
        }
    };
    let compression = int_at(68);
    let ncases = int_at(76);
    let bias = src.num(<[u8; 8]>::try_from(&rest[80..88]).unwrap_or_default());
    let compressed = match compression {
        0 => false,
        1 => true,
        2 => {
            return bad(
                "the file is zlib-compressed (ZSAV), which gaptrack does not read: save it from SPSS without \"compressed (ZSAV)\", or export it as CSV",
            )
        }
        c => return bad(format!("the file header has an unknown compression code {c}")),
    };
    let mut vars: Vec<Var> = Vec::new();
    // Slot index -> variable index (continuation slots map to their variable).
    let mut slot_var: Vec<usize> = Vec::new();
    let mut pending_labels: Vec<LabelSet> = Vec::new();
    let mut label_targets: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut long_names: Option<Vec<u8>> = None;
    let mut very_long: Option<Vec<u8>> = None;
    let mut encoding: Option<&'static Encoding> = None;
    let mut sysmis = -f64::MAX;
    let mut raw_names: Vec<Vec<u8>> = Vec::new();
    loop {
        let rec = src.i32("the dictionary")?;
        match rec {
            2 => {
                let typ = src.i32("a variable record")?;
                let has_label = src.i32("a variable record")?;
                let n_missing = src.i32("a variable record")?;
                let _print = src.i32("a variable record")?;
                let _write = src.i32("a variable record")?;
                let mut name = [0u8; 8];
                src.exact(&mut name, "a variable record")?;
                if has_label == 1 {
                    let len = src.count(MAX_RECORD, "a variable label length")?;
                    src.skip(len.div_ceil(4) as u64 * 4, "a variable label")?;
                } else if has_label != 0 {
                    return bad(format!("a variable record has label flag {has_label}: the file is malformed"));
                }
                let nm = match n_missing {
                    0..=3 => n_missing as u64,
                    -3 | -2 => (-n_missing) as u64,
                    _ => return bad(format!("a variable record has {n_missing} missing values: the file is malformed")),
                };
                src.skip(nm * 8, "a variable's missing values")?;
                if slot_var.len() >= MAX_SLOTS {
                    return bad("the file has too many variables");
                }
                match typ {
                    -1 => {
                        let Some(last) = vars.len().checked_sub(1) else {
                            return bad("the dictionary starts with a string continuation record: the file is malformed");
                        };
                        vars[last].slots += 1;
                        slot_var.push(last);
                    }
                    0..=255 => {
                        slot_var.push(vars.len());
                        raw_names.push(name.to_vec());
                        vars.push(Var {
                            short: String::new(),
                            name: String::new(),
                            width: typ as usize,
                            slot: slot_var.len() - 1,
                            slots: 1,
                            labels: HashMap::new(),
                            segments: Vec::new(),
                            segment_of: None,
                        });
                    }
                    _ => return bad(format!("a variable record has type {typ}: the file is malformed")),
                }
            }
            3 => {
                let n = src.count(MAX_LABELS, "a value label count")?;
                let mut values = Vec::new();
                let mut labels = Vec::new();
                for _ in 0..n {
                    let mut v = [0u8; 8];
                    src.exact(&mut v, "a value label")?;
                    let mut len = [0u8; 1];
                    src.exact(&mut len, "a value label")?;
                    let len = len[0] as usize;
                    let padded = (len + 1).div_ceil(8) * 8 - 1;
                    let mut text = src.bytes(padded, "a value label")?;
                    text.truncate(len);
                    values.push(v);
                    labels.push(text);
                }
                let rec4 = src.i32("a value label record")?;
                if rec4 != 4 {
                    return bad(format!("a value label record (3) is followed by record type {rec4}, not 4: the file is malformed"));
                }
                let k = src.count(MAX_SLOTS, "a value label variable count")?;
                let mut targets = Vec::new();
                for _ in 0..k {
                    let i = src.i32("a value label record")?;
                    match usize::try_from(i).ok().and_then(|i| i.checked_sub(1)) {
                        Some(i) if i < slot_var.len() => targets.push(slot_var[i]),
                        _ => return bad(format!("a value label record names variable {i}, which does not exist: the file is malformed")),
                    }
                }
                label_targets.push((pending_labels.len(), targets));
                pending_labels.push((values, labels));
            }
            6 => {
                let n = src.count(MAX_RECORD / 80, "a document line count")?;
                src.skip(n as u64 * 80, "the documents")?;
            }
            7 => {
                let sub = src.i32("an extension record")?;
                let size = src.count(MAX_RECORD, "an extension record size")?;
                let count = src.count(MAX_RECORD, "an extension record count")?;
                let len = size.checked_mul(count).filter(|&l| l <= MAX_RECORD);
                let Some(len) = len else {
                    return bad(format!("extension record {sub} claims {size}×{count} bytes: the file is malformed"));
                };
                match sub {
                    3 if size == 4 && count == 8 => {
                        let b = src.bytes(len, "the integer info record")?;
                        let code = <[u8; 4]>::try_from(&b[28..32]).unwrap_or_default();
                        let code = if src.big {
                            i32::from_be_bytes(code)
                        } else {
                            i32::from_le_bytes(code)
                        };
                        if encoding.is_none() {
                            encoding = codepage(code);
                        }
                    }
                    4 if size == 8 && count == 3 => {
                        sysmis = src.f64("the float info record")?;
                        src.skip(16, "the float info record")?;
                    }
                    13 => long_names = Some(src.bytes(len, "the long variable names")?),
                    14 => very_long = Some(src.bytes(len, "the very long string record")?),
                    20 => {
                        let b = src.bytes(len, "the character encoding record")?;
                        let label = String::from_utf8_lossy(&b).trim().to_string();
                        match Encoding::for_label(label.as_bytes()) {
                            Some(e) => encoding = Some(e),
                            None => return bad(format!("the file's character encoding {label:?} is not one gaptrack can decode")),
                        }
                    }
                    _ => src.skip(len as u64, "an extension record")?,
                }
            }
            999 => {
                let _filler = src.i32("the dictionary termination record")?;
                break;
            }
            other => {
                return bad(format!(
                    "the dictionary has a record of unknown type {other}: the file is malformed or not an SPSS system file"
                ))
            }
        }
    }
    if vars.is_empty() {
        return bad("the file has no variables");
    }
    let encoding = encoding.unwrap_or(fallback);
    for (v, raw) in vars.iter_mut().zip(&raw_names) {
        v.short = name_text(raw, encoding);
        v.name = v.short.clone();
    }
    if let Some(b) = long_names {
        let (text, _) = encoding.decode_without_bom_handling(&b);
        for pair in text.split('\t') {
            if let Some((short, long)) = pair.split_once('=') {
                let long = long.trim_end_matches('\0').trim();
                if let Some(v) = vars.iter_mut().find(|v| v.short == short.trim()) {
                    if !long.is_empty() {
                        v.name = long.to_string();
                    }
                }
            }
        }
    }
    if let Some(b) = very_long {
        let (text, _) = encoding.decode_without_bom_handling(&b);
        for pair in text.split(['\t', '\0']) {
            let Some((short, width)) = pair.split_once('=') else {
                continue;
            };
            let Ok(width) = width.trim().parse::<usize>() else {
                return bad(format!(
                    "the very long string record has width {width:?}: the file is malformed"
                ));
            };
            let Some(k) = vars.iter().position(|v| v.short == short.trim()) else {
                continue;
            };
            let n = width.div_ceil(252).max(1);
            if k + n > vars.len() {
                return bad("a very long string has fewer segments than its width needs: the file is malformed");
            }
            vars[k].width = width;
            vars[k].segments = (k + 1..k + n).collect();
            for seg in &mut vars[k + 1..k + n] {
                seg.segment_of = Some(k);
            }
        }
    }
    for (idx, targets) in label_targets {
        let (values, labels) = &pending_labels[idx];
        for &t in &targets {
            if vars[t].width != 0 {
                continue; // string value labels are not used
            }
            for (v, l) in values.iter().zip(labels) {
                let x = src.num(*v);
                let (text, _) = encoding.decode_without_bom_handling(l);
                vars[t].labels.insert(x.to_bits(), text.trim().to_string());
            }
        }
    }
    Ok(Dict {
        slots: slot_var.len(),
        vars,
        compressed,
        bias,
        ncases: u64::try_from(ncases).ok(),
        sysmis,
        encoding,
    })
}

/// Reads the 8-byte slots of cases, decompressing bytecode.
struct Cases<T> {
    src: Src<T>,
    compressed: bool,
    bias: f64,
    sysmis: f64,
    block: [u8; 8],
    pos: usize,
    done: bool,
}

impl<T: Read> Cases<T> {
    /// The next case into `out` (`slots` × 8 bytes); `Ok(false)` at the end of the data.
    fn next(&mut self, out: &mut [[u8; 8]]) -> R<bool> {
        if self.done {
            return Ok(false);
        }
        if !self.compressed {
            let bytes = out.as_flattened_mut();
            let more = self.src.fill(bytes, "a case")?;
            if !more {
                self.done = true;
            }
            return Ok(more);
        }
        for (k, slot) in out.iter_mut().enumerate() {
            loop {
                if self.pos == 8 {
                    if !self.src.fill(&mut self.block, "a case")? {
                        if k == 0 {
                            self.done = true;
                            return Ok(false);
                        }
                        return bad("the file is truncated (it ends inside a case)");
                    }
                    self.pos = 0;
                }
                let code = self.block[self.pos];
                self.pos += 1;
                match code {
                    0 => continue,
                    252 => {
                        if k == 0 {
                            self.done = true;
                            return Ok(false);
                        }
                        return bad("the data ends inside a case: the file is malformed");
                    }
                    253 => self.src.exact(slot, "a case")?,
                    254 => *slot = *b"        ",
                    255 => *slot = self.enc(self.sysmis),
                    n => *slot = self.enc(n as f64 - self.bias),
                }
                break;
            }
        }
        Ok(true)
    }
    fn enc(&self, x: f64) -> [u8; 8] {
        if self.src.big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
}

/// One case: the text of each column the spec reads.
struct Case {
    values: Vec<String>,
    row: u64,
}

impl Fields for Case {
    #[inline]
    fn get(&self, i: usize) -> &[u8] {
        self.values[i].as_bytes()
    }
    fn loc(&self, _i: usize) -> Loc {
        Loc::Row(self.row)
    }
}

pub(crate) fn read_from<Src0: Read>(
    spec: &WaveSpec,
    source: Src0,
    shown: &str,
    weights: Option<&[f64]>,
    mut on_row: impl FnMut(&Row) -> Result<()>,
) -> Result<Summary> {
    use sha2::Digest;
    let resp = respondent(spec)?;
    let file_err = |b: Bad| Error::input(InputError::new(shown, b.0));
    let mut hashing = HashingReader::new(source);
    let fallback = Encoding::for_label(spec.encoding.as_bytes()).unwrap_or(encoding_rs::UTF_8);
    let mut src = Src {
        inner: BufReader::with_capacity(1 << 16, &mut hashing),
        big: false,
    };
    let dict = dictionary(&mut src, fallback).map_err(file_err)?;
    // The columns: every variable that is not a segment of a very long string.
    let cols_of: Vec<usize> = (0..dict.vars.len())
        .filter(|&k| dict.vars[k].segment_of.is_none())
        .collect();
    let header: Vec<String> = cols_of.iter().map(|&k| dict.vars[k].name.clone()).collect();
    let cols = find_columns(spec, resp, &header, "is not a variable of the file").map_err(|m| {
        missing_columns_error(
            shown,
            m,
            &format!("the file has variables {}", available(&header)),
            None,
        )
    })?;
    // Columns to fill per case, and whether their value labels apply.
    let mut labelled: Vec<usize> = vec![cols.group];
    labelled.extend(&cols.segments);
    let mut wanted: Vec<usize> = Vec::new();
    for n in needed_columns(spec) {
        if let Some(i) = header.iter().position(|h| *h == n) {
            if !wanted.contains(&i) {
                wanted.push(i);
            }
        }
    }
    let wanted: Vec<(usize, bool)> = wanted
        .into_iter()
        .map(|i| (i, labelled.contains(&i)))
        .collect();
    let mut v = Validator::new(spec, resp, shown, cols, weights);
    let mut case = Case {
        values: vec![String::new(); header.len()],
        row: 0,
    };
    let mut slots = vec![[0u8; 8]; dict.slots];
    let mut raw: Vec<u8> = Vec::new();
    let mut cases = Cases {
        src,
        compressed: dict.compressed,
        bias: dict.bias,
        sysmis: dict.sysmis,
        block: [0; 8],
        pos: 8,
        done: false,
    };
    loop {
        if dict.ncases.is_some_and(|n| case.row >= n) {
            break;
        }
        let more = cases
            .next(&mut slots)
            .map_err(|b| Error::input(InputError::new(shown, b.0).row(case.row + 1)))?;
        if !more {
            if let Some(n) = dict.ncases {
                if case.row < n {
                    return Err(Error::input(InputError::new(
                        shown,
                        format!(
                            "the file is truncated: its header says {n} cases but the data ends after {}",
                            case.row
                        ),
                    )));
                }
            }
            break;
        }
        case.row += 1;
        for &(i, use_labels) in &wanted {
            let var = &dict.vars[cols_of[i]];
            let out = &mut case.values[i];
            out.clear();
            if var.width == 0 {
                let x = cases.src.num(slots[var.slot]);
                if x == dict.sysmis || x.is_nan() {
                    continue;
                }
                match use_labels.then(|| var.labels.get(&x.to_bits())).flatten() {
                    Some(l) => out.push_str(l),
                    None => {
                        let _ = write!(out, "{x}");
                    }
                }
            } else {
                raw.clear();
                let segs = std::iter::once(var).chain(var.segments.iter().map(|&s| &dict.vars[s]));
                let n_segs = var.segments.len() + 1;
                for (k, seg) in segs.enumerate() {
                    let bytes = slots[seg.slot..seg.slot + seg.slots].as_flattened();
                    let take = if n_segs == 1 {
                        var.width.min(bytes.len())
                    } else if k + 1 < n_segs {
                        252.min(bytes.len())
                    } else {
                        bytes.len()
                    };
                    raw.extend_from_slice(&bytes[..take]);
                }
                let (text, _) = dict.encoding.decode_without_bom_handling(&raw);
                out.push_str(text.trim_end_matches([' ', '\0']));
            }
        }
        v.record(&case, &mut on_row)?;
    }
    // The rest of the file (if any) is hashed too.
    let _ = std::io::copy(&mut cases.src.inner, &mut std::io::sink());
    drop(cases);
    let no_rows = InputError::new(
        shown,
        "the file has no cases: expected one case per respondent",
    );
    let mut summary = v.finish(no_rows)?;
    summary.bytes = hashing.bytes;
    summary.source_sha256 = hex::encode(hashing.hasher.finalize());
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/formats")
            .join(name)
    }

    #[test]
    fn reads_both_layouts() {
        let spec = crate::spec::load(&fixture("sav.toml")).unwrap();
        for file in ["wave.sav", "wave_compressed.sav"] {
            let bytes = std::fs::read(fixture(file)).unwrap();
            let mut ids = Vec::new();
            let s = read_from(&spec, &bytes[..], file, None, |r| {
                ids.push((r.id.to_string(), r.group.to_string(), r.weight));
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(s.respondents, 12, "{file}");
            assert_eq!(ids[0], ("r01".to_string(), "sales".to_string(), 1.0));
            assert_eq!(ids[5], ("r06".to_string(), "marketing".to_string(), 1.5));
            assert_eq!(ids[11], ("r12".to_string(), "ops".to_string(), 1.0));
            // Q5_1: 9 is missing for r09 only; Q5_2: r03 (9) and r06 (system-missing).
            assert_eq!(s.missing, vec![1, 2], "{file}");
            assert_eq!(s.bytes, bytes.len() as u64);
        }
    }

    /// Every prefix that loses data is an error, never a panic.
    #[test]
    fn every_truncation_is_an_error() {
        let spec = crate::spec::load(&fixture("sav.toml")).unwrap();
        for file in ["wave.sav", "wave_compressed.sav"] {
            let bytes = std::fs::read(fixture(file)).unwrap();
            for cut in 0..bytes.len() - 8 {
                let r = read_from(&spec, &bytes[..cut], "cut.sav", None, |_| Ok(()));
                match r {
                    Err(Error::Invalid(_)) => {}
                    Err(e) => panic!("{file} cut at {cut}: not an input error: {e}"),
                    Ok(_) => panic!("{file} cut at {cut}: accepted"),
                }
            }
        }
    }

    /// Garbage after a valid header never panics.
    #[test]
    fn corrupted_bytes_never_panic() {
        let spec = crate::spec::load(&fixture("sav.toml")).unwrap();
        let bytes = std::fs::read(fixture("wave_compressed.sav")).unwrap();
        for i in (176..bytes.len()).step_by(3) {
            for v in [0u8, 0x7F, 0xFF] {
                let mut b = bytes.clone();
                b[i] = v;
                let _ = read_from(&spec, &b[..], "bad.sav", None, |_| Ok(()));
            }
        }
    }
}
