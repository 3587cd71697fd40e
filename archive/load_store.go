package archive

import (
	"encoding/binary"
	"unsafe"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/internal/hugepages"
)

// blockStore is the archive's index of blocks: an open-addressing hash table
// keyed by the sha2-256 digest of each block (whose bits are already uniform,
// so the digest is its own hash), entries in first-seen order, and the bytes
// of kept blocks packed into large slabs. It holds no pointers per block, so
// a million-block archive costs the garbage collector almost nothing and
// takes about 40 bytes a block plus the kept bytes.
//
// A lazy store (an archive read with loadOptions.Lazy) also has locs, a
// page of packed file locations parallel to each page of entries: 8 more
// bytes a block, in place of the bytes of the records.
type blockStore struct {
	pages [][]blockEntry // entries in first-seen order, pageSize per page
	n     int
	// placeholders counts entries made for a link to a block not seen yet
	// (flagPlaceholder; see ref). They are not blocks of the archive.
	placeholders int
	slots        []uint64 // 0: empty; else tag<<32 | (entry index + 1)
	bodies       []bodyLoc
	slabs        [][]byte
	lazy         bool
	locs         [][]uint64 // when lazy: per entry, packLoc(offset, length), 0 for none
	sink         uint64     // touch's and peekLink's loads land here, so they are not optimised away
	// next and alt are the two guesses of which entry the next
	// insertOrFind is for (see guess); any value is safe, a guess is only compared.
	next, alt int
}

type blockEntry struct {
	digest [32]byte
	codec  uint8
	flags  uint8
	rec    uint8  // what the block is as a record (recOK, recNode, ...; record_check.go)
	body   uint32 // index into bodies, when flagKept
}

const (
	flagKept        = 1 << iota // bytes kept in a slab
	flagBad                     // bytes did not match the CID, or unsupported
	flagCompact                 // the kept bytes are a node in compact form (load_compact.go)
	flagPlaceholder             // linked to by a compact node, not (yet) seen in the file
)

type bodyLoc struct{ slab, off, n uint32 }

const (
	pageSize = 1 << 10
	slabSize = 4 << 20
)

// cidDigest returns the digest and codec of an atproto CID (CIDv1,
// sha2-256); ok is false for any other kind of CID, which the store never
// holds.
func cidDigest(c cid.Cid) (d [32]byte, codec uint8, ok bool) {
	k := c.KeyString()
	if len(k) != 36 || k[0] != 0x01 || k[2] != dagcbor.HashSHA256 || k[3] != 32 || k[1] >= 0x80 {
		return d, 0, false
	}
	copy(d[:], k[4:])
	return d, k[1], true
}

// linkDigest is cidDigest for a CID in binary form.
func linkDigest(b []byte) (d [32]byte, codec uint8, ok bool) {
	if len(b) != 36 || b[0] != 0x01 || b[2] != dagcbor.HashSHA256 || b[3] != 32 || b[1] >= 0x80 {
		return d, 0, false
	}
	copy(d[:], b[4:])
	return d, b[1], true
}

func (s *blockStore) entry(i int) *blockEntry { return &s.pages[i/pageSize][i%pageSize] }

// slotHash and slotTag take two independent parts of a digest: where to
// start probing, and a 32-bit tag compared before an entry is touched, so a
// probe rarely costs a cache miss in the entries.
func slotHash(d *[32]byte) uint64 { return binary.LittleEndian.Uint64(d[:8]) }
func slotTag(d *[32]byte) uint64  { return uint64(binary.LittleEndian.Uint32(d[8:12])) << 32 }

// find returns the index of the entry for (d, codec), or -1.
func (s *blockStore) find(d *[32]byte, codec uint8) int {
	if len(s.slots) == 0 {
		return -1
	}
	mask := uint64(len(s.slots) - 1)
	tag := slotTag(d)
	for p := slotHash(d) & mask; ; p = (p + 1) & mask {
		v := s.slots[p]
		if v == 0 {
			return -1
		}
		if v&^0xffffffff != tag {
			continue
		}
		i := int(uint32(v) - 1)
		if e := s.entry(i); e.digest == *d && e.codec == codec {
			return i
		}
	}
}

// touch loads the slot where (d) would be probed first and, when its tag
// matches, the entry's first word, and does nothing else. Touching the
// digests a batch will insert or look up before doing so lets their cache
// misses overlap (the loads are independent), where the probes themselves
// would take them one after another: the table is far larger than the
// caches, so these misses are most of what indexing costs.
func (s *blockStore) touch(d *[32]byte) {
	if len(s.slots) == 0 {
		return
	}
	v := s.slots[slotHash(d)&uint64(len(s.slots)-1)]
	if v != 0 && v&^0xffffffff == slotTag(d) {
		i := int(uint32(v) - 1)
		s.sink += uint64(s.pages[i/pageSize][i%pageSize].codec)
	}
	s.sink += v
}

