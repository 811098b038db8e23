#!/usr/bin/env python3
"""Writes the expected results of the views gap_slope, gap_slope_by_segment,
agreement_slope and gap_vs_baseline: tests/sql/{gap_slope,agreement_slope,
gap_vs_baseline}.slt, over the fixture waves (tests/data/fixture/) and the extra waves of
tests/data/trend/.

    /tmp/refvenv/bin/python tests/reference/make_slope_reference.py

(the venv of make_reference.py: numpy pandas scipy statsmodels). Run from the repository
root. Nothing here shares code with gaptrack:
  * the fixture waves' agreement and gaps are the independent reference values
    tests/data/reference/{agreement,gaps}.csv written by make_reference.py, and the gaps
    within segment values tests/data/reference/gaps_by_segment.csv (a pair with either
    base below 10 is suppressed: not a point of its slope);
  * the extra waves are published figures (format = "cells"), read here from their CSVs
    and specs: pct as published, se = 100·sqrt(p(1−p)/n) (none without a base),
    gap = pct_a − pct_b, se of a gap = 100·sqrt(p_a(1−p_a)/n_a + p_b(1−p_b)/n_b);
  * series are numbered from the specs' series_break flags;
  * the slope of each statement × pair (or group) × series is statsmodels' weighted least
    squares, sm.WLS(g, sm.add_constant(t), weights=1/v).fit(): the coefficient of t is the
    slope and bse / sqrt(scale) its se (the se with the weights taken as known inverse
    variances); the residual statistic Σu(g − ĝ)² is the fit's ssr, tail areas from
    scipy.stats.chi2.sf and scipy.stats.norm.sf; Benjamini–Hochberg is written out here
    and cross-checked with statsmodels' multipletests(method="fdr_bh").
"""

import math
import os
import tomllib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
import statsmodels
import statsmodels.api as sm
from scipy.stats import chi2, norm
from statsmodels.stats.multitest import multipletests

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests/data/fixture"
EXTRA = ROOT / "tests/data/trend"
REF = ROOT / "tests/data/reference"
SLT = ROOT / "tests/sql"
Z = 1.959963984540054


# --------------------------------------------------------------------------------------
# Inputs: the agreement and gaps of every wave, the series of every statement
# --------------------------------------------------------------------------------------

def specs():
    out = []
    for d in (FIX, EXTRA):
        for p in sorted(d.glob("*.toml")):
            spec = tomllib.loads(p.read_text())
            out.append((p, spec))
    return out


def series_numbers():
    """{(statement, wave): series}: waves of a statement by (date, wave); each
    series_break after the statement's first wave starts the next series."""
    rows = []
    for _, spec in specs():
        for st, s in spec["statements"].items():
            rows.append((st, date.fromisoformat(spec["date"]), spec["wave"], bool(s.get("series_break", False))))
    out = {}
    for st in sorted({r[0] for r in rows}):
        mine = sorted((r for r in rows if r[0] == st), key=lambda r: (r[1], r[2]))
        series = 1
        for i, (_, _, wave, brk) in enumerate(mine):
            if brk and i > 0:
                series += 1
            out[(st, wave)] = series
    return out


def cells_agreement():
    rows = []
    for path, spec in specs():
        if spec.get("format") != "cells":
            continue
        label = {lab: g for g, labs in spec["groups"].items() for lab in labs}
        df = pd.read_csv(path.parent / spec["source"], dtype=str, keep_default_na=False)
        for r in df.itertuples(index=False):
            pct = float(r.agree_pct)
            n = int(r.n) if r.n.strip() else None
            p = pct / 100
            rows.append(dict(wave=spec["wave"], date=spec["date"], statement=r.statement, grp=label[r.group],
                             n=n, pct=pct, se=100 * math.sqrt(p * (1 - p) / n) if n else float("nan")))
    return pd.DataFrame(rows)


