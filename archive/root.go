package archive

import (
	"fmt"

	"github.com/arbor-atproto/arbor/repo"
	"github.com/ipfs/go-cid"
)

// ReadRoot interprets the root block of a repository CAR: a commit (its
// data is the MST root), or an MST node for a bare tree (commit nil, data
// the root itself). Anything else is an error wrapping ErrNotRepo.
func ReadRoot(root cid.Cid, b []byte) (commit *repo.Commit, data cid.Cid, err error) {
	c, err := repo.DecodeCommit(b)
	if err == nil {
		return c, c.Data, nil
	}
	if looksLikeNode(b) {
		return nil, root, nil
	}
	return nil, cid.Undef, fmt.Errorf("%w: root %s: %v", ErrNotRepo, root, err)
}
