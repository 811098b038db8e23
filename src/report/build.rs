//! Builds the report model from a session: the trend of one pair of groups (`build`) and
//! its segment breakdowns (`add_breakdowns`), all read from the views through SQL. The
//! builder suppresses what must not be published; renderers only show what is here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};

use super::model::*;
use crate::error::{Error, InputError, Result};
use crate::sql::{run_shipped, Session};

/// The column `name` of `b` cast to `ty`, each value read with `get` (`None` where null).
fn column<T>(
    b: &RecordBatch,
    name: &str,
    ty: &DataType,
    get: impl Fn(&dyn Array, usize) -> T,
) -> Result<Vec<Option<T>>> {
    let c = cast(b.column_by_name(name).expect("column"), ty)?;
    Ok((0..c.len())
        .map(|i| (!c.is_null(i)).then(|| get(c.as_ref(), i)))
        .collect())
}

fn f64s(b: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>> {
    column(b, name, &DataType::Float64, |a, i| {
        a.as_primitive::<Float64Type>().value(i)
    })
}

fn i64s(b: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>> {
    column(b, name, &DataType::Int64, |a, i| {
        a.as_primitive::<Int64Type>().value(i)
    })
}

fn strs(b: &RecordBatch, name: &str) -> Result<Vec<Option<String>>> {
    column(b, name, &DataType::Utf8, |a, i| {
        a.as_string::<i32>().value(i).to_string()
    })
}

fn bools(b: &RecordBatch, name: &str) -> Result<Vec<Option<bool>>> {
    column(b, name, &DataType::Boolean, |a, i| a.as_boolean().value(i))
}

/// The position of each item in `items` by its id (waves in date order, statements in
/// report order).
fn positions<'a, T>(items: &'a [T], id: impl Fn(&'a T) -> &'a str) -> HashMap<&'a str, usize> {
    items.iter().enumerate().map(|(i, x)| (id(x), i)).collect()
}

/// Statement id -> (first wave position, latest text, cells), while the cells are read.
type ByStatement = BTreeMap<String, (usize, Option<String>, Vec<TrendCell>)>;

/// Builds the report model for the pair `a:b` from a session.
pub async fn build(session: &Session, a: &str, b: &str) -> Result<Report> {
    let batches = run_shipped(session, "report_trend", &[("a", a), ("b", b)]).await?;
    if batches.iter().all(|b| b.num_rows() == 0) {
        // Nothing to publish: say why, and publish nothing (the last good report stays).
        return Err(empty_pair(session, a, b).await?);
    }
    let waves: Vec<WaveInfo> = session
        .catalog
        .entries
        .iter()
        .map(|e| WaveInfo {
            wave: e.wave.clone(),
            date: e.date.format("%Y-%m-%d").to_string(),
            title: e.title.clone(),
            kind: e.kind.clone(),
        })
        .collect();
    let wave_pos = positions(&waves, |w| w.wave.as_str());
    let settings = session.settings;
    let mut by_stmt = ByStatement::new();
    for batch in &batches {
        trend_cells(batch, &wave_pos, &mut by_stmt)?;
    }
    // The cells of each statement in wave order.
    for (_, _, cells) in by_stmt.values_mut() {
        cells.sort_by_key(|c| wave_pos.get(c.wave.as_str()).copied().unwrap_or(usize::MAX));
    }
    let mut statements: Vec<(usize, StatementTrend)> = by_stmt
        .into_iter()
        .map(|(id, (pos, text, cells))| {
            (
                pos,
                StatementTrend {
                    text: text.unwrap_or_else(|| id.clone()),
                    statement: id,
                    cells,
                },
            )
        })
        .collect();
    statements.sort_by(|x, y| (x.0, &x.1.statement).cmp(&(y.0, &y.1.statement)));
    Ok(Report {
        group_a: a.to_string(),
        group_b: b.to_string(),
        waves,
        statements: statements.into_iter().map(|(_, s)| s).collect(),
        min_base: settings.min_base,
        suppress_below: settings.suppress_below,
        min_base_on: settings.min_base_on,
        data_version: session.catalog.version.unwrap_or(-1),
        variance: settings.variance.as_str().to_string(),
        breakdowns: Vec::new(),
        slopes: slopes(session, a, b).await?,
        baseline: None,
        themes: themes(session, a, b).await?,
        words: Words::default(),
    })
}

/// Adds the change of every gap since `wave` (`report --baseline`, named by `flag` in
/// errors): a wave the report does not have is invalid input (exit 3).
pub async fn add_baseline(r: &mut Report, session: &Session, wave: &str, flag: &str) -> Result<()> {
    if !r.waves.iter().any(|w| w.wave == wave) {
        let known: Vec<&str> = r.waves.iter().map(|w| w.wave.as_str()).collect();
        return Err(Error::input(InputError::new(
            flag,
            format!(
                "{wave:?} is not a wave of the report ({})",
                known.join(", ")
            ),
        )));
    }
    let (a, b) = (r.group_a.clone(), r.group_b.clone());
    let params = [("a", a.as_str()), ("b", b.as_str()), ("baseline", wave)];
    let mut rows = Vec::new();
    for batch in run_shipped(session, "report_baseline", &params).await? {
        let (st, w, date, trend) = (
            strs(&batch, "statement")?,
            strs(&batch, "wave")?,
            strs(&batch, "date")?,
            strs(&batch, "trend")?,
        );
        let (gap, base, change) = (
            f64s(&batch, "gap_pp")?,
            f64s(&batch, "baseline_gap_pp")?,
            f64s(&batch, "change_pp")?,
        );
        let (p, q) = (f64s(&batch, "p_value")?, f64s(&batch, "q_value")?);
        let suppressed = bools(&batch, "suppressed")?;
        for i in 0..batch.num_rows() {
            rows.push(BaselineRow {
                statement: st[i].clone().unwrap_or_default(),
                wave: w[i].clone().unwrap_or_default(),
                date: date[i].clone().unwrap_or_default(),
                gap_pp: gap[i],
                baseline_gap_pp: base[i],
                change_pp: change[i],
                p_value: p[i],
                q_value: q[i],
                trend: trend[i].clone(),
                suppressed: suppressed[i].unwrap_or(false),
            });
        }
    }
    r.baseline = Some(Baseline {
        wave: wave.to_string(),
        rows,
    });
    Ok(())
}

/// The themes of the pair, theme × wave (`report_themes`).
async fn themes(session: &Session, a: &str, b: &str) -> Result<Vec<ThemeRow>> {
    let mut out = Vec::new();
    for batch in run_shipped(session, "report_themes", &[("a", a), ("b", b)]).await? {
        let (theme, members, wave, date) = (
            strs(&batch, "theme")?,
            strs(&batch, "members")?,
            strs(&batch, "wave")?,
            strs(&batch, "date")?,
        );
        let (prev, trend, dir) = (
            strs(&batch, "prev_wave")?,
            strs(&batch, "trend")?,
            strs(&batch, "slope_direction")?,
        );
        let (series, n_a, n_b) = (
            i64s(&batch, "series")?,
            i64s(&batch, "n_a")?,
            i64s(&batch, "n_b")?,
        );
        let f = |c: &str| f64s(&batch, c);
        let (pct_a, pct_b, gap, lo, hi) = (
            f("pct_a")?,
            f("pct_b")?,
            f("gap_pp")?,
            f("gap_ci_low")?,
            f("gap_ci_high")?,
        );
        let (change, q, slope, slope_q) = (
            f("change_pp")?,
            f("change_q_value")?,
            f("slope_pp_per_year")?,
            f("slope_q_value")?,
        );
        let suppressed = bools(&batch, "suppressed")?;
        for i in 0..batch.num_rows() {
            out.push(ThemeRow {
                theme: theme[i].clone().unwrap_or_default(),
                members: members[i].clone().unwrap_or_default(),
                wave: wave[i].clone().unwrap_or_default(),
                date: date[i].clone().unwrap_or_default(),
                series: series[i].unwrap_or(1),
                n_a: n_a[i],
                n_b: n_b[i],
                pct_a: pct_a[i],
                pct_b: pct_b[i],
                gap_pp: gap[i],
                gap_ci_low: lo[i],
                gap_ci_high: hi[i],
                prev_wave: prev[i].clone(),
                change_pp: change[i],
                change_q_value: q[i],
                trend: trend[i].clone(),
                slope: slope[i],
                slope_q_value: slope_q[i],
                slope_direction: dir[i].clone(),
                suppressed: suppressed[i].unwrap_or(false),
            });
        }
    }
    Ok(out)
}

/// The slope of the pair's gap per statement and series (`report_slope`).
async fn slopes(session: &Session, a: &str, b: &str) -> Result<Vec<SlopeRow>> {
    let mut out = Vec::new();
    for batch in run_shipped(session, "report_slope", &[("a", a), ("b", b)]).await? {
        out.extend(slope_rows(&batch)?);
    }
    Ok(out)
}

/// The slope rows of one batch of `report_slope` or `report_breakdown_slope`.
fn slope_rows(batch: &RecordBatch) -> Result<Vec<SlopeRow>> {
    let (st, first, last, dir) = (
        strs(batch, "statement")?,
        strs(batch, "first_wave")?,
        strs(batch, "last_wave")?,
        strs(batch, "direction")?,
    );
    let (series, waves) = (i64s(batch, "series")?, i64s(batch, "waves")?);
    let (slope, lo, hi) = (
        f64s(batch, "slope_pp_per_year")?,
        f64s(batch, "ci_low")?,
        f64s(batch, "ci_high")?,
    );
    let (p, q) = (f64s(batch, "p_value")?, f64s(batch, "q_value")?);
    Ok((0..batch.num_rows())
        .map(|i| SlopeRow {
            statement: st[i].clone().unwrap_or_default(),
            series: series[i].unwrap_or(1),
            first_wave: first[i].clone().unwrap_or_default(),
            last_wave: last[i].clone().unwrap_or_default(),
            waves: waves[i].unwrap_or(0),
            slope: slope[i],
            ci_low: lo[i],
            ci_high: hi[i],
            p_value: p[i],
            q_value: q[i],
            direction: dir[i].clone(),
        })
        .collect())
}

/// The slope of the pair's gap within each value of `segment`, in the report's statement
/// order, then value, then series (`report_breakdown_slope`).
async fn breakdown_slopes(
    r: &Report,
    session: &Session,
    params: &[(&str, &str)],
) -> Result<Vec<(String, SlopeRow)>> {
    let mut out = Vec::new();
    for batch in run_shipped(session, "report_breakdown_slope", params).await? {
        let value = strs(&batch, "segment_value")?;
        for (i, row) in slope_rows(&batch)?.into_iter().enumerate() {
            out.push((value[i].clone().unwrap_or_default(), row));
        }
    }
    let stmt_pos = positions(&r.statements, |s| s.statement.as_str());
    out.sort_by(|x, y| {
        let key = |(v, z): &(String, SlopeRow)| {
            let pos = stmt_pos.get(z.statement.as_str()).copied();
            (
                pos.unwrap_or(usize::MAX),
                z.statement.clone(),
                v.clone(),
                z.series,
            )
        };
        key(x).cmp(&key(y))
    });
    Ok(out)
}

/// Gives the report the publisher's words: checks that every wave, group and statement
/// they name is in the report (a name that matches nothing is an error, exit 3, naming
/// the key), then orders the statements.
pub fn apply_words(r: &mut Report, words: Words, shown: &str) -> Result<()> {
    let mut problems = Vec::new();
    let waves: Vec<&str> = r.waves.iter().map(|w| w.wave.as_str()).collect();
    let statements: Vec<&str> = r.statements.iter().map(|s| s.statement.as_str()).collect();
    let groups = [r.group_a.as_str(), r.group_b.as_str()];
    let mut check = |key: &str, name: &str, known: &[&str], what: &str| {
        if !known.contains(&name) {
            problems.push(
                InputError::new(
                    shown,
                    format!(
                        "{name:?} is not a {what} of the report ({})",
                        known.join(", ")
                    ),
                )
                .column(key.to_string()),
            );
        }
    };
    for w in words.wave_labels.keys() {
        check("report.wave_labels", w, &waves, "wave");
    }
    for g in words.group_labels.keys() {
        check("report.group_labels", g, &groups, "group of the pair");
    }
    for s in &words.statement_order {
        check("report.statement_order", s, &statements, "statement");
    }
    let segments: Vec<&str> = r.breakdowns.iter().map(|b| b.segment.as_str()).collect();
    for s in words.segment_labels.keys() {
        check(
            "report.segment_labels",
            s,
            &segments,
            "segment of the report's breakdowns (--by)",
        );
    }
    if !problems.is_empty() {
        let total = problems.len();
        return Err(Error::Invalid(crate::error::Invalid {
            errors: problems,
            total,
        }));
    }
    let rank = |id: &str| {
        words
            .statement_order
            .iter()
            .position(|s| s == id)
            .unwrap_or(usize::MAX)
    };
    // A stable sort: the statements not listed keep their order, after the listed ones.
    r.statements.sort_by_key(|s| rank(&s.statement));
    r.words = words;
    Ok(())
}

/// Reads the cells of one batch of `queries/report_trend.sql` into `by_stmt`: the query
/// has turned them for the pair's order and suppressed them by the bases.
fn trend_cells(
    batch: &RecordBatch,
    wave_pos: &HashMap<&str, usize>,
    by_stmt: &mut ByStatement,
) -> Result<()> {
    let st = strs(batch, "statement")?;
    let wave = strs(batch, "wave")?;
    let date = strs(batch, "date")?;
    let estimate = |g: &str| -> Result<Vec<GroupEstimate>> {
        let (n, pct) = (
            i64s(batch, &format!("n_{g}"))?,
            f64s(batch, &format!("pct_{g}"))?,
        );
        let (lo, hi) = (
            f64s(batch, &format!("ci_low_{g}"))?,
            f64s(batch, &format!("ci_high_{g}"))?,
        );
        Ok((0..batch.num_rows())
            .map(|i| GroupEstimate {
                n: n[i],
                pct: pct[i],
                ci_low: lo[i],
                ci_high: hi[i],
            })
            .collect())
    };
    let (a, b) = (estimate("a")?, estimate("b")?);
    let (gap, gl, gh, gp) = (
        f64s(batch, "gap_pp")?,
        f64s(batch, "gap_ci_low")?,
        f64s(batch, "gap_ci_high")?,
        f64s(batch, "gap_p_value")?,
    );
    let (chg, chp, chq) = (
        f64s(batch, "change_pp")?,
        f64s(batch, "change_p_value")?,
        f64s(batch, "change_q_value")?,
    );
    let (trend, prev, text) = (
        strs(batch, "trend")?,
        strs(batch, "prev_wave")?,
        strs(batch, "text")?,
    );
    let (low, sup, brk) = (
        bools(batch, "low_base")?,
        bools(batch, "suppressed")?,
        bools(batch, "series_break")?,
    );
    for i in 0..batch.num_rows() {
        let sid = st[i].clone().unwrap_or_default();
        let w = wave[i].clone().unwrap_or_default();
        let pos = wave_pos.get(w.as_str()).copied().unwrap_or(usize::MAX);
        let cell = TrendCell {
            wave: w,
            date: date[i].clone().unwrap_or_default(),
            a: a[i].clone(),
            b: b[i].clone(),
            gap_pp: gap[i],
            gap_ci_low: gl[i],
            gap_ci_high: gh[i],
            gap_p_value: gp[i],
            change_pp: chg[i],
            change_p_value: chp[i],
            change_q_value: chq[i],
            trend: trend[i].clone(),
            prev_wave: prev[i].clone(),
            low_base: low[i].unwrap_or(false),
            suppressed: sup[i].unwrap_or(false),
            series_break: brk[i].unwrap_or(false),
            text: text[i].clone(),
        };
        let entry = by_stmt.entry(sid).or_insert((pos, None, Vec::new()));
        entry.0 = entry.0.min(pos);
        if let Some(t) = &text[i] {
            entry.1 = Some(t.clone());
        }
        entry.2.push(cell);
    }
    Ok(())
}

fn quoted_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| format!("{s:?}")).collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

