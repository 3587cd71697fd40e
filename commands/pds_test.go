package commands

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startPDS runs `arbor pds serve` with args and returns the ready line's
// JSON, and a function that interrupts it and returns its exit code.
func startPDS(t *testing.T, args ...string) (map[string]any, func() int) {
	t.Helper()
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run(append([]string{"arbor", "pds", "serve", "--addr", "127.0.0.1:0", "--json"}, args...), Env{Stdin: strings.NewReader(""), Stdout: pw, Stderr: &errb})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no ready line: %v (stderr %q)", err, errb.String())
	}
	go io.Copy(io.Discard, pr)
	var ready map[string]any
	if err := json.Unmarshal([]byte(line), &ready); err != nil {
		t.Fatalf("ready line %q is not JSON: %v", line, err)
	}
	stopped := false
	stop := func() int {
		if stopped {
			return 0
		}
		stopped = true
		// The command registered for SIGINT before printing its line.
		if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case code := <-done:
			return code
		case <-time.After(15 * time.Second):
			t.Fatal("arbor pds serve did not stop on SIGINT")
		}
		return -1
	}
	t.Cleanup(func() { stop() })
	return ready, stop
}

func postJSON(t *testing.T, url string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != 200 {
		t.Fatalf("POST %s: %d %v", url, res.StatusCode, out)
	}
	return out
}

// arbor pds serve prints one line when ready, serves XRPC and the embedded
// directory (which `arbor plc history` reads), and stops cleanly on SIGINT.
func TestPDSServeServesUntilInterrupted(t *testing.T) {
	ready, stop := startPDS(t)
	url, _ := ready["url"].(string)
	if !strings.HasPrefix(url, "http://localhost:") || ready["plc"] != url || len(ready["adminPassword"].(string)) < 16 || ready["data"] != nil {
		t.Fatalf("ready line %v", ready)
	}
	acct := postJSON(t, url+"/xrpc/com.atproto.server.createAccount", map[string]any{"handle": "carol.test", "password": "secret"})
	did := acct["did"].(string)
	var hist struct {
		Valid   bool `json:"valid"`
		Entries []struct {
			Handle string `json:"handle"`
			PDS    string `json:"pds"`
		} `json:"entries"`
	}
	r := runJSON(t, &hist, "plc", "history", did, "--plc-host", url, "--json")
	if r.code != 0 || !hist.Valid || len(hist.Entries) != 1 || hist.Entries[0].Handle != "carol.test" || hist.Entries[0].PDS != url {
		t.Fatalf("plc history against the embedded directory: exit %d %+v (stderr %q)", r.code, hist, r.stderr)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d after SIGINT", code)
	}
	if _, err := http.Get(url + "/xrpc/com.atproto.server.describeServer"); err == nil {
		t.Error("still serving after SIGINT")
	}
}

// With --data, a restart serves the same accounts.
func TestPDSServeDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ready, stop := startPDS(t, "--data", dir)
	url := ready["url"].(string)
	acct := postJSON(t, url+"/xrpc/com.atproto.server.createAccount", map[string]any{"handle": "dave.test", "password": "secret"})
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	ready2, stop2 := startPDS(t, "--data", dir)
	if ready2["adminPassword"] != ready["adminPassword"] || ready2["data"] != dir {
		t.Fatalf("restart: %v then %v", ready, ready2)
	}
	sess := postJSON(t, ready2["url"].(string)+"/xrpc/com.atproto.server.createSession", map[string]any{"identifier": "dave.test", "password": "secret"})
	if sess["did"] != acct["did"] {
		t.Fatalf("after restart the session is for %v, the account was %v", sess["did"], acct["did"])
	}
	stop2()
}

func TestPDSServeBadUsage(t *testing.T) {
	cases := []usageCase{
		{"argument", []string{"pds", "serve", "extra"}, "usage: arbor pds serve"},
		{"bad plc", []string{"pds", "serve", "--plc", "ftp://x"}, "--plc"},
		{"bad addr", []string{"pds", "serve", "--addr", "nope:nope:1"}, "--addr"},
		{"no subscribers", []string{"pds", "serve", "--max-subscribers", "0"}, "--max-subscribers"},
	}
	runUsageErrors(t, cases)
}

