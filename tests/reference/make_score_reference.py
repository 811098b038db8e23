#!/usr/bin/env python3
"""Writes the score waves tests/data/scores/ and the expected results of the views scores,
score_gaps, score_trend and score_slope: tests/sql/scores.slt (Kish variance) and
tests/sql/scores_linearized.slt (linearized variance).

    ~/.cache/gaptrack-ref/bin/python tests/reference/make_score_reference.py

(a venv with numpy, pandas, scipy, statsmodels). Run from the repository root. Nothing
here shares code with gaptrack: the waves are drawn here with a fixed seed, read back
with pandas, the spec rules (missing codes, agree and disagree codes, themes) applied
here, and every estimate computed from the respondents, not from sums:
  * per respondent a score s: top_box 1/0, bottom_box 1/0, net 1/0/−1, mean the code;
    a theme's index is the mean of the member statements' scores the respondent answered;
  * m = np.average(s, weights=w); Kish: var = weighted variance / ((Σw)²/Σw²);
    linearized: var = N/(N−1)·Σ w²(s − m)² / (Σw)² with N the wave's respondents (the
    variance R's svymean gives a domain mean under svydesign(ids = ~1, weights = ~w));
  * Wilson intervals for a statement's top_box and bottom_box, Newcombe's method 10 for
    the gap of a statement's top_box, normal intervals otherwise; z tests from
    scipy.stats.norm; Benjamini–Hochberg from statsmodels' multipletests(fdr_bh);
  * slopes: statsmodels WLS(g, add_constant(t), weights=1/v): the coefficient of t and
    the square root of normalized_cov_params (bse / sqrt(scale), defined for 2 waves too); the nonlinearity statistic is the fit's ssr, chi2.sf from scipy.
"""

import math
import os
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
DATA = ROOT / "tests/data/scores"
SLT = ROOT / "tests/sql"
Z = 1.959963984540054
MIN_BASE = 30

# statement -> (column, min, max, agree, disagree or None, missing)
NPS = ("NPS", 0, 10, [9, 10], list(range(0, 7)), [99])
FIVE = lambda col, dis=True: (col, 1, 5, [4, 5], [1, 2] if dis else None, [9])
STATEMENTS = {
    "recommend": NPS,
    "aligned_goals": FIVE("A1"),
    "shared_data": FIVE("A2"),
    "joint_planning": FIVE("A3"),
    "tools_fit": FIVE("T1", dis=False),
}
# wave -> (date, weighted, respondents, themes)
ALIGN3 = ["aligned_goals", "joint_planning", "shared_data"]
ALIGN2 = ["aligned_goals", "shared_data"]
WAVES = {
    "s2021": ("2021-03-01", True, 240, {"alignment": ALIGN3, "experience": ["recommend", "tools_fit"]}),
    "s2022": ("2022-03-15", False, 210, {"alignment": ALIGN3, "experience": ["recommend", "tools_fit"]}),
    "s2023": ("2023-02-20", True, 260, {"alignment": ALIGN2, "experience": ["recommend", "tools_fit"]}),
    "s2024": ("2024-03-05", True, 230, {"alignment": ALIGN2}),
}
TEXTS = {
    "recommend": "How likely are you to recommend our partner team to a colleague?",
    "aligned_goals": "Sales and marketing work towards the same goals",
    "shared_data": "Sales and marketing share customer data",
    "joint_planning": "Sales and marketing plan campaigns together",
    "tools_fit": "Our tools fit the way we work",
}
GROUPS = {"marketing": "Marketing", "sales": "Sales", "cs": "Customer Success"}
PUBLISHED = ("s2020-published", "2020-03-01")
# (statement, wave) with series_break = true: recommend is reworded in s2023, so it and
# the experience theme (one of whose statements it is) start series 2 there.
BREAKS = {("recommend", "s2023")}


# --------------------------------------------------------------------------------------
# The waves
# --------------------------------------------------------------------------------------

