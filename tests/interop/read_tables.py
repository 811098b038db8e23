"""Reads a gaptrack store with other Delta readers (Python `deltalake` and Polars'
`read_delta`), unaided, and prints what tests/it/interop.rs compares with gaptrack's own
answers: row counts per table, and agreement per wave x statement x group computed here
from the stored microdata (weighted share of agree among answers)."""
import json
import sys

import deltalake
import polars as pl

store = sys.argv[1]
out = {"rows": {}, "agreement": []}
for table in ["waves", "responses", "cellstats", "segstats", "statements"]:
    via_deltalake = deltalake.DeltaTable(f"{store}/{table}").to_pyarrow_table().num_rows
    via_polars = pl.read_delta(f"{store}/{table}").height
    assert via_deltalake == via_polars, (table, via_deltalake, via_polars)
    out["rows"][table] = via_polars

r = pl.read_delta(f"{store}/responses").filter(pl.col("agree").is_not_null())
agr = (
    r.group_by(["wave", "statement", "grp"])
    .agg(
        pl.len().alias("n"),
        (100 * (pl.col("weight") * pl.col("agree").cast(pl.Float64)).sum() / pl.col("weight").sum()).alias("pct"),
    )
    .sort(["wave", "statement", "grp"])
)
out["agreement"] = agr.to_dicts()
print(json.dumps(out))