/// Why the pair `a:b` has no row in `gaps`: the store holds no wave, a group is in no
/// loaded wave (the groups that exist are listed), or no wave has answers from both
/// groups to one statement (the waves of each are listed). Invalid input (exit 3).
async fn empty_pair(session: &Session, a: &str, b: &str) -> Result<Error> {
    let version = session
        .catalog
        .version
        .map(|v| format!("data version {v}"))
        .unwrap_or_else(|| "no data version".into());
    let batches = session
        .ctx
        .sql("SELECT DISTINCT grp, wave FROM agreement ORDER BY grp, wave")
        .await?
        .collect()
        .await?;
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for batch in &batches {
        let (g, w) = (strs(batch, "grp")?, strs(batch, "wave")?);
        for (g, w) in g.into_iter().zip(w) {
            if let (Some(g), Some(w)) = (g, w) {
                groups.entry(g).or_default().push(w);
            }
        }
    }
    let missing: Vec<&str> = [a, b]
        .into_iter()
        .filter(|g| !groups.contains_key(*g))
        .collect();
    let message = if session.catalog.entries.is_empty() {
        format!("the store holds no loaded wave ({version}); nothing to report")
    } else if !missing.is_empty() {
        format!(
            "{} {} not a group of any loaded wave ({version}); the groups are {}",
            quoted_list(missing.iter().copied()),
            if missing.len() == 1 { "is" } else { "are" },
            quoted_list(groups.keys().map(String::as_str))
        )
    } else {
        let waves = |g: &str| groups.get(g).map(|w| w.join(", ")).unwrap_or_default();
        format!(
            "no loaded wave has answers from both {a:?} and {b:?} to one statement \
             ({version}; {a:?} in {}, {b:?} in {}); nothing to report",
            waves(a),
            waves(b)
        )
    };
    Ok(Error::input(InputError::new(
        format!("--pair {a}:{b}"),
        message,
    )))
}