def draw_wave(rng, wave, k):
    _, weighted, n, themes = WAVES[wave]
    rows = []
    shift = {"marketing": 0.4, "sales": -0.3, "cs": 0.1}
    for i in range(n):
        g = rng.choice(list(GROUPS))
        r = {"id": f"{wave.upper()}-{i + 1:04d}", "team": GROUPS[g],
             "size": rng.choice(["small", "large"])}
        if weighted:
            r["wt"] = f"{rng.uniform(0.3, 2.6):.4f}"
        for st, (col, lo, hi, _, _, missing) in STATEMENTS.items():
            if rng.random() < 0.06:
                r[col] = "" if rng.random() < 0.5 else str(missing[0])
                continue
            centre = (lo + hi) / 2 + shift[g] * (hi - lo) / 4 + 0.15 * k * (1 if g == "marketing" else -0.5)
            v = int(round(rng.normal(centre, (hi - lo) / 3.5)))
            r[col] = str(min(hi, max(lo, v)))
        rows.append(r)
    cols = ["id", "team", "size"] + (["wt"] if weighted else []) + [c for c, *_ in STATEMENTS.values()]
    lines = [",".join(cols)] + [",".join(r[c] for c in cols) for r in rows]
    (DATA / f"{wave}.csv").write_text("\n".join(lines) + "\n")
    spec = [f'wave = "{wave}"', f'date = "{WAVES[wave][0]}"', f'source = "{wave}.csv"', "",
            "[respondent]", 'id = "id"', 'group = "team"']
    if weighted:
        spec.append('weight = "wt"')
    spec += ['segments = ["size"]', "", "[groups]"]
    spec += [f'{g} = ["{label}"]' for g, label in GROUPS.items()]
    spec += ["", "[scale]", "points = 5", "agree = [4, 5]", "disagree = [1, 2]", "missing = [9]", ""]
    for st, (col, lo, hi, agree, dis, missing) in STATEMENTS.items():
        spec.append(f"[statements.{st}]")
        spec.append(f'column = "{col}"')
        reworded = any(b == st and wave >= w for b, w in BREAKS)
        spec.append(f'text = "{TEXTS[st]}{" (reworded)" if reworded else ""}"')
        if (st, wave) in BREAKS:
            spec.append("series_break = true")
        if st == "recommend":
            spec += [f"min = {lo}", f"max = {hi}", f"agree = {agree}", f"disagree = {dis}", f"missing = {missing}"]
        spec.append("")
    text = "\n".join(spec).replace(
        f'[statements.tools_fit]\ncolumn = "T1"\ntext = "{TEXTS["tools_fit"]}"\n',
        f'[statements.tools_fit]\ncolumn = "T1"\ntext = "{TEXTS["tools_fit"]}"\ndisagree = []  # not scored on bottom_box or net\n')
    text += "\n[themes]\n" + "".join(f"{t} = {members}\n".replace("'", '"') for t, members in themes.items())
    (DATA / f"{wave}.toml").write_text(
        "# A score test wave, drawn by tests/reference/make_score_reference.py (seeded).\n" + text)


def write_published():
    wave, day = PUBLISHED
    lines = ["statement,group,n,agree_pct",
             "recommend,Marketing,80,35.5", "recommend,Sales,95,28.25", "recommend,Customer Success,60,31"]
    (DATA / f"{wave}.csv").write_text("\n".join(lines) + "\n")
    spec = ["# Published figures (top box only), written by tests/reference/make_score_reference.py.",
            f'wave = "{wave}"', f'date = "{day}"', f'source = "{wave}.csv"', 'format = "cells"', "",
            "[groups]"] + [f'{g} = ["{label}"]' for g, label in GROUPS.items()] + ["", "[statements.recommend]", f'text = "{TEXTS["recommend"]}"', ""]
    (DATA / f"{wave}.toml").write_text("\n".join(spec))


# --------------------------------------------------------------------------------------
# Per respondent scores
# --------------------------------------------------------------------------------------

