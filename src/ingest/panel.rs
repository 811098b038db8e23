//! Repeated respondents: the respondents a load shares with the other live waves (the
//! same id; see docs/statistics.md, "Repeated respondents").
//!
//! Every microdata load stores a 64-bit hash of each respondent id (`respondent_ids`).
//! When a load is committed, its hashes are matched against the other live loads'; only
//! where some match are the two waves' `responses` read, the candidates confirmed on the
//! ids, and the cross sums of `panelstats` computed for every statement and theme,
//! metric and pair of groups. Waves that share no id cost one read of the hashes.

use std::collections::{BTreeMap, HashMap, HashSet};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};
use deltalake::datafusion::prelude::{col, lit, SessionContext};
use futures::TryStreamExt;

use super::scores::METRICS;
use crate::catalog;
use crate::error::{Error, Result};
use crate::spec::WaveSpec;
use crate::store::{Store, PANELSTATS, RESPONDENT_IDS, RESPONSES, SCORESTATS, STATEMENTS};
use crate::tables::{self, id_hash, CatalogEntry, PanelStat};

/// How a wave scores its respondents, for matching with another wave: per statement its
/// disagree codes, per theme its members (indexes into the statements).
#[derive(Debug, Clone)]
pub struct PanelScoring {
    statements: Vec<(String, Vec<i64>)>,
    themes: Vec<(String, Vec<usize>)>,
}

/// A score of a respondent: statement or theme id, theme flag, metric.
type Unit = (String, bool, &'static str);

/// One respondent's answers, per statement of its wave's [`PanelScoring`].
#[derive(Debug, Clone)]
pub struct Answers {
    pub grp: String,
    pub weight: f64,
    pub values: Vec<Option<i32>>,
    pub agree: Vec<Option<bool>>,
}

impl PanelScoring {
    /// `statements`: (id, disagree codes); `themes`: (id, member statement ids).
    pub fn new(statements: Vec<(String, Vec<i64>)>, themes: Vec<(String, Vec<String>)>) -> Self {
        let index: HashMap<&str, usize> = statements
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.as_str(), i))
            .collect();
        let themes = themes
            .into_iter()
            .map(|(id, members)| {
                let m = members
                    .iter()
                    .filter_map(|s| index.get(s.as_str()).copied())
                    .collect();
                (id, m)
            })
            .collect();
        PanelScoring { statements, themes }
    }

    pub fn from_spec(spec: &WaveSpec) -> Self {
        PanelScoring {
            statements: spec
                .statements
                .iter()
                .map(|s| (s.id.clone(), s.scale.disagree.clone()))
                .collect(),
            themes: spec
                .themes
                .iter()
                .map(|t| (t.id.clone(), t.members.clone()))
                .collect(),
        }
    }

    fn statement_index(&self) -> HashMap<&str, usize> {
        self.statements
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.as_str(), i))
            .collect()
    }

    /// Every score of a respondent with an answer, as the `scorestats` and `cellstats`
    /// of the wave define it (docs/statistics.md): per statement top_box, bottom_box and
    /// net (where it has disagree codes), mean; per theme the same of its index.
    pub fn scores(&self, a: &Answers) -> Vec<(Unit, f64)> {
        let mut out = Vec::new();
        let answer = |j: usize| Some((a.values[j]?, a.agree[j]?));
        for (j, (id, disagree)) in self.statements.iter().enumerate() {
            let Some((v, agrees)) = answer(j) else {
                continue;
            };
            let top = f64::from(u8::from(agrees));
            let bottom = f64::from(u8::from(!agrees && disagree.contains(&i64::from(v))));
            push_scores(
                &mut out,
                id,
                false,
                !disagree.is_empty(),
                top,
                bottom,
                v.into(),
            );
        }
        for (id, members) in &self.themes {
            let (mut k, mut top, mut bottom, mut sum) = (0.0, 0.0, 0.0, 0.0);
            for &j in members {
                if let Some((v, agrees)) = answer(j) {
                    k += 1.0;
                    sum += f64::from(v);
                    if agrees {
                        top += 1.0;
                    } else if self.statements[j].1.contains(&i64::from(v)) {
                        bottom += 1.0;
                    }
                }
            }
            if k > 0.0 {
                let has_disagree = members.iter().all(|&j| !self.statements[j].1.is_empty());
                push_scores(
                    &mut out,
                    id,
                    true,
                    has_disagree,
                    top / k,
                    bottom / k,
                    sum / k,
                );
            }
        }
        out
    }
}

