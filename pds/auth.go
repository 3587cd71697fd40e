package pds

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
)

// Token scopes, as the reference PDS writes them.
const (
	scopeAccess  = "com.atproto.access"
	scopeRefresh = "com.atproto.refresh"
)

// maxClockSkew is how far in the future a token's iat may be.
const maxClockSkew = 5 * time.Minute

type tokenClaims struct {
	Scope string `json:"scope"`
	jwt.RegisteredClaims
}

func errAuthRequired() error {
	return xerr(http.StatusUnauthorized, "AuthenticationRequired", "Authentication Required")
}

func errInvalidToken(format string, args ...any) error {
	return xerr(http.StatusUnauthorized, "InvalidToken", format, args...)
}

// issueToken signs a token for did with the given scope and lifetime and
// id ("": a new one); it returns the token and its id.
func (s *Server) issueToken(did, scope string, ttl time.Duration, id string) (string, string, error) {
	if id == "" {
		idb, err := randomBytes(16)
		if err != nil {
			return "", "", err
		}
		id = hex.EncodeToString(idb)
	}
	now := s.now()
	claims := tokenClaims{Scope: scope, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   did,
		Audience:  jwt.ClaimStrings{s.serviceDID},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		ID:        id,
	}}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	if scope == scopeRefresh {
		t.Header["typ"] = "refresh+jwt"
	} else {
		t.Header["typ"] = "at+jwt"
	}
	signed, err := t.SignedString(s.secret)
	return signed, id, err
}

// sessionTokens is what createAccount, createSession and refreshSession
// return; next is the refresh token as stored.
type sessionTokens struct {
	Access, Refresh string
	next            RefreshToken
}

// bearer returns the request's bearer token.
func bearer(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", errAuthRequired()
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", errInvalidToken("Authorization header is not a bearer token")
	}
	return strings.TrimSpace(tok), nil
}

// requestToken checks the request's bearer token for one of scopes (see
// checkToken) and returns its claims.
func (s *Server) requestToken(r *http.Request, scopes ...string) (*tokenClaims, error) {
	tok, err := bearer(r)
	if err != nil {
		return nil, err
	}
	return s.checkToken(tok, scopes...)
}

// checkToken verifies a token's signature, algorithm, audience, expiry and
// scope (one of scopes) and returns its claims.
func (s *Server) checkToken(tok string, scopes ...string) (*tokenClaims, error) {
	var claims tokenClaims
	_, err := jwt.ParseWithClaims(tok, &claims, func(t *jwt.Token) (any, error) { return s.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(s.serviceDID),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, xerr(http.StatusBadRequest, "ExpiredToken", "Token has expired")
		}
		return nil, errInvalidToken("Token could not be verified: %v", err)
	}
	// A token from the future was not issued by this server's clock: the
	// expiry it carries would outlive the lifetime tokens are given.
	if claims.IssuedAt != nil && claims.IssuedAt.Time.After(s.now().Add(maxClockSkew)) {
		return nil, errInvalidToken("Token issued in the future (iat %s)", claims.IssuedAt.Time.UTC().Format(time.RFC3339))
	}
	if !slices.Contains(scopes, claims.Scope) {
		return nil, errInvalidToken("Bad token scope %q, expected %s", claims.Scope, strings.Join(scopes, " or "))
	}
	if claims.Subject == "" {
		return nil, errInvalidToken("token has no subject")
	}
	return &claims, nil
}

// authAccess checks the request's access token and returns its account,
// which must be active (a deactivated account may not write).
func (s *Server) authAccess(r *http.Request) (*Account, error) {
	a, err := s.authSession(r)
	if err != nil {
		return nil, err
	}
	if !a.Active {
		return nil, errAccountDeactivated()
	}
	return a, nil
}

// authSession checks the request's access token and returns its account,
// active or not (getSession, activateAccount).
func (s *Server) authSession(r *http.Request) (*Account, error) {
	sess, err := s.authRequest(r)
	if err != nil {
		return nil, err
	}
	return sess.Account, nil
}

// authAdmin checks HTTP basic auth as admin.
func (s *Server) authAdmin(r *http.Request) error {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return errAuthRequired()
	}
	if user != "admin" || subtle.ConstantTimeCompare([]byte(pass), []byte(s.adminPass)) != 1 {
		return xerr(http.StatusUnauthorized, "AuthenticationRequired", "Invalid admin credentials")
	}
	return nil
}

// adminBody checks admin auth (authAdmin), then reads the request's JSON
// body into in: how every admin method that takes input starts.
func (s *Server) adminBody(w http.ResponseWriter, r *http.Request, in any) error {
	if err := s.authAdmin(r); err != nil {
		return err
	}
	return decodeJSONBody(w, r, s.cfg.MaxJSONBody, in)
}

func hashPassword(pw string) ([]byte, error) {
	if len(pw) > 72 {
		return nil, invalidRequest("password longer than 72 bytes")
	}
	return bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
}

// bcryptCost is bcrypt's default cost; a throwaway server needs no more.
const bcryptCost = bcrypt.DefaultCost

func checkPassword(hash []byte, pw string) bool {
	return bcrypt.CompareHashAndPassword(hash, []byte(pw)) == nil
}

// ownRepo checks that the repo named in a write request is the
// authenticated account's.
func ownRepo(a *Account, repoParam string) error {
	if repoParam == "" {
		return invalidRequest("repo is required")
	}
	if repoParam != a.DID && repoParam != a.Handle {
		// As the reference PDS answers it: 401, the token is not good for
		// this repo.
		return xerr(http.StatusUnauthorized, "AuthenticationRequired", "the session of %s may not write to repo %s", a.DID, repoParam)
	}
	return nil
}

func wrapStore(what string, err error) error {
	return fmt.Errorf("%s: %w", what, err)
}
