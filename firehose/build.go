package firehose

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// CommitEvent builds the sync v1.1 #commit event of a signed commit, for a
// producer (a PDS). src must hold the nodes of both trees and the records of
// the new one; oldRoot is the previous commit's data, or cid.Undef for the
// repository's first commit (then prevData is omitted and every record is a
// create). since is the previous commit's rev (nil for the first commit).
//
// The ops are the difference between the two trees, sorted by path, with
// prev set for updates and deletes. blocks is a CAR rooted at the commit
// holding the commit, the MST nodes the commit created, the covering proof
// (enough to undo the ops in any order) and the records of creates and
// updates. Seq and Time are left for the caller; TooBig, Rebase false,
// Blobs empty.
func CommitEvent(src mst.BlockSource, oldRoot cid.Cid, commit *repo.Commit, since *string) (*Commit, error) {
	commitBytes, err := commit.Bytes()
	if err != nil {
		return nil, err
	}
	did, rev := commit.DID, commit.Rev // checked by Bytes; a version 2 commit's rev stays ""
	commitCID, err := commit.CID()
	if err != nil {
		return nil, err
	}
	oldSrc, from := src, oldRoot
	if !oldRoot.Defined() {
		empty := mst.NewEmpty()
		m := mst.MapSource{}
		if err := empty.WriteBlocks(func(c cid.Cid, data []byte) error { m[c] = data; return nil }); err != nil {
			return nil, err
		}
		if from, err = empty.RootCID(); err != nil {
			return nil, err
		}
		oldSrc = m
	}
	res, err := diff.Compare(oldSrc, from, src, commit.Data)
	if err != nil {
		return nil, fmt.Errorf("comparing the trees: %w", err)
	}
	var buf bytes.Buffer
	w, err := car.NewWriter(&buf, []cid.Cid{commitCID})
	if err != nil {
		return nil, err
	}
	seen := map[cid.Cid]bool{}
	put := func(c cid.Cid) error {
		if seen[c] {
			return nil
		}
		seen[c] = true
		data, err := src.Get(c)
		if err != nil {
			return err
		}
		return w.Put(c, data)
	}
	if err := w.Put(commitCID, commitBytes); err != nil {
		return nil, err
	}
	seen[commitCID] = true
	ev := &Commit{
		Repo:   did,
		Commit: commitCID,
		Rev:    rev,
		Since:  since,
		Ops:    make([]RepoOp, 0, len(res.Ops)),
		Blobs:  []cid.Cid{},
	}
	if oldRoot.Defined() {
		ev.PrevData = oldRoot
	}
	for _, list := range [][]cid.Cid{res.CreatedNodes, res.CoveringProof} {
		for _, c := range list {
			if err := put(c); err != nil {
				return nil, fmt.Errorf("MST node: %w", err)
			}
		}
	}
	for _, o := range res.Ops {
		op := RepoOp{Path: o.Path, CID: o.New}
		switch o.Action() {
		case diff.Create:
			op.Action = ActionCreate
		case diff.Update:
			op.Action, op.Prev = ActionUpdate, o.Old
		case diff.Delete:
			op.Action, op.Prev = ActionDelete, o.Old
		}
		if o.New.Defined() {
			if err := put(o.New); err != nil {
				if errors.Is(err, mst.ErrMissingBlock) {
					return nil, fmt.Errorf("record %s of %s: %w", o.New, o.Path, err)
				}
				return nil, err
			}
		}
		ev.Ops = append(ev.Ops, op)
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	ev.Blocks = buf.Bytes()
	return ev, nil
}
