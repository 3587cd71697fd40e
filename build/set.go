package build

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// RecordSet holds records ready to go into a repository, compactly: record
// bodies and paths live in large pointer-free slabs, and each record is a
// fixed-size entry holding the sha2-256 digest of its body (its CID's hash),
// where its bytes and path are, and where it came from. A million records
// therefore cost the garbage collector a few hundred objects rather than
// millions, and little more memory than their bytes. ReadJSONLines and
// ReadDir make one; Create and CreateFromSet build a repository from one.
type RecordSet struct {
	files  []string // input files, indexed by recMeta.file
	metas  [][]recMeta
	n      int
	keys   slab // "collection/rkey", or "collection" until an rkey is assigned
	bodies slab // DAG-CBOR
}

// recMeta is one record of a RecordSet. It holds no pointers.
type recMeta struct {
	digest [32]byte // sha2-256 of the body
	line   int64
	body   slabRef
	key    slabRef
	coll   uint32 // length of the collection at the start of the key
	file   uint32
	codec  uint8
}

const metaChunk = 1 << 15

// Len is the number of records.
func (s *RecordSet) Len() int { return s.n }

func (s *RecordSet) meta(i int) *recMeta { return &s.metas[i/metaChunk][i%metaChunk] }

// add appends a record; body and key are copied.
func (s *RecordSet) add(m recMeta, body, key []byte, file string) {
	if s.bodies.chunk == 0 {
		s.bodies.chunk, s.keys.chunk = 4<<20, 1<<20
	}
	if len(s.files) == 0 || s.files[len(s.files)-1] != file {
		s.files = append(s.files, file)
	}
	m.file = uint32(len(s.files) - 1)
	m.body = s.bodies.add(body)
	m.key = s.keys.add(key)
	if s.n%metaChunk == 0 {
		s.metas = append(s.metas, make([]recMeta, 0, metaChunk))
	}
	last := &s.metas[len(s.metas)-1]
	*last = append(*last, m)
	s.n++
}

// key is record i's path (its collection alone while it has no rkey); it
// aliases the slab.
func (s *RecordSet) key(i int) []byte { return s.keys.get(s.meta(i).key) }

func (s *RecordSet) hasRKey(i int) bool {
	m := s.meta(i)
	return m.key.n > m.coll
}

func (s *RecordSet) collection(i int) string {
	m := s.meta(i)
	return string(s.keys.get(m.key)[:m.coll])
}

// path is record i's path as a string (for messages).
func (s *RecordSet) path(i int) string {
	if !s.hasRKey(i) {
		return s.collection(i) + "/"
	}
	return string(s.key(i))
}

func (s *RecordSet) body(i int) []byte { return s.bodies.get(s.meta(i).body) }

func (s *RecordSet) cid(i int) cid.Cid {
	m := s.meta(i)
	return dagcbor.CIDFromDigest(uint64(m.codec), m.digest)
}

func (s *RecordSet) where(i int) (string, int) {
	m := s.meta(i)
	return s.files[m.file], int(m.line)
}

// setRKey gives record i the rkey rkey.
func (s *RecordSet) setRKey(i int, rkey string) {
	m := s.meta(i)
	k := make([]byte, 0, int(m.coll)+1+len(rkey))
	k = append(append(append(k, s.keys.get(m.key)[:m.coll]...), '/'), rkey...)
	m.key = s.keys.add(k)
}

// Record returns record i as a Record (its Data aliases the set).
func (s *RecordSet) Record(i int) Record {
	file, line := s.where(i)
	r := Record{Collection: s.collection(i), CID: s.cid(i), Data: s.body(i), File: file, Line: line}
	if s.hasRKey(i) {
		r.RKey = string(s.key(i)[s.meta(i).coll+1:])
	}
	return r
}

// Records returns every record, in order, as Records.
func (s *RecordSet) Records() []Record {
	out := make([]Record, s.n)
	for i := range out {
		out[i] = s.Record(i)
	}
	return out
}

