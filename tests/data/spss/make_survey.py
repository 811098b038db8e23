"""Writes survey.sav, survey.zsav and survey_plain.sav: one small weighted survey wave as
SPSS users get it, written by ReadStat through pyreadstat (the tool real users use).

    python3 -m venv /tmp/savenv && /tmp/savenv/bin/pip install pyreadstat polars
    /tmp/savenv/bin/python tests/data/spss/make_survey.py

What it holds (300 respondents, fixed seed):
- `wt` (the first variable) is the file's weight: pyreadstat cannot write `WEIGHT BY`,
  so this script sets the header's weight_index field (bytes 76-79, the 1-based slot of
  the weight variable) to 1 after writing, as SPSS does on SAVE after WEIGHT BY wt.
- `wt2`, another weight, for a spec that names its own.
- `party` (group): 1 Democrat, 2 Republican, 3 Independent (value labels).
- `region` (segment): 1 North, 2 South, 9 "Not stated" declared user-missing.
- `q1` 1-5 with 8 "Don't know", 9 "Refused" user-missing (discrete values);
  `q2` 1-5 with 97 thru 99 plus 8 user-missing (a range and a discrete value);
  `q3` 1-5, used both as a segment and as a statement, with value labels;
  `q4` 1-5 with 9 user-missing and 6 "Other", which the file does not declare missing
  (a spec must: `missing = [6]`, which adds to the file's 9).
- Variable labels (the question wording) on q1, q2, q3.
Compressions: survey.sav bytecode, survey.zsav zlib (ZSAV), survey_plain.sav none.
"""
import os
import struct

import numpy as np
import polars as pl
import pyreadstat

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261204)
n = 300
party = rng.choice([1.0, 2.0, 3.0], n, p=[0.4, 0.35, 0.25])


def answers(missing_codes):
    a = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n)
    # Agreement depends on the group, so that the weights and missing values matter.
    a = np.where((party == 1) & (rng.random(n) < 0.3), 5.0, a)
    m = rng.random(n) < 0.15
    a[m] = rng.choice(missing_codes, m.sum())
    sysmis = rng.random(n) < 0.03
    a[sysmis] = np.nan
    return a


df = pl.DataFrame(
    {
        "wt": np.round(rng.uniform(0.2, 3.0, n), 4),
        "resp": [f"r{i:03d}" for i in range(1, n + 1)],
        "party": party,
        "region": rng.choice([1.0, 2.0, 9.0], n, p=[0.5, 0.4, 0.1]),
        "q1": answers([8.0, 9.0]),
        "q2": answers([8.0, 97.0, 98.0, 99.0]),
        "q3": rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n),
        "wt2": np.round(rng.uniform(0.5, 2.0, n), 4),
        "q4": answers([6.0, 9.0]),
    }
)
scale = {1: "Strongly disagree", 2: "Disagree", 3: "Neither", 4: "Agree", 5: "Strongly agree"}
labels = {
    "party": {1: "Democrat", 2: "Republican", 3: "Independent"},
    "region": {1: "North", 2: "South", 9: "Not stated"},
    "q1": {**scale, 8: "Don't know", 9: "Refused"},
    "q2": {**scale, 8: "Don't know", 97: "Not asked", 98: "Skipped", 99: "Refused"},
    "q3": scale,
    "q4": {**scale, 6: "Other", 9: "Refused"},
}
column_labels = {
    "wt": "Survey weight",
    "q1": "The president is doing a good job",
    "q2": "The economy is getting better",
    "q3": "I trust the news media",
    "q4": "Local schools are good",
}
missing = {
    "region": [9.0],
    "q1": [8.0, 9.0],
    "q2": [{"lo": 97.0, "hi": 99.0}, 8.0],
    "q4": [9.0],
}
for name, opts in [
    ("survey.sav", {"row_compress": True}),
    ("survey.zsav", {"compress": True}),
    ("survey_plain.sav", {}),
]:
    path = os.path.join(HERE, name)
    pyreadstat.write_sav(
        df,
        path,
        column_labels=column_labels,
        variable_value_labels=labels,
        missing_ranges=missing,
        **opts,
    )
    with open(path, "r+b") as f:
        head = bytearray(f.read(176))
        assert head[64:68] == struct.pack("<i", 2), "little-endian layout 2 expected"
        head[76:80] = struct.pack("<i", 1)  # WEIGHT BY wt: slot 1
        f.seek(0)
        f.write(head)
    back, meta = pyreadstat.read_sav(path, user_missing=True, output_format="dict")
    assert list(back["resp"]) == list(df["resp"])
    assert meta.missing_ranges["q2"] == [{"lo": 97.0, "hi": 99.0}, {"lo": 8.0, "hi": 8.0}]
    print(name, os.path.getsize(path))
