//! Builds the report model from a session: the trend of one pair of groups (`build`) and
//! its segment breakdowns (`add_breakdowns`), all read from the views through SQL. The
//! builder suppresses what must not be published; renderers only show what is here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};

use super::model::*;
use crate::error::{Error, InputError, Result};
use crate::sql::{quote_lit, Session, Settings};

fn f64s(b: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>> {
    let c = cast(b.column_by_name(name).expect("column"), &DataType::Float64)?;
    let a = c.as_primitive::<Float64Type>();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect())
}

fn i64s(b: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>> {
    let c = cast(b.column_by_name(name).expect("column"), &DataType::Int64)?;
    let a = c.as_primitive::<Int64Type>();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect())
}

fn strs(b: &RecordBatch, name: &str) -> Result<Vec<Option<String>>> {
    let c = cast(b.column_by_name(name).expect("column"), &DataType::Utf8)?;
    let a = c.as_string::<i32>();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
        .collect())
}

fn bools(b: &RecordBatch, name: &str) -> Result<Vec<Option<bool>>> {
    let c = cast(b.column_by_name(name).expect("column"), &DataType::Boolean)?;
    let a = c.as_boolean();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect())
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
    let flip = a > b;
    let batches = session.ctx.sql(&trend_sql(a, b)).await?.collect().await?;
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
        trend_cells(batch, flip, &settings, &wave_pos, &mut by_stmt)?;
    }
    blank_changes_against_suppressed(&mut by_stmt, &wave_pos);
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
        data_version: session.catalog.version.unwrap_or(-1),
        variance: settings.variance.as_str().to_string(),
        breakdowns: Vec::new(),
    })
}

/// The query of the trend: one row per statement × wave of the pair, with both groups'
/// estimates, the gap (stored for the pair in id order), its change and the wording.
fn trend_sql(a: &str, b: &str) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    format!(
        "SELECT g.statement, g.wave, CAST(g.date AS VARCHAR) AS date_s,
                aa.n AS n_a, aa.pct AS pct_a, aa.ci_low AS lo_a, aa.ci_high AS hi_a,
                ab.n AS n_b, ab.pct AS pct_b, ab.ci_low AS lo_b, ab.ci_high AS hi_b,
                g.gap_pp, g.ci_low, g.ci_high, g.p_value,
                t.prev_wave, t.change_pp, t.p_value AS change_p, t.q_value, t.trend,
                coalesce(st.series_break, false) AS series_break, st.text
         FROM gaps g
         JOIN agreement aa ON aa.wave = g.wave AND aa.statement = g.statement AND aa.grp = {qa}
         JOIN agreement ab ON ab.wave = g.wave AND ab.statement = g.statement AND ab.grp = {qb}
         LEFT JOIN gap_trend t ON t.wave = g.wave AND t.statement = g.statement
              AND t.group_a = g.group_a AND t.group_b = g.group_b
         LEFT JOIN statements st ON st.wave = g.wave AND st.statement = g.statement
         WHERE g.group_a = {qlo} AND g.group_b = {qhi}
         ORDER BY g.date, g.wave, g.statement",
        qa = quote_lit(a),
        qb = quote_lit(b),
        qlo = quote_lit(lo),
        qhi = quote_lit(hi)
    )
}

