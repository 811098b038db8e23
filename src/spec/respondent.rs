//! `[respondent]`: the id, group, weight and segment columns of a microdata wave.

use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::{is_reserved_column, valid_statement_id, Respondent};
use crate::diag::Problems;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRespondent {
    id: Option<Spanned<String>>,
    group: Option<Spanned<String>>,
    /// `weight = "column"`, or `weight = false`: no weight, also where the file names
    /// one (an SPSS file's `WEIGHT BY`).
    weight: Option<Spanned<toml::Value>>,
    segments: Option<Spanned<Vec<String>>>,
    /// `panel = false`: the ids do not name the same people in other waves (a sequence
    /// number per wave), so no respondent is matched with another wave's.
    panel: Option<bool>,
}

/// `[respondent]` of a microdata wave (`cells` says whether the wave is published
/// figures, which have none; `format_known` whether a missing table is worth a message).
pub(crate) fn respondent(
    raw: Option<&Spanned<RawRespondent>>,
    cells: bool,
    format_known: bool,
    p: &mut Problems,
) -> Option<Respondent> {
    let r = match (raw, cells) {
        (Some(r), true) => {
            p.at(
                r.span(),
                "respondent",
                "a `cells` wave (published figures) has no [respondent] table",
            );
            return None;
        }
        (None, false) => {
            if format_known {
                p.top(
                    "respondent",
                    "the spec has no [respondent] table (with `id` and `group` columns)",
                );
            }
            return None;
        }
        (None, true) => return None,
        (Some(r), false) => r,
    };
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
        check_segments(&segments, sp.span(), p);
    }
    let (weight, unweighted) = match r.weight.as_ref() {
        None => (None, false),
        Some(w) => match w.get_ref() {
            toml::Value::String(c) => (Some(c.trim().to_string()).filter(|c| !c.is_empty()), false),
            toml::Value::Boolean(false) => (None, true),
            other => {
                p.at(
                    w.span(),
                    "respondent.weight",
                    format!("`weight = {other}` names no column: give the weight column (weight = \"wt\"), or false for unweighted figures"),
                );
                (None, false)
            }
        },
    };
    let out = Respondent {
        id: id.unwrap_or_default(),
        group: group.unwrap_or_default(),
        weight,
        unweighted,
        segments,
        panel: r.panel.unwrap_or(true),
    };
    check_roles(&out, r, table_span, p);
    Some(out)
}

/// Segment names: valid, not a column of `responses`, distinct without regard to case
/// (they name one column of `responses` each).
fn check_segments(segments: &[String], span: Range<usize>, p: &mut Problems) {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for s in segments {
        if !valid_statement_id(s) {
            p.at(
                span.clone(),
                "respondent.segments",
                format!("{s:?} is not a valid segment name (1-64 characters of A-Z a-z 0-9 . _ -)"),
            );
        } else if is_reserved_column(s) {
            p.at(
                span.clone(),
                "respondent.segments",
                format!("{s:?} cannot be a segment name: it is a column of `responses`"),
            );
        } else if let Some(first) = seen.get(&s.to_ascii_lowercase()) {
            let msg = if *first == s.as_str() {
                format!("segment {s:?} is listed twice")
            } else {
                format!(
                    "segments {first:?} and {s:?} differ only by case; segment names are matched without regard to case, so they would be one column"
                )
            };
            p.at(span.clone(), "respondent.segments", msg);
        } else {
            seen.insert(s.to_ascii_lowercase(), s);
        }
    }
}

/// Each column has one role among id, group, weight and segments.
fn check_roles(r: &Respondent, rr: &RawRespondent, table: Range<usize>, p: &mut Problems) {
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