fn push_scores(
    out: &mut Vec<(Unit, f64)>,
    id: &str,
    theme: bool,
    has_disagree: bool,
    top: f64,
    bottom: f64,
    mean: f64,
) {
    let unit = |m: &'static str| (id.to_string(), theme, m);
    out.push((unit(METRICS[0]), top));
    if has_disagree {
        out.push((unit(METRICS[1]), bottom));
        out.push((unit(METRICS[2]), top - bottom));
    }
    out.push((unit(METRICS[3]), mean));
}

/// The cross sums of the respondents in both `here` and `there` (by id).
pub fn cross_sums(
    (here_scoring, here): (&PanelScoring, &HashMap<String, Answers>),
    (there_scoring, there): (&PanelScoring, &HashMap<String, Answers>),
) -> Vec<PanelStat> {
    type Key = (Option<Unit>, String, String);
    let mut acc: BTreeMap<Key, [f64; 5]> = BTreeMap::new();
    for (id, a) in here {
        let Some(b) = there.get(id) else { continue };
        let pair = |u: Option<Unit>| (u, a.grp.clone(), b.grp.clone());
        acc.entry(pair(None)).or_default()[0] += 1.0;
        let theirs: HashMap<Unit, f64> = there_scoring.scores(b).into_iter().collect();
        let ww = a.weight * b.weight;
        for (unit, y) in here_scoring.scores(a) {
            if let Some(&y2) = theirs.get(&unit) {
                let s = acc.entry(pair(Some(unit))).or_default();
                s[0] += 1.0;
                s[1] += ww;
                s[2] += ww * y;
                s[3] += ww * y2;
                s[4] += ww * y * y2;
            }
        }
    }
    acc.into_iter()
        .map(|((unit, grp, other_grp), s)| PanelStat {
            theme: unit.as_ref().is_some_and(|u| u.1),
            metric: unit.as_ref().map(|u| u.2),
            statement: unit.map(|u| u.0),
            grp,
            other_grp,
            n: s[0] as i64,
            sum_ww: s[1],
            sum_wwy: s[2],
            sum_wwy_other: s[3],
            sum_wwyy: s[4],
        })
        .collect()
}

/// What a load shares with the other live waves: the `panelstats` rows (one batch per
/// wave it shares respondents with) and a note per such wave.
pub(super) struct Shared {
    pub batches: Vec<RecordBatch>,
    pub notes: Vec<String>,
}

/// Matches the load `load_id` of `spec` (its `responses` committed, not yet in the
/// catalog; `hashes` its respondents', sorted) with every other live microdata wave.
pub(super) async fn shared_respondents(
    store: &Store,
    spec: &WaveSpec,
    load_id: &str,
    hashes: &[u64],
) -> Result<Shared> {
    let mut out = Shared {
        batches: Vec::new(),
        notes: Vec::new(),
    };
    if hashes.is_empty() {
        return Ok(out);
    }
    let cat = catalog::current(store).await?;
    let others: Vec<&CatalogEntry> = cat
        .entries
        .iter()
        .filter(|e| e.wave != spec.wave && e.kind == "microdata")
        .collect();
    let candidates = candidates(store, &others, hashes).await?;
    if candidates.is_empty() {
        return Ok(out);
    }
    let here_scoring = PanelScoring::from_spec(spec);
    // This load's answers are read once, for every id some other wave may share.
    let all: HashSet<u64> = candidates.values().flatten().copied().collect();
    let here = answers(store, load_id, &here_scoring, &all).await?;
    for e in others {
        let Some(cand) = candidates.get(&e.load_id) else {
            continue;
        };
        let there_scoring = stored_scoring(store, &e.load_id).await?;
        let there = answers(store, &e.load_id, &there_scoring, cand).await?;
        let rows = cross_sums((&here_scoring, &here), (&there_scoring, &there));
        let shared: i64 = rows
            .iter()
            .filter(|r| r.statement.is_none())
            .map(|r| r.n)
            .sum();
        if shared == 0 {
            continue;
        }
        out.notes.push(format!(
            "{shared} respondent ids also in wave {}: changes between the two waves are tested as repeated respondents (set [respondent] panel = false where the ids are not the same people)",
            e.wave
        ));
        out.batches.push(tables::panelstats_batch(
            (&spec.wave, load_id),
            (&e.wave, &e.load_id),
            &rows,
        )?);
    }
    Ok(out)
}

