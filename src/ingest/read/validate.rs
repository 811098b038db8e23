//! The one validator of wide microdata, shared by every reader: one row per respondent,
//! one column per statement. A reader streams its source record by record and hands each
//! record ([`Fields`]) to the [`Validator`], which checks every field against the spec (no
//! schema inference) and hands each valid respondent to a callback. Problems are collected
//! (up to a bound) so a user can fix a file in one pass.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use super::ids::SeenIds;
use crate::diag::{not_utf8, quote};
use crate::error::{Error, InputError, Invalid, Result, MAX_ERRORS};
pub use crate::ingest::scores::CellAcc;
use crate::ingest::scores::{Block, ScoreStat, Scoring};
use crate::spec::{Respondent, Scale, WaveSpec};

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
    /// What the reader took from the source or the spec that a user should see (the file's
    /// weight variable, its missing values, rows a rule removed): one line each, printed
    /// under the wave by `ingest`, in dry runs too.
    pub notes: Vec<String>,
    /// Something probably wrong that does not stop the load (a `[groups]` value no
    /// respondent has): one line each, printed on stderr as `warning: WAVE: LINE`.
    pub warnings: Vec<String>,
    /// Per statement (spec order), the text the source gives where the spec has none
    /// (an SPSS variable label); empty when the source gives none.
    pub statement_texts: Vec<Option<String>>,
    /// Per statement (spec order), the agree codes its `agree` labels name through the
    /// source's value labels (an SPSS file); empty when none are named so.
    pub agree_codes: Vec<Option<Vec<i64>>>,
    /// The whole wave's `scorestats` rows (bottom box, net, mean, themes) per group.
    pub scores: Vec<ScoreStat>,
    /// Where the spec matches ids across waves: each respondent's
    /// [`crate::tables::id_hash`], sorted (the validation pass of a rim-weighted wave drops
    /// them; its write pass has them again).
    pub id_hashes: Vec<u64>,
}

/// One valid respondent, borrowed from the reader's buffers.
pub struct Row<'a> {
    /// Where the respondent's record is (its line, or its row in a Parquet or SPSS file).
    pub(crate) loc: Loc,
    pub id: &'a str,
    pub group: &'a str,
    /// The group's index: groups are numbered in the order they first appear.
    pub group_key: usize,
    pub weight: f64,
    /// One per spec segment; `None` where the cell is empty.
    pub segments: &'a [Option<String>],
    /// One per statement: the coded value (`None` for an empty cell).
    pub values: &'a [Option<i32>],
    /// One per statement: agreement (`None` where missing).
    pub agree: &'a [Option<bool>],
}

/// Hashes the raw bytes of a source while they are read.
pub(crate) struct HashingReader<R> {
    pub(crate) inner: R,
    pub(crate) hasher: sha2::Sha256,
    pub(crate) bytes: u64,
}

impl<R> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        use sha2::Digest;
        HashingReader {
            inner,
            hasher: sha2::Sha256::new(),
            bytes: 0,
        }
    }
}

impl<R> HashingReader<R> {
    /// The sha256 of the bytes read, hex.
    pub(crate) fn sha256_hex(self) -> String {
        use sha2::Digest;
        hex::encode(self.hasher.finalize())
    }

    /// Records in `summary` how many bytes were read and their sha256.
    pub(crate) fn stamp(self, summary: &mut Summary) {
        summary.bytes = self.bytes;
        summary.source_sha256 = self.sha256_hex();
    }
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

/// A header name close to `name` (same letters, ignoring case, spaces, `_`, `-` and `.`).
pub(crate) fn suggest<'h>(header: &'h [String], name: &str) -> Option<&'h str> {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let want = norm(name);
    if let Some(h) = header
        .iter()
        .find(|h| h.as_str() != name && norm(h) == want)
    {
        return Some(h);
    }
    // Else a name one or two edits away (a typo), the closest first.
    let most = if want.chars().count() >= 6 { 2 } else { 1 };
    header
        .iter()
        .map(|h| (strsim::levenshtein(&norm(h), &want), h))
        .filter(|(d, _)| *d <= most)
        .min_by_key(|(d, _)| *d)
        .map(|(_, h)| h.as_str())
}

