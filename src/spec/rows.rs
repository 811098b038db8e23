//! `[rows]`: which rows of the source are respondents. `keep = { COLUMN = [values] }`
//! keeps only rows whose value is one of the listed ones; `drop = { COLUMN = [values] }`
//! removes rows whose value is one of them (values compared trimmed, case-insensitive).
//! Rows removed are not validated; the ingest output counts them per rule.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::diag::{line_of, quote, Problems};

/// One rule of `[rows]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRule {
    /// `true` for a `keep` rule, `false` for `drop`.
    pub keep: bool,
    pub column: String,
    /// The values as written (trimmed).
    pub values: Vec<String>,
    /// The values trimmed and lower-cased.
    keys: Vec<String>,
    /// The spec's line of the rule.
    pub line: u64,
}

impl RowRule {
    /// `true` when this rule removes a row whose value of [`RowRule::column`] is `v`.
    pub fn removes(&self, v: &str) -> bool {
        let k = v.trim().to_lowercase();
        self.keys.contains(&k) != self.keep
    }
    /// The rule as a person wrote it: `drop Status = "Survey Preview", "1"`.
    pub fn describe(&self) -> String {
        let values: Vec<String> = self.values.iter().map(|v| quote(v)).collect();
        format!(
            "[rows] {} {} = {}",
            if self.keep { "keep" } else { "drop" },
            self.column,
            values.join(", ")
        )
    }
}

/// Column -> the values of a rule, as written.
type RawRule = BTreeMap<String, Spanned<Vec<toml::Value>>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRows {
    keep: Option<RawRule>,
    drop: Option<RawRule>,
}

/// The rules of `[rows]`: drop rules first, then keep rules, each in column order (a row
/// that several rules remove is counted under the first).
pub(crate) fn rules(raw: &RawRows, p: &mut Problems) -> Vec<RowRule> {
    let mut out = Vec::new();
    for (keep, table) in [(false, &raw.drop), (true, &raw.keep)] {
        let name = if keep { "keep" } else { "drop" };
        for (column, values) in table.iter().flatten() {
            let key = format!("rows.{name}.{column}");
            let column = column.trim();
            if column.is_empty() {
                p.at(values.span(), &key, "a rule needs a column name");
                continue;
            }
            let mut texts = Vec::new();
            for v in values.get_ref() {
                match v {
                    toml::Value::String(s) => texts.push(s.trim().to_string()),
                    toml::Value::Integer(i) => texts.push(i.to_string()),
                    toml::Value::Boolean(b) => texts.push(b.to_string()),
                    toml::Value::Float(f) => texts.push(f.to_string()),
                    other => p.at(
                        values.span(),
                        &key,
                        format!("{other} is not a value: list the column's values as strings, e.g. [\"1\", \"True\"]"),
                    ),
                }
            }
            if values.get_ref().is_empty() {
                let what = if keep {
                    "a `keep` rule without values would remove every row"
                } else {
                    "a `drop` rule without values removes nothing"
                };
                p.at(
                    values.span(),
                    &key,
                    format!("{what}: list the values, e.g. {column} = [\"1\"]"),
                );
                continue;
            }
            out.push(RowRule {
                keep,
                column: column.to_string(),
                keys: texts.iter().map(|t| t.to_lowercase()).collect(),
                values: texts,
                line: line_of(p.text, values.span().start),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(keep: bool, values: &[&str]) -> RowRule {
        RowRule {
            keep,
            column: "Status".into(),
            values: values.iter().map(|v| v.to_string()).collect(),
            keys: values.iter().map(|v| v.trim().to_lowercase()).collect(),
            line: 1,
        }
    }

    #[test]
    fn keep_and_drop_compare_trimmed_case_insensitively() {
        let drop = rule(false, &["Survey Preview", "1"]);
        assert!(drop.removes(" survey PREVIEW "));
        assert!(drop.removes("1"));
        assert!(!drop.removes("0"));
        assert!(!drop.removes(""));
        let keep = rule(true, &["1", "True"]);
        assert!(!keep.removes("true"));
        assert!(keep.removes("0"));
        assert!(keep.removes(""));
        assert_eq!(
            drop.describe(),
            "[rows] drop Status = \"Survey Preview\", \"1\""
        );
    }
}
