#!/usr/bin/env python3
"""Writes the test fixture waves and the reference results gaptrack is tested against.

Run from the repository root (see tests/reference/README.md):

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install numpy pandas scipy statsmodels
    /tmp/refvenv/bin/python tests/reference/make_reference.py

It writes
  tests/data/fixture/{2019,2020,2021}.{toml,csv}  three small waves (seeded, deterministic)
  tests/data/reference/{agreement,gaps,gap_trend}.csv   the views, computed here
  tests/data/reference/formulas.json               single-formula reference values
  tests/sql/{agreement,gaps,gap_trend,functions}.slt    sqllogictest files built from them

Nothing here shares code with gaptrack: the CSVs are re-read with pandas, the spec rules
(group mapping, missing codes, per-statement scales) are applied here, and every interval
and test comes from statsmodels / scipy:
  Wilson        statsmodels.stats.proportion.proportion_confint(method="wilson")
  Newcombe      statsmodels.stats.proportion.confint_proportions_2indep(method="newcomb")
  z test        scipy.stats.norm.sf on the unpooled (Wald) variance; cross-checked with
                statsmodels.stats.proportion.test_proportions_2indep(method="wald")
  BH            statsmodels.stats.multitest.multipletests(method="fdr_bh")
"""

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
import statsmodels
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    test_proportions_2indep,
)

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests/data/fixture"
REF = ROOT / "tests/data/reference"
SLT = ROOT / "tests/sql"
MIN_BASE = 30

# --------------------------------------------------------------------------------------
# 1. The fixture waves
# --------------------------------------------------------------------------------------

STATEMENTS = {
    "understands_customers": "Our marketing team understands our customers",
    "work_well_together": "Our sales and marketing organizations work well together",
    "qualifies_leads": "Our sales team is effective at qualifying leads",
}

# Raw labels as exports spell them; the spec maps the first two groups, "Operations" is
# not listed and becomes "operations".
RAW = {
    "marketing": ["Marketing", "marketing ", "MARKETING"],
    "sales": ["Sales", "Sales Ops", " sales ops"],
    "operations": ["Operations", "operations"],
}

# Group sizes and agreement rates per wave (understands, together, qualifies).
WAVES = {
    "2019": dict(
        date="2019-04-30",
        sizes={"marketing": 80, "sales": 90, "operations": 14},
        rates={
            "marketing": (0.78, 0.70, 0.52),
            "sales": (0.36, 0.62, 0.75),
            "operations": (0.60, 0.50, 0.40),
        },
    ),
    "2020": dict(
        date="2020-05-15",
        sizes={"marketing": 70, "sales": 85, "operations": 9},
        rates={
            "marketing": (0.76, 0.72, 0.40),
            "sales": (0.80, 0.60, 0.78),
            "operations": (0.55, 0.50, None),  # operations were not asked Q3 in 2020
        },
    ),
    "2021": dict(
        date="2021-05-01",
        sizes={"marketing": 75, "sales": 80, "operations": 25},
        rates={
            "marketing": (0.80, 0.50, 0.55),
            "sales": (0.66, 0.45, 0.70),
            "operations": (0.50, 0.40, 0.45),
        },
    ),
}

REGIONS = ["North America", "EMEA", "APAC", "Americas, South"]
SIZES = ["1-99", "100-999", "1000+"]

# Scales: Q1, Q2 on the default 5-point scale (agree 4-5, missing 9); Q3 on 7 points
# (agree 6-7, missing 99).
SCALES = {
    "understands_customers": (5, [4, 5], [9]),
    "work_well_together": (5, [4, 5], [9]),
    "qualifies_leads": (7, [6, 7], [99]),
}
COLUMNS = {"understands_customers": "Q1", "work_well_together": "Q2", "qualifies_leads": "Q3"}


def answer(rng, stmt, rate):
    points, agree, missing = SCALES[stmt]
    if rate is None:
        return "" if rng.random() < 0.5 else str(missing[0])
    u = rng.random()
    if u < 0.05:
        return ""
    if u < 0.09:
        return str(missing[0])
    if rng.random() < rate:
        return str(int(rng.choice(agree)))
    return str(int(rng.choice([v for v in range(1, points + 1) if v not in agree])))


