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

// RawNodeSource is a BlockSource that can hand over a node already decoded,
// as DecodeNodeRaw would from its bytes: for a store that keeps nodes in
// another form than their encoding (an archive read with archive.Read,
// whose nodes are compact: see AppendCompact), where making the bytes
// only to parse them again would be waste. Verify and NodeReader.Read use it when their source has
// it.
//
// GetRawNode fills n (reusing its capacity) and reports ok; ok false with
// a nil error means the source has the node only as bytes (Get then
// gives them). Errors are those of Get. The slices in n must stay valid
// after the call; they must not change.
type RawNodeSource interface {
	BlockSource
	GetRawNode(c cid.Cid, n *RawNode) (ok bool, err error)
}

// NodeCounter is a BlockSource that knows about how many MST nodes it
// holds (an archive counts them as it reads them). Verify sizes its set of
// visited nodes from it; the count is a hint, never trusted for anything
// else.
type NodeCounter interface {
	NodeCount() int
}

// ReadRawNode fills n with node c: through GetRawNode when src is a
// RawNodeSource that holds the node so, else by decoding the bytes src.Get
// returns. err is a failure of src (a missing block included); decodeErr
// says why the bytes src returned are not a node.
func ReadRawNode(src BlockSource, c cid.Cid, n *RawNode) (decodeErr, err error) {
	if rs, isRaw := src.(RawNodeSource); isRaw {
		ok, err := rs.GetRawNode(c, n)
		if ok || err != nil {
			return nil, err
		}
	}
	b, err := src.Get(c)
	if err != nil {
		return nil, err
	}
	return DecodeNodeRaw(b, n), nil
}
