package repo

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// sharedDir is where the interop vectors and corpus live: testdata/ at the
// repository root (copies of ../shared).
var sharedDir = testfixtures.MustDir()

// syntaxLines returns the values of an interop syntax file: one per line,
// '#' comments and blank lines skipped, only the line terminator removed.
func syntaxLines(tb testing.TB, name string) []string {
	tb.Helper()
	var out []string
	for _, l := range strings.Split(string(testfixtures.Read(tb, "interop", "syntax", name)), "\n") {
		l = strings.TrimSuffix(l, "\r")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no values", name)
	}
	return out
}

// docSigningKey finds the #atproto verification method of a DID document and
// parses its key with ParseVerificationKey: enough of a document for the
// tests here (identity.SigningKeyFromDIDDocument is the real reader, and
// identity's tests pin it).
func docSigningKey(raw []byte) (string, atcrypto.PublicKey, error) {
	var doc struct {
		ID                 string `json:"id"`
		VerificationMethod []struct {
			ID                 string `json:"id"`
			Type               string `json:"type"`
			PublicKeyMultibase string `json:"publicKeyMultibase"`
		} `json:"verificationMethod"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", nil, err
	}
	for _, vm := range doc.VerificationMethod {
		if strings.HasSuffix(vm.ID, "#atproto") {
			k, err := ParseVerificationKey(vm.Type, vm.PublicKeyMultibase)
			return doc.ID, k, err
		}
	}
	return doc.ID, nil, fmt.Errorf("%s: no #atproto verification method", doc.ID)
}
