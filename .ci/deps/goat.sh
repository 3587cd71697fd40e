#!/usr/bin/env bash
# Installs goat (the last indigo build that still has cmd/goat) from the Go
# module proxy into .ci/bin, for commands' test of `goat account migrate`
# between two arbor PDSes (commands/goat_migrate_test.go). A peer, never a
# dependency of arbor.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x bin/goat ]; then exit 0; fi
GOBIN="$(pwd)/bin" go install github.com/bluesky-social/indigo/cmd/goat@v0.0.0-20251003000214-3259b215110e
