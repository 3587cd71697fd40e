#!/usr/bin/env bash
# Times `arbor backup` of an N-record account (records from
# bench/genrecords, built by `arbor create`, imported into a local
# `arbor pds serve`): the first, full backup; then REPS rounds, each of W
# new posts and one deletion on the PDS followed, side by side, by the
# incremental run (getRepo?since= applied to the kept CAR) and a full
# backup of the same state into a fresh folder; then an unchanged run.
# Prints a Markdown table: wall seconds (best and median of the rounds),
# CPU seconds of arbor backup and of the PDS serving it (median; less
# sensitive than wall time to a loaded machine), peak RSS of arbor backup,
# HTTP requests and bytes downloaded (from --json), with `uptime`.
#
#   bench/backup.sh                   # N=100000 REPS=5 W=20
#   N=1000 REPS=2 bench/backup.sh     # a quick check
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${N:-100000}" reps="${REPS:-5}" writes="${W:-20}"
work="${WORK:-$(mktemp -d)}"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -z "${WORK:-}" ] && rm -rf "$work"' EXIT
mkdir -p "$work"
export XDG_CONFIG_HOME="$work/config" # no kept session: no preferences request

(cd "$root" && go build -o "$work/arbor" . && go run ./bench/genrecords -n "$n" > "$work/records.jsonl")
a="$work/arbor"
"$a" pds serve --addr 127.0.0.1:0 --data "$work/pds" > "$work/pds.out" 2> "$work/pds.err" &
pid=$!
for _ in $(seq 300); do grep -q serving "$work/pds.out" 2>/dev/null && break; sleep 0.1; done
url=$(awk '{print $4}' "$work/pds.out")
"$a" pds account create --data "$work/pds" --handle bench.test --password benchbenchbench --json > "$work/acct.json"
did=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["did"])' "$work/acct.json")
tok=$(curl -s -X POST "$url/xrpc/com.atproto.server.createSession" -H 'Content-Type: application/json' \
  -d '{"identifier":"bench.test","password":"benchbenchbench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessJwt"])')
"$a" key generate -o "$work/key.txt" >/dev/null
"$a" create --did "$did" --key "$work/key.txt" "$work/big.car" "$work/records.jsonl" >/dev/null
curl -sf -X POST "$url/xrpc/com.atproto.repo.importRepo" -H "Authorization: Bearer $tok" \
  -H 'Content-Type: application/vnd.ipld.car' --data-binary "@$work/big.car" >/dev/null
echo "$n records imported for $did ($(du -h "$work/big.car" | cut -f1) CAR) at $url" >&2

# pdscpu: the PDS's CPU time so far, in clock ticks (utime + stime)
pdscpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# run LABEL DIR: one backup; wall, CPU and RSS, and its --json summary,
# appended to $work/LABEL.tsv
run() {
  local t0 t1 c0 c1
  c0=$(pdscpu)
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S %M" -o "$work/time.txt" \
    "$a" backup bench.test "$2" --plc-host "$url" --json --timeout 60s > "$work/last.json"
  t1=$(date +%s.%N)
  c1=$(pdscpu)
  python3 - "$t0" "$t1" "$work/last.json" "$work/time.txt" "$c0" "$c1" "$(getconf CLK_TCK)" >> "$work/$1.tsv" <<'PY'
import json, sys
s = json.load(open(sys.argv[3]))
u, sy, rss = open(sys.argv[4]).read().split()[-3:]
server = (int(sys.argv[6]) - int(sys.argv[5])) / int(sys.argv[7])
print("%.3f\t%d\t%d\t%s\t%d\t%.2f\t%.2f\t%d" % (float(sys.argv[2]) - float(sys.argv[1]), s["requests"], s["bytes"], s["mode"], s["records"],
      float(u) + float(sy), server, int(rss)))
PY
}
post() { # rkey-less createRecord
  curl -sf -X POST "$url/xrpc/com.atproto.repo.createRecord" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    -d "{\"repo\":\"$did\",\"collection\":\"app.bsky.feed.post\",\"record\":{\"\$type\":\"app.bsky.feed.post\",\"text\":\"bench $1\",\"createdAt\":\"2026-12-02T19:30:00.000Z\"}}" >/dev/null
}

echo "uptime before: $(uptime)" >&2
run first "$work/bk"
for r in $(seq "$reps"); do
  for w in $(seq "$writes"); do post "$r-$w"; done
  uri=$(curl -sf "$url/xrpc/com.atproto.repo.listRecords?repo=$did&collection=app.bsky.feed.post&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"][0]["uri"])')
  curl -sf -X POST "$url/xrpc/com.atproto.repo.deleteRecord" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    -d "{\"repo\":\"$did\",\"collection\":\"app.bsky.feed.post\",\"rkey\":\"${uri##*/}\"}" >/dev/null
  if [ $((r % 2)) = 1 ]; then run incremental "$work/bk"; run full "$work/full$r"; else run full "$work/full$r"; run incremental "$work/bk"; fi
  rm -rf "$work/full$r"
done
run unchanged "$work/bk"
"$a" backup verify "$work/bk" >/dev/null
echo "uptime after: $(uptime)" >&2

python3 - "$work" "$n" "$reps" "$writes" <<'PY'
import sys, statistics
work, n, reps, writes = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
print(f"| run ({n:,} records; {reps} rounds of {writes} posts and 1 deletion) | mode | wall best | wall median | CPU arbor | CPU PDS | peak RSS | requests | bytes downloaded |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for label in ["first", "full", "incremental", "unchanged"]:
    rows = [l.split("\t") for l in open(f"{work}/{label}.tsv").read().split("\n") if l]
    walls = sorted(float(r[0]) for r in rows)
    modes = sorted(set(r[3] for r in rows))
    reqs = sorted(set(int(r[1]) for r in rows))
    byts = statistics.median(int(r[2]) for r in rows)
    cpu = statistics.median(float(r[5]) for r in rows)
    srv = statistics.median(float(r[6]) for r in rows)
    rss = max(int(r[7]) for r in rows) / 1024
    print(f"| {label} | {', '.join(modes)} | {walls[0]:.2f} s | {statistics.median(walls):.2f} s | {cpu:.2f} s | {srv:.2f} s | {rss:.0f} MiB | {', '.join(map(str, reqs))} | {byts:,.0f} |")
PY
