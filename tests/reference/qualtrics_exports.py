"""Agreement of the Qualtrics export fixtures (tests/data/qualtrics/), computed with pandas
from the files alone, as an analyst would: the extra header rows skipped, preview
responses (Status "Survey Preview" or 1) and unfinished ones (Finished not "1"/"True")
removed, choice texts mapped to their codes, agreement = answer 1 or 2 of Q1.

Run from the repository root:
    python tests/reference/qualtrics_exports.py > tests/data/reference/qualtrics_agreement.csv
"""

import sys

import pandas as pd

D = "tests/data/qualtrics/"
LABELS = {"option a": 1, "option b": 2, "option c": 3}
# file, header rows to skip after the first, group column, answer column
FILES = [
    ("preview_partial.csv", [1, 2], "UserLanguage", "Q1"),
    ("choice_text.csv", [1, 2], "UserLanguage", "Q1"),
    ("legacy_preview_partial.csv", [0], "Name", "This is a multiple choice question."),
]


def code(v):
    s = str(v).strip().lower()
    return LABELS.get(s, None) if s in LABELS else float(s)


out = sys.stdout
out.write(f"# pandas {pd.__version__}\nfile,grp,n,pct\n")
for name, skip, group, answer in FILES:
    df = pd.read_csv(D + name, skiprows=skip, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    status = df["Status"].str.strip().str.lower()
    finished = df["Finished"].str.strip().str.lower()
    df = df[~status.isin(["survey preview", "1"]) & finished.isin(["1", "true"])]
    df = df[df[answer].str.strip() != ""]
    codes = df[answer].map(code)
    agree = codes.isin([1, 2])
    grp = df[group].str.strip().str.lower()
    for g, sub in agree.groupby(grp):
        out.write(f"{name},{g},{len(sub)},{100.0 * sub.mean():.10f}\n")
