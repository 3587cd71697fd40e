#!/usr/bin/env bash
# Times `arbor diff` of two snapshots that differ by 3,000 operations (1,000
# creates, 1,000 updates, 1,000 deletes), side by side with reading both
# files in full (sha256sum, arbor inspect) and with comparing them record by
# record (arbor ls of both, then comm).
#
#   bench/diff.sh [N...]           N records per snapshot (default: 100000 1000000)
#
# The snapshots: go run ./bench/genrecords -n N makes OLD's records,
# bench/diffmut applies the operations for NEW's, and arbor create signs both
# with one key (same DID, an older rev for OLD). Each command runs REPS times
# (default 3) and the best wall time counts: the machine is shared.
# Needs go, python3 and /usr/bin/time. Output: a Markdown table per N on
# stdout; files under bench/out/diff/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
OPS=${OPS:-3000}
OUT=bench/out/diff
mkdir -p "$OUT"
go build -o "$OUT/arbor" .
ARBOR=$OUT/arbor
DID=did:plc:arborbenchmarkaaaaaaaaaa
[ -s "$OUT/key.txt" ] || "$ARBOR" key generate -o "$OUT/key.txt" >/dev/null

# snapshots N: builds $OUT/old-N.car and $OUT/new-N.car unless present.
snapshots() {
  local n=$1
  if [ ! -s "$OUT/old-$n.car" ] || [ ! -s "$OUT/new-$n.car" ]; then
    echo "building two $n-record snapshots $OPS operations apart ..." >&2
    go run ./bench/genrecords -n "$n" > "$OUT/old-$n.jsonl"
    go run ./bench/diffmut -ops "$OPS" < "$OUT/old-$n.jsonl" > "$OUT/new-$n.jsonl"
    "$ARBOR" create --force --did "$DID" --key "$OUT/key.txt" --rev 3kabcdefghij2 "$OUT/old-$n.car" "$OUT/old-$n.jsonl" >&2
    "$ARBOR" create --force --did "$DID" --key "$OUT/key.txt" --rev 3kabcdefghik2 "$OUT/new-$n.car" "$OUT/new-$n.jsonl" >&2
    rm -f "$OUT/old-$n.jsonl" "$OUT/new-$n.jsonl"
  fi
}

# best CMD...: runs CMD REPS times (exit 1, "they differ", counts as
# success); prints the best wall time in seconds and the peak RSS in KiB.
best() {
  local b="" rss=0 t m rc
  for _ in $(seq "$REPS"); do
    rc=0
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" bash -c "$1" >/dev/null 2>"$OUT/stderr.txt" || rc=$?
    if [ "$rc" -gt 1 ]; then
      echo "failed ($rc): $1: $(head -c 300 "$OUT/stderr.txt")" >&2
      echo "failed 0"; return
    fi
    read -r t m < <(tail -n 1 "$OUT/time.txt")
    if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; fi
    if [ "$m" -gt "$rss" ]; then rss=$m; fi
  done
  echo "$b $rss"
}

table() {
  local n=$1 old=$OUT/old-$1.car new=$OUT/new-$1.car
  local size=$(( $(stat -c %s "$old") + $(stat -c %s "$new") ))
  cat "$old" "$new" > /dev/null # warm the page cache for every contender
  local visited
  visited=$("$ARBOR" diff --json "$old" "$new" | python3 -c '
import json, sys
d = json.load(sys.stdin)
s, v = d["summary"], d["visitedNodes"]
print("%d creates, %d updates, %d deletes; visited %d old + %d new MST nodes" % (s["creates"], s["updates"], s["deletes"], v["old"], v["new"]))' || true)
  echo
  echo "### $n records per snapshot ($((size / 1048576)) MiB for both), $(nproc) cores, $(date -u +%Y-%m-%d), best of $REPS"
  echo
  echo "arbor diff: $visited"
  echo
  echo "| command (both snapshots) | wall | vs sha256sum | vs arbor inspect | peak RSS |"
  echo "| --- | --- | --- | --- | --- |"
  local sha ins
  row() { # name wall rss
    printf '| %s | %.3f s | %.1f%% | %.1f%% | %d MiB |\n' "$1" "$2" \
      "$(awk "BEGIN{print 100*$2/$sha}")" "$(awk "BEGIN{print 100*$2/$ins}")" $(($3 / 1024))
  }
  read -r sha r1 < <(best "sha256sum $old $new")
  read -r ins r2 < <(best "$ARBOR inspect $old && $ARBOR inspect $new")
  row "sha256sum OLD NEW" "$sha" "$r1"
  row "arbor inspect OLD; arbor inspect NEW" "$ins" "$r2"
  read -r t r < <(best "$ARBOR diff $old $new"); row "**arbor diff OLD NEW**" "$t" "$r"
  read -r t r < <(best "$ARBOR diff --json $old $new"); row "arbor diff --json OLD NEW" "$t" "$r"
  read -r t r < <(best "$ARBOR diff --force --car $OUT/slice-$n.car $old $new"); row "arbor diff --car SLICE OLD NEW" "$t" "$r"
  read -r t r < <(best "$ARBOR diff $old - < $new"); row "arbor diff OLD - < NEW (full read of NEW)" "$t" "$r"
  read -r t r < <(best "comm -3 <($ARBOR ls $old) <($ARBOR ls $new) | wc -l"); row "arbor ls OLD, arbor ls NEW, comm -3 (record by record)" "$t" "$r"
}

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000 1000000)
for n in "${SIZES[@]}"; do snapshots "$n"; done
for n in "${SIZES[@]}"; do table "$n"; done