// setOfRecords copies recs into a RecordSet, checking that each has a CID
// a repository can hold (CIDv1, sha2-256) and a path.
func setOfRecords(recs []Record) (*RecordSet, error) {
	s := &RecordSet{}
	pc := pathChecker{}
	var key []byte
	for i := range recs {
		r := &recs[i]
		fail := func(err error) (*RecordSet, error) {
			return nil, &InputError{File: r.File, Line: r.Line, Path: r.Path(), Err: err}
		}
		rkey := r.RKey
		if rkey == "" {
			rkey = "self" // checks the collection; a TID comes later
		}
		if err := pc.check(r.Collection, rkey); err != nil {
			return fail(err)
		}
		if !r.CID.Defined() {
			return fail(fmt.Errorf("%w: no CID (not encoded)", ErrBadRecord))
		}
		m := recMeta{line: int64(r.Line), coll: uint32(len(r.Collection))}
		p := r.CID.Prefix()
		h := r.CID.Hash()
		if p.Version != 1 || p.MhType != dagcbor.HashSHA256 || p.MhLength != 32 || p.Codec >= 0x80 {
			return fail(fmt.Errorf("%w: CID %s is not a CIDv1 with a sha2-256 hash", ErrBadRecord, r.CID))
		}
		copy(m.digest[:], h[len(h)-32:])
		m.codec = uint8(p.Codec)
		key = append(key[:0], r.Collection...)
		if r.RKey != "" {
			key = append(append(key, '/'), r.RKey...)
		}
		s.add(m, r.Data, key, r.File)
	}
	return s, nil
}

// slab stores byte strings in large chunks, none of them split.
type slab struct {
	chunks [][]byte
	chunk  int // size of a new chunk
}

// slabRef locates a string in a slab.
type slabRef struct {
	c, off, n uint32
}

func (s *slab) add(b []byte) slabRef {
	if len(s.chunks) == 0 || cap(s.chunks[len(s.chunks)-1])-len(s.chunks[len(s.chunks)-1]) < len(b) {
		s.chunks = append(s.chunks, make([]byte, 0, max(s.chunk, len(b))))
	}
	c := len(s.chunks) - 1
	off := len(s.chunks[c])
	s.chunks[c] = append(s.chunks[c], b...)
	return slabRef{c: uint32(c), off: uint32(off), n: uint32(len(b))}
}

func (s *slab) get(r slabRef) []byte {
	return s.chunks[r.c][r.off : r.off+r.n : r.off+r.n]
}

// keyOrder returns the record numbers in key order, ties (duplicate paths)
// in input order. Keys are sorted by collection, then by rkey within each:
// the keys of two collections never interleave, because the first byte
// where "c1/r1" and "c2/r2" differ is within "c1/" and "c2/" whatever the
// rkeys. Within a collection the rkeys are sorted on their first 8 bytes
// first, which settles most comparisons without reaching into the slab.
func (s *RecordSet) keyOrder() []int32 {
	groups := map[string]int32{}
	var colls []string
	var counts []int
	gid := make([]int32, s.n)
	for i := range s.n {
		m := s.meta(i)
		c := s.keys.get(m.key)[:m.coll]
		g, ok := groups[string(c)]
		if !ok {
			g = int32(len(colls))
			groups[string(c)] = g
			colls = append(colls, string(c))
			counts = append(counts, 0)
		}
		gid[i] = g
		counts[g]++
	}
	rank := make([]int, len(colls))
	for i := range rank {
		rank[i] = i
	}
	slices.SortFunc(rank, func(a, b int) int { return strings.Compare(colls[a]+"/", colls[b]+"/") })
	start := make([]int, len(colls))
	at := 0
	for _, g := range rank {
		start[g] = at
		at += counts[g]
	}
	type ent struct {
		pfx uint64
		i   int32
	}
	ents := make([]ent, s.n)
	next := slices.Clone(start)
	for i := range s.n {
		var pfx [8]byte
		copy(pfx[:], s.rkey(i))
		ents[next[gid[i]]] = ent{binary.BigEndian.Uint64(pfx[:]), int32(i)}
		next[gid[i]]++
	}
	gid = nil
	for g := range colls {
		slices.SortFunc(ents[start[g]:start[g]+counts[g]], func(a, b ent) int {
			switch {
			case a.pfx < b.pfx:
				return -1
			case a.pfx > b.pfx:
				return 1
			}
			if c := bytes.Compare(s.rkey(int(a.i)), s.rkey(int(b.i))); c != 0 {
				return c
			}
			return int(a.i - b.i)
		})
	}
	order := make([]int32, s.n)
	for k := range ents {
		order[k] = ents[k].i
	}
	return order
}

// rkey is record i's rkey (empty while it has none); it aliases the slab.
func (s *RecordSet) rkey(i int) []byte {
	m := s.meta(i)
	k := s.keys.get(m.key)
	if len(k) <= int(m.coll) {
		return nil
	}
	return k[m.coll+1:]
}
