//! The answer scale of a statement (`[scale]` and a statement's own keys): the range of
//! valid codes (`points = N` is 1..N; `min`/`max` any integer range, 0-based and negative
//! included), the agree codes, the missing codes and the labels that name codes (answers
//! written as text, such as choice-text exports).

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::diag::{quote, Problems};

/// Most codes one scale may have (max − min + 1).
pub const MAX_CODES: i64 = 1001;

/// A label naming a code of the scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The label as written in the spec (trimmed).
    pub text: String,
    pub code: i64,
}

/// The scale of one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    /// Valid answers are the integers `min..=max`.
    pub min: i64,
    pub max: i64,
    /// Answers counted as agreement (sorted).
    pub agree: Vec<i64>,
    /// Answers counted as disagreement (sorted; empty where the spec names none): the
    /// bottom box of the `bottom_box` and `net` scores.
    pub disagree: Vec<i64>,
    /// Codes meaning "not asked / don't know", excluded from the base (sorted): those of
    /// `missing` (outside the range) and of `missing_in_range` (inside it, SPSS style:
    /// 3 = "don't know" on 1..5).
    pub missing: Vec<i64>,
    /// Labels of codes, in code order: an answer equal to one (trimmed, case-insensitive)
    /// is its code.
    pub labels: Vec<Label>,
    /// Agree answers named by a label that `labels` does not have: the value labels of
    /// an SPSS file name their codes when it is read (other formats refuse them).
    pub agree_labels: Vec<String>,
    /// Whether the user-missing values an SPSS file declares for the answers are missing
    /// (the default; `file_missing = false` reads them as answers).
    pub file_missing: bool,
}

/// An `agree` entry: a code, or the label of one.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CodeOrLabel {
    Code(i64),
    Label(String),
}

impl Scale {
    /// The scale of a statement without answers (a `cells` wave).
    pub fn none() -> Scale {
        Scale {
            min: 1,
            max: 0,
            agree: vec![],
            disagree: vec![],
            missing: vec![],
            labels: vec![],
            agree_labels: vec![],
            file_missing: true,
        }
    }
    /// `true` for [`Scale::none`].
    pub fn is_none(&self) -> bool {
        self.max < self.min
    }
    /// `true` when `v` is a valid answer on this scale (missing codes excluded).
    pub fn is_answer(&self, v: i64) -> bool {
        v >= self.min && v <= self.max && !self.missing.contains(&v)
    }
    /// The number of points of a 1..N scale (`None` for any other range).
    pub fn points(&self) -> Option<u32> {
        (self.min == 1 && !self.is_none())
            .then(|| u32::try_from(self.max).ok())
            .flatten()
    }
    /// The code of an answer written as a label (trimmed, case-insensitive).
    pub fn code_of_label(&self, s: &str) -> Option<i64> {
        let key = label_key(s);
        self.labels
            .iter()
            .find(|l| label_key(&l.text) == key)
            .map(|l| l.code)
    }
    /// Missing codes that lie inside the range (their answers count as missing).
    pub fn missing_inside(&self) -> Vec<i64> {
        self.missing
            .iter()
            .copied()
            .filter(|&m| m >= self.min && m <= self.max)
            .collect()
    }
    /// The range in words: "from 1 to 5".
    pub fn range_text(&self) -> String {
        format!("from {} to {}", self.min, self.max)
    }
    pub fn describe(&self) -> String {
        let missing = if self.missing.is_empty() {
            "none".to_string()
        } else {
            join(&self.missing)
        };
        let mut s = format!("an answer {} (missing codes: {missing}", self.range_text());
        let inside = self.missing_inside();
        if !inside.is_empty() {
            s.push_str(&format!(
                "; {} inside the range count as missing",
                join(&inside)
            ));
        }
        s.push(')');
        if !self.labels.is_empty() {
            let labels: Vec<String> = self
                .labels
                .iter()
                .map(|l| format!("{} = {}", quote(&l.text), l.code))
                .collect();
            s.push_str(&format!(" or one of the labels {}", labels.join(", ")));
        }
        s
    }
}

