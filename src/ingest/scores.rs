//! The sufficient statistics of the score metrics (`scorestats`): for each statement a
//! histogram of its codes (per code: respondents, Σw, Σw²), from which the moments of
//! every score of a code follow; for each theme the moments of the respondent's index.
//! The views of `queries/score_*.sql` compute every estimate from these moments.
//!
//! A score s of a respondent (docs/statistics.md):
//! - `top_box`: 1 for an agree code, else 0 (stored in `cellstats`; only themes here);
//! - `bottom_box`: 1 for a disagree code, else 0;
//! - `net`: 1 agree, −1 disagree, 0 otherwise;
//! - `mean`: the code.
//!
//! A theme's index is the same score averaged over the theme's statements the respondent
//! answered (none answered: not in the theme's base).

use crate::spec::WaveSpec;
pub use crate::tables::{Moments, ScoreStat};

/// The metrics, in the order the views list them.
pub const METRICS: [&str; 4] = ["top_box", "bottom_box", "net", "mean"];

/// Adds to [`Moments`] the respondents of one code.
trait AddCode {
    fn add_code(&mut self, c: &CodeAcc, s: f64);
}

impl AddCode for Moments {
    /// Adds the respondents of one code, each with score `s`.
    fn add_code(&mut self, c: &CodeAcc, s: f64) {
        self.n += c.n;
        self.sum_w += c.sum_w;
        self.sum_w2 += c.sum_w2;
        self.sum_ws += s * c.sum_w;
        self.sum_ws2 += s * s * c.sum_w;
        self.sum_w2s += s * c.sum_w2;
        self.sum_w2s2 += s * s * c.sum_w2;
    }
}

/// Sufficient statistics of one wave × statement × group cell (and segment value):
/// derived from a [`Block`]'s code histogram by [`Scoring::cells`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellAcc {
    /// Respondents with a non-missing answer.
    pub n: i64,
    /// Σw
    pub sum_w: f64,
    /// Σw·agree
    pub sum_wa: f64,
    /// Σw²
    pub sum_w2: f64,
    /// Σw²·agree
    pub sum_w2a: f64,
}

/// The respondents who gave one code: count, Σw, Σw².
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CodeAcc {
    n: i64,
    sum_w: f64,
    sum_w2: f64,
}

/// How one statement is scored: per code (from the scale's min) agree / disagree.
#[derive(Debug, Clone)]
struct StatementScoring {
    min: i64,
    /// Where its codes start in [`Block::codes`].
    offset: usize,
    /// Per code: 1 agree, −1 disagree, 0 neither.
    sign: Vec<i8>,
    /// Per code: an agree code (the `top_box` of `cellstats`).
    agree: Vec<bool>,
    has_disagree: bool,
}

#[derive(Debug, Clone)]
struct ThemeScoring {
    members: Vec<usize>,
    has_disagree: bool,
}

/// How a wave's statements and themes are scored (from its spec).
#[derive(Debug, Clone)]
pub struct Scoring {
    statements: Vec<StatementScoring>,
    themes: Vec<ThemeScoring>,
}

/// The accumulators of one cell block (a group, or a group × segment value).
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Per statement, per code: the statements one after the other (one allocation,
    /// one index per answer).
    codes: Vec<CodeAcc>,
    /// Per theme, per metric of [`METRICS`].
    themes: Vec<[Moments; 4]>,
}

impl Scoring {
    pub fn new(spec: &WaveSpec) -> Scoring {
        let mut offset = 0;
        let statements: Vec<StatementScoring> = spec
            .statements
            .iter()
            .map(|s| {
                let sc = &s.scale;
                let width = if sc.is_none() {
                    0
                } else {
                    (sc.max - sc.min + 1) as usize
                };
                let mut sign = vec![0i8; width];
                for &a in &sc.agree {
                    sign[(a - sc.min) as usize] = 1;
                }
                for &d in &sc.disagree {
                    sign[(d - sc.min) as usize] = -1;
                }
                let agree = (0..width)
                    .map(|k| sc.agree.contains(&(sc.min + k as i64)))
                    .collect();
                offset += width;
                StatementScoring {
                    min: sc.min,
                    offset: offset - width,
                    sign,
                    agree,
                    has_disagree: !sc.disagree.is_empty(),
                }
            })
            .collect();
        let themes = spec
            .themes
            .iter()
            .map(|t| ThemeScoring {
                members: t.members.clone(),
                has_disagree: t.members.iter().all(|&j| statements[j].has_disagree),
            })
            .collect();
        Scoring { statements, themes }
    }

