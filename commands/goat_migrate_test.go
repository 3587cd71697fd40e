package commands

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/arbor-atproto/arbor/account"
)

// TestGoatMigratesBetweenTwoArborPDSes runs goat (the last indigo build
// with cmd/goat, installed into .ci/bin by .ci/deps/goat.sh from the Go
// module proxy) as a user would: account login on the old PDS, plc
// request-token, account migrate to the new one, with ATP_PLC_HOST on
// the old PDS's embedded directory, so everything stays on loopback.
func TestGoatMigratesBetweenTwoArborPDSes(t *testing.T) {
	goat, err := filepath.Abs(filepath.Join("..", ".ci", "bin", "goat"))
	if err == nil {
		_, err = os.Stat(goat)
	}
	needE2E(t, err == nil, "goat not installed: run .ci/deps/goat.sh")
	w := startTwoPDS(t)
	state := t.TempDir()
	runGoat := func(args ...string) {
		t.Helper()
		cmd := exec.Command(goat, args...)
		cmd.Env = append(os.Environ(), "ATP_PLC_HOST="+w.oldURL, "XDG_STATE_HOME="+state, "XDG_CONFIG_HOME="+state, "XDG_CACHE_HOME="+state)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("goat %v: %v\n%s", args, err, out)
		}
	}
	runGoat("account", "login", "-u", w.did, "-p", "pw-alice", "--pds-host", w.oldURL)
	runGoat("account", "plc", "request-token")
	runGoat("account", "migrate", "--pds-host", w.newURL, "--new-handle", "alice.test", "--new-password", "pw-alice",
		"--new-email", "alice@example.com", "--plc-token", w.mail.lastToken(t))
	var st account.Status
	runJSON(t, &st, "account", "status", "--pds", w.newURL, "--handle", w.did, "--json")
	if st.Document.PDS != w.newURL || !st.Account.Activated || !st.Account.ValidDid || st.Account.IndexedRecords != 4 || st.Account.ImportedBlobs != 1 {
		t.Fatalf("after goat's migration: %+v %+v", st.Document, st.Account)
	}
	if old := w.status(t, w.oldURL); old["activated"] != false {
		t.Fatalf("the old account: %v", old)
	}
	if code := w.write(t, w.oldURL); code != 401 {
		t.Fatalf("a write to the old PDS answered %d", code)
	}
}
