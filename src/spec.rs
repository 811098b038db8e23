//! Wave specs (docs/spec.md): one TOML file per wave, parsed strictly (unknown keys are
//! errors) and validated as a whole, so every problem of a spec is reported at once with
//! the spec's line.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use encoding_rs::Encoding;
use serde::Deserialize;
use toml::Spanned;

pub mod weighting;

pub(crate) use crate::diag::io_reason;
pub use crate::diag::line_of;
use crate::diag::Problems;
use crate::error::{Error, InputError, Result};

/// How a wave's source is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Tsv,
    Jsonl,
    Parquet,
    /// A Qualtrics CSV export (three header rows); explicit only.
    Qualtrics,
    /// An SPSS system file (`.sav`).
    Sav,
    Cells,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Jsonl => "jsonl",
            Format::Parquet => "parquet",
            Format::Qualtrics => "qualtrics",
            Format::Sav => "sav",
            Format::Cells => "cells",
        }
    }
    fn parse(s: &str) -> Option<Format> {
        Some(match s.to_ascii_lowercase().as_str() {
            "csv" => Format::Csv,
            "tsv" | "tab" => Format::Tsv,
            "jsonl" | "ndjson" => Format::Jsonl,
            "parquet" => Format::Parquet,
            "qualtrics" => Format::Qualtrics,
            "sav" | "spss" => Format::Sav,
            "cells" => Format::Cells,
            _ => return None,
        })
    }
}

/// Where the data file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local file, resolved against the spec's directory.
    Path(PathBuf),
    /// A store URL (`s3://…`, `file://…`, `memory://…`, …).
    Url(String),
}

impl Source {
    pub fn display(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Url(u) => u.clone(),
        }
    }
}

/// The scale of one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    /// Valid answers are the integers 1..=points.
    pub points: u32,
    /// Answers counted as agreement.
    pub agree: Vec<u32>,
    /// Codes meaning "not asked / don't know", excluded from the base.
    pub missing: Vec<i64>,
}

impl Scale {
    /// `true` when `v` is a valid answer on this scale.
    pub fn is_answer(&self, v: i64) -> bool {
        v >= 1 && v <= self.points as i64
    }
    pub fn describe(&self) -> String {
        let missing = if self.missing.is_empty() {
            "none".to_string()
        } else {
            join(&self.missing)
        };
        format!(
            "an answer on the 1-{} scale (missing codes: {missing})",
            self.points
        )
    }
}

fn join<T: ToString>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Stable id across waves (the crosswalk key).
    pub id: String,
    /// Source column (microdata only).
    pub column: Option<String>,
    pub text: Option<String>,
    pub scale: Scale,
    pub series_break: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Respondent {
    pub id: String,
    pub group: String,
    pub weight: Option<String>,
    pub segments: Vec<String>,
}

/// A validated wave spec.
#[derive(Debug, Clone)]
pub struct WaveSpec {
    /// The spec file as the user named it (for messages).
    pub spec_path: String,
    /// The spec's bytes, hashed to detect changes.
    pub spec_bytes: Vec<u8>,
    pub wave: String,
    pub date: NaiveDate,
    pub title: Option<String>,
    pub source: Source,
    /// The `source` value as written in the spec.
    pub source_text: String,
    pub format: Format,
    pub delimiter: u8,
    /// Encoding label (WHATWG), `utf-8` by default.
    pub encoding: String,
    /// Present for microdata formats, absent for `cells`.
    pub respondent: Option<Respondent>,
    /// Lower-cased trimmed raw value -> canonical group.
    pub groups: HashMap<String, String>,
    /// In id order.
    pub statements: Vec<Statement>,
    /// The spec's line of `wave` and of `source` (for messages about them).
    pub wave_line: Option<u64>,
    pub source_line: Option<u64>,
    /// Rim weighting (raking) to target shares, from `[weighting]`.
    pub weighting: Option<weighting::Weighting>,
}

impl WaveSpec {
    /// The canonical group of a raw label: mapped through `[groups]` (trimmed,
    /// case-insensitive), else its trimmed, lower-cased value.
    pub fn canonical_group(&self, raw: &str) -> String {
        let key = raw.trim().to_lowercase();
        match self.groups.get(&key) {
            Some(g) => g.clone(),
            None => key,
        }
    }
}