    /// `statements` statements on one scale from `min`, one sign per code (1 agree, −1
    /// disagree), no themes.
    #[cfg(test)]
    pub(crate) fn uniform(statements: usize, min: i64, sign: &[i8]) -> Scoring {
        let s = |j: usize| StatementScoring {
            min,
            offset: j * sign.len(),
            sign: sign.to_vec(),
            agree: sign.iter().map(|&x| x == 1).collect(),
            has_disagree: sign.contains(&-1),
        };
        Scoring {
            statements: (0..statements).map(s).collect(),
            themes: Vec::new(),
        }
    }

    /// Empty accumulators for one block.
    pub fn block(&self) -> Block {
        let codes: usize = self.statements.iter().map(|s| s.sign.len()).sum();
        Block {
            codes: vec![CodeAcc::default(); codes],
            themes: vec![[Moments::default(); 4]; self.themes.len()],
        }
    }

    /// The agree codes a source named through its own value labels (an SPSS file),
    /// per statement where it named any.
    pub fn with_agree_codes(mut self, codes: &[Option<Vec<i64>>]) -> Scoring {
        for (s, c) in self.statements.iter_mut().zip(codes) {
            if let Some(c) = c {
                for (k, sign) in s.sign.iter_mut().enumerate() {
                    if c.contains(&(s.min + k as i64)) {
                        *sign = 1;
                        s.agree[k] = true;
                    }
                }
            }
        }
        self
    }

    /// Adds a respondent of weight `w`; `code(j)` is its answer to statement j and
    /// whether that is agreement (`None` when missing). (The loads call
    /// [`Scoring::slots`] once and [`Scoring::add_slots`] per block.)
    #[cfg(test)]
    pub fn add(&self, b: &mut Block, w: f64, code: impl Fn(usize) -> Option<(i64, bool)>) {
        let mut slots = Vec::with_capacity(self.statements.len());
        self.slots(&code, &mut slots);
        self.add_slots(b, w, &slots, code);
    }

    /// Where one respondent's answers go in a [`Block`]'s histograms, into `out` (taken
    /// once for the several blocks a respondent counts in: its group, its segments).
    pub fn slots(&self, code: impl Fn(usize) -> Option<(i64, bool)>, out: &mut Vec<u32>) {
        out.clear();
        for (j, s) in self.statements.iter().enumerate() {
            if let Some((v, _)) = code(j) {
                out.push((s.offset as i64 + v - s.min) as u32);
            }
        }
    }

    /// Adds a respondent of weight `w` whose answers go to `slots` (see
    /// [`Scoring::slots`]); `code(j)` is its answer to statement j and whether that is
    /// agreement (`None` when missing), for the themes.
    #[inline]
    pub fn add_slots(
        &self,
        b: &mut Block,
        w: f64,
        slots: &[u32],
        code: impl Fn(usize) -> Option<(i64, bool)>,
    ) {
        let w2 = w * w;
        for &k in slots {
            let c = &mut b.codes[k as usize];
            c.n += 1;
            c.sum_w += w;
            c.sum_w2 += w2;
        }
        for (t, theme) in self.themes.iter().enumerate() {
            let (mut k, mut agree, mut disagree, mut sum) = (0u32, 0u32, 0u32, 0i64);
            for &j in &theme.members {
                if let Some((v, agrees)) = code(j) {
                    let s = &self.statements[j];
                    k += 1;
                    sum += v;
                    if agrees {
                        agree += 1;
                    } else if s.sign[(v - s.min) as usize] == -1 {
                        disagree += 1;
                    }
                }
            }
            if k == 0 {
                continue;
            }
            let k = f64::from(k);
            let (a, d) = (f64::from(agree) / k, f64::from(disagree) / k);
            let m = &mut b.themes[t];
            m[0].add(w, a);
            m[3].add(w, sum as f64 / k);
            if theme.has_disagree {
                m[1].add(w, d);
                m[2].add(w, a - d);
            }
        }
    }

    /// The `cellstats` sums of one block, per statement: its codes' counts and sums of
    /// weights, agreement where the code is an agree code.
    pub fn cells(&self, b: &Block) -> Vec<CellAcc> {
        self.statements
            .iter()
            .map(|s| {
                let mut acc = CellAcc::default();
                let codes = &b.codes[s.offset..s.offset + s.sign.len()];
                for (c, &agree) in codes.iter().zip(&s.agree).filter(|(c, _)| c.n > 0) {
                    acc.n += c.n;
                    acc.sum_w += c.sum_w;
                    acc.sum_w2 += c.sum_w2;
                    if agree {
                        acc.sum_wa += c.sum_w;
                        acc.sum_w2a += c.sum_w2;
                    }
                }
                acc
            })
            .collect()
    }

