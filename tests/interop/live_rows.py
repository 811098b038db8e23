"""Reads a gaptrack store with Python `deltalake` alone, as an outside engine should while
loads may be in flight: the catalog `<store>/waves` names each wave's live load, and
`<store>/responses` is joined on it. Prints, per wave, the live rows, the sum of `value`
and the distinct respondents, as JSON (used by tests/it/store/crash.rs)."""
import json
import sys

import deltalake
import pyarrow.compute as pc

store = sys.argv[1]
waves = deltalake.DeltaTable(f"{store}/waves").to_pyarrow_table(columns=["wave", "load_id"])
responses = deltalake.DeltaTable(f"{store}/responses").to_pyarrow_table(
    columns=["wave", "load_id", "respondent", "value"]
)
live = responses.join(waves, keys=["wave", "load_id"], join_type="inner")
out = {}
for wave in sorted(set(waves.column("wave").to_pylist())):
    rows = live.filter(pc.equal(live.column("wave"), wave))
    total = pc.sum(rows.column("value")).as_py()
    out[wave] = {
        "rows": rows.num_rows,
        "sum": int(total or 0),
        "respondents": len(set(rows.column("respondent").to_pylist())),
        "stored_loads": len(
            set(responses.filter(pc.equal(responses.column("wave"), wave)).column("load_id").to_pylist())
        ),
    }
print(json.dumps(out, sort_keys=True))
