package backup_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/backup"
	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/identity/identitytest"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/plc"
)

// TestBadInputKeepsNothing: a handle whose DNS record names a DID whose
// document claims another handle, a DID document without a PDS, and a PDS
// that serves another DID's repository are refused with a clear error,
// and nothing of the run is kept (no folder for a first run; the previous
// backup unchanged otherwise).
func TestBadInputKeepsNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.account()
	var bob struct{ DID string }
	w.post("com.atproto.server.createAccount", "", "application/json", []byte(`{"handle":"bob.test","password":"hunter2hunter2","email":"bob@example.com"}`), &bob)
	noPDS := registerWithoutPDS(t, w)
	dns := identitytest.StartDNS(t, map[string][]string{"_atproto.mallory.test": {"did=" + w.did}})
	byDNS := &identity.Resolver{PLCHost: w.ts.URL, DNSAddr: dns, Timeout: 5 * time.Second}
	serveBobsRepo := func(rw http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/com.atproto.sync.getRepo") {
			q := r.URL.Query()
			q.Set("did", bob.DID)
			r.URL.RawQuery = q.Encode()
			w.srv.Load().ServeHTTP(rw, r)
			return true
		}
		return false
	}
	for _, tc := range []struct {
		name  string
		input string
		res   *identity.Resolver
		fault func(http.ResponseWriter, *http.Request) bool
		want  error
		msg   string
	}{
		{"a handle whose DNS and DID disagree", "mallory.test", byDNS, nil, identity.ErrHandleMismatch, "claims at://alice.test"},
		{"a DID document without a PDS", noPDS, nil, nil, identity.ErrNoPDS, noPDS},
		{"a PDS that serves another DID's repository", w.handle, nil, serveBobsRepo, backup.ErrOtherAccount, "repository of " + bob.DID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.res
			if res == nil {
				res = w.resolver()
			}
			w.setFault(tc.fault)
			defer w.setFault(nil)
			dir := filepath.Join(t.TempDir(), "bk")
			_, err := backup.Run(context.Background(), tc.input, dir, backup.Options{Resolver: res})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the failed first run left %s: %v", dir, err)
			}
		})
	}

	t.Run("another DID's slice over an existing backup", func(t *testing.T) {
		dir := t.TempDir()
		runBackup(t, w, dir, backup.Options{})
		before, _ := os.ReadFile(filepath.Join(dir, backup.ManifestFile))
		w.put("app.bsky.feed.post", "3kaaaaaaaaag2", post("more"))
		w.setFault(serveBobsRepo)
		defer w.setFault(nil)
		_, err := backup.Run(context.Background(), w.handle, dir, backup.Options{Resolver: w.resolver()})
		after, _ := os.ReadFile(filepath.Join(dir, backup.ManifestFile))
		if !errors.Is(err, backup.ErrOtherAccount) || !bytes.Equal(before, after) || len(leftovers(t, dir)) > 0 {
			t.Fatalf("%v; manifest changed: %v", err, !bytes.Equal(before, after))
		}
		mustVerify(t, dir)
	})
	t.Run("a backup folder of another account", func(t *testing.T) {
		dir := t.TempDir()
		runBackup(t, w, dir, backup.Options{})
		_, err := backup.Run(context.Background(), "bob.test", dir, backup.Options{Resolver: w.resolver()})
		if !errors.Is(err, backup.ErrOtherAccount) || !strings.Contains(err.Error(), "holds the backup of "+w.did) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("a folder that is not a backup", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600)
		_, err := backup.Run(context.Background(), w.handle, dir, backup.Options{Resolver: w.resolver()})
		if !errors.Is(err, backup.ErrNotABackup) {
			t.Fatalf("%v", err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Fatalf("the folder was written to: %v", ents)
		}
	})
}

