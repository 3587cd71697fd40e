package lexicon

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// ErrRecordKeyType: a record key that its record schema's key type does
// not allow (a profile under another key than "self", a post whose key is
// not a TID).
var ErrRecordKeyType = errors.New("record key not allowed by the record schema")

// RecordKeyError is a record key its schema's key type refuses.
type RecordKeyError struct {
	Key     string // the record key
	KeyType string // the schema's key type: tid, nsid, literal:VALUE
}

func (e *RecordKeyError) Error() string {
	want := "a TID"
	switch {
	case e.KeyType == "nsid":
		want = "an NSID"
	case strings.HasPrefix(e.KeyType, "literal:"):
		want = fmt.Sprintf("%q", strings.TrimPrefix(e.KeyType, "literal:"))
	}
	return fmt.Sprintf("record key %q is not %s (key type %s)", e.Key, want, e.KeyType)
}

func (e *RecordKeyError) Unwrap() error { return ErrRecordKeyType }

// RecordKeyType returns the key type of the record schema a record's
// $type names (nsid, or nsid#main): "tid", "nsid", "any" or
// "literal:VALUE". ok is false when the catalog has no record schema of
// that name: no definition at all, or one of another kind (a query, an
// object), which is no record type either.
func (c *Catalog) RecordKeyType(typ string) (keyType string, ok bool) {
	n := c.defs[fullRef("", typ)]
	if n == nil || n.kind != kRecord {
		return "", false
	}
	return n.recKey, true
}

// CheckRecordKey checks a record key (already valid record key syntax)
// against a record schema's key type, as the Lexicon spec defines them:
// tid, nsid, literal:VALUE (exactly VALUE) and any. A key type the spec
// does not define allows every key. The error is a *RecordKeyError
// wrapping ErrRecordKeyType.
func CheckRecordKey(keyType, rkey string) error {
	ok := true
	switch {
	case keyType == "tid":
		_, err := syntax.ParseTID(rkey)
		ok = err == nil
	case keyType == "nsid":
		_, err := syntax.ParseNSID(rkey)
		ok = err == nil
	case strings.HasPrefix(keyType, "literal:"):
		ok = rkey == strings.TrimPrefix(keyType, "literal:")
	}
	if !ok {
		return &RecordKeyError{Key: rkey, KeyType: keyType}
	}
	return nil
}