// peekLink returns the slot where the digest of link, an atproto CID in
// binary form, would be probed first: touch for the links of a node being
// compacted, where the caller sums what it returns and hands the sum to
// s.sink once. It returns 0 for a link that is not 36 bytes long; any
// other 36 bytes are looked at as if they were one, which costs only the
// load. It takes the digest in place, looks at no entry and branches on
// nothing it loaded, so a node's loads all go out together. (Touching
// each link through linkDigest and touch, which copy the digest out and
// branch on whether the slot is empty, about even odds as the table fills,
// made indexing a run of nodes of a million-block table about a third
// slower: a mispredicted branch on a load still in flight holds back the
// loads after it.)
func (s *blockStore) peekLink(link []byte) uint64 {
	if len(link) != 36 || len(s.slots) == 0 {
		return 0
	}
	return s.slots[slotHash((*[32]byte)(link[4:]))&uint64(len(s.slots)-1)]
}

// lookup finds the entry of a block of the archive by CID, or -1 (also
// for a placeholder: a block linked to but never seen).
func (s *blockStore) lookup(c cid.Cid) int {
	d, codec, ok := cidDigest(c)
	if !ok {
		return -1
	}
	return s.present(s.find(&d, codec))
}

// present returns i, or -1 when i is -1 or a placeholder.
func (s *blockStore) present(i int) int {
	if i >= 0 && s.entry(i).flags&flagPlaceholder != 0 {
		return -1
	}
	return i
}

// ref returns the entry of (d, codec), making a placeholder entry for it
// when the block has not been seen yet: compact nodes name the blocks
// they link to by entry.
func (s *blockStore) ref(d *[32]byte, codec uint8) int {
	i, added := s.insertOrFind(d, codec, false)
	if added {
		s.entry(i).flags |= flagPlaceholder
		s.placeholders++
	}
	return i
}

// insert adds (d, codec) unless present; it returns the entry index and
// whether it was added. A placeholder becomes a block, as added.
func (s *blockStore) insert(d *[32]byte, codec uint8) (int, bool) {
	return s.insertOrFind(d, codec, true)
}

// insertOrFind is insert; fill says whether finding a placeholder fills it.
func (s *blockStore) insertOrFind(d *[32]byte, codec uint8, fill bool) (int, bool) {
	if g := s.guess(d, codec); g >= 0 {
		return g, s.found(g, fill)
	}
	i, added := s.insertOrFindSlot(d, codec, fill)
	s.alt, s.next = s.next, i+1
	return i, added
}

// found is what insertOrFind says of entry i, found for its digest:
// whether it counts as added, which a placeholder filled (when fill) does.
func (s *blockStore) found(i int, fill bool) bool {
	if e := s.entry(i); fill && e.flags&flagPlaceholder != 0 {
		e.flags &^= flagPlaceholder
		s.placeholders--
		return true
	}
	return false
}

// Guessing. A node's links get table entries one after another when it
// is compacted, so the records of one node take consecutive entries, and a
// file that has its records in key order, or each node's records right
// after it, asks for them in that order: the entry after the last one
// found is a good guess, and checking it costs no cache miss, where a probe
// of the table almost always does. Records of a node with subtrees come in
// key order with the subtrees' records between them, so the guess before
// the last miss (alt) is kept as a second: after the one record of an
// upper layer, key order goes back to the run it left. A guess is only
// compared: a wrong one costs nothing but the compare, and the table
// gives the same entry either way.

// match reports whether entry g exists and is (d, codec).
func (s *blockStore) match(g int, d *[32]byte, codec uint8) bool {
	if g < 0 || g >= s.n {
		return false
	}
	e := s.entry(g)
	return e.digest == *d && e.codec == codec
}

// guess returns the entry of (d, codec) when it is one of the two guessed,
// else -1; on a hit the guesses move past it.
func (s *blockStore) guess(d *[32]byte, codec uint8) int {
	g, next, alt := s.step(s.next, s.alt, d, codec)
	if g >= 0 {
		s.next, s.alt = next, alt
	}
	return g
}

// step is the rule of the guesses: the entry of (d, codec) when it is
// next or alt, and the guesses after it; g is -1 (and the guesses are
// unchanged) when it is neither.
func (s *blockStore) step(next, alt int, d *[32]byte, codec uint8) (g, next2, alt2 int) {
	switch {
	case s.match(next, d, codec):
		return next, next + 1, alt
	case s.match(alt, d, codec):
		return alt, alt + 1, -1
	}
	return -1, next, alt
}

// touchRun is touch for the digests of a run of blocks about to be
// inserted in this order, skipping those the guesses will find: it plays
// the guesses forward (step), with the entry a miss will find unknown.
func (s *blockStore) touchRun(bs []batchBlock) {
	next, alt := s.next, s.alt
	for i := range bs {
		d := &bs[i].digest
		g, n, a := s.step(next, alt, d, bs[i].codec)
		if g < 0 {
			s.touch(d)
			n, a = -1, next // as insertOrFind sets them, but for the entry found
		}
		next, alt = n, a
	}
}

