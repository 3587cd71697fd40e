package car

import "encoding/binary"

// indexTable maps a block's (digest, codec) to where its section is. It is
// an open-addressing hash table keyed by the sha2-256 digest's own bits
// (uniform already, so the digest is its own hash), with entries in
// first-seen order in fixed-size pages, like the repo package's block
// store. It holds no pointers per block, so a million-block file costs the
// garbage collector nothing and about 56 bytes a block in all.
type indexTable struct {
	pages [][]indexEntry // entries, indexPageSize per page
	n     int
	// slots: 0 is empty; otherwise the entry index + 1 in the low 32 bits
	// and 32 more digest bits in the high ones, so a probe that meets
	// another block rarely has to read its entry.
	slots []uint64
}

type indexEntry struct {
	digest [32]byte
	start  int64  // byte offset of the section (its length varint)
	size   uint32 // block bytes
	hdr    uint8  // bytes from the section start to the block bytes
	codec  uint8
}

const indexPageSize = 1 << 14

// init sizes the table for about n entries.
func (t *indexTable) init(n int) {
	size := 1 << 10
	for size*3/4 < n {
		size *= 2
	}
	t.slots = make([]uint64, size)
}

func (t *indexTable) entry(i int) *indexEntry { return &t.pages[i/indexPageSize][i%indexPageSize] }

// slotHash gives the first probe position (low bits) and the tag kept in
// the slot (high 32 bits) of a digest.
func slotHash(d *[32]byte) (pos, tag uint64) {
	return binary.LittleEndian.Uint64(d[:8]), uint64(binary.LittleEndian.Uint32(d[8:12])) << 32
}

// find returns the index of the entry for (d, codec), or -1.
func (t *indexTable) find(d *[32]byte, codec uint8) int {
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
		if v&^0xffffffff == tag {
			i := int(uint32(v)) - 1
			if e := t.entry(i); e.digest == *d && e.codec == codec {
				return i
			}
		}
	}
}

// insert adds a block unless its (digest, codec) is there already: the
// first section holding a CID is the one Get reads.
func (t *indexTable) insert(d *[32]byte, codec uint8, start int64, hdr uint8, size uint32) {
	if t.n+1 > len(t.slots)*3/4 {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	h, tag := slotHash(d)
	p := h & mask
	for ; t.slots[p] != 0; p = (p + 1) & mask {
		v := t.slots[p]
		if v&^0xffffffff == tag {
			if e := t.entry(int(uint32(v)) - 1); e.digest == *d && e.codec == codec {
				return
			}
		}
	}
	i := t.n
	if i%indexPageSize == 0 {
		t.pages = append(t.pages, make([]indexEntry, indexPageSize))
	}
	*t.entry(i) = indexEntry{digest: *d, start: start, size: size, hdr: hdr, codec: codec}
	t.n++
	t.slots[p] = tag | uint64(i+1)
}

func (t *indexTable) grow() {
	size := max(2*len(t.slots), 1<<10)
	t.slots = make([]uint64, size)
	mask := uint64(size - 1)
	for i := 0; i < t.n; i++ {
		e := t.entry(i)
		h, tag := slotHash(&e.digest)
		p := h & mask
		for t.slots[p] != 0 {
			p = (p + 1) & mask
		}
		t.slots[p] = tag | uint64(i+1)
	}
}
