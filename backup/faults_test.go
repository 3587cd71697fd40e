package backup_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/backup"
	"github.com/arbor-atproto/arbor/identity"
)

// blobFault answers getBlob of cid with f (once per call while armed).
func blobFault(cid string, f func(w http.ResponseWriter)) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/com.atproto.sync.getBlob") || r.URL.Query().Get("cid") != cid {
			return false
		}
		f(w)
		return true
	}
}

// leftovers lists the temporary files (.part, .incoming) under dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, ".part") || d.Name() == ".incoming") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestBlobFaultsAreRecordedAndRetried: a connection dropped in the middle
// of a blob and a blob served with wrong bytes are recorded as failed in
// the manifest (no file is kept, the rest of the backup is), backup verify
// lists them as missing with the records that need them, and the next run
// fetches exactly those and verifies.
func TestBlobFaultsAreRecordedAndRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		serve func(w http.ResponseWriter)
		want  string
	}{
		{"connection dropped mid-blob", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "60000")
			w.WriteHeader(200)
			w.Write([]byte(strings.Repeat("first image ", 1000)))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}, "unexpected EOF"},
		{"wrong bytes", func(w http.ResponseWriter) {
			w.Write([]byte("these are not the bytes of the blob"))
		}, "does not match its CID"},
		{"server error", func(w http.ResponseWriter) {
			http.Error(w, `{"error":"InternalServerError"}`, 500)
		}, "HTTP 500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			blobs := w.account()
			bad := ref(blobs["img1"])
			dir := t.TempDir()
			w.setFault(blobFault(bad, tc.serve))
			s := runBackup(t, w, dir, backup.Options{})
			w.take()
			if len(s.Blobs.Failed) != 1 || s.Blobs.Failed[0].CID != bad || !strings.Contains(s.Blobs.Failed[0].Error, tc.want) || s.Blobs.Fetched != 2 {
				t.Fatalf("first run: %+v", s.Blobs)
			}
			if _, err := os.Stat(filepath.Join(dir, backup.BlobDir, bad)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the failed blob's file is there: %v", err)
			}
			if l := leftovers(t, dir); len(l) > 0 {
				t.Fatalf("temporary files left: %v", l)
			}
			m, _ := backup.ReadManifest(dir)
			for _, b := range m.Blobs {
				if b.CID == bad && (b.State != backup.BlobFailed || b.Error == "") {
					t.Fatalf("manifest entry of the failed blob: %+v", b)
				}
			}
			rep, err := backup.Verify(context.Background(), dir, backup.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantRecs := []string{"at://" + w.did + "/app.bsky.feed.post/3kaaaaaaaaab2"}
			if rep.Valid() || len(rep.Missing) != 1 || rep.Missing[0].CID != bad || !slices.Equal(rep.Missing[0].Records, wantRecs) || rep.Missing[0].Error == "" {
				t.Fatalf("verify of the incomplete backup: %+v", rep)
			}

			w.setFault(nil)
			s = runBackup(t, w, dir, backup.Options{})
			counts, _ := w.take()
			if s.Mode != backup.ModeUnchanged || s.Blobs.Fetched != 1 || len(s.Blobs.Failed) != 0 || counts["com.atproto.sync.getBlob"] != 1 {
				t.Fatalf("rerun: %+v, %v", s, counts)
			}
			mustVerify(t, dir)
		})
	}
}

// TestRateLimitsSlowTheRunDown: 429 answers with Retry-After, and
// RateLimit-Remaining: 0 with a RateLimit-Reset, are waited out; the run
// completes with nothing failed.
func TestRateLimitsSlowTheRunDown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		header func() map[string]string
		status int
	}{
		{"429 with Retry-After", func() map[string]string { return map[string]string{"Retry-After": "1"} }, 429},
		{"429 with RateLimit-Reset as a Unix time", func() map[string]string {
			return map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": strconv.FormatInt(time.Now().Add(2*time.Second).Unix(), 10)}
		}, 429},
		{"429 with RateLimit-Reset in seconds", func() map[string]string {
			return map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": "1"}
		}, 429},
		{"503 with Retry-After", func() map[string]string { return map[string]string{"Retry-After": "1"} }, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each waits a second or two
			w := newWorld(t)
			w.account()
			var limited atomic.Int32
			w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
				// The first getRepo and the first getBlob are refused.
				m := strings.TrimPrefix(r.URL.Path, "/xrpc/")
				if (m == "com.atproto.sync.getRepo" || m == "com.atproto.sync.getBlob") && limited.Add(1) <= 2 {
					for k, v := range tc.header() {
						rw.Header().Set(k, v)
					}
					rw.WriteHeader(tc.status)
					rw.Write([]byte(`{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}`))
					return true
				}
				return false
			})
			start := time.Now()
			s := runBackup(t, w, t.TempDir(), backup.Options{})
			if len(s.Blobs.Failed) != 0 || s.Blobs.Fetched != 3 || s.RateLimited < 2 {
				t.Fatalf("%+v", s)
			}
			if d := time.Since(start); d < time.Second {
				t.Fatalf("the run took %v: the rate limit was not waited out", d)
			}
		})
	}
	t.Run("a Retry-After beyond MaxWait fails the request", func(t *testing.T) {
		w := newWorld(t)
		w.account()
		w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/com.atproto.sync.getBlob") {
				rw.Header().Set("Retry-After", "3600")
				rw.WriteHeader(429)
				return true
			}
			return false
		})
		res := w.resolver()
		res.Pace = &identity.Pacer{MaxWait: time.Minute}
		s := runBackup(t, w, t.TempDir(), backup.Options{Resolver: res})
		if len(s.Blobs.Failed) != 3 || !strings.Contains(s.Blobs.Failed[0].Error, "HTTP 429") {
			t.Fatalf("%+v", s.Blobs)
		}
	})
}

