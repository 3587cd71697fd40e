package pds

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// e2eNode returns node and checks that pds/e2e has pkgs installed
// (.ci/deps/pds-e2e.sh); without them the test skips, or fails under
// ARBOR_REQUIRE_E2E=1.
func e2eNode(t *testing.T, pkgs ...string) string {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		testfixtures.NeedE2E(t, false, what+"; install with .ci/deps/pds-e2e.sh (cd pds/e2e && npm ci)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	for _, pkg := range pkgs {
		if _, err := os.Stat(filepath.Join("e2e", "node_modules", pkg, "package.json")); err != nil {
			missing("pds/e2e/node_modules lacks " + pkg)
		}
	}
	return node
}

// runE2E runs a script of pds/e2e with args and fails the test if it fails.
func runE2E(t *testing.T, node, script string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Dir = "e2e"
	out, err := cmd.CombinedOutput()
	t.Logf("%s:\n%s", script, out)
	if err != nil {
		t.Fatalf("%s failed: %v", script, err)
	}
}

// startLocalhostServer starts a server whose public URL is
// http://localhost:PORT, as arbor pds serve's default is.
func startLocalhostServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	return startServerOn(t, ln, cfg)
}

// TestSkywareBotEndToEnd drives a server with @skyware/bot (pds/e2e/bot.mjs):
// log in with an app password, post, reply, like, with no AppView.
func TestSkywareBotEndToEnd(t *testing.T) {
	node := e2eNode(t, "@skyware/bot")
	ts := startServer(t, Config{})
	runE2E(t, node, "bot.mjs", ts.url)
}

// TestOfficialClientAppFlows drives preferences, the AppView proxy (to the
// stand-in AppView of proxy_test.go, which checks each JWT), app passwords
// and their limits, refresh reuse and deletion with @atproto/api
// (pds/e2e/app.mjs).
func TestOfficialClientAppFlows(t *testing.T) {
	node := e2eNode(t, "@atproto/api")
	av := &standInAppView{t: t, did: "did:web:appview.test"}
	hs := httptest.NewServer(av)
	t.Cleanup(hs.Close)
	mail := filepath.Join(t.TempDir(), "mail.log")
	f, err := os.OpenFile(mail, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	ts := startServer(t, Config{AppViewURL: hs.URL, AppViewDID: av.did, Mail: NewMailLog(true, f)})
	av.plcURL = ts.srv.PLCURL()
	runE2E(t, node, "app.mjs", ts.url, av.did, mail)
	av.mu.Lock()
	defer av.mu.Unlock()
	if len(av.seen) < 2 {
		t.Fatalf("the AppView saw %d requests", len(av.seen))
	}
	for _, s := range av.seen {
		if s.Err != "" || s.Aud != av.did || s.Lxm != strings.TrimPrefix(s.Path, "/xrpc/") || !strings.HasPrefix(s.Iss, "did:plc:") {
			t.Errorf("the AppView got %+v", s)
		}
	}
}
