package pds

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Invite codes, as the reference has them:
//
//   - With Config.InviteRequired (--invite-required), createAccount needs
//     an inviteCode with uses left (400 InvalidInviteCode "No invite code
//     provided" / "Provided invite code not available"), and each account
//     made uses one; describeServer says inviteCodeRequired.
//   - The admin makes codes (server.createInviteCode, createInviteCodes;
//     HOSTNAME-XXXXX-XXXXX, for an account or for "admin"), lists them
//     (admin.getInviteCodes), disables them (admin.disableInviteCodes) and
//     turns an account's invites off and on (admin.disableAccountInvites,
//     enableAccountInvites: its codes are then shown disabled).
//   - server.getAccountInviteCodes (a full session) lists the account's
//     own codes. The server makes none by itself (the reference's
//     per-interval codes are a production setting).
//
// Checking a code and counting its use are two steps: two sign-ups racing
// for a code's last use may both get it.

// InviteCode is one invite code with its uses.
type InviteCode struct {
	Code       string
	Available  int
	Disabled   bool
	ForAccount string
	CreatedBy  string
	CreatedAt  time.Time
	Uses       []InviteUse
}

// InviteUse is one account made with a code.
type InviteUse struct {
	UsedBy string
	UsedAt time.Time
}

// inviteStore keeps invite codes (part of Store).
type inviteStore interface {
	CreateInviteCodes(ctx context.Context, codes []InviteCode) error
	// InviteCode reads one; ErrNotStored when unknown.
	InviteCode(ctx context.Context, code string) (*InviteCode, error)
	// InviteCodes lists codes by creation (newest first), after cursor
	// (a code), for one account when forAccount is set.
	InviteCodes(ctx context.Context, forAccount, cursor string, limit int) ([]InviteCode, error)
	UseInviteCode(ctx context.Context, code, did string, at time.Time) error
	// DisableInviteCodes disables the codes given and every code of the
	// accounts given.
	DisableInviteCodes(ctx context.Context, codes, accounts []string) error
	// SetInvitesDisabled turns an account's invites off or on.
	SetInvitesDisabled(ctx context.Context, did string, disabled bool) error
	InvitesDisabled(ctx context.Context, did string) (bool, error)
}

func errInvite(msg string) error { return xerr(http.StatusBadRequest, "InvalidInviteCode", "%s", msg) }

// checkInvite checks createAccount's invite code when codes are required.
func (s *Server) checkInvite(ctx context.Context, code string) error {
	if !s.cfg.InviteRequired {
		return nil
	}
	if code == "" {
		return errInvite("No invite code provided")
	}
	ic, err := s.store.InviteCode(ctx, code)
	if errors.Is(err, ErrNotStored) {
		return errInvite("Provided invite code not available")
	}
	if err != nil {
		return err
	}
	if ic.Disabled || len(ic.Uses) >= ic.Available {
		return errInvite("Provided invite code not available")
	}
	if ic.ForAccount != "" && ic.ForAccount != "admin" {
		if off, err := s.store.InvitesDisabled(ctx, ic.ForAccount); err == nil && off {
			return errInvite("Provided invite code not available")
		}
	}
	return nil
}

// useInvite counts the new account did as a use of code.
func (s *Server) useInvite(ctx context.Context, code, did string) error {
	if !s.cfg.InviteRequired || code == "" {
		return nil
	}
	return s.store.UseInviteCode(ctx, code, did, s.now())
}

func (s *Server) newInviteCode() (string, error) {
	tok, err := newEmailToken()
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(s.cfg.Hostname, ".", "-") + "-" + strings.ToLower(tok), nil
}

func (s *Server) makeInviteCodes(ctx context.Context, n, uses int, forAccount string) ([]string, error) {
	codes := make([]InviteCode, n)
	out := make([]string, n)
	for i := range codes {
		c, err := s.newInviteCode()
		if err != nil {
			return nil, err
		}
		codes[i] = InviteCode{Code: c, Available: uses, ForAccount: forAccount, CreatedBy: "admin", CreatedAt: s.now()}
		out[i] = c
	}
	return out, s.store.CreateInviteCodes(ctx, codes)
}

