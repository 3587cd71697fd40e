package repo

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
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
	// root references (through commits, their prev chain and their trees).
	Unreferenced []cid.Cid
	// Missing are MST nodes and records that the current tree references
	// but the file lacks. A prev commit absent from the file is not missing:
	// exports do not carry history.
	Missing []cid.Cid
}

// Inspect walks the archive from its root and gathers Stats.
func (a *Archive) Inspect() (*Stats, error) {
	s := &Stats{Collections: map[string]int{}, EntriesPerLayer: map[int]int{}}
	if a.CommitErr != nil {
		return nil, a.CommitErr
	}
	reached := map[cid.Cid]bool{a.Root: true}
	missing := map[cid.Cid]bool{}
	// The current tree: full statistics.
	w := treeWalker{a: a, reached: reached, missing: missing, stats: s}
	w.walk(a.Data, -1, 1)
	// History (legacy exports): reachability only.
	s.Commits = 1
	for c := a.Commit; c != nil && c.Prev.Defined(); {
		b, ok := a.nodes[c.Prev]
		if !ok || reached[c.Prev] {
			break
		}
		reached[c.Prev] = true
		prev, err := DecodeCommit(b)
		if err != nil {
			break
		}
		s.Commits++
		hw := treeWalker{a: a, reached: reached, missing: map[cid.Cid]bool{}}
		hw.walk(prev.Data, -1, 1)
		c = prev
	}
	for _, c := range a.order {
		if !reached[c] {
			s.Unreferenced = append(s.Unreferenced, c)
		}
	}
	s.Missing = sortedCIDs(missing)
	return s, nil
}

type treeWalker struct {
	a       *Archive
	reached map[cid.Cid]bool
	missing map[cid.Cid]bool
	stats   *Stats // nil: reachability only
}

// walk visits node c, which sits at the given layer (-1 when unknown) and
// at depth levels below the root.
func (w *treeWalker) walk(c cid.Cid, layer, depth int) {
	if w.reached[c] && w.stats == nil {
		return
	}
	b, ok := w.a.nodes[c]
	if !ok {
		if !w.a.Has(c) {
			w.missing[c] = true
		}
		w.reached[c] = true
		return
	}
	if w.reached[c] && c != w.a.Root {
		return // a node reached twice; verify reports the reuse
	}
	w.reached[c] = true
	n, err := mst.DecodeNode(b)
	if err != nil {
		return
	}
	if len(n.Entries) > 0 {
		// The node's layer is the height of its keys.
		layer = -2
	}
	var key []byte
	for i, e := range n.Entries {
		if e.Prefix > len(key) {
			return
		}
		key = append(key[:e.Prefix:e.Prefix], e.Suffix...)
		if i == 0 && layer == -2 {
			layer = mst.Height(key)
		}
		if w.stats != nil {
			w.stats.Records++
			coll, _, _ := strings.Cut(string(key), "/")
			w.stats.Collections[coll]++
			w.stats.EntriesPerLayer[layer]++
		}
		if !w.a.Has(e.Value) {
			w.missing[e.Value] = true
		}
		w.reached[e.Value] = true
	}
	if w.stats != nil {
		w.stats.MSTNodes++
		if depth > w.stats.MSTDepth {
			w.stats.MSTDepth = depth
		}
	}
	child := layer - 1
	if layer < 0 {
		child = -1
	}
	if n.Left.Defined() {
		w.walk(n.Left, child, depth+1)
	}
	for _, e := range n.Entries {
		if e.Right.Defined() {
			w.walk(e.Right, child, depth+1)
		}
	}
}

// Problem kinds reported by Verify.
const (
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
}

// Valid reports whether nothing was found wrong.
func (r *Report) Valid() bool { return len(r.Problems) == 0 }

// ErrDIDMismatch: the DID document is for another DID than the commit's.
var ErrDIDMismatch = errors.New("commit DID does not match the DID document")

// ErrMissingRecord: the tree points at a record block the file lacks.
var ErrMissingRecord = errors.New("record block missing")

// VerifyOptions carries what Verify checks the signature against.
type VerifyOptions struct {
	Key atcrypto.PublicKey // nil: the signature is not checked
	DID string             // if set, the commit's DID must equal it
}

// Verify checks everything that can be checked offline: every block's
// encoding, the commit, its signature (when a key is given), the tree's
// canonical shape and order, and that every record is present and decodes.
// It lists every problem, not only the first.
func (a *Archive) Verify(opts VerifyOptions) (*Report, error) {
	r := &Report{}
	add := func(p Problem) { r.Problems = append(r.Problems, p) }
	badBlock := map[cid.Cid]bool{}
	for _, bp := range a.Problems {
		badBlock[bp.CID] = true
		add(Problem{Kind: KindBlock, CID: bp.CID, Err: fmt.Errorf("at byte %d: %w", bp.Offset, bp.Err)})
	}
	if a.CommitErr != nil {
		add(Problem{Kind: KindCommit, CID: a.Root, Err: a.CommitErr})
		return r, nil
	}
	if a.Commit != nil {
		if opts.DID != "" && a.Commit.DID != opts.DID {
			add(Problem{Kind: KindCommit, CID: a.Root, Err: fmt.Errorf("%w: commit has %s, document is for %s", ErrDIDMismatch, a.Commit.DID, opts.DID)})
		}
		if opts.Key != nil {
			r.SignatureChecked = true
			if err := a.Commit.VerifySignature(opts.Key); err != nil {
				add(Problem{Kind: KindSignature, CID: a.Root, Err: err})
			}
		}
	}
	probs, err := mst.Verify(a, a.Data, func(key []byte, val cid.Cid) error {
		r.Records++
		if !a.Has(val) {
			add(Problem{Kind: KindRecord, CID: val, Key: string(key), Err: ErrMissingRecord})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, p := range probs {
		if badBlock[p.CID] && errors.Is(p.Err, mst.ErrNotANode) {
			continue // the block's own problem is already listed
		}
		add(Problem{Kind: KindMST, CID: p.CID, Key: p.Key, Err: p.Err})
	}
	sort.SliceStable(r.Problems, func(i, j int) bool { return kindRank(r.Problems[i].Kind) < kindRank(r.Problems[j].Kind) })
	return r, nil
}

func kindRank(k string) int {
	switch k {
	case KindBlock:
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
