package commands

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
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
	if !strings.HasPrefix(url, "http://127.0.0.1:") || ready["plc"] != url || len(ready["adminPassword"].(string)) < 16 || ready["data"] != nil {
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
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"argument", []string{"pds", "serve", "extra"}, "usage: arbor pds serve"},
		{"bad plc", []string{"pds", "serve", "--plc", "ftp://x"}, "--plc"},
		{"bad addr", []string{"pds", "serve", "--addr", "nope:nope:1"}, "--addr"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantOneLineError(t, run(t, "", tc.args...), ExitUsage, tc.want)
		})
	}
}
