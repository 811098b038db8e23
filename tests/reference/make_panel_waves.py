#!/usr/bin/env python3
"""Writes the panel test waves tests/data/panel/: four waves of a tracker that re-surveys
some of the same people (the same respondent id), drawn with a fixed seed.

    ~/.cache/gaptrack-ref/bin/python tests/reference/make_panel_waves.py

  p2021  170 respondents, weighted
  p2022  150: 95 from p2021 (one in eight of them in another group now), 55 new; unweighted
  p2023  140: 50 from p2022 (30 of them also in p2021), 25 from p2021 only, 65 new; weighted
  p2024  120 new respondents only (no overlap: its changes must be the independent ones)

A repeated respondent's answers follow their answers the wave before (code + noise), so
the two waves' estimates are correlated. Three statements on a 1-5 scale (agree 4-5,
disagree 1-2 except `tools_fit`, missing code 9), a theme `alignment` of two of them.
The expected values are computed from these files by tests/reference/panel.R.
"""

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/data/panel"
rng = np.random.default_rng(20261205)
GROUPS = ["Marketing", "Sales", "Service"]
STATEMENTS = [("aligned_goals", "A1"), ("shared_data", "A2"), ("tools_fit", "T1")]
LEAN = {"Marketing": [0.6, 0.3, 0.1], "Sales": [0.0, -0.3, 0.2], "Service": [-0.4, 0.1, -0.2]}


def fresh(prefix, n):
    people = {}
    for i in range(n):
        grp = GROUPS[rng.integers(0, 3)]
        base = rng.normal(3.1, 0.9) + np.array(LEAN[grp])
        people[f"{prefix}{i + 1:04d}"] = (grp, base)
    return people


def carry(people, ids, switch=0.125):
    out = {}
    for i in ids:
        grp, base = people[i]
        if rng.random() < switch:
            grp = GROUPS[(GROUPS.index(grp) + 1 + rng.integers(0, 2)) % 3]
        out[i] = (grp, base + rng.normal(0.15, 0.35, 3))
    return out


def write(wave, date, people, weighted):
    rows = ["id,team,wt,A1,A2,T1"]
    for i, (grp, base) in people.items():
        codes = []
        for k in range(3):
            if rng.random() < 0.08:
                codes.append("9" if rng.random() < 0.5 else "")
            else:
                codes.append(str(int(np.clip(np.rint(base[k] + rng.normal(0, 0.6)), 1, 5))))
        wt = f"{rng.uniform(0.4, 2.2):.4f}" if weighted else "1"
        rows.append(",".join([i, grp, wt] + codes))
    (OUT / f"{wave}.csv").write_text("\n".join(rows) + "\n")
    weight = 'weight = "wt"\n' if weighted else ""
    spec = f"""# A panel test wave, drawn by tests/reference/make_panel_waves.py (seeded).
wave = "{wave}"
date = "{date}"
source = "{wave}.csv"

[respondent]
id = "id"
group = "team"
{weight}
[groups]
marketing = ["Marketing"]
sales = ["Sales"]
service = ["Service"]

[scale]
points = 5
agree = [4, 5]
disagree = [1, 2]
missing = [9]

[statements.aligned_goals]
column = "A1"
text = "Sales and marketing work towards the same goals"

[statements.shared_data]
column = "A2"
text = "Sales and marketing share customer data"

[statements.tools_fit]
column = "T1"
text = "Our tools fit the way we work"
disagree = []

[themes]
alignment = ["aligned_goals", "shared_data"]
"""
    (OUT / f"{wave}.toml").write_text(spec)


OUT.mkdir(parents=True, exist_ok=True)
w21 = fresh("A", 170)
ids21 = list(w21)
rng.shuffle(ids21)
w22 = carry(w21, ids21[:95]) | fresh("B", 55)
ids22 = [i for i in w22 if i in w21][:30] + [i for i in w22 if i not in w21][:20]
only21 = [i for i in ids21[95:]][:25]
w23 = carry(w22, ids22) | carry(w21, only21) | fresh("C", 65)
w24 = fresh("D", 120)
write("p2021", "2021-05-01", w21, True)
write("p2022", "2022-05-01", w22, False)
write("p2023", "2023-05-01", w23, True)
write("p2024", "2024-05-01", w24, True)
