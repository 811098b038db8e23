//! The header and the dictionary of an SPSS system file: everything before the cases.
//!
//! Read: the file header (`$FL2`, or `$FL3` for ZSAV; either byte order), the weight
//! variable of the header (`WEIGHT BY`), variable records with their labels and
//! user-missing values (discrete values, a range, a range plus a value), value labels
//! (records 3 and 4), documents (skipped), extension records 7.3 (the character code),
//! 7.4 (the system-missing value), 7.13 (long variable names), 7.14 (very long strings,
//! whose segments are joined), 7.20 (character encoding), 7.21 (value labels of long
//! strings), 7.22 (missing values of long strings); other extension records are
//! skipped. Every length read from the file is bounded before anything is allocated.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use encoding_rs::Encoding;

/// Most 8-byte slots in one case (SPSS allows 32767 variables; very long strings add more).
const MAX_SLOTS: usize = 1 << 20;
/// Most bytes of one extension record, variable label or document read.
pub(super) const MAX_RECORD: usize = 1 << 26;
/// Most value labels in one record.
const MAX_LABELS: usize = 1 << 24;

/// A problem with the file's structure (turned into an input error naming the file).
pub(super) struct Bad(pub(super) String);

pub(super) type R<T> = std::result::Result<T, Bad>;

pub(super) fn bad<T>(msg: impl Into<String>) -> R<T> {
    Err(Bad(msg.into()))
}

/// How to convert a portable file without SPSS.
pub(super) const POR_HINT: &str = "an SPSS portable file (.por), which gaptrack does not read: convert it to a .sav without SPSS, in R with `haven::write_sav(haven::read_por(\"x.por\"), \"x.sav\")`, or in Python with `df, meta = pyreadstat.read_por(\"x.por\")` then `pyreadstat.write_sav(df, \"x.sav\", column_labels=meta.column_names_to_labels, variable_value_labels=meta.variable_value_labels, missing_ranges=meta.missing_ranges)`";

/// Reads the file's fields in its byte order, counting the bytes read.
pub(super) struct Src<T> {
    pub(super) inner: T,
    pub(super) big: bool,
    /// Bytes read so far (the offset in the file, for the ZSAV offsets).
    pub(super) pos: u64,
}