def respondent_scores(wave):
    df = pd.read_csv(DATA / f"{wave}.csv", dtype=str, keep_default_na=False)
    label = {v.lower(): k for k, v in GROUPS.items()}
    df["grp"] = df["team"].str.strip().str.lower().map(label)
    df["w"] = df["wt"].astype(float) if "wt" in df else 1.0
    out = []  # (statement, theme, metric, grp, w, s)
    per_stmt = {}
    for st, (col, lo, hi, agree, dis, missing) in STATEMENTS.items():
        v = pd.to_numeric(df[col].replace("", np.nan))
        answered = v.notna() & ~v.isin(missing)
        top = v.isin(agree).astype(float)
        bottom = v.isin(dis).astype(float) if dis else None
        per_stmt[st] = (answered, top, bottom, v)
        base = df[answered]
        for metric, s in [("top_box", top), ("bottom_box", bottom),
                          ("net", None if dis is None else top - bottom), ("mean", v)]:
            if s is None:
                continue
            out += [(st, False, metric, g, z, w, x)
                    for g, z, w, x in zip(base["grp"], base["size"], base["w"], s[answered])]
    for theme, members in WAVES[wave][3].items():
        k = sum(per_stmt[m][0].astype(float) for m in members)
        has_dis = all(STATEMENTS[m][4] is not None for m in members)
        sums = {"top_box": 0, "bottom_box": 0, "mean": 0}
        for m in members:
            answered, top, bottom, v = per_stmt[m]
            sums["top_box"] = sums["top_box"] + top.where(answered, 0)
            sums["mean"] = sums["mean"] + v.where(answered, 0)
            if has_dis:
                sums["bottom_box"] = sums["bottom_box"] + bottom.where(answered, 0)
        idx = {"top_box": sums["top_box"] / k, "mean": sums["mean"] / k}
        if has_dis:
            idx["bottom_box"] = sums["bottom_box"] / k
            idx["net"] = idx["top_box"] - idx["bottom_box"]
        keep = k > 0
        for metric, s in idx.items():
            out += [(theme, True, metric, g, z, w, x)
                    for g, z, w, x in zip(df["grp"][keep], df["size"][keep], df["w"][keep], s[keep])]
    return pd.DataFrame(out, columns=["statement", "theme", "metric", "grp", "size", "w", "s"]), len(df)


def wilson(p, n):
    if n <= 0:
        return (math.nan, math.nan)
    d = 1 + Z * Z / n
    c = (p + Z * Z / (2 * n)) / d
    h = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / d
    return (c - h, c + h)


def cells(linearized, by_size=False):
    rows = []
    for wave, (day, *_rest) in WAVES.items():
        scores, N = respondent_scores(wave)
        keys = ["statement", "theme", "metric", "grp"] + (["size"] if by_size else [])
        for key, d in scores.groupby(keys):
            st, theme, metric, grp = key[:4]
            w, s = d["w"].to_numpy(), d["s"].to_numpy(dtype=float)
            m = np.average(s, weights=w)
            var_s = np.average((s - m) ** 2, weights=w)
            kish = w.sum() ** 2 / (w ** 2).sum()
            var, n_eff = var_s / kish, kish
            if linearized:
                lin = N / (N - 1) * ((w ** 2) * (s - m) ** 2).sum() / w.sum() ** 2
                if lin > 0:
                    var, n_eff = lin, var_s / lin
            unit = 1.0 if metric == "mean" else 100.0
            if metric in ("top_box", "bottom_box") and not theme:
                lo, hi = wilson(m, n_eff)
                lo, hi = 100 * lo, 100 * hi
            else:
                lo, hi = unit * (m - Z * math.sqrt(var)), unit * (m + Z * math.sqrt(var))
            rows.append(dict(wave=wave, date=day, statement=st, theme=theme, grp=grp, metric=metric,
                             n=len(d), n_eff=n_eff, pct=unit * m, se=unit * math.sqrt(var),
                             ci_low=lo, ci_high=hi, low_base=len(d) < MIN_BASE,
                             size=key[4] if by_size else None))
    if by_size:
        return pd.DataFrame(rows)
    # The published wave: top box only, se from the published base.
    pub = pd.read_csv(DATA / f"{PUBLISHED[0]}.csv")
    label = {v.lower(): k for k, v in GROUPS.items()}
    for _, r in pub.iterrows():
        p = r["agree_pct"] / 100
        lo, hi = wilson(p, r["n"])
        rows.append(dict(wave=PUBLISHED[0], date=PUBLISHED[1], statement=r["statement"], theme=False,
                         grp=label[r["group"].lower()], metric="top_box", n=int(r["n"]), n_eff=float(r["n"]),
                         pct=r["agree_pct"], se=100 * math.sqrt(p * (1 - p) / r["n"]),
                         ci_low=100 * lo, ci_high=100 * hi, low_base=r["n"] < MIN_BASE))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Gaps, changes, slopes
