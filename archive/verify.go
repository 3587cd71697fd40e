package archive

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/arbor-atproto/arbor/lexicon"
	"github.com/arbor-atproto/arbor/repo"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/mst"
)

// Stats describes an archive: its records, its tree and its blocks.
type Stats struct {
	Records     int            // records in the current tree
	Collections map[string]int // records per collection
	MSTNodes    int            // nodes of the current tree
	MSTDepth    int            // levels of nodes from the root down to the lowest
	// EntriesPerLayer counts the tree's entries by layer (key height).
	EntriesPerLayer map[int]int
	// Commits is the number of commits reachable through prev in the file
	// (1 for an ordinary export; more for legacy exports with history).
	Commits int
	// Unreferenced are blocks in the file that nothing reachable from the
	// root references (through commits, their prev chain and their
	// trees), sorted by their string form.
	Unreferenced []cid.Cid
	// Missing are MST nodes and records that the current tree references
	// but the file lacks. A prev commit absent from the file is not missing:
	// exports do not carry history.
	Missing []cid.Cid
}

// Inspect walks the archive from its root and gathers Stats.
func (a *Archive) Inspect() (*Stats, error) {
	if a.CommitErr != nil {
		return nil, a.CommitErr
	}
	// The current tree: full statistics, on two walkers where it pays
	// (inspect_split.go), else on one.
	w := a.newWalker()
	w.mark(a.Root)
	if done, redo := w.walkSplit(a.Data.Bytes()); !done {
		if redo {
			w = a.newWalker()
			w.mark(a.Root)
		}
		w.walk(a.Data.Bytes(), 1)
	}
	s := w.stats
	if w.err != nil {
		return nil, w.err
	}
	for coll, n := range w.colls {
		s.Collections[coll] = *n
	}
	s.Missing = sortedCIDs(w.missing)
	// History (legacy exports): reachability only. Commits of the history
	// are kept whole (ReadArchive), so the chain goes on through commits
	// whose records are absent, as exports with history have them.
	w.stats, w.missing = nil, map[cid.Cid]bool{}
	s.Commits = 1
	for c := a.Commit; c != nil && c.Prev.Defined(); {
		b, _ := a.block(c.Prev)
		if b == nil || !w.mark(c.Prev) {
			break
		}
		prev, err := repo.DecodeCommit(b)
		if err != nil {
			break
		}
		s.Commits++
		w.walk(prev.Data.Bytes(), 1)
		c = prev
	}
	var unref []int
	for i := 0; i < a.store.n; i++ {
		if !w.reachedAt(i) && a.store.present(i) >= 0 {
			unref = append(unref, i)
		}
	}
	if len(unref) > 0 {
		s.Unreferenced = a.sortedEntries(unref)
	}
	return s, nil
}

// sortedEntries returns the CIDs of table entries in string order.
func (a *Archive) sortedEntries(idx []int) []cid.Cid {
	cs := make([]cid.Cid, len(idx))
	for j, i := range idx {
		cs[j] = a.store.cidAt(i)
	}
	return sortByString(cs)
}

// newWalker makes a walker for Inspect, with full statistics.
func (a *Archive) newWalker() *treeWalker {
	s := &Stats{Collections: map[string]int{}, EntriesPerLayer: map[int]int{}}
	return &treeWalker{a: a, reached: make([]uint64, (a.store.n+63)/64), missing: map[cid.Cid]bool{}, stats: s, colls: map[string]*int{}}
}

// treeWalker walks trees for Inspect, marking what it reaches. Links are
// handled in binary form and nodes decoded without making CIDs (compact
// nodes through mst.WalkCompact, others through an mst.NodeReader per
// depth, reset before each node).
type treeWalker struct {
	a       *Archive
	reached []uint64 // bit per store entry
	missing map[cid.Cid]bool
	stats   *Stats // nil: reachability only
	colls   map[string]*int
	key     []byte
	coll    []byte            // the collection of the last entry counted,
	count   *int              // and its count in colls (nil: none yet)
	readers []*mst.NodeReader // by depth
	rights  [][]uint64        // by depth, for compact nodes
	// err is why the current tree could not be walked: links nested
	// deeper than any layer. The walk of history stops there quietly.
	err error
	// conflict is set while two walkers share reached (walkSplit); a
	// walker that reaches a node already reached sets it.
	conflict *atomic.Bool
}

