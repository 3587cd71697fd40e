package mst

import (
	"errors"
	"fmt"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

// keysAt returns n sorted keys of the given height.
func keysAt(h, n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		k := fmt.Sprintf("com.example.thing/k%06d", i)
		if Height([]byte(k)) == h {
			out = append(out, k)
		}
	}
	return out
}

var testVal = dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("record"))

type hent struct {
	key   string
	right cid.Cid
	p     int // -1: minimal
}

// nodeBytes encodes a node by hand (prefixes minimal unless given).
func nodeBytes(left cid.Cid, ents ...hent) []byte {
	nd := &NodeData{Left: left, Entries: []EntryData{}}
	prev := ""
	for _, e := range ents {
		p := e.p
		if p < 0 {
			p = commonPrefix([]byte(prev), []byte(e.key))
		}
		nd.Entries = append(nd.Entries, EntryData{Prefix: p, Suffix: []byte(e.key[p:]), Value: testVal, Right: e.right})
		prev = e.key
	}
	return EncodeNode(nd)
}

func e(key string) hent                 { return hent{key: key, p: -1} }
func er(key string, right cid.Cid) hent { return hent{key: key, right: right, p: -1} }

// put stores b under its true CID.
func put(m MapSource, b []byte) cid.Cid {
	c := dagcbor.SumCID(dagcbor.CodecDagCBOR, b)
	m[c] = b
	return c
}

func TestVerifyReportsBadTrees(t *testing.T) {
	k0 := keysAt(0, 6)
	k1 := keysAt(1, 3)
	fake := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("not stored"))

	tests := []struct {
		name  string
		build func(m MapSource) cid.Cid
		want  error
	}{
		{"unsorted entries in a node", func(m MapSource) cid.Cid {
			return put(m, nodeBytes(cid.Undef, e(k0[1]), e(k0[0])))
		}, ErrUnsorted},
		{"duplicate entries in a node", func(m MapSource) cid.Cid {
			return put(m, nodeBytes(cid.Undef, e(k0[0]), e(k0[0])))
		}, ErrDuplicateKey},
		{"keys unsorted across nodes", func(m MapSource) cid.Cid {
			// k0[5] sorts after k1[0]? use a right subtree holding a key
			// smaller than its parent entry.
			small := put(m, nodeBytes(cid.Undef, e(k0[0])))
			return put(m, nodeBytes(cid.Undef, er(k1[len(k1)-1], small)))
		}, ErrUnsorted},
		{"entry at the wrong layer", func(m MapSource) cid.Cid {
			return put(m, nodeBytes(cid.Undef, e(k0[0]), e(k1[0]), e(k0[5])))
		}, ErrWrongLayer},
		{"subtree skipping a layer", func(m MapSource) cid.Cid {
			// a layer-2 root linking straight to a layer-0 node
			k2 := keysAt(2, 1)[0]
			low := put(m, nodeBytes(cid.Undef, e(k0[0])))
			return put(m, nodeBytes(low, e(k2)))
		}, ErrWrongLayer},
		{"subtree below layer 0", func(m MapSource) cid.Cid {
			low := put(m, nodeBytes(cid.Undef, e(k0[5])))
			return put(m, nodeBytes(cid.Undef, er(k0[0], low)))
		}, ErrWrongLayer},
		{"empty node below the root", func(m MapSource) cid.Cid {
			empty := put(m, nodeBytes(cid.Undef))
			return put(m, nodeBytes(cid.Undef, er(k1[0], empty)))
		}, ErrEmptyNode},
		{"untrimmed root", func(m MapSource) cid.Cid {
			low := put(m, nodeBytes(cid.Undef, e(k0[0])))
			return put(m, nodeBytes(low))
		}, ErrEmptyNode},
		{"non-minimal prefix", func(m MapSource) cid.Cid {
			return put(m, nodeBytes(cid.Undef, e(k0[0]), hent{key: k0[1], p: 0}))
		}, ErrNonMinimalPrefix},
		{"invalid key", func(m MapSource) cid.Cid {
			for i := 0; ; i++ {
				k := fmt.Sprintf("nokey%d", i)
				if Height([]byte(k)) == 0 {
					return put(m, nodeBytes(cid.Undef, e(k)))
				}
			}
		}, ErrBadKey},
		{"cycle back to an ancestor", func(m MapSource) cid.Cid {
			// Content addressing makes real cycles impossible; a lying
			// source can still serve one.
			self := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("self"))
			m[self] = nodeBytes(cid.Undef, er(k1[0], self))
			return self
		}, ErrCycle},
		{"node linked from two parents", func(m MapSource) cid.Cid {
			low := put(m, nodeBytes(cid.Undef, e(k0[2])))
			return put(m, nodeBytes(cid.Undef, er(k1[0], low), er(k1[1], low)))
		}, ErrCycle},
		{"missing node", func(m MapSource) cid.Cid {
			return put(m, nodeBytes(cid.Undef, er(k1[0], fake)))
		}, ErrMissingBlock},
		{"missing root", func(m MapSource) cid.Cid { return fake }, ErrMissingBlock},
		{"record where a node is expected", func(m MapSource) cid.Cid {
			w := dagcbor.NewWriter(nil)
			w.WriteMapHeader(2)
			w.WriteString("text")
			w.WriteString("hello")
			w.WriteString("$type")
			w.WriteString("app.bsky.feed.post")
			rec := put(m, w.Bytes())
			return put(m, nodeBytes(cid.Undef, er(k1[0], rec)))
		}, ErrNotANode},
		{"non-canonical CBOR in a node", func(m MapSource) cid.Cid {
			b := nodeBytes(cid.Undef, e(k0[0]))
			// "p": 0 written as a one-byte-argument integer 0x18 0x00.
			for i := 0; i+2 < len(b); i++ {
				if b[i] == 0x61 && b[i+1] == 'p' && b[i+2] == 0x00 {
					nb := append(append(append([]byte{}, b[:i+2]...), 0x18, 0x00), b[i+3:]...)
					return put(m, nb)
				}
			}
			panic("no p field")
		}, dagcbor.ErrNonMinimal},
		{"raw codec link to a node", func(m MapSource) cid.Cid {
			raw := dagcbor.SumCID(dagcbor.CodecRaw, nodeBytes(cid.Undef, e(k0[0])))
			return put(m, nodeBytes(cid.Undef, er(k1[0], raw)))
		}, ErrNotANode},
		{"root CID does not match its content", func(m MapSource) cid.Cid {
			m[fake] = nodeBytes(cid.Undef, e(k0[0]), e(k0[1]))
			return fake
		}, ErrRootMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := MapSource{}
			root := tc.build(m)
			probs, err := Verify(m, root, nil)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range probs {
				if errors.Is(p, tc.want) {
					found = true
					if p.Error() == "" {
						t.Error("empty problem message")
					}
				}
			}
			if !found {
				t.Errorf("problems %v, want one wrapping %v", probs, tc.want)
			}
		})
	}
}

