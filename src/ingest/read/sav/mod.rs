//! SPSS system files (`format = "sav"`, `.sav` and `.zsav`): a small reader for what SPSS,
//! PSPP, ReadStat (pyreadstat, haven) and other writers put in a file, streamed case by
//! case.
//!
//! - [`dict`] — the header and the dictionary (variables, labels, missing values, weight)
//! - [`cases`] — the cases: uncompressed or bytecode
//! - [`zsav`] — the zlib blocks of a ZSAV file (`$FL3`), inflated one at a time
//!
//! Values reach the [`Validator`] as text: a numeric value is its number (4.0 is 4), the
//! system-missing value an empty cell; the group and segment columns are mapped through
//! their value labels (the label, then `[groups]`); answers stay codes, also where the
//! same variable is a segment too. What the file declares is used: its user-missing
//! values are missing (an answer keeps its code with no agreement; a segment is empty; a
//! group is an error), its `WEIGHT BY` variable is the weight when the spec names none,
//! and its variable labels are the text of statements without one; each is said in the
//! wave's notes. A portable file (`.por`) is refused with how to convert it. A truncated
//! or malformed file is an error naming what is wrong, never a panic.

mod cases;
pub mod dict;
mod zsav;

use std::fmt::Write as _;
use std::io::{BufReader, Read};

use encoding_rs::Encoding;

pub use dict::{Dictionary, MissingValues, Variable};

use self::cases::{Cases, Data};
use self::dict::{Bad, Compression, Src};
use self::zsav::ZData;
use super::validate::{
    available, find_columns, missing_columns_error, needed_columns, respondent, Columns, Fields,
    HashingReader, Loc, Row, Summary, Validator,
};
use crate::diag::quote;
use crate::error::{Error, InputError, Result};
use crate::spec::WaveSpec;

/// Reads the dictionary of a `.sav` or `.zsav` file (its variables, their labels,
/// value labels and missing values, the weight variable) and nothing else.
/// `encoding` decodes a file that does not name its own.
pub fn read_dictionary<S: Read>(source: S, shown: &str, encoding: &str) -> Result<Dictionary> {
    let fallback = Encoding::for_label(encoding.as_bytes()).unwrap_or(encoding_rs::UTF_8);
    let mut src = Src {
        inner: BufReader::new(source),
        big: false,
        pos: 0,
    };
    dict::dictionary(&mut src, fallback, shown)
        .map_err(|b| Error::input(InputError::new(shown, b.0)))
}

/// One column the validator sees: a variable, read as its code or through its labels.
struct Field {
    /// Index into the validator's header (past the file's columns for labelled copies).
    at: usize,
    /// Index into the dictionary's variables.
    var: usize,
    labelled: bool,
    /// Whether the variable's user-missing values are missing here (not for the answers
    /// of statements with `file_missing = false`).
    file_missing: bool,
    /// Cases whose value is a user-missing value.
    missing: u64,
}

/// One case: the text of each column the spec reads, and whether it is user-missing.
struct Case {
    values: Vec<String>,
    missing: Vec<bool>,
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
    fn user_missing(&self, i: usize) -> bool {
        self.missing[i]
    }
}

/// The fields to read per case. The group and segment columns are labelled copies at
/// indices past the file's columns, so that a variable that is also a statement keeps
/// its codes there.
fn plan(
    spec: &WaveSpec,
    header: &[String],
    cols_of: &[usize],
    cols: &mut Columns,
    weight: Option<usize>,
) -> Vec<Field> {
    let mut fields: Vec<Field> = Vec::new();
    let raw = |i: usize, fields: &mut Vec<Field>| {
        if !fields.iter().any(|f| f.at == i) {
            fields.push(Field {
                at: i,
                var: cols_of[i],
                labelled: false,
                file_missing: true,
                missing: 0,
            });
        }
    };
    for n in needed_columns(spec) {
        if let Some(i) = header.iter().position(|h| *h == n) {
            raw(i, &mut fields);
        }
    }
    if let Some(w) = weight {
        raw(w, &mut fields);
    }
    // A column that is also read raw (a statement, the id, the weight) keeps its raw field.
    let mut keep: Vec<usize> = cols.statements.clone();
    keep.push(cols.id);
    keep.extend(cols.weight.or(weight));
    let mut next = header.len();
    let mut labelled = |i: usize, fields: &mut Vec<Field>| -> usize {
        fields.retain(|f| f.at != i || keep.contains(&i));
        fields.push(Field {
            at: next,
            var: cols_of[i],
            labelled: true,
            file_missing: true,
            missing: 0,
        });
        next += 1;
        next - 1
    };
    cols.group = labelled(cols.group, &mut fields);
    for k in 0..cols.segments.len() {
        cols.segments[k] = labelled(cols.segments[k], &mut fields);
    }
    fields
}

