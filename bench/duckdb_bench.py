"""The DuckDB side of the gaptrack benchmark: the same work a research team would script
over the CSV exports. Usage:

    python duckdb_bench.py ingest WAVE.csv OUT.parquet
    python duckdb_bench.py load OUT_DIR WAVE.csv...        (setup for the other workloads)
    python duckdb_bench.py trend DIR                       (gap_trend over DIR/*.parquet)
    python duckdb_bench.py adhoc DIR                       (agreement by wave × statement × segment)
    python duckdb_bench.py filter DIR                      (one statement, one segment value)
    python duckdb_bench.py join DIR                        (responses joined with the waves)
    python duckdb_bench.py copy WAVE.csv OUT.parquet       (plain wide CSV -> Parquet: the floor)

Group mapping, scale and statistics are those of the benchmark waves' specs
(bench/README in BENCHMARKS.md): agree = 4,5; missing = 9 or empty; sales = Sales,
Sales Operations, Inside Sales; marketing = Marketing, Marketing Ops; others lower-cased.
"""
import math
import os
import sys
import tomllib

import duckdb
try:
    from duckdb.sqltypes import DOUBLE
except ImportError:  # duckdb < 1.4
    from duckdb.typing import DOUBLE

GROUP = """CASE lower(trim(function))
    WHEN 'sales' THEN 'sales' WHEN 'sales operations' THEN 'sales' WHEN 'inside sales' THEN 'sales'
    WHEN 'marketing' THEN 'marketing' WHEN 'marketing ops' THEN 'marketing'
    ELSE lower(trim(function)) END"""


def ingest(csv, out):
    con = duckdb.connect()
    con.execute(
        f"""COPY (
              UNPIVOT (SELECT * FROM read_csv('{csv}', header = true))
              ON COLUMNS('^Q[0-9]+$') INTO NAME statement VALUE value
            ) TO '{out}' (FORMAT parquet, COMPRESSION zstd)"""
    )


def copy(csv, out):
    # The floor of any ingest: the wide CSV rewritten as wide Parquet, nothing checked,
    # nothing reshaped, no statistics.
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_csv('{csv}', header = true)) TO '{out}' (FORMAT parquet, COMPRESSION zstd)"
    )


def load(out_dir, csvs):
    con = duckdb.connect()
    # Statements whose wording changed (series_break in the wave spec) start a new series.
    breaks = ["wave,statement"]
    for csv in csvs:
        spec = tomllib.loads(open(csv.rsplit(".", 1)[0] + ".toml").read())
        for st in spec["statements"].values():
            if st.get("series_break"):
                breaks.append(f"{spec['wave']},{st['column']}")
    open(f"{out_dir}/breaks.csv", "w").write("\n".join(breaks) + "\n")
    # The catalog the join query reads: wave, date, respondents.
    waves = []
    for csv in csvs:
        spec = tomllib.loads(open(csv.rsplit(".", 1)[0] + ".toml").read())
        n = con.execute(f"SELECT count(*) FROM read_csv('{csv}', header = true)").fetchone()[0]
        waves.append(f"SELECT '{spec['wave']}' AS wave, DATE '{spec['date']}' AS date, {n} AS respondents")
    os.makedirs(f"{out_dir}/catalog", exist_ok=True)
    con.execute(f"COPY ({' UNION ALL '.join(waves)}) TO '{out_dir}/catalog/waves.parquet' (FORMAT parquet)")
    for csv in csvs:
        wave = csv.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        con.execute(
            f"""COPY (
                  SELECT '{wave}' AS wave, resp_id AS respondent, {GROUP} AS grp,
                         wt AS weight, industry, company_size, statement,
                         CAST(value AS INTEGER) AS value,
                         CASE WHEN value IN (4, 5) THEN true WHEN value BETWEEN 1 AND 5 THEN false END AS agree
                  FROM (UNPIVOT (SELECT * FROM read_csv('{csv}', header = true))
                        ON COLUMNS('^Q[0-9]+$') INTO NAME statement VALUE value)
                ) TO '{out_dir}/{wave}.parquet' (FORMAT parquet, COMPRESSION zstd)"""
        )


