package archive

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
)

// storeModel is what the block table must answer, kept in a map.
type storeModel struct {
	index       map[[32]byte]int
	placeholder map[int]bool
	n           int
}

// op is one call on the store: ref (a node's link) or insert (a block).
type op struct {
	d   [32]byte
	ref bool
}

func digestOf(i int) [32]byte { return sha256.Sum256(fmt.Appendf(nil, "block %d", i)) }

// TestStoreGuessesGiveWhatTheTableGives drives the store with sequences
// shaped like the files the guesses are for (records in the order their
// node linked them, records in key order around an upper layer's entries,
// each node's records right after it) and like none (random order,
// duplicates), and holds every answer, and the state touchRun leaves, to
// a plain map's.
func TestStoreGuessesGiveWhatTheTableGives(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	linked := func(n int) []op { // refs 0..n-1, then inserts in that order
		var ops []op
		for i := range n {
			ops = append(ops, op{digestOf(i), true})
		}
		for i := range n {
			ops = append(ops, op{digestOf(i), false})
		}
		return ops
	}
	tests := []struct {
		name string
		ops  []op
		hits bool // most inserts must be found by a guess
	}{
		{"records in link order", linked(500), true},
		{"records in key order around upper entries", func() []op {
			// An upper node links leaf L, value v, leaf R; L's and R's
			// records follow in the table; key order is L's, v, R's.
			ops := []op{{digestOf(0), true}, {digestOf(1), true}, {digestOf(2), true}}
			for i := 10; i < 18; i++ {
				ops = append(ops, op{digestOf(i), true})
			}
			for i := 10; i < 14; i++ {
				ops = append(ops, op{digestOf(i), false})
			}
			ops = append(ops, op{digestOf(1), false})
			for i := 14; i < 18; i++ {
				ops = append(ops, op{digestOf(i), false})
			}
			return ops
		}(), true},
		{"each node's records right after it", func() []op {
			var ops []op
			for n := range 50 {
				ops = append(ops, op{digestOf(1000 + n), false})
				for r := range 8 {
					ops = append(ops, op{digestOf(n*8 + r), true})
				}
				for r := range 8 {
					ops = append(ops, op{digestOf(n*8 + r), false})
				}
			}
			return ops
		}(), true},
		{"random order with duplicates", func() []op {
			var ops []op
			for range 3000 {
				ops = append(ops, op{digestOf(rng.IntN(400)), rng.IntN(2) == 0})
			}
			return ops
		}(), false},
		{"inserts twice in a row", func() []op {
			ops := linked(100)
			return append(ops, linked(100)...)
		}(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s blockStore
			m := storeModel{index: map[[32]byte]int{}, placeholder: map[int]bool{}}
			hits, inserts := 0, 0
			for k, o := range tc.ops {
				if k%7 == 0 {
					// touchRun reads ahead and must change nothing.
					before := [3]int{s.n, s.next, s.alt}
					s.touchRun(batchOf(tc.ops[k:min(k+7, len(tc.ops))]))
					if after := [3]int{s.n, s.next, s.alt}; after != before {
						t.Fatalf("op %d: touchRun changed the store: %v -> %v", k, before, after)
					}
				}
				guessed := false
				if !o.ref {
					inserts++
					guessed = s.match(s.next, &o.d, 0x71) || s.match(s.alt, &o.d, 0x71)
				}
				var i int
				var added bool
				if o.ref {
					i = s.ref(&o.d, 0x71)
				} else {
					i, added = s.insert(&o.d, 0x71)
				}
				if guessed {
					hits++
				}
				wi, wadded := m.apply(o)
				if i != wi || (!o.ref && added != wadded) {
					t.Fatalf("op %d (ref %v): store gave (%d, %v), want (%d, %v)", k, o.ref, i, added, wi, wadded)
				}
				if got := s.entry(i).flags&flagPlaceholder != 0; got != m.placeholder[i] {
					t.Fatalf("op %d: entry %d placeholder %v, want %v", k, i, got, m.placeholder[i])
				}
			}
			if s.n != m.n || s.placeholders != countTrue(m.placeholder) {
				t.Fatalf("store has %d entries (%d placeholders), want %d (%d)", s.n, s.placeholders, m.n, countTrue(m.placeholder))
			}
			for d, i := range m.index {
				if got := s.find(&d, 0x71); got != i {
					t.Fatalf("find %x = %d, want %d", d[:4], got, i)
				}
			}
			if tc.hits && hits*10 < inserts*7 {
				t.Errorf("guesses found %d of %d inserts, want most", hits, inserts)
			}
		})
	}
}

func (m *storeModel) apply(o op) (int, bool) {
	i, ok := m.index[o.d]
	if !ok {
		i = m.n
		m.n++
		m.index[o.d] = i
		m.placeholder[i] = o.ref
		return i, true
	}
	if !o.ref && m.placeholder[i] {
		m.placeholder[i] = false
		return i, true
	}
	return i, false
}

func countTrue(m map[int]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

func batchOf(ops []op) []batchBlock {
	bs := make([]batchBlock, len(ops))
	for i, o := range ops {
		bs[i] = batchBlock{digest: o.d, codec: 0x71}
	}
	return bs
}

// TestPeekLinkLoadsTheSlotAProbeStartsAt holds peekLink, which reads a
// link's digest straight from its binary CID, to the slot find and insert
// start probing at, and to nothing for a link that is no atproto CID.
func TestPeekLinkLoadsTheSlotAProbeStartsAt(t *testing.T) {
	var s blockStore
	if got := s.peekLink(dagcborLink(digestOf(0))); got != 0 {
		t.Fatalf("peekLink on an empty table = %#x, want 0", got)
	}
	s.reserve(100)
	for i := range 60 {
		d := digestOf(i)
		s.ref(&d, 0x71)
	}
	mask := uint64(len(s.slots) - 1)
	for i := range 60 {
		d := digestOf(i)
		want := s.slots[slotHash(&d)&mask]
		if got := s.peekLink(dagcborLink(d)); got != want {
			t.Errorf("link %d: peekLink = %#x, want the first probed slot's %#x", i, got, want)
		}
	}
	for _, l := range [][]byte{nil, dagcborLink(digestOf(1))[:35]} {
		if got := s.peekLink(l); got != 0 {
			t.Errorf("peekLink(%d bytes) = %#x, want 0", len(l), got)
		}
	}
}

// dagcborLink is the binary CID (CIDv1, dag-cbor, sha2-256) of digest d.
func dagcborLink(d [32]byte) []byte { return append([]byte{0x01, 0x71, 0x12, 0x20}, d[:]...) }
