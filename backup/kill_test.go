package backup_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/backup"
	"github.com/arbor-atproto/arbor/identity"
)

// TestMain lets a test run a backup in a child process (this test binary
// again) that it can SIGKILL.
func TestMain(m *testing.M) {
	if url := os.Getenv("ARBOR_BACKUP_CHILD_URL"); url != "" {
		res := &identity.Resolver{PLCHost: url, HandleResolver: url, HandleResolverOnly: true, Timeout: time.Minute}
		_, err := backup.Run(context.Background(), os.Getenv("ARBOR_BACKUP_CHILD_INPUT"), os.Getenv("ARBOR_BACKUP_CHILD_DIR"), backup.Options{Resolver: res, Workers: 1})
		fmt.Println("child finished:", err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSIGKILLMidRun: a backup process killed (SIGKILL) while it downloads
// a new blob, after it staged the new repository, leaves the previous
// backup as it was (same manifest, verifies) and the blob it had already
// stored; the next run completes, fetches only the blob it lacked, and
// verifies.
func TestSIGKILLMidRun(t *testing.T) {
	t.Parallel()
	w, _, dir := backedUp(t)
	before, _ := os.ReadFile(filepath.Join(dir, backup.ManifestFile))
	a := w.upload([]byte("new image a"), "image/png")
	b := w.upload([]byte("new image b"), "image/png")
	w.put("app.bsky.feed.post", "3kaaaaaaaaak2", post("two new images", a, b))

	var once sync.Once
	hanging := make(chan struct{})
	served := 0
	var mu sync.Mutex
	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/com.atproto.sync.getBlob") {
			return false
		}
		mu.Lock()
		served++
		n := served
		mu.Unlock()
		if n == 1 {
			return false // the first new blob is served and stored
		}
		once.Do(func() { close(hanging) })
		<-r.Context().Done() // the second hangs until the client is gone
		return true
	})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ARBOR_BACKUP_CHILD_URL="+w.ts.URL, "ARBOR_BACKUP_CHILD_INPUT="+w.handle, "ARBOR_BACKUP_CHILD_DIR="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hanging:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the child never reached the second blob: %s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, ".incoming", backup.RepoFile)); err != nil {
		t.Errorf("the child had not staged the new repository: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if strings.Contains(out.String(), "child finished") {
		t.Fatalf("the child finished before it was killed: %s", out.String())
	}

	after, _ := os.ReadFile(filepath.Join(dir, backup.ManifestFile))
	if !bytes.Equal(before, after) {
		t.Fatal("the killed run changed the manifest")
	}
	stored := 0
	for _, blob := range []map[string]any{a, b} {
		if _, err := os.Stat(filepath.Join(dir, backup.BlobDir, ref(blob))); err == nil {
			stored++
		}
	}
	if stored != 1 {
		t.Fatalf("%d of the two new blobs are in blobs/, want the one stored before the kill", stored)
	}
	w.setFault(nil)
	w.take()
	s := runBackup(t, w, dir, backup.Options{})
	counts, _ := w.take()
	if s.Mode != backup.ModeSlice || s.Blobs.Fetched != 1 || s.Blobs.Kept != 4 || counts["com.atproto.sync.getBlob"] != 1 || s.Recovered == "" {
		t.Fatalf("rerun: %+v, %v", s, counts)
	}
	mustVerify(t, dir)
}