/// The key under which an answer matches a label: trimmed, case-insensitive.
pub fn label_key(s: &str) -> String {
    s.trim().to_lowercase()
}

pub(crate) fn join<T: ToString>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The scale keys as written, in `[scale]` or on a statement.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScale {
    pub(crate) points: Option<Spanned<i64>>,
    pub(crate) min: Option<Spanned<i64>>,
    pub(crate) max: Option<Spanned<i64>>,
    pub(crate) agree: Option<Spanned<Vec<CodeOrLabel>>>,
    pub(crate) disagree: Option<Spanned<Vec<CodeOrLabel>>>,
    pub(crate) missing: Option<Spanned<Vec<i64>>>,
    pub(crate) missing_in_range: Option<Spanned<Vec<i64>>>,
    pub(crate) labels: Option<BTreeMap<String, Spanned<i64>>>,
    pub(crate) file_missing: Option<Spanned<bool>>,
}

impl RawScale {
    /// `true` when a key sets the range.
    fn has_range(&self) -> bool {
        self.points.is_some() || self.min.is_some() || self.max.is_some()
    }
    /// The names of the keys set (for a `cells` statement, where none has a meaning).
    pub(crate) fn keys_set(&self) -> Vec<&'static str> {
        [
            ("points", self.points.is_some()),
            ("min", self.min.is_some()),
            ("max", self.max.is_some()),
            ("agree", self.agree.is_some()),
            ("disagree", self.disagree.is_some()),
            ("missing", self.missing.is_some()),
            ("missing_in_range", self.missing_in_range.is_some()),
            ("labels", self.labels.is_some()),
            ("file_missing", self.file_missing.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(k, _)| k)
        .collect()
    }
}

/// Where a statement's scale keys come from, for messages: the statement's own key, or
/// the default `[scale]` (whose problems are then reported once, under `scale.KEY`).
struct Keys<'a> {
    statement: &'a str,
    range_own: bool,
    agree_own: bool,
    disagree_own: bool,
    missing_own: bool,
    inside_own: bool,
    labels_own: bool,
}

impl Keys<'_> {
    fn key(&self, own: bool, name: &str) -> String {
        if own {
            format!("{}.{name}", self.statement)
        } else {
            format!("scale.{name}")
        }
    }
}