// ---------- raw, as written ----------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    wave: Option<Spanned<toml::Value>>,
    date: Option<Spanned<toml::Value>>,
    title: Option<Spanned<String>>,
    source: Option<Spanned<String>>,
    format: Option<Spanned<String>>,
    delimiter: Option<Spanned<String>>,
    encoding: Option<Spanned<String>>,
    respondent: Option<Spanned<RawRespondent>>,
    groups: Option<BTreeMap<String, Spanned<Vec<String>>>>,
    scale: Option<Spanned<RawScale>>,
    statements: Option<BTreeMap<String, Spanned<RawStatement>>>,
    weighting: Option<Spanned<weighting::RawWeighting>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRespondent {
    id: Option<Spanned<String>>,
    group: Option<Spanned<String>>,
    weight: Option<Spanned<String>>,
    segments: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScale {
    points: Option<Spanned<i64>>,
    agree: Option<Spanned<Vec<i64>>>,
    missing: Option<Spanned<Vec<i64>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatement {
    column: Option<Spanned<String>>,
    text: Option<Spanned<String>>,
    points: Option<Spanned<i64>>,
    agree: Option<Spanned<Vec<i64>>>,
    missing: Option<Spanned<Vec<i64>>>,
    series_break: Option<bool>,
}

/// A wave id: 1-64 chars of `[A-Za-z0-9._-]`.
pub fn valid_wave_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Statement ids and group names share this rule: 1-64 chars of `[A-Za-z0-9._-]`.
pub(crate) fn valid_statement_id(s: &str) -> bool {
    valid_wave_id(s)
}

/// `true` when gaptrack can read this encoding label.
pub fn supported_encoding(label: &str) -> bool {
    encoding_for(label).is_some()
}

/// The encoding of a spec's `encoding` label (aliases such as latin-1 and utf-16 included).
pub(crate) fn encoding_for(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().to_ascii_lowercase();
    let l = match l.as_str() {
        "latin1" | "latin-1" | "iso-8859-1" | "iso8859-1" => "windows-1252",
        "utf8" => "utf-8",
        "utf16" | "utf-16" => "utf-16le",
        other => other,
    };
    let enc = Encoding::for_label(l.as_bytes())?;
    // "replacement" and x-user-defined are WHATWG artefacts, not file encodings; UTF-16
    // labels stay allowed (decoding them is what the spec asks for).
    if enc == encoding_rs::REPLACEMENT || enc == encoding_rs::X_USER_DEFINED {
        return None;
    }
    Some(enc)
}

/// Reads and validates a spec file from disk.
pub fn load(path: &Path) -> Result<WaveSpec> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        Error::input(InputError::new(
            &shown,
            format!("cannot read the wave spec: {}", io_reason(&e)),
        ))
    })?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    parse(&shown, &dir, bytes)
}

/// Parses and validates spec text. `dir` resolves a relative `source`.
pub fn parse(file: &str, dir: &Path, bytes: Vec<u8>) -> Result<WaveSpec> {
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = line_of(
                &String::from_utf8_lossy(&bytes[..e.valid_up_to()]),
                e.valid_up_to(),
            );
            return Err(Error::input(
                InputError::new(file, "the spec is not valid UTF-8 text").line(line),
            ));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let raw: RawSpec = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        let msg = friendly_toml(e.message());
        let mut err = InputError::new(file, format!("invalid TOML: {msg}"));
        err.line = line;
        Error::input(err)
    })?;
    let mut p = Problems::new(file, text);
    let spec = validate(raw, &mut p, dir, bytes.clone());
    if let Some(invalid) = p.finish() {
        return Err(Error::Invalid(invalid));
    }
    match spec {
        Some(spec) => Ok(spec),
        // Every path that leaves a part out records a problem; should one not, the spec
        // is still refused rather than half-read.
        None => Err(Error::input(InputError::new(
            file,
            "the spec is incomplete: it needs `wave`, `date`, `source`, [respondent] and [statements.<id>] tables",
        ))),
    }
}