TREND = """
WITH r AS (SELECT * FROM read_parquet('{dir}/*.parquet')),
cells AS (
  SELECT wave, statement, grp, count(*) AS n,
         sum(weight) AS sw, sum(CASE WHEN agree THEN weight ELSE 0 END) AS swa, sum(weight * weight) AS sw2
  FROM r WHERE agree IS NOT NULL GROUP BY wave, statement, grp
),
agreement AS (
  SELECT wave, statement, grp, n, sw * sw / sw2 AS n_eff, swa / sw AS p FROM cells
),
wil AS (
  SELECT *, 1.959963984540054 AS z,
    ((p + 3.841458820694124 / (2 * n_eff)) / (1 + 3.841458820694124 / n_eff)
      - 1.959963984540054 / (1 + 3.841458820694124 / n_eff) * sqrt(p * (1 - p) / n_eff + 3.841458820694124 / (4 * n_eff * n_eff))) AS lo,
    ((p + 3.841458820694124 / (2 * n_eff)) / (1 + 3.841458820694124 / n_eff)
      + 1.959963984540054 / (1 + 3.841458820694124 / n_eff) * sqrt(p * (1 - p) / n_eff + 3.841458820694124 / (4 * n_eff * n_eff))) AS hi,
    p * (1 - p) / n_eff AS var
  FROM agreement
),
gaps AS (
  SELECT a.wave, a.statement, a.grp AS group_a, b.grp AS group_b,
         100 * (a.p - b.p) AS gap_pp, a.var + b.var AS var,
         100 * ((a.p - b.p) - sqrt((a.p - a.lo) ^ 2 + (b.hi - b.p) ^ 2)) AS ci_low,
         100 * ((a.p - b.p) + sqrt((a.hi - a.p) ^ 2 + (b.p - b.lo) ^ 2)) AS ci_high
  FROM wil a JOIN wil b ON a.wave = b.wave AND a.statement = b.statement AND a.grp < b.grp
),
ordered AS (
  SELECT *, lag(wave) OVER w AS prev_wave, lag(gap_pp) OVER w AS prev_gap_pp, lag(var) OVER w AS prev_var
  FROM gaps WINDOW w AS (PARTITION BY statement, group_a, group_b ORDER BY wave)
),
changes AS (
  SELECT statement, group_a, group_b, wave, prev_wave, gap_pp, prev_gap_pp,
         gap_pp - prev_gap_pp AS change_pp, 100 * sqrt(var + prev_var) AS se,
         CASE WHEN var + prev_var > 0 THEN
           erfc(abs((gap_pp - prev_gap_pp) / 100) / sqrt(var + prev_var) / sqrt(2))
         END AS p_value
  FROM ordered WHERE prev_wave IS NOT NULL
    AND (wave, statement) NOT IN (SELECT (CAST(wave AS VARCHAR), statement) FROM read_csv('{dir}/breaks.csv', header = true, all_varchar = true))
),
ranked AS (
  SELECT *, count(p_value) OVER (PARTITION BY group_a, group_b, wave) AS m,
         row_number() OVER (PARTITION BY group_a, group_b, wave ORDER BY p_value NULLS LAST, statement) AS rk
  FROM changes
),
adjusted AS (
  SELECT *, CASE WHEN p_value IS NOT NULL THEN
      min(least(1.0, p_value * m / rk)) OVER (PARTITION BY group_a, group_b, wave ORDER BY rk DESC
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) END AS q_value
  FROM ranked
)
SELECT statement, group_a, group_b, wave, prev_wave, gap_pp, prev_gap_pp, change_pp, se, p_value, q_value,
       CASE WHEN q_value IS NULL THEN NULL WHEN q_value < 0.05 THEN
         CASE WHEN abs(gap_pp) < abs(prev_gap_pp) THEN 'narrowed' ELSE 'widened' END ELSE 'stable' END AS trend
FROM adjusted
"""

ADHOC = """
SELECT wave, statement, industry, count(*) AS n,
       100 * sum(CASE WHEN agree THEN weight ELSE 0 END) / sum(weight) AS pct
FROM read_parquet('{dir}/*.parquet')
WHERE agree IS NOT NULL
GROUP BY wave, statement, industry
ORDER BY wave, statement, industry
"""

# One statement (Q1, gaptrack's `marketing_understands_customers`), one segment value,
# every wave.
FILTER = """
SELECT wave, grp, count(*) AS n,
       100 * sum(CASE WHEN agree THEN weight ELSE 0 END) / sum(weight) AS pct
FROM read_parquet('{dir}/*.parquet')
WHERE statement = 'Q1' AND industry = 'Healthcare' AND agree IS NOT NULL
GROUP BY wave, grp
ORDER BY wave, grp
"""

JOIN = """
SELECT w.date, r.grp, count(*) AS n, avg(r.value) AS mean_code,
       100 * sum(CASE WHEN r.agree THEN r.weight ELSE 0 END) / sum(r.weight) AS pct
FROM read_parquet('{dir}/*.parquet') r
JOIN read_parquet('{dir}/catalog/waves.parquet') w ON r.wave = w.wave
WHERE r.agree IS NOT NULL AND w.respondents > 0
GROUP BY w.date, r.grp
ORDER BY w.date, r.grp
"""


def main():
    cmd = sys.argv[1]
    if cmd == "ingest":
        ingest(sys.argv[2], sys.argv[3])
    elif cmd == "load":
        load(sys.argv[2], sys.argv[3:])
    elif cmd == "trend":
        con = duckdb.connect()
        # DuckDB has no normal CDF; the two-sided p value comes from Python's erfc.
        con.create_function("erfc", math.erfc, [DOUBLE], DOUBLE)
        rows = con.execute(TREND.format(dir=sys.argv[2])).fetchall()
        print(len(rows), "rows", file=sys.stderr)
    elif cmd == "copy":
        copy(sys.argv[2], sys.argv[3])
    elif cmd in ("adhoc", "filter", "join"):
        sql = {"adhoc": ADHOC, "filter": FILTER, "join": JOIN}[cmd]
        rows = duckdb.connect().execute(sql.format(dir=sys.argv[2])).fetchall()
        print(len(rows), "rows", file=sys.stderr)
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
