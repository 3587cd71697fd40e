package commands

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/account"
	"github.com/arbor-atproto/arbor/internal/atomicfile"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/migrate"
	"github.com/arbor-atproto/arbor/pds"
)

// twoPDS is an old PDS with alice (posts, a profile with an avatar blob,
// preferences, a rotation key she holds in front of the PDS's) and a new
// PDS using the old one's embedded directory.
type twoPDS struct {
	oldURL, newURL, did string
	mail                *mailLog
	key                 testKey
	access              string
	blob                []byte
	dir                 string
}

func call(t *testing.T, base, method, token string, body any, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	xrpcPost(t, base, method, token, "application/json", b, out)
}

func startTwoPDS(t *testing.T) *twoPDS {
	t.Helper()
	old, _, mail := startMailPDS(t, pds.Config{Hostname: "old.test"})
	nw, _, _ := startMailPDS(t, pds.Config{Hostname: "new.test", PLCURL: old.URL})
	w := &twoPDS{oldURL: old.URL, newURL: nw.URL, mail: mail, dir: t.TempDir(), blob: []byte("\x89PNG\r\n\x1a\n avatar bytes")}
	var acct struct{ DID, AccessJwt string }
	call(t, w.oldURL, "com.atproto.server.createAccount", "", map[string]string{"handle": "alice.test", "password": "pw-alice", "email": "alice@example.com"}, &acct)
	w.did, w.access = acct.DID, acct.AccessJwt
	for _, text := range []string{"one", "two", "three"} {
		call(t, w.oldURL, "com.atproto.repo.createRecord", w.access, map[string]any{"repo": w.did, "collection": "app.bsky.feed.post",
			"record": map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": "2024-01-01T00:00:00.000Z"}}, nil)
	}
	var up struct{ Blob map[string]any }
	xrpcPost(t, w.oldURL, "com.atproto.repo.uploadBlob", w.access, "image/png", w.blob, &up)
	call(t, w.oldURL, "com.atproto.repo.putRecord", w.access, map[string]any{"repo": w.did, "collection": "app.bsky.actor.profile", "rkey": "self",
		"record": map[string]any{"$type": "app.bsky.actor.profile", "displayName": "Alice", "avatar": up.Blob}}, nil)
	call(t, w.oldURL, "app.bsky.actor.putPreferences", w.access, map[string]any{"preferences": []any{
		map[string]any{"$type": "app.bsky.actor.defs#adultContentPref", "enabled": true}}}, nil)
	accountEnv(t, w.oldURL, "pw-alice")
	w.key = newKey(t, w.dir, "mine", false)
	if r := run(t, "", "account", "add-rotation-key", w.key.file, "--pds", w.oldURL, "--handle", "alice.test"); r.code != 1 {
		t.Fatalf("add-rotation-key without a token: %d %s", r.code, r.stderr)
	}
	if r := run(t, "", "account", "add-rotation-key", w.key.file, "--pds", w.oldURL, "--handle", "alice.test", "--plc-token", mail.lastToken(t)); r.code != 0 {
		t.Fatalf("add-rotation-key: %s", r.stderr)
	}
	return w
}

// status is checkAccountStatus on a PDS with a fresh login.
func (w *twoPDS) status(t *testing.T, base string) map[string]any {
	t.Helper()
	var s struct{ AccessJwt string }
	call(t, base, "com.atproto.server.createSession", "", map[string]string{"identifier": w.did, "password": "pw-alice"}, &s)
	req, _ := http.NewRequest(http.MethodGet, base+"/xrpc/com.atproto.server.checkAccountStatus", nil)
	req.Header.Set("Authorization", "Bearer "+s.AccessJwt)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	out["token"] = s.AccessJwt
	return out
}

// writeRefused says whether a post to base is refused as deactivated.
func (w *twoPDS) write(t *testing.T, base string) int {
	t.Helper()
	tok := w.status(t, base)["token"].(string)
	b, _ := json.Marshal(map[string]any{"repo": w.did, "collection": "app.bsky.feed.post", "record": map[string]any{"$type": "app.bsky.feed.post", "text": "after", "createdAt": "2024-01-01T00:00:00.000Z"}})
	req, _ := http.NewRequest(http.MethodPost, base+"/xrpc/com.atproto.repo.createRecord", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (w *twoPDS) checkMoved(t *testing.T, rep *migrate.Report) {
	t.Helper()
	if !rep.Done || len(rep.Checks) < 4 {
		t.Fatalf("report: %+v", rep)
	}
	for _, c := range rep.Checks {
		if !c.OK {
			t.Errorf("check %s: %s", c.Name, c.Detail)
		}
	}
	var st account.Status
	runJSON(t, &st, "account", "status", "--pds", w.newURL, "--handle", w.did, "--json")
	if st.Document.PDS != w.newURL || st.Document.RotationKeys[0] != w.key.did || !st.Account.Activated || st.Account.IndexedRecords != 4 || st.Account.ImportedBlobs != 1 {
		t.Fatalf("after the move: %+v %+v", st.Document, st.Account)
	}
	if code := w.write(t, w.oldURL); code != 401 {
		t.Fatalf("a write to the old PDS answered %d, want 401 AccountDeactivated", code)
	}
	if code := w.write(t, w.newURL); code != 200 {
		t.Fatalf("a write to the new PDS answered %d", code)
	}
}

// TestMigrateKilledAfterTheBlobsResumesAndMoves: arbor migrate between two
// arbor PDSes, killed right after the blob copy, rerun with the state
// file: it stops for the PLC token (exit 1), refuses a wrong one, and with
// the mailed one finishes; the checks hold, the user's rotation key is
// still first, the old PDS refuses writes.
func TestMigrateKilledAfterTheBlobsResumesAndMoves(t *testing.T) {
	bin := testfixtures.BuildArbor(t)
	w := startTwoPDS(t)
	state := filepath.Join(w.dir, "state.json")
	args := []string{"migrate", "--from", w.oldURL, "--to", w.newURL, "--handle", "alice.test", "--state", state}

	var plan migrate.Report
	runJSON(t, &plan, append(append([]string{}, args[:len(args)-2]...), "--dry-run", "--json")...)
	if plan.Plan.Records != 4 || plan.Plan.Blobs != 1 || plan.Plan.Preferences != 1 || plan.Plan.Operation.RotationKeys[0] != w.key.did || len(plan.Plan.Operation.Replaced) != 1 {
		t.Fatalf("plan: %+v", plan.Plan)
	}
	if s := w.status(t, w.oldURL); s["activated"] != true {
		t.Fatal("the dry run changed the old account")
	}

	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	killed, seen := false, ""
	for sc.Scan() {
		seen += sc.Text() + "\n"
		if strings.Contains(sc.Text(), "copy blobs: done") {
			cmd.Process.Kill()
			killed = true
			break
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("the run ended before the blob copy finished:\n%s", seen)
	}

	r := run(t, "", args...)
	if r.code != 1 || !strings.Contains(r.stderr, "--plc-token") {
		t.Fatalf("rerun without a token: %d %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "step copy blobs") || !strings.Contains(r.stdout, "already done") {
		t.Fatalf("the rerun did not resume:\n%s", r.stdout)
	}
	token := w.mail.lastToken(t)
	r = run(t, "", append(append([]string{}, args...), "--plc-token", "WRONG-TOKEN")...)
	if r.code != 1 || !strings.Contains(r.stderr, "InvalidToken") {
		t.Fatalf("wrong token: %d %s", r.code, r.stderr)
	}
	var rep migrate.Report
	if r := runJSON(t, &rep, append(append([]string{}, args...), "--plc-token", token, "--json")...); r.code != 0 {
		t.Fatalf("with the token: %d %s", r.code, r.stderr)
	}
	w.checkMoved(t, &rep)

	// Again, to the PDS that now hosts the DID: refused, nothing changed.
	before := w.status(t, w.newURL)["repoRev"]
	r = run(t, "", "migrate", "--from", w.oldURL, "--to", w.newURL, "--handle", "alice.test", "--state", filepath.Join(w.dir, "again.json"))
	if r.code != 1 || !strings.Contains(r.stderr, "already hosts") {
		t.Fatalf("a second move to the same PDS: %d %s", r.code, r.stderr)
	}
	if w.status(t, w.newURL)["repoRev"] != before {
		t.Fatal("the refused move changed the new repo")
	}
}

// TestMigrateFromBackupWithTheUsersRotationKey: with the old PDS gone, a
// backup (repository CAR and blobs) and the rotation key alice holds move
// the account to the new PDS; the checks hold.
func TestMigrateFromBackupWithTheUsersRotationKey(t *testing.T) {
	w := startTwoPDS(t)
	backup := filepath.Join(w.dir, "backup")
	os.MkdirAll(filepath.Join(backup, "blobs"), 0o700)
	if r := run(t, "", "fetch", w.did, "-o", filepath.Join(backup, "repo.car"), "--blobs", filepath.Join(backup, "blobs"), "--plc-host", w.oldURL); r.code != 0 {
		t.Fatalf("fetch: %s", r.stderr)
	}
	args := []string{"migrate", "--from-backup", backup, "--rotation-key", w.key.file, "--to", w.newURL, "--new-handle", "alice.test", "--state", filepath.Join(w.dir, "b.json"), "--json"}
	var rep migrate.Report
	if r := runJSON(t, &rep, args...); r.code != 0 {
		t.Fatalf("migrate --from-backup: %d %s", r.code, r.stderr)
	}
	for _, c := range rep.Checks {
		if !c.OK {
			t.Errorf("check %s: %s", c.Name, c.Detail)
		}
	}
	if !rep.Done || rep.Plan.Operation.RotationKeys[0] != w.key.did {
		t.Fatalf("report %+v", rep)
	}
	other := newKey(t, w.dir, "other", false)
	r := run(t, "", "migrate", "--from-backup", backup, "--rotation-key", other.file, "--to", w.newURL, "--new-handle", "alice.test")
	if r.code == 0 || !strings.Contains(r.stderr, "not a rotation key") {
		t.Fatalf("a key alice does not hold: %d %s", r.code, r.stderr)
	}
}

// TestOfficialClientMigratesBetweenTwoArborPDSes runs pds/e2e/migrate.mjs
// (@atproto/api, every step of Bluesky's account-migration guide) between
// two arbor PDSes, then checks what arbor migrate checks, verify --resolve
// included.
func TestOfficialClientMigratesBetweenTwoArborPDSes(t *testing.T) {
	e2e := filepath.Join("..", "pds", "e2e")
	_, err := os.Stat(filepath.Join(e2e, "node_modules", "@atproto", "api", "package.json"))
	needE2E(t, err == nil, "pds/e2e/node_modules lacks @atproto/api: run .ci/deps/pds-e2e.sh")
	node, err := exec.LookPath("node")
	needE2E(t, err == nil, "node not installed")
	w := startTwoPDS(t)
	logFile := filepath.Join(w.dir, "mail.log")
	// The old server's mail log, as a file the script reads.
	var token struct{ AccessJwt string }
	call(t, w.oldURL, "com.atproto.server.createSession", "", map[string]string{"identifier": "alice.test", "password": "pw-alice"}, &token)
	cmd := exec.Command(node, "migrate.mjs", w.oldURL, w.newURL, w.oldURL, logFile, "alice.test", "pw-alice")
	cmd.Dir = e2e
	done := make(chan struct{})
	go func() { // copy the mail log to the file as it grows
		defer close(done)
		for i := 0; i < 1200; i++ {
			// Replaced whole (temp file and rename), never truncated in
			// place: the script counts the mails before asking for a token,
			// and a count taken while the file was empty made it take an
			// older mail's token ("Token is invalid", seen once in CI).
			atomicfile.WriteBytes(logFile, ".mail-*", []byte(w.mail.String()), 0o600)
			select {
			case <-time.After(50 * time.Millisecond):
			case <-t.Context().Done():
				return
			}
		}
	}()
	out, err := cmd.CombinedOutput()
	t.Logf("migrate.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("the official client's migration failed: %v", err)
	}
	var st account.Status
	runJSON(t, &st, "account", "status", "--pds", w.newURL, "--handle", w.did, "--json")
	if st.Document.PDS != w.newURL || !st.Account.Activated || !st.Account.ValidDid {
		t.Fatalf("after the move: %+v %+v", st.Document, st.Account)
	}
	car := filepath.Join(w.dir, "new.car")
	if r := run(t, "", "fetch", w.did, "-o", car, "--plc-host", w.oldURL); r.code != 0 {
		t.Fatalf("fetch from the new PDS: %s", r.stderr)
	}
	if r := run(t, "", "verify", car, "--resolve", "--plc-host", w.oldURL); r.code != 0 {
		t.Fatalf("verify --resolve: %s %s", r.stdout, r.stderr)
	}
}
