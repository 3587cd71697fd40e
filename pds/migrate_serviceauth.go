package pds

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/serviceauth"
)

// Service auth on this server (see package serviceauth for the tokens):
//
//   - com.atproto.server.getServiceAuth signs a token with the account's
//     own signing key for (aud, lxm, exp), after the reference PDS's
//     checks (serviceauth.CheckRequest; privileged methods need a full
//     session, not an app-password one). A deactivated account may ask
//     (it is how a migrated account's old PDS hands out the token for the
//     new one).
//   - verifyServiceAuth checks a bearer service-auth token addressed to
//     this server (aud its service DID) for one method, looking the
//     issuer's key up in the directory the server uses.

// serviceAuthToken signs a service-auth token for a's DID with a's key.
// Other handlers (the AppView proxy) use it too.
func (s *Server) serviceAuthToken(a *Account, aud, lxm string, exp time.Time) (string, error) {
	key, err := atcrypto.ParsePrivateMultibase(a.SigningKey)
	if err != nil {
		return "", wrapStore("signing key of "+a.DID, err)
	}
	return serviceauth.Create(serviceauth.Params{Iss: a.DID, Aud: aud, Lxm: lxm, Now: s.now(), Exp: exp}, key)
}

func (s *Server) getServiceAuth(w http.ResponseWriter, r *http.Request) (any, error) {
	sess, err := s.authRequest(r)
	if err != nil {
		return nil, err
	}
	a := sess.Account
	q := r.URL.Query()
	req := serviceauth.Request{Aud: q.Get("aud"), Lxm: q.Get("lxm")}
	if req.Aud == "" {
		return nil, invalidRequest("parameter aud is required")
	}
	if e := q.Get("exp"); e != "" {
		sec, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			return nil, invalidRequest("exp must be an integer (seconds since the epoch), got %q", e)
		}
		req.Exp = time.Unix(sec, 0)
	}
	if req.Lxm != "" && serviceauth.IsPrivileged(req.Lxm) && sess.Kind == SessionAppPassword {
		return nil, invalidRequest("insufficient access to request a service auth token for the following method: %s", req.Lxm)
	}
	if err := serviceauth.CheckRequest(req, s.now()); err != nil {
		return nil, serviceAuthXRPC(err, http.StatusBadRequest)
	}
	tok, err := s.serviceAuthToken(a, req.Aud, req.Lxm, req.Exp)
	if err != nil {
		return nil, err
	}
	return map[string]string{"token": tok}, nil
}

// serviceAuthXRPC answers a serviceauth error with its reference name.
func serviceAuthXRPC(err error, status int) error {
	var se *serviceauth.Error
	if errors.As(err, &se) {
		return xerr(status, se.Name, "%s", se.Message)
	}
	return err
}

// verifyServiceAuth checks the request's bearer as a service-auth token
// for this server and method lxm, and returns its issuer's DID.
func (s *Server) verifyServiceAuth(r *http.Request, lxm string) (syntax.DID, error) {
	tok, err := bearer(r)
	if err != nil {
		return "", err
	}
	c, err := serviceauth.Verify(r.Context(), tok, serviceauth.VerifyOptions{
		Audiences: []string{s.serviceDID, s.serviceDID + "#atproto_pds"},
		Lxm:       lxm,
		Now:       s.now(),
		Keys:      serviceauth.KeyResolverFunc(s.issuerKey),
	})
	if err != nil {
		return "", serviceAuthXRPC(err, http.StatusUnauthorized)
	}
	did, _, err := serviceauth.ParseIssuer(c.Iss)
	return did, err
}

// issuerKey looks a did:plc issuer's key up in the server's directory
// (which has no cache, so fresh changes nothing).
func (s *Server) issuerKey(ctx context.Context, did syntax.DID, keyID string, fresh bool) (atcrypto.PublicKey, error) {
	raw, err := s.didDocument(ctx, did.String())
	if err != nil {
		return nil, err
	}
	return serviceauth.KeyFromDocument(raw, did, keyID)
}
