#!/usr/bin/env bash
# Installs the official atproto TypeScript client and repository verifier
# (npm @atproto/api, @atproto/repo, @atproto/crypto, pinned in
# pds/e2e/package-lock.json) that the pds end-to-end test runs
# (go test ./pds -run TestOfficialClientEndToEnd).
set -euo pipefail
cd "$(dirname "$0")/../../pds/e2e"
npm ci --no-audit --no-fund --loglevel=error
