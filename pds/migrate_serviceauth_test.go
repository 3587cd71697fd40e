package pds

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/serviceauth"
)

// documentKeys looks keys up in the DID documents a server's embedded
// directory serves over HTTP, as another service would.
func documentKeys(ts *testServer) serviceauth.KeyResolver {
	return serviceauth.KeyResolverFunc(func(ctx context.Context, did syntax.DID, keyID string, fresh bool) (atcrypto.PublicKey, error) {
		r := ts.do(http.MethodGet, "/"+did.String(), "", nil, nil)
		if r.status != http.StatusOK {
			return nil, errors.New(r.String())
		}
		return serviceauth.KeyFromDocument(r.body, did, keyID)
	})
}

func TestGetServiceAuthSignsWithTheAccountKeyWithinTheReferenceLimits(t *testing.T) {
	ts, alice := startWithAlice(t)
	now := ts.srv.now()
	exp := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	const aud, lxm = "did:web:new.test", "com.atproto.server.createAccount"
	cases := []struct {
		name   string
		token  string
		params []string
		status int
		err    string
	}{
		{"method token for an hour", alice.access, []string{"aud", aud, "lxm", lxm, "exp", exp(time.Hour)}, 200, ""},
		{"default expiry", alice.access, []string{"aud", aud, "lxm", lxm}, 200, ""},
		{"method-less token for a minute", alice.access, []string{"aud", aud, "exp", exp(time.Minute)}, 200, ""},
		{"more than an hour", alice.access, []string{"aud", aud, "lxm", lxm, "exp", exp(time.Hour + time.Minute)}, 400, "BadExpiration"},
		{"method-less for more than a minute", alice.access, []string{"aud", aud, "exp", exp(2 * time.Minute)}, 400, "BadExpiration"},
		{"expiry in the past", alice.access, []string{"aud", aud, "lxm", lxm, "exp", exp(-time.Minute)}, 400, "BadExpiration"},
		{"protected method", alice.access, []string{"aud", aud, "lxm", "com.atproto.identity.signPlcOperation"}, 400, "InvalidRequest"},
		{"audience not a DID", alice.access, []string{"aud", "new.test"}, 400, "InvalidRequest"},
		{"no audience", alice.access, nil, 400, "InvalidRequest"},
		{"exp not a number", alice.access, []string{"aud", aud, "exp", "soon"}, 400, "InvalidRequest"},
		{"no session", "", []string{"aud", aud}, 401, "AuthenticationRequired"},
		{"refresh token", alice.refresh, []string{"aud", aud}, 401, "InvalidToken"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ts.query("com.atproto.server.getServiceAuth", c.token, c.params...)
			if r.status != c.status || r.errName() != c.err {
				t.Fatalf("got %s, want %d %s", r, c.status, c.err)
			}
			if c.status != 200 {
				return
			}
			tok, _ := r.json(t)["token"].(string)
			claims, err := serviceauth.Verify(context.Background(), tok, serviceauth.VerifyOptions{Audiences: []string{aud}, Now: now, Keys: documentKeys(ts)})
			if err != nil {
				t.Fatalf("token does not verify against the DID document: %v", err)
			}
			if claims.Iss != alice.did {
				t.Fatalf("iss %s", claims.Iss)
			}
		})
	}
}

func TestGetServiceAuthWorksForADeactivatedAccount(t *testing.T) {
	ts, alice := startWithAlice(t)
	ts.ok(ts.proc("com.atproto.server.deactivateAccount", alice.access, map[string]any{}))
	ts.ok(ts.query("com.atproto.server.getServiceAuth", alice.access, "aud", "did:web:new.test", "lxm", "com.atproto.server.createAccount"))
}
