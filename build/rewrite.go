package build

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// RewriteOptions says how Rewrite transforms a repository. The zero value
// changes nothing.
type RewriteOptions struct {
	// Key re-signs the commit. It is required whenever the commit changes
	// (records dropped, DID or rev set).
	Key atcrypto.PrivateKeyExportable
	// DID moves the repository to another DID ("" keeps it).
	DID syntax.DID
	// Rev is the new commit's rev ("" gives a TID of now, or just after the
	// old rev if that is later).
	Rev syntax.TID
	// DropCollections drops every record of these collections;
	// KeepCollections, if not empty, drops every record of any other.
	DropCollections, KeepCollections []syntax.NSID
	// DropPaths drops these records (collection/rkey); each must exist.
	DropPaths []string
	// Compact writes only the current commit, tree and records, each block
	// once, in the canonical layout: unreferenced blocks, duplicates and
	// the history of legacy exports are dropped.
	Compact bool
	// Force accepts an input that fails verification; its tree is then
	// rebuilt from its records (which needs Key).
	Force bool
}

// RewriteResult says what Rewrite changed.
type RewriteResult struct {
	OldCommit, NewCommit cid.Cid
	OldData, NewData     cid.Cid
	OldDID, NewDID       syntax.DID
	OldRev, NewRev       syntax.TID
	// SigningKey is the did:key of the new signature; "" when the commit is
	// kept as it was.
	SigningKey    string
	CommitChanged bool
	TreeRebuilt   bool
	// Layout is "kept" (the input's blocks in their order) or "canonical".
	Layout      string
	RecordsIn   int
	RecordsOut  int
	Dropped     map[string]int // records dropped, by collection
	BlocksIn    int            // sections in the input (duplicates included)
	BlocksOut   int
	BytesIn     int64
	BytesOut    int64
	Unchanged   bool              // the output is byte-for-byte the input
	InputErrors []archive.Problem // problems of an invalid input accepted with Force
}

// Layouts of a rewritten CAR.
const (
	LayoutKept      = "kept"
	LayoutCanonical = "canonical"
)

func (o *RewriteOptions) check() error {
	if o.DID != "" {
		if err := CheckDID(string(o.DID)); err != nil {
			return err
		}
	}
	if o.Rev != "" {
		if _, err := parseRev(string(o.Rev)); err != nil {
			return err
		}
	}
	for _, c := range slices.Concat(o.DropCollections, o.KeepCollections) {
		if err := repo.CheckNSID(c.String()); err != nil {
			return fmt.Errorf("%w: collection %v", ErrBadOption, err)
		}
	}
	for _, p := range o.DropPaths {
		if _, _, err := repo.ParseRecordPath(p); err != nil {
			return fmt.Errorf("%w: %w", ErrBadOption, err)
		}
	}
	return nil
}

// Rewrite reads the repository CAR in, verifies it, and writes to w the
// repository transformed as opts says (see the package documentation for
// the layouts). The caller should verify the output with archive.CheckWritten before
// publishing it.
//
// When in is seekable (a regular file), it is read twice rather than held
// in memory: once to verify it and work out the new commit, keeping only
// the tree, and once to copy its blocks (or, for the canonical layout, to
// collect the records' bytes). Otherwise the records are kept from the
// single read; a non-seekable input that repeats blocks then needs Compact.
func Rewrite(in io.Reader, w io.Writer, opts RewriteOptions) (*RewriteResult, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	r := &rewriter{in: in, w: w, opts: opts}
	r.start, r.seekable = startOffset(in)
	r.filtering = len(opts.DropCollections)+len(opts.KeepCollections)+len(opts.DropPaths) > 0
	r.bodies = !r.seekable || opts.Compact || r.filtering
	for _, step := range []func() error{r.read, r.selectRecords, r.planCommit, r.rebuildTree, r.commit} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if r.canonical {
		return r.res, r.writeCanonical()
	}
	if err := r.writeKept(); err != nil {
		return nil, err
	}
	return r.res, nil
}

