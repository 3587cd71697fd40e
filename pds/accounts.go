package pds

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/mst"
)

func (s *Server) describeServer(w http.ResponseWriter, r *http.Request) (any, error) {
	return map[string]any{
		"did":                       s.serviceDID,
		"availableUserDomains":      s.cfg.HandleDomains,
		"inviteCodeRequired":        s.cfg.InviteRequired,
		"phoneVerificationRequired": false,
		"links":                     map[string]any{},
		"contact":                   map[string]any{},
	}, nil
}

// sessionOut is the body of createAccount, createSession and
// refreshSession.
func (s *Server) sessionOut(ctx context.Context, a *Account, t *sessionTokens) map[string]any {
	out := map[string]any{
		"accessJwt":  t.Access,
		"refreshJwt": t.Refresh,
		"handle":     a.Handle,
		"did":        a.DID,
		"active":     a.Active,
	}
	if !a.Active {
		out["status"] = "deactivated"
	}
	if a.Email != "" {
		out["email"] = a.Email
		out["emailConfirmed"] = !a.EmailConfirmedAt.IsZero()
	}
	// The DID document only while it names this server: @atproto/api sends
	// a session's requests to the document's PDS, which for an account
	// moving here (or gone from here) is the other server.
	if doc, err := s.didDocument(ctx, a.DID); err == nil && s.documentNamesHere(ctx, a.DID) {
		out["didDoc"] = doc
	}
	return out
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Handle     string `json:"handle"`
		Email      string `json:"email"`
		Password   string `json:"password"`
		DID        string `json:"did"`
		InviteCode string `json:"inviteCode"`
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	if in.DID != "" {
		// An account moving here with its own DID (migrate_account.go).
		if err := s.checkBroughtDID(r, in.DID); err != nil {
			return nil, err
		}
	}
	if in.Password == "" {
		return nil, invalidRequest("password is required")
	}
	if in.Email != "" && !strings.Contains(in.Email, "@") {
		return nil, xerr(http.StatusBadRequest, "InvalidEmail", "%q is not an email address", in.Email)
	}
	in.Email = strings.ToLower(in.Email)
	handle, err := s.normalizeHandle(in.Handle)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	if _, err := s.store.AccountByHandle(ctx, handle); err == nil {
		return nil, xerr(http.StatusBadRequest, "HandleNotAvailable", "Handle already taken: %s", handle)
	}
	if in.Email != "" {
		if _, err := s.store.AccountByEmail(ctx, in.Email); err == nil {
			return nil, xerr(http.StatusBadRequest, "InvalidEmail", "Email already taken: %s", in.Email)
		}
	}
	if err := s.checkInvite(ctx, in.InviteCode); err != nil {
		return nil, err
	}
	hash, err := hashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	did, key, err := s.accountIdentity(ctx, in.DID, handle)
	if err != nil {
		return nil, err
	}
	// A brought DID starts deactivated: it is activated once the directory
	// points at this server.
	a := &Account{DID: did, Handle: handle, Email: in.Email, PasswordHash: hash, SigningKey: key.Multibase(), CreatedAt: s.now(), Active: in.DID == ""}
	st := s.repoState(did)
	st.mu.Lock()
	defer st.mu.Unlock()
	tree := mst.NewEmpty()
	first, err := s.buildCommit(a, cid.Undef, "", nil, tree, nil)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateAccount(ctx, a, first); err != nil {
		if errors.Is(err, ErrConflict) && in.DID != "" {
			return nil, errAlreadyHosted(in.DID)
		}
		if errors.Is(err, ErrConflict) {
			return nil, xerr(http.StatusBadRequest, "HandleNotAvailable", "Handle or email already taken: %s", handle)
		}
		return nil, err
	}
	st.head, st.rev, st.tree, st.loaded = first.Commit, first.Rev, tree, true
	a.Head, a.Rev = first.Commit, first.Rev
	if err := s.useInvite(ctx, in.InviteCode, did); err != nil {
		return nil, err
	}
	t, err := s.newSession(ctx, did, SessionFull, "")
	if err != nil {
		return nil, err
	}
	out := s.sessionOut(ctx, a, t)
	delete(out, "active")
	delete(out, "email")
	delete(out, "emailConfirmed")
	return out, nil
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Identifier string `json:"identifier"`
		Password   string `json:"password"`
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	ctx := r.Context()
	ident := strings.ToLower(strings.TrimPrefix(in.Identifier, "@"))
	var a *Account
	var err error
	switch {
	case strings.HasPrefix(in.Identifier, "did:"):
		a, err = s.store.AccountByDID(ctx, in.Identifier)
	case strings.Contains(ident, "@"):
		a, err = s.store.AccountByEmail(ctx, ident)
	default:
		a, err = s.store.AccountByHandle(ctx, ident)
	}
	if err != nil && !errors.Is(err, ErrNotStored) {
		return nil, err
	}
	// Counted per account when the identifier names one, so that other
	// spellings of it share its count.
	who := "?" + ident
	if a != nil {
		who = a.DID
	}
	if len(who) > 320 {
		who = who[:320]
	}
	ip := clientIP(r)
	if err := s.rateLimit(w,
		limitCheck{key: "login-ip " + ip, limits: s.cfg.LoginLimits.PerIP},
		limitCheck{key: "login " + who + " " + ip, limits: s.cfg.LoginLimits.PerAccount},
	); err != nil {
		return nil, err
	}
	kind, appPass, err := s.login(ctx, a, in.Password)
	if err != nil {
		return nil, err
	}
	t, err := s.newSession(ctx, a.DID, kind, appPass)
	if err != nil {
		return nil, err
	}
	return s.sessionOut(ctx, a, t), nil
}