def csv_field(s):
    return '"' + s.replace('"', '""') + '"' if ("," in s or '"' in s) else s


def make_fixture():
    FIX.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20190430)
    for wave, cfg in WAVES.items():
        people = []
        for grp, size in cfg["sizes"].items():
            people += [grp] * size
        rng.shuffle(people)
        weighted = wave != "2020"
        segs = {"2019": ["region"], "2020": [], "2021": ["region", "size"]}[wave]
        id_col = "respondent_id" if wave == "2021" else "resp_id"
        # 2021 lists its answer columns in another order (the spec is the crosswalk).
        stmts = ["qualifies_leads", "understands_customers", "work_well_together"] if wave == "2021" else list(STATEMENTS)
        header = [id_col, "function"] + segs + (["wt"] if weighted else []) + [COLUMNS[s] for s in stmts]
        lines = [",".join(header)]
        for i, grp in enumerate(people, start=1):
            raw = RAW[grp][int(rng.integers(len(RAW[grp])))]
            row = [f"R{wave[2:]}-{i:04d}", raw]
            for s in segs:
                if s == "region":
                    # The first rows stay unquoted so tests can edit them with a split.
                    row.append(REGIONS[int(rng.integers(3 if i <= 12 else 4))])
                else:
                    row.append(SIZES[int(rng.integers(3))])
            if weighted:
                row.append(f"{rng.uniform(0.4, 2.2):.4f}")
            for s in stmts:
                rate = cfg["rates"][grp][list(STATEMENTS).index(s)]
                row.append(answer(rng, s, rate))
            lines.append(",".join(csv_field(f) for f in row))
        text = "\n".join(lines) + "\n"
        data = text.encode()
        if wave == "2020":
            data = text.replace("\n", "\r\n").encode()  # Excel on Windows: CRLF
        if wave == "2021":
            data = b"\xef\xbb\xbf" + data  # and a UTF-8 byte-order mark
        (FIX / f"{wave}.csv").write_bytes(data)

        spec = [
            f'wave = "{wave}"',
            f'date = "{cfg["date"]}"',
            f'title = "Fixture alignment survey {wave}"',
            f'source = "{wave}.csv"',
            "",
            "[respondent]",
            f'id = "{id_col}"',
            'group = "function"',
        ]
        if weighted:
            spec.append('weight = "wt"')
        if segs:
            spec.append("segments = [" + ", ".join(f'"{s}"' for s in segs) + "]")
        spec += [
            "",
            "[groups]",
            'sales = ["Sales", "Sales Ops"]',
            'marketing = ["Marketing"]',
            "",
            "[scale]",
            "points = 5",
            "agree = [4, 5]",
            "missing = [9]",
        ]
        for s in STATEMENTS:
            spec += ["", f"[statements.{s}]", f'column = "{COLUMNS[s]}"', f'text = "{STATEMENTS[s]}"']
            if s == "qualifies_leads":
                spec += ["points = 7", "agree = [6, 7]", "missing = [99]"]
            if s == "work_well_together" and wave == "2021":
                spec.append("series_break = true")
        (FIX / f"{wave}.toml").write_text("\n".join(spec) + "\n")


# --------------------------------------------------------------------------------------
# 2. The views, computed independently from the files
# --------------------------------------------------------------------------------------

def canonical(raw):
    r = raw.strip().lower()
    if r in ("sales", "sales ops"):
        return "sales"
    if r == "marketing":
        return "marketing"
    return r