// rewriter carries one Rewrite through its steps: read and verify the
// input, select the records that stay, decide whether the commit changes,
// rebuild the tree when it must, make the commit, write the output.
type rewriter struct {
	in        io.Reader
	w         io.Writer
	opts      RewriteOptions
	start     int64 // where the input starts, for a second read
	seekable  bool
	filtering bool // records or collections are dropped or kept
	bodies    bool // record bodies are kept from the first read

	a     *archive.Archive
	order func() []cid.Cid // the input's block order (with bodies only)
	rep   *archive.Report
	res   *RewriteResult

	leaves      []mst.Leaf // the records that stay, when they are needed
	canonical   bool       // the output is written in the canonical layout
	nodes       []block    // the rebuilt tree's nodes (canonical layout)
	commitCID   cid.Cid
	commitBytes []byte
}

// read reads and verifies the input; an invalid one is accepted only with
// Force, its problems kept in the result.
func (r *rewriter) read() error {
	a, order, err := readInput(r.in, r.bodies)
	if err != nil {
		return wrap(ErrInvalidInput, err)
	}
	if a.CommitErr != nil {
		return fmt.Errorf("%w: %w: %w", ErrInvalidInput, ErrFailsVerification, a.CommitErr)
	}
	if a.Commit == nil {
		return fmt.Errorf("%w: the root is a bare MST with no commit", ErrInvalidInput)
	}
	rep, err := a.Verify(archive.VerifyOptions{})
	if err != nil {
		return wrap(ErrInvalidInput, err)
	}
	r.a, r.order, r.rep = a, order, rep
	r.res = &RewriteResult{
		OldCommit: a.Root, OldData: a.Data, OldDID: a.Commit.DID, OldRev: a.Commit.Rev,
		BlocksIn: a.BlockCount, BytesIn: a.FileBytes, Dropped: map[string]int{},
	}
	if !rep.Valid() {
		if !r.opts.Force {
			return fmt.Errorf("%w: %w: %w (--repair rebuilds the tree from its records)", ErrInvalidInput, ErrFailsVerification, rep.Failure())
		}
		r.res.InputErrors = rep.Problems
	}
	return nil
}

// selectRecords walks the input's records, counts those dropped by
// collection, and keeps the leaves of those that stay when the tree must
// be rebuilt or the canonical layout written. A --drop path that is not in
// the repository is an error.
func (r *rewriter) selectRecords() error {
	keep := setOf(r.opts.KeepCollections)
	dropColl := setOf(r.opts.DropCollections)
	dropPath := setOf(r.opts.DropPaths)
	found := map[string]bool{}
	res := r.res
	// The leaves are needed only to rebuild the tree or write the
	// canonical layout; a rewrite that keeps every record and block only
	// needs their number, which verification counted.
	needLeaves := r.filtering || r.opts.Compact || !r.rep.Valid()
	if !needLeaves {
		res.RecordsIn, res.RecordsOut = r.rep.Records, r.rep.Records
		return nil
	}
	walk := streamWalk
	if !r.rep.Valid() {
		walk = lenientWalk
	}
	err := walk(r.a, func(key []byte, val cid.Cid) error {
		res.RecordsIn++
		coll, _, _ := bytes.Cut(key, []byte("/"))
		drop := (len(keep) > 0 && !keep[string(coll)]) || dropColl[string(coll)]
		if dropPath[string(key)] {
			found[string(key)] = true
			drop = true
		}
		if drop {
			res.Dropped[string(coll)]++
			return nil
		}
		res.RecordsOut++
		r.leaves = append(r.leaves, mst.Leaf{Key: bytes.Clone(key), Value: val})
		return nil
	})
	if err != nil {
		return wrap(ErrInvalidInput, err)
	}
	for _, p := range r.opts.DropPaths {
		if !found[p] {
			return fmt.Errorf("%w: %s is not in the repository", ErrNoSuchRecord, p)
		}
	}
	return nil
}

