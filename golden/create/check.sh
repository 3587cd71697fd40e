#!/usr/bin/env bash
# Builds arbor, creates and rewrites the repos of cases.json with it, and has
# the reference TypeScript verifier (@atproto/repo, through
# golden/gen/verify-car.mjs) check each one: signature against our did:key,
# DID, every block, and the MST rebuilt by the reference giving our root.
# Rewrites golden/create/results.json. Needs go and node >= 20; run
# `npm ci` in golden/gen first if its node_modules is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(mktemp -d)/arbor"
(cd "$here/../.." && go build -o "$bin" .)
node "$here/check.mjs" "$bin"
