package serviceauth

// Cross-check against an independent implementation: indigo's atproto/auth
// (golang-jwt with atcrypto signing methods) verifies the tokens Create
// writes, and Verify accepts the tokens indigo signs.

import (
	"context"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	indigoauth "github.com/bluesky-social/indigo/atproto/auth"
	indigoid "github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

func TestTokensInteroperateWithIndigo(t *testing.T) {
	k256, p256 := keys(t)
	for _, key := range []atcrypto.PrivateKey{k256, p256} {
		dir := indigoid.NewMockDirectory()
		dir.Insert(indigoid.Identity{
			DID:    alice,
			Handle: "alice.test",
			Keys:   map[string]indigoid.VerificationMethod{"atproto": {Type: "Multikey", PublicKeyMultibase: testfixtures.PublicKey(t, key).Multibase()}},
		})
		validator := indigoauth.ServiceAuthValidator{Audience: newPDS, Dir: dir}
		lxm := syntax.NSID(methodC)

		ours := create(t, Params{Iss: alice, Aud: newPDS, Lxm: methodC}, key)
		if got, err := validator.Validate(context.Background(), ours, &lxm); err != nil || got != alice {
			t.Fatalf("%T: indigo refuses our token: %v", key, err)
		}
		other := syntax.NSID("com.atproto.repo.createRecord")
		if _, err := validator.Validate(context.Background(), ours, &other); err == nil {
			t.Fatalf("%T: indigo accepts our token for another method", key)
		}

		theirs, err := indigoauth.SignServiceAuth(alice, newPDS, time.Minute, &lxm, key)
		if err != nil {
			t.Fatal(err)
		}
		claims, err := Verify(context.Background(), theirs, VerifyOptions{Audiences: []string{newPDS}, Lxm: methodC, Keys: &keysOf{did: alice, cached: testfixtures.PublicKey(t, key)}})
		if err != nil || claims.Iss != alice {
			t.Fatalf("%T: we refuse indigo's token: %v", key, err)
		}
	}
}