def inputs():
    fix_agr = pd.read_csv(REF / "agreement.csv", dtype={"wave": str})
    fix_gaps = pd.read_csv(REF / "gaps.csv", dtype={"wave": str})
    cells = cells_agreement()
    agr = pd.concat([fix_agr[["wave", "date", "statement", "grp", "pct", "se"]],
                     cells[["wave", "date", "statement", "grp", "pct", "se"]]], ignore_index=True)
    gap_rows = []
    for (wave, st), g in cells.groupby(["wave", "statement"]):
        recs = g.sort_values("grp").to_dict("records")
        for i, a in enumerate(recs):
            for b in recs[i + 1:]:
                if a["n"] and b["n"]:
                    pa, pb = a["pct"] / 100, b["pct"] / 100
                    se = 100 * math.sqrt(pa * (1 - pa) / a["n"] + pb * (1 - pb) / b["n"])
                else:
                    se = float("nan")
                gap_rows.append(dict(wave=wave, date=a["date"], statement=st, group_a=a["grp"], group_b=b["grp"],
                                     gap_pp=a["pct"] - b["pct"], se=se))
    gaps = pd.concat([fix_gaps[["wave", "date", "statement", "group_a", "group_b", "gap_pp", "se"]],
                      pd.DataFrame(gap_rows)], ignore_index=True)
    ser = series_numbers()
    for df in (agr, gaps):
        df["series"] = [ser[(s, w)] for s, w in zip(df.statement, df.wave)]
        df["day"] = [date.fromisoformat(d) for d in df.date]
    return agr, gaps


# --------------------------------------------------------------------------------------
# Benjamini–Hochberg
# --------------------------------------------------------------------------------------

