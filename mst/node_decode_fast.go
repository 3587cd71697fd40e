package mst

// The fast path of DecodeNodeRaw. Nearly every node a repository holds is
// written the same way: keys of fewer than 256 bytes, prefixes below 256,
// and links that are atproto CIDs (CIDv1, dag-cbor or raw, sha2-256). In
// canonical DAG-CBOR each of those has exactly one byte form, so such a node
// can be read by comparing bytes with that form, without the general
// reader's calls per item. decodeNodeFast reads only nodes made entirely of
// those forms and gives up (false) at the first byte that differs, leaving
// the node to the general decoder, which accepts everything the fast path
// accepts with the same result (FuzzDecodeNodeFastMatchesGeneral holds the
// two equal) and says what is wrong with the rest.

// linkFormLen is the length of an atproto link in canonical form: tag 42
// (d8 2a), the head of a 37-byte byte string (58 25), the 0x00 multibase
// prefix, then the 36-byte CID: version 1, the codec (dag-cbor 71 or raw
// 55), sha2-256 (12 20) and the digest.
const linkFormLen = 5 + 36

// fastLink reads a link at b[off:]; it returns the CID's bytes (aliasing
// b) and the offset after it, or ok false.
func fastLink(b []byte, off int) (link []byte, next int, ok bool) {
	if len(b)-off < linkFormLen {
		return nil, 0, false
	}
	p := b[off : off+linkFormLen]
	if p[0] != 0xd8 || p[1] != 0x2a || p[2] != 0x58 || p[3] != 0x25 || p[4] != 0x00 ||
		p[5] != 0x01 || (p[6] != 0x71 && p[6] != 0x55) || p[7] != 0x12 || p[8] != 0x20 {
		return nil, 0, false
	}
	return p[5:linkFormLen:linkFormLen], off + linkFormLen, true
}

// fastSmall reads a canonical head of major type major (its top three bits)
// whose argument is below 256; it returns the argument and the offset after
// the head.
func fastSmall(b []byte, off int, major byte) (arg, next int, ok bool) {
	if off >= len(b) || b[off]&0xe0 != major {
		return 0, 0, false
	}
	switch a := b[off] & 0x1f; {
	case a < 24:
		return int(a), off + 1, true
	case a == 24 && off+1 < len(b) && b[off+1] >= 24:
		return int(b[off+1]), off + 2, true
	}
	return 0, 0, false
}

// fastKey checks a one-letter map key k (text string of length 1) at off.
func fastKey(b []byte, off int, k byte) bool {
	return off+1 < len(b) && b[off] == 0x61 && b[off+1] == k
}

// decodeNodeFast is DecodeNodeRaw for nodes in the common forms; false
// means b is not one (n is then in no particular state).
func decodeNodeFast(b []byte, n *RawNode) bool {
	if len(b) < 3 || b[0] != 0xa2 || b[1] != 0x61 || b[2] != 'e' {
		return false
	}
	cnt, off, ok := fastSmall(b, 3, 0x80) // array
	if !ok {
		return false
	}
	n.reserve(cnt, (len(b)-off)/minEntryLen+1)
	prevLen := 0
	for range cnt {
		var e RawEntry
		if off >= len(b) || b[off] != 0xa4 || !fastKey(b, off+1, 'k') {
			return false
		}
		var sl int
		if sl, off, ok = fastSmall(b, off+3, 0x40); !ok || len(b)-off < sl { // byte string
			return false
		}
		e.Suffix = b[off : off+sl : off+sl]
		off += sl
		if !fastKey(b, off, 'p') {
			return false
		}
		if e.Prefix, off, ok = fastSmall(b, off+2, 0x00); !ok || e.Prefix > prevLen { // unsigned
			return false
		}
		if e.Right, off, ok = fastField(b, off, 't'); !ok {
			return false
		}
		if !fastKey(b, off, 'v') {
			return false
		}
		if e.Value, off, ok = fastLink(b, off+2); !ok {
			return false
		}
		prevLen = e.Prefix + sl
		n.Entries = append(n.Entries, e)
	}
	if n.Left, off, ok = fastField(b, off, 'l'); !ok {
		return false
	}
	return off == len(b)
}

// fastField reads key k and a nullable link after it (nil for null).
func fastField(b []byte, off int, k byte) (link []byte, next int, ok bool) {
	if !fastKey(b, off, k) {
		return nil, 0, false
	}
	off += 2
	if off < len(b) && b[off] == 0xf6 {
		return nil, off + 1, true
	}
	return fastLink(b, off)
}