/// A TOML or type error in words a spec author knows.
fn friendly_toml(msg: &str) -> String {
    let mut m = msg.trim().replace('\n', "; ");
    for (from, to) in [
        ("expected i64", "expected a whole number"),
        ("expected a sequence", "expected an array such as [4, 5]"),
        ("expected a boolean", "expected true or false"),
        (
            "invalid basic string",
            "invalid string: a \"…\" string must close on the same line",
        ),
    ] {
        m = m.replace(from, to);
    }
    if m.starts_with("invalid escape sequence") {
        m.push_str(" (a Windows path? write it in single quotes, 'C:\\data\\2019.csv', or with forward slashes)");
    }
    m
}

fn string_value(v: &Spanned<toml::Value>) -> Option<String> {
    match v.get_ref() {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Datetime(d) => Some(d.to_string()),
        _ => None,
    }
}

fn validate(raw: RawSpec, p: &mut Problems, dir: &Path, bytes: Vec<u8>) -> Option<WaveSpec> {
    // wave
    let wave = match &raw.wave {
        None => {
            p.top(
                "wave",
                "the spec has no `wave` (a unique id of 1-64 characters of A-Z a-z 0-9 . _ -)",
            );
            None
        }
        Some(v) => {
            match v.get_ref() {
                toml::Value::String(s) if valid_wave_id(s) => Some(s.clone()),
                toml::Value::Integer(i) => Some(i.to_string()),
                _ => {
                    let shown = string_value(v).unwrap_or_else(|| v.get_ref().to_string());
                    p.at(
                    v.span(),
                    "wave",
                    format!("{shown:?} is not a valid wave id (1-64 characters of A-Z a-z 0-9 . _ -)"),
                );
                    None
                }
            }
        }
    };
    // date
    let date = match &raw.date {
        None => {
            p.top(
                "date",
                "the spec has no `date` (an ISO date such as 2019-04-30)",
            );
            None
        }
        Some(v) => {
            let s = string_value(v).unwrap_or_default();
            match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
                Ok(d) if s.len() == 10 => Some(d),
                _ => {
                    p.at(
                        v.span(),
                        "date",
                        format!("{s:?} is not a valid ISO date (YYYY-MM-DD, e.g. 2019-04-30)"),
                    );
                    None
                }
            }
        }
    };
    let title = raw.title.as_ref().map(|t| t.get_ref().clone());
    // format
    let source_text = raw.source.as_ref().map(|s| s.get_ref().trim().to_string());
    let format = match &raw.format {
        Some(f) => match Format::parse(f.get_ref()) {
            Some(fm) => Some(fm),
            None => {
                p.at(
                    f.span(),
                    "format",
                    format!(
                        "{:?} is not a known format (csv, tsv, jsonl, parquet, qualtrics, sav, cells)",
                        f.get_ref()
                    ),
                );
                None
            }
        },
        None => match &source_text {
            Some(s) => {
                let lower = s.to_ascii_lowercase();
                let ext = lower.rsplit('.').next().unwrap_or("");
                match ext {
                    "csv" | "txt" => Some(Format::Csv),
                    "tsv" | "tab" => Some(Format::Tsv),
                    "jsonl" | "ndjson" => Some(Format::Jsonl),
                    "parquet" => Some(Format::Parquet),
                    "sav" => Some(Format::Sav),
                    _ => {
                        let span = raw.source.as_ref().map(|s| s.span()).unwrap_or(0..0);
                        p.at(
                            span,
                            "source",
                            format!("cannot tell the format of {s:?} from its extension; set `format` (csv, tsv, jsonl, parquet, qualtrics, sav, cells)"),
                        );
                        None
                    }
                }
            }
            None => None,
        },
    };
    // source
    let source = match (&raw.source, &source_text) {
        (Some(sp), Some(s)) if !s.is_empty() => {
            if let Some(path) = s.strip_prefix("file://") {
                Some(Source::Path(PathBuf::from(path)))
            } else if s.contains("://") {
                Some(Source::Url(s.clone()))
            } else {
                let path = Path::new(s);
                if path.is_absolute() {
                    Some(Source::Path(path.to_path_buf()))
                } else {
                    let _ = sp;
                    Some(Source::Path(dir.join(path)))
                }
            }
        }
        (Some(sp), _) => {
            p.at(sp.span(), "source", "`source` is empty: name the data file");
            None
        }
        (None, _) => {
            p.top(
                "source",
                "the spec has no `source` (the data file: relative to the spec, absolute, or a store URL)",
            );
            None
        }
    };
    // delimiter
    let default_delim = if format == Some(Format::Tsv) {
        b'\t'
    } else {
        b','
    };
    let delimiter = match &raw.delimiter {
        None => default_delim,
        Some(d) => {
            let s = d.get_ref();
            let b = match s.as_str() {
                "\\t" | "tab" | "\t" => Some(b'\t'),
                _ if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" && s != "\r" => {
                    Some(s.as_bytes()[0])
                }
                _ => None,
            };
            match b {
                Some(b) => b,
                None => {
                    p.at(
                        d.span(),
                        "delimiter",
                        format!("{s:?} is not a valid delimiter (one ASCII character such as \",\", \";\", \"|\" or \"\\t\")"),
                    );
                    default_delim
                }
            }
        }
    };
    let encoding = match &raw.encoding {
        None => "utf-8".to_string(),
        Some(e) => {
            let label = e.get_ref().trim().to_ascii_lowercase();
            if supported_encoding(&label) {
                label
            } else {
                p.at(
                    e.span(),
                    "encoding",
                    format!(
                        "{:?} is not a supported encoding (utf-8, utf-16, windows-1252, latin-1, …)",
                        e.get_ref()
                    ),
                );
                "utf-8".to_string()
            }
        }
    };
    let is_cells = format == Some(Format::Cells);

    // respondent
    let respondent = match (&raw.respondent, is_cells) {
        (Some(r), true) => {
            p.at(
                r.span(),
                "respondent",
                "a `cells` wave (published figures) has no [respondent] table",
            );
            None
        }
        (None, false) => {
            if format.is_some() {
                p.top(
                    "respondent",
                    "the spec has no [respondent] table (with `id` and `group` columns)",
                );
            }
            None
        }
        (None, true) => None,
        (Some(r), false) => {
            let table_span = r.span();
            let r = r.get_ref();
            let id = r.id.as_ref().map(|s| s.get_ref().trim().to_string());
            let group = r.group.as_ref().map(|s| s.get_ref().trim().to_string());
            if id.as_deref().unwrap_or("").is_empty() {
                let span = r.id.as_ref().map_or(table_span.clone(), |s| s.span());
                p.at(
                    span,
                    "respondent.id",
                    "[respondent] needs `id`: the respondent id column",
                );
            }
            if group.as_deref().unwrap_or("").is_empty() {
                let span = r.group.as_ref().map_or(table_span.clone(), |s| s.span());
                p.at(
                    span,
                    "respondent.group",
                    "[respondent] needs `group`: the column with the respondent's group (function)",
                );
            }
            let segments: Vec<String> = r
                .segments
                .as_ref()
                .map(|s| s.get_ref().iter().map(|x| x.trim().to_string()).collect())
                .unwrap_or_default();
            if let Some(sp) = &r.segments {
                // Segment names are matched without regard to case (they name one
                // column of `responses` each): two that differ only by case clash.
                let mut seen: HashMap<String, &str> = HashMap::new();
                for s in &segments {
                    if !valid_statement_id(s) {
                        p.at(
                            sp.span(),
                            "respondent.segments",
                            format!("{s:?} is not a valid segment name (1-64 characters of A-Z a-z 0-9 . _ -)"),
                        );
                    } else if is_reserved_column(s) {
                        p.at(
                            sp.span(),
                            "respondent.segments",
                            format!(
                                "{s:?} cannot be a segment name: it is a column of `responses`"
                            ),
                        );
                    } else if let Some(first) = seen.get(&s.to_ascii_lowercase()) {
                        let msg = if *first == s.as_str() {
                            format!("segment {s:?} is listed twice")
                        } else {
                            format!(
                                "segments {first:?} and {s:?} differ only by case; segment names are matched without regard to case, so they would be one column"
                            )
                        };
                        p.at(sp.span(), "respondent.segments", msg);
                    } else {
                        seen.insert(s.to_ascii_lowercase(), s);
                    }
                }
            }
            Some(Respondent {
                id: id.unwrap_or_default(),
                group: group.unwrap_or_default(),
                weight: r
                    .weight
                    .as_ref()
                    .map(|w| w.get_ref().trim().to_string())
                    .filter(|w| !w.is_empty()),
                segments,
            })
        }
    };

    // groups
    let mut groups = HashMap::new();
    if let Some(g) = &raw.groups {
        let mut owner: HashMap<String, String> = HashMap::new();
        for (canon, raws) in g {
            let canon_t = canon.trim();
            if !valid_statement_id(canon_t) {
                p.at(
                    raws.span(),
                    "groups",
                    format!("{canon:?} is not a valid group name (1-64 characters of A-Z a-z 0-9 . _ -)"),
                );
                continue;
            }
            for r in raws.get_ref() {
                let key = r.trim().to_lowercase();
                if key.is_empty() {
                    p.at(
                        raws.span(),
                        &format!("groups.{canon_t}"),
                        "an empty raw value cannot name a group",
                    );
                    continue;
                }
                if let Some(prev) = owner.get(&key) {
                    if prev != canon_t {
                        p.at(
                            raws.span(),
                            &format!("groups.{canon_t}"),
                            format!("raw value {r:?} is mapped to both {prev:?} and {canon_t:?}"),
                        );
                    }
                    continue;
                }
                owner.insert(key.clone(), canon_t.to_string());
                groups.insert(key, canon_t.to_string());
            }
        }
    }

    // default scale
    let default_scale = raw.scale.as_ref().map(|s| {
        let s = s.get_ref();
        (s.points.clone(), s.agree.clone(), s.missing.clone())
    });
    if is_cells {
        if let Some(s) = &raw.scale {
            p.at(
                s.span(),
                "scale",
                "a `cells` wave (published figures) has no [scale]",
            );
        }
    }

    // statements
    let mut statements = Vec::new();
    match &raw.statements {
        None => p.top(
            "statements",
            "the spec has no statements: add at least one [statements.<id>] table",
        ),
        Some(map) if map.is_empty() => p.top(
            "statements",
            "the spec has no statements: add at least one [statements.<id>] table",
        ),
        Some(map) => {
            let mut columns: HashMap<String, String> = HashMap::new();
            for (id, st) in map {
                let key = format!("statements.{id}");
                let span = st.span();
                let st = st.get_ref();
                if !valid_statement_id(id) {
                    p.at(
                        span.clone(),
                        &key,
                        format!("{id:?} is not a valid statement id (1-64 characters of A-Z a-z 0-9 . _ -)"),
                    );
                }
                let text = st.text.as_ref().map(|t| t.get_ref().trim().to_string());
                let column = st.column.as_ref().map(|c| c.get_ref().trim().to_string());
                if is_cells {
                    if text.as_deref().unwrap_or("").is_empty() {
                        p.at(
                            span.clone(),
                            &key,
                            "a statement of a `cells` wave needs `text`",
                        );
                    }
                    for (name, present) in [
                        ("column", st.column.is_some()),
                        ("points", st.points.is_some()),
                        ("agree", st.agree.is_some()),
                        ("missing", st.missing.is_some()),
                    ] {
                        if present {
                            p.at(
                                span.clone(),
                                &format!("{key}.{name}"),
                                format!(
                                    "`{name}` has no meaning in a `cells` wave (published figures)"
                                ),
                            );
                        }
                    }
                    statements.push(Statement {
                        id: id.clone(),
                        column: None,
                        text,
                        scale: Scale {
                            points: 0,
                            agree: vec![],
                            missing: vec![],
                        },
                        series_break: st.series_break.unwrap_or(false),
                    });
                    continue;
                }
                match &column {
                    None => p.at(
                        span.clone(),
                        &format!("{key}.column"),
                        format!(
                            "statement {id:?} needs `column`: the source column with its answers"
                        ),
                    ),
                    Some(c) if c.is_empty() => {
                        p.at(span.clone(), &format!("{key}.column"), "`column` is empty")
                    }
                    Some(c) => {
                        if let Some(prev) = columns.insert(c.clone(), id.clone()) {
                            let sp = st.column.as_ref().map(|x| x.span()).unwrap_or(span.clone());
                            p.at(
                                sp,
                                &format!("{key}.column"),
                                format!(
                                    "column {c:?} is used by both statements {prev:?} and {id:?}"
                                ),
                            );
                        }
                        if let Some(r) = &respondent {
                            let mut roles = vec![("respondent id", &r.id), ("group", &r.group)];
                            if let Some(w) = &r.weight {
                                roles.push(("weight", w));
                            }
                            for (role, name) in roles {
                                if name == c {
                                    let sp = st
                                        .column
                                        .as_ref()
                                        .map(|x| x.span())
                                        .unwrap_or(span.clone());
                                    p.at(
                                        sp,
                                        &format!("{key}.column"),
                                        format!("column {c:?} is already the {role} column"),
                                    );
                                }
                            }
                        }
                    }
                }
                let points = st
                    .points
                    .clone()
                    .or_else(|| default_scale.as_ref().and_then(|d| d.0.clone()));
                let agree = st
                    .agree
                    .clone()
                    .or_else(|| default_scale.as_ref().and_then(|d| d.1.clone()));
                let missing = st
                    .missing
                    .clone()
                    .or_else(|| default_scale.as_ref().and_then(|d| d.2.clone()));
                // A problem of the default [scale] is reported once, under its own key.
                let key_of = |own: bool, inherited: bool, name: &str| {
                    if !own && inherited {
                        format!("scale.{name}")
                    } else {
                        format!("{key}.{name}")
                    }
                };
                let keys = [
                    key_of(st.points.is_some(), points.is_some(), "points"),
                    key_of(st.agree.is_some(), agree.is_some(), "agree"),
                    key_of(st.missing.is_some(), missing.is_some(), "missing"),
                ];
                let scale = scale_of(p, id, &keys, span.clone(), points, agree, missing);
                statements.push(Statement {
                    id: id.clone(),
                    column,
                    text,
                    scale: scale.unwrap_or(Scale {
                        points: 0,
                        agree: vec![],
                        missing: vec![],
                    }),
                    series_break: st.series_break.unwrap_or(false),
                });
            }
        }
    }
    if let (Some(r), Some(rr)) = (&respondent, &raw.respondent) {
        let table = rr.span();
        let rr = rr.get_ref();
        let span_of = |s: Option<Range<usize>>| s.unwrap_or(table.clone());
        let mut seen: HashMap<&str, &str> = HashMap::new();
        let mut roles: Vec<(&str, &str, Range<usize>)> = vec![
            ("id", &r.id, span_of(rr.id.as_ref().map(|x| x.span()))),
            (
                "group",
                &r.group,
                span_of(rr.group.as_ref().map(|x| x.span())),
            ),
        ];
        if let Some(w) = &r.weight {
            roles.push(("weight", w, span_of(rr.weight.as_ref().map(|x| x.span()))));
        }
        for s in &r.segments {
            roles.push((
                "segments",
                s,
                span_of(rr.segments.as_ref().map(|x| x.span())),
            ));
        }
        for (role, col, span) in roles {
            if col.is_empty() {
                continue;
            }
            if let Some(prev) = seen.insert(col, role) {
                p.at(
                    span,
                    &format!("respondent.{role}"),
                    format!("column {col:?} is used both as `{prev}` and as `{role}`; each column has one role"),
                );
            }
        }
    }

    let weighting = match &raw.weighting {
        None => None,
        Some(w) if is_cells => {
            p.at(
                w.span(),
                "weighting",
                "a `cells` wave (published figures) cannot be weighted: [weighting] needs microdata",
            );
            None
        }
        Some(w) => weighting::Weighting::from_raw(w, respondent.as_ref(), p),
    };

    let wave_line = raw.wave.as_ref().map(|v| line_of(p.text, v.span().start));
    let source_line = raw.source.as_ref().map(|v| line_of(p.text, v.span().start));
    Some(WaveSpec {
        wave_line,
        source_line,
        spec_path: p.file.to_string(),
        spec_bytes: bytes,
        wave: wave?,
        date: date?,
        title,
        source: source?,
        source_text: source_text.unwrap_or_default(),
        format: format?,
        delimiter,
        encoding,
        respondent: if is_cells { None } else { Some(respondent?) },
        groups,
        statements,
        weighting,
    })
}

