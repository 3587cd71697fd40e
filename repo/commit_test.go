package repo

import (
	"bytes"
	"errors"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
)

var (
	testData = dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("mst root"))
	testPrev = dagcbor.SumCID(dagcbor.CodecDagCBOR, []byte("previous commit"))
)

// testCommit is a valid v3 commit with a placeholder signature.
func testCommit() *Commit {
	return &Commit{
		DID:     "did:plc:nhxcyu4ewwhl5pqil4dotqjo",
		Version: 3,
		Data:    testData,
		Rev:     "3ljlyqit2uk2l",
		Prev:    cid.Undef,
		Sig:     bytes.Repeat([]byte{7}, 64),
	}
}

// field is one map entry of a hand-built commit.
type field struct {
	key   string
	write func(w *dagcbor.Writer)
}

func str(s string) func(*dagcbor.Writer)                           { return func(w *dagcbor.Writer) { w.WriteString(s) } }
func byts(b []byte) func(*dagcbor.Writer)                          { return func(w *dagcbor.Writer) { w.WriteBytes(b) } }
func link(c cid.Cid) func(*dagcbor.Writer)                         { return func(w *dagcbor.Writer) { w.WriteLink(c) } }
func integer(i int64) func(*dagcbor.Writer)                        { return func(w *dagcbor.Writer) { w.WriteInt(i) } }
func null() func(*dagcbor.Writer)                                  { return func(w *dagcbor.Writer) { w.WriteNull() } }
func raw(b ...byte) func(w *dagcbor.Writer)                        { return func(w *dagcbor.Writer) { w.WriteRaw(b) } }
func mapOf(fields ...field) []byte                                 { return mapWithLen(len(fields), fields...) }
func without(fs []field, key string) []field                       { return replace(fs, key, nil) }
func with(fs []field, key string, v func(*dagcbor.Writer)) []field { return replace(fs, key, v) }

func mapWithLen(n int, fields ...field) []byte {
	w := dagcbor.NewWriter(nil)
	w.WriteMapHeader(n)
	for _, f := range fields {
		w.WriteString(f.key)
		f.write(w)
	}
	return w.Bytes()
}

// replace sets or removes (v == nil) key, keeping DAG-CBOR key order.
func replace(fs []field, key string, v func(*dagcbor.Writer)) []field {
	var out []field
	done := false
	for _, f := range fs {
		if f.key == key {
			done = true
			if v != nil {
				out = append(out, field{key, v})
			}
			continue
		}
		if !done && v != nil && dagcbor.CompareKeys([]byte(key), []byte(f.key)) < 0 {
			out = append(out, field{key, v})
			done = true
		}
		out = append(out, f)
	}
	if !done && v != nil {
		out = append(out, field{key, v})
	}
	return out
}

func v3Fields() []field {
	return []field{
		{"did", str("did:plc:nhxcyu4ewwhl5pqil4dotqjo")},
		{"rev", str("3ljlyqit2uk2l")},
		{"sig", byts(bytes.Repeat([]byte{7}, 64))},
		{"data", link(testData)},
		{"prev", null()},
		{"version", integer(3)},
	}
}

func v2Fields() []field {
	return with(without(v3Fields(), "rev"), "version", integer(2))
}

