package archive

import (
	"bytes"
	"cmp"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/lexicon"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// loadOptions says what ReadArchive keeps of the blocks it streams past.
type loadOptions struct {
	// KeepBodies keeps the bytes of every block, records included (needed by
	// get and export). Without it only MST nodes and commits are kept whole,
	// and other blocks are remembered by CID alone.
	KeepBodies bool
	// Lazy, when the reader is a regular file (or another seekable
	// io.ReaderAt), keeps only where each record's bytes lie in it, about 8
	// bytes a block: Get and Record read the bytes again on demand and
	// check them against the CID every time. The reader must then stay open
	// and unchanged as long as the archive is used. From any other reader
	// (a pipe, standard input) the bodies are kept as with KeepBodies.
	// Only Get and Record fetch bodies; Export needs KeepBodies.
	Lazy bool
	// Progress, if set, is called with the number of bytes read so far.
	Progress func(n int64)
	// CompactNodes keeps MST nodes in a compact form in which every link
	// is a reference into the archive's table of blocks rather than a
	// 36-byte CID, which halves what a large repository takes in memory
	// (the record CIDs the nodes hold are the bulk of their bytes, and the
	// table holds them anyway). Verify and Inspect read that form
	// directly; Get rebuilds a node's exact bytes from it on each call,
	// which costs more than handing over kept bytes. Order is not
	// available with it.
	CompactNodes bool
	// CollectBadBlocks turns a block whose bytes do not match its CID, or
	// whose CID is not an atproto CID, into a BlockProblem instead of an
	// error, so a verifier can list every bad block. Framing errors
	// (truncation, bad varints) still end the read.
	CollectBadBlocks bool
	// Lexicon validates record blocks as they pass (Options.Lexicon).
	Lexicon *lexicon.RepoCheck
	// SkipRecords leaves record blocks unchecked (strict DAG-CBOR, $type:
	// what Verify reports and Inspect does not), commits of the history
	// still being recognised: a summary's reading (ReadSummary).
	SkipRecords bool
}

// BlockProblem is something wrong with one block that does not stop the
// reading of the archive (for example non-canonical DAG-CBOR in a record).
type BlockProblem struct {
	CID    cid.Cid
	Offset int64
	Err    error
}

func (p BlockProblem) Error() string {
	return fmt.Sprintf("block %s at byte %d: %v", p.CID, p.Offset, p.Err)
}

// Archive is a repository CAR read into memory in its lean form: MST nodes
// and commits whole, every other block by digest (and by bytes with
// KeepBodies).
type Archive struct {
	Roots []cid.Cid
	// Root is the first root: a commit, or an MST node for a bare tree.
	Root cid.Cid
	// Commit is the decoded root commit; nil for a bare tree.
	Commit *repo.Commit
	// CommitErr is why the root could not be read as a commit or a tree.
	CommitErr error
	// Data is the root of the MST (the commit's data, or Root for a bare tree).
	Data cid.Cid

	BlockCount int   // sections in the file (duplicates included)
	BlockBytes int64 // bytes of block data (duplicates included)
	FileBytes  int64 // bytes read from the file
	Duplicates int   // sections repeating a CID seen before

	// Problems found in individual blocks.
	Problems []BlockProblem

	store   blockStore
	badErr  map[int]error // why a flagBad block could not be trusted
	keep    bool
	compact bool // loadOptions.CompactNodes
	// alwaysSplitWalk makes Inspect split its walk whatever the size
	// (tests: see walkSplit).
	alwaysSplitWalk bool
	// skipRecords: loadOptions.SkipRecords
	skipRecords bool
	// rawNodes counts node-shaped blocks kept as bytes (not compacted),
	// compactNodes the nodes kept compact.
	rawNodes, compactNodes int
	raw                    mst.RawNode // scratch for compacting nodes
	scratch                []byte      // scratch for compacting nodes

	// src is the file record bodies are fetched from (Lazy), base the
	// offset in it where the CAR starts.
	src  io.ReaderAt
	base int64

	// lex validates records as they pass; lexCodes holds its verdict
	// code per table entry, in pages parallel to the store's (0: none).
	lex      *lexicon.RepoCheck
	lexCodes [][]uint32
}

// ErrNotRepo: the archive's root is neither a commit nor an MST node.
var ErrNotRepo = errors.New("root block is neither a commit nor an MST node")

// ErrNoRoot: the CAR header names no root.
var ErrNoRoot = errors.New("CAR file has no root")

const batchBytes = 1 << 20

// typicalBlockBytes is about what a repository's blocks take in its file
// on average, section framing included (a million-record repository of
// posts, likes and follows: 227), rounded up so that the table reserved
// from a file's size (see blockStore.reserve) is rarely larger than the
// archive needs.
const typicalBlockBytes = 256

// knownSize is what is left to read of r when that is known up front (a
// regular file, or an in-memory reader such as bytes.Reader), else 0.
func knownSize(r io.Reader) int64 {
	if l, ok := r.(interface{ Len() int }); ok {
		return int64(l.Len())
	}
	f, ok := r.(interface{ Stat() (fs.FileInfo, error) })
	if !ok {
		return 0
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return 0
	}
	return st.Size()
}

// touchAhead is how many blocks' table slots the indexer touches at a time
// before inserting them (see blockStore.touch).
const touchAhead = 32

// ReadArchive streams a CAR file and keeps what repository tools need. A
// malformed CAR (bad header, framing, or a block whose bytes do not match its
// CID unless CollectBadBlocks) is an error; problems inside well-framed
// blocks are collected in Problems.
//
// The work is a pipeline (load_pipeline.go): one goroutine frames the file
// into batches, a checker per core hashes each batch's blocks and checks
// the records among them, and this goroutine indexes the batches in file
// order.
func read(r io.Reader, opts loadOptions) (*Archive, error) {
	// Where the CAR starts in a lazy source, asked before reading moves it.
	var src io.ReaderAt
	var base int64
	if opts.Lazy && !opts.KeepBodies {
		src, base = lazySource(r)
	}
	size := knownSize(r) // before the reader buffers some of r
	cr, err := car.NewReader(r, car.WithoutCIDs(), car.WithoutHashCheck())
	if err != nil {
		return nil, err
	}
	a := &Archive{Roots: cr.Roots(), keep: opts.KeepBodies || (opts.Lazy && src == nil), src: src, base: base, compact: opts.CompactNodes, lex: opts.Lexicon, skipRecords: opts.SkipRecords}
	a.store.lazy = src != nil
	if len(a.Roots) == 0 {
		return nil, ErrNoRoot
	}
	a.Root = a.Roots[0]
	rootD, rootCodec, _ := cidDigest(a.Root)
	if size > 0 {
		a.store.reserve(int(size / typicalBlockBytes))
	}

	p := startPipeline(cr, opts, size)
	defer p.close()
	for b := p.next(); b != nil; b = p.next() {
		for j := range b.blocks {
			if j%touchAhead == 0 {
				a.store.touchRun(b.blocks[j:min(j+touchAhead, len(b.blocks))])
			}
			bb := &b.blocks[j]
			if bb.class == classFatal {
				return nil, bb.err
			}
			a.BlockCount++
			if bb.class == classBad {
				a.addBad(bb)
				continue
			}
			data := b.buf[bb.start:bb.end]
			a.BlockBytes += int64(len(data))
			a.add(bb, data, &rootD, rootCodec)
		}
		if b.err != nil {
			if b.err != io.EOF {
				return nil, b.err
			}
			break
		}
		p.free <- b
	}
	a.FileBytes = cr.BytesRead()
	if opts.Progress != nil {
		opts.Progress(a.FileBytes)
	}
	a.resolveRoot()
	return a, nil
}

func (a *Archive) addBad(bb *batchBlock) {
	a.Problems = append(a.Problems, BlockProblem{CID: bb.cid, Offset: bb.offset, Err: bb.err})
	d, codec, ok := cidDigest(bb.cid)
	if !ok {
		return // an unsupported CID: never referenced by a valid tree
	}
	i, added := a.store.insert(&d, codec)
	if !added {
		a.Duplicates++
	}
	a.store.entry(i).flags |= flagBad
	if a.badErr == nil {
		a.badErr = map[int]error{}
	}
	a.badErr[i] = bb.err
}

// add indexes one block.
func (a *Archive) add(bb *batchBlock, data []byte, rootD *[32]byte, rootCodec uint8) {
	d, codec := &bb.digest, bb.codec
	i, added := a.store.insert(d, codec)
	if !added {
		a.Duplicates++
		return
	}
	e := a.store.entry(i)
	e.rec = recNotDagCBOR
	if codec == dagcbor.CodecDagCBOR {
		// MST nodes and the commit are kept whole; they are small next to
		// the records and the tree walk needs them.
		if *d == *rootD && codec == rootCodec {
			a.store.keep(i, data)
			e.rec = recCommit
			if nodeShaped(data) {
				e.rec = recNode
				a.rawNodes++ // a bare tree's root: kept as bytes, links unchecked
			}
			return
		}
		// The checker has looked at every block's first bytes (classify
		// runs only on blocks that are not nodeShaped), so a record's
		// bytes need not be read again here: they are in another core's
		// cache, and fetching them was a cache miss per record.
		if a.compact && bb.class == classUnchecked && nodeShaped(data) && a.keepCompact(i, data) {
			a.store.entry(i).rec = recNode
			a.compactNodes++
			return
		}
		if bb.class == classUnchecked {
			if looksLikeNode(data) {
				a.store.keep(i, data)
				e.rec = recNode
				a.rawNodes++
				return
			}
			classify(bb, data, a.skipRecords) // a node-shaped block that is no node
		}
		switch bb.class {
		case classInvalid:
			// Kept whole: it may be a broken MST node, and the tree
			// walk then says precisely what is wrong with it.
			a.Problems = append(a.Problems, BlockProblem{CID: dagcbor.CIDFromDigest(uint64(codec), *d), Offset: bb.offset, Err: bb.err})
			a.store.keep(i, data)
			e.rec = recUnknown // its problem is listed
			return
		case classCommit:
			// A commit of the history (legacy exports): kept, so
			// Inspect can follow the prev chain through it.
			a.store.keep(i, data)
			e.rec = recCommit
			return
		}
		e.rec = bb.rec
		if a.lex != nil && e.rec == recOK {
			a.setLexCode(i, a.lex.Check(data))
		}
	}
	if a.keep || (a.store.lazy && !a.store.setLoc(i, bb.dataOff, len(data))) {
		a.store.keep(i, data)
	}
}

// commitShaped is a first look at whether a block may be a commit: a map
// of 5 or 6 entries whose first key is "did" (the shortest of a commit's
// keys, so the first in DAG-CBOR order).
func commitShaped(b []byte) bool {
	return len(b) >= 5 && (b[0] == 0xa5 || b[0] == 0xa6) && b[1] == 0x63 && b[2] == 'd' && b[3] == 'i' && b[4] == 'd'
}

// nodeShaped is a first look at whether a block may be an MST node: a
// DAG-CBOR map of two entries whose first key is "e". Every node is;
// looksLikeNode (or decoding) decides.
func nodeShaped(b []byte) bool {
	return len(b) >= 3 && b[0] == 0xa2 && b[1] == 0x61 && b[2] == 'e'
}

// looksLikeNode reports whether b is a map whose keys are exactly "e" and
// "l", the shape of an MST node. Full validation happens on the walk.
func looksLikeNode(b []byte) bool {
	r := dagcbor.NewReader(b)
	n, err := r.ReadMapHeader()
	if err != nil || n != 2 {
		return false
	}
	k, err := r.ReadMapKey(nil)
	if err != nil || string(k) != "e" {
		return false
	}
	if err := r.Skip(); err != nil {
		return false
	}
	k, err = r.ReadMapKey(k)
	return err == nil && string(k) == "l"
}

// block returns the bytes of a kept block and whether the block is in the
// archive at all.
func (a *Archive) block(c cid.Cid) (body []byte, present bool) {
	i := a.store.lookup(c)
	if i < 0 {
		return nil, false
	}
	return a.store.body(i), true
}

func (a *Archive) resolveRoot() {
	b, present := a.block(a.Root)
	if b == nil {
		if present {
			a.CommitErr = fmt.Errorf("root block %s could not be read", a.Root)
			if i := a.store.lookup(a.Root); i >= 0 && a.badErr[i] != nil {
				a.CommitErr = fmt.Errorf("root block %s: %w", a.Root, a.badErr[i])
			}
		} else {
			a.CommitErr = fmt.Errorf("root block %s is not in the file", a.Root)
		}
		return
	}
	c, err := repo.DecodeCommit(b)
	if err == nil {
		a.Commit = c
		a.Data = c.Data
		return
	}
	if looksLikeNode(b) {
		a.Data = a.Root
		return
	}
	a.CommitErr = fmt.Errorf("%w: root %s: %v", ErrNotRepo, a.Root, err)
}

// IsBareTree reports whether the archive's root is an MST node rather than a
// commit.
func (a *Archive) IsBareTree() bool { return a.Commit == nil && a.CommitErr == nil }

// Has reports whether a block is in the archive (a bad block, collected
// with CollectBadBlocks, counts as present: it is reported once, as bad).
func (a *Archive) Has(c cid.Cid) bool { return a.store.lookup(c) >= 0 }

// NodeCount is how many distinct blocks of the archive are shaped like MST
// nodes (see mst.NodeCounter: Verify sizes a table from it).
func (a *Archive) NodeCount() int { return a.rawNodes + a.compactNodes }

// DistinctBlocks is the number of distinct CIDs in the archive.
func (a *Archive) DistinctBlocks() int { return a.store.n - a.store.placeholders }

// Order returns the distinct block CIDs in the order they first appeared.
// It needs an archive read without CompactNodes (which makes table entries
// for blocks when nodes link to them, before they appear) and returns nil
// for one read with it.
func (a *Archive) order() []cid.Cid {
	if a.compact {
		return nil
	}
	out := make([]cid.Cid, a.store.n)
	for i := range out {
		out[i] = a.store.cidAt(i)
	}
	return out
}

// Get returns a block's bytes. Records are available only from a *Bodies or
// a *Lazy (Lazy reads them from the file again and checks them against c);
// from an archive read with Read or ReadNodes Get reports them as not MST
// nodes,
// which is what the tree walk needs to know. It makes Archive an
// mst.BlockSource; it is safe for concurrent use. The bytes must not be
// modified.
func (a *Archive) Get(c cid.Cid) ([]byte, error) {
	i := a.store.lookup(c)
	if i < 0 {
		return nil, fmt.Errorf("block %s: %w", c, mst.ErrMissingBlock)
	}
	if err := a.badErr[i]; err != nil {
		return nil, fmt.Errorf("block %s: %w: %w", c, mst.ErrBadBlock, err)
	}
	if b := a.store.body(i); b != nil {
		return b, nil
	}
	if cb := a.store.compactBody(i); cb != nil {
		var n mst.RawNode
		a.rawNode(cb, &n)
		return mst.EncodeNodeRaw(nil, &n), nil
	}
	if off, n, ok := a.store.loc(i); ok {
		return a.fetch(i, c, off, n)
	}
	return nil, fmt.Errorf("block %s: %w", c, errNotANode)
}

// errNotANode is returned for blocks that were not kept because they are not
// MST nodes; the MST walk reports them as such.
var errNotANode = fmt.Errorf("%w (record-shaped block)", mst.ErrNotANode)

// Record returns the bytes of the record at path (collection/rkey) and its
// CID. found is false when the tree has no such key.
func (a *Archive) record(path string) (c cid.Cid, body []byte, found bool, err error) {
	t, err := mst.Load(a, a.Data)
	if err != nil {
		return cid.Undef, nil, false, err
	}
	c, found, err = t.Get([]byte(path))
	if err != nil || !found {
		return c, nil, found, err
	}
	i := a.store.lookup(c)
	if i < 0 {
		return c, nil, true, fmt.Errorf("record %s: block %s: %w", path, c, mst.ErrMissingBlock)
	}
	if body := a.store.body(i); body != nil {
		return c, body, true, nil
	}
	if off, n, ok := a.store.loc(i); ok {
		body, err = a.fetch(i, c, off, n)
		if err != nil {
			return c, nil, true, fmt.Errorf("record %s: %w", path, err)
		}
		return c, body, true, nil
	}
	return c, nil, true, fmt.Errorf("record %s: body not kept", path)
}

// Walk calls fn for every record in the current tree, in key order,
// holding only the nodes on the current path (mst.WalkSource).
func (a *Archive) Walk(fn func(key []byte, val cid.Cid) error) error {
	return mst.WalkSource(a, a.Data, fn)
}

// sortedCIDs returns the CIDs in string order.
func sortedCIDs(m map[cid.Cid]bool) []cid.Cid {
	cs := make([]cid.Cid, 0, len(m))
	for c := range m {
		cs = append(cs, c)
	}
	return sortByString(cs)
}

// sortByString sorts cs in string order. An atproto CID's string is "b"
// and the base32 of its 36 bytes, so each is encoded once into a fixed
// array the garbage collector need not scan, and the order of those sorts
// (a sort that made the strings in every comparison took half a minute
// for a million CIDs).
func sortByString(cs []cid.Cid) []cid.Cid {
	keys := make([][58]byte, len(cs))
	for i, c := range cs {
		k := c.KeyString()
		if len(k) != 36 || k[0] != 0x01 {
			sort.Slice(cs, func(i, j int) bool { return cs[i].String() < cs[j].String() })
			return cs
		}
		cidBase32.Encode(keys[i][:], []byte(k))
	}
	// First by the first 8 letters packed big-endian (an integer compare,
	// and nearly always decisive), then by the rest.
	type ord struct {
		p uint64
		i int32
	}
	ords := make([]ord, len(cs))
	for i := range keys {
		ords[i] = ord{binary.BigEndian.Uint64(keys[i][:8]), int32(i)}
	}
	slices.SortFunc(ords, func(a, b ord) int {
		if a.p != b.p {
			return cmp.Compare(a.p, b.p)
		}
		return bytes.Compare(keys[a.i][8:], keys[b.i][8:])
	})
	out := make([]cid.Cid, len(cs))
	for j, o := range ords {
		out[j] = cs[o.i]
	}
	copy(cs, out)
	return cs
}

// cidBase32 is the multibase "b" alphabet CID strings use.
var cidBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