/// Adds to `r` the breakdown of its pair's gap by each segment of `by` (`report --by`).
/// A name that no loaded wave has as a segment is invalid input (exit 3).
pub async fn add_breakdowns(r: &mut Report, session: &Session, by: &[String]) -> Result<()> {
    let by = known_segments(session, by)?;
    let mut out: Vec<Breakdown> = Vec::new();
    for segment in &by {
        if out.iter().any(|x| &x.segment == segment) {
            continue;
        }
        out.push(breakdown(r, session, segment).await?);
    }
    r.breakdowns = out;
    Ok(())
}

/// The segments of `by` as stored: names match without regard to case (`--by SIZE` names
/// the stored `size`); a name no loaded wave has is invalid input.
fn known_segments(session: &Session, by: &[String]) -> Result<Vec<String>> {
    let known: BTreeSet<&str> = session
        .catalog
        .entries
        .iter()
        .flat_map(|e| e.segments.iter().map(String::as_str))
        .collect();
    let by: Vec<String> = by
        .iter()
        .map(|s| {
            known
                .iter()
                .find(|k| k.eq_ignore_ascii_case(s))
                .map_or_else(|| s.clone(), |k| k.to_string())
        })
        .collect();
    for segment in &by {
        if !known.contains(segment.as_str()) {
            let listed = if known.is_empty() {
                "no loaded wave has segment columns".to_string()
            } else {
                format!(
                    "the loaded waves have {}",
                    known
                        .iter()
                        .map(|k| format!("{k:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(Error::input(
                InputError::new(
                    "--by",
                    format!("{segment:?} is not a segment column of any loaded wave; {listed}"),
                )
                .column("--by"),
            ));
        }
    }
    Ok(by)
}

/// The breakdown of the pair's gap by one segment: its rows in the report's statement
/// order, then waves in date order, then values.
async fn breakdown(r: &Report, session: &Session, segment: &str) -> Result<Breakdown> {
    let (a, b) = (&r.group_a, &r.group_b);
    let wave_pos = positions(&r.waves, |w| w.wave.as_str());
    let stmt_pos = positions(&r.statements, |s| s.statement.as_str());
    let params = [("segment", segment), ("a", a.as_str()), ("b", b.as_str())];
    let batches = run_shipped(session, "report_breakdown", &params).await?;
    let mut rows = Vec::new();
    for batch in &batches {
        breakdown_rows(batch, &mut rows)?;
    }
    // The statement order of the report, then waves in date order, then values (each
    // row keeps the wording of its wave).
    rows.sort_by(|x, y| {
        let key = |z: &BreakdownRow| {
            (
                stmt_pos
                    .get(z.statement.as_str())
                    .copied()
                    .unwrap_or(usize::MAX),
                z.statement.clone(),
                wave_pos.get(z.wave.as_str()).copied().unwrap_or(usize::MAX),
                z.segment_value.clone(),
            )
        };
        key(x).cmp(&key(y))
    });
    if rows.is_empty() {
        let with: Vec<&str> = session
            .catalog
            .entries
            .iter()
            .filter(|e| e.segments.iter().any(|s| s == segment))
            .map(|e| e.wave.as_str())
            .collect();
        return Err(Error::input(
            InputError::new(
                "--by",
                format!(
                    "{segment:?}: no wave that has this segment ({}) has answers from both \
                     {a:?} and {b:?} within one of its values; nothing to report",
                    with.join(", ")
                ),
            )
            .column("--by"),
        ));
    }
    let latest_wave = rows
        .iter()
        .max_by_key(|z| wave_pos.get(z.wave.as_str()).copied().unwrap_or(0))
        .map(|z| z.wave.clone());
    let mut values: Vec<String> = rows.iter().map(|z| z.segment_value.clone()).collect();
    values.sort();
    values.dedup();
    Ok(Breakdown {
        segment: segment.to_string(),
        values,
        latest_wave,
        rows,
        slopes: breakdown_slopes(r, session, &params).await?,
    })
}

/// Reads the rows of one batch of `queries/report_breakdown.sql` into `rows`: the query
/// has turned them for the pair's order and suppressed them by the bases.
fn breakdown_rows(batch: &RecordBatch, rows: &mut Vec<BreakdownRow>) -> Result<()> {
    let st = strs(batch, "statement")?;
    let wave = strs(batch, "wave")?;
    let date = strs(batch, "date")?;
    let value = strs(batch, "segment_value")?;
    let (n_a, n_b) = (i64s(batch, "n_a")?, i64s(batch, "n_b")?);
    let (pct_a, pct_b) = (f64s(batch, "pct_a")?, f64s(batch, "pct_b")?);
    let (gap, gl, gh, gp) = (
        f64s(batch, "gap_pp")?,
        f64s(batch, "gap_ci_low")?,
        f64s(batch, "gap_ci_high")?,
        f64s(batch, "gap_p_value")?,
    );
    let (low, sup) = (bools(batch, "low_base")?, bools(batch, "suppressed")?);
    let text = strs(batch, "text")?;
    for i in 0..batch.num_rows() {
        let sid = st[i].clone().unwrap_or_default();
        rows.push(BreakdownRow {
            text: text[i].clone().unwrap_or_else(|| sid.clone()),
            statement: sid,
            wave: wave[i].clone().unwrap_or_default(),
            date: date[i].clone().unwrap_or_default(),
            segment_value: value[i].clone().unwrap_or_default(),
            n_a: n_a[i].unwrap_or(0),
            n_b: n_b[i].unwrap_or(0),
            pct_a: pct_a[i],
            pct_b: pct_b[i],
            gap_pp: gap[i],
            gap_ci_low: gl[i],
            gap_ci_high: gh[i],
            gap_p_value: gp[i],
            low_base: low[i].unwrap_or(false),
            suppressed: sup[i].unwrap_or(false),
        });
    }
    Ok(())
}
