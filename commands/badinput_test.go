package commands

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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

// fixture is a small signed repository built block by block, so that tests
// can break exactly one thing in it.
type fixture struct {
	t       *testing.T
	key     atcrypto.PrivateKeyExportable
	did     string
	records map[string][]byte // path → record bytes
	node    *mst.NodeData     // set: a single hand-made tree node instead of the built tree
	nodeRaw []byte            // set: the node's bytes as they are, however wrong
	omit    map[cid.Cid]bool  // blocks left out of the file
	root    cid.Cid           // set: the CAR root instead of the commit
}

func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	k := testfixtures.NewKey(t, false)
	f := &fixture{t: t, key: k, did: "did:plc:arborbadinputtestsaaaaaa", records: map[string][]byte{}, omit: map[cid.Cid]bool{}}
	for i := 0; i < n; i++ {
		b, err := dagcbor.Encode(map[string]any{
			"$type":     "app.bsky.feed.post",
			"text":      fmt.Sprintf("post %d", i),
			"createdAt": "2024-01-01T00:00:00Z",
		})
		if err != nil {
			t.Fatal(err)
		}
		f.records[fmt.Sprintf("app.bsky.feed.post/3k%011d", i)] = b
	}
	return f
}

func (f *fixture) paths() []string {
	var ps []string
	for p := range f.records {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// leafNode builds one node holding the given keys in the given order, with
// minimal prefixes, as a tree of one node would have.
func (f *fixture) leafNode(keys []string) *mst.NodeData {
	n := &mst.NodeData{}
	prev := ""
	for _, k := range keys {
		p := 0
		for p < len(prev) && p < len(k) && prev[p] == k[p] {
			p++
		}
		n.Entries = append(n.Entries, mst.EntryData{Prefix: p, Suffix: []byte(k[p:]), Value: dagcbor.SumCID(dagcbor.CodecDagCBOR, f.records[k])})
		prev = k
	}
	return n
}

// keysOfHeight returns paths of the fixture's records with the given height.
func (f *fixture) keysOfHeight(h int) []string {
	var out []string
	for _, p := range f.paths() {
		if mst.Height([]byte(p)) == h {
			out = append(out, p)
		}
	}
	return out
}

// bytes writes the CAR: commit, tree nodes, records.
func (f *fixture) bytes() []byte {
	f.t.Helper()
	type block struct {
		c cid.Cid
		b []byte
	}
	var nodes []block
	var data cid.Cid
	switch {
	case f.nodeRaw != nil:
		data = dagcbor.SumCID(dagcbor.CodecDagCBOR, f.nodeRaw)
		nodes = append(nodes, block{data, f.nodeRaw})
	case f.node != nil:
		raw := mst.EncodeNode(f.node)
		data = dagcbor.SumCID(dagcbor.CodecDagCBOR, raw)
		nodes = append(nodes, block{data, raw})
	default:
		var leaves []mst.Leaf
		for _, p := range f.paths() {
			leaves = append(leaves, mst.Leaf{Key: []byte(p), Value: dagcbor.SumCID(dagcbor.CodecDagCBOR, f.records[p])})
		}
		tree, err := mst.BuildTree(leaves)
		if err != nil {
			f.t.Fatal(err)
		}
		if data, err = tree.RootCID(); err != nil {
			f.t.Fatal(err)
		}
		if err := tree.WriteBlocks(func(c cid.Cid, b []byte) error {
			nodes = append(nodes, block{c, b})
			return nil
		}); err != nil {
			f.t.Fatal(err)
		}
	}
	commit := &repo.Commit{DID: syntax.DID(f.did), Version: 3, Data: data, Rev: "3kabcdefghij2"}
	if err := commit.Sign(f.key); err != nil {
		f.t.Fatal(err)
	}
	cb, err := commit.Bytes()
	if err != nil {
		f.t.Fatal(err)
	}
	cc := dagcbor.SumCID(dagcbor.CodecDagCBOR, cb)
	root := cc
	if f.root.Defined() {
		root = f.root
	}
	var buf bytes.Buffer
	w, err := car.NewWriter(&buf, []cid.Cid{root})
	if err != nil {
		f.t.Fatal(err)
	}
	put := func(c cid.Cid, b []byte) {
		if f.omit[c] {
			return
		}
		if err := w.Put(c, b); err != nil {
			f.t.Fatal(err)
		}
	}
	put(cc, cb)
	for _, n := range nodes {
		put(n.c, n.b)
	}
	for _, p := range f.paths() {
		put(dagcbor.SumCID(dagcbor.CodecDagCBOR, f.records[p]), f.records[p])
	}
	if err := w.Flush(); err != nil {
		f.t.Fatal(err)
	}
	return buf.Bytes()
}

func (f *fixture) publicDIDKey() string {
	pub, err := f.key.PublicKey()
	if err != nil {
		f.t.Fatal(err)
	}
	return pub.DIDKey()
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "repo.car")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyAcceptsTheUntouchedFixture(t *testing.T) {
	f := newFixture(t, 40)
	r := run(t, "", "verify", writeTemp(t, f.bytes()), "--key", f.publicDIDKey())
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
}

// Broken files: each must give a clear error naming the problem and the
// documented exit code, from verify and from inspect.
func TestBadInputGetsClearErrorAndExitCode(t *testing.T) {
	otherKey := testfixtures.NewKey(t, false)
	otherPub, _ := otherKey.PublicKey()
	cases := []struct {
		name       string
		build      func(f *fixture) []byte
		key        func(f *fixture) string
		verifyCode int
		verifyWant string
		inspect    int // expected inspect exit code
	}{
		{
			name:       "truncated file",
			build:      func(f *fixture) []byte { b := f.bytes(); return b[:len(b)-7] },
			verifyCode: ExitUsage, verifyWant: "truncated", inspect: ExitUsage,
		},
		{
			name: "bad varint",
			build: func(f *fixture) []byte {
				b := f.bytes()
				hdr := int(b[0]) + 1 // header length varint is one byte here
				return append(b[:hdr:hdr], bytes.Repeat([]byte{0xff}, 11)...)
			},
			verifyCode: ExitUsage, verifyWant: "varint", inspect: ExitUsage,
		},
		{
			name: "4 GB declared length",
			build: func(f *fixture) []byte {
				b := f.bytes()
				hdr := int(b[0]) + 1
				return append(b[:hdr:hdr], 0x80, 0x80, 0x80, 0x80, 0x10, 0x01, 0x71)
			},
			verifyCode: ExitUsage, verifyWant: "too large", inspect: ExitUsage,
		},
		{
			name: "block bytes do not match the CID",
			build: func(f *fixture) []byte {
				b := f.bytes()
				i := bytes.LastIndex(b, []byte("post 1"))
				b[i+5] = '9'
				return b
			},
			verifyCode: ExitFail, verifyWant: "hash mismatch", inspect: ExitFail,
		},
		{
			name: "missing record block",
			build: func(f *fixture) []byte {
				f.omit[dagcbor.SumCID(dagcbor.CodecDagCBOR, f.records[f.paths()[3]])] = true
				return f.bytes()
			},
			verifyCode: ExitFail, verifyWant: "record block missing", inspect: ExitOK,
		},
		{
			name:       "forged signature (another key)",
			build:      func(f *fixture) []byte { return f.bytes() },
			key:        func(*fixture) string { return otherPub.DIDKey() },
			verifyCode: ExitFail, verifyWant: "signature", inspect: ExitOK,
		},
		{
			name: "root is a record, not a commit",
			build: func(f *fixture) []byte {
				f.root = dagcbor.SumCID(dagcbor.CodecDagCBOR, f.records[f.paths()[0]])
				return f.bytes()
			},
			verifyCode: ExitFail, verifyWant: "neither a commit nor an MST node", inspect: ExitFail,
		},
		{
			name: "unsorted MST entries",
			build: func(f *fixture) []byte {
				ks := f.keysOfHeight(0)[:3]
				f.node = f.leafNode([]string{ks[1], ks[0], ks[2]})
				return f.bytes()
			},
			verifyCode: ExitFail, verifyWant: "order", inspect: ExitOK,
		},
		{
			name: "mis-layered MST entry",
			build: func(f *fixture) []byte {
				ks := append(f.keysOfHeight(0)[:2], f.keysOfHeight(1)[0])
				sort.Strings(ks)
				f.node = f.leafNode(ks)
				return f.bytes()
			},
			verifyCode: ExitFail, verifyWant: "wrong layer", inspect: ExitOK,
		},
		{
			name: "non-canonical CBOR in a node",
			build: func(f *fixture) []byte {
				raw := mst.EncodeNode(f.leafNode(f.keysOfHeight(0)[:2]))
				// "p": 0 becomes "p": 0 in a needlessly long form.
				i := bytes.Index(raw, []byte{0x61, 'p', 0x00})
				f.nodeRaw = append(append(append([]byte{}, raw[:i+2]...), 0x18, 0x00), raw[i+3:]...)
				return f.bytes()
			},
			verifyCode: ExitFail, verifyWant: "non-minimal", inspect: ExitOK,
		},
		{
			name: "node reused in two places (how a cycle would show)",
			build: func(f *fixture) []byte {
				low := f.leafNode(f.keysOfHeight(0)[:1])
				lowRaw := mst.EncodeNode(low)
				lowCID := dagcbor.SumCID(dagcbor.CodecDagCBOR, lowRaw)
				top := f.leafNode(f.keysOfHeight(1)[:1])
				top.Left = lowCID
				top.Entries[0].Right = lowCID
				f.node = top
				b := f.bytes()
				// add the shared child block
				var buf bytes.Buffer
				w, _ := car.NewWriter(&buf, nil)
				w.Put(lowCID, lowRaw)
				w.Flush()
				hdrLen := int(buf.Bytes()[0]) + 1
				return append(b, buf.Bytes()[hdrLen:]...)
			},
			verifyCode: ExitFail, verifyWant: "two places", inspect: ExitOK,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, 40)
			path := writeTemp(t, c.build(f))
			key := f.publicDIDKey()
			if c.key != nil {
				key = c.key(f)
			}
			r := run(t, "", "verify", path, "--key", key)
			if r.code != c.verifyCode {
				t.Fatalf("verify exit %d, want %d\nstdout: %s\nstderr: %s", r.code, c.verifyCode, r.stdout, r.stderr)
			}
			if !bytes.Contains([]byte(r.stdout+r.stderr), []byte(c.verifyWant)) {
				t.Fatalf("verify output does not mention %q:\nstdout: %s\nstderr: %s", c.verifyWant, r.stdout, r.stderr)
			}
			if c.verifyCode == ExitUsage {
				wantOneLineError(t, r, ExitUsage, c.verifyWant)
			}
			ri := run(t, "", "inspect", path)
			if ri.code != c.inspect {
				t.Fatalf("inspect exit %d, want %d: %s", ri.code, c.inspect, ri.stderr)
			}
		})
	}
}

func TestVerifyReportsRecordWhereNodeExpected(t *testing.T) {
	f := newFixture(t, 40)
	top := f.leafNode(f.keysOfHeight(1)[:1])
	// The node's left link points at a record block, not at a node.
	top.Left = dagcbor.SumCID(dagcbor.CodecDagCBOR, f.records[f.keysOfHeight(0)[0]])
	f.node = top
	r := run(t, "", "verify", writeTemp(t, f.bytes()), "--key", f.publicDIDKey())
	if r.code != ExitFail || !bytes.Contains([]byte(r.stdout), []byte("not an MST node")) {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}
