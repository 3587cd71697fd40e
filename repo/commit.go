package repo

import (
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// Commit versions.
const (
	// VersionCurrent is the version of commits written today.
	VersionCurrent = 3
	// VersionLegacy is the older version still found in exports; read-only.
	VersionLegacy = 2
)

// Commit is a repository commit object.
type Commit struct {
	DID     syntax.DID // the repository's DID (syntax-checked)
	Version int64      // 3 (current) or 2 (legacy, read-only)
	Data    cid.Cid    // MST root
	Rev     syntax.TID // required for v3, optional for v2 ("" when absent)
	Prev    cid.Cid    // previous commit; cid.Undef when null
	Sig     []byte     // nil for an unsigned commit
}

// UnsignedBytes returns the canonical DAG-CBOR encoding of the commit without
// its sig field: the bytes that are signed. It does not check the fields; a
// Commit obtained from DecodeCommit is always valid, and Bytes, CID and Sign
// check a hand-built one.
func (c *Commit) UnsignedBytes() []byte { return c.encode(false) }

// SignedBytes returns the encoding with the sig field as it is, without
// checking any field (Bytes is the checked form). Tools and tests that
// craft malformed repositories on purpose use it.
func (c *Commit) SignedBytes() []byte { return c.encode(true) }

// Bytes returns the canonical DAG-CBOR encoding of the signed commit. For a
// decoded commit (either version) this is exactly the decoded input. It
// returns an error wrapping ErrUnsigned for a commit without signature and a
// *CommitError for invalid fields.
func (c *Commit) Bytes() ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if len(c.Sig) == 0 {
		return nil, fmt.Errorf("repo: encoding commit of %s: %w", Quote(c.DID), ErrUnsigned)
	}
	return c.encode(true), nil
}

// CID returns the CID (dag-cbor, sha2-256) of the signed commit's bytes.
func (c *Commit) CID() (cid.Cid, error) {
	b, err := c.Bytes()
	if err != nil {
		return cid.Undef, err
	}
	return dagcbor.SumCID(dagcbor.CodecDagCBOR, b), nil
}

// hasRev reports whether the encoding carries a rev field: always for v3,
// only when set for v2.
func (c *Commit) hasRev() bool { return c.Version != VersionLegacy || c.Rev != "" }

// encode writes the map in DAG-CBOR key order (shorter keys first, then
// bytewise): did, rev, sig, data, prev, version.
func (c *Commit) encode(withSig bool) []byte {
	n := 4
	if c.hasRev() {
		n++
	}
	if withSig {
		n++
	}
	w := dagcbor.NewWriter(make([]byte, 0, 160+len(c.DID)+len(c.Sig)))
	w.WriteMapHeader(n)
	w.WriteString("did")
	w.WriteString(c.DID.String())
	if c.hasRev() {
		w.WriteString("rev")
		w.WriteString(c.Rev.String())
	}
	if withSig {
		w.WriteString("sig")
		w.WriteBytes(c.Sig)
	}
	w.WriteString("data")
	w.WriteLink(c.Data)
	w.WriteString("prev")
	if c.Prev.Defined() {
		w.WriteLink(c.Prev)
	} else {
		w.WriteNull()
	}
	w.WriteString("version")
	w.WriteInt(c.Version)
	return w.Bytes()
}

// check validates a Commit value before it is encoded or signed.
func (c *Commit) check() error {
	if c.Version != VersionCurrent && c.Version != VersionLegacy {
		return commitErr("version", -1, fmt.Errorf("%w: %d", ErrUnsupportedVersion, c.Version))
	}
	if _, err := syntax.ParseDID(c.DID.String()); err != nil {
		return commitErr("did", -1, fmt.Errorf("%s is not a valid DID (want did:METHOD:ID)", Quote(c.DID.String())))
	}
	if err := checkLink(c.Data); err != nil {
		return commitErr("data", -1, err)
	}
	if c.Prev.Defined() {
		if err := checkLink(c.Prev); err != nil {
			return commitErr("prev", -1, err)
		}
	}
	if c.Version == VersionLegacy && c.Rev == "" {
		return nil
	}
	if _, err := ParseTID(c.Rev.String()); err != nil {
		return commitErr("rev", -1, err)
	}
	return nil
}

// checkLink requires a CIDv1 of a dag-cbor block hashed with sha2-256, the
// only kind of link a commit's data or prev may hold.
func checkLink(c cid.Cid) error {
	if !c.Defined() {
		return fmt.Errorf("%w: link is undefined", ErrMissingField)
	}
	p := c.Prefix()
	if p.Version != 1 || p.Codec != dagcbor.CodecDagCBOR || p.MhType != dagcbor.HashSHA256 || p.MhLength != 32 {
		return fmt.Errorf("link %s is not a CIDv1 of a dag-cbor block hashed with sha2-256", c)
	}
	return nil
}
