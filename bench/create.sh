#!/usr/bin/env bash
# Times `arbor create` from N JSON-lines records (default 1,000,000) and
# `arbor rewrite --key` of the resulting CAR, with peak memory, and (unless
# REF=0) the reference TypeScript implementation building the same repo.
#
#   bench/create.sh [N]          # REF=0 to skip the reference; REF_N to give it fewer records
#
# Needs go, /usr/bin/time, and for the reference node >= 20 with
# golden/gen/node_modules (npm ci in golden/gen). Work files go to $WORK
# (default a temporary directory, removed at the end).
set -euo pipefail
n="${1:-1000000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${WORK:-$(mktemp -d)}"
[ -z "${WORK:-}" ] && trap 'rm -rf "$work"' EXIT
cd "$root"
go build -o "$work/arbor" .
arbor="$work/arbor"

# Records: bench/genrecords when present, otherwise a minimal generator. A
# records file of the same N left in $WORK by an earlier run is reused.
if [ -s "$work/records.jsonl" ] && [ "$(cat "$work/records.n" 2>/dev/null)" = "$n" ]; then
  :
elif [ -d bench/genrecords ]; then
  go run ./bench/genrecords -n "$n" > "$work/records.jsonl"
else
  awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "{\"collection\":\"app.bsky.feed.post\",\"rkey\":\"r%09d\",\"record\":{\"$type\":\"app.bsky.feed.post\",\"text\":\"post %d\",\"createdAt\":\"2024-01-01T00:00:00.000Z\"}}\n", i, i }' > "$work/records.jsonl"
fi
echo "$n" > "$work/records.n"
rm -f "$work/k256.key" "$work/p256.key"
"$arbor" key generate -o "$work/k256.key" >/dev/null
"$arbor" key generate --type p256 -o "$work/p256.key" >/dev/null
did=did:plc:arborbenchcreateaaaaaaaa

timed() { # label, command...
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null
  read -r secs kb < "$work/time"
  printf '%-34s %8.2f s  %8.0f MiB peak RSS\n' "$label" "$secs" "$(echo "$kb/1024" | bc -l)"
}

echo "records: $n ($(du -h "$work/records.jsonl" | cut -f1) of JSON lines); $(nproc) CPUs"
timed "arbor create" "$arbor" create --force --did "$did" --key "$work/k256.key" --rev 3ktt5626c222b "$work/out.car" "$work/records.jsonl"
echo "output CAR: $(stat -c %s "$work/out.car") bytes"
timed "arbor rewrite --key" "$arbor" rewrite --force "$work/out.car" -o "$work/rekeyed.car" --key "$work/p256.key" --rev 3ku22222222b2
timed "arbor verify" "$arbor" verify "$work/rekeyed.car"

if [ "${REF:-1}" != 0 ]; then
  refn="${REF_N:-$n}"
  head -n "$refn" "$work/records.jsonl" > "$work/ref.jsonl"
  /usr/bin/time -f "%e %M" -o "$work/time" node --max-old-space-size=16384 bench/create-ref.mjs "$work/ref.jsonl" "$work/ref.car" "$did" > "$work/ref.json"
  read -r secs kb < "$work/time"
  printf '%-34s %8.2f s  %8.0f MiB peak RSS  (%s)\n' "reference @atproto/repo, $refn recs" "$secs" "$(echo "$kb/1024" | bc -l)" "$(cat "$work/ref.json")"
  if [ "$refn" = "$n" ]; then
    ours=$("$arbor" inspect --json "$work/out.car" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).data))')
    theirs=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).dataCid)' "$work/ref.json")
    [ "$ours" = "$theirs" ] && echo "same MST root as the reference: $ours" || echo "MST ROOT DIFFERS: arbor $ours, reference $theirs"
  else
    "$arbor" create --force --did "$did" --key "$work/k256.key" --rev 3ktt5626c222b "$work/ours-ref.car" "$work/ref.jsonl" >/dev/null
    timed "arbor create, $refn recs" "$arbor" create --force --did "$did" --key "$work/k256.key" --rev 3ktt5626c222b "$work/ours-ref.car" "$work/ref.jsonl"
  fi
fi
