package identity

import (
	"encoding/json"
	"fmt"

	"github.com/arbor-atproto/arbor/repo"
	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

type didDocument struct {
	ID                 string `json:"id"`
	VerificationMethod []struct {
		ID                 string `json:"id"`
		Type               string `json:"type"`
		PublicKeyMultibase string `json:"publicKeyMultibase"`
	} `json:"verificationMethod"`
}

// SigningKeyFromDIDDocument returns the DID a DID document describes and its
// repository signing key: the verification method whose id is "#atproto" or
// "<did>#atproto". The key may be a Multikey (multicodec publicKeyMultibase)
// or use the legacy EcdsaSecp256k1VerificationKey2019 /
// EcdsaSecp256r1VerificationKey2019 types, whose publicKeyMultibase is the
// bare curve point, compressed or uncompressed, in base58btc.
//
// Errors wrap ErrInvalidDocument (bad JSON or id), ErrNoSigningKey (no
// #atproto method, or more than one) or repo.ErrInvalidKey (a key that does not
// parse or an unknown method type).
func SigningKeyFromDIDDocument(doc []byte) (did syntax.DID, key atcrypto.PublicKey, err error) {
	return KeyFromDIDDocument(doc, "atproto")
}

// KeyFromDIDDocument is SigningKeyFromDIDDocument for the verification
// method "#"+fragment ("atproto", "atproto_label"), with the same errors
// (ErrNoSigningKey names the fragment).
func KeyFromDIDDocument(doc []byte, fragment string) (did syntax.DID, key atcrypto.PublicKey, err error) {
	var d didDocument
	if err := json.Unmarshal(doc, &d); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrInvalidDocument, err)
	}
	id, err := syntax.ParseDID(d.ID)
	if err != nil {
		return "", nil, fmt.Errorf("%w: id %s is not a valid DID (want did:METHOD:ID)", ErrInvalidDocument, repo.Quote(d.ID))
	}
	found := -1
	for i, vm := range d.VerificationMethod {
		if vm.ID != "#"+fragment && vm.ID != d.ID+"#"+fragment {
			continue
		}
		if found >= 0 {
			return id, nil, fmt.Errorf("%w: DID document for %s has more than one #%s verification method", ErrNoSigningKey, d.ID, fragment)
		}
		found = i
	}
	if found < 0 {
		if fragment != "atproto" {
			return id, nil, fmt.Errorf("%w: DID document for %s has no #%s", ErrNoSigningKey, d.ID, fragment)
		}
		return id, nil, fmt.Errorf("%w: DID document for %s", ErrNoSigningKey, d.ID)
	}
	vm := d.VerificationMethod[found]
	key, err = repo.ParseVerificationKey(vm.Type, vm.PublicKeyMultibase)
	if err != nil {
		return id, nil, fmt.Errorf("%w: #%s key of %s (%s): %v", repo.ErrInvalidKey, fragment, d.ID, repo.Quote(vm.Type), err)
	}
	return id, key, nil
}