impl<T: Read> Src<T> {
    /// Exactly `buf.len()` bytes; `Ok(false)` at the end of the input before any byte.
    pub(super) fn fill(&mut self, buf: &mut [u8], what: &str) -> R<bool> {
        let mut n = 0;
        while n < buf.len() {
            match self.inner.read(&mut buf[n..]) {
                Ok(0) if n == 0 => return Ok(false),
                Ok(0) => return bad(format!("the file is truncated (it ends inside {what})")),
                Ok(k) => {
                    n += k;
                    self.pos += k as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // The ZSAV decoder's own words (a corrupt or truncated block).
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => return bad(e.to_string()),
                Err(e) => return bad(format!("cannot read the source: {e}")),
            }
        }
        Ok(true)
    }
    pub(super) fn exact(&mut self, buf: &mut [u8], what: &str) -> R<()> {
        if self.fill(buf, what)? || buf.is_empty() {
            Ok(())
        } else {
            bad(format!("the file is truncated (it ends before {what})"))
        }
    }
    pub(super) fn i32(&mut self, what: &str) -> R<i32> {
        let mut b = [0u8; 4];
        self.exact(&mut b, what)?;
        Ok(self.int(b))
    }
    pub(super) fn i64(&mut self, what: &str) -> R<i64> {
        let mut b = [0u8; 8];
        self.exact(&mut b, what)?;
        Ok(if self.big {
            i64::from_be_bytes(b)
        } else {
            i64::from_le_bytes(b)
        })
    }
    fn f64(&mut self, what: &str) -> R<f64> {
        let mut b = [0u8; 8];
        self.exact(&mut b, what)?;
        Ok(self.num(b))
    }
    pub(super) fn int(&self, b: [u8; 4]) -> i32 {
        if self.big {
            i32::from_be_bytes(b)
        } else {
            i32::from_le_bytes(b)
        }
    }
    pub(super) fn num(&self, b: [u8; 8]) -> f64 {
        if self.big {
            f64::from_be_bytes(b)
        } else {
            f64::from_le_bytes(b)
        }
    }
    pub(super) fn bytes(&mut self, n: usize, what: &str) -> R<Vec<u8>> {
        if n > MAX_RECORD {
            return bad(format!("{what} claims {n} bytes: the file is malformed"));
        }
        let mut v = Vec::new();
        let got = (&mut self.inner)
            .take(n as u64)
            .read_to_end(&mut v)
            .map_err(|e| Bad(format!("cannot read the source: {e}")))?;
        self.pos += got as u64;
        if got < n {
            return bad(format!("the file is truncated (it ends inside {what})"));
        }
        Ok(v)
    }
    fn skip(&mut self, n: u64, what: &str) -> R<()> {
        let got = std::io::copy(&mut (&mut self.inner).take(n), &mut std::io::sink())
            .map_err(|e| Bad(format!("cannot read the source: {e}")))?;
        self.pos += got;
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

/// The user-missing values a variable declares (SPSS `MISSING VALUES`): up to three
/// discrete values, or a range, or a range and one discrete value; strings: up to three
/// discrete values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MissingValues {
    /// Discrete numeric values.
    pub values: Vec<f64>,
    /// An inclusive numeric range (`LO`/`HI` are the extreme doubles).
    pub range: Option<(f64, f64)>,
    /// Discrete string values (trailing blanks removed).
    pub strings: Vec<String>,
}

impl MissingValues {
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.range.is_none() && self.strings.is_empty()
    }
    /// `true` when the numeric value `x` is declared missing.
    pub fn numeric(&self, x: f64) -> bool {
        self.values.contains(&x) || self.range.is_some_and(|(lo, hi)| lo <= x && x <= hi)
    }
    /// `true` when the string value `s` (trailing blanks removed) is declared missing.
    pub fn string(&self, s: &str) -> bool {
        self.strings.iter().any(|m| m == s)
    }
    /// As SPSS writes them: `8, 9, 97 thru 99`, `LO thru -1`, `"x"`.
    pub fn describe(&self) -> String {
        let num = |x: f64| -> String {
            if x <= -f64::MAX / 2.0 {
                "LO".into()
            } else if x >= f64::MAX / 2.0 {
                "HI".into()
            } else {
                format!("{x}")
            }
        };
        let mut parts: Vec<String> = self.values.iter().map(|&x| num(x)).collect();
        if let Some((lo, hi)) = self.range {
            parts.push(format!("{} thru {}", num(lo), num(hi)));
        }
        parts.extend(self.strings.iter().map(|s| crate::diag::quote(s)));
        parts.join(", ")
    }
}

/// One variable of the dictionary.
#[derive(Debug, Clone)]
pub struct Variable {
    /// The long name (record 7.13), else the short one.
    pub name: String,
    /// The variable label (the question wording, in a survey).
    pub label: Option<String>,
    /// 0 numeric, else the string width in bytes.
    pub width: usize,
    /// The user-missing values.
    pub missing: MissingValues,
    /// Value labels of a numeric variable: code -> label, in the file's order.
    pub value_labels: Vec<(f64, String)>,
    /// Value labels of a string variable: value (trailing blanks removed) -> label.
    pub string_labels: Vec<(String, String)>,
    /// The short (8-character) name.
    pub(super) short: String,
    /// Index of its first 8-byte slot in a case, and the slots it takes.
    pub(super) slot: usize,
    pub(super) slots: usize,
    /// Segments joined into this very long string (indices of later variables).
    pub(super) segments: Vec<usize>,
    /// A segment of a very long string (not a column of its own).
    pub(super) segment_of: Option<usize>,
    /// Value label lookup: the value's bits -> index in `value_labels`.
    by_bits: HashMap<u64, usize>,
    raw_missing: Vec<[u8; 8]>,
    raw_label: Option<Vec<u8>>,
}

impl Variable {
    /// The value labels of whole-number codes (what answer codes are): code -> label.
    pub fn code_labels(&self) -> BTreeMap<i64, String> {
        self.value_labels
            .iter()
            .filter(|(x, _)| x.fract() == 0.0 && x.abs() < 1e15)
            .map(|(x, l)| (*x as i64, l.clone()))
            .collect()
    }
    /// The label of the numeric value `x`.
    pub(super) fn label_of(&self, x: f64) -> Option<&str> {
        self.by_bits
            .get(&x.to_bits())
            .map(|&k| self.value_labels[k].1.as_str())
    }
    /// The label of the string value `s`.
    pub(super) fn string_label_of(&self, s: &str) -> Option<&str> {
        self.string_labels
            .iter()
            .find(|(v, _)| v == s)
            .map(|(_, l)| l.as_str())
    }
}

/// How the cases are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compression {
    None,
    Bytecode,
    /// Bytecode in zlib blocks (ZSAV).
    Zlib,
}