/// The text of one variable's value in `slots` into `out`; `true` when it is
/// user-missing.
fn value(
    dict: &Dictionary,
    var: &Variable,
    labelled: bool,
    slots: &[[u8; 8]],
    big: bool,
    raw: &mut Vec<u8>,
    out: &mut String,
) -> bool {
    out.clear();
    if var.width == 0 {
        let b = slots[var.slot];
        let x = if big {
            f64::from_be_bytes(b)
        } else {
            f64::from_le_bytes(b)
        };
        if x == dict.sysmis || x.is_nan() {
            return false;
        }
        match labelled.then(|| var.label_of(x)).flatten() {
            Some(l) => out.push_str(l),
            None => {
                let _ = write!(out, "{x}");
            }
        }
        return var.missing.numeric(x);
    }
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
    let (text, _) = dict.encoding.decode_without_bom_handling(raw);
    let text = text.trim_end_matches([' ', '\0']);
    let missing = var.missing.string(text);
    match labelled.then(|| var.string_label_of(text)).flatten() {
        Some(l) => out.push_str(l),
        None => out.push_str(text),
    }
    missing
}

pub(crate) fn read_from<S: Read>(
    spec: &WaveSpec,
    source: S,
    shown: &str,
    weights: Option<&[f64]>,
    mut on_row: impl FnMut(&Row) -> Result<()>,
) -> Result<Summary> {
    let resp = respondent(spec)?;
    let file_err = |b: Bad| Error::input(InputError::new(shown, b.0));
    let mut hashing = HashingReader::new(source);
    let fallback = Encoding::for_label(spec.encoding.as_bytes()).unwrap_or(encoding_rs::UTF_8);
    let mut src = Src {
        inner: BufReader::with_capacity(1 << 16, &mut hashing),
        big: false,
        pos: 0,
    };
    let dict = dict::dictionary(&mut src, fallback, shown).map_err(file_err)?;
    // The columns: every variable that is not a segment of a very long string.
    let cols_of: Vec<usize> = (0..dict.vars.len())
        .filter(|&k| dict.vars[k].segment_of.is_none())
        .collect();
    let header: Vec<String> = cols_of.iter().map(|&k| dict.vars[k].name.clone()).collect();
    let mut cols =
        find_columns(spec, resp, &header, "is not a variable of the file").map_err(|m| {
            missing_columns_error(
                shown,
                m,
                &format!("the file has variables {}", available(&header)),
                None,
            )
        })?;
    let mut notes = Vec::new();
    let file_weight = weight_column(resp, &dict, &cols_of, &mut notes);
    let mut fields = plan(spec, &header, &cols_of, &mut cols, file_weight);
    let stmt_cols = cols.statements.clone();
    answers_as_written(spec, &stmt_cols, &mut fields);
    let vars: Vec<&Variable> = stmt_cols.iter().map(|&i| &dict.vars[cols_of[i]]).collect();
    let agree = agree_from_value_labels(spec, &vars, shown, &mut notes)?;
    let resolved;
    let spec = if agree.iter().any(Option::is_some) {
        resolved = with_agree(spec, &agree);
        &resolved
    } else {
        spec
    };
    let mut v = Validator::new(spec, resp, shown, cols, weights);
    if let Some(w) = file_weight {
        v.use_file_weight(w, &header[w]);
    }
    for (j, var) in vars.iter().enumerate() {
        if !var.missing.is_empty() && spec.statements[j].scale.file_missing {
            v.declare_missing(j, var.missing.describe());
        }
    }
    let big = src.big;
    let data = match dict.compression {
        Compression::Zlib => {
            let (z, _) = ZData::new(src).map_err(file_err)?;
            Data::Zlib(Box::new(z))
        }
        _ => Data::Plain(src.inner),
    };
    let src = Src {
        inner: data,
        big,
        pos: 0,
    };
    let compressed = dict.compression != Compression::None;
    let mut cases = Cases::new(src, compressed, dict.bias, dict.sysmis);
    read_cases(&mut cases, &dict, &mut fields, shown, &mut v, &mut on_row)?;
    // The rest of the file (the ZSAV trailer, checked, and anything after) is hashed too.
    let rest = match cases.src.inner {
        Data::Plain(b) => Ok(b),
        Data::Zlib(z) => z.finish(big, dict.bias),
    };
    let mut rest = rest.map_err(file_err)?;
    let _ = std::io::copy(&mut rest, &mut std::io::sink());
    drop(rest);
    let no_rows = InputError::new(
        shown,
        "the file has no cases: expected one case per respondent",
    );
    let mut summary = v.finish(no_rows)?;
    hashing.stamp(&mut summary);
    summary.agree_codes = agree;
    summary.statement_texts = statement_texts(spec, &dict, &header, &mut notes);
    missing_notes(spec, resp, &dict, &header, &stmt_cols, &fields, &mut notes);
    summary.notes.extend(notes);
    Ok(summary)
}