// TestMaxRPSCapsTheRequests: with MaxRPS 20 a run of about a dozen
// requests takes about half a second.
func TestMaxRPSCapsTheRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.account()
	res := w.resolver()
	res.Pace = &identity.Pacer{MaxRPS: 20}
	start := time.Now()
	s := runBackup(t, w, t.TempDir(), backup.Options{Resolver: res})
	if min := time.Duration(s.Requests-1) * time.Second / 20; time.Since(start) < min {
		t.Fatalf("%d requests in %v, under 20 a second would take %v", s.Requests, time.Since(start), min)
	}
}

// TestServerKilledMidRun: the PDS goes down in the middle of the slice
// download, then in the middle of the blobs. The first leaves the previous
// backup as it was (it still verifies, same rev); the second keeps what it
// stored and records the rest; after a restart the rerun completes and
// verifies.
func TestServerKilledMidRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.account()
	dir := t.TempDir()
	first := runBackup(t, w, dir, backup.Options{})
	before, _ := os.ReadFile(filepath.Join(dir, backup.ManifestFile))
	img := w.upload([]byte("a new image"), "image/png")
	img2 := w.upload([]byte("another new image"), "image/png")
	w.put("app.bsky.feed.post", "3kaaaaaaaaae2", post("two more", img, img2))

	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/com.atproto.sync.getRepo") {
			w.stop()
			panic(http.ErrAbortHandler)
		}
		return false
	})
	if _, err := backup.Run(context.Background(), w.handle, dir, backup.Options{Resolver: w.resolver()}); !errors.Is(err, identity.ErrPDSUnreachable) {
		t.Fatalf("run with the server killed: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, backup.ManifestFile))
	if string(after) != string(before) || len(leftovers(t, dir)) > 0 {
		t.Fatalf("the killed run changed the backup (leftovers %v)", leftovers(t, dir))
	}
	if rep := mustVerify(t, dir); rep.Rev != first.Rev {
		t.Fatalf("rev %s after the killed run, want %s", rep.Rev, first.Rev)
	}

	// Killed after the first new blob.
	w.setFault(nil)
	w.start()
	var blobs atomic.Int32
	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/com.atproto.sync.getBlob") && blobs.Add(1) == 2 {
			w.stop()
			panic(http.ErrAbortHandler)
		}
		return false
	})
	// One blob at a time: the first is stored before the kill.
	s, err := backup.Run(context.Background(), w.handle, dir, backup.Options{Resolver: w.resolver(), Workers: 1})
	if err != nil || s.Mode != backup.ModeSlice || s.Blobs.Fetched != 1 || len(s.Blobs.Failed) != 1 {
		t.Fatalf("run killed among the blobs: %v, %+v", err, s)
	}
	w.setFault(nil)
	w.start()
	s = runBackup(t, w, dir, backup.Options{})
	if s.Mode != backup.ModeUnchanged || s.Blobs.Fetched != 1 || len(s.Blobs.Failed) != 0 {
		t.Fatalf("rerun: %+v", s)
	}
	mustVerify(t, dir)
}

// TestInterruptedRunLosesNoBlob: a run cancelled (SIGINT) after some blobs
// leaves the manifest as it was, and the next run adopts the blob files
// already written instead of downloading them again.
func TestInterruptedRunLosesNoBlob(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.account()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/com.atproto.sync.getBlob") && n.Add(1) == 3 {
			cancel()
			panic(http.ErrAbortHandler)
		}
		return false
	})
	if _, err := backup.Run(ctx, w.handle, dir, backup.Options{Resolver: w.resolver(), Workers: 1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, backup.ManifestFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a cancelled first run wrote a manifest: %v", err)
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Fatalf("temporary files left: %v", l)
	}
	w.setFault(nil)
	w.take()
	s := runBackup(t, w, dir, backup.Options{})
	counts, _ := w.take()
	if s.Blobs.Kept != 2 || s.Blobs.Fetched != 1 || counts["com.atproto.sync.getBlob"] != 1 {
		t.Fatalf("rerun: %+v, %v", s.Blobs, counts)
	}
	mustVerify(t, dir)
}