// login checks a password: the account's own (a full session) or one of
// its app passwords, which it names.
func (s *Server) login(ctx context.Context, a *Account, password string) (SessionKind, string, error) {
	denied := xerr(http.StatusUnauthorized, "AuthenticationRequired", "Invalid identifier or password")
	if a == nil {
		return 0, "", denied
	}
	if checkPassword(a.PasswordHash, password) {
		return SessionFull, "", nil
	}
	p, err := s.store.AppPasswordByHash(ctx, a.DID, appPasswordHash(a.DID, password))
	if errors.Is(err, ErrNotStored) {
		return 0, "", denied
	}
	if err != nil {
		return 0, "", err
	}
	if p.Privileged {
		return SessionAppPasswordPrivileged, p.Name, nil
	}
	return SessionAppPassword, p.Name, nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authSession(r)
	if err != nil {
		return nil, err
	}
	out := s.sessionOut(r.Context(), a, &sessionTokens{})
	delete(out, "accessJwt")
	delete(out, "refreshJwt")
	return out, nil
}

func (s *Server) refreshSession(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := s.rateLimit(w, limitCheck{key: "refresh-ip " + clientIP(r), limits: s.cfg.LoginLimits.RefreshPerIP}); err != nil {
		return nil, err
	}
	rt, _, err := s.liveRefreshToken(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	a, err := s.store.AccountByDID(ctx, rt.DID)
	if err != nil {
		return nil, errInvalidToken("token for an unknown account")
	}
	t, err := s.rotate(ctx, rt)
	if err != nil {
		return nil, err
	}
	return s.sessionOut(ctx, a, t), nil
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) (any, error) {
	rt, _, err := s.liveRefreshToken(r)
	if err != nil {
		return nil, err
	}
	return nil, s.store.RevokeRefreshToken(r.Context(), rt.ID)
}

// jsonCID parses an optional CID field: absent (nil raw) gives nil; JSON
// null gives cid.Undef when nullable.
func jsonCID(name string, raw json.RawMessage, nullable bool) (*cid.Cid, error) {
	if raw == nil {
		return nil, nil
	}
	if string(raw) == "null" {
		if !nullable {
			return nil, nil
		}
		u := cid.Undef
		return &u, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, invalidRequest("%s must be a CID string", name)
	}
	c, err := parseCID(name, s)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func parseCID(name, s string) (cid.Cid, error) {
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, invalidRequest("%s %q is not a CID: %v", name, s, err)
	}
	return c, nil
}

func (s *Server) adminGetAccountInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := s.authAdmin(r); err != nil {
		return nil, err
	}
	did, err := requireParam(r, "did")
	if err != nil {
		return nil, err
	}
	a, err := s.account(r.Context(), did, func() error {
		return xerr(http.StatusBadRequest, "AccountNotFound", "Account not found: %s", did)
	})
	if err != nil {
		return nil, err
	}
	return accountView(a), nil
}

func (s *Server) adminUpdateAccountPassword(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		DID      string `json:"did"`
		Password string `json:"password"`
	}
	if err := s.adminBody(w, r, &in); err != nil {
		return nil, err
	}
	if in.Password == "" {
		return nil, invalidRequest("password is required")
	}
	hash, err := hashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetPassword(r.Context(), in.DID, hash); err != nil {
		if errors.Is(err, ErrNotStored) {
			return nil, xerr(http.StatusBadRequest, "AccountNotFound", "Account not found: %s", in.DID)
		}
		return nil, err
	}
	return nil, nil
}

// adminSearchAccounts is com.atproto.admin.searchAccounts: the accounts in
// DID order, a page at a time (cursor: the last DID of the previous page),
// only the one with that email when email is given.
func (s *Server) adminSearchAccounts(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := s.authAdmin(r); err != nil {
		return nil, err
	}
	limit, err := queryInt(r, "limit", 50, 1, 100)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	var accts []*Account
	if email := r.URL.Query().Get("email"); email != "" {
		a, err := s.store.AccountByEmail(ctx, strings.ToLower(email))
		if err != nil && !errors.Is(err, ErrNotStored) {
			return nil, err
		}
		if a != nil {
			accts = append(accts, a)
		}
	} else if accts, err = s.store.ListAccounts(ctx, r.URL.Query().Get("cursor"), limit); err != nil {
		return nil, err
	}
	views := make([]map[string]any, len(accts))
	for i, a := range accts {
		views[i] = accountView(a)
	}
	out := map[string]any{"accounts": views}
	if len(accts) == limit {
		out["cursor"] = accts[len(accts)-1].DID
	}
	return out, nil
}

// accountView is com.atproto.admin.defs#accountView of a.
func accountView(a *Account) map[string]any {
	v := map[string]any{"did": a.DID, "handle": a.Handle, "indexedAt": a.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")}
	if a.Email != "" {
		v["email"] = a.Email
	}
	return v
}
