package backup_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/backup"
)

// account fills the world's account: a profile with an avatar, three
// posts, one with two images. It returns the blob refs by name.
func (w *world) account() map[string]map[string]any {
	blobs := map[string]map[string]any{
		"avatar": w.upload([]byte("\x89PNG avatar bytes"), "image/png"),
		"img1":   w.upload(bytes.Repeat([]byte("first image "), 5000), "image/jpeg"),
		"img2":   w.upload([]byte("second image"), "image/jpeg"),
	}
	w.put("app.bsky.actor.profile", "self", map[string]any{"$type": "app.bsky.actor.profile", "displayName": "Alice", "avatar": blobs["avatar"]})
	w.put("app.bsky.feed.post", "3kaaaaaaaaaa2", post("first"))
	w.put("app.bsky.feed.post", "3kaaaaaaaaab2", post("pictures", blobs["img1"], blobs["img2"]))
	w.put("app.bsky.feed.post", "3kaaaaaaaaac2", post("third"))
	return blobs
}

func ref(b map[string]any) string { return b["ref"].(map[string]any)["$link"].(string) }

func runBackup(t *testing.T, w *world, dir string, o backup.Options) *backup.Summary {
	t.Helper()
	if o.Resolver == nil {
		o.Resolver = w.resolver()
	}
	s, err := backup.Run(context.Background(), w.handle, dir, o)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	return s
}

// backedUp is a world with an account (account) and a first backup of it
// in dir.
func backedUp(t *testing.T) (*world, map[string]map[string]any, string) {
	t.Helper()
	w := newWorld(t)
	blobs := w.account()
	dir := t.TempDir()
	runBackup(t, w, dir, backup.Options{})
	return w, blobs, dir
}

