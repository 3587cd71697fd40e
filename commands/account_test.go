package commands

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/account"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/pds"
)

// mailLog collects a test server's JSON mail log.
type mailLog struct{ testfixtures.SyncBuffer }

// lastToken is the token of the last mail logged.
func (m *mailLog) lastToken(t *testing.T) string {
	t.Helper()
	log := m.String()
	lines := strings.Split(strings.TrimSpace(log), "\n")
	var l struct{ Mail pds.Mail }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &l); err != nil || l.Mail.Token == "" {
		t.Fatalf("no mail logged: %q", log)
	}
	return l.Mail.Token
}

// startMailPDS starts a PDS in-process whose mail goes to the returned
// log; cfg.PublicURL is set.
func startMailPDS(t *testing.T, cfg pds.Config) (*httptest.Server, *pds.Server, *mailLog) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	t.Cleanup(ts.Close)
	box := &mailLog{}
	cfg.PublicURL, cfg.Mail = ts.URL, pds.NewMailLog(true, box)
	srv, err := pds.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts.Config.Handler = srv
	return ts, srv, box
}

// accountEnv points arbor account at a fresh configuration directory,
// the directory at plc and the password at pw.
func accountEnv(t *testing.T, plcHost, pw string) string {
	cfg := t.TempDir()
	// os.UserConfigDir's directory on Linux; HOME stays (go build in a
	// test keeps its cache).
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("ARBOR_PLC_HOST", plcHost)
	t.Setenv("ARBOR_PASSWORD", pw)
	return cfg
}

func auditLogFile(t *testing.T, dir, did string) (string, []map[string]any) {
	t.Helper()
	r := run(t, "", "plc", "history", did, "--raw")
	if r.code != 0 {
		t.Fatalf("plc history: %s", r.stderr)
	}
	f := filepath.Join(dir, "audit.json")
	os.WriteFile(f, []byte(r.stdout), 0o644)
	var log []map[string]any
	json.Unmarshal([]byte(r.stdout), &log)
	return f, log
}