func (s *blockStore) insertOrFindSlot(d *[32]byte, codec uint8, fill bool) (int, bool) {
	if s.n+1 > len(s.slots)*3/4 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	tag := slotTag(d)
	p := slotHash(d) & mask
	for ; s.slots[p] != 0; p = (p + 1) & mask {
		v := s.slots[p]
		if v&^0xffffffff != tag {
			continue
		}
		i := int(uint32(v) - 1)
		if e := s.entry(i); e.digest == *d && e.codec == codec {
			return i, s.found(i, fill)
		}
	}
	i := s.n
	if i%pageSize == 0 {
		s.pages = append(s.pages, make([]blockEntry, pageSize))
		if s.lazy {
			s.locs = append(s.locs, make([]uint64, pageSize))
		}
	}
	*s.entry(i) = blockEntry{digest: *d, codec: codec}
	s.n++
	s.slots[p] = tag | uint64(i+1)
	return i, true
}

// reserve sizes an empty table for about n blocks, so that a large archive
// whose size is known up front does not rehash itself as it grows.
func (s *blockStore) reserve(n int) {
	if s.n > 0 {
		return
	}
	size := 1 << 10
	for size*3/4 < n {
		size *= 2
	}
	if size > len(s.slots) {
		s.slots = make([]uint64, size)
		// Huge pages for the slots, which every insert and lookup
		// probes at random. (The entries could have them too, made
		// at once here, but that cost 12 MiB more at the peak on a
		// million-block file.)
		hugepages.Advise(unsafe.Pointer(&s.slots[0]), uintptr(size)*8)
	}
}

func (s *blockStore) grow() {
	size := 1 << 10
	if len(s.slots) > 0 {
		size = len(s.slots) * 2
	}
	s.slots = make([]uint64, size)
	hugepages.Advise(unsafe.Pointer(&s.slots[0]), uintptr(size)*8) // see reserve
	mask := uint64(size - 1)
	for i := 0; i < s.n; i++ {
		e := s.entry(i)
		p := slotHash(&e.digest) & mask
		for s.slots[p] != 0 {
			p = (p + 1) & mask
		}
		s.slots[p] = slotTag(&e.digest) | uint64(i+1)
	}
}

// keep copies a block's bytes into the slabs.
func (s *blockStore) keep(i int, data []byte) {
	e := s.entry(i)
	if e.flags&flagKept != 0 {
		return
	}
	last := len(s.slabs) - 1
	if last < 0 || len(s.slabs[last])+len(data) > cap(s.slabs[last]) {
		// Slabs double from 16 KiB up to slabSize, so a small archive
		// does not pay for a large one's.
		size := 16 << 10
		if last >= 0 {
			size = min(slabSize, 2*cap(s.slabs[last]))
		}
		s.slabs = append(s.slabs, make([]byte, 0, max(size, len(data))))
		last++
	}
	off := len(s.slabs[last])
	s.slabs[last] = append(s.slabs[last], data...)
	e.flags |= flagKept
	e.body = uint32(len(s.bodies))
	s.bodies = append(s.bodies, bodyLoc{slab: uint32(last), off: uint32(off), n: uint32(len(data))})
}

// body returns a kept block's bytes (capacity-limited, so appending to it
// cannot overwrite its neighbours), or nil; nil too for a node kept in
// compact form (see compactBody).
func (s *blockStore) body(i int) []byte {
	e := s.entry(i)
	if e.flags&(flagKept|flagCompact) != flagKept {
		return nil
	}
	return s.kept(e)
}

// compactBody returns the compact form of a node kept so, or nil.
func (s *blockStore) compactBody(i int) []byte {
	e := s.entry(i)
	if e.flags&(flagKept|flagCompact) != flagKept|flagCompact {
		return nil
	}
	return s.kept(e)
}

func (s *blockStore) kept(e *blockEntry) []byte {
	l := s.bodies[e.body]
	return s.slabs[l.slab][l.off : l.off+l.n : l.off+l.n]
}

// A location packs the byte offset of a block's data in the file (below
// 1 TiB) and its length (below 16 MiB, twice car.DefaultMaxBlockSize) into
// one word. The data of a block never starts at offset 0 (the CAR header
// and the block's CID come first), so 0 means "no location".
const (
	locLenBits = 24
	maxLocOff  = 1<<(64-locLenBits) - 1
	maxLocLen  = 1<<locLenBits - 1
)

// setLoc records where entry i's data lies in the file. It reports false,
// and records nothing, when the location does not fit in a word (the
// caller then keeps the bytes).
func (s *blockStore) setLoc(i int, off int64, n int) bool {
	if !s.lazy || off <= 0 || off > maxLocOff || n < 0 || n > maxLocLen {
		return false
	}
	s.locs[i/pageSize][i%pageSize] = uint64(off)<<locLenBits | uint64(n)
	return true
}

// loc returns where entry i's data lies in the file; ok is false when no
// location was recorded.
func (s *blockStore) loc(i int) (off int64, n int, ok bool) {
	if !s.lazy {
		return 0, 0, false
	}
	v := s.locs[i/pageSize][i%pageSize]
	if v == 0 {
		return 0, 0, false
	}
	return int64(v >> locLenBits), int(v & maxLocLen), true
}

// cidAt rebuilds the CID of entry i.
func (s *blockStore) cidAt(i int) cid.Cid {
	e := s.entry(i)
	return dagcbor.CIDFromDigest(uint64(e.codec), e.digest)
}
