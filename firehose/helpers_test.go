package firehose

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// shared is the path of a reference file under testdata/ at the
// repository root (copies of ../shared).
func shared(parts ...string) string {
	return filepath.Join(append([]string{testfixtures.MustDir()}, parts...)...)
}

// testRepo is a repository built in memory, committing signed changes.
type testRepo struct {
	key    atcrypto.PrivateKey
	did    string
	blocks mst.MapSource
	tree   *mst.Tree
	root   cid.Cid // cid.Undef before the first commit
	rev    string
	n      int64
}

func newTestRepo(t testing.TB, did string) *testRepo {
	t.Helper()
	k := testfixtures.NewKey(t, false)
	return &testRepo{key: k, did: did, blocks: mst.MapSource{}, tree: mst.NewEmpty()}
}

func record(t testing.TB, text string) ([]byte, cid.Cid) {
	t.Helper()
	b, err := dagcbor.Encode(map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": "2025-01-01T00:00:00.000Z"})
	if err != nil {
		t.Fatal(err)
	}
	return b, dagcbor.SumCID(dagcbor.CodecDagCBOR, b)
}

// commit puts (path → text) and deletes paths, signs a commit and returns
// its #commit event built by CommitEvent.
func (r *testRepo) commit(t testing.TB, put map[string]string, del ...string) *Commit {
	t.Helper()
	tr := r.tree
	var err error
	for p, text := range put {
		b, c := record(t, text)
		r.blocks[c] = b
		if tr, err = tr.Insert([]byte(p), c); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range del {
		if tr, err = tr.Delete([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.WriteBlocks(func(c cid.Cid, d []byte) error { r.blocks[c] = d; return nil }); err != nil {
		t.Fatal(err)
	}
	root, err := tr.RootCID()
	if err != nil {
		t.Fatal(err)
	}
	r.n++
	rev := string(syntax.NewTID(1_700_000_000_000_000+r.n*1000, 0))
	c := &repo.Commit{DID: syntax.DID(r.did), Version: 3, Data: root, Rev: syntax.TID(rev)}
	if err := c.Sign(r.key); err != nil {
		t.Fatal(err)
	}
	var since *string
	if r.rev != "" {
		s := r.rev
		since = &s
	}
	ev, err := CommitEvent(r.blocks, r.root, c, since)
	if err != nil {
		t.Fatal(err)
	}
	ev.Seq = r.n
	ev.Time = "2025-01-01T00:00:00.000Z"
	r.tree, r.root, r.rev = tr, root, rev
	return ev
}

func (r *testRepo) pub(t testing.TB) atcrypto.PublicKey {
	t.Helper()
	return testfixtures.PublicKey(t, r.key)
}

// carBlocks reads a CAR into its roots and blocks in order.
func carBlocks(t testing.TB, b []byte) ([]cid.Cid, []car.Block) {
	t.Helper()
	r, err := car.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out []car.Block
	for {
		blk, err := r.Next()
		if err != nil {
			break
		}
		out = append(out, blk)
	}
	return r.Roots(), out
}

// writeCAR writes blocks under roots.
func writeCAR(t testing.TB, roots []cid.Cid, blocks []car.Block) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := car.NewWriter(&buf, roots)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		if err := w.Put(b.CID, b.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withoutBlock returns a copy of the CAR without block c.
func withoutBlock(t testing.TB, carBytes []byte, c cid.Cid) []byte {
	t.Helper()
	roots, blocks := carBlocks(t, carBytes)
	var keep []car.Block
	found := false
	for _, b := range blocks {
		if b.CID == c {
			found = true
			continue
		}
		keep = append(keep, b)
	}
	if !found {
		t.Fatalf("block %s not in the CAR", c)
	}
	return writeCAR(t, roots, keep)
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want one wrapping %v", err, want)
	}
}

func clone(ev *Commit) *Commit {
	c := *ev
	c.Ops = append([]RepoOp(nil), ev.Ops...)
	return &c
}
