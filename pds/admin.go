package pds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"

	"github.com/arbor-atproto/arbor/plc"
)

// The admin account methods (HTTP basic auth as "admin" with the admin
// password), as the reference answers them: getAccountInfos,
// updateAccountEmail, updateAccountHandle, sendEmail (to the mail log),
// getSubjectStatus / updateSubjectStatus (a takedown or deactivation
// status kept per subject and reported back; arbor pds enforces only
// deactivation, through the account's own status), and
// server.reserveSigningKey, temp.checkSignupQueue. updateAccountSigningKey,
// which the reference does not serve, is refused: this server signs with
// keys it made itself.

func (s *Server) adminGetAccountInfos(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := s.authAdmin(r); err != nil {
		return nil, err
	}
	dids := r.URL.Query()["dids"]
	if len(dids) == 0 {
		return nil, invalidRequest("parameter dids is required")
	}
	infos := []map[string]any{}
	for _, did := range dids {
		a, err := s.store.AccountByDID(r.Context(), did)
		if errors.Is(err, ErrNotStored) {
			continue
		}
		if err != nil {
			return nil, err
		}
		infos = append(infos, s.adminAccountView(r.Context(), a))
	}
	return map[string]any{"infos": infos}, nil
}

// adminAccountView is accountView with the invite and email details.
func (s *Server) adminAccountView(ctx context.Context, a *Account) map[string]any {
	v := accountView(a)
	if !a.EmailConfirmedAt.IsZero() {
		v["emailConfirmedAt"] = formatTime(a.EmailConfirmedAt)
	}
	if off, err := s.store.InvitesDisabled(ctx, a.DID); err == nil {
		v["invitesDisabled"] = off
	}
	if doc, err := s.didDocument(ctx, a.DID); err == nil {
		v["relatedRecords"] = []any{}
		v["didDoc"] = json.RawMessage(doc)
	}
	return v
}

// adminAccount finds the account an admin request names (DID or handle).
func (s *Server) adminAccount(ctx context.Context, ident string) (*Account, error) {
	if ident == "" {
		return nil, invalidRequest("account is required")
	}
	return s.account(ctx, ident, func() error {
		return xerr(http.StatusBadRequest, "AccountNotFound", "Account not found: %s", ident)
	})
}

func (s *Server) adminUpdateAccountEmail(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Account string `json:"account"`
		Email   string `json:"email"`
	}
	if err := s.adminBody(w, r, &in); err != nil {
		return nil, err
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if !validEmail(email) {
		return nil, invalidRequest("%q is not an email address", in.Email)
	}
	a, err := s.adminAccount(r.Context(), in.Account)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetEmail(r.Context(), a.DID, email, time.Time{}); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, invalidRequest("This email address is already in use, please use a different email.")
		}
		return nil, err
	}
	return nil, nil
}

func (s *Server) adminUpdateAccountHandle(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		DID    string `json:"did"`
		Handle string `json:"handle"`
	}
	if err := s.adminBody(w, r, &in); err != nil {
		return nil, err
	}
	a, err := s.adminAccount(r.Context(), in.DID)
	if err != nil {
		return nil, err
	}
	return nil, s.setHandle(r.Context(), a, in.Handle)
}

func (s *Server) adminSendEmail(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		RecipientDID string `json:"recipientDid"`
		Content      string `json:"content"`
		Subject      string `json:"subject"`
		SenderDID    string `json:"senderDid"`
	}
	if err := s.adminBody(w, r, &in); err != nil {
		return nil, err
	}
	a, err := s.adminAccount(r.Context(), in.RecipientDID)
	if err != nil {
		return nil, err
	}
	if a.Email == "" {
		return nil, invalidRequest("account does not have an email address")
	}
	subject := in.Subject
	if subject == "" {
		subject = "Message via your service"
	}
	if err := s.cfg.Mail.Send(Mail{To: a.Email, Subject: subject}); err != nil {
		return nil, err
	}
	return map[string]any{"sent": true}, nil
}

// subjectStatus is what updateSubjectStatus keeps of a subject.
type subjectStatus struct {
	Subject     json.RawMessage `json:"subject"`
	Takedown    json.RawMessage `json:"takedown,omitempty"`
	Deactivated json.RawMessage `json:"deactivated,omitempty"`
}

// subjectKey names a subject (a repoRef's DID, a strongRef's URI, a
// repoBlobRef's DID and CID) for the meta table.
func subjectKey(did, uri, blob string) (string, error) {
	switch {
	case uri != "":
		return "subject_status " + uri, nil
	case did != "" && blob != "":
		return "subject_status " + did + " " + blob, nil
	case did != "":
		return "subject_status " + did, nil
	}
	return "", invalidRequest("give did, uri, or did and blob")
}

