#!/usr/bin/env bash
# Times `arbor verify` and `arbor inspect` on a large repository, side by
# side in one run with two floors: sha256sum of the same file, and
# bench/floor (read the file once, check every block's SHA-256 against its
# CID on every core with the CPU's SHA instructions); then goat and the
# reference TypeScript verifier (@atproto/repo verifyRepoCar). Twice: on the
# repository as arbor create writes it (commit, nodes, records), and in the
# block order of a PDS export (nodes and records interleaved, made by
# bench/interleave).
#
#   bench/verify.sh [N]            N records (default 1000000)
#   REPS=3 REF=0 bench/verify.sh   best of REPS runs, and REPS paired rounds
#                                  (see paired); REF=0 skips the slow reference
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
go build -o "$OUT/floor" ./bench/floor
go build -o "$OUT/interleave" ./bench/interleave
ARBOR=$OUT/arbor
CAR=$OUT/repo-$N.car
if [ ! -s "$CAR" ]; then
  echo "building a $N-record repository with arbor create ..." >&2
  go run ./bench/genrecords -n "$N" > "$OUT/records-$N.jsonl"
  # One key for every repository under bench/out (bench/diff.sh's too):
  # making a new one here would leave the others signed by a lost key.
  [ -s "$OUT/key.txt" ] || "$ARBOR" key generate -o "$OUT/key.txt" >/dev/null
  "$ARBOR" create --did did:plc:arborbenchmarkaaaaaaaaaa --key "$OUT/key.txt" --rev 3kabcdefghij2 "$CAR" "$OUT/records-$N.jsonl" >&2
fi
IL=$OUT/repo-$N-interleaved.car
if [ ! -s "$IL" ]; then
  "$OUT/interleave" "$CAR" > "$IL.tmp" && mv "$IL.tmp" "$IL"
fi
DIDKEY=$("$ARBOR" key inspect --json "$OUT/key.txt" | python3 -c 'import json,sys; print(json.load(sys.stdin)["didKey"])')
SIZE=$(stat -c %s "$CAR")
GOAT=${GOAT:-$(command -v goat || echo "$HOME/go/bin/goat")}

# measure CMD...: REPS runs; sets T (best wall time), CPU (user + system
# of that run) and RSS (peak, KiB), or T= when the command failed.
measure() {
  local t u sy m
  T= CPU= RSS=0
  for _ in $(seq "$REPS"); do
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/time.txt" "$@" >/dev/null 2>"$OUT/stderr.txt" || { T=; return; }
    read -r t u sy m < "$OUT/time.txt"
    if [ -z "$T" ] || awk "BEGIN{exit !($t < $T)}"; then T=$t; CPU=$(awk "BEGIN{print $u+$sy}"); fi
    if [ "$m" -gt "$RSS" ]; then RSS=$m; fi
  done
}

# row NAME: a table row for the last measure, against $SHA and $FLOOR.
row() {
  if [ -z "$T" ]; then
    echo "| $1 | failed: $(head -c 200 "$OUT/stderr.txt" | tr '\n' ' ') | | | | |"; return
  fi
  printf '| %s | %.2f s | %.2f s | %.2fx | %.2fx | %d MiB (%.2fx file) |\n' "$1" "$T" "$CPU" \
    "$(awk "BEGIN{print $T/$SHA}")" "$(awk "BEGIN{print $T/$FLOOR}")" $((RSS/1024)) "$(awk "BEGIN{print $RSS*1024/$SIZE}")"
}

# run NAME CMD...: measure and print a row.
run() { local name=$1; shift; measure "$@"; row "$name"; }

# paired F: the host's speed drifts from minute to minute, so best-of
# figures taken one command after another can compare a fast minute with a
# slow one. REPS rounds each run sha256sum, the floor, inspect and verify
# once, in that order; each round's ratios are to that round's sha256sum
# and floor, and the line gives their median and range.
paired() {
  local r
  : > "$OUT/rounds.txt"
  # once ROUND NAME CMD...: one timed run, appended to rounds.txt.
  once() {
    local r=$1 c=$2; shift 2
    /usr/bin/time -f "%e" -o "$OUT/time.txt" "$@" >/dev/null 2>&1 || echo "paired: $c failed" >&2
    echo "$r $c $(cat "$OUT/time.txt")" >> "$OUT/rounds.txt"
  }
  for r in $(seq "$REPS"); do
    once "$r" sha sha256sum "$1"
    once "$r" floor "$OUT/floor" "$1"
    once "$r" inspect "$ARBOR" inspect "$1"
    once "$r" verify "$ARBOR" verify --key "$DIDKEY" "$1"
  done
  awk -v reps="$REPS" '
    { t[$1, $2] = $3 }
    function med(a, n,   i, j, x) {
      for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j+1] = a[j]; a[j+1] = x }
      return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
    }
    END {
      for (r = 1; r <= reps; r++) if (t[r, "sha"] == 0 || t[r, "floor"] == 0) { print "run by run: too fast to time"; exit }
      split("inspect verify", cmds, " ")
      for (k = 1; k <= 2; k++) {
        c = cmds[k]
        for (r = 1; r <= reps; r++) { s[r] = t[r, c] / t[r, "sha"]; f[r] = t[r, c] / t[r, "floor"] }
        lo = hi = s[1]; for (r = 2; r <= reps; r++) { if (s[r] < lo) lo = s[r]; if (s[r] > hi) hi = s[r] }
        printf "run by run (%d rounds): arbor %s at %.2fx sha256sum (%.2f to %.2f), %.2fx the floor\n", reps, c, med(s, reps), lo, hi, med(f, reps)
      }
    }' "$OUT/rounds.txt"
}

for F in "$CAR" "$IL"; do
  echo "file: $F ($N records, $((SIZE/1048576)) MiB), $(nproc) cores, $(date -u +%Y-%m-%d), best of $REPS, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| command | wall | CPU | vs sha256sum | vs floor | peak RSS |"
  echo "| --- | --- | --- | --- | --- | --- |"
  measure sha256sum "$F"; SHA=$T; S=("$T" "$CPU" "$RSS")
  measure "$OUT/floor" "$F"; FLOOR=$T
  row "floor (bench/floor: read once, SHA-256 of every block on every core)"
  T=${S[0]} CPU=${S[1]} RSS=${S[2]}; row "sha256sum"
  run "arbor inspect" "$ARBOR" inspect "$F"
  run "arbor verify --key (everything)" "$ARBOR" verify --key "$DIDKEY" "$F"
  run "arbor verify --key --lexicon (and every record against its schema)" "$ARBOR" verify --key "$DIDKEY" --lexicon "$F"
  echo
  paired "$F"
  echo
done
echo "| peers, on $CAR | wall | CPU | vs sha256sum | vs floor | peak RSS |"
echo "| --- | --- | --- | --- | --- | --- |"
if [ -x "$GOAT" ]; then
  run "goat repo inspect" "$GOAT" repo inspect "$CAR"
  run "goat repo ls (loads the repo)" "$GOAT" repo ls "$CAR"
else
  echo "| goat | not installed | | | | |"
fi
if [ "${REF:-1}" = 0 ]; then
  echo "| reference verifier | skipped (REF=0) | | | | |"
elif [ -d golden/gen/node_modules ]; then
  REPS=1 run "reference verifyRepoCar (@atproto/repo)" node --max-old-space-size=16000 golden/gen/bench-verify.mjs "$CAR" "$DIDKEY"
else
  echo "| reference verifier | not installed (npm ci in golden/gen) | | | | |"
fi
