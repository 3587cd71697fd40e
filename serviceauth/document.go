package serviceauth

import (
	"encoding/json"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/repo"
)

// KeyFromDocument returns the verification method keyID ("atproto",
// "atproto_label") of a DID document describing did. Errors wrap
// ErrIssuerKey.
func KeyFromDocument(raw []byte, did syntax.DID, keyID string) (atcrypto.PublicKey, error) {
	var doc struct {
		ID                 string `json:"id"`
		VerificationMethod []struct {
			ID                 string `json:"id"`
			Type               string `json:"type"`
			PublicKeyMultibase string `json:"publicKeyMultibase"`
		} `json:"verificationMethod"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%w: DID document of %s: %v", ErrIssuerKey, did, err)
	}
	if doc.ID != did.String() {
		return nil, fmt.Errorf("%w: DID document of %s has id %q", ErrIssuerKey, did, doc.ID)
	}
	for _, vm := range doc.VerificationMethod {
		if vm.ID != "#"+keyID && vm.ID != did.String()+"#"+keyID {
			continue
		}
		key, err := repo.ParseVerificationKey(vm.Type, vm.PublicKeyMultibase)
		if err != nil {
			return nil, fmt.Errorf("%w: #%s key of %s: %v", ErrIssuerKey, keyID, did, err)
		}
		return key, nil
	}
	return nil, fmt.Errorf("%w: DID document of %s has no #%s key", ErrIssuerKey, did, keyID)
}