/// A parsed answer cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    Empty,
    Int(i64),
    /// A whole number too large for any scale.
    Huge,
    Fraction,
    NotNumber,
}

/// Parses an answer cell. Exports from statistics packages write "4.0": integral decimals
/// are whole numbers.
fn parse_code(s: &str) -> Code {
    if s.is_empty() {
        return Code::Empty;
    }
    if let Ok(v) = s.parse::<i64>() {
        return Code::Int(v);
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f.fract() == 0.0 => {
            if f.abs() < 1e15 {
                Code::Int(f as i64)
            } else {
                Code::Huge
            }
        }
        Ok(f) if f.is_finite() => Code::Fraction,
        _ => Code::NotNumber,
    }
}

/// What a one-digit answer is on a scale: its code and agreement (`None` for a missing
/// code), or `None` when it is not an answer (the full parse then says why).
type Quick = Option<(i32, Option<bool>)>;

/// [`Quick`] for the digits 0 to 9.
fn quick_codes(scale: &Scale) -> [Quick; 10] {
    std::array::from_fn(|d| {
        let v = d as i64;
        if scale.missing.contains(&v) {
            Some((d as i32, None))
        } else if scale.is_answer(v) {
            Some((d as i32, Some(scale.agree.contains(&v))))
        } else {
            None
        }
    })
}

/// The largest weight accepted: beyond it, sums of squared weights lose all precision.
const MAX_WEIGHT: f64 = 1e12;

/// Parses a weight cell, or says what is wrong with it.
fn parse_weight(s: &str) -> std::result::Result<f64, String> {
    if s.is_empty() {
        return Err(
            "\"\" is blank: every respondent needs a weight (a positive finite number such as 1 or 0.85)"
                .into(),
        );
    }
    let why = match s.parse::<f64>() {
        Ok(w) if w.is_nan() => "is not a number",
        Ok(w) if w.is_infinite() => "is infinite",
        Ok(0.0) => "is zero",
        Ok(w) if w < 0.0 => "is negative",
        Ok(w) if w > MAX_WEIGHT => "is too large (at most 1e12)",
        Ok(w) => return Ok(w),
        Err(_) if s.contains(',') && s.replace(',', ".").parse::<f64>().is_ok() => {
            "is not a number (a decimal comma? write a decimal point, e.g. 1.5)"
        }
        Err(_) => "is not a number",
    };
    Err(format!(
        "{} {why}; weights must be positive finite numbers (e.g. 1 or 0.85)",
        quote(s)
    ))
}

/// What a scale expects, with the missing values the source declares (`declared`, as
/// shown; empty for none) next to the spec's missing codes.
fn expected(scale: &Scale, declared: &str) -> String {
    let d = scale.describe();
    if declared.is_empty() {
        return d;
    }
    let spec_codes = if scale.missing.is_empty() {
        String::new()
    } else {
        let c: Vec<String> = scale.missing.iter().map(|m| m.to_string()).collect();
        format!("{}; ", c.join(", "))
    };
    match d.find(" (missing codes: ") {
        Some(k) => format!(
            "{} (missing codes: {spec_codes}{declared} declared missing in the file)",
            &d[..k]
        ),
        None => format!("{d} (declared missing in the file: {declared})"),
    }
}

/// A hint for a non-numeric answer.
fn answer_hint(s: &str) -> &'static str {
    if s.starts_with('#') {
        " (an Excel error value: leave the cell empty, or use a missing code)"
    } else if s.contains(',') && s.replace(',', ".").parse::<f64>().is_ok() {
        " (a decimal comma?)"
    } else {
        ""
    }
}

/// Where a value is in its source, for messages: a line as an editor counts it (text
/// formats), or a 1-based row (Parquet, SPSS: sources without lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loc {
    Line(u64),
    Row(u64),
}

