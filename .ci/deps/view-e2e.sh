#!/usr/bin/env bash
# Installs what the arbor view end-to-end test (view/e2e_test.go) needs:
# Debian's chromium and its chromedriver (and graphviz, whose dot checks the
# DOT output of arbor mst). The test speaks WebDriver itself,
# so no node modules are needed. Run as root (CI is), then run the tests
# with ARBOR_REQUIRE_E2E=1 so that a missing browser fails instead of
# skipping.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && command -v dot >/dev/null 2>&1; then
  echo "view-e2e: chromium, chromedriver and dot already installed"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium chromium-driver graphviz fonts-dejavu-core