func TestVerifyContinuesPastMissingBlocks(t *testing.T) {
	k1 := keysAt(1, 2)
	m := MapSource{}
	fake := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("gone"))
	// the right subtree's key must sort after k1[1]
	var after string
	for _, k := range keysAt(0, 200) {
		if k > k1[1] {
			after = k
			break
		}
	}
	right := put(m, nodeBytes(cid.Undef, e(after)))
	root := put(m, nodeBytes(fake, e(k1[0]), er(k1[1], right)))
	var seen []string
	probs, err := Verify(m, root, func(k []byte, v cid.Cid) error {
		seen = append(seen, string(k))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 1 || !errors.Is(probs[0], ErrMissingBlock) || probs[0].CID != fake {
		t.Fatalf("problems %v, want exactly the missing block %s", probs, fake)
	}
	if len(seen) != 3 || seen[2] != after {
		t.Errorf("walk after the missing block gave %v", seen)
	}
}

func TestVerifyReturnsCallbackError(t *testing.T) {
	tr, err := BuildTree(leavesWith(keysAt(0, 5), testVal))
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	_, err = Verify(blocksOf(t, tr), rootOf(t, tr), func([]byte, cid.Cid) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the callback's error", err)
	}
}

func TestVerifyAcceptsEmptyTree(t *testing.T) {
	m := MapSource{}
	root := put(m, nodeBytes(cid.Undef))
	if root != rootOf(t, NewEmpty()) {
		t.Fatalf("empty node CID mismatch")
	}
	verifyClean(t, m, root)
}

func TestVerifyCapsProblems(t *testing.T) {
	// a node with 1500 keys out of order
	ks := keysAt(0, 1501)
	ents := make([]hent, 0, len(ks))
	for i := len(ks) - 1; i >= 0; i-- {
		ents = append(ents, e(ks[i]))
	}
	m := MapSource{}
	root := put(m, nodeBytes(cid.Undef, ents...))
	n := 0
	probs, err := Verify(m, root, func([]byte, cid.Cid) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != MaxProblems || n != len(ks) {
		t.Errorf("%d problems, %d leaves; want %d, %d", len(probs), n, MaxProblems, len(ks))
	}
}