/// The dictionary of a file: its variables and how its cases are stored.
#[derive(Debug)]
pub struct Dictionary {
    /// Every variable, very long string segments included (see [`Dictionary::columns`]).
    pub(super) vars: Vec<Variable>,
    /// The variable the header names as the case weight (`WEIGHT BY`), an index into `vars`.
    pub(super) weight: Option<usize>,
    pub(super) slots: usize,
    pub(super) compression: Compression,
    pub(super) bias: f64,
    pub(super) ncases: Option<u64>,
    pub(super) sysmis: f64,
    pub(super) encoding: &'static Encoding,
}

impl Dictionary {
    /// The variables that are columns (very long string segments excluded), in order.
    pub fn columns(&self) -> impl Iterator<Item = &Variable> {
        self.vars.iter().filter(|v| v.segment_of.is_none())
    }
    /// The variable called `name`.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.columns().find(|v| v.name == name)
    }
    /// The file's weight variable (`WEIGHT BY`), if it has one.
    pub fn weight(&self) -> Option<&Variable> {
        self.weight.map(|k| &self.vars[k])
    }
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

/// What the header says.
struct Header {
    compression: Compression,
    weight_index: i32,
    ncases: i32,
    bias: f64,
}

/// Reads the 176-byte file header; sets the byte order of `src`.
fn header<T: Read>(src: &mut Src<T>, shown: &str) -> R<Header> {
    let mut magic = [0u8; 4];
    if !src.fill(&mut magic, "the file header")? {
        return bad("the file is empty: expected an SPSS system file (.sav)");
    }
    let zlib = match &magic {
        b"$FL2" => false,
        b"$FL3" => true,
        _ => {
            // A portable file starts with a 200-byte splash, then a character table and
            // the tag "SPSSPORT" (its lines may be broken every 80 bytes).
            let mut head = magic.to_vec();
            let _ = (&mut src.inner).take(600).read_to_end(&mut head);
            let por = head.windows(8).any(|w| w == b"SPSSPORT")
                || head.windows(9).any(|w| w == b"PORT FILE")
                || shown.to_ascii_lowercase().ends_with(".por");
            if por {
                return bad(format!("the file is {POR_HINT}"));
            }
            return bad(
                "the file is not an SPSS system file (it does not start with $FL2 or $FL3): check `format` and `source`",
            );
        }
    };
    let mut rest = [0u8; 172];
    src.exact(&mut rest, "the file header")?;
    let layout = <[u8; 4]>::try_from(&rest[60..64]).unwrap_or_default();
    src.big = match (i32::from_le_bytes(layout), i32::from_be_bytes(layout)) {
        (2 | 3, _) => false,
        (_, 2 | 3) => true,
        _ => return bad("the file header has an unknown layout code: not an SPSS system file"),
    };
    let int_at = |o: usize| src.int(<[u8; 4]>::try_from(&rest[o..o + 4]).unwrap_or_default());
    let compression = match (int_at(68), zlib) {
        (0, false) => Compression::None,
        (1, false) => Compression::Bytecode,
        (2, true) => Compression::Zlib,
        (c, _) => {
            return bad(format!(
                "the file header has compression code {c}, which does not fit its {} signature: the file is malformed",
                if zlib { "$FL3" } else { "$FL2" }
            ))
        }
    };
    Ok(Header {
        compression,
        weight_index: int_at(72),
        ncases: int_at(76),
        bias: src.num(<[u8; 8]>::try_from(&rest[80..88]).unwrap_or_default()),
    })
}

/// One value label set: the raw values, their raw labels, the variables it applies to.
type LabelSet = (Vec<[u8; 8]>, Vec<Vec<u8>>, Vec<usize>);