// arbor pds account create and list talk to a running server: through
// --data (serve.json holds its URL and admin password) or --url (with
// --admin-password, as serve printed it, for list).
func TestPDSAccountCreateAndList(t *testing.T) {
	dir := t.TempDir()
	ready, _ := startPDS(t, "--data", dir)
	url, admin := ready["url"].(string), ready["adminPassword"].(string)
	if fi, err := os.Stat(filepath.Join(dir, "serve.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("serve.json: %v %v, want mode 0600", fi, err)
	}

	var alice struct{ DID, Handle, Email, URL string }
	r := runJSON(t, &alice, "pds", "account", "create", "--handle", "alice.test", "--password", "pw-a", "--email", "Alice@Example.com", "--data", dir, "--json")
	if r.code != 0 || !strings.HasPrefix(alice.DID, "did:plc:") || alice.Handle != "alice.test" || alice.Email != "alice@example.com" || alice.URL != url {
		t.Fatalf("create --data: exit %d %+v (stderr %q)", r.code, alice, r.stderr)
	}
	// A handle without a domain gets the server's; --password - reads stdin.
	r = run(t, "pw-b\n", "pds", "account", "create", "--handle", "bob", "--password", "-", "--url", url)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "created bob.test did:plc:") {
		t.Fatalf("create --url: exit %d %q (stderr %q)", r.code, r.stdout, r.stderr)
	}
	// Both can log in with the passwords given.
	postJSON(t, url+"/xrpc/com.atproto.server.createSession", map[string]any{"identifier": "alice.test", "password": "pw-a"})
	postJSON(t, url+"/xrpc/com.atproto.server.createSession", map[string]any{"identifier": "bob.test", "password": "pw-b"})

	type listed struct {
		URL      string
		Count    int
		Accounts []struct{ Handle, DID, Email, IndexedAt string }
	}
	for _, args := range [][]string{{"--data", dir}, {"--url", url, "--admin-password", admin}} {
		var l listed
		r := runJSON(t, &l, append([]string{"pds", "account", "list", "--json"}, args...)...)
		if r.code != 0 || l.Count != 2 || len(l.Accounts) != 2 || l.URL != url {
			t.Fatalf("list %v: exit %d %+v (stderr %q)", args, r.code, l, r.stderr)
		}
		got := map[string]string{}
		for _, a := range l.Accounts {
			got[a.Handle] = a.DID + " " + a.Email
		}
		if got["alice.test"] != alice.DID+" alice@example.com" || !strings.HasPrefix(got["bob.test"], "did:plc:") || l.Accounts[0].IndexedAt == "" {
			t.Fatalf("list %v: %+v", args, l.Accounts)
		}
	}
	r = run(t, "", "pds", "account", "list", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "alice.test") || !strings.Contains(r.stdout, "alice@example.com") || !strings.HasSuffix(r.stdout, "2 accounts on "+url+"\n") {
		t.Fatalf("list: exit %d %q", r.code, r.stdout)
	}

	// Refusals: one line on stderr, exit 2.
	emptyDir := t.TempDir()
	cases := []usageCase{
		{"handle taken", []string{"pds", "account", "create", "--handle", "alice.test", "--password", "x", "--data", dir}, "HandleNotAvailable"},
		{"no password", []string{"pds", "account", "create", "--handle", "carol.test", "--data", dir}, "usage: arbor pds account create"},
		{"url and data", []string{"pds", "account", "list", "--url", url, "--data", dir}, "not both"},
		{"wrong admin password", []string{"pds", "account", "list", "--url", url, "--admin-password", "nope"}, "refused the admin password"},
		{"no admin password", []string{"pds", "account", "list", "--url", url}, "--admin-password"},
		{"not a data directory", []string{"pds", "account", "list", "--data", emptyDir}, "serve.json"},
		{"bad url", []string{"pds", "account", "list", "--url", "ftp://x", "--admin-password", "x"}, "--url"},
		{"extra argument", []string{"pds", "account", "list", "--data", dir, "extra"}, "usage: arbor pds account list"},
	}
	runUsageErrors(t, cases)
}

// With the server gone, account commands say so in one line.
func TestPDSAccountWithoutARunningServer(t *testing.T) {
	dir := t.TempDir()
	ready, stop := startPDS(t, "--data", dir)
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, args := range [][]string{
		{"pds", "account", "list", "--data", dir},
		{"pds", "account", "create", "--handle", "dan.test", "--password", "x", "--url", ready["url"].(string)},
	} {
		wantOneLineError(t, run(t, "", args...), ExitUsage, "no PDS answering at "+ready["url"].(string))
	}
}

// --no-login-limit turns the login rate limits off (by default the 31st
// attempt in 5 minutes is refused); --max-subscribers caps the firehose.
func TestPDSServeLimitFlags(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		want31 int
	}{
		{"defaults", nil, 429},
		{"no login limit, one subscriber", []string{"--no-login-limit", "--max-subscribers", "1"}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ready, stop := startPDS(t, tc.args...)
			defer stop()
			url := ready["url"].(string)
			status := 0
			for range 31 {
				res, err := http.Post(url+"/xrpc/com.atproto.server.createSession", "application/json", strings.NewReader(`{"identifier":"nobody.test","password":"x"}`))
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				status = res.StatusCode
			}
			if status != tc.want31 {
				t.Fatalf("31st login attempt: %d, want %d", status, tc.want31)
			}
			if tc.want31 != 401 {
				return
			}
			ws := "ws" + strings.TrimPrefix(url, "http") + "/xrpc/com.atproto.sync.subscribeRepos"
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			first, _, err := websocket.Dial(ctx, ws, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer first.CloseNow()
			if c, res, err := websocket.Dial(ctx, ws, nil); err == nil {
				c.CloseNow()
				t.Fatal("a second subscriber was accepted with --max-subscribers 1")
			} else if res == nil || res.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("second subscriber: %v %v, want 503", err, res)
			}
		})
	}
}

// Mail the server would send is logged; with --mail-log FILE it is also
// appended to FILE (mode 0600: tokens are credentials), as JSON lines
// under --json.
func TestPDSServeMailLog(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mail.log")
	ready, stop := startPDS(t, "--mail-log", file)
	url := ready["url"].(string)
	acct := postJSON(t, url+"/xrpc/com.atproto.server.createAccount", map[string]any{"handle": "erin.test", "password": "secret", "email": "erin@example.com"})
	req, _ := http.NewRequest(http.MethodPost, url+"/xrpc/com.atproto.server.requestEmailConfirmation", nil)
	req.Header.Set("Authorization", "Bearer "+acct["accessJwt"].(string))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("requestEmailConfirmation: %s", res.Status)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var line struct {
		Mail struct{ To, Subject, Token string }
	}
	if err := json.Unmarshal(b, &line); err != nil || line.Mail.To != "erin@example.com" || line.Mail.Subject != "Email Confirmation" || len(line.Mail.Token) != 11 {
		t.Fatalf("mail log %q: %+v %v", b, line, err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mail log mode: %v %v", fi.Mode(), err)
	}
}
