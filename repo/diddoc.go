package repo

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/mr-tron/base58"
)

// Verification method types that can carry an atproto signing key.
const (
	// MethodMultikey: publicKeyMultibase is a multicodec key (the current form).
	MethodMultikey = "Multikey"
	// MethodK256Legacy: publicKeyMultibase is a bare secp256k1 point.
	MethodK256Legacy = "EcdsaSecp256k1VerificationKey2019"
	// MethodP256Legacy: publicKeyMultibase is a bare P-256 point.
	MethodP256Legacy = "EcdsaSecp256r1VerificationKey2019"
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
// Errors wrap ErrInvalidDIDDocument (bad JSON or id), ErrNoSigningKey (no
// #atproto method, or more than one) or ErrInvalidKey (a key that does not
// parse or an unknown method type).
func SigningKeyFromDIDDocument(doc []byte) (did string, key atcrypto.PublicKey, err error) {
	var d didDocument
	if err := json.Unmarshal(doc, &d); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrInvalidDIDDocument, err)
	}
	if _, err := syntax.ParseDID(d.ID); err != nil {
		return "", nil, fmt.Errorf("%w: id %s is not a valid DID (want did:METHOD:ID)", ErrInvalidDIDDocument, Quote(d.ID))
	}
	found := -1
	for i, vm := range d.VerificationMethod {
		if vm.ID != "#atproto" && vm.ID != d.ID+"#atproto" {
			continue
		}
		if found >= 0 {
			return d.ID, nil, fmt.Errorf("%w: DID document for %s has more than one #atproto verification method", ErrNoSigningKey, d.ID)
		}
		found = i
	}
	if found < 0 {
		return d.ID, nil, fmt.Errorf("%w: DID document for %s", ErrNoSigningKey, d.ID)
	}
	vm := d.VerificationMethod[found]
	key, err = parseVerificationKey(vm.Type, vm.PublicKeyMultibase)
	if err != nil {
		return d.ID, nil, fmt.Errorf("%w: #atproto key of %s (%s): %v", ErrInvalidKey, d.ID, Quote(vm.Type), err)
	}
	return d.ID, key, nil
}

func parseVerificationKey(typ, mb string) (atcrypto.PublicKey, error) {
	if typ == MethodMultikey {
		return atcrypto.ParsePublicMultibase(mb)
	}
	if typ != MethodK256Legacy && typ != MethodP256Legacy {
		return nil, fmt.Errorf("unsupported verification method type")
	}
	if !strings.HasPrefix(mb, "z") || len(mb) < 2 {
		return nil, fmt.Errorf("publicKeyMultibase is not base58btc multibase")
	}
	b, err := base58.Decode(mb[1:])
	if err != nil {
		return nil, fmt.Errorf("publicKeyMultibase: %v", err)
	}
	compressed := len(b) == 33
	switch {
	case typ == MethodK256Legacy && compressed:
		return atcrypto.ParsePublicBytesK256(b)
	case typ == MethodK256Legacy:
		return atcrypto.ParsePublicUncompressedBytesK256(b)
	case compressed:
		return atcrypto.ParsePublicBytesP256(b)
	default:
		return atcrypto.ParsePublicUncompressedBytesP256(b)
	}
}