// planCommit decides whether the tree is rebuilt and the commit changes,
// and refuses a changed commit without a key to sign it.
func (r *rewriter) planCommit() error {
	res, opts := r.res, r.opts
	res.TreeRebuilt = res.RecordsOut != res.RecordsIn || !r.rep.Valid()
	res.NewDID = r.a.Commit.DID
	if opts.DID != "" {
		res.NewDID = opts.DID
	}
	res.CommitChanged = res.TreeRebuilt || res.NewDID != res.OldDID || opts.Key != nil || opts.Rev != ""
	r.canonical = res.TreeRebuilt || opts.Compact
	if !res.CommitChanged || opts.Key != nil {
		return nil
	}
	var why string
	switch {
	case !r.rep.Valid():
		why = "the tree of an invalid input is rebuilt"
	case res.TreeRebuilt:
		why = "records are dropped"
	case res.NewDID != res.OldDID:
		why = "the DID changes"
	default:
		why = "the rev changes"
	}
	return fmt.Errorf("%w: the commit must be signed again because %s", ErrNeedKey, why)
}

// rebuildTree builds the tree of the records that stay for the canonical
// layout; unless records were dropped it must be the input's own tree.
func (r *rewriter) rebuildTree() error {
	r.res.NewData = r.a.Data
	if !r.canonical {
		return nil
	}
	leaves := r.leaves
	root, ns, err := buildTree(len(leaves), func(i int) ([]byte, cid.Cid) { return leaves[i].Key, leaves[i].Value })
	if err != nil {
		return err
	}
	if !r.res.TreeRebuilt && root != r.a.Data {
		return fmt.Errorf("%w: its tree rebuilt from its records has root %s, not %s", ErrInvalidInput, root, r.a.Data)
	}
	r.res.NewData, r.nodes = root, ns
	return nil
}

// commit signs the new commit when it changes, or takes the input's.
func (r *rewriter) commit() error {
	res, opts := r.res, r.opts
	res.NewRev = res.OldRev
	if !res.CommitChanged {
		b, err := r.a.Get(r.a.Root)
		if err != nil {
			return err
		}
		r.commitCID, r.commitBytes, res.NewCommit = r.a.Root, b, r.a.Root
		return nil
	}
	rev := opts.Rev
	if rev == "" {
		rev = nextRev(res.OldRev, time.Now())
	}
	_, c, b, err := signCommit(res.NewDID, rev, res.NewData, deterministicKey{opts.Key})
	if err != nil {
		return err
	}
	res.NewRev = rev
	pub, err := opts.Key.PublicKey()
	if err != nil {
		return fmt.Errorf("%w: %v", repo.ErrInvalidKey, err)
	}
	res.SigningKey = pub.DIDKey()
	r.commitCID, r.commitBytes, res.NewCommit = c, b, c
	return nil
}

// writeCanonical writes the commit, the rebuilt tree and the records that
// stay, each once.
func (r *rewriter) writeCanonical() error {
	r.res.Layout = LayoutCanonical
	src := r.a
	if !r.bodies { // an invalid input rebuilt with Force: read it again, whole
		var err error
		if src, err = rereadArchive(r.in, r.start, r.a); err != nil {
			return err
		}
	}
	leaves := r.leaves
	var err error
	r.res.BlocksOut, r.res.BytesOut, err = writeCanonical(r.w, r.commitCID, r.commitBytes, r.nodes, len(leaves),
		func(i int) blockID { return idOf(leaves[i].Value) },
		func(i int) (cid.Cid, []byte, error) {
			b, err := src.Get(leaves[i].Value)
			if err != nil {
				return cid.Undef, nil, fmt.Errorf("%w: record %s: %w", ErrInvalidInput, leaves[i].Key, err)
			}
			return leaves[i].Value, b, nil
		})
	return err
}

