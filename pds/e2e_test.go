package pds

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// TestOfficialClientEndToEnd drives a server with the official TypeScript
// client (@atproto/api) and verifies its repository with @atproto/repo:
// the script pds/e2e/e2e.mjs. It needs node and the packages installed by
// .ci/deps/pds-e2e.sh (npm ci in pds/e2e); without them it skips, unless
// ARBOR_REQUIRE_E2E=1, when it fails.
func TestOfficialClientEndToEnd(t *testing.T) {
	missing := func(what string) {
		t.Helper()
		testfixtures.NeedE2E(t, false, what+"; install with .ci/deps/pds-e2e.sh (cd pds/e2e && npm ci)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	for _, pkg := range []string{"@atproto/api", "@atproto/repo", "@atproto/crypto"} {
		if _, err := os.Stat(filepath.Join("e2e", "node_modules", pkg, "package.json")); err != nil {
			missing("pds/e2e/node_modules lacks " + pkg)
		}
	}
	ts := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "e2e.mjs", ts.url, ts.srv.PLCURL())
	cmd.Dir = "e2e"
	out, err := cmd.CombinedOutput()
	t.Logf("e2e.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the official client's end-to-end run failed: %v", err)
	}
}
