package pds

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// The email flows of com.atproto.server, as the reference has them, with
// the mail log (mail.go) in place of a mail server:
//
//   - requestEmailConfirmation mails a confirm_email token; confirmEmail
//     (email, token) marks the address confirmed.
//   - requestEmailUpdate (a full session) mails an update_email token when
//     the address is confirmed and says whether one is needed
//     (tokenRequired); updateEmail (email, token) changes the address,
//     which is then unconfirmed.
//   - requestPasswordReset (email, no session) mails a reset_password
//     token; resetPassword (token, password) sets the password and revokes
//     every refresh token of the account.

func (s *Server) requestEmailConfirmation(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authSession(r)
	if err != nil {
		return nil, err
	}
	return nil, s.mailToken(r.Context(), a, PurposeConfirmEmail)
}

func (s *Server) confirmEmail(w http.ResponseWriter, r *http.Request) (any, error) {
	a, in, err := s.emailRequest(w, r, s.authSession)
	if err != nil {
		return nil, err
	}
	if a.Email == "" || a.Email != strings.ToLower(in.Email) {
		return nil, xerr(http.StatusBadRequest, "InvalidEmail", "invalid email")
	}
	ctx := r.Context()
	if err := s.useEmailToken(ctx, a.DID, PurposeConfirmEmail, in.Token); err != nil {
		return nil, err
	}
	return nil, s.store.SetEmail(ctx, a.DID, a.Email, s.now())
}

func (s *Server) requestEmailUpdate(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authFullAnyStatus(r)
	if err != nil {
		return nil, err
	}
	if a.Email == "" {
		return nil, invalidRequest("account does not have an email address")
	}
	required := !a.EmailConfirmedAt.IsZero()
	if required {
		if err := s.mailToken(r.Context(), a, PurposeUpdateEmail); err != nil {
			return nil, err
		}
	}
	return map[string]any{"tokenRequired": required}, nil
}

func (s *Server) updateEmail(w http.ResponseWriter, r *http.Request) (any, error) {
	a, in, err := s.emailRequest(w, r, s.authFullAnyStatus)
	if err != nil {
		return nil, err
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if !validEmail(email) {
		return nil, invalidRequest("This email address is not supported, please use a different email.")
	}
	ctx := r.Context()
	if !a.EmailConfirmedAt.IsZero() || in.Token != "" {
		if in.Token == "" {
			return nil, xerr(http.StatusBadRequest, "TokenRequired", "confirmation token required")
		}
		if err := s.useEmailToken(ctx, a.DID, PurposeUpdateEmail, in.Token); err != nil {
			return nil, err
		}
	}
	if err := s.store.SetEmail(ctx, a.DID, email, time.Time{}); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, invalidRequest("This email address is already in use, please use a different email.")
		}
		return nil, err
	}
	return nil, nil
}

func (s *Server) requestPasswordReset(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	ctx := r.Context()
	a, err := s.store.AccountByEmail(ctx, strings.ToLower(strings.TrimSpace(in.Email)))
	if errors.Is(err, ErrNotStored) {
		// As the reference: nothing says whether the address has an account.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return nil, s.mailToken(ctx, a, PurposeResetPassword)
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	if in.Password == "" {
		return nil, invalidRequest("Invalid password length.")
	}
	hash, err := hashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	did, err := s.emailTokenOwner(ctx, PurposeResetPassword, in.Token)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetPassword(ctx, did, hash); err != nil {
		return nil, err
	}
	if err := s.store.DeleteEmailToken(ctx, did, PurposeResetPassword); err != nil {
		return nil, err
	}
	return nil, s.store.RevokeRefreshTokens(ctx, did)
}

// emailTokenBody is the body of confirmEmail and updateEmail.
type emailTokenBody struct {
	Email string `json:"email"`
	Token string `json:"token"`
}

// emailRequest authenticates with auth and reads an emailTokenBody.
func (s *Server) emailRequest(w http.ResponseWriter, r *http.Request, auth func(*http.Request) (*Account, error)) (*Account, *emailTokenBody, error) {
	a, err := auth(r)
	if err != nil {
		return nil, nil, err
	}
	var in emailTokenBody
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, nil, err
	}
	return a, &in, nil
}

// validEmail is the shape check an address gets: something@domain.tld.
func validEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(e, " \t\r\n<>") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}
