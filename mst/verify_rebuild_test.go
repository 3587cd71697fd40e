package mst

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/ipfs/go-cid"
)

// bigTree builds a tree of n leaves into a MapSource and returns its root.
func bigTree(t *testing.T, n int) (MapSource, cid.Cid) {
	t.Helper()
	m := MapSource{}
	b := NewBuilder(func(c cid.Cid, data []byte) error { m[c] = data; return nil })
	val := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("record"))
	for i := 0; i < n; i++ {
		if err := b.Add([]byte(fmt.Sprintf("app.bsky.feed.post/k%08d", i)), val); err != nil {
			t.Fatal(err)
		}
	}
	root, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return m, root
}

// The rebuild runs on the walking goroutine for small trees and on one of
// its own past rebuildBatch leaves; both must find a sound tree sound and
// a root whose CID is not its content's.
func TestVerifyRebuildsLargeTreesToo(t *testing.T) {
	for _, n := range []int{1, rebuildBatch - 1, rebuildBatch, rebuildBatch + 1, 3*rebuildBatch + 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			m, root := bigTree(t, n)
			leaves := 0
			probs, err := Verify(m, root, func([]byte, cid.Cid) error { leaves++; return nil })
			if err != nil || len(probs) > 0 || leaves != n {
				t.Fatalf("sound tree: %d leaves, problems %v, err %v", leaves, probs, err)
			}
			fake := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("not the root"))
			m[fake] = m[root]
			probs, err = Verify(m, fake, nil)
			if err != nil || len(probs) != 1 || !errors.Is(probs[0], ErrRootMismatch) {
				t.Fatalf("root under another CID: problems %v, err %v", probs, err)
			}
		})
	}
}

// An error from fn ends the walk; the rebuilding goroutine is stopped
// with it (the race detector and the leak of a blocked sender would show).
func TestVerifyStopsRebuildOnCallbackError(t *testing.T) {
	m, root := bigTree(t, 5*rebuildBatch)
	stop := errors.New("enough")
	seen := 0
	_, err := Verify(m, root, func([]byte, cid.Cid) error {
		if seen++; seen == 3*rebuildBatch+1 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 3*rebuildBatch+1 {
		t.Fatalf("err %v after %d leaves, want %v after %d", err, seen, stop, 3*rebuildBatch+1)
	}
}

// Heights are checked beside the walk, and the problems found there must
// still come in walk order among the walk's own: here a layer-0 node with
// two keys of height 1 (wrong layer), and between them an entry whose
// prefix is not minimal, in trees small enough to be checked on the walk's
// goroutine and large enough to be checked on another.
func TestVerifyListsHeightProblemsInWalkOrder(t *testing.T) {
	for _, n := range []int{50, 3 * rebuildBatch} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var ents []hent
			var wrong []string
			nonMinimal := ""
			for i := 0; len(ents) < n; i++ {
				k := fmt.Sprintf("com.example.thing/k%06d", i)
				switch h := Height([]byte(k)); {
				case h == 0:
					if len(wrong) == 1 && nonMinimal == "" {
						nonMinimal = k
						ents = append(ents, hent{key: k, p: 0})
						continue
					}
					ents = append(ents, e(k))
				case h == 1 && len(ents) >= (len(wrong)+1)*n/3 && len(wrong) < 2:
					wrong = append(wrong, k)
					ents = append(ents, e(k))
				}
			}
			m := MapSource{}
			low := put(m, nodeBytes(cid.Undef, ents...))
			top := keysAt(1, 100000)
			last := top[len(top)-1] // sorts after every key above
			root := put(m, nodeBytes(low, e(last)))
			probs, err := Verify(m, root, nil)
			if err != nil {
				t.Fatal(err)
			}
			type want struct {
				err error
				key string
			}
			wants := []want{{ErrWrongLayer, wrong[0]}, {ErrNonMinimalPrefix, nonMinimal}, {ErrWrongLayer, wrong[1]}, {ErrRootMismatch, ""}}
			if len(wrong) != 2 || len(probs) != len(wants) {
				t.Fatalf("%d wrong-layer keys placed; problems %v", len(wrong), probs)
			}
			for i, w := range wants {
				if !errors.Is(probs[i], w.err) || probs[i].Key != w.key {
					t.Errorf("problem %d: %v (key %q), want %v at %q", i, probs[i], probs[i].Key, w.err, w.key)
				}
			}
		})
	}
}

// VerifyLinks hands over the leaves Verify does, each value as its CID's
// bytes, and finds the same problems (here, none, and a root mismatch).
func TestVerifyLinksHandsOverWhatVerifyDoes(t *testing.T) {
	m, root := bigTree(t, 2*rebuildBatch+5)
	var want, got []string
	probs, err := Verify(m, root, func(k []byte, v cid.Cid) error { want = append(want, string(k)+" "+v.KeyString()); return nil })
	if err != nil || len(probs) > 0 {
		t.Fatalf("Verify: %v %v", probs, err)
	}
	probs, err = VerifyLinks(m, root, func(k, v []byte) error { got = append(got, string(k)+" "+string(v)); return nil })
	if err != nil || len(probs) > 0 || !slices.Equal(got, want) || len(got) != 2*rebuildBatch+5 {
		t.Fatalf("VerifyLinks: %d leaves (Verify %d), problems %v, err %v", len(got), len(want), probs, err)
	}
	fake := dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("not the root"))
	m[fake] = m[root]
	if probs, err := VerifyLinks(m, fake, nil); err != nil || len(probs) != 1 || !errors.Is(probs[0], ErrRootMismatch) {
		t.Fatalf("root under another CID: %v %v", probs, err)
	}
}