// mark records that c is reached; it returns false if c was reached before
// or is not in the archive (then it is noted as missing).
func (w *treeWalker) mark(c cid.Cid) bool {
	return w.markAt(w.a.store.lookup(c), func() cid.Cid { return c })
}

// find returns the entry of a link in binary form (placeholders
// included), or -1.
func (w *treeWalker) find(link []byte) int {
	if d, codec, ok := linkDigest(link); ok {
		return w.a.store.find(&d, codec)
	}
	return -1
}

// markLink is mark for a link in binary form.
func (w *treeWalker) markLink(link []byte) bool {
	return w.markRef(w.find(link), link)
}

// markRef marks table entry i (-1: none), a link's target; link, when not
// nil, names it if it is missing.
func (w *treeWalker) markRef(i int, link []byte) bool {
	return w.markAt(w.a.store.present(i), func() cid.Cid { return w.linkCID(i, link) })
}

// linkCID names table entry i, or link when i is -1.
func (w *treeWalker) linkCID(i int, link []byte) cid.Cid {
	if i >= 0 {
		return w.a.store.cidAt(i)
	}
	c, _ := cid.Cast(link)
	return c
}

func (w *treeWalker) markAt(i int, c func() cid.Cid) bool {
	if i < 0 {
		if cc := c(); cc.Defined() {
			w.missing[cc] = true
		}
		return false
	}
	bit := uint64(1) << (i % 64)
	if w.conflict != nil { // two walkers share reached
		return atomic.OrUint64(&w.reached[i/64], bit)&bit == 0
	}
	if w.reachedAt(i) {
		return false
	}
	w.reached[i/64] |= bit
	return true
}

// walk visits node link (a CID in binary form) at depth levels below the
// root.
func (w *treeWalker) walk(link []byte, depth int) {
	w.walkAt(w.find(link), link, depth)
}

// walkAt visits the node of table entry i (-1: not in the table; link then
// names it).
func (w *treeWalker) walkAt(i int, link []byte, depth int) {
	if depth > mst.MaxDepth {
		// No valid tree goes on: stop rather than follow a chain only
		// the input bounds (what lies below stays unreferenced).
		if w.stats != nil && w.err == nil {
			c := w.linkCID(i, link)
			w.err = mst.Problem{CID: c, Err: fmt.Errorf("%w: links nested deeper than any layer (more than %d levels)", mst.ErrWrongLayer, mst.MaxDepth)}
		}
		return
	}
	if !w.markRef(i, link) {
		if w.conflict != nil && w.a.store.present(i) >= 0 {
			w.conflict.Store(true) // reached twice: walk again on one walker
		}
		return // missing, or reached twice (verify reports the reuse)
	}
	if cb := w.a.store.compactBody(i); cb != nil {
		w.walkCompact(cb, depth)
		return
	}
	b := w.a.store.body(i)
	if b == nil {
		return
	}
	for len(w.readers) < depth {
		w.readers = append(w.readers, new(mst.NodeReader))
	}
	r := w.readers[depth-1]
	r.Reset() // only the nodes above this depth are still in use
	n, err := r.Decode(cid.Undef, b)
	if err != nil {
		return
	}
	layer := -1
	for i := range n.Entries {
		w.entry(n.Entries[i].Key, &layer)
		w.markLink(n.Entries[i].Value)
	}
	w.node(depth, layer, len(n.Entries))
	if n.Left != nil {
		w.walk(n.Left, depth+1)
	}
	// n's reader is reset below this depth only; its entries stay valid.
	for i := range n.Entries {
		if r := n.Entries[i].Right; r != nil {
			w.walk(r, depth+1)
		}
	}
}

