//! The top keys of a spec: `wave`, `date`, `source`, `format`, `delimiter`, `encoding`.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use toml::Spanned;

use super::{supported_encoding, valid_wave_id, Format, Source};
use crate::diag::Problems;

const FORMATS: &str = "csv, tsv, jsonl, parquet, qualtrics, sav, cells";

fn string_value(v: &Spanned<toml::Value>) -> Option<String> {
    match v.get_ref() {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Datetime(d) => Some(d.to_string()),
        _ => None,
    }
}

pub(crate) fn wave(raw: Option<&Spanned<toml::Value>>, p: &mut Problems) -> Option<String> {
    let Some(v) = raw else {
        p.top(
            "wave",
            "the spec has no `wave` (a unique id of 1-64 characters of A-Z a-z 0-9 . _ -)",
        );
        return None;
    };
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

pub(crate) fn date(raw: Option<&Spanned<toml::Value>>, p: &mut Problems) -> Option<NaiveDate> {
    let Some(v) = raw else {
        p.top(
            "date",
            "the spec has no `date` (an ISO date such as 2019-04-30)",
        );
        return None;
    };
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

/// The `format` key, else the format of the source's extension.
pub(crate) fn format(
    raw: Option<&Spanned<String>>,
    source: Option<&Spanned<String>>,
    p: &mut Problems,
) -> Option<Format> {
    if let Some(f) = raw {
        let fm = Format::parse(f.get_ref());
        if fm.is_none() {
            p.at(
                f.span(),
                "format",
                format!("{:?} is not a known format ({FORMATS})", f.get_ref()),
            );
        }
        return fm;
    }
    let sp = source?;
    let s = sp.get_ref().trim();
    let lower = s.to_ascii_lowercase();
    let ext = lower.rsplit('.').next().unwrap_or("");
    let fm = match ext {
        "csv" | "txt" => Format::Csv,
        "tsv" | "tab" => Format::Tsv,
        "jsonl" | "ndjson" => Format::Jsonl,
        "parquet" => Format::Parquet,
        // A portable `.por` goes to the SPSS reader, which says how to convert it.
        "sav" | "zsav" | "por" => Format::Sav,
        _ => {
            p.at(
                sp.span(),
                "source",
                format!(
                    "cannot tell the format of {s:?} from its extension; set `format` ({FORMATS})"
                ),
            );
            return None;
        }
    };
    Some(fm)
}

/// Where the data file is: a store URL, or a path resolved against the spec's `dir`.
pub(crate) fn source(
    raw: Option<&Spanned<String>>,
    dir: &Path,
    p: &mut Problems,
) -> Option<Source> {
    let Some(sp) = raw else {
        p.top(
            "source",
            "the spec has no `source` (the data file: relative to the spec, absolute, or a store URL)",
        );
        return None;
    };
    let s = sp.get_ref().trim();
    if s.is_empty() {
        p.at(sp.span(), "source", "`source` is empty: name the data file");
        return None;
    }
    Some(if let Some(path) = s.strip_prefix("file://") {
        Source::Path(PathBuf::from(path))
    } else if s.contains("://") {
        Source::Url(s.to_string())
    } else if Path::new(s).is_absolute() {
        Source::Path(PathBuf::from(s))
    } else {
        Source::Path(dir.join(s))
    })
}

pub(crate) fn delimiter(
    raw: Option<&Spanned<String>>,
    format: Option<Format>,
    p: &mut Problems,
) -> u8 {
    let default = if format == Some(Format::Tsv) {
        b'\t'
    } else {
        b','
    };
    let Some(d) = raw else { return default };
    let s = d.get_ref();
    match s.as_str() {
        "\\t" | "tab" | "\t" => b'\t',
        _ if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" && s != "\r" => s.as_bytes()[0],
        _ => {
            p.at(
                d.span(),
                "delimiter",
                format!("{s:?} is not a valid delimiter (one ASCII character such as \",\", \";\", \"|\" or \"\\t\")"),
            );
            default
        }
    }
}

pub(crate) fn encoding(raw: Option<&Spanned<String>>, p: &mut Problems) -> String {
    let Some(e) = raw else {
        return "utf-8".to_string();
    };
    let label = e.get_ref().trim().to_ascii_lowercase();
    if supported_encoding(&label) {
        return label;
    }
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
