package mst

import (
	"encoding/binary"
	"testing"
)

// Every fingerprint is new once and seen ever after, through growth, for
// the all-zero one, and for ones that share a first word (the same slot).
func TestSeenSetFindsEveryFingerprintAgain(t *testing.T) {
	fp := func(a, b uint64) (f [16]byte) {
		binary.LittleEndian.PutUint64(f[:8], a)
		binary.LittleEndian.PutUint64(f[8:], b)
		return f
	}
	var all [][16]byte
	all = append(all, fp(0, 0), fp(0, 1), fp(1, 0), fp(7, 7), fp(7, 8), fp(7+64, 7))
	for i := uint64(1); i < 5000; i++ {
		all = append(all, fp(i*0x9e3779b97f4a7c15, i))
	}
	for _, reserve := range []int{0, 10, len(all)} {
		var s seenSet
		s.reserve(reserve)
		reserved := len(s.slots)
		for round := range 2 {
			for i, f := range all {
				if got := s.add(f); got != (round == 0) {
					t.Fatalf("reserve %d, round %d, fingerprint %d (%x): add says new=%v", reserve, round, i, f, got)
				}
			}
		}
		// A set reserved for all of them never rehashed.
		if reserve == len(all) && len(s.slots) != reserved {
			t.Errorf("reserved %d slots for %d fingerprints, then grew to %d", reserved, reserve, len(s.slots))
		}
	}
}