// walkCompact visits a node kept in compact form: the links are table
// entries already, so nothing is looked up.
func (w *treeWalker) walkCompact(cb []byte, depth int) {
	for len(w.rights) < depth {
		w.rights = append(w.rights, nil)
	}
	rights := w.rights[depth-1][:0]
	layer := -1
	left, key := mst.WalkCompact(cb, w.key, func(key []byte, val, right uint64) {
		w.entry(key, &layer)
		w.markRef(int(val)-1, nil)
		rights = append(rights, right)
	})
	w.key = key
	w.rights[depth-1] = rights
	w.node(depth, layer, len(rights))
	if left != 0 {
		w.walkAt(int(left)-1, nil, depth+1)
	}
	for _, ref := range rights {
		if ref != 0 {
			w.walkAt(int(ref)-1, nil, depth+1)
		}
	}
}

// entry counts one entry of the current tree (full statistics only);
// layer is the node's, set from its first key.
func (w *treeWalker) entry(key []byte, layer *int) {
	if *layer < 0 {
		*layer = mst.Height(key)
	}
	if w.stats == nil {
		return
	}
	w.stats.Records++
	coll := key
	if i := bytes.IndexByte(key, '/'); i >= 0 {
		coll = key[:i]
	}
	// Keys of one collection are contiguous in a valid tree: most
	// entries are of the collection the last one was of.
	if w.count != nil && bytes.Equal(coll, w.coll) {
		*w.count++
		return
	}
	p := w.colls[string(coll)]
	if p == nil {
		p = new(int)
		w.colls[string(coll)] = p
	}
	*p++
	w.coll, w.count = append(w.coll[:0], coll...), p
}

// node counts one node at depth, of entries entries at layer.
func (w *treeWalker) node(depth, layer, entries int) {
	if w.stats != nil {
		w.stats.MSTNodes++
		w.stats.MSTDepth = max(w.stats.MSTDepth, depth)
		if entries > 0 {
			w.stats.EntriesPerLayer[layer] += entries
		}
	}
}

// Problem kinds reported by Verify.
const (
	KindHeader    = "header"    // the CAR header
	KindBlock     = "block"     // a block's encoding
	KindCommit    = "commit"    // the commit object
	KindSignature = "signature" // the commit signature
	KindMST       = "mst"       // the tree's shape and order
	KindRecord    = "record"    // a record block
)

// Problem is one thing Verify found wrong.
type Problem struct {
	Kind string
	CID  cid.Cid // block concerned, if any
	Key  string  // MST key concerned, if any
	Err  error
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Kind)
	if p.Key != "" {
		fmt.Fprintf(&b, " %s", p.Key)
	}
	if p.CID.Defined() {
		fmt.Fprintf(&b, " (block %s)", p.CID)
	}
	fmt.Fprintf(&b, ": %v", p.Err)
	return b.String()
}

func (p Problem) Unwrap() error { return p.Err }

// Report is the result of Verify.
type Report struct {
	Problems []Problem
	// SignatureChecked is false when no key was given (or there is no
	// commit): the signature was then not verified at all.
	SignatureChecked bool
	Records          int
	// Warnings are things worth saying that do not make the repo invalid.
	Warnings []string
	// Proof is what the archive proves of VerifyOptions.Record, when set.
	Proof *RecordProof
	// Lexicon is the records' validation against their schemas, when the
	// archive was read with Options.Lexicon (a repository, not a proof).
	Lexicon *lexicon.RepoReport
}

// RecordProof is the outcome of checking an archive as a proof of one
// record (VerifyOptions.Record), such as com.atproto.sync.getRecord returns:
// with Found, the tree under the signed commit holds the record, whose
// block is in the archive; without, the tree provably has no such key.
// Either holds only if the report has no problems.
type RecordProof struct {
	Path  string
	Found bool
	CID   cid.Cid // the record's CID when Found
}