/// The dictionary as it is read, record by record.
#[derive(Default)]
struct Builder {
    vars: Vec<Variable>,
    /// Slot index -> variable index (continuation slots map to their variable).
    slot_var: Vec<usize>,
    raw_names: Vec<Vec<u8>>,
    /// Value label sets (raw value, raw label) and the variables each applies to.
    label_sets: Vec<LabelSet>,
    long_names: Option<Vec<u8>>,
    very_long: Option<Vec<u8>>,
    long_labels: Option<Vec<u8>>,
    long_missing: Option<Vec<u8>>,
    encoding: Option<&'static Encoding>,
    sysmis: Option<f64>,
}

impl Builder {
    /// Record type 2: one variable, or the continuation of a string.
    fn variable<T: Read>(&mut self, src: &mut Src<T>) -> R<()> {
        let what = "a variable record";
        let typ = src.i32(what)?;
        let has_label = src.i32(what)?;
        let n_missing = src.i32(what)?;
        let _print = src.i32(what)?;
        let _write = src.i32(what)?;
        let mut name = [0u8; 8];
        src.exact(&mut name, what)?;
        let raw_label = match has_label {
            0 => None,
            1 => {
                let len = src.count(MAX_RECORD, "a variable label length")?;
                let mut b = src.bytes(len.div_ceil(4) * 4, "a variable label")?;
                b.truncate(len);
                Some(b)
            }
            _ => {
                return bad(format!(
                    "a variable record has label flag {has_label}: the file is malformed"
                ))
            }
        };
        let nm = match n_missing {
            0..=3 => n_missing as usize,
            -3 | -2 => (-n_missing) as usize,
            _ => {
                return bad(format!(
                    "a variable record has {n_missing} missing values: the file is malformed"
                ))
            }
        };
        let mut raw_missing = vec![[0u8; 8]; nm];
        for m in &mut raw_missing {
            src.exact(m, "a variable's missing values")?;
        }
        let mut missing = MissingValues::default();
        if typ == 0 {
            let vals: Vec<f64> = raw_missing.iter().map(|b| src.num(*b)).collect();
            if n_missing < 0 {
                missing.range = Some((vals[0], vals[1]));
                missing.values = vals[2..].to_vec();
            } else {
                missing.values = vals;
            }
            raw_missing.clear();
        } else if n_missing < 0 {
            return bad(
                "a string variable declares a range of missing values: the file is malformed",
            );
        }
        if self.slot_var.len() >= MAX_SLOTS {
            return bad("the file has too many variables");
        }
        match typ {
            -1 => {
                let Some(last) = self.vars.len().checked_sub(1) else {
                    return bad("the dictionary starts with a string continuation record: the file is malformed");
                };
                self.vars[last].slots += 1;
                self.slot_var.push(last);
            }
            0..=255 => {
                self.slot_var.push(self.vars.len());
                self.raw_names.push(name.to_vec());
                self.vars.push(Variable {
                    name: String::new(),
                    label: None,
                    width: typ as usize,
                    missing,
                    value_labels: Vec::new(),
                    string_labels: Vec::new(),
                    short: String::new(),
                    slot: self.slot_var.len() - 1,
                    slots: 1,
                    segments: Vec::new(),
                    segment_of: None,
                    by_bits: HashMap::new(),
                    raw_missing,
                    raw_label,
                });
            }
            _ => {
                return bad(format!(
                    "a variable record has type {typ}: the file is malformed"
                ))
            }
        }
        Ok(())
    }

