package pds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"
)

// Sessions, as the reference PDS keeps them:
//
//   - A session made with the account's password has full access (access
//     token scope com.atproto.access). One made with an app password is an
//     app-password session (com.atproto.appPass, or
//     com.atproto.appPassPrivileged for a privileged app password): it may
//     read and write the repository but not do account-level actions
//     (creating app passwords, requesting deletion, PLC operations,
//     importing a repo...), which answer 400 InvalidToken "Bad token
//     scope" (authFull).
//   - A refresh token may be used again for refreshGrace after its first
//     use (never past its own expiry); every use in that time gets the same
//     next refresh token id. Then it is revoked. deleteSession revokes it
//     at once. A refresh token keeps the app password it descends from, so
//     a refreshed app-password session is still one, and revoking the app
//     password revokes its refresh tokens.

// Access token scopes of the three session kinds.
const (
	scopeAppPass           = "com.atproto.appPass"
	scopeAppPassPrivileged = "com.atproto.appPassPrivileged"
)

// refreshGrace is how long a used refresh token still works (the
// reference's 2 hours).
const refreshGrace = 2 * time.Hour

// SessionKind is the credential a session was made with.
type SessionKind int

// The session kinds.
const (
	// SessionFull: the account's password.
	SessionFull SessionKind = iota
	// SessionAppPassword: an app password.
	SessionAppPassword
	// SessionAppPasswordPrivileged: a privileged app password (it may
	// also read chat, through the AppView proxy).
	SessionAppPasswordPrivileged
)

// scope is the access token scope of the kind.
func (k SessionKind) scope() string {
	switch k {
	case SessionAppPassword:
		return scopeAppPass
	case SessionAppPasswordPrivileged:
		return scopeAppPassPrivileged
	}
	return scopeAccess
}

// sessionKindOf is the kind of an access token scope; ok false for any
// other scope.
func sessionKindOf(scope string) (SessionKind, bool) {
	switch scope {
	case scopeAccess:
		return SessionFull, true
	case scopeAppPass:
		return SessionAppPassword, true
	case scopeAppPassPrivileged:
		return SessionAppPasswordPrivileged, true
	}
	return 0, false
}

// IsAppPassword says whether the session was made with an app password.
func (k SessionKind) IsAppPassword() bool { return k != SessionFull }

// Session is the caller of a request made with an access token.
type Session struct {
	Account *Account
	Kind    SessionKind
}

// AppPassword is one app password of an account (the password itself is
// only ever shown when it is made).
type AppPassword struct {
	Name       string
	Privileged bool
	CreatedAt  time.Time
}

// RefreshToken is one stored refresh token.
type RefreshToken struct {
	ID  string
	DID string
	// AppPassword names the app password the session descends from (""
	// for the account's password).
	AppPassword string
	ExpiresAt   time.Time
	// NextID is the id of the refresh token its first use handed out
	// ("" while unused): every use within the grace period gets it again.
	NextID string
}

// sessionStore keeps refresh tokens, app passwords and mailed tokens
// (part of Store).
type sessionStore interface {
	emailTokenStore
	SaveRefreshToken(ctx context.Context, t RefreshToken) error
	// RefreshToken reads one; ErrNotStored when unknown or revoked.
	RefreshToken(ctx context.Context, id string) (*RefreshToken, error)
	// RotateRefreshToken marks token id used: its expiry becomes exp
	// and its successor next (saved too, unless it already is). It
	// fails with ErrConflict when another use already gave it a
	// successor other than next.ID.
	RotateRefreshToken(ctx context.Context, id string, exp time.Time, next RefreshToken) error
	RevokeRefreshToken(ctx context.Context, id string) error
	// RevokeRefreshTokens revokes every refresh token of an account.
	RevokeRefreshTokens(ctx context.Context, did string) error

	// CreateAppPassword adds an app password with its hash (see
	// appPasswordHash); ErrConflict when the name is taken.
	CreateAppPassword(ctx context.Context, did string, p AppPassword, hash []byte) error
	// AppPasswordByHash finds the app password with that hash;
	// ErrNotStored for none.
	AppPasswordByHash(ctx context.Context, did string, hash []byte) (*AppPassword, error)
	// AppPasswords lists an account's app passwords, the newest first.
	AppPasswords(ctx context.Context, did string) ([]AppPassword, error)
	// RevokeAppPassword removes an app password and the refresh tokens
	// of its sessions.
	RevokeAppPassword(ctx context.Context, did, name string) error

	// SetEmail sets an account's email address and when it was confirmed
	// (zero: not confirmed); ErrConflict when another account has it.
	SetEmail(ctx context.Context, did, email string, confirmed time.Time) error
}

// appPasswordHash is what the store keeps of an app password: app
// passwords are 80 random bits, so, as the reference does, a hash salted
// with the DID is enough and lets a login find it in one look-up.
func appPasswordHash(did, password string) []byte {
	h := sha256.Sum256([]byte("arbor app password\x00" + did + "\x00" + password))
	return h[:]
}

