package repo

import (
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// DecodeCommit decodes a signed commit block. It accepts exactly one
// canonical DAG-CBOR map holding exactly the fields of a version 3 commit
// (data, did, prev, rev, sig, version; prev may be null but must be present)
// or of a version 2 commit (the same without rev, which is optional there).
// A did that is not a DID, a rev that is not a TID, an empty sig, links that
// are not sha2-256 dag-cbor CIDv1, unknown fields, wrong types and trailing
// bytes are all errors. Every error is a *CommitError wrapping ErrNotACommit
// that names the field and byte offset.
//
// The returned commit does not alias b.
func DecodeCommit(b []byte) (*Commit, error) {
	r := dagcbor.NewReader(b)
	n, err := r.ReadMapHeader()
	if err != nil {
		return nil, commitErr("", 0, err)
	}
	var (
		c    Commit
		seen uint8 // bit i set when commitFields[i] was read
		prev []byte
	)
	for i := 0; i < n; i++ {
		koff := r.Offset()
		k, err := r.ReadMapKey(prev)
		if err != nil {
			return nil, commitErr("", koff, err)
		}
		prev = k
		voff := r.Offset()
		field := string(k)
		switch field {
		case "did":
			s, err := r.ReadString()
			if err != nil {
				return nil, commitErr(field, voff, err)
			}
			did, err := syntax.ParseDID(s)
			if err != nil {
				return nil, commitErr(field, voff, fmt.Errorf("%s is not a valid DID (want did:METHOD:ID)", Quote(s)))
			}
			c.DID = did
		case "rev":
			s, err := r.ReadString()
			if err != nil {
				return nil, commitErr(field, voff, err)
			}
			rev, err := ParseTID(s)
			if err != nil {
				return nil, commitErr(field, voff, err)
			}
			c.Rev = rev
		case "sig":
			s, err := r.ReadBytes()
			if err != nil {
				return nil, commitErr(field, voff, err)
			}
			if len(s) == 0 {
				return nil, commitErr(field, voff, fmt.Errorf("empty signature"))
			}
			c.Sig = append([]byte(nil), s...)
		case "data":
			l, err := r.ReadLink()
			if err != nil {
				return nil, commitErr(field, voff, err)
			}
			if err := checkLink(l); err != nil {
				return nil, commitErr(field, voff, err)
			}
			c.Data = l
		case "prev":
			l, ok, err := r.ReadNullableLink()
			if err != nil {
				return nil, commitErr(field, voff, err)
			}
			if ok {
				if err := checkLink(l); err != nil {
					return nil, commitErr(field, voff, err)
				}
				c.Prev = l
			}
		case "version":
			v, err := r.ReadInt()
			if err != nil {
				return nil, commitErr(field, voff, err)
			}
			if v != VersionCurrent && v != VersionLegacy {
				return nil, commitErr(field, voff, fmt.Errorf("%w: %d", ErrUnsupportedVersion, v))
			}
			c.Version = v
		default:
			return nil, commitErr(field, koff, ErrUnknownField)
		}
		seen |= fieldBit(field)
	}
	if err := r.Done(); err != nil {
		return nil, commitErr("", r.Offset(), err)
	}
	// Every required field, in DAG-CBOR key order so the first missing one is
	// reported deterministically.
	for i, f := range commitFields {
		if seen&(1<<i) != 0 || (f == "rev" && c.Version == VersionLegacy) {
			continue
		}
		if f == "rev" && seen&fieldBit("version") == 0 {
			continue // reported as a missing version below
		}
		return nil, commitErr(f, len(b), ErrMissingField)
	}
	return &c, nil
}

// commitFields lists the fields of a commit in DAG-CBOR key order.
var commitFields = [...]string{"did", "rev", "sig", "data", "prev", "version"}

func fieldBit(f string) uint8 {
	for i, g := range commitFields {
		if f == g {
			return 1 << i
		}
	}
	return 0
}
