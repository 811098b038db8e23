#!/usr/bin/env bash
# Many waves: a store grown to 100 waves x 20,000 respondents x 40 statements, one
# `gaptrack ingest` per wave (as a tracker accumulates them), on local disk and on S3
# (moto on loopback). At 25, 50 and 100 waves: `SELECT 1`, `gap_trend` (its first run
# after the load, which computes and keeps it, and then the runs that read it) and `report`,
# whole-process wall times (medians of REPS) and, on S3, the object-store requests each
# command made (counted from moto's request log, by kind). Every ingest is timed; the
# "one more wave" figure at N waves is the median of the ingests of waves N-1 .. N+3.
#
#   bench/waves.sh                 # local and s3, REPS=3
#   NO_BUILD=1 bench/waves.sh local
#
# Needs: cargo, GNU time; for s3, moto's server (GAPTRACK_MOTO, as the tests use).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/gaptrack-bench}
REPS=${REPS:-3}
AT=${AT:-25 50 100}                 # the store sizes measured
RESPONDENTS=${RESPONDENTS:-20000}
LAST=$(( $(echo "$AT" | tr ' ' '\n' | sort -n | tail -1) + 3 ))
ONLY=${1:-all}
MOTO=${GAPTRACK_MOTO:-$HOME/.cache/gaptrack-venv/bin/moto_server}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/gaptrack-target}
mkdir -p "$WORK"
if [ "${NO_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release --quiet --bin gaptrack --bin gaptrack-sample)
fi
G=${GAPTRACK:-$CARGO_TARGET_DIR/release/gaptrack}
S=${GAPTRACK_SAMPLE:-$CARGO_TARGET_DIR/release/gaptrack-sample}
DATA=$WORK/waves-$LAST-$RESPONDENTS
if [ ! -f "$DATA/$((2016 + LAST)).toml" ]; then
  "$S" --out "$DATA" --waves "$LAST" --respondents "$RESPONDENTS" --statements 40 --missing-rate 0.03 --seed 17
fi
OUT=$WORK/times-waves
: > "$OUT"
MOTO_LOG=$WORK/moto.log
PORT=50390

# The requests since line $1 of moto's log, as "total list get put head delete".
request_kinds() {
  if [ ! -f "$MOTO_LOG" ]; then echo "0 0 0 0 0 0"; return; fi
  tail -n +"$(( $1 + 1 ))" "$MOTO_LOG" | sed 's/\x1b\[[0-9;]*m//g' | grep '" [0-9][0-9][0-9] ' | awk '
    / "GET [^ ]*list-type/ { l++; next } / "GET / { g++ } / "PUT / { p++ }
    / "HEAD / { h++ } / "DELETE / { o++ } / "POST / { o++ }
    END { printf "%d %d %d %d %d %d\n", NR, l, g, p, h, o }'
}
# time_cmd TARGET NAME CMD...: appends "target name wall_s rss_kb requests..." to $OUT.
time_cmd() {
  local target=$1 name=$2; shift 2
  local before=0
  if [ -f "$MOTO_LOG" ]; then before=$(wc -l < "$MOTO_LOG"); fi
  /usr/bin/time -f "%e %M" -o "$WORK/t.out" "$@" > /dev/null 2> "$WORK/err.out" || {
    echo "FAILED: $target $name" >&2; cat "$WORK/err.out" >&2; exit 1; }
  sleep 0.2   # moto writes its log line after the response
  echo "$target $name $(cat "$WORK/t.out") $(request_kinds "$before")" >> "$OUT"
}

run_target() {
  local target=$1 store=$2
  for w in $(seq 1 "$LAST"); do
    time_cmd "$target" "ingest$w" "$G" --store "$store" ingest "$DATA/$((2016 + w)).toml"
    if [[ " $AT " == *" $w "* ]]; then
      # The first query of a view after a load computes it and keeps its rows; the
      # repetitions below read them (docs/sql.md, "Kept results").
      time_cmd "$target" "gap_trend_first@$w" "$G" --store "$store" query gap_trend --format csv
      for _ in $(seq 1 "$REPS"); do
        time_cmd "$target" "select1@$w" "$G" --store "$store" query "SELECT 1" --format csv
        time_cmd "$target" "gap_trend@$w" "$G" --store "$store" query gap_trend --format csv
        rm -rf "$WORK/report-waves"
        time_cmd "$target" "report@$w" "$G" --store "$store" report --out "$WORK/report-waves"
      done
    fi
  done
}

if [ "$ONLY" = all ] || [ "$ONLY" = local ]; then
  rm -rf "$WORK/store-waves"
  rm -f "$MOTO_LOG"
  run_target local "$WORK/store-waves"
fi
if [ "$ONLY" = all ] || [ "$ONLY" = s3 ]; then
  rm -f "$MOTO_LOG"
  "$MOTO" -H 127.0.0.1 -p "$PORT" 2> "$MOTO_LOG" > /dev/null & MOTO_PID=$!
  trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
  curl -s -X PUT "http://127.0.0.1:$PORT/bench" > /dev/null
  export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_ALLOW_HTTP=true AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  run_target s3 "s3://bench/waves"
fi

echo "machine: $(nproc) cores; $REPS repetitions; medians; requests = object-store requests of one command (S3)"
python3 - "$OUT" $AT <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    target, name, wall, rss, *req = line.split()
    rows.setdefault((target, name), []).append((float(wall), int(rss), *map(int, req)))
def med(vals, i):
    return statistics.median(v[i] for v in vals)
print(f"{'target':<6} {'command':<20} {'wall s':>7} {'RSS MiB':>8} {'requests':>9} {'list':>5} {'get':>5} {'put':>5} {'head':>5} {'other':>5}")
for target in ("local", "s3"):
    for n in map(int, sys.argv[2:]):
        ingests = [rows[(target, f"ingest{w}")][0] for w in range(n - 1, n + 4) if (target, f"ingest{w}") in rows]
        named = [(f"ingest@{n}", ingests)] + [(f"{c}@{n}", rows.get((target, f"{c}@{n}"), [])) for c in ("select1", "gap_trend_first", "gap_trend", "report")]
        for name, vals in named:
            if not vals:
                continue
            print(f"{target:<6} {name:<20} {med(vals, 0):>7.3f} {med(vals, 1) / 1024:>8.0f} " +
                  " ".join(f"{med(vals, i):>{5 if i > 2 else 9}.0f}" for i in range(2, 8)))
PY