/// The statement's scale: its own keys over the default `[scale]` (a statement that sets
/// any of `points`, `min`, `max` sets its whole range). `key` is `statements.ID`.
pub(crate) fn scale_of(
    p: &mut Problems,
    id: &str,
    key: &str,
    span: Range<usize>,
    own: &RawScale,
    default: Option<&RawScale>,
) -> Option<Scale> {
    let empty = RawScale::default();
    let d = default.unwrap_or(&empty);
    let keys = Keys {
        statement: key,
        range_own: own.has_range() || !d.has_range(),
        agree_own: own.agree.is_some() || d.agree.is_none(),
        disagree_own: own.disagree.is_some() || d.disagree.is_none(),
        missing_own: own.missing.is_some() || d.missing.is_none(),
        inside_own: own.missing_in_range.is_some() || d.missing_in_range.is_none(),
        labels_own: own.labels.is_some() || d.labels.is_none(),
    };
    let range_src = if keys.range_own { own } else { d };
    let (min, max) = range(p, &keys, span.clone(), range_src)?;
    // A statement's own range is named: a default code may fit the default scale only.
    let name = if own.has_range() {
        format!("the scale of statement {id:?} (from {min} to {max})")
    } else {
        format!("the scale from {min} to {max}")
    };
    let agree = if keys.agree_own { &own.agree } else { &d.agree };
    let missing = if keys.missing_own {
        &own.missing
    } else {
        &d.missing
    };
    let inside = if keys.inside_own {
        &own.missing_in_range
    } else {
        &d.missing_in_range
    };
    let labels = if keys.labels_own {
        &own.labels
    } else {
        &d.labels
    };
    let Some(agree) = agree else {
        p.at(
            span,
            &keys.key(true, "agree"),
            "no agree codes: set `agree` in [scale] or on the statement (e.g. agree = [4, 5])",
        );
        return None;
    };
    let mut ok = true;
    let (agree, agree_labels) = resolve_labels(agree, labels.as_ref());
    let agree_codes = agree_codes(
        p,
        &keys,
        &name,
        (min, max),
        &agree,
        !agree_labels.is_empty(),
        &mut ok,
    );
    let mut missing_codes = Vec::new();
    for (m, in_range) in [(missing, false), (inside, true)] {
        if let Some(m) = m {
            let codes = Codes {
                agree: agree.get_ref(),
                in_range,
            };
            missing_codes.extend(missing_of(p, &keys, &name, (min, max), m, codes, &mut ok));
        }
    }
    missing_codes.sort_unstable();
    missing_codes.dedup();
    let label_list = match labels {
        Some(l) => labels_of(p, &keys, &name, (min, max), l, &missing_codes, &mut ok),
        None => vec![],
    };
    let disagree_raw = if keys.disagree_own {
        &own.disagree
    } else {
        &d.disagree
    };
    let disagree = match disagree_raw {
        Some(raw) => {
            let (codes, unnamed) = resolve_labels(raw, labels.as_ref());
            let dis = Disagree {
                agree: &agree_codes,
                missing: &missing_codes,
                unnamed: &unnamed,
            };
            disagree_codes(p, &keys, &name, (min, max), &codes, dis, &mut ok)
        }
        None => Vec::new(),
    };
    let file_missing = own
        .file_missing
        .as_ref()
        .or(d.file_missing.as_ref())
        .is_none_or(|f| *f.get_ref());
    ok.then_some(Scale {
        min,
        max,
        agree: agree_codes,
        disagree,
        missing: missing_codes,
        labels: label_list,
        agree_labels,
        file_missing,
    })
}

/// The `agree` entries as codes: a code as written, a label through `labels` (trimmed,
/// case-insensitive). Labels that `labels` does not name are returned apart, for the
/// file's own value labels.
fn resolve_labels(
    agree: &Spanned<Vec<CodeOrLabel>>,
    labels: Option<&BTreeMap<String, Spanned<i64>>>,
) -> (Spanned<Vec<i64>>, Vec<String>) {
    let mut codes = Vec::new();
    let mut unresolved = Vec::new();
    for a in agree.get_ref() {
        match a {
            CodeOrLabel::Code(c) => codes.push(*c),
            CodeOrLabel::Label(t) => {
                let found = labels.and_then(|l| {
                    l.iter()
                        .find(|(k, _)| label_key(k) == label_key(t))
                        .map(|(_, c)| *c.get_ref())
                });
                match found {
                    Some(c) => codes.push(c),
                    None => unresolved.push(t.trim().to_string()),
                }
            }
        }
    }
    (Spanned::new(agree.span(), codes), unresolved)
}

