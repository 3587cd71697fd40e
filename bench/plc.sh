#!/usr/bin/env bash
# Times `arbor plc verify --export` on a generated did:plc export (DIDS
# identities x 5 operations, JSON lines of {did, operation, cid, nullified,
# createdAt}), side by side with the reference library (@did-plc/lib's
# validateOperationLog, golden/plc/gen/bench.js) on the first REFDIDS
# identities of the same export, and with the bare cost of the signature
# checks (go test -bench VerifySignature ./plc).
#
#   bench/plc.sh [DIDS]          default 200000 (1,000,000 operations)
#   REFDIDS=4000 bench/plc.sh    how many identities the reference validates
#   EVERY=2000000 bench/plc.sh   seconds between an identity's operations
#                                (default DIDS: the 2,000,000-identity
#                                export's spacing is 23 days)
#   SHARDS=4 bench/plc.sh        also time --shard 0/4 (one machine's part)
#
# Memory is bounded by identities, not operations: the peak RSS per
# identity is printed, and extrapolated to 2,000,000 identities.
#
# Needs go, node and `npm ci` in golden/plc/gen. Output: a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
DIDS=${1:-200000}
REFDIDS=${REFDIDS:-4000}
OUT=bench/out
mkdir -p "$OUT"
EVERY=${EVERY:-$DIDS}
EXPORT=$OUT/plc-export-$DIDS-$EVERY.jsonl
if [ ! -s "$EXPORT" ]; then
  echo "generating $DIDS identities x 5 operations, $EVERY s apart ..." >&2
  go run ./plc/internal/gengolden -export "$DIDS" "$EXPORT.tmp" "$EVERY"
  mv "$EXPORT.tmp" "$EXPORT"
fi
go build -o "$OUT/arbor" .
OPS=$(wc -l < "$EXPORT")

/usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$OUT/arbor" plc verify --json --export "$EXPORT" > "$OUT/plc-verify.json"
read -r T M < "$OUT/time.txt"

# The reference on the complete logs of the first REFDIDS identities
# (REF=0, or no `npm ci` in golden/plc/gen, skips it).
REFRATE=
if [ "${REF:-1}" != 0 ] && [ -d golden/plc/gen/node_modules ]; then
python3 - "$EXPORT" "$REFDIDS" > "$OUT/plc-export-ref.jsonl" <<'PY'
import json, sys
keep, n = set(), int(sys.argv[2])
for line in open(sys.argv[1]):
    d = json.loads(line)["did"]
    if d not in keep and len(keep) < n:
        keep.add(d)
    if d in keep:
        sys.stdout.write(line)
PY
REF=$(node golden/plc/gen/bench.js "$OUT/plc-export-ref.jsonl")
REFRATE=$(echo "$REF" | python3 -c 'import json,sys; print(json.load(sys.stdin)["opsPerSecond"])')
fi
SIGNS=$(go test -run=NONE -bench 'BenchmarkVerifySignature' -benchtime=2000x ./plc | awk '/ns\/op/ {print $3; exit}')

if [ -n "${SHARDS:-}" ]; then
  /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$OUT/arbor" plc verify --json --export "$EXPORT" --shard "0/$SHARDS" > "$OUT/plc-verify-shard.json"
  read -r TS MS < "$OUT/time.txt"
fi

echo "export: $EXPORT ($OPS operations, $DIDS identities, $EVERY s apart), $(nproc) cores, $(date -u +%Y-%m-%d), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| figure | value |"
echo "| --- | --- |"
printf '| arbor plc verify --export, all cores | %.1f s, %d ops/s, %d MiB peak RSS |\n' "$T" "$(awk "BEGIN{print int($OPS/$T)}")" $((M/1024))
printf '| arbor, per core | %d ops/s |\n' "$(awk "BEGIN{print int($OPS/$T/$(nproc))}")"
if [ -n "$REFRATE" ]; then
  printf '| reference @did-plc/lib, one core, first %d identities | %d ops/s |\n' "$REFDIDS" "$REFRATE"
  printf '| arbor per core vs reference | %.1fx |\n' "$(awk "BEGIN{print $OPS/$T/$(nproc)/$REFRATE}")"
else
  echo "| reference @did-plc/lib | skipped (REF=0, or npm ci in golden/plc/gen) |"
fi
printf '| bare k256 signature check (go test -bench) | %d ns, %d checks/s per core |\n' "$SIGNS" "$(awk "BEGIN{print int(1e9/$SIGNS)}")"
# Each operation takes two checks: the first rotation key fails.
BARE=$(awk "BEGIN{print $OPS*2*$SIGNS/1e9/$(nproc)}")
printf '| bare cost of the checks on all cores | %.1f s; arbor at %.2fx it |\n' "$BARE" "$(awk "BEGIN{print $T/$BARE}")"
printf '| peak RSS per identity | %d bytes; %.0f MiB for 2,000,000 identities at that rate |\n' "$(awk "BEGIN{print int($M*1024/$DIDS)}")" "$(awk "BEGIN{print $M/1024/$DIDS*2000000}")"
if [ -n "${SHARDS:-}" ]; then
  printf '| --shard 0/%d (one of %d machines) | %.1f s, %d MiB peak RSS |\n' "$SHARDS" "$SHARDS" "$TS" $((MS/1024))
fi
