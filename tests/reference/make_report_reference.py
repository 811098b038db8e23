#!/usr/bin/env python3
"""Writes tests/sql/report.slt and tests/sql/report_suppressed.slt: the expected rows of
queries/report_trend.sql and queries/report_breakdown.sql on the fixture waves, composed
with pandas from the committed reference views (tests/data/reference/agreement.csv,
gaps.csv, gap_trend.csv, gaps_by_segment.csv, written by make_reference.py and
make_segment_reference.py) and the fixture specs (wording, series breaks), by the rules
of docs/report.md:

  - the gap and its change are a − b for the pair as given: a pair given in the other
    order than `gaps` stores it (group_a < group_b) turns their signs, and the interval
    bounds swap;
  - suppressed = either base below suppress_below: no estimate of the cell, and no change
    of a cell whose previous wave is suppressed;
  - low_base = either base below min_base;
  - the base is the respondent count n, or the effective base n_eff where the file's
    settings say min_base_on=n_eff (report_neff.slt).

Nothing here shares code with gaptrack.

    python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install pandas
    /tmp/refvenv/bin/python tests/reference/make_report_reference.py
"""

import math
import tomllib
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests/data/reference"
FIX = ROOT / "tests/data/fixture"
SLT = ROOT / "tests/sql"

TREND_COLS = [
    ("statement", "T"), ("wave", "T"), ("date", "T"),
    ("n_a", "I"), ("pct_a", "R"), ("ci_low_a", "R"), ("ci_high_a", "R"),
    ("n_b", "I"), ("pct_b", "R"), ("ci_low_b", "R"), ("ci_high_b", "R"),
    ("gap_pp", "R"), ("gap_ci_low", "R"), ("gap_ci_high", "R"), ("gap_p_value", "R"),
    ("change_pp", "R"), ("change_p_value", "R"), ("change_q_value", "R"), ("trend", "T"),
    ("prev_wave", "T"), ("low_base", "T"), ("suppressed", "T"), ("series_break", "T"),
    ("text", "T"),
]
BREAKDOWN_COLS = [
    ("statement", "T"), ("wave", "T"), ("date", "T"), ("segment_value", "T"),
    ("n_a", "I"), ("n_b", "I"), ("pct_a", "R"), ("pct_b", "R"),
    ("gap_pp", "R"), ("gap_ci_low", "R"), ("gap_ci_high", "R"), ("gap_p_value", "R"),
    ("low_base", "T"), ("suppressed", "T"), ("text", "T"),
]


def specs():
    """(wave, statement) -> (text, series_break) from the fixture specs."""
    out = {}
    for p in sorted(FIX.glob("*.toml")):
        spec = tomllib.loads(p.read_text())
        for sid, st in spec["statements"].items():
            out[(spec["wave"], sid)] = (st["text"], bool(st.get("series_break", False)))
    return out


def missing(v):
    return v is None or (isinstance(v, float) and math.isnan(v))


def turned(r, a):
    """The gap, its interval and (where given) its change for the pair as asked."""
    if r["group_a"] == a:
        return r["gap_pp"], r["ci_low"], r["ci_high"]
    return -r["gap_pp"], -r["ci_high"], -r["ci_low"]


def trend_rows(a, b, min_base, suppress_below, on="n"):
    agr = pd.read_csv(REF / "agreement.csv", dtype={"wave": str})
    gaps = pd.read_csv(REF / "gaps.csv", dtype={"wave": str})
    trend = pd.read_csv(REF / "gap_trend.csv", dtype={"wave": str, "prev_wave": str})
    words = specs()
    lo, hi = min(a, b), max(a, b)
    est = agr.set_index(["wave", "statement", "grp"])
    chg = trend.set_index(["wave", "statement", "group_a", "group_b"])
    rows = {}
    for _, g in gaps[(gaps.group_a == lo) & (gaps.group_b == hi)].iterrows():
        ea, eb = est.loc[(g.wave, g.statement, a)], est.loc[(g.wave, g.statement, b)]
        gap, gl, gh = turned(g, a)
        t = chg.loc[(g.wave, g.statement, lo, hi)] if (g.wave, g.statement, lo, hi) in chg.index else None
        text, brk = words[(g.wave, g.statement)]
        ba, bb = (ea.n, eb.n) if on == "n" else (ea.n_eff, eb.n_eff)
        sup = ba < suppress_below or bb < suppress_below
        rows[(g.statement, g.wave)] = {
            "statement": g.statement, "wave": g.wave, "date": g.date,
            "n_a": int(ea.n), "pct_a": ea.pct, "ci_low_a": ea.ci_low, "ci_high_a": ea.ci_high,
            "n_b": int(eb.n), "pct_b": eb.pct, "ci_low_b": eb.ci_low, "ci_high_b": eb.ci_high,
            "gap_pp": gap, "gap_ci_low": gl, "gap_ci_high": gh, "gap_p_value": g.p_value,
            "change_pp": None if t is None else (t.change_pp if g.group_a == a else -t.change_pp),
            "change_p_value": None if t is None else t.p_value,
            "change_q_value": None if t is None else t.q_value,
            "trend": None if t is None else t.trend,
            "prev_wave": None if t is None else t.prev_wave,
            "low_base": bool(ba < min_base or bb < min_base),
            "suppressed": bool(sup), "series_break": brk, "text": text,
        }
    for r in rows.values():
        if r["suppressed"]:
            for k in ("pct_a", "ci_low_a", "ci_high_a", "pct_b", "ci_low_b", "ci_high_b",
                      "gap_pp", "gap_ci_low", "gap_ci_high", "gap_p_value"):
                r[k] = None
        prev = rows.get((r["statement"], r["prev_wave"]))
        if r["suppressed"] or (prev is not None and prev["suppressed"]):
            for k in ("change_pp", "change_p_value", "change_q_value", "trend"):
                r[k] = None
    return sorted(rows.values(), key=lambda r: (r["date"], r["wave"], r["statement"]))


