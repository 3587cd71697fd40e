package pds

import (
	"testing"
)

// TestOfficialClientEndToEnd drives a server with the official TypeScript
// client (@atproto/api) and verifies its repository with @atproto/repo:
// the script pds/e2e/e2e.mjs. It needs node and the packages installed by
// .ci/deps/pds-e2e.sh (npm ci in pds/e2e); without them it skips, unless
// ARBOR_REQUIRE_E2E=1, when it fails.
func TestOfficialClientEndToEnd(t *testing.T) {
	node := e2eNode(t, "@atproto/api", "@atproto/repo", "@atproto/crypto")
	ts := startServer(t, Config{})
	runE2E(t, node, "e2e.mjs", ts.url, ts.srv.PLCURL())
}
