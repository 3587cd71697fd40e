package build

import (
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// Record is one record ready to go into a repository: its path, its
// canonical DAG-CBOR bytes and their CID, and where it came from (for error
// messages).
type Record struct {
	Collection string
	RKey       string // "" for a JSON line without one, until Create assigns a TID
	CID        cid.Cid
	Data       []byte
	File       string // input file
	Line       int    // line in File (0 when not applicable)
}

// Path is the record's repository path, collection/rkey.
func (r *Record) Path() string { return r.Collection + "/" + r.RKey }

// EncodeRecord converts one record given as a data-model value (as
// dagcbor.FromJSON returns it) to canonical DAG-CBOR and its CID. It checks
// that the value is an atproto record (an object with a $type, no floats,
// well-formed links, bytes and blobs; ErrBadRecord) and at most
// MaxRecordSize bytes once encoded (ErrRecordTooLarge).
func EncodeRecord(v any) ([]byte, cid.Cid, error) {
	if err := dagcbor.ValidateRecord(v); err != nil {
		return nil, cid.Undef, wrap(ErrBadRecord, err)
	}
	data, err := dagcbor.Encode(v)
	if err != nil {
		return nil, cid.Undef, wrap(ErrBadRecord, err)
	}
	if len(data) > MaxRecordSize {
		return nil, cid.Undef, fmt.Errorf("%w: %d bytes of DAG-CBOR, the limit is %d (1 MiB)", ErrRecordTooLarge, len(data), MaxRecordSize)
	}
	return data, dagcbor.SumCID(dagcbor.CodecDagCBOR, data), nil
}

// CheckPath checks that collection is an NSID, rkey a record key, and
// collection/rkey a valid MST key. Errors wrap ErrBadPath.
func CheckPath(collection, rkey string) error {
	if err := repo.CheckNSID(collection); err != nil {
		return fmt.Errorf("%w: collection %v", ErrBadPath, err)
	}
	if _, err := syntax.ParseRecordKey(rkey); err != nil {
		return fmt.Errorf("%w: %q is not a valid record key (%s)", ErrBadPath, rkey, repo.RecordKeyRule)
	}
	if err := mst.ValidateKey([]byte(collection + "/" + rkey)); err != nil {
		return wrap(ErrBadPath, err)
	}
	return nil
}

// pathChecker checks paths, remembering the collections already seen valid
// (there are few of them and many records).
type pathChecker map[string]bool

func (pc pathChecker) check(collection, rkey string) error {
	if !pc[collection] {
		if err := repo.CheckNSID(collection); err != nil {
			return fmt.Errorf("%w: collection %v", ErrBadPath, err)
		}
		pc[collection] = true
	}
	if !plainRecordKey(rkey) {
		if _, err := syntax.ParseRecordKey(rkey); err != nil {
			return fmt.Errorf("%w: %q is not a valid record key (%s)", ErrBadPath, rkey, repo.RecordKeyRule)
		}
	}
	if len(collection)+1+len(rkey) > mst.MaxKeyLen {
		return fmt.Errorf("%w: %s/%s is longer than %d bytes", ErrBadPath, collection, rkey, mst.MaxKeyLen)
	}
	return nil
}

// plainRecordKey is a fast check for the common case: 1 to 512 bytes of
// A-Za-z0-9 and ._:~-, not "." or "..". That is the whole record-key syntax,
// so a key it accepts is valid; a key it refuses goes to
// syntax.ParseRecordKey for the verdict and the error message (the interop
// vectors pin both in TestPathSyntaxVectors).
func plainRecordKey(s string) bool {
	if len(s) == 0 || len(s) > 512 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == ':', c == '~', c == '-':
		default:
			return false
		}
	}
	return true
}