func TestDecodeCommitAcceptsBothVersions(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		version int64
		rev     string
		prev    cid.Cid
	}{
		{"v3 with null prev", mapOf(v3Fields()...), 3, "3ljlyqit2uk2l", cid.Undef},
		{"v3 with prev link", mapOf(with(v3Fields(), "prev", link(testPrev))...), 3, "3ljlyqit2uk2l", testPrev},
		{"v2 without rev", mapOf(v2Fields()...), 2, "", cid.Undef},
		{"v2 with rev", mapOf(with(v2Fields(), "rev", str("3jzfcijpj2z2a"))...), 2, "3jzfcijpj2z2a", cid.Undef},
		{"v2 with prev link", mapOf(with(v2Fields(), "prev", link(testPrev))...), 2, "", testPrev},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeCommit(tt.in)
			if err != nil {
				t.Fatalf("DecodeCommit: %v", err)
			}
			if c.Version != tt.version || c.Rev.String() != tt.rev || !c.Prev.Equals(tt.prev) || !c.Data.Equals(testData) {
				t.Errorf("decoded %+v", c)
			}
			b, err := c.Bytes()
			if err != nil || !bytes.Equal(b, tt.in) {
				t.Errorf("Bytes() = %x, %v; want the input %x", b, err, tt.in)
			}
			if id, err := c.CID(); err != nil || !id.Equals(dagcbor.SumCID(dagcbor.CodecDagCBOR, tt.in)) {
				t.Errorf("CID() = %s, %v", id, err)
			}
		})
	}
}

func TestDecodeCommitRejectsBadInput(t *testing.T) {
	rawCID := dagcbor.SumCID(dagcbor.CodecRaw, []byte("x"))
	tests := []struct {
		name  string
		in    []byte
		field string // the field the error must name
		cause error  // a further error it must match, if any
	}{
		{"empty input", nil, "", dagcbor.ErrTruncated},
		{"not a map: array", []byte{0x80}, "", dagcbor.ErrType},
		{"not a map: string", []byte{0x61, 'a'}, "", dagcbor.ErrType},
		{"not a map: null", []byte{0xf6}, "", dagcbor.ErrType},
		{"empty map", mapOf(), "did", ErrMissingField},
		{"missing did", mapOf(without(v3Fields(), "did")...), "did", ErrMissingField},
		{"missing rev in v3", mapOf(without(v3Fields(), "rev")...), "rev", ErrMissingField},
		{"missing sig", mapOf(without(v3Fields(), "sig")...), "sig", ErrMissingField},
		{"missing data", mapOf(without(v3Fields(), "data")...), "data", ErrMissingField},
		{"missing prev in v3", mapOf(without(v3Fields(), "prev")...), "prev", ErrMissingField},
		{"missing prev in v2", mapOf(without(v2Fields(), "prev")...), "prev", ErrMissingField},
		{"missing version", mapOf(without(v3Fields(), "version")...), "version", ErrMissingField},
		{"extra field", mapOf(with(v3Fields(), "extra", str("x"))...), "extra", ErrUnknownField},
		{"extra short field", mapOf(with(v3Fields(), "a", str("x"))...), "a", ErrUnknownField},
		{"version 1", mapOf(with(v3Fields(), "version", integer(1))...), "version", ErrUnsupportedVersion},
		{"version 4", mapOf(with(v3Fields(), "version", integer(4))...), "version", ErrUnsupportedVersion},
		{"version -3", mapOf(with(v3Fields(), "version", integer(-3))...), "version", ErrUnsupportedVersion},
		{"version as string", mapOf(with(v3Fields(), "version", str("3"))...), "version", dagcbor.ErrType},
		{"rev not a TID", mapOf(with(v3Fields(), "rev", str("not-a-tid"))...), "rev", ErrInvalidTID},
		{"rev empty", mapOf(with(v3Fields(), "rev", str(""))...), "rev", ErrInvalidTID},
		{"v2 rev not a TID", mapOf(with(v2Fields(), "rev", str("1"))...), "rev", ErrInvalidTID},
		{"rev as bytes", mapOf(with(v3Fields(), "rev", byts([]byte("3ljlyqit2uk2l")))...), "rev", dagcbor.ErrType},
		{"did not a DID", mapOf(with(v3Fields(), "did", str("alice.example.com"))...), "did", nil},
		{"did upper-case method", mapOf(with(v3Fields(), "did", str("did:PLC:abc"))...), "did", nil},
		{"did as bytes", mapOf(with(v3Fields(), "did", byts([]byte("did:plc:abc")))...), "did", dagcbor.ErrType},
		{"sig as string", mapOf(with(v3Fields(), "sig", str("sig"))...), "sig", dagcbor.ErrType},
		{"sig empty", mapOf(with(v3Fields(), "sig", byts(nil))...), "sig", nil},
		{"data as string", mapOf(with(v3Fields(), "data", str(testData.String()))...), "data", dagcbor.ErrType},
		{"data null", mapOf(with(v3Fields(), "data", null())...), "data", dagcbor.ErrType},
		{"data raw codec", mapOf(with(v3Fields(), "data", link(rawCID))...), "data", nil},
		{"prev as integer", mapOf(with(v3Fields(), "prev", integer(0))...), "prev", dagcbor.ErrType},
		{"prev raw codec", mapOf(with(v3Fields(), "prev", link(rawCID))...), "prev", nil},
		{"data bad link", mapOf(with(v3Fields(), "data", raw(0xd8, 0x2a, 0x42, 0x00, 0x01))...), "data", dagcbor.ErrBadLink},
		{"keys out of order", mapOf(append([]field{{"rev", str("3ljlyqit2uk2l")}}, without(v3Fields(), "rev")...)...), "", dagcbor.ErrKeyOrder},
		{"duplicate key", mapOf(append([]field{{"did", str("did:plc:abc")}}, v3Fields()...)...), "", dagcbor.ErrDuplicateMapKey},
		{"non-text key", append([]byte{0xa1, 0x01}, 0x01), "", dagcbor.ErrMapKey},
		{"trailing bytes", append(mapOf(v3Fields()...), 0x00), "", dagcbor.ErrTrailing},
		{"map claims more pairs", mapWithLen(7, v3Fields()...), "", dagcbor.ErrTruncated},
		{"truncated", mapOf(v3Fields()...)[:70], "sig", dagcbor.ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeCommit(tt.in)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if !errors.Is(err, ErrNotACommit) {
				t.Errorf("error %v does not wrap ErrNotACommit", err)
			}
			var ce *CommitError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *CommitError", err)
			}
			if ce.Field != tt.field {
				t.Errorf("error names field %q, want %q (%v)", ce.Field, tt.field, err)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("error %v does not wrap %v", err, tt.cause)
			}
		})
	}
}

