//! JSON Lines microdata (`format = "jsonl"`, `.jsonl`/`.ndjson`): one JSON object per
//! line, one respondent per object, the spec's columns are its keys. Read line by line
//! (never the whole file), decoded from the spec's `encoding`, and validated by the same
//! [`Validator`] as CSV.
//!
//! Values: a string is its text, a number its JSON text (`4`, `4.0` and `4e0` are the
//! answer 4; `4.5` is not a whole number), `true`/`false` are the text "true"/"false"
//! (fine as a group or segment, not an answer), `null` or an absent key is an empty cell.
//! An array or object as a value is an error. A key the spec names that is on no line of
//! the file is a missing column, reported like a missing CSV column.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};

use serde_json::Value;

use super::text::decode_source;
use super::validate::{
    available, find_columns, missing_columns_error, needed_columns, respondent, Fields,
    HashingReader, Loc, Row, Summary, Validator,
};
use crate::diag::{not_utf8, quote};
use crate::error::{Error, InputError, Result};
use crate::spec::WaveSpec;

/// Distinct keys remembered for the message about a missing key.
const MAX_KEYS: usize = 1000;

/// One line's values of the spec's columns.
struct Line {
    values: Vec<String>,
    line: u64,
}

impl Fields for Line {
    #[inline]
    fn get(&self, i: usize) -> &[u8] {
        self.values[i].as_bytes()
    }
    fn loc(&self, _i: usize) -> Loc {
        Loc::Line(self.line)
    }
}

/// What a JSON value is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    }
}

/// A serde_json message without its position (a line has one line: the position is
/// given as a character instead).
fn json_reason(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let reason = match s.rsplit_once(" at line ") {
        Some((r, _)) => r.to_string(),
        None => s,
    };
    format!("{reason} at character {}", e.column())
}

/// The JSON object of a (trimmed, non-empty) line, or an error naming the line.
fn object(
    s: &str,
    shown: &str,
    line: u64,
    errors: &mut crate::error::Invalid,
) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(m)) => Some(m),
        Ok(other) => {
            errors.push(
                InputError::new(
                    shown,
                    format!(
                        "{} is {}, not a JSON object: each line holds one respondent as {{\"column\": value, …}}",
                        quote(s),
                        kind(&other)
                    ),
                )
                .line(line),
            );
            None
        }
        Err(e) => {
            errors.push(
                InputError::new(
                    shown,
                    format!(
                        "{} is not valid JSON ({}): each line holds one JSON object",
                        quote(s),
                        json_reason(&e)
                    ),
                )
                .line(line),
            );
            None
        }
    }
}

/// Fills `rec` with the object's values of the spec's columns (`seen` marks the keys
/// found); `true` when a value is an array or an object (an error, recorded).
fn fill(
    obj: &serde_json::Map<String, Value>,
    names: &[String],
    rec: &mut Line,
    seen: &mut [bool],
    shown: &str,
    errors: &mut crate::error::Invalid,
) -> bool {
    let mut bad = false;
    for (i, name) in names.iter().enumerate() {
        let out = &mut rec.values[i];
        out.clear();
        let Some(val) = obj.get(name) else { continue };
        seen[i] = true;
        match val {
            Value::Null => {}
            Value::String(t) => out.push_str(t),
            Value::Number(x) => {
                let _ = write!(out, "{x}");
            }
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Array(_) | Value::Object(_) => {
                bad = true;
                errors.push(
                    InputError::new(
                        shown,
                        format!(
                            "{} is {}, not a value: expected a string, a number or null",
                            quote(&val.to_string()),
                            kind(val)
                        ),
                    )
                    .line(rec.line)
                    .column(name),
                );
            }
        }
    }
    bad
}

/// The error for spec columns that are a key on no line.
fn missing_keys(
    spec: &WaveSpec,
    resp: &crate::spec::Respondent,
    shown: &str,
    names: &[String],
    seen: &[bool],
    keys: &[String],
) -> Result<()> {
    let present: Vec<String> = names
        .iter()
        .zip(seen)
        .filter(|(_, s)| **s)
        .map(|(n, _)| n.clone())
        .chain(keys.iter().filter(|k| !names.contains(k)).cloned())
        .collect();
    match find_columns(spec, resp, &present, "is a key on no line of the file") {
        Ok(_) => Ok(()),
        Err(m) => Err(missing_columns_error(
            shown,
            m,
            &format!("the lines have keys {}", available(keys)),
            None,
        )),
    }
}

pub(crate) fn read_from<R: Read>(
    spec: &WaveSpec,
    source: R,
    shown: &str,
    weights: Option<&[f64]>,
    mut on_row: impl FnMut(&Row) -> Result<()>,
) -> Result<Summary> {
    let resp = respondent(spec)?;
    let mut hashing = HashingReader::new(source);
    let text = decode_source(&mut hashing, &spec.encoding, shown)?;
    let mut text = BufReader::with_capacity(1 << 16, text);
    let names = needed_columns(spec);
    let cols = find_columns(spec, resp, &names, "is not in the header")
        .map_err(|m| missing_columns_error(shown, m, "", None))?;
    let mut v = Validator::new(spec, resp, shown, cols, weights);
    let mut seen = vec![false; names.len()];
    let mut keys: Vec<String> = Vec::new();
    let mut key_set: std::collections::HashSet<String> = Default::default();
    let mut rec = Line {
        values: vec![String::new(); names.len()],
        line: 0,
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut objects = 0u64;
    loop {
        buf.clear();
        let n = text.read_until(b'\n', &mut buf).map_err(|e| {
            Error::input(
                InputError::new(shown, format!("cannot read the source: {e}")).line(rec.line + 1),
            )
        })?;
        if n == 0 {
            break;
        }
        rec.line += 1;
        let line = rec.line;
        let s = match std::str::from_utf8(&buf) {
            Ok(s) => s.trim(),
            Err(e) => {
                v.errors
                    .push(InputError::new(shown, not_utf8(&buf, e)).line(line));
                continue;
            }
        };
        let s = if line == 1 {
            s.trim_start_matches('\u{feff}')
        } else {
            s
        };
        if s.is_empty() {
            continue;
        }
        let Some(obj) = object(s, shown, line, &mut v.errors) else {
            continue;
        };
        objects += 1;
        if keys.len() < MAX_KEYS {
            for k in obj.keys() {
                if keys.len() < MAX_KEYS && !key_set.contains(k) {
                    key_set.insert(k.clone());
                    keys.push(k.clone());
                }
            }
        }
        let bad = fill(&obj, &names, &mut rec, &mut seen, shown, &mut v.errors);
        if bad {
            continue;
        }
        v.record(&rec, &mut on_row)?;
    }
    // A key on no line is a missing column (not a blank cell on every line).
    if objects > 0 && seen.iter().any(|s| !s) {
        missing_keys(spec, resp, shown, &names, &seen, &keys)?;
    }
    let no_rows = InputError::new(
        shown,
        "the file has no JSON object: expected one line per respondent, such as {\"resp_id\": \"r1\", \"Q5_1\": 4}",
    );
    let mut summary = v.finish(no_rows)?;
    drop(text);
    hashing.stamp(&mut summary);
    Ok(summary)
}
