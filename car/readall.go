package car

import (
	"io"

	"github.com/ipfs/go-cid"
)

// ReadAll reads a whole CAR from r into memory, for small files (tests,
// firehose slices). Every block is verified as by Reader.Next; the first
// error of any kind ends the read. Duplicate blocks collapse into one entry
// (their bytes are equal, as both match the CID).
func ReadAll(r io.Reader) (roots []cid.Cid, blocks map[cid.Cid][]byte, err error) {
	rd, err := NewReader(r)
	if err != nil {
		return nil, nil, err
	}
	blocks = make(map[cid.Cid][]byte)
	for {
		b, err := rd.Next()
		if err == io.EOF {
			return rd.Roots(), blocks, nil
		}
		if err != nil {
			return nil, nil, err
		}
		blocks[b.CID] = b.Data
	}
}
