//! `[statements.ID]`: one table per statement, its source column, wording and scale.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::scale::{scale_of, CodeOrLabel, RawScale};
use super::{valid_statement_id, Respondent, Scale, Statement};
use crate::diag::Problems;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStatement {
    column: Option<Spanned<String>>,
    text: Option<Spanned<String>>,
    points: Option<Spanned<i64>>,
    min: Option<Spanned<i64>>,
    max: Option<Spanned<i64>>,
    agree: Option<Spanned<Vec<CodeOrLabel>>>,
    disagree: Option<Spanned<Vec<CodeOrLabel>>>,
    missing: Option<Spanned<Vec<i64>>>,
    missing_in_range: Option<Spanned<Vec<i64>>>,
    labels: Option<BTreeMap<String, Spanned<i64>>>,
    file_missing: Option<Spanned<bool>>,
    series_break: Option<bool>,
    same_series: Option<bool>,
}

impl RawStatement {
    /// The statement's own scale keys.
    fn scale(&self) -> RawScale {
        RawScale {
            points: self.points.clone(),
            min: self.min.clone(),
            max: self.max.clone(),
            agree: self.agree.clone(),
            disagree: self.disagree.clone(),
            missing: self.missing.clone(),
            missing_in_range: self.missing_in_range.clone(),
            labels: self.labels.clone(),
            file_missing: self.file_missing.clone(),
        }
    }
}

pub(crate) type RawStatements = BTreeMap<String, Spanned<RawStatement>>;

/// The statements, in id order. `default` is the `[scale]` table.
pub(crate) fn statements(
    raw: Option<&RawStatements>,
    default: Option<&RawScale>,
    respondent: Option<&Respondent>,
    cells: bool,
    p: &mut Problems,
) -> Vec<Statement> {
    let map = match raw {
        Some(m) if !m.is_empty() => m,
        _ => {
            p.top(
                "statements",
                "the spec has no statements: add at least one [statements.<id>] table",
            );
            return vec![];
        }
    };
    let mut statements = Vec::new();
    let mut columns: HashMap<String, String> = HashMap::new();
    for (id, st) in map {
        let key = format!("statements.{id}");
        let span = st.span();
        let st = st.get_ref();
        if !valid_statement_id(id) {
            p.at(
                span.clone(),
                &key,
                format!(
                    "{id:?} is not a valid statement id (1-64 characters of A-Z a-z 0-9 . _ -)"
                ),
            );
        }
        if st.series_break == Some(true) && st.same_series == Some(true) {
            p.at(
                span.clone(),
                &key,
                "series_break = true and same_series = true contradict each other: a changed \
                 wording either starts a new series or continues the old one",
            );
        }
        let text = st.text.as_ref().map(|t| t.get_ref().trim().to_string());
        let column = st.column.as_ref().map(|c| c.get_ref().trim().to_string());
        let own = st.scale();
        let scale = if cells {
            cells_statement(&key, span.clone(), st, &own, text.as_deref(), p);
            Scale::none()
        } else {
            let col_span = st.column.as_ref().map(|x| x.span()).unwrap_or(span.clone());
            let spans = (span.clone(), col_span);
            check_column(
                id,
                &key,
                spans,
                column.as_deref(),
                respondent,
                &mut columns,
                p,
            );
            scale_of(p, id, &key, span.clone(), &own, default).unwrap_or_else(Scale::none)
        };
        statements.push(Statement {
            id: id.clone(),
            column: if cells { None } else { column },
            text,
            scale,
            series_break: st.series_break.unwrap_or(false),
            same_series: st.same_series.unwrap_or(false),
        });
    }
    statements
}

/// A statement of a `cells` wave: its text, and no key of microdata.
fn cells_statement(
    key: &str,
    span: Range<usize>,
    st: &RawStatement,
    own: &RawScale,
    text: Option<&str>,
    p: &mut Problems,
) {
    if text.unwrap_or("").is_empty() {
        p.at(
            span.clone(),
            key,
            "a statement of a `cells` wave needs `text`",
        );
    }
    let column = st.column.is_some().then_some("column");
    for name in column.into_iter().chain(own.keys_set()) {
        p.at(
            span.clone(),
            &format!("{key}.{name}"),
            format!("`{name}` has no meaning in a `cells` wave (published figures)"),
        );
    }
}

/// A microdata statement's column: set, not empty, used by one statement, and not a
/// column of `[respondent]`.
fn check_column(
    id: &str,
    key: &str,
    (span, col_span): (Range<usize>, Range<usize>),
    column: Option<&str>,
    respondent: Option<&Respondent>,
    columns: &mut HashMap<String, String>,
    p: &mut Problems,
) {
    let ckey = format!("{key}.column");
    let c = match column {
        None => {
            p.at(
                span,
                &ckey,
                format!("statement {id:?} needs `column`: the source column with its answers"),
            );
            return;
        }
        Some("") => {
            p.at(span, &ckey, "`column` is empty");
            return;
        }
        Some(c) => c,
    };
    if let Some(prev) = columns.insert(c.to_string(), id.to_string()) {
        p.at(
            col_span.clone(),
            &ckey,
            format!("column {c:?} is used by both statements {prev:?} and {id:?}"),
        );
    }
    if let Some(r) = respondent {
        let mut roles = vec![("respondent id", &r.id), ("group", &r.group)];
        if let Some(w) = &r.weight {
            roles.push(("weight", w));
        }
        for (role, name) in roles {
            if name == c {
                p.at(
                    col_span.clone(),
                    &ckey,
                    format!("column {c:?} is already the {role} column"),
                );
            }
        }
    }
}

/// Agree answers named by a label that no `[scale.labels]` names: only an SPSS file,
/// whose value labels name its codes, can resolve them.
pub(crate) fn labels_need_a_file(statements: &[Statement], p: &mut Problems) {
    for s in statements {
        if s.scale.agree_labels.is_empty() {
            continue;
        }
        let quoted: Vec<String> = s
            .scale
            .agree_labels
            .iter()
            .map(|l| crate::diag::quote(l))
            .collect();
        p.top(
            &format!("statements.{}.agree", s.id),
            format!(
                "agree label {} is not one of the scale's labels: name the codes (agree = [4, 5]) or give [scale.labels] (\"Agree\" = 4); only an SPSS file's own value labels name codes without them",
                quoted.join(", ")
            ),
        );
    }
}
