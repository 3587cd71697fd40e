package commands

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/identity/identitytest"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/plc"
)

// hostileWorld is the golden "one" account whose DID document names a PDS
// served by getRepo and getBlob (nil: the golden CAR, whole).
type hostileWorld struct {
	did  string
	car  []byte
	args func(a ...string) []string
}

func newHostileWorld(t *testing.T, getRepo, getBlob http.HandlerFunc) *hostileWorld {
	t.Helper()
	g, whole, _ := readGolden(t, "one")
	blobs := []string{blobCID(t, []byte("a blob"))}
	mux := http.NewServeMux()
	if getRepo == nil {
		getRepo = func(w http.ResponseWriter, r *http.Request) { w.Write(whole) }
	}
	mux.HandleFunc("/xrpc/com.atproto.sync.getRepo", getRepo)
	if getBlob != nil {
		mux.HandleFunc("/xrpc/com.atproto.sync.getBlob", getBlob)
	}
	mux.HandleFunc("/xrpc/com.atproto.sync.listBlobs", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"cids":[%q]}`, blobs[0])
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	dir := identitytest.StartDirectory(t)
	rot := testfixtures.NewKey(t, false)
	rotPub, _ := rot.PublicKey()
	op, _, err := plc.NewGenesis(plc.GenesisParams{RotationKeys: []string{rotPub.DIDKey()}, SigningKey: g.SigningKey, Handle: "one.test", PDS: srv.URL}, rot)
	if err != nil {
		t.Fatal(err)
	}
	dir.Add(g.DID, op)
	dns := identitytest.StartDNS(t, map[string][]string{"_atproto.one.test": {"did=" + g.DID}})
	return &hostileWorld{did: g.DID, car: whole, args: func(a ...string) []string {
		return append(a, "--plc-host", dir.URL(), "--dns", dns)
	}}
}

// validThenEndless sends car and then bytes without end, pausing each
// pause between chunks, until the client goes away.
func validThenEndless(car []byte, pause time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Write(car)
		chunk := bytes.Repeat([]byte{0}, 16<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			if pause > 0 {
				w.(http.Flusher).Flush()
				time.Sleep(pause)
			}
		}
	}
}

// dripAfter sends prefix, then one byte every 10 ms for ever.
func dripAfter(prefix []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Write(prefix)
		for r.Context().Err() == nil {
			if _, err := w.Write([]byte{0}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestFetchStopsHostileDownloads(t *testing.T) {
	tests := []struct {
		name    string
		getRepo func(car []byte) http.HandlerFunc
		flags   []string
		want    string
	}{
		{"valid CAR then endless bytes stops at --max-size", func(car []byte) http.HandlerFunc { return validThenEndless(car, 0) },
			[]string{"--max-size", "1MiB"}, "download over the size limit: more than 1048576 bytes (see --max-size)"},
		{"announced length over --max-size", func(car []byte) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "20000")
				w.Write(make([]byte, 20000))
			}
		}, []string{"--max-size", "10KB"}, "20000 bytes announced, limit 10000"},
		{"a 100-byte/s drip is under --min-rate", dripAfter,
			[]string{"--timeout", "300ms", "--min-rate", "10KiB"}, "download too slow: fewer than"},
		{"a drip with no minimum rate ends at --max-time", dripAfter,
			[]string{"--timeout", "5s", "--min-rate", "0", "--max-time", "500ms"}, "fetch took longer than --max-time 500ms"},
		{"silence after the CAR ends at --timeout", func(car []byte) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Write(car)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}
		}, []string{"--timeout", "300ms"}, "no data for 300ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hw *hostileWorld
			hw = newHostileWorld(t, func(w http.ResponseWriter, r *http.Request) { tc.getRepo(hw.car)(w, r) }, nil)
			dir := t.TempDir()
			r := run(t, "", hw.args(append([]string{"fetch", hw.did, "-o", filepath.Join(dir, "out.car")}, tc.flags...)...)...)
			wantOneLineError(t, r, ExitUsage, tc.want)
			if l := leftovers(t, dir); len(l) > 0 {
				t.Errorf("left behind: %v", l)
			}
		})
	}
	t.Run("an endless blob is a blob failure, with no partial file", func(t *testing.T) {
		hw := newHostileWorld(t, nil, validThenEndless(nil, 0))
		dir := t.TempDir()
		blobs := filepath.Join(dir, "blobs")
		r := run(t, "", hw.args("fetch", hw.did, "-o", filepath.Join(dir, "out.car"), "--blobs", blobs, "--max-blob-size", "64KiB")...)
		wantOneLineError(t, r, ExitFail, "1 of 1 blobs failed")
		if !strings.Contains(r.stderr, "more than 65536 bytes (see --max-blob-size)") {
			t.Errorf("stderr %q", r.stderr)
		}
		if l := leftovers(t, blobs); len(l) > 0 {
			t.Errorf("left behind in the blob folder: %v", l)
		}
	})
	for _, bad := range []string{"--max-size=0", "--max-size=lots", "--max-blob-size=-1", "--min-rate=1XB", "--max-time=-1s"} {
		t.Run("bad flag "+bad, func(t *testing.T) {
			hw := newHostileWorld(t, nil, nil)
			r := run(t, "", hw.args("fetch", hw.did, "-o", filepath.Join(t.TempDir(), "out.car"), bad)...)
			wantOneLineError(t, r, ExitUsage, strings.SplitN(bad, "=", 2)[0])
		})
	}
}

func TestFetchRefusesToOverwriteUnlessForced(t *testing.T) {
	hw := newHostileWorld(t, nil, nil)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.car")
	if err := os.WriteFile(out, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "", hw.args("fetch", hw.did, "-o", out)...)
	wantOneLineError(t, r, ExitUsage, "refusing to overwrite "+out+" (use --force)")
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Fatalf("the existing file was changed: %q", b)
	}
	r = run(t, "", hw.args("fetch", hw.did, "-o", out, "--force")...)
	if r.code != 0 {
		t.Fatalf("--force: exit %d, %q", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, hw.car) {
		t.Fatalf("--force did not replace the file with the repository")
	}
	if l := leftovers(t, dir, "out.car"); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

// TestFetchSubprocess is not a test: it is arbor's main, run as a child
// process by the signal tests (the standard os/exec helper-process
// pattern), so that a real signal reaches a real process.
func TestFetchSubprocess(t *testing.T) {
	if os.Getenv("ARBOR_TEST_SUBPROCESS") != "1" {
		t.Skip("helper process for TestFetchSignalRemovesPartialFile")
	}
	args := strings.Split(os.Getenv("ARBOR_TEST_ARGS"), "\n")
	os.Exit(Run(append([]string{"arbor"}, args...), Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}

func TestFetchSignalRemovesPartialFile(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			var hw *hostileWorld
			hw = newHostileWorld(t, func(w http.ResponseWriter, r *http.Request) { validThenEndless(hw.car, 5*time.Millisecond)(w, r) }, nil)
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestFetchSubprocess$")
			cmd.Env = append(os.Environ(), "ARBOR_TEST_SUBPROCESS=1",
				"ARBOR_TEST_ARGS="+strings.Join(hw.args("fetch", hw.did, "-o", filepath.Join(dir, "out.car")), "\n"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// Wait until the partial file holds more than the CAR.
			for {
				select {
				case err := <-done:
					t.Fatalf("arbor ended before the signal: %v, stderr %q", err, stderr.String())
				case <-time.After(10 * time.Millisecond):
				}
				parts, _ := filepath.Glob(filepath.Join(dir, ".out.car.*.part"))
				if len(parts) == 1 {
					if st, err := os.Stat(parts[0]); err == nil && st.Size() > int64(len(hw.car)) {
						break
					}
				}
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("arbor did not end after %s", sig)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != ExitUsage {
				t.Fatalf("exit %v, want code %d; stderr %q", err, ExitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), "interrupted ("+sig.String()+" signal received)") {
				t.Errorf("stderr %q", stderr.String())
			}
			if l := leftovers(t, dir); len(l) > 0 {
				t.Errorf("left behind after %s: %v", sig, l)
			}
		})
	}
}