    /// Record types 3 and 4: a value label set and the variables it applies to.
    fn value_labels<T: Read>(&mut self, src: &mut Src<T>) -> R<()> {
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
                Some(i) if i < self.slot_var.len() => targets.push(self.slot_var[i]),
                _ => return bad(format!("a value label record names variable {i}, which does not exist: the file is malformed")),
            }
        }
        self.label_sets.push((values, labels, targets));
        Ok(())
    }

    /// Record type 7: an extension record.
    fn extension<T: Read>(&mut self, src: &mut Src<T>) -> R<()> {
        let sub = src.i32("an extension record")?;
        let size = src.count(MAX_RECORD, "an extension record size")?;
        let count = src.count(MAX_RECORD, "an extension record count")?;
        let Some(len) = size.checked_mul(count).filter(|&l| l <= MAX_RECORD) else {
            return bad(format!(
                "extension record {sub} claims {size}×{count} bytes: the file is malformed"
            ));
        };
        match sub {
            3 if size == 4 && count == 8 => {
                let b = src.bytes(len, "the integer info record")?;
                let code = src.int(<[u8; 4]>::try_from(&b[28..32]).unwrap_or_default());
                if self.encoding.is_none() {
                    self.encoding = codepage(code);
                }
            }
            4 if size == 8 && count == 3 => {
                self.sysmis = Some(src.f64("the float info record")?);
                src.skip(16, "the float info record")?;
            }
            13 => self.long_names = Some(src.bytes(len, "the long variable names")?),
            14 => self.very_long = Some(src.bytes(len, "the very long string record")?),
            20 => {
                let b = src.bytes(len, "the character encoding record")?;
                let label = String::from_utf8_lossy(&b).trim().to_string();
                match Encoding::for_label(label.as_bytes()) {
                    Some(e) => self.encoding = Some(e),
                    None => {
                        return bad(format!(
                        "the file's character encoding {label:?} is not one gaptrack can decode"
                    ))
                    }
                }
            }
            21 => self.long_labels = Some(src.bytes(len, "the long string value labels")?),
            22 => self.long_missing = Some(src.bytes(len, "the long string missing values")?),
            _ => src.skip(len as u64, "an extension record")?,
        }
        Ok(())
    }
}

/// Reads the header and the dictionary, up to the start of the data (for ZSAV: up to
/// its zlib header).
pub(super) fn dictionary<T: Read>(
    src: &mut Src<T>,
    fallback: &'static Encoding,
    shown: &str,
) -> R<Dictionary> {
    let head = header(src, shown)?;
    let mut b = Builder::default();
    loop {
        match src.i32("the dictionary")? {
            2 => b.variable(src)?,
            3 => b.value_labels(src)?,
            6 => {
                let n = src.count(MAX_RECORD / 80, "a document line count")?;
                src.skip(n as u64 * 80, "the documents")?;
            }
            7 => b.extension(src)?,
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
    if b.vars.is_empty() {
        return bad("the file has no variables");
    }
    let weight = match usize::try_from(head.weight_index) {
        Ok(0) => None,
        Ok(i) if i <= b.slot_var.len() && b.vars[b.slot_var[i - 1]].width == 0 => {
            Some(b.slot_var[i - 1])
        }
        _ => {
            return bad(format!(
                "the file header names slot {} as the weight variable, which is not a numeric variable: the file is malformed",
                head.weight_index
            ))
        }
    };
    let encoding = b.encoding.unwrap_or(fallback);
    let sysmis = b.sysmis.unwrap_or(-f64::MAX);
    let slots = b.slot_var.len();
    let vars = finish(b, src, encoding)?;
    Ok(Dictionary {
        vars,
        weight,
        slots,
        compression: head.compression,
        bias: head.bias,
        ncases: u64::try_from(head.ncases).ok(),
        sysmis,
        encoding,
    })
}

/// Names, labels, very long strings and value labels, once the encoding is known.
fn finish<T: Read>(b: Builder, src: &Src<T>, encoding: &'static Encoding) -> R<Vec<Variable>> {
    let mut vars = b.vars;
    let text = |raw: &[u8]| -> String {
        let (s, _) = encoding.decode_without_bom_handling(raw);
        s.trim_end_matches([' ', '\0']).trim().to_string()
    };
    for (v, raw) in vars.iter_mut().zip(&b.raw_names) {
        v.short = name_text(raw, encoding);
        v.name = v.short.clone();
        v.label = v
            .raw_label
            .take()
            .map(|l| text(&l))
            .filter(|l| !l.is_empty());
        let strings: Vec<String> = v.raw_missing.iter().map(|m| text(m)).collect();
        v.missing.strings = strings;
        v.raw_missing.clear();
    }
    if let Some(raw) = b.long_names {
        let (t, _) = encoding.decode_without_bom_handling(&raw);
        for pair in t.split('\t') {
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
    if let Some(raw) = b.very_long {
        very_long_strings(&mut vars, &raw, encoding)?;
    }
    for (values, labels, targets) in &b.label_sets {
        for &t in targets {
            let v = &mut vars[t];
            for (val, l) in values.iter().zip(labels) {
                if v.width == 0 {
                    let x = src.num(*val);
                    v.by_bits.insert(x.to_bits(), v.value_labels.len());
                    v.value_labels.push((x, text(l)));
                } else {
                    v.string_labels.push((text(val), text(l)));
                }
            }
        }
    }
    if let Some(raw) = b.long_labels {
        long_string_labels(&mut vars, &raw, src, &text)?;
    }
    if let Some(raw) = b.long_missing {
        long_string_missing(&mut vars, &raw, src, &text)?;
    }
    Ok(vars)
}

/// Record 7.14: the widths of very long strings, whose later variables are segments.
fn very_long_strings(vars: &mut [Variable], raw: &[u8], encoding: &'static Encoding) -> R<()> {
    let (text, _) = encoding.decode_without_bom_handling(raw);
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
            return bad(
                "a very long string has fewer segments than its width needs: the file is malformed",
            );
        }
        vars[k].width = width;
        vars[k].segments = (k + 1..k + n).collect();
        for seg in &mut vars[k + 1..k + n] {
            seg.segment_of = Some(k);
        }
    }
    Ok(())
}

/// A bounds-checked reader of the bytes of an extension record.
struct Cursor<'a, T> {
    b: &'a [u8],
    at: usize,
    src: &'a Src<T>,
    what: &'static str,
}

impl<'a, T: Read> Cursor<'a, T> {
    fn new(b: &'a [u8], src: &'a Src<T>, what: &'static str) -> Self {
        Cursor {
            b,
            at: 0,
            src,
            what,
        }
    }
    fn take(&mut self, n: usize) -> R<&[u8]> {
        match self.at.checked_add(n).filter(|&e| e <= self.b.len()) {
            Some(end) => {
                let s = &self.b[self.at..end];
                self.at = end;
                Ok(s)
            }
            None => bad(format!("{} ends early: the file is malformed", self.what)),
        }
    }
    fn len(&mut self) -> R<usize> {
        let b = <[u8; 4]>::try_from(self.take(4)?).unwrap_or_default();
        let n = self.src.int(b);
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= MAX_RECORD)
            .map_or_else(
                || {
                    bad(format!(
                        "{} has a length {n}: the file is malformed",
                        self.what
                    ))
                },
                Ok,
            )
    }
    fn done(&self) -> bool {
        self.at >= self.b.len()
    }
    /// A string stored as its length and then its bytes.
    fn string(&mut self, text: &dyn Fn(&[u8]) -> String) -> R<String> {
        let n = self.len()?;
        Ok(text(self.take(n)?))
    }
}

