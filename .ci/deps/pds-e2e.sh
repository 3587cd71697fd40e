#!/usr/bin/env bash
# Installs the official atproto TypeScript client and repository verifier
# (npm @atproto/api, @atproto/repo, @atproto/crypto) and the bot framework
# @skyware/bot, pinned in
# pds/e2e/package-lock.json, that the pds end-to-end tests run
# (go test ./pds -run 'EndToEnd|AppFlows|Validation').
set -euo pipefail
cd "$(dirname "$0")/../../pds/e2e"
npm ci --no-audit --no-fund --loglevel=error
