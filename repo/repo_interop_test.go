package repo

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/mr-tron/base58"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// Signatures from the interop crypto fixtures: valid low-S signatures verify;
// high-S and DER-encoded ones are rejected with ErrBadSignature. The key is
// read both from its did:key and, through a DID document, from the legacy
// verification-method form the fixture names.
func TestInteropSignatureFixtures(t *testing.T) {
	fixtures := testfixtures.Cases[struct {
		Comment            string
		MessageBase64      string
		Algorithm          string
		DidDocSuite        string
		PublicKeyDid       string
		PublicKeyMultibase string
		SignatureBase64    string
		ValidSignature     bool
	}](t, "interop", "crypto", "signature-fixtures.json")
	for _, fx := range fixtures {
		t.Run(fx.Comment, func(t *testing.T) {
			msg, err := base64.RawStdEncoding.DecodeString(fx.MessageBase64)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := base64.RawStdEncoding.DecodeString(fx.SignatureBase64)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKey(fx.PublicKeyDid)
			if err != nil {
				t.Fatalf("ParsePublicKey(%s): %v", fx.PublicKeyDid, err)
			}
			want := map[string]string{"ES256K": "k256", "ES256": "p256"}[fx.Algorithm]
			if got := KeyType(pub); got != want {
				t.Errorf("KeyType = %q, want %q for %s", got, want, fx.Algorithm)
			}
			doc := fmt.Sprintf(`{"id":"did:plc:fixture","verificationMethod":[{"id":"#atproto","type":%q,"controller":"did:plc:fixture","publicKeyMultibase":%q}]}`,
				fx.DidDocSuite, fx.PublicKeyMultibase)
			_, docKey, err := docSigningKey([]byte(doc))
			if err != nil {
				t.Fatalf("key from %s document: %v", fx.DidDocSuite, err)
			}
			if !docKey.Equal(pub) {
				t.Errorf("%s key %s differs from %s", fx.DidDocSuite, fx.PublicKeyMultibase, fx.PublicKeyDid)
			}
			err = VerifyBytes(pub, msg, sig)
			if fx.ValidSignature && err != nil {
				t.Errorf("valid signature rejected: %v", err)
			}
			if !fx.ValidSignature && !errors.Is(err, ErrBadSignature) {
				t.Errorf("invalid signature: got %v, want ErrBadSignature", err)
			}
		})
	}
}

// Private keys from the W3C did:key test suite, given to ParsePrivateKey in
// the multibase form, must yield the expected did:key.
func TestInteropPrivateKeyToDIDKey(t *testing.T) {
	type vector struct {
		PrivateKeyBytesHex    string
		PrivateKeyBytesBase58 string
		PublicDidKey          string
	}
	load := func(name string) []vector {
		var v []vector
		if err := json.Unmarshal(testfixtures.Read(t, "interop", "crypto", name), &v); err != nil {
			t.Fatal(err)
		}
		if len(v) == 0 {
			t.Fatalf("%s: no vectors", name)
		}
		return v
	}
	multibase := func(prefix []byte, raw []byte) string {
		return "z" + base58.Encode(append(append([]byte{}, prefix...), raw...))
	}
	for _, v := range load("w3c_didkey_K256.json") {
		raw, err := hex.DecodeString(v.PrivateKeyBytesHex)
		if err != nil {
			t.Fatal(err)
		}
		for _, form := range []string{multibase([]byte{0x81, 0x26}, raw), v.PrivateKeyBytesHex} {
			checkPrivateKey(t, form, "k256", v.PublicDidKey)
		}
	}
	for _, v := range load("w3c_didkey_P256.json") {
		raw, err := base58.Decode(v.PrivateKeyBytesBase58)
		if err != nil {
			t.Fatal(err)
		}
		checkPrivateKey(t, multibase([]byte{0x86, 0x26}, raw), "p256", v.PublicDidKey)
	}
}