/// Per other load, the hashes it shares with `hashes` (sorted; only loads that share
/// any).
async fn candidates(
    store: &Store,
    others: &[&CatalogEntry],
    hashes: &[u64],
) -> Result<HashMap<String, HashSet<u64>>> {
    let mut out: HashMap<String, HashSet<u64>> = HashMap::new();
    if others.is_empty() {
        return Ok(out);
    }
    let loads: Vec<&str> = others.iter().map(|e| e.load_id.as_str()).collect();
    // `hashes` is sorted: a binary search needs no second copy of them.
    let cols = ["load_id", "id_hash"];
    for_each_batch(store, RESPONDENT_IDS, &loads, &cols, |b| {
        let load = strings(b, 0)?;
        let h = b.column(1).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            let x = h.value(i) as u64;
            if hashes.binary_search(&x).is_ok() {
                out.entry(load.value(i).to_string()).or_default().insert(x);
            }
        }
        Ok(())
    })
    .await?;
    Ok(out)
}

/// The answers of the respondents of a load whose id hash is in `wanted`.
async fn answers(
    store: &Store,
    load_id: &str,
    scoring: &PanelScoring,
    wanted: &HashSet<u64>,
) -> Result<HashMap<String, Answers>> {
    let cols = ["respondent", "grp", "weight", "statement", "value", "agree"];
    let index = scoring.statement_index();
    let k = scoring.statements.len();
    let mut out: HashMap<String, Answers> = HashMap::new();
    for_each_batch(store, RESPONSES, &[load_id], &cols, |b| {
        let (id, grp, statement) = (strings(b, 0)?, strings(b, 1)?, strings(b, 3)?);
        let weight = b.column(2).as_primitive::<Float64Type>();
        let value = b.column(4).as_primitive::<Int32Type>();
        let agree = b.column(5).as_boolean();
        for i in 0..b.num_rows() {
            let rid = id.value(i);
            let Some(&j) = index.get(statement.value(i)) else {
                continue;
            };
            if !wanted.contains(&id_hash(rid)) {
                continue;
            }
            let a = out.entry(rid.to_string()).or_insert_with(|| Answers {
                grp: grp.value(i).to_string(),
                weight: weight.value(i),
                values: vec![None; k],
                agree: vec![None; k],
            });
            a.values[j] = value.is_valid(i).then(|| value.value(i));
            a.agree[j] = agree.is_valid(i).then(|| agree.value(i));
        }
        Ok(())
    })
    .await?;
    Ok(out)
}

/// The scoring of a stored load: its statements' disagree codes (`statements`) and its
/// themes' members (`scorestats`).
async fn stored_scoring(store: &Store, load_id: &str) -> Result<PanelScoring> {
    let mut statements = Vec::new();
    let cols = ["statement", "disagree_codes"];
    for_each_batch(store, STATEMENTS, &[load_id], &cols, |b| {
        let (id, codes) = (strings(b, 0)?, strings(b, 1)?);
        for i in 0..b.num_rows() {
            let codes = if codes.is_valid(i) {
                parse_codes(codes.value(i))
            } else {
                Vec::new()
            };
            statements.push((id.value(i).to_string(), codes));
        }
        Ok(())
    })
    .await?;
    let mut themes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let cols = ["statement", "theme", "members"];
    for_each_batch(store, SCORESTATS, &[load_id], &cols, |b| {
        let (id, members) = (strings(b, 0)?, strings(b, 2)?);
        let theme = b.column(1).as_boolean();
        for i in 0..b.num_rows() {
            if theme.is_valid(i) && theme.value(i) && members.is_valid(i) {
                let m = members.value(i).split(',').map(str::to_string).collect();
                themes.insert(id.value(i).to_string(), m);
            }
        }
        Ok(())
    })
    .await?;
    Ok(PanelScoring::new(statements, themes.into_iter().collect()))
}

/// Codes as `statements` stores them ("1,2").
fn parse_codes(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|c| c.trim().parse().ok()).collect()
}

