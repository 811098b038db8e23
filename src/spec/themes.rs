//! `[themes]`: named groups of statements whose per-respondent index (the share of the
//! theme's answered statements a respondent agrees with) is scored like one more
//! statement (docs/spec.md, docs/statistics.md).

use std::collections::BTreeMap;

use toml::Spanned;

use super::{valid_statement_id, Statement};
use crate::diag::{quote, Problems};

/// A theme: an id and its member statements (indices into the wave's statements, in
/// id order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub id: String,
    pub members: Vec<usize>,
}

pub(crate) type RawThemes = BTreeMap<String, Spanned<Vec<String>>>;

/// The themes of `[themes]`, in id order. A theme id is a statement id no statement of
/// the wave uses; its members are statements of the wave, each named once.
pub(crate) fn themes(
    raw: Option<&RawThemes>,
    statements: &[Statement],
    cells: bool,
    p: &mut Problems,
) -> Vec<Theme> {
    let Some(raw) = raw else { return Vec::new() };
    let mut out = Vec::new();
    for (id, members) in raw {
        let key = format!("themes.{id}");
        let mut fail = |msg: String| p.at(members.span(), &key, msg);
        if cells {
            fail("a `cells` wave (published figures) has no [themes]: a theme index is computed per respondent".into());
            continue;
        }
        if !valid_statement_id(id) {
            fail(format!(
                "{} is not a valid theme id (1-64 characters of A-Z a-z 0-9 . _ -)",
                quote(id)
            ));
            continue;
        }
        if statements.iter().any(|s| s.id.eq_ignore_ascii_case(id)) {
            fail(format!("theme {} has the id of a statement; themes are listed beside the statements, so give it another id", quote(id)));
            continue;
        }
        if members.get_ref().is_empty() {
            fail(format!("theme {} has no statements: list them, e.g. {id} = [\"work_well_together\", \"shared_goals\"]", quote(id)));
            continue;
        }
        let mut idx: Vec<usize> = Vec::new();
        let mut ok = true;
        for m in members.get_ref() {
            match statements.iter().position(|s| s.id == *m) {
                Some(i) if idx.contains(&i) => {
                    fail(format!(
                        "statement {} is listed twice in theme {}",
                        quote(m),
                        quote(id)
                    ));
                    ok = false;
                }
                Some(i) => idx.push(i),
                None => {
                    let ids: Vec<&str> = statements.iter().map(|s| s.id.as_str()).collect();
                    fail(format!(
                        "theme {} names statement {}, which this wave does not have (its statements: {})",
                        quote(id),
                        quote(m),
                        ids.join(", ")
                    ));
                    ok = false;
                }
            }
        }
        if ok {
            idx.sort_unstable();
            out.push(Theme {
                id: id.clone(),
                members: idx,
            });
        }
    }
    out
}