// TestStagedRefreshIsFinishedOrUndone: a run killed after it staged the
// new manifest is finished by the next start (roll forward); one killed
// before is undone. Either way the backup verifies.
func TestStagedRefreshIsFinishedOrUndone(t *testing.T) {
	t.Parallel()
	w, _, dir := backedUp(t)
	w.put("app.bsky.feed.post", "3kaaaaaaaaaf2", post("later"))
	second := filepath.Join(t.TempDir(), "second")
	copyDir(t, dir, second)
	s := runBackup(t, w, second, backup.Options{})

	// Staged but not moved: .incoming holds the new repo.car and manifest.
	inc := filepath.Join(dir, ".incoming")
	os.Mkdir(inc, 0o700)
	for _, f := range []string{backup.RepoFile, backup.ManifestFile} {
		b, _ := os.ReadFile(filepath.Join(second, f))
		os.WriteFile(filepath.Join(inc, f), b, 0o600)
	}
	rep, err := backup.Verify(context.Background(), dir, backup.VerifyOptions{})
	if err != nil || !rep.Valid() || rep.Rev != s.Rev || rep.Recovered == "" {
		t.Fatalf("verify after a run killed before its moves: %v %+v", err, rep)
	}

	// Staged without a manifest: undone.
	os.Mkdir(inc, 0o700)
	os.WriteFile(filepath.Join(inc, backup.RepoFile), []byte("half a CAR"), 0o600)
	os.WriteFile(filepath.Join(dir, backup.BlobDir, ".bafkreixyz.123.part"), []byte("half a blob"), 0o600)
	rep = mustVerify(t, dir)
	if rep.Rev != s.Rev || len(leftovers(t, dir)) > 0 {
		t.Fatalf("after an incomplete staging: %+v, leftovers %v", rep, leftovers(t, dir))
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAlteredBlobFileIsCaught: one byte of a stored blob changed on disk
// (same size) is a verify problem naming the file.
func TestAlteredBlobFileIsCaught(t *testing.T) {
	t.Parallel()
	_, blobs, dir := backedUp(t)
	f := filepath.Join(dir, backup.BlobDir, ref(blobs["img2"]))
	b, _ := os.ReadFile(f)
	b[0] ^= 1
	os.WriteFile(f, b, 0o600)
	rep, err := backup.Verify(context.Background(), dir, backup.VerifyOptions{})
	if err != nil || rep.Valid() {
		t.Fatalf("%v %+v", err, rep)
	}
	found := false
	for _, p := range rep.Problems {
		found = found || p.File == backup.BlobDir+"/"+ref(blobs["img2"]) && strings.Contains(p.Error, "not to its CID")
	}
	if !found {
		t.Fatalf("no problem names the altered blob: %v", rep.Problems)
	}
}

// TestDamagedCARIsReplacedByAFullDownload: a kept repo.car damaged on
// disk cannot take a slice; the next run with changes downloads the whole
// repository instead and says why.
func TestDamagedCARIsReplacedByAFullDownload(t *testing.T) {
	t.Parallel()
	w, _, dir := backedUp(t)
	car := filepath.Join(dir, backup.RepoFile)
	b, _ := os.ReadFile(car)
	os.WriteFile(car, b[:len(b)/2], 0o600)
	w.put("app.bsky.feed.post", "3kaaaaaaaaaj2", post("after the damage"))
	s := runBackup(t, w, dir, backup.Options{})
	if s.Mode != backup.ModeFull || !strings.Contains(s.Fallback, "does not read") {
		t.Fatalf("%+v", s)
	}
	mustVerify(t, dir)
}

// TestListBlobsFailureStillFetchesReferencedBlobs: a listBlobs that fails
// is reported, and the blobs the records reference are fetched anyway.
func TestListBlobsFailureStillFetchesReferencedBlobs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.account()
	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/com.atproto.sync.listBlobs") {
			http.Error(rw, `{"error":"InternalServerError"}`, 500)
			return true
		}
		return false
	})
	dir := t.TempDir()
	s := runBackup(t, w, dir, backup.Options{})
	if !strings.Contains(s.BlobListError, "HTTP 500") || s.Blobs.Fetched != 3 {
		t.Fatalf("%+v", s)
	}
	mustVerify(t, dir)
}
