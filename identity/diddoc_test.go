package identity_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/repo"
)

func TestSigningKeyFromDIDDocumentRejects(t *testing.T) {
	const k = "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"
	tests := []struct {
		name string
		doc  string
		want error
	}{
		{"not JSON", `{`, identity.ErrInvalidDocument},
		{"not an object", `[]`, identity.ErrInvalidDocument},
		{"no id", `{"verificationMethod":[]}`, identity.ErrInvalidDocument},
		{"id not a DID", `{"id":"alice"}`, identity.ErrInvalidDocument},
		{"no methods", `{"id":"did:plc:abc"}`, identity.ErrNoSigningKey},
		{"other method only", `{"id":"did:plc:abc","verificationMethod":[{"id":"#other","type":"Multikey","publicKeyMultibase":"` + k + `"}]}`, identity.ErrNoSigningKey},
		{"atproto of another DID", `{"id":"did:plc:abc","verificationMethod":[{"id":"did:plc:xyz#atproto","type":"Multikey","publicKeyMultibase":"` + k + `"}]}`, identity.ErrNoSigningKey},
		{"two atproto methods", `{"id":"did:plc:abc","verificationMethod":[{"id":"#atproto","type":"Multikey","publicKeyMultibase":"` + k + `"},{"id":"did:plc:abc#atproto","type":"Multikey","publicKeyMultibase":"` + k + `"}]}`, identity.ErrNoSigningKey},
		{"unknown type", `{"id":"did:plc:abc","verificationMethod":[{"id":"#atproto","type":"JsonWebKey2020","publicKeyMultibase":"` + k + `"}]}`, repo.ErrInvalidKey},
		{"bad multibase", `{"id":"did:plc:abc","verificationMethod":[{"id":"#atproto","type":"Multikey","publicKeyMultibase":"zzz"}]}`, repo.ErrInvalidKey},
		{"legacy not base58", `{"id":"did:plc:abc","verificationMethod":[{"id":"#atproto","type":"EcdsaSecp256k1VerificationKey2019","publicKeyMultibase":"z0OIl"}]}`, repo.ErrInvalidKey},
		{"legacy wrong length", `{"id":"did:plc:abc","verificationMethod":[{"id":"#atproto","type":"EcdsaSecp256r1VerificationKey2019","publicKeyMultibase":"z2"}]}`, repo.ErrInvalidKey},
		{"legacy no prefix", `{"id":"did:plc:abc","verificationMethod":[{"id":"#atproto","type":"EcdsaSecp256k1VerificationKey2019","publicKeyMultibase":"abc"}]}`, repo.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := identity.SigningKeyFromDIDDocument([]byte(tt.doc)); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSigningKeyFromDIDDocumentAcceptsFullMethodID(t *testing.T) {
	const k = "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"
	did, key, err := identity.SigningKeyFromDIDDocument([]byte(`{"id":"did:plc:abc","verificationMethod":[{"id":"#other","type":"Multikey","publicKeyMultibase":"zDnaeTiq1PdzvZXUaMdezchcMJQpBdH2VN4pgrrEhMCCbmwSb"},{"id":"did:plc:abc#atproto","type":"Multikey","publicKeyMultibase":"` + k + `"}]}`))
	if err != nil || did != "did:plc:abc" || key.Multibase() != k {
		t.Errorf("got %s, %v, %v", did, key, err)
	}
}

// The same account's DID document in the current Multikey form and in the
// legacy EcdsaSecp256k1VerificationKey2019 form gives the same key.
func TestInteropLegacyAndMultikeyDocumentsAgree(t *testing.T) {
	dir := []string{"corpus", "indigo", "atproto", "identity", "testdata"}
	did1, k1, err1 := identity.SigningKeyFromDIDDocument(testfixtures.Read(t, append(dir, "did_plc_doc.json")...))
	did2, k2, err2 := identity.SigningKeyFromDIDDocument(testfixtures.Read(t, append(dir, "did_plc_doc_legacy.json")...))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if did1 != did2 || !k1.Equal(k2) {
		t.Errorf("Multikey document: %s %s; legacy document: %s %s", did1, k1.DIDKey(), did2, k2.DIDKey())
	}
}

// DID documents from indigo's identity tests: current Multikey and legacy forms.
func TestInteropSigningKeyFromIdentityDocuments(t *testing.T) {
	for _, name := range []string{"did_plc_doc.json", "did_plc_doc_legacy.json", "did_web_doc.json"} {
		t.Run(name, func(t *testing.T) {
			hasAtproto := name != "did_web_doc.json" // a service DID: no #atproto key
			raw := testfixtures.Read(t, "corpus", "indigo", "atproto", "identity", "testdata", name)
			var doc struct {
				ID                 string `json:"id"`
				VerificationMethod []struct {
					ID, Type, PublicKeyMultibase string
				} `json:"verificationMethod"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			did, key, err := identity.SigningKeyFromDIDDocument(raw)
			if !hasAtproto {
				if !errors.Is(err, identity.ErrNoSigningKey) || did.String() != doc.ID {
					t.Errorf("SigningKeyFromDIDDocument = %q, %v; want %s and ErrNoSigningKey", did, err, doc.ID)
				}
				return
			}
			if err != nil {
				t.Fatalf("SigningKeyFromDIDDocument: %v", err)
			}
			if did.String() != doc.ID {
				t.Errorf("did = %s, want %s", did, doc.ID)
			}
			for _, vm := range doc.VerificationMethod {
				if vm.Type == repo.MethodMultikey && strings.HasSuffix(vm.ID, "#atproto") {
					if key.Multibase() != vm.PublicKeyMultibase {
						t.Errorf("key %s, want %s", key.Multibase(), vm.PublicKeyMultibase)
					}
				}
			}
		})
	}
}