/// Reads every case into the validator, counting the user-missing values of each field.
fn read_cases<T: Read>(
    cases: &mut Cases<T>,
    dict: &Dictionary,
    fields: &mut [Field],
    shown: &str,
    v: &mut Validator,
    on_row: &mut impl FnMut(&Row) -> Result<()>,
) -> Result<()> {
    let big = cases.src.big;
    let width = fields.iter().map(|f| f.at + 1).max().unwrap_or(0);
    let mut case = Case {
        values: vec![String::new(); width],
        missing: vec![false; width],
        row: 0,
    };
    let mut slots = vec![[0u8; 8]; dict.slots];
    let mut raw: Vec<u8> = Vec::new();
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
        for f in fields.iter_mut() {
            let var = &dict.vars[f.var];
            let m = value(
                dict,
                var,
                f.labelled,
                &slots,
                big,
                &mut raw,
                &mut case.values[f.at],
            );
            let m = m && f.file_missing;
            case.missing[f.at] = m;
            f.missing += u64::from(m);
        }
        v.record(&case, on_row)?;
    }
    Ok(())
}

/// The file's weight variable as the weight (its index in the header) when the spec
/// names none; says which weight is used.
fn weight_column(
    resp: &crate::spec::Respondent,
    dict: &Dictionary,
    cols_of: &[usize],
    notes: &mut Vec<String>,
) -> Option<usize> {
    let fw = dict.weight()?;
    match resp.weight.as_deref() {
        None if resp.unweighted => {
            notes.push(format!(
                "weight: none (weight = false); the file's WEIGHT BY variable {} is not used",
                quote(&fw.name)
            ));
            None
        }
        None => {
            notes.push(format!(
                "weight: the file's WEIGHT BY variable {}",
                quote(&fw.name)
            ));
            let k = dict.weight?;
            cols_of.iter().position(|&c| c == k)
        }
        Some(w) if w == fw.name => {
            notes.push(format!(
                "weight: {} (named in the spec; also the file's WEIGHT BY variable)",
                quote(w)
            ));
            None
        }
        Some(w) => {
            notes.push(format!(
                "weight: {} from the spec; the file's WEIGHT BY variable {} is not used",
                quote(w),
                quote(&fw.name)
            ));
            None
        }
    }
}

/// The raw fields of statements with `file_missing = false`: their user-missing values
/// are read as answers (where every statement reading the column says so).
fn answers_as_written(spec: &WaveSpec, stmt_cols: &[usize], fields: &mut [Field]) {
    for f in fields.iter_mut().filter(|f| !f.labelled) {
        let mut readers = stmt_cols
            .iter()
            .zip(&spec.statements)
            .filter(|(&i, _)| i == f.at)
            .peekable();
        if readers.peek().is_some() && readers.all(|(_, s)| !s.scale.file_missing) {
            f.file_missing = false;
        }
    }
}

