//! `[groups]`: canonical group name -> the raw values of the group column that mean it
//! (matched trimmed and case-insensitively). A raw value no respondent has is reported
//! when the source is read (a warning; an error with `strict`).

use std::collections::{BTreeMap, HashMap};

use toml::Spanned;

use super::valid_statement_id;
use crate::diag::{line_of, Problems};

/// One raw value of `[groups]`, where the spec names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupValue {
    /// The canonical group.
    pub group: String,
    /// The raw value as written (trimmed).
    pub raw: String,
    /// The spec's line of the group's list.
    pub line: u64,
}

/// The raw values as written: group -> values.
pub(crate) type RawGroups = BTreeMap<String, Spanned<Vec<String>>>;

/// Lower-cased trimmed raw value -> canonical group, and every raw value with its line.
pub(crate) fn groups(
    raw: Option<&RawGroups>,
    p: &mut Problems,
) -> (HashMap<String, String>, Vec<GroupValue>) {
    let mut groups = HashMap::new();
    let mut values = Vec::new();
    for (canon, raws) in raw.into_iter().flatten() {
        let canon_t = canon.trim();
        if !valid_statement_id(canon_t) {
            p.at(
                raws.span(),
                "groups",
                format!(
                    "{canon:?} is not a valid group name (1-64 characters of A-Z a-z 0-9 . _ -)"
                ),
            );
            continue;
        }
        let line = line_of(p.text, raws.span().start);
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
            if let Some(prev) = groups.get(&key) {
                if prev != canon_t {
                    p.at(
                        raws.span(),
                        &format!("groups.{canon_t}"),
                        format!("raw value {r:?} is mapped to both {prev:?} and {canon_t:?}"),
                    );
                }
                continue;
            }
            groups.insert(key, canon_t.to_string());
            values.push(GroupValue {
                group: canon_t.to_string(),
                raw: r.trim().to_string(),
                line,
            });
        }
    }
    (groups, values)
}