// registerWithoutPDS registers, in the world's directory, a did:plc whose
// document names no PDS, and returns it.
func registerWithoutPDS(t *testing.T, w *world) string {
	t.Helper()
	rot := testfixtures.NewKey(t, false)
	pub, _ := rot.PublicKey()
	op, did, err := plc.NewGenesis(plc.GenesisParams{RotationKeys: []string{pub.DIDKey()}, SigningKey: pub.DIDKey(), Handle: "nopds.test"}, rot)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(w.ts.URL+"/"+url.PathEscape(did.String()), "application/json", bytes.NewReader(op.AppendJSON(nil)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("registering %s: %v %v", did, err, resp.Status)
	}
	resp.Body.Close()
	w.take()
	return did.String()
}

// TestSliceRefusedGivesFullDownload: a PDS that cannot serve since gets a
// full download instead, which the summary says, with the same result as
// a slice would give.
func TestSliceRefusedGivesFullDownload(t *testing.T) {
	t.Parallel()
	w, _, dir := backedUp(t)
	w.put("app.bsky.feed.post", "3kaaaaaaaaah2", post("since refused"))
	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/com.atproto.sync.getRepo") && r.URL.Query().Get("since") != "" {
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(400)
			rw.Write([]byte(`{"error":"InvalidRequest","message":"since is not supported"}`))
			return true
		}
		return false
	})
	s := runBackup(t, w, dir, backup.Options{})
	_, since := w.take()
	if s.Mode != backup.ModeFull || !strings.Contains(s.Fallback, "since is not supported") || len(since) != 2 || since[1] != "" || s.Records != 5 {
		t.Fatalf("%+v, getRepo since %q", s, since)
	}
	kept, _ := os.ReadFile(filepath.Join(dir, backup.RepoFile))
	root, recs := snapshot(t, kept)
	w.setFault(nil)
	wantRoot, wantRecs := snapshot(t, w.fullDownload())
	if root != wantRoot || len(recs) != len(wantRecs) {
		t.Fatalf("root %s, %d records; a fresh download has %s, %d", root, len(recs), wantRoot, len(wantRecs))
	}
	mustVerify(t, dir)
}

// TestUnreferencedBlobsStayUnlessPruned: blobs whose record was deleted
// stay (file and manifest entry, with no records) until a run with Prune
// removes them; --no-blobs records blobs as skipped, which verify accepts.
func TestUnreferencedBlobsStayUnlessPruned(t *testing.T) {
	t.Parallel()
	w, blobs, dir := backedUp(t)
	w.del("app.bsky.feed.post", "3kaaaaaaaaab2") // the post with two images
	w.setFault(func(rw http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/com.atproto.sync.listBlobs") {
			rw.Header().Set("Content-Type", "application/json")
			rw.Write([]byte(`{"cids":[]}`))
			return true
		}
		return false
	})
	s := runBackup(t, w, dir, backup.Options{})
	img1 := filepath.Join(dir, backup.BlobDir, ref(blobs["img1"]))
	if _, err := os.Stat(img1); err != nil || s.Blobs.Total != 3 || s.Blobs.Pruned != 0 {
		t.Fatalf("without prune: %+v, %v", s.Blobs, err)
	}
	m, _ := backup.ReadManifest(dir)
	for _, b := range m.Blobs {
		if b.CID == ref(blobs["img1"]) && (len(b.Records) != 0 || b.State != backup.BlobStored) {
			t.Fatalf("an unreferenced blob's entry: %+v", b)
		}
	}
	mustVerify(t, dir)
	w.put("app.bsky.feed.post", "3kaaaaaaaaai2", post("a write, so the run is not unchanged"))
	s = runBackup(t, w, dir, backup.Options{Prune: true})
	if _, err := os.Stat(img1); !errors.Is(err, os.ErrNotExist) || s.Blobs.Total != 1 || s.Blobs.Pruned != 2 {
		t.Fatalf("with prune: %+v, %v", s.Blobs, err)
	}
	mustVerify(t, dir)

	t.Run("no blobs", func(t *testing.T) {
		dir := t.TempDir()
		w.setFault(nil)
		s := runBackup(t, w, dir, backup.Options{NoBlobs: true})
		if s.Blobs.Total == 0 || s.Blobs.Skipped != s.Blobs.Total || s.Blobs.Fetched != 0 {
			t.Fatalf("%+v", s.Blobs)
		}
		rep := mustVerify(t, dir)
		if rep.Blobs != 0 || len(rep.Missing) != 0 {
			t.Fatalf("%+v", rep)
		}
	})
}
