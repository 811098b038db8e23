//! Wave specs (docs/spec.md): one TOML file per wave, parsed strictly (unknown keys are
//! errors) and validated as a whole, so every problem of a spec is reported at once with
//! the spec's line.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use encoding_rs::Encoding;
use serde::Deserialize;
use toml::Spanned;

pub mod groups;
mod respondent;
pub mod rows;
pub mod scale;
mod source;
mod statements;
pub mod themes;
pub mod weighting;

pub use groups::GroupValue;
pub use rows::RowRule;
pub use scale::{label_key, Label, Scale};
pub use themes::Theme;

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
    /// A Qualtrics CSV export (three header rows, or two in a legacy export); explicit only.
    Qualtrics,
    /// An SPSS system file (`.sav`, or `.zsav` zlib-compressed).
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
    pub(crate) fn parse(s: &str) -> Option<Format> {
        Some(match s.to_ascii_lowercase().as_str() {
            "csv" => Format::Csv,
            "tsv" | "tab" => Format::Tsv,
            "jsonl" | "ndjson" => Format::Jsonl,
            "parquet" => Format::Parquet,
            "qualtrics" => Format::Qualtrics,
            "sav" | "zsav" | "spss" => Format::Sav,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Stable id across waves (the crosswalk key).
    pub id: String,
    /// Source column (microdata only).
    pub column: Option<String>,
    pub text: Option<String>,
    pub scale: Scale,
    pub series_break: bool,
    /// `same_series = true`: a changed wording that continues the series (no warning).
    pub same_series: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Respondent {
    pub id: String,
    pub group: String,
    pub weight: Option<String>,
    /// `weight = false`: no weight, not even the one the file names (`WEIGHT BY`).
    pub unweighted: bool,
    pub segments: Vec<String>,
    /// Whether the ids are matched with other waves' (repeated respondents).
    pub panel: bool,
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
    /// Every raw value of `[groups]`, with its group and spec line (to report a value no
    /// respondent has).
    pub group_values: Vec<GroupValue>,
    /// `[rows]`: which source rows are respondents (drop rules first, then keep rules).
    pub rows: Vec<RowRule>,
    /// `strict = true` (or `ingest --strict`): what is otherwise a warning (a `[groups]`
    /// value no respondent has) is an error.
    pub strict: bool,
    /// In id order.
    pub statements: Vec<Statement>,
    /// The spec's line of `wave` and of `source` (for messages about them).
    pub wave_line: Option<u64>,
    pub source_line: Option<u64>,
    /// Rim weighting (raking) to target shares, from `[weighting]`.
    pub weighting: Option<weighting::Weighting>,
    /// `[themes]`, in id order.
    pub themes: Vec<Theme>,
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

/// The spec as written. Tables that may be defined only implicitly (`[scale.labels]`
/// without `[scale]`, `[weighting.targets.x]` without `[weighting]`) are not `Spanned`:
/// an implicit table has no span; [`table_span`] finds their line instead.
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
    strict: Option<bool>,
    respondent: Option<Spanned<respondent::RawRespondent>>,
    groups: Option<groups::RawGroups>,
    scale: Option<scale::RawScale>,
    rows: Option<rows::RawRows>,
    statements: Option<statements::RawStatements>,
    weighting: Option<weighting::RawWeighting>,
    themes: Option<themes::RawThemes>,
}

/// The span of the first header of top-level table `name` (`[name]` or `[name.…]`), for
/// tables deserialized without a span; the start of the text when there is none.
pub(crate) fn table_span(text: &str, name: &str) -> Range<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix('[') {
            let rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix(name) {
                if after.trim_start().starts_with([']', '.']) {
                    let start = offset + (line.len() - t.len());
                    return start..start + line.trim_end().len() - (line.len() - t.len());
                }
            }
        }
        offset += line.len();
    }
    0..0
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

/// Names a segment column may not take (they are columns of `responses`, or `segments`).
pub fn is_reserved_column(s: &str) -> bool {
    crate::tables::is_responses_column(s) || s.eq_ignore_ascii_case("segments")
}

fn validate(raw: RawSpec, p: &mut Problems, dir: &Path, bytes: Vec<u8>) -> Option<WaveSpec> {
    let wave = source::wave(raw.wave.as_ref(), p);
    let date = source::date(raw.date.as_ref(), p);
    let format = source::format(raw.format.as_ref(), raw.source.as_ref(), p);
    let src = source::source(raw.source.as_ref(), dir, p);
    let delimiter = source::delimiter(raw.delimiter.as_ref(), format, p);
    let encoding = source::encoding(raw.encoding.as_ref(), p);
    let is_cells = format == Some(Format::Cells);
    let respondent = respondent::respondent(raw.respondent.as_ref(), is_cells, format.is_some(), p);
    let (groups, group_values) = groups::groups(raw.groups.as_ref(), p);
    let text = p.text;
    if is_cells {
        for (name, present) in [("scale", raw.scale.is_some()), ("rows", raw.rows.is_some())] {
            if present {
                p.at(
                    table_span(text, name),
                    name,
                    format!("a `cells` wave (published figures) has no [{name}]"),
                );
            }
        }
    }
    let rows = raw
        .rows
        .as_ref()
        .filter(|_| !is_cells)
        .map(|r| rows::rules(r, p))
        .unwrap_or_default();
    let statements = statements::statements(
        raw.statements.as_ref(),
        raw.scale.as_ref(),
        respondent.as_ref(),
        is_cells,
        p,
    );
    let themes = themes::themes(raw.themes.as_ref(), &statements, is_cells, p);
    if format.is_some_and(|f| f != Format::Sav) {
        statements::labels_need_a_file(&statements, p);
    }
    let weighting = match &raw.weighting {
        None => None,
        Some(_) if is_cells => {
            p.at(
                table_span(text, "weighting"),
                "weighting",
                "a `cells` wave (published figures) cannot be weighted: [weighting] needs microdata",
            );
            None
        }
        Some(w) => {
            weighting::Weighting::from_raw(w, table_span(text, "weighting"), respondent.as_ref(), p)
        }
    };
    Some(WaveSpec {
        wave_line: raw.wave.as_ref().map(|v| line_of(text, v.span().start)),
        source_line: raw.source.as_ref().map(|v| line_of(text, v.span().start)),
        spec_path: p.file.to_string(),
        spec_bytes: bytes,
        wave: wave?,
        date: date?,
        title: raw.title.as_ref().map(|t| t.get_ref().clone()),
        source: src?,
        source_text: raw
            .source
            .as_ref()
            .map(|s| s.get_ref().trim().to_string())
            .unwrap_or_default(),
        format: format?,
        delimiter,
        encoding,
        respondent: if is_cells { None } else { Some(respondent?) },
        groups,
        group_values,
        rows,
        strict: raw.strict.unwrap_or(false),
        statements,
        weighting,
        themes,
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
        assert_eq!(seven.scale.points(), Some(7));
        assert_eq!((seven.scale.min, seven.scale.max), (1, 7));
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
                .contains("agree code \"6\" is outside the scale from 1 to 5"),
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
        assert!(
            e.message
                .contains("missing code \"3\" is a valid answer on the scale"),
            "{e}"
        );
        assert!(e.message.contains("list it in `missing_in_range`"), "{e}");
    }

    #[test]
    fn disagree_codes_and_themes() {
        let with = GOOD.replace(
            "agree = [4, 5]\nmissing",
            "agree = [4, 5]\ndisagree = [2, 1]\nmissing",
        ) + "\n[themes]\nboth = [\"seven\", \"understands\"]\n";
        let s = parse_str(&with).unwrap();
        let seven = s.statements.iter().find(|s| s.id == "seven").unwrap();
        // The default scale's codes, sorted; a statement may drop them with `disagree = []`.
        assert_eq!(seven.scale.disagree, vec![1, 2]);
        let none = with.replace("agree = [7, 6]", "agree = [7, 6]\ndisagree = []");
        assert!(scale_of(&none, "seven").disagree.is_empty());
        // Labels of the scale name codes.
        let labels = with.replace("disagree = [2, 1]", "disagree = [\"Disagree\", 1]")
            + "\n[scale.labels]\n\"Disagree\" = 2\n";
        assert_eq!(scale_of(&labels, "understands").disagree, vec![1, 2]);
        // Members in id order, as statement indices.
        assert_eq!(s.themes.len(), 1);
        assert_eq!(
            (s.themes[0].id.as_str(), s.themes[0].members.clone()),
            ("both", vec![0, 1])
        );
        for (from, to, says) in [
            ("disagree = [2, 1]", "disagree = [4]", "disagree code \"4\" is also an agree code"),
            ("disagree = [2, 1]", "disagree = [9]", "disagree code \"9\" is outside the scale"),
            ("disagree = [2, 1]", "disagree = [1, 1]", "disagree code \"1\" is listed twice"),
            ("disagree = [2, 1]", "disagree = [\"Nope\"]", "disagree label \"Nope\" is not one of the scale's labels"),
            ("both = [\"seven\", \"understands\"]", "both = [\"seven\", \"nothing\"]", "theme \"both\" names statement \"nothing\", which this wave does not have (its statements: seven, understands)"),
            ("both = [\"seven\", \"understands\"]", "seven = [\"understands\"]", "theme \"seven\" has the id of a statement"),
            ("both = [\"seven\", \"understands\"]", "both = []", "theme \"both\" has no statements"),
            ("both = [\"seven\", \"understands\"]", "both = [\"seven\", \"seven\"]", "statement \"seven\" is listed twice in theme \"both\""),
        ] {
            let e = first_error(&with.replace(from, to));
            assert!(e.message.contains(says), "{to}: {e}");
        }
    }

    fn scale_of(spec: &str, id: &str) -> Scale {
        let s = parse_str(spec).unwrap();
        s.statements.into_iter().find(|s| s.id == id).unwrap().scale
    }

    #[test]
    fn any_integer_range() {
        // 0-10 (NPS style), 0/1 items, -2..+2.
        let nps = GOOD
            .replace(
                "points = 5\nagree = [4, 5]",
                "min = 0\nmax = 10\nagree = [9, 10]",
            )
            .replace("missing = [9]", "missing = [99]");
        let sc = scale_of(&nps, "understands");
        assert_eq!((sc.min, sc.max, sc.points()), (0, 10, None));
        assert!(sc.is_answer(0) && sc.is_answer(10) && !sc.is_answer(11) && !sc.is_answer(-1));
        assert_eq!(sc.describe(), "an answer from 0 to 10 (missing codes: 99)");
        let binary = GOOD.replace(
            "points = 5\nagree = [4, 5]",
            "min = 0\nmax = 1\nagree = [1]",
        );
        assert_eq!(scale_of(&binary, "understands").agree, vec![1]);
        let neg = GOOD.replace(
            "points = 5\nagree = [4, 5]\nmissing = [9]",
            "min = -2\nmax = 2\nagree = [1, 2]\nmissing = [-9]",
        );
        let sc = scale_of(&neg, "understands");
        assert_eq!((sc.min, sc.max, sc.missing.clone()), (-2, 2, vec![-9]));
        assert!(sc.is_answer(-2) && !sc.is_answer(-3));
        // A statement's own range replaces the default one whole.
        let own = nps
            .replace("points = 7", "min = -3\nmax = 3")
            .replace("agree = [7, 6]", "agree = [3]");
        let sc = scale_of(&own, "seven");
        assert_eq!((sc.min, sc.max, sc.agree.clone()), (-3, 3, vec![3]));
        // The default scale of the statement without its own.
        assert_eq!(scale_of(&own, "understands").max, 10);
    }

    #[test]
    fn range_problems() {
        let base = GOOD
            .replace(
                "points = 5\nagree = [4, 5]",
                "min = 0\nmax = 10\nagree = [9, 10]",
            )
            .replace("missing = [9]", "missing = [99]")
            .replace("points = 7", "min = 0\nmax = 10");
        // The end of the range as a missing code would drop real answers.
        let e = first_error(&base.replace("missing = [99]", "missing = [0]"));
        assert!(
            e.message
                .contains("missing code \"0\" is a valid answer on the scale"),
            "{e}"
        );
        assert!(e.message.contains("(from 0 to 10)"), "{e}");
        assert!(
            e.message.contains("leave it out of the range (min = 1)"),
            "{e}"
        );
        // Even declared inside the range, an end of it is refused.
        let e = first_error(
            &base
                .replace("missing = [99]", "missing_in_range = [10]")
                .replace("agree = [9, 10]", "agree = [9]"),
        );
        assert!(
            e.message
                .contains("code \"10\" of `missing_in_range` ends the scale"),
            "{e}"
        );
        assert!(e.message.contains("max = 9"), "{e}");
        let e = first_error(&base.replace("missing = [99]", "missing_in_range = [99]"));
        assert!(e.message.contains("is not inside the scale"), "{e}");
        assert!(e.message.contains("list it in `missing`"), "{e}");
        assert_eq!(e.column.as_deref(), Some("scale.missing_in_range"));
        let e = first_error(&base.replace("agree = [9, 10]", "agree = [11]"));
        assert!(
            e.message
                .contains("agree code \"11\" is outside the scale from 0 to 10"),
            "{e}"
        );
        let e = first_error(&base.replace("max = 10", "max = 0"));
        assert!(
            e.message.contains("min = 0, max = 0 is not a valid range"),
            "{e}"
        );
        let e = first_error(&base.replace("max = 10\n", ""));
        assert!(e.message.contains("`min` without `max`"), "{e}");
        let e = first_error(&base.replace("min = 0", "points = 5\nmin = 0"));
        assert!(
            e.message.contains("`points` and `min`/`max` both set"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_code_inside_the_range_is_allowed_and_said() {
        // SPSS style: 3 = "don't know" on 1..5.
        let s = GOOD.replace("missing = [9]", "missing = [9]\nmissing_in_range = [3]");
        let sc = scale_of(&s, "understands");
        assert_eq!(sc.missing, vec![3, 9]);
        assert!(!sc.is_answer(3) && sc.is_answer(2));
        assert_eq!(sc.missing_inside(), vec![3]);
        assert_eq!(
            sc.describe(),
            "an answer from 1 to 5 (missing codes: 3, 9; 3 inside the range count as missing)"
        );
    }

    #[test]
    fn labels_name_codes() {
        let s = GOOD.replace(
            "missing = [9]\n",
            "missing = [9]\n[scale.labels]\n\"Strongly disagree\" = 1\n\"Disagree\" = 2\n\"Neutral\" = 3\n\"Agree\" = 4\n\"Strongly agree\" = 5\n\"Don't know\" = 9\n",
        );
        let sc = scale_of(&s, "understands");
        assert_eq!(sc.code_of_label("  strongly AGREE "), Some(5));
        assert_eq!(sc.code_of_label("don't know"), Some(9));
        assert_eq!(sc.code_of_label("Maybe"), None);
        assert_eq!(sc.labels[0].text, "Strongly disagree");
        assert!(
            sc.describe()
                .ends_with("\"Strongly agree\" = 5, \"Don't know\" = 9"),
            "{}",
            sc.describe()
        );
        // Statement seven has its own range (1-7) but inherits the labels.
        assert_eq!(scale_of(&s, "seven").code_of_label("agree"), Some(4));
        // A label of a code that is neither an answer nor a missing code.
        let e = first_error(&s.replace("\"Don't know\" = 9", "\"Don't know\" = 8"));
        assert!(
            e.message.contains("label \"Don't know\" names code \"8\""),
            "{e}"
        );
        assert_eq!(e.column.as_deref(), Some("scale.labels"));
        let e = first_error(&s.replace("\"Agree\" = 4", "\"agree \" = 4\n\"Agree\" = 4"));
        assert!(e.message.contains("differ only by case"), "{e}");
    }

    #[test]
    fn rows_rules_and_strict() {
        let s = format!(
            "strict = true\n{GOOD}\n[rows]\nkeep = {{ Finished = [\"1\", \"True\", true] }}\ndrop = {{ Status = [\"Survey Preview\", 1] }}\n"
        );
        let spec = parse_str(&s).unwrap();
        assert!(spec.strict);
        let rules: Vec<String> = spec.rows.iter().map(|r| r.describe()).collect();
        assert_eq!(
            rules,
            [
                "[rows] drop Status = \"Survey Preview\", \"1\"",
                "[rows] keep Finished = \"1\", \"True\", \"true\""
            ]
        );
        let line_of_drop = s.lines().position(|l| l.starts_with("drop")).unwrap() as u64 + 1;
        assert_eq!(spec.rows[0].line, line_of_drop);
        assert_eq!(spec.rows[1].line, line_of_drop - 1);
        // As sub-tables without a [rows] table.
        let s = format!("{GOOD}\n[rows.drop]\nStatus = [\"1\"]\n");
        assert_eq!(parse_str(&s).unwrap().rows.len(), 1);
        let e = first_error(&format!("{GOOD}\n[rows]\nkeep = {{ Finished = [] }}\n"));
        assert!(e.message.contains("would remove every row"), "{e}");
        let e = first_error(&format!(
            "{GOOD}\n[rows]\nkept = {{ Finished = [\"1\"] }}\n"
        ));
        assert!(e.message.contains("kept"), "{e}");
    }

    #[test]
    fn group_values_keep_their_line() {
        let spec = parse_str(GOOD).unwrap();
        let raws: Vec<(&str, &str, u64)> = spec
            .group_values
            .iter()
            .map(|g| (g.group.as_str(), g.raw.as_str(), g.line))
            .collect();
        assert_eq!(
            raws,
            [("sales", "Sales", 13), ("sales", "Sales Operations", 13)]
        );
    }

    #[test]
    fn reserved_columns_are_those_of_responses() {
        for c in [
            "wave", "GRP", "value", "agree", "load_id", "segments", "Weight",
        ] {
            assert!(is_reserved_column(c), "{c}");
        }
        assert!(!is_reserved_column("region"));
    }

    #[test]
    fn column_used_twice() {
        let e = first_error(&GOOD.replace("column = \"Q2\"", "column = \"Q1\""));
        assert!(e.message.contains("used by both statements"), "{e}");
    }

    #[test]
    fn weight_is_a_column_or_false() {
        let e = first_error(&GOOD.replace("weight = \"wt\"", "weight = 5"));
        assert_eq!(e.column.as_deref(), Some("respondent.weight"), "{e}");
        assert!(e.message.starts_with("`weight = 5` names no column"), "{e}");
        let s = parse_str(&GOOD.replace("weight = \"wt\"", "weight = false")).unwrap();
        let r = s.respondent.unwrap();
        assert!(r.unweighted && r.weight.is_none());
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