// writeKept keeps the input's blocks in their order, duplicates included,
// with the commit replaced when it changed: copied from a second read of a
// seekable input, else from the blocks kept from the first.
func (r *rewriter) writeKept() error {
	res := r.res
	res.Layout = LayoutKept
	res.Unchanged = !res.CommitChanged
	if r.seekable {
		return copyBlocks(r.in, r.start, r.w, r.a, res, r.commitCID, r.commitBytes)
	}
	if r.a.Duplicates > 0 {
		return errors.New("the input repeats blocks and cannot be read again: use --compact, or give a file")
	}
	roots := r.a.Roots
	cw := &countingWriter{w: r.w}
	if res.CommitChanged {
		roots = []cid.Cid{r.commitCID}
	}
	cr, err := car.NewWriter(cw, roots)
	if err != nil {
		return err
	}
	if res.CommitChanged {
		if err := cr.Put(r.commitCID, r.commitBytes); err != nil {
			return err
		}
		res.BlocksOut++
	}
	for _, c := range r.order() {
		if res.CommitChanged && c == r.a.Root {
			continue
		}
		b, err := r.a.Get(c)
		if err != nil {
			return err
		}
		if err := cr.Put(c, b); err != nil {
			return err
		}
		res.BlocksOut++
	}
	if err := cr.Flush(); err != nil {
		return err
	}
	res.BytesOut = cw.n
	return nil
}

// readInput reads the input to rewrite: with every block's bytes (and the
// file order) when they are needed from this one read, else with nodes
// whole and records by digest; order is nil in the second case.
func readInput(in io.Reader, bodies bool) (a *archive.Archive, order func() []cid.Cid, err error) {
	if bodies {
		b, err := archive.ReadWithBodies(in, archive.Options{})
		if err != nil {
			return nil, nil, err
		}
		return b.Archive, b.Order, nil
	}
	a, err = archive.ReadNodes(in, archive.Options{})
	return a, nil, err
}

// startOffset reports whether in can be read again from where it is now,
// and from which offset.
func startOffset(in io.Reader) (int64, bool) {
	s, ok := in.(io.Seeker)
	if !ok {
		return 0, false
	}
	off, err := s.Seek(0, io.SeekCurrent)
	return off, err == nil
}

// errInputChanged: the second read of the input does not match the first.
var errInputChanged = errors.New("the input changed while it was being read")

// rereadArchive reads in again from start, keeping every block, and checks
// that it is the archive first read as a.
func rereadArchive(in io.Reader, start int64, a *archive.Archive) (*archive.Archive, error) {
	if _, err := in.(io.Seeker).Seek(start, io.SeekStart); err != nil {
		return nil, err
	}
	bodies, err := archive.ReadWithBodies(in, archive.Options{})
	if err != nil {
		return nil, wrap(ErrInvalidInput, err)
	}
	b := bodies.Archive
	if b.Root != a.Root || b.BlockCount != a.BlockCount || b.FileBytes != a.FileBytes {
		return nil, wrap(ErrInvalidInput, errInputChanged)
	}
	return b, nil
}

// copyBlocks reads in again from start and writes its blocks to w in their
// order, duplicates included, with the commit replaced by commitCID and
// commitBytes when it changed; it fills in the output figures of res.
func copyBlocks(in io.Reader, start int64, w io.Writer, a *archive.Archive, res *RewriteResult, commitCID cid.Cid, commitBytes []byte) error {
	if _, err := in.(io.Seeker).Seek(start, io.SeekStart); err != nil {
		return err
	}
	cr, err := car.NewReader(in, car.WithReuseBuffer())
	if err != nil {
		return wrap(ErrInvalidInput, err)
	}
	roots := a.Roots
	if res.CommitChanged {
		roots = []cid.Cid{commitCID}
	}
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	out, err := car.NewWriter(bw, roots)
	if err != nil {
		return err
	}
	if res.CommitChanged {
		if err := out.Put(commitCID, commitBytes); err != nil {
			return err
		}
		res.BlocksOut++
	}
	blocks := 0
	for {
		b, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return wrap(ErrInvalidInput, err)
		}
		blocks++
		if res.CommitChanged && b.CID == a.Root {
			continue
		}
		if err := out.Put(b.CID, b.Data); err != nil {
			return err
		}
		res.BlocksOut++
	}
	if blocks != a.BlockCount || cr.BytesRead() != a.FileBytes {
		return wrap(ErrInvalidInput, errInputChanged)
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	res.BytesOut = cw.n
	return nil
}

