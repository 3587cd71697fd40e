package pds

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
)

// maxEventOps is the most record operations a seq row lists; a bigger
// commit (an import) is kept as "too big", with the commit block only, as
// a firehose marks such commits.
const maxEventOps = 200

// importRepo replaces the caller's repository with the one in the request
// body (a CAR), after checking it completely: every block's hash and
// encoding, the commit (which must be for the caller's DID), the tree's
// canonical shape and order, every record present and every path a valid
// collection/rkey, every record a record as createRecord requires (a map
// with a string $type, in the data model). The tree must be canonical, so a
// chain of nodes deeper than any layer or a subtree linked from two places
// is refused by verification, which stops at mst.MaxDepth levels. The
// commit's signature is not checked: it was made with the key of wherever
// the repository comes from. The records are adopted under a new commit
// signed with the account's key. A deactivated account may import (that is
// how a migrating account fills its new repository before activation).
func (s *Server) importRepo(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authSession(r)
	if err != nil {
		return nil, err
	}
	if err := limitBody(w, r, s.cfg.MaxImportSize); err != nil {
		return nil, err
	}
	ar, err := archive.ReadWithBodies(r.Body, archive.Options{})
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, invalidRequest("unreadable repository CAR: %v", err)
	}
	if ar.Commit == nil {
		if ar.CommitErr != nil {
			return nil, invalidRequest("repository root %s: %v", ar.Root, ar.CommitErr)
		}
		return nil, invalidRequest("repository root %s is a bare tree, not a commit", ar.Root)
	}
	// The account's DID (from its access token) was parsed when the account was made.
	rep, err := ar.Verify(archive.VerifyOptions{DID: syntax.DID(a.DID)})
	if err != nil {
		return nil, fmt.Errorf("verifying imported repository: %w", err)
	}
	if !rep.Valid() {
		msgs := make([]string, 0, 3)
		for i, p := range rep.Problems {
			if i == 3 {
				msgs = append(msgs, fmt.Sprintf("and %d more", len(rep.Problems)-3))
				break
			}
			msgs = append(msgs, p.Error())
		}
		return nil, invalidRequest("repository does not verify: %s", strings.Join(msgs, "; "))
	}
	var (
		recs    []Block
		changes []RecordChange
		ops     []Op
		seen    = map[cid.Cid]bool{}
	)
	err = ar.Walk(func(key []byte, val cid.Cid) error {
		col, rkey, _ := strings.Cut(string(key), "/")
		if err := checkPath(col, rkey); err != nil {
			return err
		}
		changes = append(changes, RecordChange{Collection: col, Rkey: rkey, CID: val})
		ops = append(ops, Op{Action: "create", Path: string(key), CID: val})
		if !seen[val] {
			seen[val] = true
			body, err := ar.Get(val)
			if err != nil {
				return fmt.Errorf("record %s at %s: %w", val, key, err)
			}
			if err := checkImportedRecord(body); err != nil {
				return invalidRequest("invalid record %s (block %s): %v", key, val, err)
			}
			recs = append(recs, Block{CID: val, Data: body})
		}
		return nil
	})
	if err != nil {
		var xe *XRPCError
		if errors.As(err, &xe) {
			return nil, err
		}
		return nil, invalidRequest("imported repository: %v", err)
	}
	tree, err := mst.Load(ar, ar.Data)
	if err != nil {
		return nil, invalidRequest("imported tree: %v", err)
	}
	st := s.repoState(a.DID)
	st.mu.Lock()
	defer st.mu.Unlock()
	if a, err = s.store.AccountByDID(r.Context(), a.DID); err != nil {
		return nil, err
	}
	cw, err := s.buildCommit(a, a.Head, a.Rev, nil, tree, recs)
	if err != nil {
		return nil, err
	}
	cw.ReplaceAll, cw.Records = true, changes
	if len(ops) <= maxEventOps {
		cw.Ops = ops
	} else {
		cw.TooBig = true
		cw.EventCAR = nil
	}
	if err := s.store.ApplyCommit(r.Context(), cw); err != nil {
		return nil, fmt.Errorf("repo %s: saving import: %w", a.DID, err)
	}
	st.head, st.rev, st.tree, st.loaded = cw.Commit, cw.Rev, tree, true
	return nil, nil
}

// checkImportedRecord checks a record block as createRecord checks a new
// record: DAG-CBOR whose top level is a map with a non-empty string $type,
// every value in the atproto data model.
func checkImportedRecord(body []byte) error {
	v, err := dagcbor.Decode(body)
	if err != nil {
		return err
	}
	return dagcbor.ValidateRecord(v)
}
