#!/usr/bin/env bash
# CPU profiles of the benchmark workloads: `perf record` of the whole process, then the
# functions with the most samples of their own (flat profile; the release build has no
# frame pointers, so no call graphs). Run bench/run.sh first: it generates the data.
#
#   bench/profile.sh                  # ingest, trend, select1, adhoc
#   bench/profile.sh ingest trend     # some of them
#   TOP=40 bench/profile.sh adhoc     # more lines per profile
#
# Needs: perf (Debian: linux-perf) and a release binary with symbols; the build below
# keeps them (the shipped profile strips them):
#   cargo build --release --bin gaptrack --config 'profile.release.package.gaptrack.strip=false'
set -euo pipefail
WORK=${WORK:-/tmp/gaptrack-bench}
TOP=${TOP:-25}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/gaptrack-target}
G=${GAPTRACK:-$CARGO_TARGET_DIR/release/gaptrack}
if ! readelf -S "$G" 2>/dev/null | grep -q "\.symtab"; then
  echo "$G has no symbols: build it with strip=false (see the head of this script)" >&2
  exit 2
fi
WORKLOADS=("$@")
[ ${#WORKLOADS[@]} -gt 0 ] || WORKLOADS=(ingest trend select1 adhoc)

ADHOC="SELECT wave, statement, industry, count(*) AS n, 100 * sum(CASE WHEN agree THEN weight ELSE 0 END) / sum(weight) AS pct FROM responses WHERE agree IS NOT NULL GROUP BY wave, statement, industry ORDER BY wave, statement, industry"

profile() {
  local name=$1
  shift
  perf record -q -F 2000 -o "$WORK/perf.$name.data" -- "$@" > /dev/null 2>&1
  echo "== $name: $*"
  perf report -i "$WORK/perf.$name.data" --no-children --sort dso,symbol --percent-limit 0.8 \
    --stdio 2> /dev/null | grep -v '^#' | grep -v '^$' | head -n "$TOP" | cut -c1-150
}

for w in "${WORKLOADS[@]}"; do
  case $w in
    ingest)
      rm -rf "$WORK/store-profile"
      profile ingest "$G" --store "$WORK/store-profile" ingest "$WORK/ingest/2017.toml"
      rm -rf "$WORK/store-profile" ;;
    trend) profile trend "$G" --store "$WORK/store-trend" query gap_trend --format csv ;;
    select1) profile select1 "$G" --store "$WORK/store-trend" query "SELECT 1" --format csv ;;
    adhoc) profile adhoc "$G" --store "$WORK/store-trend" query "$ADHOC" --format csv ;;
    *) echo "unknown workload $w (ingest, trend, select1, adhoc)" >&2; exit 2 ;;
  esac
done
