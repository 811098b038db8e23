#!/usr/bin/env bash
# gaptrack vs DuckDB on the same work, whole-process wall times, A/B alternating.
#
#   bench/run.sh                 # all workloads, 5 repetitions
#   REPS=3 bench/run.sh ingest   # one workload
#   BIG=1 bench/run.sh           # also the peak RSS of a ~2 GB wave
#   bench/run.sh scale           # ingest time at 100k, 200k, 400k respondents (linearity)
#   bench/run.sh adhoc           # the ad-hoc GROUP BY, the filter-heavy query and the join
#   NO_BUILD=1 bench/run.sh      # the release binaries already built, not rebuilt
#
# Needs: cargo, python3 (a venv with duckdb is created in $WORK/venv), GNU time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/gaptrack-bench}
REPS=${REPS:-5}
ONLY=${1:-all}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/gaptrack-target}
mkdir -p "$WORK"

if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi
# NO_BUILD=1: measure the release binaries already in $CARGO_TARGET_DIR as they are.
if [ "${NO_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release --quiet --bin gaptrack --bin gaptrack-sample)
fi
G=${GAPTRACK:-$CARGO_TARGET_DIR/release/gaptrack}
S=${GAPTRACK_SAMPLE:-$CARGO_TARGET_DIR/release/gaptrack-sample}
if ! "$WORK/venv/bin/python" -c 'import duckdb, numpy' 2>/dev/null; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q "duckdb==${DUCKDB_PIN:-2.0.0}" "numpy==${NUMPY_PIN:-2.3.5}"
fi
PY=$WORK/venv/bin/python
DUCK="$PY $ROOT/bench/duckdb_bench.py"
DUCKDB_VERSION=$($PY -c 'import duckdb; print(duckdb.__version__)')

# Data: generated deterministically.
if [ ! -f "$WORK/ingest/2017.csv" ]; then
  "$S" --out "$WORK/ingest" --waves 1 --respondents 400000 --statements 40 --missing-rate 0.03 --seed 7
fi
if [ ! -f "$WORK/trend/2022.csv" ]; then
  "$S" --out "$WORK/trend" --waves 6 --respondents 150000 --statements 40 --missing-rate 0.03 --seed 11
fi

# time_cmd NAME CMD... : appends "name wall_s max_rss_kb" to $WORK/times
time_cmd() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/t.out" "$@" > /dev/null 2> "$WORK/err.out" || {
    echo "FAILED: $name" >&2; cat "$WORK/err.out" >&2; exit 1; }
  echo "$name $(cat "$WORK/t.out")" >> "$WORK/times"
}

: > "$WORK/times"
for i in $(seq 1 "$REPS"); do
  if [ "$ONLY" = all ] || [ "$ONLY" = ingest ]; then
    rm -rf "$WORK/store-ingest" "$WORK/duck-ingest.parquet"
    time_cmd ingest.gaptrack "$G" --store "$WORK/store-ingest" ingest "$WORK/ingest/2017.toml"
    time_cmd ingest.duckdb $DUCK ingest "$WORK/ingest/2017.csv" "$WORK/duck-ingest.parquet"
    rm -f "$WORK/duck-copy.parquet"
    time_cmd copy.duckdb $DUCK copy "$WORK/ingest/2017.csv" "$WORK/duck-copy.parquet"
  fi
done