func (s *Server) createInviteCode(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		UseCount   int    `json:"useCount"`
		ForAccount string `json:"forAccount"`
	}
	if err := s.adminBody(w, r, &in); err != nil {
		return nil, err
	}
	if in.UseCount < 1 {
		return nil, invalidRequest("useCount must be at least 1")
	}
	if in.ForAccount == "" {
		in.ForAccount = "admin"
	}
	codes, err := s.makeInviteCodes(r.Context(), 1, in.UseCount, in.ForAccount)
	if err != nil {
		return nil, err
	}
	return map[string]string{"code": codes[0]}, nil
}

func (s *Server) createInviteCodes(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		CodeCount   int      `json:"codeCount"`
		UseCount    int      `json:"useCount"`
		ForAccounts []string `json:"forAccounts"`
	}
	if err := s.adminBody(w, r, &in); err != nil {
		return nil, err
	}
	if in.CodeCount == 0 {
		in.CodeCount = 1
	}
	if in.UseCount < 1 || in.CodeCount < 1 || in.CodeCount > 1000 {
		return nil, invalidRequest("useCount must be at least 1 and codeCount from 1 to 1000")
	}
	if len(in.ForAccounts) == 0 {
		in.ForAccounts = []string{"admin"}
	}
	out := []map[string]any{}
	for _, acct := range in.ForAccounts {
		codes, err := s.makeInviteCodes(r.Context(), in.CodeCount, in.UseCount, acct)
		if err != nil {
			return nil, err
		}
		out = append(out, map[string]any{"account": acct, "codes": codes})
	}
	return map[string]any{"codes": out}, nil
}

// inviteView is com.atproto.server.defs#inviteCode.
func inviteView(c InviteCode, accountDisabled bool) map[string]any {
	uses := make([]map[string]any, len(c.Uses))
	for i, u := range c.Uses {
		uses[i] = map[string]any{"usedBy": u.UsedBy, "usedAt": formatTime(u.UsedAt)}
	}
	return map[string]any{
		"code": c.Code, "available": c.Available, "disabled": c.Disabled || accountDisabled,
		"forAccount": c.ForAccount, "createdBy": c.CreatedBy, "createdAt": formatTime(c.CreatedAt), "uses": uses,
	}
}

func (s *Server) getAccountInviteCodes(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authFull(r)
	if err != nil {
		return nil, err
	}
	includeUsed := r.URL.Query().Get("includeUsed") != "false"
	ctx := r.Context()
	codes, err := s.store.InviteCodes(ctx, a.DID, "", 1000)
	if err != nil {
		return nil, err
	}
	off, err := s.store.InvitesDisabled(ctx, a.DID)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, c := range codes {
		if c.Disabled || off || !includeUsed && len(c.Uses) >= c.Available {
			continue
		}
		out = append(out, inviteView(c, off))
	}
	return map[string]any{"codes": out}, nil
}

func (s *Server) adminGetInviteCodes(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := s.authAdmin(r); err != nil {
		return nil, err
	}
	limit, err := queryInt(r, "limit", 100, 1, 500)
	if err != nil {
		return nil, err
	}
	codes, err := s.store.InviteCodes(r.Context(), "", r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	views := make([]map[string]any, len(codes))
	for i, c := range codes {
		views[i] = inviteView(c, false)
	}
	out["codes"] = views
	if len(codes) == limit {
		out["cursor"] = codes[len(codes)-1].Code
	}
	return out, nil
}

func (s *Server) adminDisableInviteCodes(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Codes    []string `json:"codes"`
		Accounts []string `json:"accounts"`
	}
	if err := s.adminBody(w, r, &in); err != nil {
		return nil, err
	}
	for _, a := range in.Accounts {
		if a == "admin" {
			return nil, invalidRequest("cannot disable admin invite codes")
		}
	}
	return nil, s.store.DisableInviteCodes(r.Context(), in.Codes, in.Accounts)
}

func (s *Server) adminSetAccountInvites(disabled bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		var in struct {
			Account string `json:"account"`
			Note    string `json:"note"`
		}
		if err := s.adminBody(w, r, &in); err != nil {
			return nil, err
		}
		err := s.store.SetInvitesDisabled(r.Context(), in.Account, disabled)
		if errors.Is(err, ErrNotStored) {
			return nil, xerr(http.StatusBadRequest, "AccountNotFound", "Account not found: %s", in.Account)
		}
		return nil, err
	}
}