# --------------------------------------------------------------------------------------

def gaps(c):
    rows = []
    for key, d in c.groupby(["wave", "statement", "theme", "metric"]):
        d = d.sort_values("grp")
        for i in range(len(d)):
            for j in range(i + 1, len(d)):
                a, b = d.iloc[i], d.iloc[j]
                gap = a.pct - b.pct
                se = math.sqrt(a.se ** 2 + b.se ** 2)
                if a.metric == "top_box" and not a.theme:
                    pa, pb = a.pct / 100, b.pct / 100
                    la, ua = wilson(pa, a.n_eff)
                    lb, ub = wilson(pb, b.n_eff)
                    lo = 100 * ((pa - pb) - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2))
                    hi = 100 * ((pa - pb) + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2))
                else:
                    lo, hi = gap - Z * se, gap + Z * se
                p = 2 * norm.sf(abs(gap) / se) if se > 0 else math.nan
                if se == 0:
                    lo = hi = math.nan
                rows.append(dict(wave=a.wave, date=a.date, statement=a.statement, theme=a.theme, metric=a.metric,
                                 group_a=a.grp, group_b=b.grp, n_a=a.n, n_b=b.n, n_eff_a=a.n_eff, n_eff_b=b.n_eff,
                                 pct_a=a.pct, pct_b=b.pct, gap_pp=gap, se=se, ci_low=lo, ci_high=hi, p_value=p))
    return pd.DataFrame(rows)


def members_of(wave, theme):
    return WAVES.get(wave, (None, None, None, {}))[3].get(theme)


def series_breaks(g):
    """(statement, theme, wave) -> True where the wave starts a new series: a statement's
    series_break; a theme whose members differ from its previous wave's, or one of whose
    members has series_break there (not in the theme's first wave)."""
    out = {}
    for (st, theme), d in g.groupby(["statement", "theme"]):
        prev = None
        for wave in sorted(set(d.wave), key=lambda w: (d[d.wave == w].date.iloc[0], w)):
            if not theme:
                out[(st, theme, wave)] = (st, wave) in BREAKS
                continue
            mem = members_of(wave, st)
            member_break = any((m, wave) in BREAKS for m in mem)
            out[(st, theme, wave)] = prev is not None and (mem != prev or member_break)
            prev = mem
    return out


def bh(frame, by):
    frame["q_value"] = math.nan
    for _, d in frame.groupby(by):
        d = d[d.p_value.notna()]
        if len(d):
            frame.loc[d.index, "q_value"] = multipletests(d.p_value, method="fdr_bh")[1]
    return frame


def trend(g):
    brk = series_breaks(g)
    rows = []
    for key, d in g.groupby(["statement", "theme", "metric", "group_a", "group_b"]):
        d = d.sort_values(["date", "wave"])
        for i in range(1, len(d)):
            cur, prev = d.iloc[i], d.iloc[i - 1]
            if brk[(cur.statement, cur.theme, cur.wave)]:
                continue
            se = math.sqrt(cur.se ** 2 + prev.se ** 2)
            ch = cur.gap_pp - prev.gap_pp
            rows.append(dict(statement=cur.statement, theme=cur.theme, metric=cur.metric, group_a=cur.group_a,
                             group_b=cur.group_b, wave=cur.wave, prev_wave=prev.wave, gap_pp=cur.gap_pp,
                             prev_gap_pp=prev.gap_pp, change_pp=ch, se=se,
                             p_value=2 * norm.sf(abs(ch) / se) if se > 0 else math.nan))
    t = bh(pd.DataFrame(rows), ["theme", "metric", "group_a", "group_b", "wave"])
    t["trend"] = [None if math.isnan(q) else ("stable" if q >= 0.05 else
                  ("narrowed" if abs(r.gap_pp) < abs(r.prev_gap_pp) else "widened"))
                  for q, r in zip(t.q_value, t.itertuples())]
    return t