func (s *Server) adminGetSubjectStatus(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := s.authAdmin(r); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	key, err := subjectKey(q.Get("did"), q.Get("uri"), q.Get("blob"))
	if err != nil {
		return nil, err
	}
	raw, err := s.store.Meta(r.Context(), key)
	if err == nil {
		return json.RawMessage(raw), nil
	}
	if !errors.Is(err, ErrNotStored) {
		return nil, err
	}
	if q.Get("uri") == "" && q.Get("blob") == "" {
		a, err := s.adminAccount(r.Context(), q.Get("did"))
		if err != nil {
			return nil, xerr(http.StatusBadRequest, "NotFound", "Subject not found")
		}
		return map[string]any{"subject": map[string]any{"$type": "com.atproto.admin.defs#repoRef", "did": a.DID},
			"takedown": map[string]any{"applied": false}, "deactivated": map[string]any{"applied": !a.Active}}, nil
	}
	return nil, xerr(http.StatusBadRequest, "NotFound", "Subject not found")
}

func (s *Server) adminUpdateSubjectStatus(w http.ResponseWriter, r *http.Request) (any, error) {
	var in subjectStatus
	if err := s.adminBody(w, r, &in); err != nil {
		return nil, err
	}
	var subj struct {
		DID string `json:"did"`
		URI string `json:"uri"`
		CID string `json:"cid"`
	}
	if err := json.Unmarshal(in.Subject, &subj); err != nil {
		return nil, invalidRequest("subject: %v", err)
	}
	blob := ""
	if subj.URI == "" {
		blob = subj.CID
	}
	key, err := subjectKey(subj.DID, subj.URI, blob)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetMeta(r.Context(), key, b); err != nil {
		return nil, err
	}
	return map[string]any{"subject": in.Subject, "takedown": in.Takedown}, nil
}

func (s *Server) adminUpdateAccountSigningKey(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := s.authAdmin(r); err != nil {
		return nil, err
	}
	return notServed("com.atproto.admin.updateAccountSigningKey", "it signs each account's commits with a key it made and keeps, and cannot take a public one (the reference PDS does not serve it either)")(w, r)
}

// reserveSigningKey makes a signing key for a DID that will move here
// (createAccount with that did uses it) and answers its did:key.
func (s *Server) reserveSigningKey(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		DID string `json:"did"`
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	key, err := atcrypto.GeneratePrivateKeyK256()
	if err != nil {
		return nil, err
	}
	if in.DID != "" {
		if err := s.store.SetMeta(r.Context(), "reserved_signing_key "+in.DID, []byte(key.Multibase())); err != nil {
			return nil, err
		}
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, err
	}
	return map[string]string{"signingKey": pub.DIDKey()}, nil
}

// reservedSigningKey is the key reserveSigningKey made for did, or a new
// one.
func (s *Server) reservedSigningKey(ctx context.Context, did string) (atcrypto.PrivateKeyExportable, error) {
	if b, err := s.store.Meta(ctx, "reserved_signing_key "+did); err == nil {
		if k, err := atcrypto.ParsePrivateMultibase(string(b)); err == nil {
			return k, nil
		}
	}
	return atcrypto.GeneratePrivateKeyK256()
}

func (s *Server) checkSignupQueue(w http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.authSession(r); err != nil {
		return nil, err
	}
	return map[string]any{"activated": true}, nil
}

// setHandle changes a's handle in the directory and the store.
func (s *Server) setHandle(ctx context.Context, a *Account, handle string) error {
	h, err := s.normalizeHandle(handle)
	if err != nil {
		return err
	}
	if h == a.Handle {
		return nil
	}
	if other, err := s.store.AccountByHandle(ctx, h); err == nil && other.DID != a.DID {
		return xerr(http.StatusBadRequest, "HandleNotAvailable", "Handle already taken: %s", h)
	}
	st, err := s.directory.State(ctx, a.DID)
	if err != nil {
		return err
	}
	op, err := plc.NextOperation(st, plc.Update{Handle: h}, s.rotation, s.now())
	if err != nil {
		return fmt.Errorf("handle update for %s: %w", a.DID, err)
	}
	if err := s.directory.Submit(ctx, a.DID, op); err != nil {
		return err
	}
	if err := s.store.SetHandle(ctx, a.DID, h, s.now()); err != nil {
		if errors.Is(err, ErrConflict) {
			return xerr(http.StatusBadRequest, "HandleNotAvailable", "Handle already taken: %s", h)
		}
		return err
	}
	return nil
}