func checkPrivateKey(t *testing.T, s, typ, wantDIDKey string) {
	t.Helper()
	priv, err := ParsePrivateKey(s)
	if err != nil {
		t.Errorf("ParsePrivateKey for %s: %v", wantDIDKey, err)
		return
	}
	if got := KeyType(priv); got != typ {
		t.Errorf("KeyType = %q, want %q", got, typ)
	}
	pub, err := priv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if got := pub.DIDKey(); got != wantDIDKey {
		t.Errorf("did:key = %s, want %s", got, wantDIDKey)
	}
	parsed, err := ParsePublicKey(wantDIDKey)
	if err != nil || !parsed.Equal(pub) {
		t.Errorf("ParsePublicKey(%s) = %v, %v; want the private key's public half", wantDIDKey, parsed, err)
	}
}

func TestInteropTIDSyntax(t *testing.T) {
	for _, s := range syntaxLines(t, "tid_syntax_valid.txt") {
		tid, err := ParseTID(s)
		if err != nil {
			t.Errorf("ParseTID(%q) rejected a valid TID: %v", s, err)
			continue
		}
		// Time and ClockID decode every bit: encoding them again gives the TID back.
		if back := TIDFromTime(tid.Time(), tid.ClockID()); back != tid {
			t.Errorf("TIDFromTime(%q.Time(), %d) = %q", s, tid.ClockID(), back)
		}
	}
	for _, s := range syntaxLines(t, "tid_syntax_invalid.txt") {
		if _, err := ParseTID(s); !errors.Is(err, ErrInvalidTID) {
			t.Errorf("ParseTID(%q) = %v, want ErrInvalidTID", s, err)
		}
	}
}

// DID vectors go through DecodeCommit: a commit is accepted exactly when its
// did field is a valid DID.
func TestInteropDIDSyntaxInCommits(t *testing.T) {
	for _, valid := range []bool{true, false} {
		name := map[bool]string{true: "did_syntax_valid.txt", false: "did_syntax_invalid.txt"}[valid]
		for _, s := range syntaxLines(t, name) {
			c := testCommit()
			c.DID = syntax.DID(s)
			_, err := DecodeCommit(c.encode(true))
			var ce *CommitError
			switch {
			case valid && err != nil:
				t.Errorf("commit with valid DID %q rejected: %v", s, err)
			case !valid && (!errors.As(err, &ce) || ce.Field != "did"):
				t.Errorf("commit with invalid DID %q: got %v, want a did field error", s, err)
			}
		}
	}
}

func TestInteropNSIDSyntaxInRecordPaths(t *testing.T) {
	for _, s := range syntaxLines(t, "nsid_syntax_valid.txt") {
		coll, rkey, err := ParseRecordPath(s + "/self")
		if err != nil || coll.String() != s || rkey.String() != "self" {
			t.Errorf("ParseRecordPath(%q) = %q, %q, %v", s+"/self", coll, rkey, err)
		}
	}
	for _, s := range syntaxLines(t, "nsid_syntax_invalid.txt") {
		if _, _, err := ParseRecordPath(s + "/self"); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("ParseRecordPath(%q) = %v, want ErrInvalidPath", s+"/self", err)
		}
	}
}

func TestInteropRecordKeySyntaxInRecordPaths(t *testing.T) {
	const coll = "com.example.record"
	for _, s := range syntaxLines(t, "recordkey_syntax_valid.txt") {
		c, rkey, err := ParseRecordPath(coll + "/" + s)
		if err != nil || c.String() != coll || rkey.String() != s {
			t.Errorf("ParseRecordPath(%q) = %q, %q, %v", coll+"/"+s, c, rkey, err)
		}
	}
	for _, s := range syntaxLines(t, "recordkey_syntax_invalid.txt") {
		if _, _, err := ParseRecordPath(coll + "/" + s); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("ParseRecordPath(%q) = %v, want ErrInvalidPath", coll+"/"+s, err)
		}
	}
}