func mustVerify(t *testing.T, dir string) *backup.VerifyReport {
	t.Helper()
	rep, err := backup.Verify(context.Background(), dir, backup.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid() {
		t.Fatalf("backup verify: %v", rep.Problems)
	}
	return rep
}

// snapshot reads a repository CAR's root and its records (path → CID).
func snapshot(t *testing.T, car []byte) (cid.Cid, map[string]cid.Cid) {
	t.Helper()
	a, err := archive.Read(bytes.NewReader(car), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := map[string]cid.Cid{}
	if err := a.Walk(func(k []byte, v cid.Cid) error { recs[string(k)] = v; return nil }); err != nil {
		t.Fatal(err)
	}
	return a.Root, recs
}

// fullDownload is a fresh getRepo of the account, for comparison.
func (w *world) fullDownload() []byte {
	w.t.Helper()
	var buf bytes.Buffer
	if _, err := w.resolver().GetRepo(context.Background(), w.ts.URL, syntax.DID(w.did), "", &buf, nil); err != nil {
		w.t.Fatal(err)
	}
	w.take()
	return buf.Bytes()
}

func TestFirstBackupThenSliceThenUnchanged(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	blobs := w.account()
	dir := filepath.Join(t.TempDir(), "alice")

	// First run: a full download, every blob.
	s := runBackup(t, w, dir, backup.Options{})
	counts, _ := w.take()
	if s.Mode != backup.ModeFull || s.DID != w.did || !s.HandleVerified || s.Records != 4 || s.Blobs.Fetched != 3 || len(s.Blobs.Failed) != 0 {
		t.Fatalf("first run: %+v", s)
	}
	if got := sum(counts); int64(got) != s.Requests {
		t.Errorf("the summary counts %d requests, the server saw %d: %v", s.Requests, got, counts)
	}
	m, err := backup.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.DID != w.did || m.Handle != "alice.test" || m.Rev != s.Rev || m.Commit != s.Commit || m.PDS != w.ts.URL ||
		!maps.Equal(m.Collections, map[string]int{"app.bsky.actor.profile": 1, "app.bsky.feed.post": 3}) {
		t.Fatalf("manifest: %+v", m)
	}
	for _, f := range []string{backup.RepoFile, backup.DIDDocFile, backup.AuditLogFile} {
		if e := m.Files[f]; len(e.SHA256) != 64 || e.Bytes == 0 || e.Refreshed.IsZero() {
			t.Errorf("manifest entry for %s: %+v", f, e)
		}
	}
	wantBlob := map[string]struct {
		mime string
		recs []string
	}{
		ref(blobs["avatar"]): {"image/png", []string{"at://" + w.did + "/app.bsky.actor.profile/self"}},
		ref(blobs["img1"]):   {"image/jpeg", []string{"at://" + w.did + "/app.bsky.feed.post/3kaaaaaaaaab2"}},
		ref(blobs["img2"]):   {"image/jpeg", []string{"at://" + w.did + "/app.bsky.feed.post/3kaaaaaaaaab2"}},
	}
	if len(m.Blobs) != 3 {
		t.Fatalf("manifest blobs: %+v", m.Blobs)
	}
	for _, b := range m.Blobs {
		want := wantBlob[b.CID]
		data, err := os.ReadFile(filepath.Join(dir, backup.BlobDir, b.CID))
		if err != nil || b.State != backup.BlobStored || b.MIMEType != want.mime || !slices.Equal(b.Records, want.recs) || b.Size != int64(len(data)) || !b.Listed {
			t.Errorf("blob %s: %+v (file: %d bytes, %v), want %+v", b.CID, b, len(data), err, want)
		}
	}
	mustVerify(t, dir)

	// Writes, an update, a deletion and a new blob: the second run fetches
	// the slice and that blob only.
	img3 := w.upload([]byte("third image, new"), "image/webp")
	w.put("app.bsky.feed.post", "3kaaaaaaaaad2", post("new one", img3))
	w.put("app.bsky.feed.post", "3kaaaaaaaaaa2", post("first, edited"))
	w.del("app.bsky.feed.post", "3kaaaaaaaaac2")
	first := s
	s = runBackup(t, w, dir, backup.Options{})
	counts, since := w.take()
	if s.Mode != backup.ModeSlice || s.PrevRev != first.Rev || s.Records != 4 || s.Blobs.Fetched != 1 || s.Blobs.Kept != 3 {
		t.Fatalf("second run: %+v", s)
	}
	if !slices.Equal(since, []string{first.Rev}) || counts["com.atproto.sync.getBlob"] != 1 {
		t.Fatalf("second run: getRepo since %q, %d getBlob (want one each): %v", since, counts["com.atproto.sync.getBlob"], counts)
	}
	kept, err := os.ReadFile(filepath.Join(dir, backup.RepoFile))
	if err != nil {
		t.Fatal(err)
	}
	root, recs := snapshot(t, kept)
	wantRoot, wantRecs := snapshot(t, w.fullDownload())
	if root != wantRoot || !maps.Equal(recs, wantRecs) {
		t.Fatalf("the updated repo.car (root %s, %d records) is not a fresh download's (root %s, %d records)", root, len(recs), wantRoot, len(wantRecs))
	}
	rep := mustVerify(t, dir)
	if rep.Blobs != 4 || rep.Records != 4 {
		t.Fatalf("verify after the slice: %+v", rep)
	}
	// The manifest carried forward through the slice's operations is a
	// fresh backup's.
	fresh := t.TempDir()
	runBackup(t, w, fresh, backup.Options{})
	w.take()
	m, _ = backup.ReadManifest(dir)
	fm, _ := backup.ReadManifest(fresh)
	type blobRefs struct {
		cid, mime string
		size      int64
		records   string
	}
	refs := func(m *backup.Manifest) (out []blobRefs) {
		for _, b := range m.Blobs {
			out = append(out, blobRefs{b.CID, b.MIMEType, b.Size, strings.Join(b.Records, " ")})
		}
		return out
	}
	if !slices.Equal(refs(m), refs(fm)) || !maps.Equal(m.Collections, fm.Collections) || m.Records != fm.Records || m.Commit != fm.Commit {
		t.Fatalf("after the slice:\n%v %v\na fresh backup:\n%v %v", refs(m), m.Collections, refs(fm), fm.Collections)
	}

	// No change: one request besides identity resolution.
	s = runBackup(t, w, dir, backup.Options{})
	counts, _ = w.take()
	if s.Mode != backup.ModeUnchanged || s.Blobs.Fetched != 0 || s.DocumentRefreshed || s.AuditLogRefreshed {
		t.Fatalf("third run: %+v", s)
	}
	if other := sum(counts) - identityRequests(counts); other != 1 || counts["com.atproto.sync.getLatestCommit"] != 1 {
		t.Fatalf("third run made %d requests besides identity resolution (want getLatestCommit alone): %v", other, counts)
	}
	mustVerify(t, dir)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
