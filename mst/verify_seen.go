package mst

import "encoding/binary"

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

func (s *seenSet) grow() {
	old := s.slots
	s.slots = make([][2]uint64, max(64, 2*len(old)))
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