def bh(p):
    """q_(i) = min over j ≥ i of m·p_(j)/j, capped at 1, in the input order."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    q = np.empty(m)
    running = 1.0
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, p[i] * m / (rank + 1))
        q[i] = running
    ref = multipletests(p, method="fdr_bh")[1]
    assert np.allclose(q, ref, rtol=1e-14, atol=0), (q, ref)
    return q


def add_q(df, by):
    df["q_value"] = np.nan
    for _, idx in df.groupby(by).groups.items():
        sub = df.loc[idx]
        has = sub[sub.p_value.notna()]
        if len(has):
            df.loc[has.index, "q_value"] = bh(has.p_value.to_numpy())
    return df


# --------------------------------------------------------------------------------------
# The slopes
# --------------------------------------------------------------------------------------

def fit(pts, value):
    """One row of a slope view from the points of one series (or None under 2 waves)."""
    pts = pts[pts.se.notna() & (pts.se > 0)].sort_values(["day", "wave"])
    k = len(pts)
    if k < 2:
        return None
    t = np.array([(d - pts.day.iloc[0]).days / 365.25 for d in pts.day])
    g = pts[value].to_numpy(dtype=float)
    v = pts.se.to_numpy(dtype=float) ** 2
    res = sm.WLS(g, sm.add_constant(t), weights=1 / v).fit()
    slope = float(res.params[1])
    se = math.sqrt(res.normalized_cov_params[1, 1])
    if k >= 3:
        # statsmodels' own standard error, freed of its estimated residual scale
        assert abs(res.bse[1] / math.sqrt(res.scale) - se) <= 1e-12 * se
    q_stat = float(res.ssr)  # Σ w·(g − ĝ)² of the weighted fit
    return dict(first_wave=pts.wave.iloc[0], last_wave=pts.wave.iloc[-1], waves=k,
                slope_pp_per_year=slope, se=se, ci_low=slope - Z * se, ci_high=slope + Z * se,
                p_value=float(2 * norm.sf(abs(slope) / se)),
                nonlinearity_p=float(chi2.sf(q_stat, k - 2)) if k >= 3 else float("nan"),
                fitted_last=float(res.fittedvalues[-1]))


def slopes(df, keys, value, bh_by, label):
    rows = []
    for key, pts in df.groupby(keys + ["series"]):
        r = fit(pts, value)
        if r is not None:
            rows.append(dict(zip(keys + ["series"], key), **r))
    out = add_q(pd.DataFrame(rows), bh_by)
    out["direction"] = [label(r) if not pd.isna(r.q_value) else None for r in out.itertuples()]
    return out.sort_values(keys + ["series"], ignore_index=True)


def segment_slopes():
    """gap_slope_by_segment: the same fit within each segment value, over the published
    (unsuppressed: both bases n ≥ 10) waves; q over the rows of one segment and pair."""
    seg = pd.read_csv(REF / "gaps_by_segment.csv", dtype={"wave": str}, keep_default_na=False,
                      na_values=[""])
    seg = seg[(seg.n_a >= 10) & (seg.n_b >= 10)].copy()
    ser = series_numbers()
    seg["series"] = [ser[(s, w)] for s, w in zip(seg.statement, seg.wave)]
    seg["day"] = [date.fromisoformat(d) for d in seg.date]
    return slopes(seg, ["segment", "segment_value", "statement", "group_a", "group_b"], "gap_pp",
                  ["segment", "group_a", "group_b"], gap_direction)


def gap_direction(r):
    if r.q_value >= 0.05:
        return "flat"
    return "narrowing" if r.slope_pp_per_year * r.fitted_last < 0 else "widening"


def agreement_direction(r):
    if r.q_value >= 0.05:
        return "flat"
    return "rising" if r.slope_pp_per_year > 0 else "falling"


# --------------------------------------------------------------------------------------
# Change from the baseline
# --------------------------------------------------------------------------------------

def vs_baseline(gaps):
    rows = []
    for (st, a, b, _), g in gaps.groupby(["statement", "group_a", "group_b", "series"]):
        recs = g.sort_values(["day", "wave"]).to_dict("records")
        base = recs[0]
        for cur in recs[1:]:
            var = (cur["se"] / 100) ** 2 + (base["se"] / 100) ** 2
            change = cur["gap_pp"] - base["gap_pp"]
            p = float(2 * norm.sf(abs(change / 100) / math.sqrt(var))) if var > 0 else float("nan")
            rows.append(dict(statement=st, group_a=a, group_b=b, wave=cur["wave"], baseline_wave=base["wave"],
                             gap_pp=cur["gap_pp"], baseline_gap_pp=base["gap_pp"], change_pp=change,
                             se=100 * math.sqrt(var), p_value=p))
    out = add_q(pd.DataFrame(rows), ["group_a", "group_b", "wave"])

    def trend(r):
        if pd.isna(r.q_value):
            return None
        if r.q_value < 0.05:
            return "narrowed" if abs(r.gap_pp) < abs(r.baseline_gap_pp) else "widened"
        return "stable"

    out["trend"] = [trend(r) for r in out.itertuples()]
    return out.sort_values(["statement", "group_a", "group_b", "wave"], ignore_index=True)


def from_baseline(gaps, baseline, a, b):
    """report_baseline: the pair a − b in each later wave of the baseline's series against
    the baseline wave; BH over the statements of each wave (every base of this pair in the
    fixture and the extra waves is 10 or more, or unknown: nothing is suppressed)."""
    lo, hi = min(a, b), max(a, b)
    sign = 1.0 if a == lo else -1.0
    pair = gaps[(gaps.group_a == lo) & (gaps.group_b == hi)]
    rows = []
    for st, g in pair.groupby("statement"):
        base = g[g.wave == baseline]
        if base.empty:
            continue
        base = base.iloc[0]
        later = g[(g.series == base.series) & ((g.day > base.day) | ((g.day == base.day) & (g.wave > base.wave)))]
        for cur in later.itertuples():
            var = (cur.se / 100) ** 2 + (base.se / 100) ** 2
            change = cur.gap_pp - base.gap_pp
            p = float(2 * norm.sf(abs(change / 100) / math.sqrt(var))) if var > 0 else float("nan")
            rows.append(dict(statement=st, wave=cur.wave, date=cur.date, baseline_wave=baseline,
                             gap_pp=sign * cur.gap_pp, baseline_gap_pp=sign * base.gap_pp,
                             change_pp=sign * change, se=100 * math.sqrt(var), p_value=p,
                             suppressed="false"))
    out = add_q(pd.DataFrame(rows), ["wave"])

    def trend(r):
        if pd.isna(r.q_value):
            return None
        if r.q_value < 0.05:
            return "narrowed" if abs(r.gap_pp) < abs(r.baseline_gap_pp) else "widened"
        return "stable"

    out["trend"] = [trend(r) for r in out.itertuples()]
    return out.sort_values(["date", "wave", "statement"], ignore_index=True)


# --------------------------------------------------------------------------------------
# sqllogictest files
# --------------------------------------------------------------------------------------

def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NULL"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


HEADER = ("# Generated by tests/reference/make_slope_reference.py: expected values computed with\n"
          f"# statsmodels {statsmodels.__version__} (WLS) and scipy {scipy.__version__} from the "
          "reference gaps of the fixture\n"
          "# and the published figures of tests/data/trend, not by gaptrack. Do not edit by hand.\n"
          "# with waves: tests/data/trend\n\n")


def query(df, cols, types, sql, comment=""):
    lines = ([comment] if comment else []) + [f"query {types}", sql, "----"]
    lines += [" ".join(fmt(v) for v in r) for r in df[cols].itertuples(index=False)]
    return "\n".join(lines) + "\n\n"


def count_query(sql, n, comment):
    return f"{comment}\nquery I\n{sql}\n----\n{n}\n\n"


def main():
    agr, gaps = inputs()

    gs = slopes(gaps, ["statement", "group_a", "group_b"], "gap_pp", ["group_a", "group_b"], gap_direction)
    cols = ["statement", "group_a", "group_b", "series", "first_wave", "last_wave", "waves",
            "slope_pp_per_year", "se", "ci_low", "ci_high", "p_value", "q_value", "nonlinearity_p", "direction"]
    text = HEADER + query(gs, cols, "TTTITTIRRRRRRRT",
                          f"SELECT {', '.join(cols)}\nFROM gap_slope ORDER BY statement, group_a, group_b, series",
                          "# every row: 2 waves (nonlinearity_p NULL), 3 and 4 waves, series 2 of\n"
                          "# work_well_together after its break in 2021, the published figures without a base\n"
                          "# of published-2020 left out, clear_handoffs marketing/sales of cells-2023 (se 0)\n"
                          "# left out")
    for d in ("narrowing", "widening", "flat"):
        text += count_query(f"SELECT count(*) FROM gap_slope WHERE direction = '{d}'",
                            int((gs.direction == d).sum()), f"# rows that are {d}")
    # report_slope: the rows of one pair as asked; sales − marketing turns the stored
    # marketing − sales (slope negated, interval bounds swapped and negated).
    pair = gs[(gs.group_a == "marketing") & (gs.group_b == "sales")].copy()
    pair["slope_pp_per_year"] = -pair.slope_pp_per_year
    pair["ci_low"], pair["ci_high"] = -pair.ci_high, -pair.ci_low
    cols_r = ["statement", "series", "first_wave", "last_wave", "waves", "slope_pp_per_year", "se",
              "ci_low", "ci_high", "p_value", "q_value", "nonlinearity_p", "direction"]
    text += query(pair.sort_values(["statement", "series"]), cols_r, "TITTIRRRRRRRT",
                  "gaptrack query report_slope --param a=sales --param b=marketing",
                  "# report_slope for the pair in the other order than gap_slope stores it")
    ss = segment_slopes()
    cols = ["segment", "segment_value", "statement", "group_a", "group_b", "series", "first_wave",
            "last_wave", "waves", "slope_pp_per_year", "se", "ci_low", "ci_high", "p_value", "q_value",
            "nonlinearity_p", "direction"]
    text += query(ss, cols, "TTTTTITTIRRRRRRRT",
                  f"SELECT {', '.join(cols)}\nFROM gap_slope_by_segment\n"
                  "ORDER BY segment, segment_value, statement, group_a, group_b, series",
                  "# gap_slope_by_segment: every row (a wave whose cell is suppressed is not a point)")
    pair = ss[(ss.segment == "region") & (ss.group_a == "marketing") & (ss.group_b == "sales")].copy()
    pair["slope_pp_per_year"] = -pair.slope_pp_per_year
    pair["ci_low"], pair["ci_high"] = -pair.ci_high, -pair.ci_low
    cols_r = ["statement", "segment_value", "series", "first_wave", "last_wave", "waves",
              "slope_pp_per_year", "se", "ci_low", "ci_high", "p_value", "q_value", "nonlinearity_p",
              "direction"]
    text += query(pair.sort_values(["statement", "segment_value", "series"]), cols_r, "TTITTIRRRRRRRT",
                  "gaptrack query report_breakdown_slope --param segment=region --param a=sales --param b=marketing",
                  "# report_breakdown_slope: region, sales − marketing (the other order than stored)")
    (SLT / "gap_slope.slt").write_text(text)

    ag = slopes(agr, ["statement", "grp"], "pct", ["grp"], agreement_direction)
    cols = ["statement", "grp", "series", "first_wave", "last_wave", "waves",
            "slope_pp_per_year", "se", "ci_low", "ci_high", "p_value", "q_value", "nonlinearity_p", "direction"]
    text = HEADER + query(ag, cols, "TTITTIRRRRRRRT",
                          f"SELECT {', '.join(cols)}\nFROM agreement_slope ORDER BY statement, grp, series",
                          "# every row (a pct of 100, se 0, is left out like a wave without a base)")
    for d in ("rising", "falling", "flat"):
        text += count_query(f"SELECT count(*) FROM agreement_slope WHERE direction = '{d}'",
                            int((ag.direction == d).sum()), f"# rows that are {d}")
    (SLT / "agreement_slope.slt").write_text(text)

    vb = vs_baseline(gaps)
    cols = ["statement", "group_a", "group_b", "wave", "baseline_wave", "gap_pp", "baseline_gap_pp",
            "change_pp", "se", "p_value", "q_value", "trend"]
    text = HEADER + query(vb, cols, "TTTTTRRRRRRT",
                          f"SELECT {', '.join(cols)}\nFROM gap_vs_baseline ORDER BY statement, group_a, group_b, wave",
                          "# every row: the published figures without a base have a change but no se, p, q\n"
                          "# or trend; from the break of work_well_together in 2021 its baseline is 2021")
    text += count_query("SELECT count(*) FROM gap_vs_baseline WHERE wave = baseline_wave", 0,
                        "# a baseline has no row of its own")
    fb = from_baseline(gaps, "2019", "sales", "marketing")
    cols = ["statement", "wave", "date", "baseline_wave", "gap_pp", "baseline_gap_pp", "change_pp", "se",
            "p_value", "q_value", "trend", "suppressed"]
    text += query(fb, cols, "TTTTRRRRRRTT",
                  "gaptrack query report_baseline --param a=sales --param b=marketing --param baseline=2019",
                  "# report_baseline: since 2019, sales − marketing (the other order than gaps stores);\n"
                  "# work_well_together stops at its break in 2021, the published figures without a base\n"
                  "# have a change but no se, p, q or trend")
    (SLT / "gap_vs_baseline.slt").write_text(text)
    print(gs[["statement", "group_a", "group_b", "series", "waves", "slope_pp_per_year", "q_value",
              "nonlinearity_p", "direction"]].to_string())
    print(ag[["statement", "grp", "series", "waves", "slope_pp_per_year", "q_value", "direction"]].to_string())


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