// TestAddRotationKeyThenNullifyUndoesAPDSHandleChange: a key the user adds
// with arbor account add-rotation-key (in front of the PDS's key) nullifies,
// with arbor plc rollback, a handle change the PDS signed, in the embedded
// directory; the reference library (@did-plc/lib) accepts the log.
func TestAddRotationKeyThenNullifyUndoesAPDSHandleChange(t *testing.T) {
	ts, _, mail := startMailPDS(t, pds.Config{})
	var acct struct{ DID string }
	xrpcPost(t, ts.URL, "com.atproto.server.createAccount", "", "application/json", []byte(`{"handle":"alice.test","password":"pw-alice","email":"alice@example.com"}`), &acct)
	cfg := accountEnv(t, ts.URL, "pw-alice")
	dir := t.TempDir()

	var login struct{ DID, SessionFile string }
	if r := runJSON(t, &login, "account", "login", "--pds", ts.URL, "--handle", "alice.test", "--json"); r.code != 0 || login.DID != acct.DID {
		t.Fatalf("login: %d %s", r.code, r.stderr)
	}
	fi, err := os.Stat(login.SessionFile)
	if err != nil || fi.Mode().Perm() != 0o600 || !strings.HasPrefix(login.SessionFile, cfg) {
		t.Fatalf("session file %s: %v %v", login.SessionFile, fi, err)
	}
	if b, _ := os.ReadFile(login.SessionFile); bytes.Contains(b, []byte("pw-alice")) {
		t.Fatal("the password was kept")
	}
	var st account.Status
	runJSON(t, &st, "account", "status", "--json")
	if len(st.Document.RotationKeys) != 1 || !st.Account.Activated || st.Document.PDS != ts.URL {
		t.Fatalf("status: %+v", st)
	}
	pdsKey := st.Document.RotationKeys[0]
	var tok account.ServiceToken
	runJSON(t, &tok, "account", "service-auth", "--aud", "did:web:appview.test", "--lxm", "app.bsky.feed.getTimeline", "--ttl", "10m", "--json")
	if tok.Iss != acct.DID || tok.Aud != "did:web:appview.test" || tok.Lxm != "app.bsky.feed.getTimeline" || tok.Token == "" {
		t.Fatalf("service-auth: %+v", tok)
	}
	r := run(t, "", "account", "service-auth", "--aud", "did:web:appview.test", "--ttl", "10m")
	wantOneLineError(t, r, 1, "BadExpiration")

	mine := newKey(t, dir, "mine", false)
	r = run(t, "", "account", "add-rotation-key", mine.file)
	wantOneLineError(t, r, 1, "--plc-token")
	r = run(t, "", "account", "add-rotation-key", mine.file, "--plc-token", "WRONG-TOKEN")
	wantOneLineError(t, r, 1, "InvalidToken")
	if _, log := auditLogFile(t, dir, acct.DID); len(log) != 1 {
		t.Fatalf("a refused token changed the log: %d entries", len(log))
	}
	var added account.RotationChange
	if r := runJSON(t, &added, "account", "add-rotation-key", mine.file, "--plc-token", mail.lastToken(t), "--json"); r.code != 0 {
		t.Fatalf("add-rotation-key: %s", r.stderr)
	}
	if added.Position != 0 || len(added.RotationKeys) != 2 || added.RotationKeys[0] != mine.did || added.RotationKeys[1] != pdsKey {
		t.Fatalf("rotation keys after adding: %+v", added)
	}
	if r := run(t, "", "account", "update-handle", "mallory.test"); r.code != 0 {
		t.Fatalf("update-handle: %s", r.stderr)
	}
	logFile, _ := auditLogFile(t, dir, acct.DID)
	opFile := filepath.Join(dir, "nullify.json")
	if r := run(t, "", "plc", "rollback", logFile, "--mode", "nullify", "--last", "1", "--sign-with", mine.file, "-o", opFile); r.code != 0 {
		t.Fatalf("rollback: %s", r.stderr)
	}
	if r := run(t, "", "plc", "submit", opFile); r.code != 0 {
		t.Fatalf("submit: %s", r.stderr)
	}
	runJSON(t, &st, "account", "status", "--json")
	if st.Document.Handle != "at://alice.test" && st.Document.Handle != "alice.test" {
		t.Fatalf("handle after the nullification: %q", st.Document.Handle)
	}
	_, log := auditLogFile(t, dir, acct.DID)
	if len(log) != 4 || log[2]["nullified"] != true {
		t.Fatalf("log after the nullification: %v", log)
	}
	judgeWithReference(t, dir)
}

func TestAccountUsageErrors(t *testing.T) {
	accountEnv(t, "http://127.0.0.1:1", "")
	runUsageErrors(t, []usageCase{
		{"no kept session", []string{"account", "status"}, "arbor account login"},
		{"login without --pds", []string{"account", "login", "--handle", "alice.test"}, "usage"},
		{"--pds without --handle", []string{"account", "status", "--pds", "http://127.0.0.1:1"}, "--handle"},
		{"no password", []string{"account", "login", "--pds", "http://127.0.0.1:1", "--handle", "a.test"}, "ARBOR_PASSWORD"},
		{"not a key", []string{"account", "add-rotation-key", "nonsense"}, "PUBKEY"},
		{"not a handle", []string{"account", "update-handle", "not a handle"}, "not a handle"},
		{"service-auth without --aud", []string{"account", "service-auth"}, "--aud"},
	})
}

// judgeWithReference replays dir/audit.json through @did-plc/lib (the
// judge of golden/plc/gen/gen.js).
func judgeWithReference(t *testing.T, dir string) {
	t.Helper()
	gen := filepath.Join("..", "golden", "plc", "gen")
	_, err := os.Stat(filepath.Join(gen, "node_modules", "@did-plc", "lib"))
	needE2E(t, err == nil, "reference library not installed: run .ci/deps/plc-reference.sh")
	node, err := exec.LookPath("node")
	needE2E(t, err == nil, "node not installed")
	f, _ := os.Open(filepath.Join(dir, "audit.json"))
	defer f.Close()
	cmd := exec.Command(node, "gen.js", "--judge")
	cmd.Dir, cmd.Stdin = gen, f
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("@did-plc/lib refuses the log: %v: %s", err, out)
	}
}