def slopes(g):
    brk = series_breaks(g)
    rows = []
    for key, d in g.groupby(["statement", "theme", "metric", "group_a", "group_b"]):
        d = d.sort_values(["date", "wave"])
        series, s = [], 1
        for w in d.wave:
            if brk[(d.statement.iloc[0], d.theme.iloc[0], w)]:
                s += 1
            series.append(s)
        d = d.assign(series=series)
        for sn, e in d[d.se > 0].groupby("series"):
            if len(e) < 2:
                continue
            days = np.array([(date.fromisoformat(x) - date.fromisoformat(e.date.iloc[0])).days for x in e.date])
            t = days / 365.25
            fit = sm.WLS(e.gap_pp.to_numpy(), sm.add_constant(t), weights=1 / e.se.to_numpy() ** 2).fit()
            # bse / sqrt(scale), which for 2 waves (no residual degrees of freedom) is 0/0:
            # the same number as the diagonal of (X'WX)⁻¹
            slope, se = fit.params[1], math.sqrt(fit.normalized_cov_params[1, 1])
            fitted_last = fit.params[0] + slope * t[-1]
            rows.append(dict(statement=key[0], theme=key[1], metric=key[2], group_a=key[3], group_b=key[4],
                             series=sn, first_wave=e.wave.iloc[0], last_wave=e.wave.iloc[-1], waves=len(e),
                             slope=slope, se=se, ci_low=slope - Z * se, ci_high=slope + Z * se,
                             p_value=2 * norm.sf(abs(slope) / se),
                             nonlinearity_p=chi2.sf(max(fit.ssr, 0.0), len(e) - 2) if len(e) >= 3 else math.nan,
                             fitted_last=fitted_last))
    s = bh(pd.DataFrame(rows), ["theme", "metric", "group_a", "group_b"])
    s["direction"] = [None if math.isnan(q) else ("flat" if q >= 0.05 else
                      ("narrowing" if r.slope * r.fitted_last < 0 else "widening"))
                      for q, r in zip(s.q_value, s.itertuples())]
    return s


# --------------------------------------------------------------------------------------
# .slt output
# --------------------------------------------------------------------------------------

def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NULL"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(v)
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def record(title, types, sql, frame, cols):
    lines = [f"# {title}", f"query {types}", sql, "----"]
    lines += [" ".join(fmt(r[c]) for c in cols) for _, r in frame.iterrows()]
    return "\n".join(lines) + "\n"


def slt(linearized):
    c = cells(linearized)
    g = gaps(c)
    c_cols = ["wave", "statement", "theme", "grp", "metric", "n", "n_eff", "pct", "se", "ci_low", "ci_high", "low_base"]
    g_cols = ["wave", "statement", "theme", "metric", "group_a", "group_b", "n_a", "n_b", "pct_a", "pct_b",
              "gap_pp", "se", "ci_low", "ci_high", "p_value"]
    out = [record("every score cell", "TTTTTIRRRRRT",
                  f"SELECT {', '.join(c_cols)}\nFROM scores ORDER BY wave, statement, grp, metric",
                  c.sort_values(["wave", "statement", "grp", "metric"]), c_cols),
           record("every score gap", "TTTTTTIIRRRRRRR",
                  f"SELECT {', '.join(g_cols)}\nFROM score_gaps ORDER BY wave, statement, metric, group_a, group_b",
                  g.sort_values(["wave", "statement", "metric", "group_a", "group_b"]), g_cols)]
    t = trend(g)
    t_cols = ["statement", "theme", "metric", "group_a", "group_b", "wave", "prev_wave", "gap_pp", "prev_gap_pp",
              "change_pp", "se", "p_value", "q_value", "trend"]
    out.append(record("every change since the previous wave (alignment's members change in s2023: no row)",
                      "TTTTTTTRRRRRRT",
                      f"SELECT {', '.join(t_cols)}\nFROM score_trend ORDER BY statement, metric, group_a, group_b, wave",
                      t.sort_values(["statement", "metric", "group_a", "group_b", "wave"]), t_cols))
    z = cells(linearized, by_size=True)
    z = z[(z.metric != "top_box") | z.theme]  # a statement's top box is agreement_by_segment's
    z_cols = ["wave", "size", "statement", "theme", "grp", "metric", "n", "n_eff", "pct", "se", "ci_low", "ci_high"]
    out.append(record("the score cells of each segment value (bottom_box, net, mean, themes)", "TTTTTTIRRRRR",
                      "SELECT wave, segment_value, statement, theme, grp, metric, n, n_eff, pct, se, ci_low, ci_high\n"
                      "FROM score_cells WHERE segment = 'size' ORDER BY wave, segment_value, statement, grp, metric",
                      z.sort_values(["wave", "size", "statement", "grp", "metric"]), z_cols))
    if not linearized:
        s = slopes(g)
        s_cols = ["statement", "theme", "metric", "group_a", "group_b", "series", "first_wave", "last_wave", "waves",
                  "slope", "se", "ci_low", "ci_high", "p_value", "q_value", "nonlinearity_p", "direction"]
        sql_cols = [x if x != "slope" else "slope_pp_per_year" for x in s_cols]
        out.append(report_themes(g, t, s))
        out.append(record("every slope per series (alignment: series 2 from s2023)", "TTTTTITTIRRRRRRRT",
                          f"SELECT {', '.join(sql_cols)}\nFROM score_slope ORDER BY statement, metric, group_a, group_b, series",
                          s.sort_values(["statement", "metric", "group_a", "group_b", "series"]), s_cols))
    return out