def breakdown_rows(segment, a, b, min_base, suppress_below, on="n"):
    seg = pd.read_csv(REF / "gaps_by_segment.csv", dtype={"wave": str, "segment_value": str},
                      keep_default_na=False, na_values=[""])
    words = specs()
    lo, hi = min(a, b), max(a, b)
    out = []
    for _, g in seg[(seg.segment == segment) & (seg.group_a == lo) & (seg.group_b == hi)].iterrows():
        first = g.group_a == a
        n_a, n_b = (g.n_a, g.n_b) if first else (g.n_b, g.n_a)
        pct_a, pct_b = (g.pct_a, g.pct_b) if first else (g.pct_b, g.pct_a)
        gap, gl, gh = turned(g, a)
        if on == "n":
            base_a, base_b = n_a, n_b
        else:
            base_a, base_b = (g.n_eff_a, g.n_eff_b) if first else (g.n_eff_b, g.n_eff_a)
        sup = bool(base_a < suppress_below or base_b < suppress_below)
        keep = (lambda v: None) if sup else (lambda v: v)
        out.append({
            "statement": g.statement, "wave": g.wave, "date": g.date,
            "segment_value": g.segment_value, "n_a": int(n_a), "n_b": int(n_b),
            "pct_a": keep(pct_a), "pct_b": keep(pct_b), "gap_pp": keep(gap),
            "gap_ci_low": keep(gl), "gap_ci_high": keep(gh), "gap_p_value": keep(g.p_value),
            "low_base": bool(base_a < min_base or base_b < min_base), "suppressed": sup,
            "text": words[(g.wave, g.statement)][0],
        })
    return sorted(out, key=lambda r: (r["date"], r["wave"], r["statement"], r["segment_value"]))


def fmt(v):
    if missing(v):
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(float(v))
    return str(v)


def record(cols, rows, command, note):
    lines = [f"# {note}", "query " + "".join(t for _, t in cols), command, "----"]
    lines += [" ".join(fmt(r[c]) for c, _ in cols) for r in rows]
    return "\n".join(lines) + "\n\n"


def write(name, min_base, suppress_below, cases, on="n"):
    setting = "" if on == "n" else f" min_base_on={on}"
    text = (f"# Generated by tests/reference/make_report_reference.py: expected rows composed from\n"
            f"# the reference views of tests/data/reference/, not by gaptrack. Do not edit by hand.\n"
            f"# settings: min_base={min_base} suppress_below={suppress_below}{setting}\n\n")
    for kind, args, note in cases:
        if kind == "trend":
            a, b = args
            rows = trend_rows(a, b, min_base, suppress_below, on)
            cmd = f"gaptrack query report_trend --param a={a} --param b={b}"
            text += record(TREND_COLS, rows, cmd, note)
        else:
            segment, a, b = args
            rows = breakdown_rows(segment, a, b, min_base, suppress_below, on)
            cmd = f"gaptrack query report_breakdown --param segment={segment} --param a={a} --param b={b}"
            text += record(BREAKDOWN_COLS, rows, cmd, note)
    (SLT / name).write_text(text.rstrip("\n") + "\n")


def main():
    write("report.slt", 30, 10, [
        ("trend", ("marketing", "sales"), "the pair in the order gaps stores it"),
        ("trend", ("sales", "operations"), "the other order: signs turned, bounds swapped; operations are a low base"),
        ("breakdown", ("region", "sales", "marketing"), "by region, the other order; small cells suppressed"),
    ])
    write("report_suppressed.slt", 40, 15, [
        ("trend", ("operations", "marketing"),
         "operations' 12 and 11 respondents of 2019 are suppressed, and so is the 2021 change against them"),
        ("breakdown", ("size", "marketing", "operations"), "by size"),
    ])
    write("report_neff.slt", 65, 11, [
        ("trend", ("operations", "marketing"),
         "on the effective base: marketing's 72 respondents of 2019 (n_eff 62.1) are a low base, "
         "operations' 12 (n_eff 10.7) are suppressed"),
        ("breakdown", ("region", "sales", "marketing"), "by region, on the effective bases"),
    ], on="n_eff")


if __name__ == "__main__":
    main()
