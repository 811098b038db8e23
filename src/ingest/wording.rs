//! Wording drift: a statement whose text differs from its text in the wave before it (by
//! date; the latest earlier wave that has the statement with a text), with neither
//! `series_break = true` nor `same_series = true` on it, gets a warning line with both
//! texts, and is an error under `strict`. What was decided is stored in the
//! `statements.wording` column of the wave.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::error::InputError;
use crate::spec::WaveSpec;

/// How a statement's wording compares with the wave before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// No earlier wave has the statement with a text.
    First,
    /// The same text as the wave before (whitespace aside).
    Same,
    /// `series_break = true`: a new series starts here.
    SeriesBreak,
    /// The text differs; `same_series = true` says the series goes on.
    SameSeries,
    /// The text differs and the spec says nothing: warned about.
    Changed,
}

impl Wording {
    pub fn as_str(self) -> &'static str {
        match self {
            Wording::First => "first",
            Wording::Same => "same",
            Wording::SeriesBreak => "series_break",
            Wording::SameSeries => "same_series",
            Wording::Changed => "changed",
        }
    }
}

/// One wave's wording of its statements: its date and id order the waves.
pub(super) struct WaveTexts {
    pub date: NaiveDate,
    pub wave: String,
    /// Statement id → text.
    pub texts: HashMap<String, String>,
}

/// The decisions for the statements of `spec`, against `others` (every other wave of
/// the store as it will be, in any order); the warnings, or the errors under `strict`.
pub(super) fn decide(
    spec: &WaveSpec,
    others: &[WaveTexts],
) -> (HashMap<String, Wording>, Vec<String>, Vec<InputError>) {
    let (mut decided, mut warnings, mut errors) = (HashMap::new(), Vec::new(), Vec::new());
    let here = (spec.date, spec.wave.as_str());
    for st in &spec.statements {
        let Some(text) = st.text.as_deref().filter(|t| !t.trim().is_empty()) else {
            continue;
        };
        let before = others
            .iter()
            .filter(|w| (w.date, w.wave.as_str()) < here)
            .filter_map(|w| w.texts.get(&st.id).map(|t| (w, t)))
            .max_by(|a, b| (a.0.date, &a.0.wave).cmp(&(b.0.date, &b.0.wave)));
        let decision = match before {
            _ if st.series_break => Wording::SeriesBreak,
            None => Wording::First,
            Some((_, t)) if same_text(t, text) => Wording::Same,
            Some(_) if st.same_series => Wording::SameSeries,
            Some((w, t)) => {
                let msg = format!(
                    "statement {}: the wording differs from wave {} ({}): {:?} there, {:?} here; set series_break = true (a new series) or same_series = true (the same question) on [statements.{}]",
                    st.id, w.wave, w.date, t, text, st.id
                );
                if spec.strict {
                    errors.push(
                        InputError::new(&spec.spec_path, format!("{msg} (strict)"))
                            .line(statement_line(spec, &st.id))
                            .column(format!("statements.{}.text", st.id)),
                    );
                } else {
                    warnings.push(msg);
                }
                Wording::Changed
            }
        };
        decided.insert(st.id.clone(), decision);
    }
    (decided, warnings, errors)
}

/// Texts compare equal when they differ in whitespace only.
fn same_text(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// The line of `[statements.ID]` in the spec.
fn statement_line(spec: &WaveSpec, id: &str) -> u64 {
    let text = String::from_utf8_lossy(&spec.spec_bytes);
    let span = crate::spec::table_span(&text, &format!("statements.{id}"));
    crate::diag::line_of(&text, span.start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(date: &str, wave: &str, texts: &[(&str, &str)]) -> WaveTexts {
        WaveTexts {
            date: date.parse().unwrap(),
            wave: wave.into(),
            texts: texts
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn whitespace_is_not_a_change_of_wording() {
        assert!(same_text(
            "Sales and  marketing\n align",
            " Sales and marketing align "
        ));
        assert!(!same_text("Sales align", "sales align"));
    }

    /// A spec of wave `id` with statements `(id, text, extra keys)`.
    fn spec(id: &str, date: &str, strict: bool, statements: &[(&str, &str, &str)]) -> WaveSpec {
        let mut t = format!(
            "wave = \"{id}\"\ndate = \"{date}\"\nsource = \"x.csv\"\nstrict = {strict}\n\
             [respondent]\nid = \"id\"\ngroup = \"g\"\n[scale]\npoints = 5\nagree = [4, 5]\n"
        );
        for (sid, text, extra) in statements {
            t.push_str(&format!(
                "\n[statements.{sid}]\ncolumn = \"{sid}\"\ntext = \"{text}\"\n{extra}\n"
            ));
        }
        crate::spec::parse("w.toml", std::path::Path::new("/d"), t.into_bytes()).unwrap()
    }

    #[test]
    fn a_changed_wording_is_compared_with_the_latest_earlier_wave_that_has_it() {
        let others = [
            wave("2019-01-01", "2019", &[("s", "Old"), ("u", "Same")]),
            wave("2020-01-01", "2020", &[("t", "Other")]),
            wave("2022-01-01", "2022", &[("s", "Later")]),
        ];
        let w = spec(
            "2021",
            "2021-01-01",
            false,
            &[
                ("s", "New", ""),
                ("t", "Other  ", ""),
                ("u", "Changed", "same_series = true"),
                ("v", "Brand new", ""),
                ("x", "Reworded", "series_break = true"),
            ],
        );
        let (d, warnings, errors) = decide(&w, &others);
        assert_eq!(d["s"], Wording::Changed);
        assert_eq!(d["t"], Wording::Same);
        assert_eq!(d["u"], Wording::SameSeries);
        assert_eq!(d["v"], Wording::First);
        assert_eq!(d["x"], Wording::SeriesBreak);
        assert!(errors.is_empty());
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("statement s: the wording differs from wave 2019 (2019-01-01): \"Old\" there, \"New\" here"),
            "{}",
            warnings[0]
        );
        // Under strict, the same change is an error naming the spec's line and key.
        let w = spec("2021", "2021-01-01", true, &[("s", "New", "")]);
        let (d, warnings, errors) = decide(&w, &others);
        assert_eq!(d["s"], Wording::Changed);
        assert!(warnings.is_empty());
        let e = errors[0].to_string();
        assert!(
            e.contains("w.toml") && e.contains("statements.s.text"),
            "{e}"
        );
        assert!(e.contains("line 12"), "{e}");
    }
}
