package commands

import (
	"bufio"
	"bytes"
	"encoding/json"
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
	car, g := goldenFacts(t, "ten")
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run([]string{"arbor", "view", car, "--addr", "127.0.0.1:0"}, Env{Stdin: strings.NewReader(""), Stdout: pw, Stderr: &errb})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL printed: %v (stderr %q)", err, errb.String())
	}
	url := strings.TrimSpace(line)
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
	garbage := filepath.Join(t.TempDir(), "garbage.car")
	os.WriteFile(garbage, []byte("not a car file"), 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"view"}, "usage: arbor view"},
		{"three files", []string{"view", car, car, car}, "usage: arbor view"},
		{"both standard input", []string{"view", "-", "-"}, "standard input"},
		{"bad key", []string{"view", car, "--key", "did:key:zNotAKey"}, "--key"},
		{"bad address", []string{"view", car, "--addr", "256.1.1.1:99999"}, "--addr"},
		{"missing file", []string{"view", filepath.Join(t.TempDir(), "nope.car")}, "nope.car"},
		{"not a CAR", []string{"view", car, garbage}, "garbage.car"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, "", c.args...)
			wantOneLineError(t, r, ExitUsage, c.want)
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
		})
	}
}
