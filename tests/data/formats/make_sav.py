"""Writes the SPSS fixtures of tests/formats.rs with a reference writer.

Made with pyreadstat 1.3.7 (ReadStat) and pandas, in a throwaway virtualenv:
    python3 -m venv /tmp/savenv && /tmp/savenv/bin/pip install pyreadstat pandas
    /tmp/savenv/bin/python tests/data/formats/make_sav.py
The wave is the one of wave.csv: the group is a numeric code with value labels
(1 Sales, 2 Marketing, 3 Operations), so is the region segment (1 north, 2 south),
the id is a string, the empty answer and the
blank Q2 of r06 are system-missing, and a 300-byte string variable (a very long
string, record 7.14) sits before the answers so that their slots come after its
segments. Variable names longer than 8 characters exercise record 7.13.
"""
import os

import numpy as np
import pandas as pd
import pyreadstat

HERE = os.path.dirname(os.path.abspath(__file__))

rows = [
    # id, group code, weight, region, Q1, Q2
    ("r01", 1, 1.0, "north", 5, 4),
    ("r02", 1, 2.0, "south", 4, 2),
    ("r03", 1, 1.0, "north", 2, 9),
    ("r04", 1, 0.5, "south", 1, 5),
    ("r05", 2, 1.0, "north", 3, 4),
    ("r06", 2, 1.5, "south", 5, None),
    ("r07", 2, 1.0, "north", 2, 1),
    ("r08", 2, 2.0, "south", 4, 5),
    ("r09", 3, 1.0, "north", 9, 3),
    ("r10", 3, 1.0, "south", 4, 4),
    ("r11", 3, 0.5, "north", 5, 2),
    ("r12", 3, 1.0, "south", 1, 5),
]
df = pd.DataFrame(
    {
        "respondent_id": [r[0] for r in rows],
        "function_code": [float(r[1]) for r in rows],
        "comment": ["long comment " + "x" * 280 + r[0] for r in rows],
        "weight_final": [r[2] for r in rows],
        "region": [{"north": 1.0, "south": 2.0}[r[3]] for r in rows],
        "Q5_1": [float(r[4]) for r in rows],
        "Q5_2": [np.nan if r[5] is None else float(r[5]) for r in rows],
    }
)
labels = {
    "function_code": {1: "Sales", 2: "Marketing", 3: "Operations"},
    "region": {1: "north", 2: "south"},
    "Q5_1": {1: "Strongly disagree", 5: "Strongly agree", 9: "Don't know"},
}
for name, opts in [
    ("wave.sav", {}),
    ("wave_compressed.sav", {"row_compress": True}),
    ("wave.zsav", {"compress": True}),
]:
    pyreadstat.write_sav(
        df,
        os.path.join(HERE, name),
        variable_value_labels=labels,
        column_labels={"Q5_1": "Our marketing team understands our customers"},
        **opts,
    )
    back, meta = pyreadstat.read_sav(os.path.join(HERE, name))
    assert back["respondent_id"].tolist() == df["respondent_id"].tolist()
    print(name, os.path.getsize(os.path.join(HERE, name)), meta.variable_value_labels)