if [ "$ONLY" = all ] || [ "$ONLY" = trend ] || [ "$ONLY" = adhoc ]; then
  if [ ! -d "$WORK/store-trend/waves" ]; then
    "$G" --store "$WORK/store-trend" ingest "$WORK"/trend/*.toml > /dev/null
  fi
  if [ ! -f "$WORK/duck-trend/catalog/waves.parquet" ]; then
    rm -rf "$WORK/duck-trend"; mkdir -p "$WORK/duck-trend"
    $DUCK load "$WORK/duck-trend" "$WORK"/trend/*.csv
  fi
  for i in $(seq 1 "$REPS"); do
    if [ "$ONLY" = all ] || [ "$ONLY" = trend ]; then
      # trendfirst: the first query after a load, which computes gap_trend and keeps its
      # rows; trend: the next one, which reads them (docs/sql.md, "Kept results").
      rm -rf "$WORK/store-trend/_gaptrack/cache"
      time_cmd trendfirst.gaptrack "$G" --store "$WORK/store-trend" query gap_trend --format csv
      time_cmd trend.gaptrack "$G" --store "$WORK/store-trend" query gap_trend --format csv
      time_cmd trend.duckdb $DUCK trend "$WORK/duck-trend"
    fi
    if [ "$ONLY" = all ] || [ "$ONLY" = adhoc ]; then
      time_cmd adhoc.gaptrack "$G" --store "$WORK/store-trend" query \
        "SELECT wave, statement, industry, count(*) AS n, 100 * sum(CASE WHEN agree THEN weight ELSE 0 END) / sum(weight) AS pct FROM responses WHERE agree IS NOT NULL GROUP BY wave, statement, industry ORDER BY wave, statement, industry" --format csv
      time_cmd adhoc.duckdb $DUCK adhoc "$WORK/duck-trend"
      time_cmd filter.gaptrack "$G" --store "$WORK/store-trend" query \
        "SELECT wave, grp, count(*) AS n, 100 * sum(CASE WHEN agree THEN weight ELSE 0 END) / sum(weight) AS pct FROM responses WHERE statement = 'marketing_understands_customers' AND industry = 'Healthcare' AND agree IS NOT NULL GROUP BY wave, grp ORDER BY wave, grp" --format csv
      time_cmd filter.duckdb $DUCK filter "$WORK/duck-trend"
      time_cmd join.gaptrack "$G" --store "$WORK/store-trend" query \
        "SELECT w.date, r.grp, count(*) AS n, avg(r.value) AS mean_code, 100 * sum(CASE WHEN r.agree THEN r.weight ELSE 0 END) / sum(r.weight) AS pct FROM responses r JOIN waves w ON r.wave = w.wave WHERE r.agree IS NOT NULL AND w.respondents > 0 GROUP BY w.date, r.grp ORDER BY w.date, r.grp" --format csv
      time_cmd join.duckdb $DUCK join "$WORK/duck-trend"
    fi
  done
fi

# Linearity: the same ingest at 100k, 200k and 400k respondents (seconds per 100k
# respondents should stay flat).
if [ "$ONLY" = all ] || [ "$ONLY" = scale ]; then
  for n in 100000 200000; do
    if [ ! -f "$WORK/scale-$n/2017.csv" ]; then
      "$S" --out "$WORK/scale-$n" --waves 1 --respondents "$n" --statements 40 --missing-rate 0.03 --seed 7
    fi
  done
  for i in $(seq 1 "$REPS"); do
    for n in 100000 200000; do
      rm -rf "$WORK/store-scale"
      time_cmd "scale$n.gaptrack" "$G" --store "$WORK/store-scale" ingest "$WORK/scale-$n/2017.toml"
    done
    rm -rf "$WORK/store-scale"
    time_cmd "scale400000.gaptrack" "$G" --store "$WORK/store-scale" ingest "$WORK/ingest/2017.toml"
  done
  rm -rf "$WORK/store-scale"
fi

if [ "${BIG:-0}" = 1 ]; then
  if [ ! -f "$WORK/big/2017.csv" ]; then
    "$S" --out "$WORK/big" --waves 1 --respondents 16000000 --statements 40 --missing-rate 0.03 --seed 3
  fi
  rm -rf "$WORK/store-big"
  time_cmd big.gaptrack "$G" --store "$WORK/store-big" ingest "$WORK/big/2017.toml"
  rm -rf "$WORK/store-big"
fi

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; duckdb $DUCKDB_VERSION; $REPS repetitions, A/B alternating"
python3 - "$WORK/times" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, wall, rss = line.split()
    rows.setdefault(name, []).append((float(wall), int(rss)))
def med(name, i):
    return statistics.median(v[i] for v in rows[name])
print(f"{'workload':<10} {'gaptrack s':>11} {'duckdb s':>9} {'ratio':>6} {'gaptrack RSS MiB':>17} {'duckdb RSS MiB':>15}")
for w in ["ingest", "trendfirst", "trend", "adhoc", "filter", "join", "scale100000", "scale200000", "scale400000", "big"]:
    g, d = f"{w}.gaptrack", f"{w.replace('first', '')}.duckdb"
    if g not in rows:
        continue
    gt, gr = med(g, 0), med(g, 1) / 1024
    if d in rows:
        dt, dr = med(d, 0), med(d, 1) / 1024
        print(f"{w:<10} {gt:>11.3f} {dt:>9.3f} {gt / dt:>6.2f} {gr:>17.0f} {dr:>15.0f}")
    else:
        print(f"{w:<10} {gt:>11.3f} {'':>9} {'':>6} {gr:>17.0f}")
if "copy.duckdb" in rows and "ingest.gaptrack" in rows:
    ct, cr = med("copy.duckdb", 0), med("copy.duckdb", 1) / 1024
    print(f"floor: DuckDB's plain wide CSV -> Parquet copy {ct:.3f} s, {cr:.0f} MiB; "
          f"gaptrack's ingest / copy = {med('ingest.gaptrack', 0) / ct:.2f}")
PY
