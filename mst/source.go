package mst

import (
	"fmt"

	"github.com/ipfs/go-cid"
)

// BlockSource gives the bytes of a block by CID. A block it does not have
// must be reported with an error wrapping ErrMissingBlock; any other error is
// treated as a failure of the source itself.
type BlockSource interface {
	Get(c cid.Cid) ([]byte, error)
}

// MapSource is a BlockSource over a map (handy in tests and for small trees).
type MapSource map[cid.Cid][]byte

// Get returns the block for c, or an error wrapping ErrMissingBlock.
func (m MapSource) Get(c cid.Cid) ([]byte, error) {
	b, ok := m[c]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrMissingBlock, c)
	}
	return b, nil
}