// newSession makes access and refresh tokens for a session of kind, made
// with app password appPass ("" for the account's password).
func (s *Server) newSession(ctx context.Context, did string, kind SessionKind, appPass string) (*sessionTokens, error) {
	return s.issueSession(ctx, RefreshToken{DID: did, AppPassword: appPass}, kind, "")
}

// issueSession signs an access token of kind and a refresh token with id
// refreshID descending from t. A new session (refreshID "") gets a new id
// and its refresh token is saved; a rotation's is saved by
// RotateRefreshToken.
func (s *Server) issueSession(ctx context.Context, t RefreshToken, kind SessionKind, refreshID string) (*sessionTokens, error) {
	access, _, err := s.issueToken(t.DID, kind.scope(), s.cfg.AccessTTL, "")
	if err != nil {
		return nil, err
	}
	refresh, id, err := s.issueToken(t.DID, scopeRefresh, s.cfg.RefreshTTL, refreshID)
	if err != nil {
		return nil, err
	}
	t.ID, t.ExpiresAt, t.NextID = id, s.now().Add(s.cfg.RefreshTTL), ""
	if refreshID == "" {
		if err := s.store.SaveRefreshToken(ctx, t); err != nil {
			return nil, err
		}
	}
	return &sessionTokens{Access: access, Refresh: refresh, next: t}, nil
}

// authRequest checks the request's access token (any session kind) and
// returns its session; the account may be deactivated.
func (s *Server) authRequest(r *http.Request) (*Session, error) {
	c, err := s.requestToken(r, scopeAccess, scopeAppPass, scopeAppPassPrivileged)
	if err != nil {
		return nil, err
	}
	kind, _ := sessionKindOf(c.Scope)
	a, err := s.store.AccountByDID(r.Context(), c.Subject)
	if errors.Is(err, ErrNotStored) {
		return nil, errInvalidToken("token for an unknown account")
	}
	if err != nil {
		return nil, err
	}
	return &Session{Account: a, Kind: kind}, nil
}

// errBadScope is the reference's answer to an app-password session asking
// for an account-level action.
func errBadScope() error {
	return xerr(http.StatusBadRequest, "InvalidToken", "Bad token scope")
}

// authFull checks that the request's access token is a full session (made
// with the account's password, not an app password) of an active
// account, as account-level actions require.
func (s *Server) authFull(r *http.Request) (*Account, error) {
	a, err := s.authFullAnyStatus(r)
	if err != nil {
		return nil, err
	}
	if !a.Active {
		return nil, errAccountDeactivated()
	}
	return a, nil
}

// authFullAnyStatus is authFull for an account that may be deactivated
// (activateAccount, deactivateAccount).
func (s *Server) authFullAnyStatus(r *http.Request) (*Account, error) {
	sess, err := s.authRequest(r)
	if err != nil {
		return nil, err
	}
	if sess.Kind.IsAppPassword() {
		return nil, errBadScope()
	}
	return sess.Account, nil
}

// refreshSession's and deleteSession's check of the refresh token: it
// returns the stored token (revoked, or used and past its grace period:
// 400 ExpiredToken "Token has been revoked").
func (s *Server) liveRefreshToken(r *http.Request) (*RefreshToken, *tokenClaims, error) {
	c, err := s.requestToken(r, scopeRefresh)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.store.RefreshToken(r.Context(), c.ID)
	if err == nil && (t.DID != c.Subject || !s.now().Before(t.ExpiresAt)) {
		err = ErrNotStored
	}
	if errors.Is(err, ErrNotStored) {
		return nil, nil, xerr(http.StatusBadRequest, "ExpiredToken", "Token has been revoked")
	}
	if err != nil {
		return nil, nil, err
	}
	return t, c, nil
}

// rotate uses refresh token t: it keeps working for refreshGrace (never
// past its own expiry) and each use within that time gets a refresh token
// with the same id (t.NextID once set).
func (s *Server) rotate(ctx context.Context, t *RefreshToken) (*sessionTokens, error) {
	kind := SessionFull
	if t.AppPassword != "" {
		kind = SessionAppPassword
		list, err := s.store.AppPasswords(ctx, t.DID)
		if err != nil {
			return nil, err
		}
		for _, p := range list {
			if p.Name == t.AppPassword && p.Privileged {
				kind = SessionAppPasswordPrivileged
			}
		}
	}
	exp := s.now().Add(refreshGrace)
	if t.ExpiresAt.Before(exp) {
		exp = t.ExpiresAt
	}
	for range 3 {
		nextID := t.NextID
		if nextID == "" {
			b, err := randomBytes(16)
			if err != nil {
				return nil, err
			}
			nextID = hex.EncodeToString(b)
		}
		out, err := s.issueSession(ctx, *t, kind, nextID)
		if err != nil {
			return nil, err
		}
		err = s.store.RotateRefreshToken(ctx, t.ID, exp, out.next)
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, err
		}
		// Another use got there first: take its successor.
		if t, err = s.store.RefreshToken(ctx, t.ID); err != nil {
			return nil, xerr(http.StatusBadRequest, "ExpiredToken", "Token has been revoked")
		}
	}
	return nil, errors.New("refresh token: concurrent uses did not settle")
}