func TestDecodeCommitDoesNotAliasInput(t *testing.T) {
	in := mapOf(v3Fields()...)
	c, err := DecodeCommit(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 0
	}
	if !bytes.Equal(c.Sig, bytes.Repeat([]byte{7}, 64)) {
		t.Error("Sig changed with the input buffer")
	}
}

func generateKey(t testing.TB, typ string) atcrypto.PrivateKeyExportable {
	t.Helper()
	var (
		k   atcrypto.PrivateKeyExportable
		err error
	)
	switch typ {
	case "k256":
		k, err = atcrypto.GeneratePrivateKeyK256()
	case "p256":
		k, err = atcrypto.GeneratePrivateKeyP256()
	}
	if err != nil || k == nil {
		t.Fatalf("generating %s key: %v", typ, err)
	}
	return k
}

func TestSignThenVerify(t *testing.T) {
	for _, typ := range []string{"k256", "p256"} {
		t.Run(typ, func(t *testing.T) {
			priv := generateKey(t, typ)
			pub, err := priv.PublicKey()
			if err != nil {
				t.Fatal(err)
			}
			c := testCommit()
			c.Sig = nil
			c.Prev = testPrev
			if err := c.Sign(priv); err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if len(c.Sig) != SignatureSize {
				t.Errorf("signature is %d bytes", len(c.Sig))
			}
			if err := c.VerifySignature(pub); err != nil {
				t.Fatalf("VerifySignature: %v", err)
			}
			// Through bytes and back.
			b, err := c.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			d, err := DecodeCommit(b)
			if err != nil {
				t.Fatalf("DecodeCommit of signed commit: %v", err)
			}
			if err := d.VerifySignature(pub); err != nil {
				t.Errorf("decoded commit: %v", err)
			}

			bad := []struct {
				name   string
				commit func() *Commit
				key    atcrypto.PublicKey
			}{
				{"wrong key", func() *Commit { return d }, otherKey(t, typ)},
				{"wrong curve", func() *Commit { return d }, otherKey(t, map[string]string{"k256": "p256", "p256": "k256"}[typ])},
				{"flipped signature bit", func() *Commit {
					e := *d
					e.Sig = append([]byte(nil), d.Sig...)
					e.Sig[10] ^= 0x01
					return &e
				}, pub},
				{"changed rev", func() *Commit { e := *d; e.Rev = "3ljlyqit2uk2m"; return &e }, pub},
				{"changed prev", func() *Commit { e := *d; e.Prev = cid.Undef; return &e }, pub},
				{"truncated signature", func() *Commit { e := *d; e.Sig = d.Sig[:63]; return &e }, pub},
				{"no key", func() *Commit { return d }, nil},
			}
			for _, bt := range bad {
				if err := bt.commit().VerifySignature(bt.key); !errors.Is(err, ErrBadSignature) {
					t.Errorf("%s: got %v, want ErrBadSignature", bt.name, err)
				}
			}
		})
	}
}