/// Per statement, the agree codes its `agree` labels name through the value labels of
/// its variable (`None` where it names none); each found is said in a note. A label the
/// variable lacks, or one naming a code that is not an answer, is an error.
fn agree_from_value_labels(
    spec: &WaveSpec,
    vars: &[&Variable],
    shown: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<Option<Vec<i64>>>> {
    let mut out = Vec::with_capacity(vars.len());
    for (s, var) in spec.statements.iter().zip(vars) {
        if s.scale.agree_labels.is_empty() {
            out.push(None);
            continue;
        }
        let mut codes = s.scale.agree.clone();
        let mut found = Vec::new();
        for want in &s.scale.agree_labels {
            let key = crate::spec::label_key(want);
            let hit = var
                .value_labels
                .iter()
                .find(|(_, l)| crate::spec::label_key(l) == key);
            let bad =
                |why: String| Error::input(InputError::new(shown, why).column(var.name.clone()));
            let Some(&(code, ref label)) = hit else {
                let have: Vec<String> = var
                    .value_labels
                    .iter()
                    .map(|(c, l)| format!("{c} = {}", quote(l)))
                    .collect();
                return Err(bad(format!(
                    "agree label {} of statement {} is not a value label of the variable (its labels: {})",
                    quote(want),
                    s.id,
                    if have.is_empty() { "none".to_string() } else { have.join(", ") }
                )));
            };
            let answer = code.fract() == 0.0
                && s.scale.is_answer(code as i64)
                && !(s.scale.file_missing && var.missing.numeric(code));
            if !answer {
                return Err(bad(format!(
                    "agree label {} of statement {} names code {code}, which is not an answer {} of the scale",
                    quote(label),
                    s.id,
                    s.scale.range_text()
                )));
            }
            codes.push(code as i64);
            found.push(format!("{} = {code}", quote(label)));
        }
        codes.sort_unstable();
        codes.dedup();
        notes.push(format!(
            "agree codes from the file's value labels: {} (statement {}): {}",
            var.name,
            s.id,
            found.join(", ")
        ));
        out.push(Some(codes));
    }
    Ok(out)
}

/// `spec` with the agree codes found in the file's value labels.
fn with_agree(spec: &WaveSpec, agree: &[Option<Vec<i64>>]) -> WaveSpec {
    let mut spec = spec.clone();
    for (s, codes) in spec.statements.iter_mut().zip(agree) {
        if let Some(c) = codes {
            s.scale.agree = c.clone();
            s.scale.agree_labels.clear();
        }
    }
    spec
}

/// Per statement, the file's variable label where the spec gives no `text`.
fn statement_texts(
    spec: &WaveSpec,
    dict: &Dictionary,
    header: &[String],
    notes: &mut Vec<String>,
) -> Vec<Option<String>> {
    let mut used = Vec::new();
    let texts = spec
        .statements
        .iter()
        .map(|s| {
            if s.text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
                return None;
            }
            let col = s.column.as_deref()?;
            let i = header.iter().position(|h| h == col)?;
            let label = dict.variable(&header[i])?.label.clone()?;
            used.push(s.id.clone());
            Some(label)
        })
        .collect();
    if !used.is_empty() {
        notes.push(format!(
            "statement text from the file's variable labels: {}",
            used.join(", ")
        ));
    }
    texts
}

/// One note per statement or segment column with user-missing values.
fn missing_notes(
    spec: &WaveSpec,
    resp: &crate::spec::Respondent,
    dict: &Dictionary,
    header: &[String],
    stmt_cols: &[usize],
    fields: &[Field],
    notes: &mut Vec<String>,
) {
    let count = |var: usize, labelled: bool| -> u64 {
        fields
            .iter()
            .filter(|f| f.var == var && f.labelled == labelled)
            .map(|f| f.missing)
            .sum()
    };
    // The index and variable of a column with user-missing values.
    let with_missing = |name: &str| {
        let var = dict.variable(name).filter(|v| !v.missing.is_empty())?;
        let k = dict
            .vars
            .iter()
            .position(|v| std::ptr::eq(v, var))
            .unwrap_or(0);
        Some((k, var))
    };
    let mut seen = Vec::new();
    for (j, &i) in stmt_cols.iter().enumerate() {
        let Some((k, var)) = with_missing(&header[i]) else {
            continue;
        };
        if seen.contains(&i) {
            continue;
        }
        seen.push(i);
        if !spec.statements[j].scale.file_missing {
            notes.push(format!(
                "missing values from the file read as answers (file_missing = false): {} (statement {}): {}",
                var.name,
                spec.statements[j].id,
                var.missing.describe()
            ));
            continue;
        }
        notes.push(format!(
            "missing values from the file: {} (statement {}): {} ({} answers missing, not counted)",
            var.name,
            spec.statements[j].id,
            var.missing.describe(),
            count(k, false)
        ));
    }
    for s in &resp.segments {
        let Some((k, var)) = with_missing(s) else {
            continue;
        };
        notes.push(format!(
            "missing values from the file: {} (segment): {} ({} respondents with no {})",
            var.name,
            var.missing.describe(),
            count(k, true),
            var.name
        ));
    }
}

#[cfg(test)]
mod tests;