// nextRev returns the TID of now, or the TID one microsecond after old when
// that is later (a clock behind the old commit's).
func nextRev(old syntax.TID, now time.Time) syntax.TID {
	t := repo.TIDFromTime(now, 0)
	if old == "" || t > old {
		return t
	}
	o, err := repo.ParseTID(old.String())
	if err != nil {
		return t
	}
	return repo.TIDFromTime(o.Time().Add(time.Microsecond), 0)
}

func setOf[S ~string](xs []S) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[string(x)] = true
	}
	return m
}

// streamWalk visits the entries of a verified tree in key order, depth
// first, decoding one node at a time: unlike Archive.Walk, it keeps no
// loaded tree, only the path from the root.
func streamWalk(a *archive.Archive, fn func(key []byte, val cid.Cid) error) error {
	var readers []*mst.NodeReader // one per depth: a node stays valid while its subtrees are read
	var visit func(c cid.Cid, depth int) error
	visit = func(c cid.Cid, depth int) error {
		if depth >= mst.MaxDepth {
			return fmt.Errorf("node %s: %w: links nested deeper than any layer", c, mst.ErrWrongLayer)
		}
		b, err := a.Get(c)
		if err != nil {
			return err
		}
		for len(readers) <= depth {
			readers = append(readers, new(mst.NodeReader))
		}
		r := readers[depth]
		r.Reset()
		n, err := r.Decode(c, b)
		if err != nil {
			return fmt.Errorf("node %s: %w", c, err)
		}
		if n.Left != nil {
			if err := visit(n.LeftCID(), depth+1); err != nil {
				return err
			}
		}
		for i := range n.Entries {
			e := &n.Entries[i]
			if err := fn(e.Key, e.ValueCID()); err != nil {
				return err
			}
			if e.Right != nil {
				if err := visit(e.RightCID(), depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return visit(a.Data, 0)
}

// lenientWalk visits the entries of a tree that may be badly shaped (wrong
// layers, keys out of order, chains of entry-less nodes of any length), for
// Force (--repair): every node reachable from the root is decoded, and its
// entries are given to fn sorted by key. Duplicate keys, missing or
// undecodable nodes and nodes reached twice (cycles, shared subtrees) are
// still errors. The walk keeps its own stack, so that its time and memory
// are linear in the nodes whatever their depth.
func lenientWalk(a *archive.Archive, fn func(key []byte, val cid.Cid) error) error {
	var leaves []mst.Leaf
	var r mst.NodeReader
	seen := map[cid.Cid]bool{}
	stack := []cid.Cid{a.Data}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[c] {
			return fmt.Errorf("%w: node %s reached twice", mst.ErrCycle, c)
		}
		seen[c] = true
		b, err := a.Get(c)
		if err != nil {
			return err
		}
		r.Reset() // the leaves below are copies
		n, err := r.Decode(c, b)
		if err != nil {
			return fmt.Errorf("node %s: %w", c, err)
		}
		if n.Left != nil {
			stack = append(stack, n.LeftCID())
		}
		for i := range n.Entries {
			e := &n.Entries[i]
			leaves = append(leaves, mst.Leaf{Key: bytes.Clone(e.Key), Value: e.ValueCID()})
			if e.Right != nil {
				stack = append(stack, e.RightCID())
			}
		}
	}
	slices.SortFunc(leaves, func(x, y mst.Leaf) int { return bytes.Compare(x.Key, y.Key) })
	for i, l := range leaves {
		if i > 0 && bytes.Equal(l.Key, leaves[i-1].Key) {
			return fmt.Errorf("%w: %s", mst.ErrDuplicateKey, l.Key)
		}
		if err := mst.ValidateKey(l.Key); err != nil {
			return err
		}
		if err := fn(l.Key, l.Value); err != nil {
			return err
		}
	}
	return nil
}