/// The range of `points` or `min`/`max`.
fn range(p: &mut Problems, keys: &Keys, span: Range<usize>, r: &RawScale) -> Option<(i64, i64)> {
    let k = |n: &str| keys.key(keys.range_own, n);
    match (&r.points, &r.min, &r.max) {
        (None, None, None) => {
            p.at(
                span,
                &keys.key(true, "points"),
                "no scale: set `points` (answers 1 to N) or `min` and `max` in [scale] or on the statement",
            );
            None
        }
        (Some(pt), None, None) => {
            let n = *pt.get_ref();
            if (2..=1000).contains(&n) {
                Some((1, n))
            } else {
                p.at(
                    pt.span(),
                    &k("points"),
                    format!("\"{n}\" is not a valid number of scale points (2 to 1000; for another range set `min` and `max`)"),
                );
                None
            }
        }
        (Some(pt), _, _) => {
            p.at(
                pt.span(),
                &k("points"),
                "`points` and `min`/`max` both set: `points = N` means min = 1, max = N; set one or the other",
            );
            None
        }
        (None, Some(lo), Some(hi)) => {
            let (a, b) = (*lo.get_ref(), *hi.get_ref());
            let fits = |v: i64| i32::try_from(v).is_ok();
            if !fits(a) || !fits(b) || a >= b || b - a + 1 > MAX_CODES {
                p.at(
                    lo.span().start..hi.span().end.max(lo.span().end),
                    &k("min"),
                    format!("min = {a}, max = {b} is not a valid range: min must be below max, with at most {MAX_CODES} codes (e.g. min = 0, max = 10)"),
                );
                return None;
            }
            Some((a, b))
        }
        (None, Some(one), None) | (None, None, Some(one)) => {
            let (has, lacks) = if r.min.is_some() {
                ("min", "max")
            } else {
                ("max", "min")
            };
            p.at(
                one.span(),
                &k(has),
                format!("`{has}` without `{lacks}`: set both (e.g. min = 0, max = 10), or `points` for 1 to N"),
            );
            None
        }
    }
}

fn agree_codes(
    p: &mut Problems,
    keys: &Keys,
    name: &str,
    (min, max): (i64, i64),
    agree: &Spanned<Vec<i64>>,
    by_file_labels: bool,
    ok: &mut bool,
) -> Vec<i64> {
    let key = keys.key(keys.agree_own, "agree");
    if agree.get_ref().is_empty() && !by_file_labels {
        p.at(
            agree.span(),
            &key,
            "`agree` is empty: list the answers counted as agreement",
        );
        *ok = false;
    }
    let mut codes = Vec::new();
    for &a in agree.get_ref() {
        if a < min || a > max {
            p.at(
                agree.span(),
                &key,
                format!("agree code \"{a}\" is outside {name} (agree codes are answers from {min} to {max})"),
            );
            *ok = false;
        } else if codes.contains(&a) {
            p.at(
                agree.span(),
                &key,
                format!("agree code \"{a}\" is listed twice"),
            );
            *ok = false;
        } else {
            codes.push(a);
        }
    }
    codes.sort_unstable();
    codes
}

/// What the disagree codes are checked against.
struct Disagree<'a> {
    agree: &'a [i64],
    missing: &'a [i64],
    /// Labels that `labels` does not name.
    unnamed: &'a [String],
}

/// The codes of `disagree`: answers of the scale, neither agree nor missing codes.
fn disagree_codes(
    p: &mut Problems,
    keys: &Keys,
    name: &str,
    (min, max): (i64, i64),
    raw: &Spanned<Vec<i64>>,
    against: Disagree,
    ok: &mut bool,
) -> Vec<i64> {
    let key = keys.key(keys.disagree_own, "disagree");
    let mut fail = |msg: String| {
        p.at(raw.span(), &key, msg);
        *ok = false;
    };
    for l in against.unnamed {
        fail(format!(
            "disagree label {} is not one of the scale's labels: name the codes (disagree = [1, 2]) or give [scale.labels] (\"Disagree\" = 2)",
            quote(l)
        ));
    }
    let mut codes = Vec::new();
    for &c in raw.get_ref() {
        if c < min || c > max {
            fail(format!("disagree code \"{c}\" is outside {name} (disagree codes are answers from {min} to {max})"));
        } else if against.agree.contains(&c) {
            fail(format!(
                "disagree code \"{c}\" is also an agree code; an answer is one or the other"
            ));
        } else if against.missing.contains(&c) {
            fail(format!("disagree code \"{c}\" is also a missing code; a code is either an answer or a missing code"));
        } else if codes.contains(&c) {
            fail(format!("disagree code \"{c}\" is listed twice"));
        } else {
            codes.push(c);
        }
    }
    codes.sort_unstable();
    codes
}