func TestInteropATURISyntax(t *testing.T) {
	for _, s := range syntaxLines(t, "aturi_syntax_valid.txt") {
		auth, coll, rkey, err := ParseATURI(s)
		if err != nil {
			t.Errorf("ParseATURI(%q) rejected a valid URI: %v", s, err)
			continue
		}
		back := "at://" + auth
		if coll != "" {
			back += "/" + coll
		}
		if rkey != "" {
			back += "/" + rkey
		}
		// The parts rebuild the URI: exactly for a DID authority, up to
		// case for a handle (returned lower-cased).
		if back != s && !(!strings.HasPrefix(auth, "did:") && strings.EqualFold(back, s)) {
			t.Errorf("ParseATURI(%q) parts rebuild %q", s, back)
		}
	}
	for _, s := range syntaxLines(t, "aturi_syntax_invalid.txt") {
		if _, _, _, err := ParseATURI(s); !errors.Is(err, ErrInvalidATURI) {
			t.Errorf("ParseATURI(%q) = %v, want ErrInvalidATURI", s, err)
		}
	}
}

// What checking a corpus commit's signature against its key source gives.
type sigOutcome int

const (
	sigUnchecked sigOutcome = iota // no key in the corpus: decode only
	sigValid                       // verifies
	// sigHighS: the signature is mathematically valid but high-S (written
	// before atproto required low-S); VerifySignature rejects it, a lenient
	// check through atcrypto accepts it.
	sigHighS
	// sigNotThisKey: the key does not sign the commit even leniently.
	sigNotThisKey
)

// corpusCommit describes the root commit of one corpus CAR, with what
// PROVENANCE.md says about it and where its signing key comes from.
type corpusCommit struct {
	file    string // under corpus/
	version int64
	did     string // from PROVENANCE.md; "" if not documented
	rev     string // from PROVENANCE.md; "" if not documented
	didDoc  string // DID document with the signing key, under corpus/
	plcLog  string // PLC audit log whose last operation has the signing key, under interop/
	// docForOtherDID: the key document is for another DID than the commit's.
	docForOtherDID bool
	sig            sigOutcome
	// history: number of commits in the file per PROVENANCE.md (0: not
	// checked); each must decode and round-trip, and verify (for sigValid)
	// or verify except for high-S signatures (for sigHighS).
	history int
	note    string
}

const noKey = "no DID document for this account in the corpus"

var corpusCommits = []corpusCommit{
	{file: "indigo/testing/testdata/fakermaker.repo.car", version: 2, didDoc: "indigo/testing/testdata/fakermaker.didDoc.json", sig: sigHighS, history: 143,
		note: "p256 legacy dev repo: about half of its commits carry high-S signatures, the root among them"},
	{file: "indigo/testing/testdata/paul_staging.repo.car", version: 2, didDoc: "indigo/testing/testdata/paul_staging.didDoc.json", sig: sigValid, history: 28},
	{file: "indigo/testing/testdata/bafyreieovfuizojpw3zresz7sx3nk4trm2by23pt5rxbey3jme4uo5ogiu.car", version: 2, did: "did:plc:z5vnbioquyhivxirw3bbljmu",
		didDoc: "indigo/testing/testdata/did_plc_z5vnbioquyhivxirw3bbljmu.didDoc.json", sig: sigNotThisKey,
		note: "the DID document (a local dev account) names a key that did not sign this commit, not even leniently; presumably rotated"},
	{file: "indigo/testing/testdata/divy.repo", version: 2, note: noKey},
	{file: "indigo/testing/testdata/repo_slice.car", version: 2, note: noKey},
	{file: "indigo/testing/testdata/greenground.repo.car", version: 3, rev: "3k67up3j7hf2x", didDoc: "indigo/testing/testdata/greenground.didDoc.json",
		docForOtherDID: true, sig: sigValid,
		note: "greenground.didDoc.json has id did:plc:wqgdnqlv2mwiio6pfchwtrff, not the commit's DID; indigo's own test verifies this commit with it, and so do we"},
	{file: "indigo/atproto/repo/testdata/bnewbold.robocracy.org.20250310005405.car", version: 3, did: "did:plc:nhxcyu4ewwhl5pqil4dotqjo", rev: "3ljlyqit2uk2l",
		plcLog: "plc/audit_log/valid/log_bnewbold_robocracy.json", sig: sigValid},
	{file: "rsky/rsky-repo/resources/test/valid_repo.car", version: 3, did: "did:plc:r7fdhqmw3h2cifeakw5hmvy6", rev: "3lhmydhwizp2d", note: noKey},
	{file: "arroba/arroba/tests/snarfed2.car", version: 3, did: "did:plc:5zspv27pk4iqtrl2ql2nykjh", note: noKey},
	{file: "dnproto/test/mst/msttest-01-new.car", version: 3, did: "did:plc:tyme6enconikdp7rnxkywdcg", note: noKey},
	{file: "dnproto/test/mst/msttest-02-login.car", version: 3, did: "did:plc:tyme6enconikdp7rnxkywdcg", note: noKey},
	{file: "dnproto/test/mst/msttest-03-setprofile.car", version: 3, did: "did:plc:tyme6enconikdp7rnxkywdcg", note: noKey},
	{file: "dnproto/test/mst/msttest-04-firstpost.car", version: 3, did: "did:plc:tyme6enconikdp7rnxkywdcg", note: noKey},
	{file: "dnproto/test/mst/msttest-05-firstlike.car", version: 3, did: "did:plc:tyme6enconikdp7rnxkywdcg", note: noKey},
	{file: "dnproto/test/mst/msttest-06-reply.car", version: 3, did: "did:plc:tyme6enconikdp7rnxkywdcg", note: noKey},
	{file: "dnproto/test/mst/msttest-07-handlechange.car", version: 3, did: "did:plc:tyme6enconikdp7rnxkywdcg", note: noKey},
}