/// Reads the cells of one batch of the trend query into `by_stmt`: signs turned for the
/// pair's order (`flip`), flagged and suppressed by the bases.
fn trend_cells(
    batch: &RecordBatch,
    flip: bool,
    settings: &Settings,
    wave_pos: &HashMap<&str, usize>,
    by_stmt: &mut ByStatement,
) -> Result<()> {
    let neg = |v: Option<f64>| if flip { v.map(|x| -x) } else { v };
    let st = strs(batch, "statement")?;
    let wave = strs(batch, "wave")?;
    let date = strs(batch, "date_s")?;
    let (n_a, pct_a, lo_a, hi_a) = (
        i64s(batch, "n_a")?,
        f64s(batch, "pct_a")?,
        f64s(batch, "lo_a")?,
        f64s(batch, "hi_a")?,
    );
    let (n_b, pct_b, lo_b, hi_b) = (
        i64s(batch, "n_b")?,
        f64s(batch, "pct_b")?,
        f64s(batch, "lo_b")?,
        f64s(batch, "hi_b")?,
    );
    let (gap, gl, gh, gp) = (
        f64s(batch, "gap_pp")?,
        f64s(batch, "ci_low")?,
        f64s(batch, "ci_high")?,
        f64s(batch, "p_value")?,
    );
    let prev = strs(batch, "prev_wave")?;
    let (chg, chp, chq) = (
        f64s(batch, "change_pp")?,
        f64s(batch, "change_p")?,
        f64s(batch, "q_value")?,
    );
    let trend = strs(batch, "trend")?;
    let brk = bools(batch, "series_break")?;
    let text = strs(batch, "text")?;
    for i in 0..batch.num_rows() {
        let sid = st[i].clone().unwrap_or_default();
        let w = wave[i].clone().unwrap_or_default();
        let pos = wave_pos.get(w.as_str()).copied().unwrap_or(usize::MAX);
        let small = |n: Option<i64>| n.is_some_and(|n| n < settings.suppress_below);
        let suppressed = small(n_a[i]) || small(n_b[i]);
        let low = |n: Option<i64>| n.is_some_and(|n| n < settings.min_base);
        let (gap_ci_low, gap_ci_high) = if flip {
            (neg(gh[i]), neg(gl[i]))
        } else {
            (gl[i], gh[i])
        };
        let cell = TrendCell {
            wave: w.clone(),
            date: date[i].clone().unwrap_or_default(),
            a: GroupEstimate {
                n: n_a[i],
                pct: (!suppressed).then_some(pct_a[i]).flatten(),
                ci_low: (!suppressed).then_some(lo_a[i]).flatten(),
                ci_high: (!suppressed).then_some(hi_a[i]).flatten(),
            },
            b: GroupEstimate {
                n: n_b[i],
                pct: (!suppressed).then_some(pct_b[i]).flatten(),
                ci_low: (!suppressed).then_some(lo_b[i]).flatten(),
                ci_high: (!suppressed).then_some(hi_b[i]).flatten(),
            },
            gap_pp: (!suppressed).then_some(neg(gap[i])).flatten(),
            gap_ci_low: (!suppressed).then_some(gap_ci_low).flatten(),
            gap_ci_high: (!suppressed).then_some(gap_ci_high).flatten(),
            gap_p_value: (!suppressed).then_some(gp[i]).flatten(),
            change_pp: (!suppressed).then_some(neg(chg[i])).flatten(),
            change_p_value: (!suppressed).then_some(chp[i]).flatten(),
            change_q_value: (!suppressed).then_some(chq[i]).flatten(),
            trend: if suppressed { None } else { trend[i].clone() },
            prev_wave: prev[i].clone(),
            low_base: low(n_a[i]) || low(n_b[i]),
            suppressed,
            series_break: brk[i].unwrap_or(false),
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

/// A change against a suppressed wave would reveal it: blank it too. Then the cells of
/// each statement in wave order.
fn blank_changes_against_suppressed(by_stmt: &mut ByStatement, wave_pos: &HashMap<&str, usize>) {
    for (_, (_, _, cells)) in by_stmt.iter_mut() {
        let suppressed: HashMap<String, bool> = cells
            .iter()
            .map(|c| (c.wave.clone(), c.suppressed))
            .collect();
        for c in cells.iter_mut() {
            if c.prev_wave
                .as_ref()
                .is_some_and(|p| suppressed.get(p).copied().unwrap_or(false))
            {
                c.change_pp = None;
                c.change_p_value = None;
                c.change_q_value = None;
                c.trend = None;
            }
        }
        cells.sort_by_key(|c| wave_pos.get(c.wave.as_str()).copied().unwrap_or(usize::MAX));
    }
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
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let flip = a > b;
    let wave_pos = positions(&r.waves, |w| w.wave.as_str());
    let stmt_pos = positions(&r.statements, |s| s.statement.as_str());
    let sql = format!(
        "SELECT g.statement, g.wave, CAST(g.date AS VARCHAR) AS date_s, g.segment_value,
                g.n_a, g.n_b, g.pct_a, g.pct_b, g.gap_pp, g.ci_low, g.ci_high, g.p_value,
                g.suppressed, st.text
         FROM gaps_by_segment g
         LEFT JOIN statements st ON st.wave = g.wave AND st.statement = g.statement
         WHERE g.segment = {qs} AND g.group_a = {qlo} AND g.group_b = {qhi}
         ORDER BY g.date, g.wave, g.statement, g.segment_value",
        qs = quote_lit(segment),
        qlo = quote_lit(lo),
        qhi = quote_lit(hi)
    );
    let batches = session.ctx.sql(&sql).await?.collect().await?;
    let mut rows = Vec::new();
    for batch in &batches {
        breakdown_rows(batch, flip, &session.settings, &mut rows)?;
    }
    // The statement order of the report (texts from the main table, so both agree),
    // then waves in date order, then values.
    for row in &mut rows {
        if let Some(&k) = stmt_pos.get(row.statement.as_str()) {
            row.text = r.statements[k].text.clone();
        }
    }
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
    })
}

/// Reads the rows of one batch of the breakdown query into `rows`: turned for the pair's
/// order (`flip`), flagged and suppressed by the bases.
fn breakdown_rows(
    batch: &RecordBatch,
    flip: bool,
    settings: &Settings,
    rows: &mut Vec<BreakdownRow>,
) -> Result<()> {
    let st = strs(batch, "statement")?;
    let wave = strs(batch, "wave")?;
    let date = strs(batch, "date_s")?;
    let value = strs(batch, "segment_value")?;
    let (n_lo, n_hi) = (i64s(batch, "n_a")?, i64s(batch, "n_b")?);
    let (p_lo, p_hi) = (f64s(batch, "pct_a")?, f64s(batch, "pct_b")?);
    let (gap, gl, gh, gp) = (
        f64s(batch, "gap_pp")?,
        f64s(batch, "ci_low")?,
        f64s(batch, "ci_high")?,
        f64s(batch, "p_value")?,
    );
    let sup = bools(batch, "suppressed")?;
    let text = strs(batch, "text")?;
    for i in 0..batch.num_rows() {
        let (n_a, n_b) = if flip {
            (n_hi[i], n_lo[i])
        } else {
            (n_lo[i], n_hi[i])
        };
        let (n_a, n_b) = (n_a.unwrap_or(0), n_b.unwrap_or(0));
        let suppressed = sup[i].unwrap_or(false)
            || n_a < settings.suppress_below
            || n_b < settings.suppress_below;
        let keep = |v: Option<f64>| if suppressed { None } else { v };
        let (pct_a, pct_b, gap_pp, ci_low, ci_high) = if flip {
            (
                p_hi[i],
                p_lo[i],
                gap[i].map(|x| -x),
                gh[i].map(|x| -x),
                gl[i].map(|x| -x),
            )
        } else {
            (p_lo[i], p_hi[i], gap[i], gl[i], gh[i])
        };
        let sid = st[i].clone().unwrap_or_default();
        rows.push(BreakdownRow {
            text: text[i].clone().unwrap_or_else(|| sid.clone()),
            statement: sid,
            wave: wave[i].clone().unwrap_or_default(),
            date: date[i].clone().unwrap_or_default(),
            segment_value: value[i].clone().unwrap_or_default(),
            n_a,
            n_b,
            pct_a: keep(pct_a),
            pct_b: keep(pct_b),
            gap_pp: keep(gap_pp),
            gap_ci_low: keep(ci_low),
            gap_ci_high: keep(ci_high),
            gap_p_value: keep(gp[i]),
            low_base: n_a < settings.min_base || n_b < settings.min_base,
            suppressed,
        });
    }
    Ok(())
}
