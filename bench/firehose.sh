#!/usr/bin/env bash
# Benchmarks com.atproto.sync.subscribeRepos of `arbor pds serve` side by
# side with the reference PDS (npm @atproto/pds, started as bench/pds.sh
# starts it, from bench/out/refpds), both on loopback, one after the other,
# driven by the same Go client (bench/pdsload firehose): events per second
# delivered to 1 and to 100 WebSocket subscribers while C clients write
# (createRecord, one account each), and the write latency the subscribers
# add (p50/p99 against a phase with no subscriber). Each phase runs RUNS
# times and the best run is kept. Prints a Markdown table.
#
#   bench/firehose.sh                        # arbor and the reference
#   REF=0 bench/firehose.sh                  # arbor only
#   N=2000 C=20 SUBS=0,1,100 RUNS=2 bench/firehose.sh
#
# The reference must already be installed (run bench/pds.sh once; it
# installs Node 22 and @atproto/pds under bench/out/refpds).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="${SRC:-$root}"
n="${N:-2000}" clients="${C:-20}" subs="${SUBS:-0,1,100}" runs="${RUNS:-2}" maxtime="${MAX_TIME:-60s}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

(cd "$src" && go build -o "$work/arbor" . && go build -o "$work/pdsload" ./bench/pdsload)
rev=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)

# shellcheck source=bench/pdsbench.sh
. "$root/bench/pdsbench.sh"
load() { # label url
  "$work/pdsload" firehose -label "$1" -url "$2" -n "$n" -clients "$clients" -subs "$subs" -runs "$runs" \
    -max-time "$maxtime" > "$work/$1.json"
}

echo "$(nproc) CPUs; $n createRecord per phase by $clients clients; subscribers: $subs; best of $runs" >&2
bench_arbor

if [ "${REF:-1}" != 0 ]; then
  if [ -z "$(reference_version)" ]; then
    echo "the reference is not installed under $refdir: run bench/pds.sh once" >&2
    exit 2
  fi
  start_reference "$work/refdata" "$work/reference.out"
  load reference "$ref_url"
  results+=("$work/reference.json")
  refver=$(reference_version)
  echo "reference: @atproto/pds $refver on Node $("$ref_node" --version)" >&2
fi

echo
echo "arbor pds at $rev; reference @atproto/pds ${refver:-not run}; $(nproc) CPUs; $(go version | awk '{print $3}')"
echo
"$work/pdsload" fhtable "${results[@]}"
