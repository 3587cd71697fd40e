package car

import (
	"bytes"
	"encoding/binary"
)

// indexTable maps a block's (digest, codec) to the offset of the first
// section holding it. It is an open-addressing hash table of bare uint64
// slots keyed by the sha2-256 digest's own bits (uniform already, so the
// digest is its own hash): each slot holds 24 more digest bits as a tag and
// the section's offset, and nothing else. A tag match is confirmed against
// the CID in the file itself, which a Get is about to read anyway. So the
// table costs 8 bytes a slot (about 11 a block) and nothing to the garbage
// collector, and building it writes one word per block.
type indexTable struct {
	slots []uint64 // 0: empty; else tag<<slotOffBits | (offset+1)
	n     int
}

// slotOffBits is the width of the offset field: files up to 1 TiB.
const slotOffBits = 40

const slotOffMask = 1<<slotOffBits - 1

// init sizes the table for about n entries.
func (t *indexTable) init(n int) {
	size := 1 << 10
	for size*3/4 < n {
		size *= 2
	}
	t.slots = newSlots(size)
}

// newSlots allocates n empty slots and writes to every page of them. A
// large allocation comes fresh from the kernel: left alone, the probes'
// first reads would map the shared zero page and the first write to each
// page would then fault again to replace it, flushing the TLB of every
// core the process runs on (measured: 15% of a diff's time on two cores).
func newSlots(n int) []uint64 {
	s := make([]uint64, n)
	for i := 0; i < n; i += 512 {
		s[i] = 0
	}
	return s
}

// slotHash gives the first probe position (low bits) and the tag kept in
// the slot (high 24 bits) of a digest.
func slotHash(d *[32]byte) (pos, tag uint64) {
	return binary.LittleEndian.Uint64(d[:8]), uint64(d[8])<<56 | uint64(d[9])<<48 | uint64(d[10])<<40
}

// sectionIs reports whether the well-formed section at start in data has
// the atproto CID (d, codec).
func sectionIs(data []byte, start int64, d *[32]byte, codec uint8) bool {
	_, w, _ := uvarintAt(data, int(start))
	c := data[start+int64(w):]
	return c[1] == codec && bytes.Equal(c[4:atprotoCIDLen], d[:])
}

// find returns the offset of the section of (d, codec) in data, or -1.
func (t *indexTable) find(data []byte, d *[32]byte, codec uint8) int64 {
	if len(t.slots) == 0 {
		return -1
	}
	mask := uint64(len(t.slots) - 1)
	h, tag := slotHash(d)
	for p := h & mask; ; p = (p + 1) & mask {
		v := t.slots[p]
		if v == 0 {
			return -1
		}
		if v&^slotOffMask == tag {
			if start := int64(v&slotOffMask) - 1; sectionIs(data, start, d, codec) {
				return start
			}
		}
	}
}

// insert adds the section at start in data, of CID (d, codec), unless the
// CID is there already: the first section holding a CID is the one Get
// reads. start must be below 1 TiB.
func (t *indexTable) insert(data []byte, d *[32]byte, codec uint8, start int64) {
	if t.n+1 > len(t.slots)*3/4 {
		t.grow(data)
	}
	mask := uint64(len(t.slots) - 1)
	h, tag := slotHash(d)
	p := h & mask
	for ; t.slots[p] != 0; p = (p + 1) & mask {
		v := t.slots[p]
		if v&^slotOffMask == tag && sectionIs(data, int64(v&slotOffMask)-1, d, codec) {
			return
		}
	}
	t.n++
	t.slots[p] = tag | uint64(start+1)
}

// grow doubles the table. The first probe position comes from the digest,
// which the slot does not hold: it is read back from the file (tables are
// sized from the file's length so that this is rare).
func (t *indexTable) grow(data []byte) {
	old := t.slots
	t.slots = newSlots(max(2*len(old), 1<<10))
	mask := uint64(len(t.slots) - 1)
	for _, v := range old {
		if v == 0 {
			continue
		}
		start := int(v&slotOffMask) - 1
		_, w, _ := uvarintAt(data, start)
		p := binary.LittleEndian.Uint64(data[start+w+4:]) & mask
		for t.slots[p] != 0 {
			p = (p + 1) & mask
		}
		t.slots[p] = v
	}
}