// Valid reports whether nothing was found wrong.
func (r *Report) Valid() bool { return len(r.Problems) == 0 }

// Failure says in one line what is wrong, "N problems, first: P", wrapping
// the first problem (so errors.Is and errors.As reach it); nil when the
// report is valid.
func (r *Report) Failure() error {
	switch len(r.Problems) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("1 problem, first: %w", r.Problems[0])
	}
	return fmt.Errorf("%d problems, first: %w", len(r.Problems), r.Problems[0])
}

// ErrDIDMismatch: the DID document is for another DID than the commit's.
var ErrDIDMismatch = errors.New("commit DID does not match the DID document")

// ErrMissingRecord: the tree points at a record block the file lacks.
var ErrMissingRecord = errors.New("record block missing")

// ErrNoCommit: a signature or a record proof was asked of an archive whose
// root is an MST node: there is no commit, so nothing is signed.
var ErrNoCommit = errors.New("no commit: nothing is signed")

// ErrRootCount: a CAR header with more than one root; a repository has
// exactly one, its commit (the reference refuses any other number).
var ErrRootCount = errors.New("CAR header must have exactly one root")

// ErrInvalidCommit: a commit that decodes but breaks a rule of the
// repository spec: a DID that is not valid for its method, or a rev on a
// version 2 commit.
var ErrInvalidCommit = errors.New("invalid commit")

// VerifyOptions carries what Verify checks the signature against.
type VerifyOptions struct {
	Key atcrypto.PublicKey // nil: the signature is not checked
	DID syntax.DID         // if set, the commit's DID must equal it
	// Record, a collection/rkey path, checks the archive as a proof of
	// that record instead of as a whole repository: the commit as usual,
	// then only the tree nodes on the key's search path and the record
	// block (see RecordProof). Blocks the proof does not need are not
	// missing.
	Record string
	// RequireCommit makes an archive without a commit (a bare tree) a
	// problem, as Key, DID and Record do: for a caller that will check a
	// signature it gets by other means (resolving the commit's DID).
	RequireCommit bool
}

// ValidateRepoDID checks a repository's DID: atproto DID syntax and, for
// did:plc, the method's own rule (24 characters of lower-case base32).
// Errors wrap ErrInvalidCommit.
func ValidateRepoDID(did string) error {
	if err := repo.CheckDID(did); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidCommit, err)
	}
	return nil
}

