#!/usr/bin/env bash
# Regenerates golden/repos and golden/diffs with the reference TypeScript
# implementation pinned in package-lock.json. Needs node (>= 20) and npm with
# access to the npm registry. Output is deterministic: rerunning must leave
# `git status golden/repos golden/diffs` clean.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
rm -rf ../repos ../diffs
node gen-repos.mjs
node gen-diffs.mjs
# self-check: every golden repo passes the reference verifier (except the
# deliberately non-canonical one, which must fail only the canonical-shape check)
for j in ../repos/*.json; do
  name=$(basename "$j" .json)
  [ "$name" = index ] && continue
  key=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).signingKey)' "$j")
  did=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).did)' "$j")
  if [ "$name" = noncanonical-flat ]; then
    ! node verify-car.mjs "../repos/$name.car" "$key" "$did" >/dev/null
  else
    node verify-car.mjs "../repos/$name.car" "$key" "$did" >/dev/null
  fi
done
echo "golden files regenerated"