/// What a missing code is checked against.
struct Codes<'a> {
    agree: &'a [i64],
    /// `missing_in_range` (codes inside the range) rather than `missing` (outside it).
    in_range: bool,
}

/// The codes of `missing` (outside the range) or of `missing_in_range` (inside it, not at
/// either end: an end can be left out of the range instead, and `missing = [0]` on 0..10
/// would drop every real 0).
fn missing_of(
    p: &mut Problems,
    keys: &Keys,
    name: &str,
    (min, max): (i64, i64),
    m: &Spanned<Vec<i64>>,
    codes: Codes,
    ok: &mut bool,
) -> Vec<i64> {
    let key = if codes.in_range {
        keys.key(keys.inside_own, "missing_in_range")
    } else {
        keys.key(keys.missing_own, "missing")
    };
    let mut out = Vec::new();
    for &c in m.get_ref() {
        let inside = c >= min && c <= max;
        let end_fix = if c == min {
            Some(format!("leave it out of the range (min = {})", min + 1))
        } else if c == max {
            Some(format!("leave it out of the range (max = {})", max - 1))
        } else {
            None
        };
        let problem = if codes.agree.contains(&c) {
            Some(format!("missing code \"{c}\" is also an agree code; a code is either an answer or a missing code"))
        } else if i32::try_from(c).is_err() {
            Some(format!(
                "missing code \"{c}\" is too large (codes are whole numbers such as 9, 99 or -1)"
            ))
        } else if !codes.in_range && inside {
            let fix = match &end_fix {
                Some(f) => f.clone(),
                None => "list it in `missing_in_range` (SPSS style: its answers count as missing)"
                    .to_string(),
            };
            Some(format!("missing code \"{c}\" is a valid answer on {name}; missing codes must lie outside it (e.g. 9, 99, -1); if \"{c}\" means \"don't know\" here, {fix}"))
        } else if codes.in_range && !inside {
            Some(format!(
                "code \"{c}\" of `missing_in_range` is not inside {name}: list it in `missing`"
            ))
        } else if let (true, Some(fix)) = (codes.in_range, &end_fix) {
            Some(format!("code \"{c}\" of `missing_in_range` ends {name}: every real \"{c}\" would be dropped; if \"{c}\" means \"don't know\", {fix}"))
        } else {
            None
        };
        match problem {
            Some(msg) => {
                p.at(m.span(), &key, msg);
                *ok = false;
            }
            None if !out.contains(&c) => out.push(c),
            None => {}
        }
    }
    out
}

fn labels_of(
    p: &mut Problems,
    keys: &Keys,
    name: &str,
    (min, max): (i64, i64),
    raw: &BTreeMap<String, Spanned<i64>>,
    missing: &[i64],
    ok: &mut bool,
) -> Vec<Label> {
    let key = keys.key(keys.labels_own, "labels");
    let mut out: Vec<Label> = Vec::new();
    for (text, code) in raw {
        let t = text.trim();
        let c = *code.get_ref();
        let problem = if t.is_empty() {
            Some("an empty label cannot name a code".to_string())
        } else if t.parse::<f64>().is_ok() {
            Some(format!(
                "label {} is a number: numbers are read as codes, not labels",
                quote(t)
            ))
        } else if (c < min || c > max) && !missing.contains(&c) {
            Some(format!("label {} names code \"{c}\", which is neither an answer of {name} nor a missing code", quote(t)))
        } else {
            out.iter()
                .find(|l| label_key(&l.text) == label_key(t))
                .map(|first| {
                    format!(
                        "labels {} and {} differ only by case or spaces; answers match labels without regard to case",
                        quote(&first.text),
                        quote(t)
                    )
                })
        };
        match problem {
            Some(msg) => {
                p.at(code.span(), &key, msg);
                *ok = false;
            }
            None => out.push(Label {
                text: t.to_string(),
                code: c,
            }),
        }
    }
    out.sort_by(|a, b| a.code.cmp(&b.code).then_with(|| a.text.cmp(&b.text)));
    out
}
