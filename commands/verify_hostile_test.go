package commands

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/internal/testfixtures"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// hostile describes a signed repository CAR, correct hashes and a real
// signature, with one thing an attacker would try.
type hostile struct {
	records int
	chain   int  // entry-less nodes above the tree
	bare    bool // the CAR root is the tree, not the commit
	corrupt bool // the tree root's bytes changed after hashing
	extra   int  // blocks nothing references
}

// build writes the CAR and returns its path and the signing key (did:key).
func (h hostile) build(t testing.TB) (path, didKey string) {
	t.Helper()
	k := testfixtures.NewKey(t, false)
	pub, _ := k.PublicKey()
	var leaves []mst.Leaf
	var recs [][]byte
	for i := range h.records {
		b, err := dagcbor.Encode(map[string]any{"$type": "app.bsky.feed.post", "text": fmt.Sprint("post ", i), "createdAt": "2024-01-01T00:00:00Z"})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, b)
		leaves = append(leaves, mst.Leaf{Key: []byte(fmt.Sprintf("app.bsky.feed.post/3k%011d", i)), Value: dagcbor.SumCID(dagcbor.CodecDagCBOR, b)})
	}
	tree, err := mst.BuildTree(leaves)
	if err != nil {
		t.Fatal(err)
	}
	type block struct {
		c cid.Cid
		b []byte
	}
	var nodes []block
	if err := tree.WriteBlocks(func(c cid.Cid, b []byte) error { nodes = append(nodes, block{c, b}); return nil }); err != nil {
		t.Fatal(err)
	}
	data := nodes[len(nodes)-1].c
	for range h.chain {
		b := mst.EncodeNode(&mst.NodeData{Left: data})
		data = dagcbor.SumCID(dagcbor.CodecDagCBOR, b)
		nodes = append(nodes, block{data, b})
	}
	commit := &repo.Commit{DID: "did:plc:arborhostiletestsaaaaaaa", Version: 3, Data: data, Rev: "3kabcdefghij2"}
	if err := commit.Sign(k); err != nil {
		t.Fatal(err)
	}
	cb, err := commit.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	cc := dagcbor.SumCID(dagcbor.CodecDagCBOR, cb)
	root := cc
	if h.bare {
		root = data
	}
	var buf bytes.Buffer
	w, err := car.NewWriter(&buf, []cid.Cid{root})
	if err != nil {
		t.Fatal(err)
	}
	put := func(c cid.Cid, b []byte) {
		if err := w.Put(c, b); err != nil {
			t.Fatal(err)
		}
	}
	put(cc, cb)
	for i := len(nodes) - 1; i >= 0; i-- { // the root first, as exports have it
		b := nodes[i].b
		if h.corrupt && nodes[i].c == data {
			b = append(bytes.Clone(b[:len(b)-1]), b[len(b)-1]^1)
		}
		put(nodes[i].c, b)
	}
	for _, b := range recs {
		put(dagcbor.SumCID(dagcbor.CodecDagCBOR, b), b)
	}
	for i := range h.extra {
		b, _ := dagcbor.Encode(map[string]any{"n": int64(i)})
		put(dagcbor.SumCID(dagcbor.CodecDagCBOR, b), b)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "repo.car")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, pub.DIDKey()
}

// verifyReport is verify --json's declared shape, with a helper.
type verifyReport archive.VerifyReport

func (v verifyReport) mentions(kind, text string) bool {
	for _, p := range v.Problems {
		if p.Kind == kind && strings.Contains(p.Error, text) {
			return true
		}
	}
	return false
}

// A CAR with no commit proves nothing signed: given a key, a DID document,
// --resolve or --record, verify fails (exit 1); without, it checks the tree.
func TestVerifyBareTreeWithAKeyFails(t *testing.T) {
	file, key := hostile{records: 30, bare: true}.build(t)
	doc := writeTemp(t, []byte(`{"id":"did:plc:arborhostiletestsaaaaaaa","verificationMethod":[{"id":"did:plc:arborhostiletestsaaaaaaa#atproto","type":"Multikey","controller":"did:plc:arborhostiletestsaaaaaaa","publicKeyMultibase":"`+strings.TrimPrefix(key, "did:key:")+`"}]}`))
	for _, args := range [][]string{
		{"--key", key},
		{"--did-doc", doc},
		{"--resolve"},
		{"--record", "app.bsky.feed.post/3k00000000003", "--key", key},
		{"--record", "app.bsky.feed.post/3zzzzzzzzzzzz"},
	} {
		var rep verifyReport
		r := runJSON(t, &rep, append([]string{"verify", file, "--json"}, args...)...)
		if r.code != 1 || rep.Valid || !rep.mentions("commit", "no commit: nothing is signed") {
			t.Errorf("verify %v: exit %d, report %+v, stderr %q; want exit 1 and no commit", args, r.code, rep, r.stderr)
		}
		if rep.Record != nil {
			t.Errorf("verify %v: a proof %+v from an unsigned tree", args, rep.Record)
		}
		if r := run(t, "", append([]string{"verify", file}, args...)...); r.code != 1 || !strings.Contains(r.stdout, "no commit") {
			t.Errorf("verify %v: exit %d, %q", args, r.code, r.stdout)
		}
	}
	if r := run(t, "", "verify", file); r.code != 0 {
		t.Errorf("verify of a bare tree without a key: exit %d, %s", r.code, r.stdout)
	}
	if r := run(t, "", "inspect", file); r.code != 0 {
		t.Errorf("inspect of a bare tree: exit %d, %s", r.code, r.stderr)
	}
}

