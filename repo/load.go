package repo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
)

// LoadOptions says what ReadArchive keeps of the blocks it streams past.
type LoadOptions struct {
	// KeepBodies keeps the bytes of every block, records included (needed by
	// get and export). Without it only MST nodes and commits are kept whole,
	// and other blocks are remembered by CID alone.
	KeepBodies bool
	// Progress, if set, is called with the number of bytes read so far.
	Progress func(n int64)
	// CollectBadBlocks turns a block whose bytes do not match its CID, or
	// whose CID is not an atproto CID, into a BlockProblem instead of an
	// error, so a verifier can list every bad block. Framing errors
	// (truncation, bad varints) still end the read.
	CollectBadBlocks bool
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
// and commits whole, every other block by CID (and by bytes with
// KeepBodies).
type Archive struct {
	Roots []cid.Cid
	// Root is the first root: a commit, or an MST node for a bare tree.
	Root cid.Cid
	// Commit is the decoded root commit; nil for a bare tree.
	Commit *Commit
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

	nodes  map[cid.Cid][]byte // MST nodes and commits
	bad    map[cid.Cid]error  // blocks whose bytes could not be trusted
	others map[cid.Cid][]byte // other blocks; nil values unless KeepBodies
	order  []cid.Cid          // first-seen order of distinct blocks
}

// ErrNotRepo: the archive's root is neither a commit nor an MST node.
var ErrNotRepo = errors.New("root block is neither a commit nor an MST node")

// ErrNoRoot: the CAR header names no root.
var ErrNoRoot = errors.New("CAR file has no root")

// ReadArchive streams a CAR file and keeps what repository tools need. A
// malformed CAR (bad header, framing, or a block whose bytes do not match its
// CID) is an error; problems inside well-framed blocks are collected in
// Problems.
func ReadArchive(r io.Reader, opts LoadOptions) (*Archive, error) {
	cr, err := car.NewReader(r, car.WithReuseBuffer())
	if err != nil {
		return nil, err
	}
	a := &Archive{
		Roots:  cr.Roots(),
		nodes:  make(map[cid.Cid][]byte),
		others: make(map[cid.Cid][]byte),
	}
	if len(a.Roots) == 0 {
		return nil, ErrNoRoot
	}
	a.Root = a.Roots[0]
	for {
		blk, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var be *car.BlockError
			if opts.CollectBadBlocks && errors.As(err, &be) && be.CID.Defined() &&
				(errors.Is(err, car.ErrHashMismatch) || errors.Is(err, car.ErrUnsupportedCID)) {
				a.BlockCount++
				a.Problems = append(a.Problems, BlockProblem{CID: be.CID, Offset: be.Offset, Err: be.Err})
				if a.bad == nil {
					a.bad = map[cid.Cid]error{}
				}
				a.bad[be.CID] = be.Err
				continue
			}
			return nil, err
		}
		a.BlockCount++
		a.BlockBytes += int64(len(blk.Data))
		if opts.Progress != nil && a.BlockCount%4096 == 0 {
			opts.Progress(cr.BytesRead())
		}
		a.add(blk, opts.KeepBodies)
	}
	a.FileBytes = cr.BytesRead()
	if opts.Progress != nil {
		opts.Progress(a.FileBytes)
	}
	a.resolveRoot()
	return a, nil
}

func (a *Archive) add(blk car.Block, keep bool) {
	if _, ok := a.nodes[blk.CID]; ok {
		a.Duplicates++
		return
	}
	if _, ok := a.others[blk.CID]; ok {
		a.Duplicates++
		return
	}
	a.order = append(a.order, blk.CID)
	if blk.CID.Type() == dagcbor.CodecDagCBOR {
		// MST nodes and the commit are kept whole; they are small next to
		// the records and the tree walk needs them.
		if blk.CID == a.Root || looksLikeNode(blk.Data) {
			a.nodes[blk.CID] = bytes.Clone(blk.Data)
			return
		}
		if err := dagcbor.Validate(blk.Data); err != nil {
			// Kept whole: it may be a broken MST node, and the tree
			// walk then says precisely what is wrong with it.
			a.Problems = append(a.Problems, BlockProblem{CID: blk.CID, Offset: blk.Offset, Err: err})
			a.nodes[blk.CID] = bytes.Clone(blk.Data)
			return
		}
	}
	var body []byte
	if keep {
		body = bytes.Clone(blk.Data)
	}
	a.others[blk.CID] = body
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

func (a *Archive) resolveRoot() {
	b, ok := a.nodes[a.Root]
	if !ok {
		if _, other := a.others[a.Root]; other {
			a.CommitErr = ErrNotRepo
		} else {
			a.CommitErr = fmt.Errorf("root block %s is not in the file", a.Root)
		}
		return
	}
	c, err := DecodeCommit(b)
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
func (a *Archive) Has(c cid.Cid) bool {
	if _, ok := a.nodes[c]; ok {
		return true
	}
	if _, ok := a.bad[c]; ok {
		return true
	}
	_, ok := a.others[c]
	return ok
}

// DistinctBlocks is the number of distinct CIDs in the archive.
func (a *Archive) DistinctBlocks() int { return len(a.order) }

// Order returns the distinct block CIDs in the order they first appeared.
func (a *Archive) Order() []cid.Cid { return a.order }

// Get returns a block's bytes. Records are available only when the archive
// was read with KeepBodies; otherwise Get reports them as not kept.
func (a *Archive) Get(c cid.Cid) ([]byte, error) {
	if b, ok := a.nodes[c]; ok {
		return b, nil
	}
	if b, ok := a.others[c]; ok {
		if b == nil {
			return nil, fmt.Errorf("block %s: %w", c, errNotANode)
		}
		return b, nil
	}
	if err, ok := a.bad[c]; ok {
		return nil, fmt.Errorf("block %s: %w", c, err)
	}
	return nil, fmt.Errorf("block %s: %w", c, mst.ErrMissingBlock)
}

// errNotANode is returned for blocks that were not kept because they are not
// MST nodes; the MST walk reports them as such.
var errNotANode = fmt.Errorf("%w (record-shaped block)", mst.ErrNotANode)

// Record returns the bytes of the record at path (collection/rkey) and its
// CID. found is false when the tree has no such key.
func (a *Archive) Record(path string) (c cid.Cid, body []byte, found bool, err error) {
	t, err := mst.Load(a, a.Data)
	if err != nil {
		return cid.Undef, nil, false, err
	}
	c, found, err = t.Get([]byte(path))
	if err != nil || !found {
		return c, nil, found, err
	}
	body, ok := a.others[c]
	if !ok {
		body, ok = a.nodes[c]
	}
	if !ok {
		return c, nil, true, fmt.Errorf("record %s: block %s: %w", path, c, mst.ErrMissingBlock)
	}
	if body == nil {
		return c, nil, true, fmt.Errorf("record %s: body not kept", path)
	}
	return c, body, true, nil
}

// Walk calls fn for every record in the current tree, in key order.
func (a *Archive) Walk(fn func(key []byte, val cid.Cid) error) error {
	t, err := mst.Load(a, a.Data)
	if err != nil {
		return err
	}
	return t.Walk(fn)
}

// sortedCIDs returns the CIDs in string order.
func sortedCIDs(m map[cid.Cid]bool) []cid.Cid {
	out := make([]cid.Cid, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
