#!/usr/bin/env python3
"""Writes tests/data/reference/gaps_by_segment.csv: the gaps of every pair of groups within
each value of each segment column of the fixture waves (tests/data/fixture/), computed
with pandas + statsmodels exactly as make_reference.py computes the `gaps` view, only
grouped by (segment, segment_value) as well. Nothing here shares code with gaptrack.

    /tmp/refvenv/bin/python tests/reference/make_segment_reference.py

(the venv as in make_reference.py: numpy pandas scipy statsmodels). It reads the fixture
files; it does not rewrite them.
"""

import os
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_reference as ref  # noqa: E402  (the formulas and the fixture's spec rules)


def responses_with_segments():
    frames = []
    for wave, cfg in ref.WAVES.items():
        df = pd.read_csv(ref.FIX / f"{wave}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        w = df["wt"].astype(float) if "wt" in df else pd.Series(1.0, index=df.index)
        segs = [s for s in ("region", "size") if s in df]
        for s in ref.STATEMENTS:
            points, agree, missing = ref.SCALES[s]
            raw = df[ref.COLUMNS[s]].str.strip()
            val = pd.to_numeric(raw.where(raw != ""), errors="raise")
            answered = val.notna() & ~val.isin(missing)
            for seg in segs:
                frames.append(pd.DataFrame({
                    "segment": seg,
                    "segment_value": df[seg].str.strip(),
                    "wave": wave,
                    "date": cfg["date"],
                    "statement": s,
                    "grp": df["function"].map(ref.canonical),
                    "weight": w,
                    "answered": answered,
                    "agree": val.isin(agree).astype(float),
                }))
    return pd.concat(frames, ignore_index=True)


def main():
    resp = responses_with_segments()
    out = []
    for (seg, value), sub in resp.groupby(["segment", "segment_value"]):
        agr = ref.agreement(sub.drop(columns=["segment", "segment_value"]))
        n = agr.set_index(["wave", "statement", "grp"])["n"]
        gp = ref.gaps(agr)
        gp.insert(0, "segment_value", value)
        gp.insert(0, "segment", seg)
        gp["n_a"] = [int(n[(r.wave, r.statement, r.group_a)]) for r in gp.itertuples()]
        gp["n_b"] = [int(n[(r.wave, r.statement, r.group_b)]) for r in gp.itertuples()]
        out.append(gp)
    df = pd.concat(out, ignore_index=True).sort_values(
        ["segment", "segment_value", "wave", "statement", "group_a", "group_b"], ignore_index=True)
    df.to_csv(ref.REF / "gaps_by_segment.csv", index=False, float_format="%.17g")
    print(f"{len(df)} rows")


if __name__ == "__main__":
    os.chdir(ref.ROOT)
    main()