def report_themes(g, t, s, a="sales", b="marketing"):
    """The rows of queries/report_themes.sql for the pair (b, a) as given: sales −
    marketing, the reverse of the views' order, so every sign turns."""
    brk = series_breaks(g)
    rows = []
    theme_gaps = g[g.theme & (g.metric == "top_box") & (g.group_a == b) & (g.group_b == a)]
    for _, x in theme_gaps.sort_values(["statement", "date", "wave"]).iterrows():
        waves = theme_gaps[theme_gaps.statement == x.statement].sort_values(["date", "wave"]).wave.tolist()
        series = 1 + sum(brk[(x.statement, True, w)] for w in waves[: waves.index(x.wave) + 1])
        ch = t[(t.statement == x.statement) & t.theme & (t.metric == "top_box") & (t.wave == x.wave)
               & (t.group_a == b) & (t.group_b == a)]
        sl = s[(s.statement == x.statement) & s.theme & (s.metric == "top_box") & (s.series == series)
               & (s.group_a == b) & (s.group_b == a)]
        c = ch.iloc[0] if len(ch) else None
        l = sl.iloc[0] if len(sl) else None
        rows.append(dict(theme=x.statement, members=",".join(members_of(x.wave, x.statement)), wave=x.wave,
                         date=x.date, series=series, n_a=x.n_b, n_b=x.n_a, suppressed=min(x.n_a, x.n_b) < 10, pct_a=x.pct_b, pct_b=x.pct_a, gap=-x.gap_pp, lo=-x.ci_high, hi=-x.ci_low,
                         prev=None if c is None else c.prev_wave, change=None if c is None else -c.change_pp,
                         q=None if c is None else c.q_value, trend=None if c is None else c.trend,
                         slope=None if l is None else -l.slope, slope_q=None if l is None else l.q_value,
                         direction=None if l is None else l.direction))
    cols = ["theme", "members", "wave", "date", "series", "n_a", "n_b", "pct_a", "pct_b", "gap", "lo", "hi",
            "prev", "change", "q", "trend", "slope", "slope_q", "direction", "suppressed"]
    return record("the report's themes for sales − marketing (the signs of the views' marketing − sales turned)",
                  "TTTTIIIRRRRRTRRTRRTT", f"gaptrack query report_themes --param a={a} --param b={b}",
                  pd.DataFrame(rows), cols)


def main():
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261205)
    for k, wave in enumerate(WAVES):
        draw_wave(rng, wave, k)
    write_published()
    versions = (f"numpy {np.__version__}, pandas {pd.__version__}, scipy {scipy.__version__}, "
                f"statsmodels {statsmodels.__version__}")
    for linearized, name in [(False, "scores.slt"), (True, "scores_linearized.slt")]:
        head = (f"# Generated by tests/reference/make_score_reference.py: expected values computed from the\n"
                f"# respondents of tests/data/scores with {versions}, not by gaptrack.\n"
                f"# Do not edit by hand.\n# only waves: tests/data/scores\n\n")
        (SLT / name).write_text(head + "\n".join(slt(linearized)))
    print("wrote", DATA, "and", SLT / "scores.slt", SLT / "scores_linearized.slt")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
