package pds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/lexicon"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// repoState is what the server keeps in memory of a repository it has
// written since it started: the current tree, whose nodes stay in memory once
// read (see "New blocks of a commit" in the package documentation). mu is the
// repository's write lock.
type repoState struct {
	mu     sync.Mutex
	loaded bool
	head   cid.Cid
	rev    string
	tree   *mst.Tree
}

func (s *Server) repoState(did string) *repoState {
	s.reposMu.Lock()
	defer s.reposMu.Unlock()
	st := s.repos[did]
	if st == nil {
		st = &repoState{}
		s.repos[did] = st
	}
	return st
}

// storeSource reads one repository's blocks from the store for the mst
// package.
type storeSource struct {
	ctx   context.Context
	store Store
	did   string
}

func (src storeSource) Get(c cid.Cid) ([]byte, error) {
	b, err := src.store.Block(src.ctx, src.did, c)
	if errors.Is(err, ErrNotStored) {
		return nil, fmt.Errorf("%w: %v", mst.ErrMissingBlock, err)
	}
	return b, err
}

// load reads the repository's head and tree from the store. The tree is
// later used from other requests, so it reads with a background context.
func (st *repoState) load(s *Server, a *Account) error {
	if st.loaded && st.head == a.Head {
		return nil
	}
	src := storeSource{ctx: context.Background(), store: s.store, did: a.DID}
	cb, err := src.Get(a.Head)
	if err != nil {
		return fmt.Errorf("repo %s: head commit %s: %w", a.DID, a.Head, err)
	}
	c, err := repo.DecodeCommit(cb)
	if err != nil {
		return fmt.Errorf("repo %s: head commit %s: %w", a.DID, a.Head, err)
	}
	tree, err := mst.Load(src, c.Data)
	if err != nil {
		return fmt.Errorf("repo %s: tree %s: %w", a.DID, c.Data, err)
	}
	st.head, st.rev, st.tree, st.loaded = a.Head, c.Rev.String(), tree, true
	return nil
}

// write is one change of a commit.
type write struct {
	action     string // "create", "update" (create or replace) or "delete"
	collection string
	rkey       string
	value      []byte  // the record's DAG-CBOR
	cid        cid.Cid // its CID
	// swap, when set, is the CID the path must hold before the write
	// (cid.Undef: the path must be empty).
	swap *cid.Cid
	// status is the record's validationStatus ("valid", "unknown"; ""
	// when not validated: validate.go).
	status string
	// index is the write's place in applyWrites' writes, -1 for
	// createRecord and putRecord (for error messages).
	index int
}

func (w *write) path() string { return w.collection + "/" + w.rkey }

// recordPath is where the write's record is in the request, as the
// reference's validation errors name it: $.record, or $.writes[i].record
// in applyWrites (whose request field is value: valuePath).
func (w *write) recordPath() string {
	if w.index < 0 {
		return "$.record"
	}
	return fmt.Sprintf("$.writes[%d].record", w.index)
}

// valuePath is the request field that holds the record: $.record, or
// $.writes[i].value.
func (w *write) valuePath() string {
	if w.index < 0 {
		return "$.record"
	}
	return fmt.Sprintf("$.writes[%d].value", w.index)
}

// locate says which of applyWrites' writes an error is about, when its
// message does not already: "MESSAGE (writes[i])".
func (w *write) locate(err error) error {
	var xe *XRPCError
	if w.index >= 0 && errors.As(err, &xe) && !strings.Contains(xe.Message, fmt.Sprintf("$.writes[%d]", w.index)) {
		xe.Message = fmt.Sprintf("%s (writes[%d])", xe.Message, w.index)
	}
	return err
}

// writeResult is what one write did.
type writeResult struct {
	action string // create, update, delete
	cid    cid.Cid
}

type commitResult struct {
	commit  cid.Cid
	rev     string
	results []writeResult
	// noop: every write left its path as it was (an identical put), so
	// there was no commit; commit and rev are the unchanged head.
	noop bool
}

// checkPath checks a collection NSID and a record key.
func checkPath(collection, rkey string) error {
	if _, err := syntax.ParseNSID(collection); err != nil {
		return invalidRequest("invalid collection %q: %v", collection, err)
	}
	if _, err := syntax.ParseRecordKey(rkey); err != nil {
		return invalidRequest("invalid record key %q: %v", rkey, err)
	}
	if _, _, err := repo.ParseRecordPath(collection + "/" + rkey); err != nil {
		return invalidRequest("%v", err)
	}
	return nil
}

