package commands

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// arbor view prints the URL of a page that serves the repository's API,
// and stops cleanly with exit 0 on SIGINT.
func TestViewCommandServesUntilInterrupted(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", asJSON), func(t *testing.T) { testViewServes(t, asJSON) })
	}
}

func testViewServes(t *testing.T, asJSON bool) {
	car, g := goldenFacts(t, "ten")
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	args := []string{"arbor", "view", car, "--addr", "127.0.0.1:0"}
	if asJSON {
		args = append(args, "--json")
	}
	go func() {
		done <- Run(args, Env{Stdin: strings.NewReader(""), Stdout: pw, Stderr: &errb})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL printed: %v (stderr %q)", err, errb.String())
	}
	url := strings.TrimSpace(line)
	if asJSON {
		var ready struct {
			URL   string   `json:"url"`
			Files []string `json:"files"`
		}
		if err := json.Unmarshal([]byte(line), &ready); err != nil || len(ready.Files) != 1 || ready.Files[0] != car {
			t.Fatalf("--json printed %q (%v)", line, err)
		}
		url = ready.URL
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/") {
		t.Fatalf("printed %q, not a local URL", url)
	}
	go io.Copy(io.Discard, pr)
	resp, err := http.Get(url + "api/commit")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Sides []struct {
			Data    string `json:"data"`
			Records int    `json:"records"`
		} `json:"sides"`
	}
	json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if len(c.Sides) != 1 || c.Sides[0].Data != g.DataCID || c.Sides[0].Records != g.RecordCount {
		t.Errorf("/api/commit %+v disagrees with the reference", c)
	}
	// The command has registered for SIGINT before printing the URL.
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after SIGINT (stderr %q)", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("arbor view did not stop on SIGINT")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("still serving after SIGINT")
	}
}

// Bad usage and unreadable input end with one line on stderr and exit 2,
// before anything is served.
func TestViewCommandBadInput(t *testing.T) {
	car, _ := goldenFacts(t, "ten")
	garbage := garbageCAR(t)
	cases := []usageCase{
		{"no file", []string{"view"}, "usage: arbor view"},
		{"three files", []string{"view", car, car, car}, "usage: arbor view"},
		{"both standard input", []string{"view", "-", "-"}, "standard input"},
		{"bad key", []string{"view", car, "--key", "did:key:zNotAKey"}, "--key"},
		{"bad address", []string{"view", car, "--addr", "256.1.1.1:99999"}, "--addr"},
		{"missing file", []string{"view", filepath.Join(t.TempDir(), "nope.car")}, "nope.car"},
		{"not a CAR", []string{"view", car, garbage}, "garbage.car"},
	}
	runUsageErrors(t, cases)
}

// startView runs arbor view with args until the test ends and returns the
// URL it prints.
func startView(t *testing.T, stdin io.Reader, args ...string) string {
	t.Helper()
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run(append([]string{"arbor", "view", "--addr", "127.0.0.1:0"}, args...), Env{Stdin: stdin, Stdout: pw, Stderr: &errb})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL printed: %v (stderr %q)", err, errb.String())
	}
	go io.Copy(io.Discard, pr)
	t.Cleanup(func() {
		syscall.Kill(os.Getpid(), syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("arbor view did not stop on SIGINT")
		}
	})
	return strings.TrimSpace(line)
}

// viewRecord fetches /api/record for path and returns the status and the
// record's CID and JSON value (or the error).
func viewRecord(t *testing.T, base, path string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(base + "api/record?path=" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		CID   string          `json:"cid"`
		Value json.RawMessage `json:"value"`
		Error string          `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&r)
	if r.Error != "" {
		return resp.StatusCode, "", r.Error
	}
	return resp.StatusCode, r.CID, string(r.Value)
}

// A record is shown the same whether the repository came from a file
// (whose record bodies stay in it) or from standard input (kept in
// memory); a file changed after arbor view read it gives an error naming
// the change, not other data.
func TestViewCommandShowsRecordsFromFileOrStandardInput(t *testing.T) {
	src, _ := goldenFacts(t, "ten")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Records []struct{ Path, CID string }
	}
	b, err := os.ReadFile(strings.TrimSuffix(src, ".car") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil || len(g.Records) == 0 {
		t.Fatalf("golden records: %v", err)
	}
	cases := []struct {
		name  string
		stdin bool
		// change, when set, rewrites the file after arbor view read it.
		change  func(path string)
		wantErr string
	}{
		{name: "file"},
		{name: "standard input", stdin: true},
		{name: "file changed after reading", change: func(p string) {
			os.WriteFile(p, bytes.Repeat([]byte{0}, len(data)), 0o644)
		}, wantErr: "file changed since it was read"},
	}
	values := map[string]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "ten.car")
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			var url string
			if c.stdin {
				url = startView(t, bytes.NewReader(data), "-")
			} else {
				url = startView(t, strings.NewReader(""), p)
			}
			if c.change != nil {
				c.change(p)
			}
			for _, r := range g.Records {
				code, gotCID, val := viewRecord(t, url, r.Path)
				if c.wantErr != "" {
					if code != http.StatusInternalServerError || !strings.Contains(val, c.wantErr) {
						t.Errorf("%s: %d %s, want an error saying %q", r.Path, code, val, c.wantErr)
					}
					continue
				}
				if code != http.StatusOK || gotCID != r.CID {
					t.Fatalf("%s: %d cid %s %s, want %s", r.Path, code, gotCID, val, r.CID)
				}
				if prev, ok := values[r.Path]; ok && prev != val {
					t.Errorf("%s: %s, but %s from the other input", r.Path, val, prev)
				}
				values[r.Path] = val
			}
		})
	}
}