// Verify checks everything that can be checked offline: the CAR header,
// every block's encoding, the commit, its signature (when a key is given),
// the tree's canonical shape and order, and that every record is present.
// For a repository (an archive with a commit), it also checks every
// record path (collection an NSID, a valid record key) and every record
// (a DAG-CBOR map with a string $type, at most MaxRecordSize bytes); a bare
// tree's keys and values need not be records. It lists every problem, not
// only the first.
//
// An archive without a commit (a bare tree) is a problem when a key, a DID,
// a record to prove or RequireCommit is given: nothing in it is signed, so
// it proves nothing.
func (a *Archive) Verify(opts VerifyOptions) (*Report, error) {
	r := &Report{}
	add := func(p Problem) { r.Problems = append(r.Problems, p) }
	done := func() (*Report, error) {
		sort.SliceStable(r.Problems, func(i, j int) bool { return kindRank(r.Problems[i].Kind) < kindRank(r.Problems[j].Kind) })
		return r, nil
	}
	if len(a.Roots) != 1 {
		add(Problem{Kind: KindHeader, Err: fmt.Errorf("%w: it has %d", ErrRootCount, len(a.Roots))})
	}
	badBlock := map[cid.Cid]bool{}
	for _, bp := range a.Problems {
		badBlock[bp.CID] = true
		add(Problem{Kind: KindBlock, CID: bp.CID, Err: fmt.Errorf("at byte %d: %w", bp.Offset, bp.Err)})
	}
	if a.CommitErr != nil {
		add(Problem{Kind: KindCommit, CID: a.Root, Err: a.CommitErr})
		return done()
	}
	if a.Commit == nil && (opts.Key != nil || opts.DID != "" || opts.Record != "" || opts.RequireCommit) {
		add(Problem{Kind: KindCommit, CID: a.Root, Err: fmt.Errorf("%w: the root is an MST node, not a signed commit", ErrNoCommit)})
		if opts.Record != "" {
			return done() // no proof of anything
		}
	}
	if c := a.Commit; c != nil {
		if err := ValidateRepoDID(c.DID.String()); err != nil {
			add(Problem{Kind: KindCommit, CID: a.Root, Err: err})
		}
		if c.Version == repo.VersionLegacy && c.Rev != "" {
			add(Problem{Kind: KindCommit, CID: a.Root, Err: fmt.Errorf("%w: a version 2 commit carries rev %s (only version 3 commits have one)", ErrInvalidCommit, repo.Quote(c.Rev))})
		}
		if opts.DID != "" && c.DID != opts.DID {
			add(Problem{Kind: KindCommit, CID: a.Root, Err: fmt.Errorf("%w: commit has %s, document is for %s", ErrDIDMismatch, c.DID, opts.DID)})
		}
		if opts.Key != nil {
			r.SignatureChecked = true
			if err := c.VerifySignature(opts.Key); err != nil {
				if c.Version == repo.VersionLegacy && opts.Key.HashAndVerifyLenient(c.UnsignedBytes(), c.Sig) == nil {
					// v2 repositories were signed before atproto required
					// low-S signatures; their high-S signatures are genuine.
					r.Warnings = append(r.Warnings, "legacy v2 commit has a high-S signature: accepted, as v2 predates the low-S rule")
				} else {
					add(Problem{Kind: KindSignature, CID: a.Root, Err: err})
				}
			}
		}
	}
	if opts.Record != "" {
		a.proveRecord(opts.Record, r, add)
		return done()
	}
	// With every node compacted and no placeholder left, every block a
	// node links to is in the archive: no record can be missing, and the
	// million lookups that would say so can be skipped; what each record
	// block is comes with the node (recordSource).
	allLinked := a.compact && a.rawNodes == 0 && a.store.placeholders == 0
	isRepo := a.Commit != nil
	src := &recordSource{Archive: a, check: isRepo && allLinked}
	var srcIface mst.BlockSource = a
	if src.check {
		srcIface = src
	}
	paths := pathChecker{add: add}
	probs, err := mst.VerifyLinks(srcIface, a.Data, func(key, link []byte) error {
		r.Records++
		// The value as a cid.Cid is made only where it is needed (for
		// most records of a sound repository it is not), and once.
		var c cid.Cid
		val := func() cid.Cid {
			if !c.Defined() {
				c, _ = cid.Cast(link)
			}
			return c
		}
		switch {
		case src.check:
			if len(src.bad) > 0 {
				if st, ok := src.bad[val()]; ok {
					add(Problem{Kind: KindRecord, CID: val(), Key: string(key), Err: recordErr(st)})
				}
			}
		case !allLinked:
			i := a.store.lookup(val())
			if i < 0 {
				add(Problem{Kind: KindRecord, CID: val(), Key: string(key), Err: ErrMissingRecord})
			} else if isRepo && a.badErr[i] == nil {
				if err := recordErr(a.store.entry(i).rec); err != nil {
					add(Problem{Kind: KindRecord, CID: val(), Key: string(key), Err: err})
				}
			}
		}
		if isRepo {
			paths.check(key)
			if a.lex != nil {
				a.lexRecord(key, val(), add)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if isRepo && a.lex != nil {
		r.Lexicon = a.lexReport(add)
	}
	for _, p := range probs {
		if badBlock[p.CID] && (errors.Is(p.Err, mst.ErrNotANode) || errors.Is(p.Err, mst.ErrBadBlock)) {
			continue // the block's own problem is already listed
		}
		add(Problem{Kind: KindMST, CID: p.CID, Key: p.Key, Err: p.Err})
	}
	return done()
}

// recordSource hands Verify the archive's compact nodes and, on the way,
// notes every value whose block is not a valid record (the block's table
// entry is at hand as the node is rebuilt).
type recordSource struct {
	*Archive
	check bool
	bad   map[cid.Cid]uint8
	links []byte // the buffer the nodes' links go to (see mst.DecodeCompact)
}

func (s *recordSource) GetRawNode(c cid.Cid, n *mst.RawNode) (bool, error) {
	i := s.store.lookup(c)
	if i < 0 || s.badErr[i] != nil || s.store.compactBody(i) == nil {
		return s.Archive.GetRawNode(c, n)
	}
	s.links = s.rawNodeVals(s.store.compactBody(i), n, s.links, func(e *blockEntry, link []byte) {
		if e.rec != recOK && e.rec != recUnknown && e.flags&flagBad == 0 {
			if s.bad == nil {
				s.bad = map[cid.Cid]uint8{}
			}
			c, _ := cid.Cast(link)
			s.bad[c] = e.rec
		}
	})
	return true, nil
}

// pathChecker checks record paths in key order: each collection is checked
// once, when it starts (keys of one collection are contiguous), and a bad
// one is reported once, at its first key.
type pathChecker struct {
	add  func(Problem)
	coll []byte
	seen bool
}

func (p *pathChecker) check(key []byte) {
	slash := bytes.IndexByte(key, '/')
	if slash <= 0 {
		return // not a valid MST key: the tree check reports it
	}
	coll, rkey := key[:slash], key[slash+1:]
	if !p.seen || !bytes.Equal(coll, p.coll) {
		p.coll, p.seen = append(p.coll[:0], coll...), true
		if !validNSID(string(coll)) {
			p.add(Problem{Kind: KindRecord, Key: string(key), Err: fmt.Errorf("%w: the collection %s is not a valid NSID (every record in it is affected)", repo.ErrInvalidPath, repo.Quote(string(coll)))})
		}
	}
	// The tree check has the characters and the dot segments (mst.ValidateKey,
	// the same set as record keys); the length is the record key's own rule.
	if len(rkey) > maxRecordKeyLen {
		p.add(Problem{Kind: KindRecord, Key: string(key), Err: fmt.Errorf("%w: the record key is %d bytes (%s)", repo.ErrInvalidPath, len(rkey), repo.RecordKeyRule)})
	}
}

// maxRecordKeyLen is the longest record key (atproto record key syntax).
const maxRecordKeyLen = 512

// proveRecord checks what the archive proves of the record at path: the
// nodes on its search path (mst.Prove: each checked as mst.Load does)
// and, when the key is there, its block.
func (a *Archive) proveRecord(path string, r *Report, add func(Problem)) {
	r.Proof = &RecordProof{Path: path}
	p, err := mst.Prove(a, a.Data, []byte(path), mst.PathToLayer)
	if err != nil {
		pr := Problem{Kind: KindMST, Key: path, Err: fmt.Errorf("no proof: %w", err)}
		if len(p.Nodes) == 0 {
			pr.CID = a.Data // the root itself could not be read
		}
		add(pr)
		return
	}
	val, found := p.Value, p.Found
	r.Proof.Found, r.Proof.CID = found, val
	if !found {
		return
	}
	r.Records = 1
	i := a.store.lookup(val)
	switch {
	case i < 0:
		add(Problem{Kind: KindRecord, CID: val, Key: path, Err: ErrMissingRecord})
	case a.badErr[i] == nil:
		if err := recordErr(a.store.entry(i).rec); err != nil {
			add(Problem{Kind: KindRecord, CID: val, Key: path, Err: err})
		}
	}
}

func kindRank(k string) int {
	switch k {
	case KindHeader, KindBlock:
		return 0
	case KindCommit:
		return 1
	case KindSignature:
		return 2
	case KindMST:
		return 3
	}
	return 4
}

func validNSID(s string) bool {
	_, err := syntax.ParseNSID(s)
	return err == nil
}