// Every repo CAR of the corpus is listed above, so none is skipped silently.
func TestInteropCorpusCommitTableIsComplete(t *testing.T) {
	var found []string
	for _, pat := range []string{"*/*/*/*.car", "*/*/*/*/*.car", "*/*/*/*/*/*.car", "*/*/*/*.repo"} {
		m, err := filepath.Glob(filepath.Join(sharedDir, "corpus", pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel(filepath.Join(sharedDir, "corpus"), p)
			found = append(found, filepath.ToSlash(rel))
		}
	}
	sort.Strings(found)
	listed := map[string]bool{}
	for _, c := range corpusCommits {
		listed[c.file] = true
	}
	if len(found) == 0 {
		t.Fatal("no CAR files found in the corpus")
	}
	for _, f := range found {
		if !listed[f] {
			t.Errorf("corpus CAR %s is not in corpusCommits", f)
		}
	}
}

func corpusKey(t *testing.T, cc corpusCommit) (string, atcrypto.PublicKey) {
	t.Helper()
	switch {
	case cc.didDoc != "":
		did, key, err := docSigningKey(testfixtures.Read(t, "corpus", cc.didDoc))
		if err != nil {
			t.Fatalf("%s: %v", cc.didDoc, err)
		}
		return did, key
	case cc.plcLog != "":
		var log []struct {
			DID       string `json:"did"`
			Operation struct {
				VerificationMethods map[string]string `json:"verificationMethods"`
			} `json:"operation"`
		}
		if err := json.Unmarshal(testfixtures.Read(t, "interop", cc.plcLog), &log); err != nil {
			t.Fatal(err)
		}
		if len(log) == 0 {
			t.Fatalf("%s: empty log", cc.plcLog)
		}
		last := log[len(log)-1]
		key, err := ParsePublicKey(last.Operation.VerificationMethods["atproto"])
		if err != nil {
			t.Fatalf("%s: %v", cc.plcLog, err)
		}
		return last.DID, key
	}
	return "", nil
}

// checkCorpusSignature checks one commit against the expected outcome.
func checkCorpusSignature(t *testing.T, c *Commit, key atcrypto.PublicKey, want sigOutcome, where string) (highS bool) {
	t.Helper()
	err := c.VerifySignature(key)
	lenient := key.HashAndVerifyLenient(c.UnsignedBytes(), c.Sig)
	switch {
	case err == nil && want != sigNotThisKey:
		return false
	case errors.Is(err, ErrBadSignature) && want == sigHighS && lenient == nil:
		return true
	case errors.Is(err, ErrBadSignature) && want == sigNotThisKey && lenient != nil:
		return false
	}
	t.Errorf("%s: VerifySignature = %v (lenient check: %v), want outcome %d", where, err, lenient, want)
	return false
}

// The root commit of every corpus CAR decodes, re-encodes to the very same
// bytes and CID, and is checked against its account's signing key where the
// corpus has one.
func TestInteropCorpusCommits(t *testing.T) {
	for _, cc := range corpusCommits {
		t.Run(filepath.Base(cc.file), func(t *testing.T) {
			roots, order, blocks := testfixtures.CARBlocks(t, testfixtures.Read(t, "corpus", cc.file))
			if len(roots) == 0 {
				t.Fatal("no roots")
			}
			raw, ok := blocks[roots[0]]
			if !ok {
				t.Fatalf("root %s not in file", roots[0])
			}
			c, err := DecodeCommit(raw)
			if err != nil {
				t.Fatalf("DecodeCommit: %v", err)
			}
			if c.Version != cc.version {
				t.Errorf("version = %d, want %d", c.Version, cc.version)
			}
			if cc.did != "" && c.DID.String() != cc.did {
				t.Errorf("did = %s, want %s", c.DID, cc.did)
			}
			if cc.rev != "" && c.Rev.String() != cc.rev {
				t.Errorf("rev = %s, want %s", c.Rev, cc.rev)
			}
			checkRoundTrip(t, c, raw, roots[0].String())

			did, key := corpusKey(t, cc)
			if key == nil {
				if cc.sig != sigUnchecked || cc.note == "" {
					t.Fatal("no key source, yet a signature outcome is expected or no reason given")
				}
				t.Logf("signature not checked: %s", cc.note)
				return
			}
			if (did != c.DID.String()) != cc.docForOtherDID {
				t.Fatalf("key document is for %s, commit is by %s", did, c.DID)
			}
			checkCorpusSignature(t, c, key, cc.sig, "root commit")
			// A different key of the same curve must not verify it.
			if err := c.VerifySignature(otherKey(t, KeyType(key))); !errors.Is(err, ErrBadSignature) {
				t.Errorf("VerifySignature with another key = %v, want ErrBadSignature", err)
			}

			if cc.history == 0 {
				return
			}
			// Every commit block decodes, round-trips and verifies (but for
			// high-S signatures); there are as many as PROVENANCE.md counts.
			n, highS := 0, 0
			for _, id := range order {
				b := blocks[id]
				if _, err := DecodeCommit(b); err != nil && !hasKey(b, "sig") {
					continue // MST nodes and records
				}
				hc, err := DecodeCommit(b)
				if err != nil {
					t.Errorf("commit block %s: %v", id, err)
					continue
				}
				n++
				checkRoundTrip(t, hc, b, id.String())
				if checkCorpusSignature(t, hc, key, cc.sig, "commit "+id.String()) {
					highS++
				}
			}
			if n != cc.history {
				t.Errorf("%d commits decoded, PROVENANCE.md counts %d", n, cc.history)
			}
			if cc.sig == sigHighS && (highS == 0 || highS == n) {
				t.Errorf("%d of %d commits high-S; expected a random mix", highS, n)
			}
			t.Logf("%d commits, %d with high-S signatures", n, highS)
		})
	}
}

// hasKey reports whether b is a DAG-CBOR map with the given top-level key.
func hasKey(b []byte, key string) bool {
	r := dagcbor.NewReader(b)
	n, err := r.ReadMapHeader()
	if err != nil {
		return false
	}
	var prev []byte
	for i := 0; i < n; i++ {
		k, err := r.ReadMapKey(prev)
		if err != nil {
			return false
		}
		if string(k) == key {
			return true
		}
		prev = k
		if err := r.Skip(); err != nil {
			return false
		}
	}
	return false
}

func checkRoundTrip(t *testing.T, c *Commit, raw []byte, wantCID string) {
	t.Helper()
	b, err := c.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	if string(b) != string(raw) {
		t.Errorf("re-encoded commit differs from original\n got %x\nwant %x", b, raw)
	}
	id, err := c.CID()
	if err != nil || id.String() != wantCID {
		t.Errorf("CID = %s, %v; want %s", id, err, wantCID)
	}
}

// otherKey is the public key of a fresh key of type typ ("p256" or "k256").
func otherKey(t testing.TB, typ string) atcrypto.PublicKey {
	t.Helper()
	return testfixtures.PublicKey(t, testfixtures.NewKey(t, typ == "p256"))
}