impl Loc {
    /// Puts the location on an error.
    pub(crate) fn on(self, e: InputError) -> InputError {
        match self {
            Loc::Line(l) => e.line(l),
            Loc::Row(r) => e.row(r),
        }
    }
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loc::Line(l) => write!(f, "line {l}"),
            Loc::Row(r) => write!(f, "row {r}"),
        }
    }
}

/// One record of a source, as the [`Validator`] sees it: the raw (untrimmed) bytes of
/// each of the validator's columns, and where each one is.
pub(crate) trait Fields {
    /// The bytes of column `i` (an index into the validator's header); empty for a
    /// missing value.
    fn get(&self, i: usize) -> &[u8];
    /// Where the value of column `i` is.
    fn loc(&self, i: usize) -> Loc;
    /// `true` when the source itself declares the value of column `i` missing (an SPSS
    /// user-missing value): an answer keeps its code and is not counted, a segment is
    /// empty, a group is an error.
    fn user_missing(&self, _i: usize) -> bool {
        false
    }
}

/// The columns of the spec, found in a source's header.
pub(crate) struct Columns {
    pub(crate) id: usize,
    pub(crate) group: usize,
    pub(crate) weight: Option<usize>,
    pub(crate) segments: Vec<usize>,
    pub(crate) statements: Vec<usize>,
    /// One per `[rows]` rule: its column.
    pub(crate) rows: Vec<usize>,
}

/// The spec's `[respondent]` table, or the error a microdata wave without one gets.
pub(crate) fn respondent(spec: &WaveSpec) -> Result<&Respondent> {
    spec.respondent.as_ref().ok_or_else(|| {
        Error::input(
            InputError::new(
                &spec.spec_path,
                "a microdata wave needs a [respondent] table (with `id` and `group` columns)",
            )
            .column("respondent"),
        )
    })
}

/// Every column name the spec reads, once each, in the order id, group, weight,
/// segments, statements, `[rows]` rules (the header of sources whose records are looked
/// up by name).
pub(crate) fn needed_columns(spec: &WaveSpec) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |n: &str| {
        if !out.iter().any(|x| x == n) {
            out.push(n.to_string());
        }
    };
    if let Some(r) = &spec.respondent {
        add(&r.id);
        add(&r.group);
        if let Some(w) = &r.weight {
            add(w);
        }
        for s in &r.segments {
            add(s);
        }
    }
    for s in &spec.statements {
        add(s.column.as_deref().unwrap_or(""));
    }
    for r in &spec.rows {
        add(&r.column);
    }
    out
}