// A chain of entry-less nodes far deeper than any tree: verify and inspect
// refuse it at once, with exit 1 (a failed check), not a crash or a hang.
func TestVerifyAndInspectRefuseDeepChains(t *testing.T) {
	file, key := hostile{records: 1, chain: 200_000}.build(t)
	var rep verifyReport
	r := runJSON(t, &rep, "verify", file, "--json", "--key", key)
	if r.code != 1 || rep.Valid || !rep.mentions("mst", "deeper than any layer") {
		t.Errorf("verify: exit %d, problems %+v", r.code, rep.Problems)
	}
	wantOneLineError(t, run(t, "", "inspect", file), 1, "deeper than any layer")
	wantOneLineError(t, run(t, "", "inspect", "--json", file), 1, "deeper than any layer")
}

// A tree node whose bytes do not match its CID is one listed problem, with
// the --json report printed, as for a record with the same fault.
func TestVerifyListsANodeWithTheWrongHash(t *testing.T) {
	file, key := hostile{records: 300, corrupt: true}.build(t)
	var rep verifyReport
	r := runJSON(t, &rep, "verify", file, "--json", "--key", key)
	if r.code != 1 || rep.Valid || len(rep.Problems) == 0 || rep.Problems[0].Kind != "block" {
		t.Errorf("exit %d, problems %+v, stderr %q; want exit 1 and a block problem", r.code, rep.Problems, r.stderr)
	}
	if r := run(t, "", "verify", file); r.code != 1 || !strings.Contains(r.stdout, "INVALID") {
		t.Errorf("text: exit %d, %q", r.code, r.stdout)
	}
}

// inspect names a few unreferenced blocks and counts the rest; --json
// lists every one.
func TestInspectShowsAFewUnreferencedBlocks(t *testing.T) {
	file, _ := hostile{records: 5, extra: 12}.build(t)
	r := run(t, "", "inspect", file)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "unreferenced  12\n") || !strings.Contains(r.stdout, "  … and 7 more (--json lists all)\n") {
		t.Errorf("summary:\n%s", r.stdout)
	}
	if n := strings.Count(r.stdout, "\n  bafyrei"); n != inspectListed {
		t.Errorf("%d CIDs listed, want %d:\n%s", n, inspectListed, r.stdout)
	}
	var got inspectJSON
	if runJSON(t, &got, "inspect", "--json", file); len(got.Unreferenced) != 12 {
		t.Errorf("--json lists %d unreferenced, want 12", len(got.Unreferenced))
	}
}

// Whole commands on the big inputs of issue 16, timed through Run. Set
// ARBOR_HOSTILE_COPY=DIR to keep each CAR there for timing arbor by hand.
func benchmarkHostile(b *testing.B, h hostile, name string, exit int, args ...string) {
	file, key := h.build(b)
	if dir := os.Getenv("ARBOR_HOSTILE_COPY"); dir != "" {
		data, err := os.ReadFile(file)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), data, 0o644)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("wrote %s; key %s", filepath.Join(dir, name), key)
	}
	args = append(args, file)
	for b.Loop() {
		if r := Run(append([]string{"arbor"}, args...), Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard}); r != exit {
			b.Fatalf("exit %d, want %d", r, exit)
		}
	}
}

// 1M entry-less nodes above a leaf: refused at once (exit 1).
var deepChain1M = hostile{records: 1, chain: 1_000_000}

// 1M tiny blocks nothing references.
var unreferenced1M = hostile{records: 10, extra: 1_000_000}

func BenchmarkVerifyDeepChain1M(b *testing.B) {
	benchmarkHostile(b, deepChain1M, "deep1m.car", 1, "verify")
}
func BenchmarkInspectDeepChain1M(b *testing.B) {
	benchmarkHostile(b, deepChain1M, "deep1m.car", 1, "inspect")
}
func BenchmarkInspectUnreferenced1M(b *testing.B) {
	benchmarkHostile(b, unreferenced1M, "unref1m.car", 0, "inspect")
}
func BenchmarkVerifyUnreferenced1M(b *testing.B) {
	benchmarkHostile(b, unreferenced1M, "unref1m.car", 0, "verify")
}
