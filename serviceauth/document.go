package serviceauth

import (
	"fmt"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/identity"
)

// KeyFromDocument returns the verification method keyID ("atproto",
// "atproto_label") of a DID document describing did (read by
// identity.KeyFromDIDDocument). Errors wrap ErrIssuerKey.
func KeyFromDocument(raw []byte, did syntax.DID, keyID string) (atcrypto.PublicKey, error) {
	id, key, err := identity.KeyFromDIDDocument(raw, keyID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIssuerKey, err)
	}
	if id != did {
		return nil, fmt.Errorf("%w: the DID document of %s has id %s", ErrIssuerKey, did, id)
	}
	return key, nil
}
