package plc

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// signedOp builds and signs a plc_operation with n rotation keys, signer's
// first, on top of prev ("" for a genesis), and returns it as parsed back
// from its JSON (the form a log file holds).
func signedOp(t *testing.T, signer atcrypto.PrivateKey, n int, prev string) *Operation {
	t.Helper()
	keys := []string{dk(t, signer)}
	for len(keys) < n {
		keys = append(keys, dk(t, mustKey(t, len(keys)%2 == 0)))
	}
	op := &Operation{Type: TypeOperation, RotationKeys: keys[:n], Prev: prev,
		VerificationMethods: []VerificationMethod{{ID: "atproto", Key: dk(t, signer)}},
		AlsoKnownAs:         []string{"at://alice.test"},
		Services:            []Service{{ID: "atproto_pds", Type: "AtprotoPersonalDataServer", Endpoint: "https://pds.test"}}}
	if err := Sign(op, signer); err != nil {
		t.Fatal(err)
	}
	back, err := ParseOperation(op.AppendJSON(nil))
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestValidateLogHoldsEveryOperationToFiveRotationKeys(t *testing.T) {
	signer := mustKey(t, false)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		genesisN   int
		updateN    int // 0: no update
		wantIndex  int // -1: valid
		wantDetail string
	}{
		{"genesis with five rotation keys", 5, 0, -1, ""},
		{"genesis with six rotation keys", 6, 0, 0, "6 keys; the did:plc spec allows at most 5"},
		{"update to five rotation keys", 1, 5, -1, ""},
		{"update to six rotation keys", 1, 6, 1, "6 keys; the did:plc spec allows at most 5"},
		{"update to no rotation keys (the DID is frozen)", 1, -1, -1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := signedOp(t, signer, tc.genesisN, "")
			did, err := DIDFromGenesis(g)
			if err != nil {
				t.Fatal(err)
			}
			entries := []LogEntry{{DID: did.String(), Operation: g, CID: g.CID().String(), CreatedAt: t0, HasMeta: true}}
			if tc.updateN != 0 {
				n := max(tc.updateN, 0)
				u := signedOp(t, signer, max(n, 1), g.CID().String())
				if n == 0 {
					u.RotationKeys = nil
					u.Sig = ""
					if err := Sign(u, signer); err != nil {
						t.Fatal(err)
					}
				}
				entries = append(entries, LogEntry{DID: did.String(), Operation: u, CID: u.CID().String(), CreatedAt: t0.Add(time.Minute), HasMeta: true})
			}
			_, err = ValidateLog(syntax.DID(did), entries)
			if tc.wantIndex < 0 {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			var oe *OpError
			if !errors.Is(err, ErrLimit) || !errors.As(err, &oe) || oe.Index != tc.wantIndex || !strings.Contains(err.Error(), tc.wantDetail) {
				t.Fatalf("error %v, want ErrLimit at operation %d saying %q", err, tc.wantIndex, tc.wantDetail)
			}
		})
	}
}
