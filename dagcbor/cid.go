package dagcbor

import (
	"crypto/sha256"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// Multicodec codes and the multihash code used by atproto.
const (
	CodecDagCBOR = 0x71
	CodecRaw     = 0x55
	HashSHA256   = 0x12
)

// SumCID returns the CIDv1 (sha2-256) of data under the given codec.
func SumCID(codec uint64, data []byte) cid.Cid {
	d := sha256.Sum256(data)
	return CIDFromDigest(codec, d)
}

// CIDFromDigest builds a CIDv1 for a sha2-256 digest.
func CIDFromDigest(codec uint64, d [32]byte) cid.Cid {
	if codec >= 0x80 {
		mhb, err := mh.Encode(d[:], mh.SHA2_256)
		if err != nil {
			panic("dagcbor: encoding a sha2-256 multihash failed: " + err.Error())
		}
		return cid.NewCidV1(codec, mhb)
	}
	var b [36]byte
	b[0] = 0x01
	b[1] = byte(codec) // one varint byte for codes below 0x80
	b[2] = HashSHA256
	b[3] = 32
	copy(b[4:], d[:])
	c, err := cid.Cast(b[:])
	if err != nil {
		panic("dagcbor: building a CID from a digest failed: " + err.Error())
	}
	return c
}