/// Calls `f` with every batch of the rows of the given loads of a table, `columns` in
/// that order, as they are read (nothing when the table does not exist).
async fn for_each_batch(
    store: &Store,
    table: &str,
    loads: &[&str],
    columns: &[&str],
    mut f: impl FnMut(&RecordBatch) -> Result<()>,
) -> Result<()> {
    let Some(t) = store.load(table, None).await? else {
        return Ok(());
    };
    let what = format!("reading the {table} table");
    let ctx = SessionContext::new();
    t.update_datafusion_session(&ctx.state())
        .map_err(|e| Error::delta(&what, e))?;
    let schema = t.snapshot().map_err(|e| Error::delta(&what, e))?.schema();
    if columns.iter().any(|c| schema.field(c).is_none()) {
        // A table written before one of the columns existed (`disagree_codes`).
        return Ok(());
    }
    let ids: Vec<_> = loads.iter().map(|l| lit(l.to_string())).collect();
    let mut stream = ctx
        .read_table(t.table_provider().await?)?
        .filter(col("load_id").in_list(ids, false))?
        .select_columns(columns)?
        .execute_stream()
        .await?;
    while let Some(b) = stream.try_next().await? {
        f(&b)?;
    }
    Ok(())
}

/// A text column as Utf8 (it may come back as a view or dictionary).
fn strings(b: &RecordBatch, i: usize) -> Result<arrow::array::StringArray> {
    let a = arrow::compute::cast(b.column(i), &DataType::Utf8)?;
    Ok(a.as_string::<i32>().clone())
}

/// The `panelstats` rows of a load that shares respondents with other waves.
pub(super) fn panelstats_of(shared: Shared) -> Result<Option<(&'static str, RecordBatch)>> {
    if shared.batches.is_empty() {
        return Ok(None);
    }
    let batch = arrow::compute::concat_batches(&tables::panelstats_schema(), &shared.batches)?;
    Ok(Some((PANELSTATS, batch)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(grp: &str, weight: f64, values: &[Option<i32>]) -> Answers {
        Answers {
            grp: grp.into(),
            weight,
            values: values.to_vec(),
            agree: values.iter().map(|v| v.map(|v| v >= 4)).collect(),
        }
    }

    #[test]
    fn cross_sums_of_two_respondents_by_hand() {
        let scoring = PanelScoring::new(
            vec![("s1".into(), vec![1, 2]), ("s2".into(), vec![])],
            vec![("t".into(), vec!["s1".into(), "s2".into()])],
        );
        let here = HashMap::from([
            ("a".to_string(), answers("m", 2.0, &[Some(5), Some(2)])),
            ("b".to_string(), answers("m", 1.0, &[Some(1), None])),
            ("c".to_string(), answers("s", 1.0, &[Some(4), Some(4)])),
        ]);
        let there = HashMap::from([
            ("a".to_string(), answers("m", 0.5, &[Some(2), Some(5)])),
            ("b".to_string(), answers("s", 3.0, &[Some(4), Some(3)])),
        ]);
        let rows = cross_sums((&scoring, &here), (&scoring, &there));
        let find = |s: Option<&str>, m: Option<&str>, g: &str, h: &str| {
            rows.iter()
                .find(|r| {
                    r.statement.as_deref() == s && r.metric == m && r.grp == g && r.other_grp == h
                })
                .cloned()
        };
        // Respondents in both: a (m → m), b (m → s); c only here.
        assert_eq!(find(None, None, "m", "m").map(|r| r.n), Some(1));
        assert_eq!(find(None, None, "m", "s").map(|r| r.n), Some(1));
        // s1 net: a is +1 here, −1 there; ww' = 1 → Σww'yy' = −1.
        let r = find(Some("s1"), Some("net"), "m", "m").unwrap();
        assert_eq!(
            (r.n, r.sum_ww, r.sum_wwy, r.sum_wwy_other, r.sum_wwyy),
            (1, 1.0, 1.0, -1.0, -1.0)
        );
        // s2 has no disagree codes: no net; b answered s2 only there: no s2 row for m → s.
        assert!(find(Some("s2"), Some("net"), "m", "m").is_none());
        assert!(find(Some("s2"), Some("mean"), "m", "s").is_none());
        // Theme mean: a (5 + 2)/2 = 3.5 here, (2 + 5)/2 = 3.5 there; b 1 here, 3.5 there.
        let r = find(Some("t"), Some("mean"), "m", "s").unwrap();
        assert_eq!(
            (r.sum_ww, r.sum_wwy, r.sum_wwy_other, r.sum_wwyy),
            (3.0, 3.0, 10.5, 10.5)
        );
        // The theme has a member without disagree codes: no theme net.
        assert!(find(Some("t"), Some("net"), "m", "m").is_none());
    }

    #[test]
    fn id_hashes_are_fnv1a() {
        // FNV-1a 64 test vectors.
        assert_eq!(id_hash(""), 0xcbf29ce484222325);
        assert_eq!(id_hash("a"), 0xaf63dc4c8601ec8c);
    }
}