    /// The rows of one block of group `grp`: per statement `bottom_box` and `net` (where it
    /// has disagree codes) and `mean`; per theme `top_box`, `bottom_box` and `net` (where
    /// every member has disagree codes) and `mean`. Cells without respondents are left out.
    pub fn rows(&self, spec: &WaveSpec, grp: &str, b: &Block) -> Vec<ScoreStat> {
        let mut out = Vec::new();
        for (j, s) in self.statements.iter().enumerate() {
            let mut m = [Moments::default(); 4];
            let codes = &b.codes[s.offset..s.offset + s.sign.len()];
            for (k, c) in codes.iter().enumerate().filter(|(_, c)| c.n > 0) {
                let sign = f64::from(s.sign[k]);
                m[1].add_code(c, if sign < 0.0 { 1.0 } else { 0.0 });
                m[2].add_code(c, sign);
                m[3].add_code(c, (s.min + k as i64) as f64);
            }
            for i in [1, 2, 3] {
                if (i == 3 || s.has_disagree) && m[i].n > 0 {
                    out.push(ScoreStat {
                        statement: spec.statements[j].id.clone(),
                        theme: false,
                        members: None,
                        grp: grp.to_string(),
                        metric: METRICS[i],
                        m: m[i],
                    });
                }
            }
        }
        for (t, theme) in self.themes.iter().enumerate() {
            let members: Vec<&str> = theme
                .members
                .iter()
                .map(|&j| spec.statements[j].id.as_str())
                .collect();
            for (i, m) in b.themes[t].iter().enumerate() {
                if m.n > 0 {
                    out.push(ScoreStat {
                        statement: spec.themes[t].id.clone(),
                        theme: true,
                        members: Some(members.join(",")),
                        grp: grp.to_string(),
                        metric: METRICS[i],
                        m: *m,
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_codes_equal_moments_of_respondents() {
        // Codes 1..5, agree 4-5, disagree 1-2: three respondents with weights 2, 1, 0.5.
        let s = StatementScoring {
            min: 1,
            offset: 0,
            sign: vec![-1, -1, 0, 1, 1],
            agree: vec![false, false, false, true, true],
            has_disagree: true,
        };
        let scoring = Scoring {
            statements: vec![s],
            themes: vec![],
        };
        let mut b = scoring.block();
        let answers = [(2.0, 5), (1.0, 1), (0.5, 3)];
        for (w, v) in answers {
            scoring.add(&mut b, w, |_| Some((v, v >= 4)));
        }
        let mut net = Moments::default();
        let mut mean = Moments::default();
        for (w, v) in answers {
            net.add(w, [-1.0, -1.0, 0.0, 1.0, 1.0][v as usize - 1]);
            mean.add(w, v as f64);
        }
        let mut m = [Moments::default(); 4];
        for (k, c) in b.codes.iter().enumerate() {
            m[2].add_code(c, f64::from(scoring.statements[0].sign[k]));
            m[3].add_code(c, (1 + k) as f64);
        }
        assert_eq!(m[2], net);
        assert_eq!(m[3], mean);
        // Σw·net = 2 − 1 = 1; Σw²·mean² = 4·25 + 1 + 0.25·9
        assert_eq!(net.sum_ws, 1.0);
        assert_eq!(mean.sum_w2s2, 103.25);
        // The cell: 3 answers, Σw = 3.5, Σw² = 5.25; agree (code 5) only the first.
        let cell = &scoring.cells(&b)[0];
        assert_eq!(
            (cell.n, cell.sum_w, cell.sum_w2, cell.sum_wa, cell.sum_w2a),
            (3, 3.5, 5.25, 2.0, 4.0)
        );
    }

    #[test]
    fn a_theme_index_is_the_share_of_answered_members() {
        let st = |offset: usize, sign: Vec<i8>| StatementScoring {
            min: 1,
            offset,
            has_disagree: sign.contains(&-1),
            agree: sign.iter().map(|&x| x == 1).collect(),
            sign,
        };
        let scoring = Scoring {
            statements: vec![
                st(0, vec![-1, -1, 0, 1, 1]),
                st(5, vec![-1, -1, 0, 1, 1]),
                st(10, vec![-1, -1, 0, 1, 1]),
            ],
            themes: vec![ThemeScoring {
                members: vec![0, 1, 2],
                has_disagree: true,
            }],
        };
        let mut b = scoring.block();
        // Agrees with one of two answered statements (the third missing): index 0.5,
        // disagrees with the other: bottom 0.5, net 0, mean (5 + 1) / 2 = 3.
        scoring.add(&mut b, 2.0, |j| {
            [Some((5, true)), Some((1, false)), None][j]
        });
        // Answers nothing: not in the base.
        scoring.add(&mut b, 1.0, |_| None);
        let m = b.themes[0];
        assert_eq!((m[0].n, m[0].sum_ws, m[0].sum_w2s2), (1, 1.0, 1.0));
        assert_eq!((m[1].sum_ws, m[2].sum_ws, m[3].sum_ws), (1.0, 0.0, 6.0));
    }
}