// prepareRecord turns a write's record (atproto JSON) into canonical
// DAG-CBOR and its CID, checking the data model and that $type names the
// collection; a record without $type gets the collection's, as the
// reference does.
func prepareRecord(w *write, raw []byte) ([]byte, cid.Cid, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, cid.Undef, invalidRequest("record is required")
	}
	v, err := dagcbor.FromJSON(raw)
	var je *dagcbor.JSONError
	if errors.As(err, &je) && errors.Is(err, dagcbor.ErrBadType) && je.Path == "$" {
		// The record's own $type is no string: not the collection's.
		var top struct {
			Type json.RawMessage `json:"$type"`
		}
		if json.Unmarshal(raw, &top) == nil {
			return nil, cid.Undef, invalidRequest("Invalid $type: expected %s, got %s", w.collection, top.Type)
		}
	}
	if err != nil {
		return nil, cid.Undef, dataModelError(w, err)
	}
	if m, ok := v.(map[string]any); ok {
		t, has := m["$type"]
		if !has {
			m["$type"], t = w.collection, w.collection
		}
		if t != w.collection {
			return nil, cid.Undef, invalidRequest("Invalid $type: expected %s, got %v", w.collection, t)
		}
	}
	if err := dagcbor.ValidateRecord(v); err != nil {
		return nil, cid.Undef, dataModelError(w, err)
	}
	b, err := dagcbor.Encode(v)
	if err != nil {
		return nil, cid.Undef, dataModelError(w, err)
	}
	return b, dagcbor.SumCID(dagcbor.CodecDagCBOR, b), nil
}

// dataModelError is a record that is not atproto data, with the path of
// the bad value in the request ($.record.x, $.writes[0].value.x).
func dataModelError(w *write, err error) error {
	var je *dagcbor.JSONError
	var ee *dagcbor.EncodeError
	path, what := "$", err.Error()
	switch {
	case errors.As(err, &je):
		path, what = je.Path, je.Err.Error()
		if je.Detail != "" {
			what += ": " + je.Detail
		}
	case errors.As(err, &ee):
		path, what = ee.Path, ee.Err.Error()
		if ee.Detail != "" {
			what += ": " + ee.Detail
		}
	}
	return invalidRequest("Invalid record: %s: %s", dotPath(w.valuePath(), path), what)
}

// dotPath writes a dagcbor path ($["embed"]["images"][0]) below base in
// the dotted form of validation errors ($.record.embed.images[0]); a path
// it cannot read is appended as it is.
func dotPath(base, p string) string {
	rest, ok := strings.CutPrefix(p, "$")
	if !ok {
		return base + " " + p
	}
	var sb strings.Builder
	sb.WriteString(base)
	for rest != "" {
		if !strings.HasPrefix(rest, "[") {
			return base + rest
		}
		if strings.HasPrefix(rest, "[\"") {
			k, err := strconv.QuotedPrefix(rest[1:])
			if err != nil || !strings.HasPrefix(rest[1+len(k):], "]") {
				return base + strings.TrimPrefix(p, "$")
			}
			key, _ := strconv.Unquote(k)
			if lexicon.PlainKey(key) {
				sb.WriteString("." + key)
			} else {
				sb.WriteString("[" + k + "]")
			}
			rest = rest[len(k)+2:]
			continue
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return base + strings.TrimPrefix(p, "$")
		}
		sb.WriteString(rest[:end+1])
		rest = rest[end+1:]
	}
	return sb.String()
}

func errInvalidSwap(format string, args ...any) error {
	return xerr(http.StatusBadRequest, "InvalidSwap", format, args...)
}

// nextRev returns a TID after prev.
func (s *Server) nextRev(prev string) string {
	t := s.clock.Next()
	if prev == "" || string(t) > prev {
		return string(t)
	}
	p, err := repo.ParseTID(prev)
	if err != nil {
		return string(t)
	}
	return string(repo.TIDFromTime(p.Time().Add(time.Microsecond), t.ClockID()))
}

