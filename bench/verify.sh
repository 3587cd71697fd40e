#!/usr/bin/env bash
# Times `arbor verify` and `arbor inspect` on a large repository, side by
# side in one run with the floor (sha256sum of the same file), goat, and the
# reference TypeScript verifier (@atproto/repo verifyRepoCar).
#
#   bench/verify.sh [N]            N records (default 1000000)
#   REPS=3 REF=0 bench/verify.sh   best of REPS runs; REF=0 skips the slow reference
#
# Needs: go; /usr/bin/time (Debian package "time"); for the peers, goat
# (go install github.com/bluesky-social/indigo/cmd/goat@v0.0.0-20251003000214-3259b215110e)
# and `npm ci` in golden/gen. A peer that is missing is reported, not timed.
# Output: a Markdown table on stdout; files under bench/out/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
REPS=${REPS:-3}
OUT=bench/out
mkdir -p "$OUT"
go build -o "$OUT/arbor" .
ARBOR=$OUT/arbor
CAR=$OUT/repo-$N.car
if [ ! -s "$CAR" ]; then
  echo "building a $N-record repository with arbor create ..." >&2
  go run ./bench/genrecords -n "$N" > "$OUT/records-$N.jsonl"
  rm -f "$OUT/key.txt"
  "$ARBOR" key generate -o "$OUT/key.txt" >/dev/null
  "$ARBOR" create --did did:plc:arborbenchmarkaaaaaaaaaa --key "$OUT/key.txt" --rev 3kabcdefghij2 "$CAR" "$OUT/records-$N.jsonl" >&2
fi
DIDKEY=$("$ARBOR" key inspect --json "$OUT/key.txt" | python3 -c 'import json,sys; print(json.load(sys.stdin)["didKey"])')
SIZE=$(stat -c %s "$CAR")
GOAT=${GOAT:-$(command -v goat || echo "$HOME/go/bin/goat")}

# run NAME CMD...: REPS runs; prints the best wall time and the peak RSS.
run() {
  local name=$1; shift
  local best="" rss=0
  for _ in $(seq "$REPS"); do
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" >/dev/null 2>"$OUT/stderr.txt" || {
      echo "| $name | failed: $(head -c 200 "$OUT/stderr.txt" | tr '\n' ' ') | | |"; return; }
    read -r t m < "$OUT/time.txt"
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    [ "$m" -gt "$rss" ] && rss=$m
  done
  FLOOR=${FLOOR:-$best}
  printf '| %s | %.2f s | %s | %d MiB (%.2fx file) |\n' "$name" "$best" "$(awk "BEGIN{if ($FLOOR > 0) printf \"%.2fx\", $best/$FLOOR; else print \"-\"}")" $((rss/1024)) "$(awk "BEGIN{print $rss*1024/$SIZE}")"
}

echo "file: $CAR ($N records, $((SIZE/1048576)) MiB), $(nproc) cores, $(date -u +%Y-%m-%d), best of $REPS"
echo
echo "| command | wall | vs sha256sum | peak RSS |"
echo "| --- | --- | --- | --- |"
FLOOR=
run "sha256sum" sha256sum "$CAR"
run "arbor inspect" "$ARBOR" inspect "$CAR"
run "arbor verify --key (everything)" "$ARBOR" verify --key "$DIDKEY" "$CAR"
if [ -x "$GOAT" ]; then
  run "goat repo inspect" "$GOAT" repo inspect "$CAR"
  run "goat repo ls (loads the repo)" "$GOAT" repo ls "$CAR"
else
  echo "| goat | not installed | | |"
fi
if [ "${REF:-1}" = 0 ]; then
  echo "| reference verifier | skipped (REF=0) | | |"
elif [ -d golden/gen/node_modules ]; then
  REPS=1 run "reference verifyRepoCar (@atproto/repo)" node --max-old-space-size=16000 golden/gen/bench-verify.mjs "$CAR" "$DIDKEY"
else
  echo "| reference verifier | not installed (npm ci in golden/gen) | | |"
fi