def load_responses():
    frames = []
    for wave, cfg in WAVES.items():
        df = pd.read_csv(FIX / f"{wave}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        w = df["wt"].astype(float) if "wt" in df else pd.Series(1.0, index=df.index)
        for s in STATEMENTS:
            points, agree, missing = SCALES[s]
            raw = df[COLUMNS[s]].str.strip()
            val = pd.to_numeric(raw.where(raw != ""), errors="raise")
            answered = val.notna() & ~val.isin(missing)
            frames.append(pd.DataFrame({
                "wave": wave,
                "date": cfg["date"],
                "statement": s,
                "grp": df["function"].map(canonical),
                "weight": w,
                "answered": answered,
                "agree": val.isin(agree).astype(float),
            }))
    return pd.concat(frames, ignore_index=True)


def wilson(p, n):
    lo, hi = proportion_confint(p * n, n, alpha=0.05, method="wilson")
    return float(lo), float(hi)


def agreement(resp):
    rows = []
    for (wave, date, stmt, grp), g in resp[resp.answered].groupby(["wave", "date", "statement", "grp"]):
        w, y = g.weight.to_numpy(), g.agree.to_numpy()
        p = float((w * y).sum() / w.sum())
        n_eff = float(w.sum() ** 2 / (w ** 2).sum())
        lo, hi = wilson(p, n_eff)
        rows.append(dict(wave=wave, date=date, statement=stmt, grp=grp, n=len(g), n_eff=n_eff,
                         pct=100 * p, se=100 * math.sqrt(p * (1 - p) / n_eff),
                         ci_low=100 * lo, ci_high=100 * hi, low_base=len(g) < MIN_BASE))
    return pd.DataFrame(rows).sort_values(["wave", "statement", "grp"], ignore_index=True)


def z_p(diff, var):
    if not var > 0:
        return None
    return float(2 * norm.sf(abs(diff) / math.sqrt(var)))


def gaps(agr):
    rows = []
    for (wave, stmt), g in agr.groupby(["wave", "statement"]):
        g = g.sort_values("grp")
        recs = g.to_dict("records")
        for i, a in enumerate(recs):
            for b in recs[i + 1:]:
                pa, pb = a["pct"] / 100, b["pct"] / 100
                var = pa * (1 - pa) / a["n_eff"] + pb * (1 - pb) / b["n_eff"]
                lo, hi = confint_proportions_2indep(pa * a["n_eff"], a["n_eff"], pb * b["n_eff"], b["n_eff"],
                                                    method="newcomb", compare="diff", alpha=0.05)
                p = z_p(pa - pb, var)
                # Cross-check with statsmodels' own unpooled Wald test.
                ref = test_proportions_2indep(pa * a["n_eff"], a["n_eff"], pb * b["n_eff"], b["n_eff"],
                                              method="wald", compare="diff").pvalue
                assert abs(ref - p) < 1e-12, (ref, p)
                rows.append(dict(wave=wave, date=a["date"], statement=stmt, group_a=a["grp"], group_b=b["grp"],
                                 n_a=a["n"], n_b=b["n"], n_eff_a=a["n_eff"], n_eff_b=b["n_eff"],
                                 pct_a=a["pct"], pct_b=b["pct"], gap_pp=a["pct"] - b["pct"],
                                 se=100 * math.sqrt(var), ci_low=100 * float(lo), ci_high=100 * float(hi),
                                 p_value=p))
    return pd.DataFrame(rows).sort_values(["wave", "statement", "group_a", "group_b"], ignore_index=True)


def series_break(wave, stmt):
    return wave == "2021" and stmt == "work_well_together"


def gap_trend(gp):
    rows = []
    for (stmt, a, b), g in gp.groupby(["statement", "group_a", "group_b"]):
        g = g.sort_values(["date", "wave"]).to_dict("records")
        for prev, cur in zip(g, g[1:]):
            if series_break(cur["wave"], stmt):
                continue
            var = (cur["se"] / 100) ** 2 + (prev["se"] / 100) ** 2
            change = cur["gap_pp"] - prev["gap_pp"]
            rows.append(dict(statement=stmt, group_a=a, group_b=b, wave=cur["wave"], prev_wave=prev["wave"],
                             gap_pp=cur["gap_pp"], prev_gap_pp=prev["gap_pp"], change_pp=change,
                             se=100 * math.sqrt(var), p_value=z_p(change / 100, var)))
    tr = pd.DataFrame(rows)
    tr["q_value"] = None
    for _, idx in tr.groupby(["group_a", "group_b", "wave"]).groups.items():
        sub = tr.loc[idx]
        has = sub[sub.p_value.notna()]
        if len(has):
            q = multipletests(has.p_value.astype(float).to_numpy(), method="fdr_bh")[1]
            tr.loc[has.index, "q_value"] = q

    def label(r):
        if r.q_value is None or pd.isna(r.q_value):
            return None
        if r.q_value < 0.05:
            return "narrowed" if abs(r.gap_pp) < abs(r.prev_gap_pp) else "widened"
        return "stable"

    tr["trend"] = tr.apply(label, axis=1)
    return tr.sort_values(["statement", "group_a", "group_b", "wave"], ignore_index=True)


# --------------------------------------------------------------------------------------
# 3. Single-formula reference values
# --------------------------------------------------------------------------------------

def formulas():
    wil = []
    for p, n in [(0.5, 100.0), (0.71, 812.0), (0.66, 794.0), (0.0, 25.0), (1.0, 25.0), (0.05, 12.5),
                 (0.24, 333.3), (0.999, 3.0), (0.5, 1.0)]:
        lo, hi = wilson(p, n)
        wil.append(dict(p=p, n=n, low=lo, high=hi))
    new = []
    for p1, n1, p2, n2 in [(0.71, 812.0, 0.66, 794.0), (0.47, 400.0, 0.24, 380.0), (0.76, 250.5, 0.46, 310.2),
                           (0.5, 10.0, 0.5, 12.0), (1.0, 30.0, 0.0, 30.0), (0.9, 40.0, 0.95, 1000.0),
                           (0.05, 60.0, 0.02, 75.5), (0.3333, 9.2, 0.8, 14.7)]:
        lo, hi = confint_proportions_2indep(p1 * n1, n1, p2 * n2, n2, method="newcomb", compare="diff")
        new.append(dict(p1=p1, n1=n1, p2=p2, n2=n2, low=float(lo), high=float(hi)))
    zt = [dict(diff=d, var=v, p_value=z_p(d, v)) for d, v in
          [(0.05, 0.0005), (-0.05, 0.0005), (0.0, 0.01), (0.3, 0.001), (0.01, 0.04), (0.2, 0.0001)]]
    bh = []
    for ps in [[0.01, 0.04, 0.03, 0.5], [0.001, 0.002, 0.9], [0.2], [0.04, 0.04, 0.04], [0.01, 0.02, 0.03, 0.04, 0.05]]:
        bh.append(dict(p=ps, q=[float(x) for x in multipletests(ps, method="fdr_bh")[1]]))
    kish = []
    for w in [[1.0, 1.0, 1.0], [0.5, 1.5, 2.0, 1.0], [0.7932, 1.1273, 2.0, 0.4]]:
        w = np.array(w)
        kish.append(dict(w=w.tolist(), n_eff=float(w.sum() ** 2 / (w ** 2).sum())))
    return dict(
        provenance=f"tests/reference/make_reference.py with statsmodels {statsmodels.__version__}, "
                   f"scipy {scipy.__version__}, numpy {np.__version__}",
        wilson=wil, newcombe=new, ztest=zt, bh=bh, kish=kish,
    )


# --------------------------------------------------------------------------------------
# 4. sqllogictest files
# --------------------------------------------------------------------------------------

def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NULL"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def types(df, cols):
    out = ""
    for c in cols:
        k = df[c].dtype.kind
        out += "I" if k in "iu" else "R" if k == "f" or c in ("p_value", "q_value", "ci_low", "ci_high") else "T"
    return out


HEADER = "# Generated by tests/reference/make_reference.py: expected values computed with\n" \
         "# pandas + statsmodels from the fixture files, not by gaptrack. Do not edit by hand.\n\n"


def slt_query(df, cols, sql):
    lines = [f"query {types(df, cols)}", sql, "----"]
    for r in df[cols].itertuples(index=False):
        lines.append(" ".join(fmt(v) for v in r))
    return "\n".join(lines) + "\n\n"


def write_slt(agr, gp, tr):
    SLT.mkdir(parents=True, exist_ok=True)
    cols = ["wave", "date", "statement", "grp", "n", "n_eff", "pct", "se", "ci_low", "ci_high", "low_base"]
    a = agr.copy()
    text = HEADER + slt_query(
        a, cols,
        "SELECT wave, CAST(date AS VARCHAR), statement, grp, n, n_eff, pct, se, ci_low, ci_high, low_base\n"
        "FROM agreement ORDER BY wave, statement, grp")
    text += "# operations were not asked qualifies_leads in 2020: no row\n"
    text += "query I\nSELECT count(*) FROM agreement WHERE wave = '2020' AND statement = 'qualifies_leads' AND grp = 'operations'\n----\n0\n\n"
    text += "# every respondent of every wave is in responses, missing answers with agree NULL\n"
    resp = load_responses()
    cnt = resp.groupby("wave").size()
    text += "query TII\nSELECT wave, count(*), count(agree) FROM responses GROUP BY wave ORDER BY wave\n----\n"
    for wave in WAVES:
        sub = resp[resp.wave == wave]
        text += f"{wave} {cnt[wave]} {int(sub.answered.sum())}\n"
    text += "\n"
    (SLT / "agreement.slt").write_text(text)

    cols = ["wave", "date", "statement", "group_a", "group_b", "n_a", "n_b", "n_eff_a", "n_eff_b",
            "pct_a", "pct_b", "gap_pp", "se", "ci_low", "ci_high", "p_value"]
    text = HEADER + slt_query(
        gp, cols,
        "SELECT wave, CAST(date AS VARCHAR), statement, group_a, group_b, n_a, n_b, n_eff_a, n_eff_b, pct_a, pct_b, gap_pp, se, ci_low, ci_high, p_value\n"
        "FROM gaps ORDER BY wave, statement, group_a, group_b")
    (SLT / "gaps.slt").write_text(text)

    cols = ["statement", "group_a", "group_b", "wave", "prev_wave", "gap_pp", "prev_gap_pp", "change_pp", "se", "p_value", "q_value", "trend"]
    t = tr.copy()
    t["q_value"] = t["q_value"].astype(float)
    text = HEADER + slt_query(
        t, cols,
        "SELECT statement, group_a, group_b, wave, prev_wave, gap_pp, prev_gap_pp, change_pp, se, p_value, q_value, trend\n"
        "FROM gap_trend ORDER BY statement, group_a, group_b, wave")
    text += "# the series break of work_well_together in 2021: no change row, and it is the\n# base of the next wave's comparison\n"
    text += "query I\nSELECT count(*) FROM gap_trend WHERE statement = 'work_well_together' AND wave = '2021'\n----\n0\n\n"
    (SLT / "gap_trend.slt").write_text(text)

    f = formulas()
    text = HEADER + "# The statistics UDFs analysts can call in their own SQL.\n\n"
    for c in f["wilson"]:
        text += (f"query RR\nSELECT wilson_low({c['p']!r}, {c['n']!r}), wilson_high({c['p']!r}, {c['n']!r})\n----\n"
                 f"{fmt(c['low'])} {fmt(c['high'])}\n\n")
    for c in f["newcombe"]:
        args = f"{c['p1']!r}, {c['n1']!r}, {c['p2']!r}, {c['n2']!r}"
        text += (f"query RR\nSELECT newcombe_low({args}), newcombe_high({args})\n----\n"
                 f"{fmt(c['low'])} {fmt(c['high'])}\n\n")
    for c in f["ztest"]:
        text += f"query R\nSELECT z_test_p({c['diff']!r}, {c['var']!r})\n----\n{fmt(c['p_value'])}\n\n"
    text += "# a variance of 0 has no test\nquery R\nSELECT z_test_p(0.1, 0.0)\n----\nNULL\n\n"
    for c in f["kish"]:
        w = c["w"]
        text += (f"query R\nSELECT kish_n_eff({sum(w)!r}, {sum(x * x for x in w)!r})\n----\n{fmt(c['n_eff'])}\n\n")
    (SLT / "functions.slt").write_text(text)


def main():
    make_fixture()
    resp = load_responses()
    agr = agreement(resp)
    gp = gaps(agr)
    tr = gap_trend(gp)
    REF.mkdir(parents=True, exist_ok=True)
    agr.to_csv(REF / "agreement.csv", index=False, float_format="%.17g")
    gp.to_csv(REF / "gaps.csv", index=False, float_format="%.17g")
    tr.to_csv(REF / "gap_trend.csv", index=False, float_format="%.17g")
    (REF / "formulas.json").write_text(json.dumps(formulas(), indent=1) + "\n")
    write_slt(agr, gp, tr)
    print(tr[["statement", "group_a", "group_b", "wave", "change_pp", "p_value", "q_value", "trend"]].to_string())


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