/// Names a segment column may not take (they are columns of `responses`).
pub fn is_reserved_column(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "wave"
            | "respondent"
            | "grp"
            | "weight"
            | "statement"
            | "value"
            | "agree"
            | "load_id"
            | "segments"
    )
}

/// Validates one statement's scale; `keys` name where points, agree and missing come
/// from (the statement or the default [scale]).
fn scale_of(
    p: &mut Problems,
    id: &str,
    keys: &[String; 3],
    span: Range<usize>,
    points: Option<Spanned<i64>>,
    agree: Option<Spanned<Vec<i64>>>,
    missing: Option<Spanned<Vec<i64>>>,
) -> Option<Scale> {
    let Some(points) = points else {
        p.at(
            span,
            &keys[0],
            "no scale: set `points` in [scale] or on the statement",
        );
        return None;
    };
    let n = *points.get_ref();
    if !(2..=1000).contains(&n) {
        p.at(
            points.span(),
            &keys[0],
            format!("\"{n}\" is not a valid number of scale points (2 to 1000)"),
        );
        return None;
    }
    let Some(agree) = agree else {
        p.at(
            span,
            &keys[1],
            "no agree codes: set `agree` in [scale] or on the statement (e.g. agree = [4, 5])",
        );
        return None;
    };
    // A statement's own scale is named: a default code may fit the default scale only.
    let scale = if keys[0].starts_with("scale.") {
        format!("the 1-{n} scale")
    } else {
        format!("the 1-{n} scale of statement {id:?}")
    };
    let mut ok = true;
    if agree.get_ref().is_empty() {
        p.at(
            agree.span(),
            &keys[1],
            "`agree` is empty: list the answers counted as agreement",
        );
        ok = false;
    }
    let mut agree_codes = Vec::new();
    for &a in agree.get_ref() {
        if a < 1 || a > n {
            p.at(
                agree.span(),
                &keys[1],
                format!(
                    "agree code \"{a}\" is outside {scale} (agree codes are answers from 1 to {n})"
                ),
            );
            ok = false;
        } else if agree_codes.contains(&(a as u32)) {
            p.at(
                agree.span(),
                &keys[1],
                format!("agree code \"{a}\" is listed twice"),
            );
            ok = false;
        } else {
            agree_codes.push(a as u32);
        }
    }
    let mut missing_codes = Vec::new();
    if let Some(m) = &missing {
        for &c in m.get_ref() {
            if agree.get_ref().contains(&c) {
                p.at(
                    m.span(),
                    &keys[2],
                    format!("missing code \"{c}\" is also an agree code; a code is either an answer or a missing code"),
                );
                ok = false;
            } else if i32::try_from(c).is_err() {
                p.at(
                    m.span(),
                    &keys[2],
                    format!("missing code \"{c}\" is too large (codes are whole numbers such as 9, 99 or -1)"),
                );
                ok = false;
            } else if c >= 1 && c <= n {
                p.at(
                    m.span(),
                    &keys[2],
                    format!("missing code \"{c}\" is a valid answer on {scale}; missing codes must lie outside it (e.g. 9, 99, -1)"),
                );
                ok = false;
            } else if !missing_codes.contains(&c) {
                missing_codes.push(c);
            }
        }
    }
    agree_codes.sort_unstable();
    missing_codes.sort_unstable();
    ok.then_some(Scale {
        points: n as u32,
        agree: agree_codes,
        missing: missing_codes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<WaveSpec> {
        parse("w.toml", Path::new("/data"), s.as_bytes().to_vec())
    }

    const GOOD: &str = r#"
wave = "2019"
date = "2019-04-30"
source = "2019.csv"

[respondent]
id = "resp_id"
group = "function"
weight = "wt"
segments = ["industry"]

[groups]
sales = ["Sales", "Sales Operations"]

[scale]
points = 5
agree = [4, 5]
missing = [9]

[statements.understands]
column = "Q1"
text = "Our marketing team understands our customers"

[statements.seven]
column = "Q2"
points = 7
agree = [7, 6]
series_break = true
"#;

    #[test]
    fn parses_a_full_spec() {
        let s = parse_str(GOOD).unwrap();
        assert_eq!(s.wave, "2019");
        assert_eq!(s.date, NaiveDate::from_ymd_opt(2019, 4, 30).unwrap());
        assert_eq!(s.source, Source::Path(PathBuf::from("/data/2019.csv")));
        assert_eq!(s.format, Format::Csv);
        assert_eq!(s.delimiter, b',');
        assert_eq!(s.canonical_group("  sales operations "), "sales");
        assert_eq!(s.canonical_group(" Marketing"), "marketing");
        let seven = s.statements.iter().find(|s| s.id == "seven").unwrap();
        assert_eq!(seven.scale.points, 7);
        assert_eq!(seven.scale.agree, vec![6, 7]);
        assert_eq!(seven.scale.missing, vec![9]);
        assert!(seven.series_break);
        let r = s.respondent.unwrap();
        assert_eq!(r.weight.as_deref(), Some("wt"));
        assert_eq!(r.segments, vec!["industry"]);
    }

    fn first_error(s: &str) -> InputError {
        match parse_str(s) {
            Err(Error::Invalid(i)) => i.errors[0].clone(),
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn unknown_key_names_its_line() {
        let e = first_error(
            &GOOD
                .replace("title", "x")
                .replace("weight = \"wt\"", "wieght = \"wt\""),
        );
        assert_eq!(e.line, Some(9), "{e}");
        assert!(e.message.contains("wieght"), "{e}");
    }

    #[test]
    fn illegal_wave_id_and_impossible_date() {
        let e = first_error(&GOOD.replace("\"2019\"", "\"20 19\""));
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.contains("\"20 19\" is not a valid wave id"),
            "{e}"
        );
        let e = first_error(&GOOD.replace("2019-04-30", "2019-02-30"));
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("2019-02-30"), "{e}");
    }

    #[test]
    fn codes_outside_scale_and_overlapping() {
        let e = first_error(&GOOD.replace("agree = [4, 5]", "agree = [4, 6]"));
        assert!(
            e.message
                .contains("agree code \"6\" is outside the 1-5 scale"),
            "{e}"
        );
        match parse_str(&GOOD.replace("missing = [9]", "missing = [5]")) {
            Err(Error::Invalid(i)) => assert!(
                i.errors.iter().any(|e| e
                    .message
                    .contains("missing code \"5\" is also an agree code")),
                "{:?}",
                i.errors
            ),
            other => panic!("expected invalid, got {other:?}"),
        }
        let e = first_error(&GOOD.replace("missing = [9]", "missing = [3]"));
        assert!(e.message.contains("valid answer"), "{e}");
    }

    #[test]
    fn column_used_twice() {
        let e = first_error(&GOOD.replace("column = \"Q2\"", "column = \"Q1\""));
        assert!(e.message.contains("used by both statements"), "{e}");
    }

    #[test]
    fn no_statements() {
        let cut = GOOD.split("[statements.understands]").next().unwrap();
        let e = first_error(cut);
        assert!(e.message.contains("no statements"), "{e}");
    }

    #[test]
    fn toml_syntax_error_has_line() {
        let e = first_error("wave = \"1\"\ndate = \"2019-01-01\n");
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.starts_with("invalid TOML"), "{e}");
    }

    #[test]
    fn cells_spec() {
        let s = parse_str(
            "wave = \"pub2017\"\ndate = 2017-06-01\nsource = \"f.csv\"\nformat = \"cells\"\n[statements.a]\ntext = \"A\"\n",
        )
        .unwrap();
        assert_eq!(s.format, Format::Cells);
        assert!(s.respondent.is_none());
        assert_eq!(s.date, NaiveDate::from_ymd_opt(2017, 6, 1).unwrap());
    }
}
