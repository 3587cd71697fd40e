package mst

import (
	"encoding/binary"
	"unsafe"

	"github.com/arbor-atproto/arbor/internal/hugepages"
)

// seenSet is the set of node fingerprints Verify has visited: an
// open-addressing table of 16-byte fingerprints. A fingerprint is digest
// bits (see fingerprint), already uniform, so its first word is its own
// hash; a general map would hash it again on every probe, and the walk
// probes once per node.
type seenSet struct {
	slots [][2]uint64 // {0, 0} is an empty slot
	n     int
	zero  bool // the all-zero fingerprint, which cannot sit in a slot
}

// add inserts f and reports whether it was new.
func (s *seenSet) add(f [16]byte) bool {
	k := [2]uint64{binary.LittleEndian.Uint64(f[:8]), binary.LittleEndian.Uint64(f[8:])}
	if k == ([2]uint64{}) {
		was := s.zero
		s.zero = true
		return !was
	}
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for p := k[0] & mask; ; p = (p + 1) & mask {
		switch s.slots[p] {
		case k:
			return false
		case [2]uint64{}:
			s.slots[p] = k
			s.n++
			return true
		}
	}
}

// reserve sizes an empty set for about n fingerprints, so that it does
// not rehash itself as it fills.
func (s *seenSet) reserve(n int) {
	if s.n > 0 || n <= 0 {
		return
	}
	size := 64
	for size*3 < n*4 {
		size *= 2
	}
	if size > len(s.slots) {
		s.make(size)
	}
}

// make replaces the slots by size empty ones: on huge pages when large,
// since every visit probes them at random.
func (s *seenSet) make(size int) {
	s.slots = make([][2]uint64, size)
	hugepages.Advise(unsafe.Pointer(&s.slots[0]), uintptr(size)*16)
}

func (s *seenSet) grow() {
	old := s.slots
	s.make(max(64, 2*len(old)))
	mask := uint64(len(s.slots) - 1)
	for _, k := range old {
		if k == ([2]uint64{}) {
			continue
		}
		p := k[0] & mask
		for s.slots[p] != ([2]uint64{}) {
			p = (p + 1) & mask
		}
		s.slots[p] = k
	}
}
