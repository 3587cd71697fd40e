package pds

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// App passwords (com.atproto.server.createAppPassword, listAppPasswords,
// revokeAppPassword), as the reference has them: made by a full session
// only, shown once as xxxx-xxxx-xxxx-xxxx, listed (name, createdAt,
// privileged) by any session; revoking one also revokes the refresh
// tokens of the sessions made with it.

// newAppPassword is 16 base32 characters (80 bits) in four groups.
func newAppPassword() (string, error) {
	b, err := randomBytes(16)
	if err != nil {
		return "", err
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var sb strings.Builder
	for i := range 16 {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alphabet[b[i]&31])
	}
	return sb.String(), nil
}

func (s *Server) createAppPassword(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authFull(r)
	if err != nil {
		return nil, err
	}
	var in struct {
		Name       string `json:"name"`
		Privileged bool   `json:"privileged"`
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Name) == "" {
		return nil, invalidRequest("name is required")
	}
	pw, err := newAppPassword()
	if err != nil {
		return nil, err
	}
	p := AppPassword{Name: in.Name, Privileged: in.Privileged, CreatedAt: s.now()}
	if err := s.store.CreateAppPassword(r.Context(), a.DID, p, appPasswordHash(a.DID, pw)); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, invalidRequest("an app password named %q already exists", in.Name)
		}
		return nil, err
	}
	return map[string]any{"name": p.Name, "password": pw, "createdAt": formatTime(p.CreatedAt), "privileged": p.Privileged}, nil
}

func (s *Server) listAppPasswords(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authAccess(r)
	if err != nil {
		return nil, err
	}
	list, err := s.store.AppPasswords(r.Context(), a.DID)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(list))
	for i, p := range list {
		out[i] = map[string]any{"name": p.Name, "createdAt": formatTime(p.CreatedAt), "privileged": p.Privileged}
	}
	return map[string]any{"passwords": out}, nil
}

func (s *Server) revokeAppPassword(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authAccess(r)
	if err != nil {
		return nil, err
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, invalidRequest("name is required")
	}
	return nil, s.store.RevokeAppPassword(r.Context(), a.DID, in.Name)
}

// formatTime is a datetime as the reference writes them
// (2006-01-02T15:04:05.000Z).
func formatTime(t time.Time) string { return t.UTC().Format(frameTime) }