/// The variable a long-string record names by its name or its short name.
fn named<'v>(vars: &'v mut [Variable], name: &str) -> Option<&'v mut Variable> {
    vars.iter_mut().find(|v| v.name == name || v.short == name)
}

/// Record 7.21: value labels of strings wider than 8 bytes.
fn long_string_labels<T: Read>(
    vars: &mut [Variable],
    raw: &[u8],
    src: &Src<T>,
    text: &dyn Fn(&[u8]) -> String,
) -> R<()> {
    let mut c = Cursor::new(raw, src, "the long string value labels");
    while !c.done() {
        let name = c.string(text)?;
        let _width = c.len()?;
        let count = c.len()?;
        let mut pairs = Vec::new();
        for _ in 0..count {
            let value = c.string(text)?;
            pairs.push((value, c.string(text)?));
        }
        if let Some(v) = named(vars, &name) {
            v.string_labels.extend(pairs);
        }
    }
    Ok(())
}

/// Record 7.22: missing values of strings wider than 8 bytes.
fn long_string_missing<T: Read>(
    vars: &mut [Variable],
    raw: &[u8],
    src: &Src<T>,
    text: &dyn Fn(&[u8]) -> String,
) -> R<()> {
    let mut c = Cursor::new(raw, src, "the long string missing values");
    while !c.done() {
        let name = c.string(text)?;
        let count = c.take(1)?[0] as usize;
        let value_len = c.len()?;
        let mut values = Vec::new();
        for _ in 0..count {
            values.push(text(c.take(value_len)?));
        }
        if let Some(v) = named(vars, &name) {
            v.missing.strings.extend(values);
        }
    }
    Ok(())
}