/// Finds the spec's columns in `header`; else one message per missing or duplicated
/// column (`not_in` says where a missing one is not: "is not in the header").
pub(crate) fn find_columns(
    spec: &WaveSpec,
    resp: &Respondent,
    header: &[String],
    not_in: &str,
) -> std::result::Result<Columns, Vec<String>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut dup_header: HashMap<&str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        if index.insert(h.as_str(), i).is_some() {
            dup_header.entry(h.as_str()).or_insert(i);
        }
    }
    let mut missing_cols = Vec::new();
    let mut col = |name: &str, role: String| -> Option<usize> {
        if let Some(&second) = dup_header.get(name) {
            let first = header.iter().position(|h| h == name).unwrap_or(0);
            missing_cols.push(format!(
                "column {} ({role}) appears more than once in the header (fields {} and {}): rename one of them",
                quote(name),
                first + 1,
                second + 1
            ));
            return None;
        }
        match index.get(name) {
            Some(&i) => Some(i),
            None => {
                let hint = match suggest(header, name) {
                    Some(s) => format!(" (did you mean {}?)", quote(s)),
                    None => String::new(),
                };
                missing_cols.push(format!("column {} ({role}) {not_in}{hint}", quote(name)));
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
    let rule_cols: Vec<Option<usize>> = spec
        .rows
        .iter()
        .map(|r| {
            let kind = if r.keep { "keep" } else { "drop" };
            col(
                &r.column,
                format!("[rows] {kind} rule, spec line {}", r.line),
            )
        })
        .collect();
    match (
        id_col,
        group_col,
        weight_col.map_or(Some(None), |w| w.map(Some)),
        seg_cols.into_iter().collect::<Option<Vec<usize>>>(),
        stmt_cols.into_iter().collect::<Option<Vec<usize>>>(),
        rule_cols.into_iter().collect::<Option<Vec<usize>>>(),
    ) {
        (Some(id), Some(group), Some(weight), Some(segments), Some(statements), Some(rows)) => {
            Ok(Columns {
                id,
                group,
                weight,
                segments,
                statements,
                rows,
            })
        }
        _ => Err(missing_cols),
    }
}

/// The header's names, quoted, for a message (at most 300 characters).
pub(crate) fn available(header: &[String]) -> String {
    header
        .iter()
        .map(|h| quote(h))
        .collect::<Vec<_>>()
        .join(", ")
        .chars()
        .take(300)
        .collect()
}

/// The error for missing columns: one per message, each ending with what the source has.
pub(crate) fn missing_columns_error(
    shown: &str,
    messages: Vec<String>,
    has: &str,
    loc: Option<Loc>,
) -> Error {
    let total = messages.len();
    let mut list: Vec<InputError> = messages
        .into_iter()
        .map(|m| {
            let e = if has.is_empty() {
                InputError::new(shown, m)
            } else {
                InputError::new(shown, format!("{m}; {has}"))
            };
            match loc {
                Some(l) => l.on(e),
                None => e,
            }
        })
        .collect();
    list.truncate(MAX_ERRORS);
    Error::Invalid(Invalid {
        errors: list,
        total,
    })
}

/// A problem with field `i` of the record `f`, in the column `name`; the field's index
/// orders the problems of a row.
fn field_error<F: Fields>(
    shown: &str,
    f: &F,
    i: usize,
    name: &str,
    msg: impl Into<String>,
) -> (usize, InputError) {
    (i, f.loc(i).on(InputError::new(shown, msg)).column(name))
}

/// The per-respondent validation of a wide microdata source, whatever its format: row
/// rules, ids, duplicate ids, groups, weights, segments, weighting categories, answer
/// codes against each statement's scale, the per-cell sums, and the [`Row`] handed to the
/// caller. A format only supplies records ([`Fields`]) in the header's column order.
pub(crate) struct Validator<'s> {
    spec: &'s WaveSpec,
    resp: &'s Respondent,
    shown: &'s str,
    cols: Columns,
    scales: Vec<&'s Scale>,
    /// Per statement, what a one-digit answer is (see [`quick_codes`]).
    quick: Vec<[Quick; 10]>,
    weight_name: String,
    summary: Summary,
    ids: SeenIds,
    // Raw label -> index of its canonical group in `groups` (found by index: no hashing
    // per answer).
    group_cache: rustc_hash::FxHashMap<String, usize>,
    groups: Vec<String>,
    /// How the scores are computed, and per group their accumulators (the code
    /// histograms, from which the `cellstats` sums follow).
    scoring: Scoring,
    scores: Vec<Block>,
    /// The histogram slots of the respondent being added (kept to reuse its buffer).
    slots: Vec<u32>,
    per_group: Vec<u64>,
    segments: Vec<Option<String>>,
    values: Vec<Option<i32>>,
    agree: Vec<Option<bool>>,
    row_errs: Vec<(usize, InputError)>,
    /// Rows each `[rows]` rule removed.
    removed: Vec<u64>,
    /// Per weighting margin: category key -> target index, and respondents per target.
    targets: Vec<HashMap<String, u16>>,
    target_counts: Vec<Vec<u64>>,
    /// Every problem found so far.
    pub(crate) errors: Invalid,
    /// Added to the message of an answer that is not a number (a format's own advice).
    pub(crate) not_number_hint: &'static str,
    /// Replaces each valid respondent's weight by the one at its position (rim weights).
    weights: Option<&'s [f64]>,
    /// Per statement, the missing values the source declares, as shown in messages.
    declared: Vec<String>,
}

impl<'s> Validator<'s> {
    pub(crate) fn new(
        spec: &'s WaveSpec,
        resp: &'s Respondent,
        shown: &'s str,
        cols: Columns,
        weights: Option<&'s [f64]>,
    ) -> Self {
        let n_stmt = spec.statements.len();
        let targets = spec
            .weighting
            .as_ref()
            .map(|w| w.index())
            .unwrap_or_default();
        Validator {
            spec,
            resp,
            shown,
            scales: spec.statements.iter().map(|s| &s.scale).collect(),
            quick: spec
                .statements
                .iter()
                .map(|s| quick_codes(&s.scale))
                .collect(),
            weight_name: resp.weight.clone().unwrap_or_default(),
            summary: Summary {
                missing: vec![0; n_stmt],
                ..Default::default()
            },
            ids: SeenIds::default(),
            group_cache: Default::default(),
            groups: Vec::new(),
            scoring: Scoring::new(spec),
            scores: Vec::new(),
            slots: Vec::new(),
            per_group: Vec::new(),
            segments: vec![None; cols.segments.len()],
            values: vec![None; n_stmt],
            agree: vec![None; n_stmt],
            row_errs: Vec::new(),
            removed: vec![0; spec.rows.len()],
            target_counts: targets.iter().map(|t| vec![0; t.len()]).collect(),
            targets,
            errors: Invalid::default(),
            not_number_hint: "",
            weights,
            declared: vec![String::new(); n_stmt],
            cols,
        }
    }

    /// Reads the weight from column `col` (a weight the source names: SPSS `WEIGHT BY`).
    pub(crate) fn use_file_weight(&mut self, col: usize, name: &str) {
        self.cols.weight = Some(col);
        self.weight_name = name.to_string();
    }

    /// Records the missing values the source declares for statement `j` (for messages).
    pub(crate) fn declare_missing(&mut self, j: usize, shown: String) {
        self.declared[j] = shown;
    }

    /// The trimmed text of column `i`, or `None` (and an error) when it is not UTF-8.
    fn field<'f, F: Fields>(
        shown: &str,
        f: &'f F,
        i: usize,
        name: &str,
        row_errs: &mut Vec<(usize, InputError)>,
    ) -> Option<&'f str> {
        let raw = f.get(i);
        match std::str::from_utf8(raw) {
            Ok(s) => Some(s.trim()),
            Err(e) => {
                row_errs.push(field_error(shown, f, i, name, not_utf8(raw, e)));
                None
            }
        }
    }

    /// `true` when a `[rows]` rule removes the record (counted under the first such rule).
    fn removed_by_rule<F: Fields>(&mut self, f: &F) -> bool {
        for (k, rule) in self.spec.rows.iter().enumerate() {
            let value = String::from_utf8_lossy(f.get(self.cols.rows[k]));
            if rule.removes(&value) {
                self.removed[k] += 1;
                return true;
            }
        }
        false
    }

    /// The respondent id (duplicates are found once the whole source is read).
    fn id_of<'f, F: Fields>(&mut self, f: &'f F) -> &'f str {
        let col = self.cols.id;
        match Self::field(self.shown, f, col, &self.resp.id, &mut self.row_errs) {
            None => "",
            Some("") => {
                self.row_errs.push(field_error(
                    self.shown,
                    f,
                    col,
                    &self.resp.id,
                    "\"\" is blank: every row needs a unique respondent id",
                ));
                ""
            }
            Some(id) => {
                self.ids.add(id, f.loc(col));
                id
            }
        }
    }

    /// The index of the respondent's canonical group.
    fn group_of<F: Fields>(&mut self, f: &F) -> Option<usize> {
        let col = self.cols.group;
        let g = Self::field(self.shown, f, col, &self.resp.group, &mut self.row_errs)?;
        if g.is_empty() {
            self.row_errs.push(field_error(
                self.shown,
                f,
                col,
                &self.resp.group,
                "\"\" is blank: every respondent needs a group",
            ));
            return None;
        }
        if f.user_missing(col) {
            self.row_errs.push(field_error(
                self.shown,
                f,
                col,
                &self.resp.group,
                format!(
                    "{} is a missing value declared in the file: every respondent needs a group",
                    quote(g)
                ),
            ));
            return None;
        }
        if let Some(&k) = self.group_cache.get(g) {
            return Some(k);
        }
        let c = self.spec.canonical_group(g);
        let k = match self.groups.iter().position(|x| *x == c) {
            Some(k) => k,
            None => {
                self.groups.push(c);
                self.scores.push(self.scoring.block());
                self.per_group.push(0);
                self.groups.len() - 1
            }
        };
        self.group_cache.insert(g.to_string(), k);
        Some(k)
    }

    /// The design weight (1 without a weight column).
    fn weight_of<F: Fields>(&mut self, f: &F) -> f64 {
        let Some(i) = self.cols.weight else {
            return 1.0;
        };
        let Some(s) = Self::field(self.shown, f, i, &self.weight_name, &mut self.row_errs) else {
            return 1.0;
        };
        match parse_weight(s) {
            Ok(w) => w,
            Err(msg) => {
                self.row_errs
                    .push(field_error(self.shown, f, i, &self.weight_name, msg));
                1.0
            }
        }
    }

    /// The segment values, and the category of each weighting column (checked in every
    /// row, so that one pass names every value without a target).
    fn segments_of<F: Fields>(&mut self, f: &F) {
        let resp = self.resp;
        for (j, &i) in self.cols.segments.iter().enumerate() {
            self.segments[j] =
                match Self::field(self.shown, f, i, &resp.segments[j], &mut self.row_errs) {
                    None | Some("") => None,
                    Some(_) if f.user_missing(i) => None,
                    Some(s) => Some(s.to_string()),
                };
        }
        let Some(w) = &self.spec.weighting else {
            return;
        };
        for (m, margin) in w.margins.iter().enumerate() {
            let i = self.cols.segments[margin.segment];
            if self.row_errs.iter().any(|(c, _)| *c == i) {
                continue;
            }
            let value = self.segments[margin.segment].as_deref();
            match w.category(&self.targets[m], m, value) {
                Ok(k) => self.target_counts[m][k as usize] += 1,
                Err(msg) => {
                    let e = field_error(self.shown, f, i, &margin.column, msg);
                    self.row_errs.push(e);
                }
            }
        }
    }

    /// Validates one respondent; a valid one (in a file without problems so far) is
    /// counted and handed to `on_row`.
    pub(crate) fn record<F: Fields>(
        &mut self,
        f: &F,
        on_row: &mut impl FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        if self.removed_by_rule(f) {
            return Ok(());
        }
        let shown = self.shown;
        let spec = self.spec;
        self.row_errs.clear();
        let id = self.id_of(f);
        let group = self.group_of(f);
        let weight = self.weight_of(f);
        self.segments_of(f);
        let row_errs = &mut self.row_errs;
        for (j, &i) in self.cols.statements.iter().enumerate() {
            // The common cells first: empty, or one digit the source does not declare
            // missing (the same outcome as the full parse below).
            match f.get(i) {
                [] => {
                    (self.values[j], self.agree[j]) = (None, None);
                    continue;
                }
                [b @ b'0'..=b'9'] if !f.user_missing(i) => {
                    if let Some((v, a)) = self.quick[j][usize::from(b - b'0')] {
                        (self.values[j], self.agree[j]) = (Some(v), a);
                        continue;
                    }
                }
                _ => {}
            }
            let name = spec.statements[j].column.as_deref().unwrap_or("");
            let Some(s) = Self::field(shown, f, i, name, row_errs) else {
                continue;
            };
            let scale = self.scales[j];
            // An answer written as a label of the scale is its code.
            let code = match parse_code(s) {
                Code::NotNumber => scale.code_of_label(s).map_or(Code::NotNumber, Code::Int),
                c => c,
            };
            let problem = match code {
                // A value the file declares missing: kept, not an answer.
                code if f.user_missing(i) => {
                    self.values[j] = match code {
                        Code::Int(v) => i32::try_from(v).ok(),
                        _ => None,
                    };
                    self.agree[j] = None;
                    None
                }
                Code::Empty => {
                    self.values[j] = None;
                    self.agree[j] = None;
                    None
                }
                Code::Int(v) if scale.missing.contains(&v) => {
                    self.values[j] = i32::try_from(v).ok();
                    self.agree[j] = None;
                    None
                }
                Code::Int(v) if scale.is_answer(v) => {
                    self.values[j] = Some(v as i32);
                    self.agree[j] = Some(scale.agree.contains(&v));
                    None
                }
                Code::Int(_) | Code::Huge => Some(format!(
                    "{} is not {}",
                    quote(s),
                    expected(scale, &self.declared[j])
                )),
                Code::Fraction => Some(format!(
                    "{} is not a whole number; expected {}",
                    quote(s),
                    expected(scale, &self.declared[j])
                )),
                Code::NotNumber => {
                    let hint = match answer_hint(s) {
                        "" => self.not_number_hint,
                        h => h,
                    };
                    let what = if scale.labels.is_empty() {
                        "a number"
                    } else {
                        "a number or a label of the scale"
                    };
                    Some(format!(
                        "{} is not {what}{hint}; expected {}",
                        quote(s),
                        expected(scale, &self.declared[j])
                    ))
                }
            };
            if let Some(msg) = problem {
                row_errs.push(field_error(shown, f, i, name, msg));
            }
        }
        if !row_errs.is_empty() {
            // In the order of the row's fields.
            row_errs.sort_by_key(|(i, _)| *i);
            for (_, e) in row_errs.drain(..) {
                self.errors.push(e);
            }
            return Ok(());
        }
        if self.errors.total > 0 {
            return Ok(());
        }
        let Some(gk) = group else { return Ok(()) };
        self.accept(f.loc(self.cols.id), id, gk, weight, on_row)
    }

    /// Counts a valid respondent and hands it to `on_row`.
    fn accept(
        &mut self,
        loc: Loc,
        id: &str,
        gk: usize,
        weight: f64,
        on_row: &mut impl FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        let weight = match self.weights {
            None => weight,
            Some(ws) => *ws
                .get(self.summary.respondents as usize)
                .ok_or_else(|| Error::Other("more respondents than computed weights".into()))?,
        };
        self.summary.respondents += 1;
        self.per_group[gk] += 1;
        for (j, a) in self.agree.iter().enumerate() {
            self.summary.missing[j] += u64::from(a.is_none());
        }
        let (agree, values) = (&self.agree, &self.values);
        let code = |j: usize| Some((i64::from(values[j]?), agree[j]?));
        self.scoring.slots(code, &mut self.slots);
        self.scoring
            .add_slots(&mut self.scores[gk], weight, &self.slots, code);
        on_row(&Row {
            loc,
            id,
            group: self.groups[gk].as_str(),
            group_key: gk,
            weight,
            segments: &self.segments,
            values: &self.values,
            agree: &self.agree,
        })
    }

    /// `true` once a problem was found.
    pub(crate) fn failed(&self) -> bool {
        self.errors.total > 0
    }

    /// What the spec made of the source, for the ingest output: rows each `[rows]` rule
    /// removed, and missing codes inside a scale's range.
    fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .spec
            .rows
            .iter()
            .zip(&self.removed)
            .map(|(rule, n)| {
                let rows = if *n == 1 { "row" } else { "rows" };
                format!("{}: {n} {rows} removed", rule.describe())
            })
            .collect();
        for st in &self.spec.statements {
            let inside = st.scale.missing_inside();
            if !inside.is_empty() {
                notes.push(format!(
                    "statement {}: missing code(s) {} lie inside the answer range {}; those answers count as missing",
                    st.id,
                    crate::spec::scale::join(&inside),
                    st.scale.range_text()
                ));
            }
        }
        notes
    }

    /// A warning (an error with `strict`) for every `[groups]` raw value no respondent
    /// has, naming the closest raw values the source does have.
    fn unmatched_groups(&mut self) -> Vec<String> {
        let seen: HashMap<String, &str> = self
            .group_cache
            .keys()
            .map(|k| (k.to_lowercase(), k.as_str()))
            .collect();
        let mut warnings = Vec::new();
        for gv in &self.spec.group_values {
            if seen.contains_key(&gv.raw.to_lowercase()) {
                continue;
            }
            let mut close: Vec<(f64, &str)> = seen
                .iter()
                .map(|(k, raw)| (strsim::jaro_winkler(k, &gv.raw.to_lowercase()), *raw))
                .collect();
            close.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
            let close: Vec<String> = close.iter().take(3).map(|(_, r)| quote(r)).collect();
            let msg = format!(
                "[groups] {}: no respondent has the raw value {} in column {}; the closest values it has are {}",
                gv.group,
                quote(&gv.raw),
                quote(&self.resp.group),
                close.join(", ")
            );
            if self.spec.strict {
                self.errors.push(
                    InputError::new(
                        &self.spec.spec_path,
                        format!("{msg} (strict: a raw value that matches nobody is an error)"),
                    )
                    .line(gv.line)
                    .column(format!("groups.{}", gv.group)),
                );
            } else {
                warnings.push(format!("{msg} (spec line {})", gv.line));
            }
        }
        warnings
    }

    /// The summary of a source read to its end; every problem found, or `no_rows` when
    /// the source had no respondent.
    pub(crate) fn finish(mut self, mut no_rows: InputError) -> Result<Summary> {
        let ids = std::mem::take(&mut self.ids);
        let id_name = self.resp.id.clone();
        let hashes = ids.duplicates(self.shown, &id_name, &mut self.errors)?;
        if self.resp.panel {
            self.summary.id_hashes = hashes;
        }
        let warnings = self.unmatched_groups();
        if let Some(w) = &self.spec.weighting {
            for e in w.empty_targets(&self.spec.spec_path, self.shown, &self.target_counts) {
                self.errors.push(e);
            }
        }
        std::mem::take(&mut self.errors).check()?;
        let mut summary = std::mem::take(&mut self.summary);
        summary.notes.extend(self.notes());
        summary.warnings.extend(warnings);
        if summary.respondents == 0 {
            let removed: u64 = self.removed.iter().sum();
            if removed > 0 {
                no_rows.message = format!(
                    "{} (the [rows] rules removed all {removed} rows)",
                    no_rows.message
                );
            }
            return Err(Error::input(no_rows));
        }
        for (gk, block) in self.scores.iter().enumerate() {
            if self.per_group[gk] > 0 {
                summary
                    .per_group
                    .insert(self.groups[gk].clone(), self.per_group[gk]);
            }
            for (j, acc) in self.scoring.cells(block).into_iter().enumerate() {
                if acc.n > 0 {
                    summary.cells.insert((j, self.groups[gk].clone()), acc);
                }
            }
            let rows = self.scoring.rows(self.spec, &self.groups[gk], block);
            summary.scores.extend(rows);
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(parse_code(""), Code::Empty);
        assert_eq!(parse_code("4"), Code::Int(4));
        assert_eq!(parse_code("4.0"), Code::Int(4));
        assert_eq!(parse_code("+4"), Code::Int(4));
        assert_eq!(parse_code("4.5"), Code::Fraction);
        assert_eq!(parse_code("1e300"), Code::Huge);
        assert_eq!(parse_code("99999999999999999999"), Code::Huge);
        assert_eq!(parse_code("NaN"), Code::NotNumber);
        assert_eq!(parse_code("inf"), Code::NotNumber);
        assert_eq!(parse_code("#N/A"), Code::NotNumber);
    }

    #[test]
    fn weights() {
        assert_eq!(parse_weight("0.85"), Ok(0.85));
        for (s, why) in [
            ("", "blank"),
            ("-1", "negative"),
            ("0", "zero"),
            ("-0", "zero"),
            ("NaN", "not a number"),
            ("inf", "infinite"),
            ("1,5", "decimal comma"),
            ("1e300", "too large"),
        ] {
            let e = parse_weight(s).unwrap_err();
            assert!(e.contains(why) && e.contains(&format!("{s:?}")), "{s}: {e}");
        }
    }
}