func TestUnsignedCommit(t *testing.T) {
	c := testCommit()
	c.Sig = nil
	if err := c.VerifySignature(otherKey(t, "k256")); !errors.Is(err, ErrUnsigned) {
		t.Errorf("VerifySignature = %v, want ErrUnsigned", err)
	}
	if _, err := c.Bytes(); !errors.Is(err, ErrUnsigned) {
		t.Errorf("Bytes = %v, want ErrUnsigned", err)
	}
	if _, err := c.CID(); !errors.Is(err, ErrUnsigned) {
		t.Errorf("CID = %v, want ErrUnsigned", err)
	}
	// The unsigned bytes are the signed encoding without the sig entry.
	u, err := DecodeCommit(mapOf(v3Fields()...))
	if err != nil {
		t.Fatal(err)
	}
	if want := mapOf(without(v3Fields(), "sig")...); !bytes.Equal(u.UnsignedBytes(), want) {
		t.Errorf("UnsignedBytes = %x, want %x", u.UnsignedBytes(), want)
	}
}

func TestSignRefusesInvalidCommits(t *testing.T) {
	key := generateKey(t, "k256")
	tests := []struct {
		name   string
		mutate func(c *Commit)
		want   error
		field  string
	}{
		{"legacy v2", func(c *Commit) { c.Version = 2 }, ErrLegacyCommit, ""},
		{"version 4", func(c *Commit) { c.Version = 4 }, ErrUnsupportedVersion, "version"},
		{"bad DID", func(c *Commit) { c.DID = "bob" }, ErrNotACommit, "did"},
		{"bad rev", func(c *Commit) { c.Rev = "" }, ErrInvalidTID, "rev"},
		{"undefined data", func(c *Commit) { c.Data = cid.Undef }, ErrMissingField, "data"},
		{"raw prev", func(c *Commit) { c.Prev = dagcbor.SumCID(dagcbor.CodecRaw, nil) }, ErrNotACommit, "prev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCommit()
			tt.mutate(c)
			old := append([]byte(nil), c.Sig...)
			err := c.Sign(key)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Sign = %v, want %v", err, tt.want)
			}
			var ce *CommitError
			if tt.field != "" && (!errors.As(err, &ce) || ce.Field != tt.field) {
				t.Errorf("error %v does not name field %q", err, tt.field)
			}
			if !bytes.Equal(c.Sig, old) {
				t.Error("signature changed by a failed Sign")
			}
			if tt.field != "" {
				if _, err := c.Bytes(); !errors.Is(err, ErrNotACommit) {
					t.Errorf("Bytes = %v, want ErrNotACommit", err)
				}
			}
		})
	}
	if err := testCommit().Sign(nil); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Sign(nil) = %v, want ErrInvalidKey", err)
	}
}