// writeRepo applies writes to a's repository as one signed commit. A stale
// swapCommit or swap, or any bad write, changes nothing.
func (s *Server) writeRepo(ctx context.Context, a *Account, writes []write, swapCommit *cid.Cid) (*commitResult, error) {
	st := s.repoState(a.DID)
	st.mu.Lock()
	defer st.mu.Unlock()
	// Re-read the account under the lock: the head may have moved.
	a, err := s.store.AccountByDID(ctx, a.DID)
	if err != nil {
		return nil, err
	}
	if !a.Active {
		return nil, errAccountDeactivated()
	}
	if err := st.load(s, a); err != nil {
		return nil, err
	}
	if swapCommit != nil && *swapCommit != st.head {
		return nil, errInvalidSwap("Commit was at %s", st.head)
	}
	tree := st.tree
	var (
		ops      []Op
		changes  []RecordChange
		recs     []Block
		unlinked []cid.Cid
		results  []writeResult
	)
	for i := range writes {
		w := &writes[i]
		key := []byte(w.path())
		old, found, err := tree.Get(key)
		if err != nil {
			return nil, fmt.Errorf("repo %s: reading %s: %w", a.DID, w.path(), err)
		}
		if w.swap != nil {
			switch {
			case !w.swap.Defined() && found:
				return nil, errInvalidSwap("Record was at %s", old)
			case w.swap.Defined() && !found:
				return nil, errInvalidSwap("Record was not present")
			case w.swap.Defined() && old != *w.swap:
				return nil, errInvalidSwap("Record was at %s", old)
			}
		}
		switch w.action {
		case "create", "update":
			if w.action == "create" && found {
				return nil, invalidRequest("Record already exists at %s", w.path())
			}
			if found && old == w.cid {
				// The record is already there: nothing to commit for it.
				results = append(results, writeResult{action: "update", cid: w.cid})
				continue
			}
			if tree, err = tree.Insert(key, w.cid); err != nil {
				return nil, invalidRequest("writing %s: %v", w.path(), err)
			}
			op := Op{Action: "create", Path: w.path(), CID: w.cid}
			if found {
				op.Action, op.Prev = "update", old
				unlinked = append(unlinked, old)
			}
			ops = append(ops, op)
			recs = append(recs, Block{CID: w.cid, Data: w.value})
			changes = append(changes, RecordChange{Collection: w.collection, Rkey: w.rkey, CID: w.cid})
			results = append(results, writeResult{action: op.Action, cid: w.cid})
		case "delete":
			if !found {
				return nil, invalidRequest("Could not find record %s to delete", w.path())
			}
			if tree, err = tree.Delete(key); err != nil {
				return nil, fmt.Errorf("repo %s: deleting %s: %w", a.DID, w.path(), err)
			}
			ops = append(ops, Op{Action: "delete", Path: w.path(), Prev: old})
			unlinked = append(unlinked, old)
			changes = append(changes, RecordChange{Collection: w.collection, Rkey: w.rkey})
			results = append(results, writeResult{action: "delete"})
		default:
			return nil, fmt.Errorf("unknown write action %q", w.action)
		}
	}
	if len(ops) == 0 {
		// As the reference: a write that changes nothing makes no commit
		// and no event.
		return &commitResult{commit: st.head, rev: st.rev, results: results, noop: true}, nil
	}
	cw, err := s.buildCommit(a, st.head, st.rev, st.tree, tree, recs)
	if err != nil {
		return nil, err
	}
	cw.Records, cw.Ops, cw.Unlinked = changes, ops, unlinked
	if err := s.store.ApplyCommit(ctx, cw); err != nil {
		return nil, fmt.Errorf("repo %s: saving commit %s: %w", a.DID, cw.Commit, err)
	}
	st.head, st.rev, st.tree = cw.Commit, cw.Rev, tree
	return &commitResult{commit: cw.Commit, rev: cw.Rev, results: results}, nil
}

// buildCommit signs a commit of tree for a on top of prevHead and gathers
// the blocks it adds (the commit, the MST nodes old lacks, the record blocks
// recs) and removes (the previous commit, the nodes of old that tree lacks).
// old nil means no previous tree: every node is new. The work is
// proportional to the change (mst.Tree.BlockChanges), not to the repository.
func (s *Server) buildCommit(a *Account, prevHead cid.Cid, prevRev string, old *mst.Tree, tree *mst.Tree, recs []Block) (*CommitWrite, error) {
	root, err := tree.RootCID()
	if err != nil {
		return nil, fmt.Errorf("repo %s: tree root: %w", a.DID, err)
	}
	var (
		newNodes []Block
		removed  []cid.Cid
	)
	err = tree.BlockChanges(old, func(c cid.Cid, data []byte) error {
		newNodes = append(newNodes, Block{CID: c, Data: data})
		return nil
	}, func(c cid.Cid) error {
		removed = append(removed, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("repo %s: tree nodes: %w", a.DID, err)
	}
	if prevHead.Defined() {
		removed = append(removed, prevHead)
	}
	key, err := atcrypto.ParsePrivateMultibase(a.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("repo %s: signing key: %w", a.DID, err)
	}
	commit := &repo.Commit{DID: syntax.DID(a.DID), Version: repo.VersionCurrent, Data: root, Rev: syntax.TID(s.nextRev(prevRev))}
	if err := commit.Sign(key); err != nil {
		return nil, fmt.Errorf("repo %s: signing commit: %w", a.DID, err)
	}
	cb, err := commit.Bytes()
	if err != nil {
		return nil, err
	}
	cc := dagcbor.SumCID(dagcbor.CodecDagCBOR, cb)
	blocks := make([]Block, 0, 1+len(newNodes)+len(recs))
	blocks = append(blocks, Block{CID: cc, Data: cb})
	blocks = append(blocks, newNodes...)
	blocks = append(blocks, recs...)
	evt, err := blocksCAR(cc, blocks)
	if err != nil {
		return nil, err
	}
	return &CommitWrite{
		DID: a.DID, PrevHead: prevHead, Commit: cc, Rev: commit.Rev.String(), Since: prevRev,
		Blocks: blocks, Removed: removed, EventCAR: evt, Time: s.now(),
	}, nil
}
