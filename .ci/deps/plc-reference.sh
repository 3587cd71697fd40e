#!/usr/bin/env bash
# Installs the reference did:plc library and directory server (npm
# @did-plc/lib, @did-plc/server) that the plc cross-check tests run.
set -euo pipefail
cd "$(dirname "$0")/../../golden/plc/gen"
npm ci --no-audit --no-fund --loglevel=error
