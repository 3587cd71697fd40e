package mst

import (
	"bytes"
	"crypto/sha256"
	"math/bits"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// MaxKeyLen is the longest valid MST key, in bytes.
const MaxKeyLen = 1024

// MaxLayer is the highest layer a key can have: Height counts leading zero
// 2-bit groups of a 256-bit SHA-256, so it is at most 128.
const MaxLayer = 256 / 2

// MaxDepth is the most levels of nodes a valid tree has: a root at
// MaxLayer, then one level per layer down to 0. A chain of links longer
// than this cannot be a valid tree, whatever it holds, so every walker
// stops there ("deeper than any layer") instead of following it: a chain of
// entry-less nodes is otherwise only bounded by the size of the input.
const MaxDepth = MaxLayer + 1

// Height is the layer of a key: the number of leading zero 2-bit groups of
// SHA-256(key) (fanout 4). It accepts any byte string.
func Height(key []byte) int {
	h := sha256.Sum256(key)
	n := 0
	for _, b := range h {
		if b == 0 {
			n += 4
			continue
		}
		n += bits.LeadingZeros8(b) / 2
		break
	}
	return n
}

// keyBytes marks the bytes that may appear in a key segment:
// A-Za-z0-9 and the punctuation _ ~ - : . (a table: ValidateKey runs once
// per record in verify).
var keyBytes = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			t[c] = true
		case c == '_', c == '~', c == '-', c == ':', c == '.':
			t[c] = true
		}
	}
	return t
}()

// keyByte reports whether c may appear in a key segment.
func keyByte(c byte) bool { return keyBytes[c] }

// ValidateKey checks that key is a valid MST key: 1 to MaxKeyLen bytes,
// exactly one '/', a non-empty segment on both sides, each segment made of
// A-Za-z0-9 and _~-:. only, and neither segment "." or "..". It returns a
// *KeyError (wrapping ErrBadKey) otherwise.
//
// ValidateKey does not require the collection to be an NSID: the reference
// implementations and the interop vectors use keys such as "A0/374913" and
// "k/00". Use ValidateRepoPath for the stricter record-path rule.
func ValidateKey(key []byte) error {
	if len(key) == 0 {
		return &KeyError{Key: "", Reason: "empty"}
	}
	if len(key) > MaxKeyLen {
		return &KeyError{Key: string(key), Reason: "longer than 1024 bytes"}
	}
	slash := -1
	for i, c := range key {
		if c == '/' {
			if slash >= 0 {
				return &KeyError{Key: string(key), Reason: "more than one '/'"}
			}
			slash = i
			continue
		}
		if !keyByte(c) {
			return &KeyError{Key: string(key), Reason: "forbidden byte " + quoteByte(c)}
		}
	}
	if slash < 0 {
		return &KeyError{Key: string(key), Reason: "no '/'"}
	}
	coll, rkey := key[:slash], key[slash+1:]
	if len(coll) == 0 {
		return &KeyError{Key: string(key), Reason: "empty collection"}
	}
	if len(rkey) == 0 {
		return &KeyError{Key: string(key), Reason: "empty record key"}
	}
	if dotSegment(coll) || dotSegment(rkey) {
		return &KeyError{Key: string(key), Reason: "segment is \".\" or \"..\""}
	}
	return nil
}

// ValidateRepoPath checks ValidateKey and, in addition, that the collection
// is a valid NSID and the record key a valid record key (atproto syntax).
func ValidateRepoPath(key []byte) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	i := bytes.IndexByte(key, '/')
	if _, err := syntax.ParseNSID(string(key[:i])); err != nil {
		return &KeyError{Key: string(key), Reason: "collection is not an NSID: " + err.Error()}
	}
	if _, err := syntax.ParseRecordKey(string(key[i+1:])); err != nil {
		return &KeyError{Key: string(key), Reason: "bad record key: " + err.Error()}
	}
	return nil
}

func dotSegment(s []byte) bool {
	return (len(s) == 1 && s[0] == '.') || (len(s) == 2 && s[0] == '.' && s[1] == '.')
}

func quoteByte(c byte) string {
	const hex = "0123456789abcdef"
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	return "0x" + string([]byte{hex[c>>4], hex[c&15]})
}

// commonPrefix is the number of leading bytes a and b share.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
