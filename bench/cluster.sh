#!/usr/bin/env bash
# The ad-hoc GROUP BY of the microdata (6 waves x 1,000,000 respondents x 40 statements,
# 240 million `responses` rows) locally and on a Ballista cluster of 1 and 2 executors on
# this machine (`gaptrack cluster`, loopback), whole-process wall times, alternating.
#
#   bench/cluster.sh             # 5 repetitions
#   REPS=3 NO_BUILD=1 bench/cluster.sh
#
# Needs: cargo, GNU time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/gaptrack-bench}
REPS=${REPS:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/gaptrack-target}
mkdir -p "$WORK"
if [ ! -x /usr/bin/time ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi
if [ "${NO_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release --quiet --bin gaptrack --bin gaptrack-sample)
fi
G=${GAPTRACK:-$CARGO_TARGET_DIR/release/gaptrack}
S=${GAPTRACK_SAMPLE:-$CARGO_TARGET_DIR/release/gaptrack-sample}
STORE=$WORK/store-cluster
if [ ! -d "$STORE/waves" ]; then
  if [ ! -f "$WORK/cluster/2022.csv" ]; then
    "$S" --out "$WORK/cluster" --waves 6 --respondents 1000000 --statements 40 --missing-rate 0.03 --seed 13
  fi
  "$G" --store "$STORE" ingest "$WORK"/cluster/*.toml > /dev/null
  rm -rf "$WORK/cluster"
fi
SQL="SELECT wave, statement, industry, count(*) AS n, 100 * sum(CASE WHEN agree THEN weight ELSE 0 END) / sum(weight) AS pct FROM responses WHERE agree IS NOT NULL GROUP BY wave, statement, industry ORDER BY wave, statement, industry"
TRIVIAL="SELECT count(*) FROM waves"

PIDS=()
stop() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; PIDS=(); sleep 1; }
trap stop EXIT
wait_port() { for _ in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
# start_cluster N: a scheduler on 50250 and N executors (each 2 concurrent tasks).
start_cluster() {
  GAPTRACK_LOG=error "$G" cluster scheduler --bind 127.0.0.1:50250 & PIDS+=($!)
  wait_port 50250
  for i in $(seq 1 "$1"); do
    GAPTRACK_LOG=error "$G" cluster executor --scheduler 127.0.0.1:50250 \
      --bind "127.0.0.1:$((50260 + 10 * i))" --concurrent-tasks 2 & PIDS+=($!)
    wait_port $((50260 + 10 * i)); wait_port $((50261 + 10 * i))
  done
  sleep 1
}
# same A B: the two CSV answers are equal, numbers to 1e-12 relative (the stages of a
# cluster add the same terms in another order; the last bits of a sum may differ).
same() {
  python3 - "$1" "$2" <<'PY'
import csv, math, sys
a, b = (list(csv.reader(open(p))) for p in sys.argv[1:3])
def eq(x, y):
    try:
        return math.isclose(float(x), float(y), rel_tol=1e-12, abs_tol=1e-12)
    except ValueError:
        return x == y
ok = len(a) == len(b) and all(len(r) == len(s) and all(map(eq, r, s)) for r, s in zip(a, b))
sys.exit(0 if ok else 1)
PY
}
time_cmd() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/t.out" "$@" > "$WORK/out.$name" 2> "$WORK/err.out" || {
    echo "FAILED: $name" >&2; cat "$WORK/err.out" >&2; exit 1; }
  echo "$name $(cat "$WORK/t.out")" >> "$WORK/times-cluster"
}

: > "$WORK/times-cluster"
for i in $(seq 1 "$REPS"); do
  time_cmd adhoc.local "$G" --store "$STORE" query "$SQL" --format csv
  time_cmd trivial.local "$G" --store "$STORE" query "$TRIVIAL" --format csv
  for n in 1 2; do
    start_cluster "$n"
    time_cmd "adhoc.cluster$n" "$G" --store "$STORE" --cluster df://127.0.0.1:50250 query "$SQL" --format csv
    time_cmd "trivial.cluster$n" "$G" --store "$STORE" --cluster df://127.0.0.1:50250 query "$TRIVIAL" --format csv
    stop
    same "$WORK/out.adhoc.local" "$WORK/out.adhoc.cluster$n" || { echo "cluster$n answered differently" >&2; exit 1; }
  done
done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $REPS repetitions; medians"
python3 - "$WORK/times-cluster" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, wall, rss = line.split()
    rows.setdefault(name, []).append((float(wall), int(rss)))
print(f"{'query':<22} {'wall s':>8} {'client RSS MiB':>15}")
for name in sorted(rows):
    w = statistics.median(v[0] for v in rows[name])
    r = statistics.median(v[1] for v in rows[name]) / 1024
    print(f"{name:<22} {w:>8.3f} {r:>15.0f}")
PY
