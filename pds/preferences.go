package pds

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Preferences (app.bsky.actor.getPreferences and putPreferences), which
// the reference PDS keeps itself rather than sending them to the AppView:
//
//   - They are stored per account, in order, as the JSON the client sent,
//     and survive restarts with --data.
//   - putPreferences replaces every preference of the app.bsky namespace;
//     each needs a $type in that namespace ("Some preferences are not in
//     the app.bsky namespace" otherwise).
//   - app.bsky.actor.defs#personalDetailsPref is for full sessions only: an
//     app-password session neither sees nor replaces it, and may not set
//     it. app.bsky.actor.defs#declaredAgePref is read-only: dropped from a
//     put, derived from the personal details' birthDate on a get.
//   - With an atproto-proxy header naming another service than the
//     configured AppView, both are proxied like any app.bsky method.

const (
	prefNamespace       = "app.bsky"
	prefPersonalDetails = "app.bsky.actor.defs#personalDetailsPref"
	prefDeclaredAge     = "app.bsky.actor.defs#declaredAgePref"
)

// Preference is one stored preference: its $type and its JSON.
type Preference struct {
	Type string
	JSON json.RawMessage
}

// preferenceStore keeps preferences (part of Store).
type preferenceStore interface {
	// Preferences lists an account's preferences in the order they were
	// put.
	Preferences(ctx context.Context, did string) ([]Preference, error)
	// PutPreferences replaces the account's preferences whose $type
	// replace is true of with prefs, in one transaction.
	PutPreferences(ctx context.Context, did string, replace func(typ string) bool, prefs []Preference) error
	// CountRecords counts the records of one collection (profile.go).
	CountRecords(ctx context.Context, did, collection string) (int, error)
}

func prefInNamespace(typ string) bool {
	return typ == prefNamespace || strings.HasPrefix(typ, prefNamespace+".")
}

func prefAllowed(typ string, full bool) bool { return full || typ != prefPersonalDetails }

func (s *Server) getPreferences(w http.ResponseWriter, r *http.Request) (any, error) {
	if s.proxiedElsewhere(r) {
		return s.proxy(w, r, "app.bsky.actor.getPreferences")
	}
	sess, err := s.authRequest(r)
	if err != nil {
		return nil, err
	}
	prefs, err := s.store.Preferences(r.Context(), sess.Account.DID)
	if err != nil {
		return nil, err
	}
	full := !sess.Kind.IsAppPassword()
	out := []json.RawMessage{}
	for _, p := range prefs {
		if prefInNamespace(p.Type) && prefAllowed(p.Type, full) {
			out = append(out, p.JSON)
		}
	}
	if age := declaredAge(prefs, s.now()); age != nil {
		out = append(out, age)
	}
	return map[string]any{"preferences": out}, nil
}

// declaredAge is the #declaredAgePref the reference derives from the
// personal details' birthDate (nil without one).
func declaredAge(prefs []Preference, now time.Time) json.RawMessage {
	for _, p := range prefs {
		if p.Type != prefPersonalDetails {
			continue
		}
		var v struct {
			BirthDate string `json:"birthDate"`
		}
		if json.Unmarshal(p.JSON, &v) != nil || len(v.BirthDate) < 10 {
			return nil
		}
		born, err := time.Parse(time.DateOnly, v.BirthDate[:10])
		if err != nil {
			return nil
		}
		age := now.Year() - born.Year()
		if now.Month() < born.Month() || now.Month() == born.Month() && now.Day() < born.Day() {
			age--
		}
		b, _ := json.Marshal(map[string]any{"$type": prefDeclaredAge, "isOverAge13": age >= 13, "isOverAge16": age >= 16, "isOverAge18": age >= 18})
		return b
	}
	return nil
}

func (s *Server) putPreferences(w http.ResponseWriter, r *http.Request) (any, error) {
	if s.proxiedElsewhere(r) {
		return s.proxy(w, r, "app.bsky.actor.putPreferences")
	}
	sess, err := s.authRequest(r)
	if err != nil {
		return nil, err
	}
	// A deactivated account may set its preferences, as on the reference
	// PDS: a migration copies them before the new account is activated.
	full := !sess.Kind.IsAppPassword()
	var in struct {
		Preferences []json.RawMessage `json:"preferences"`
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	if in.Preferences == nil {
		return nil, invalidRequest("preferences is required")
	}
	prefs := make([]Preference, 0, len(in.Preferences))
	var forbidden []string
	for _, raw := range in.Preferences {
		var v struct {
			Type *string `json:"$type"`
		}
		if err := json.Unmarshal(raw, &v); err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
			return nil, invalidRequest("a preference must be a JSON object")
		}
		if v.Type == nil {
			return nil, invalidRequest("Preference is missing a $type")
		}
		if !prefInNamespace(*v.Type) {
			return nil, invalidRequest("Some preferences are not in the %s namespace", prefNamespace)
		}
		if !prefAllowed(*v.Type, full) {
			forbidden = append(forbidden, *v.Type)
		}
		if *v.Type != prefDeclaredAge {
			prefs = append(prefs, Preference{Type: *v.Type, JSON: raw})
		}
	}
	if len(forbidden) > 0 {
		return nil, invalidRequest("Do not have authorization to set preferences: %s", strings.Join(forbidden, ", "))
	}
	replace := func(typ string) bool { return prefInNamespace(typ) && prefAllowed(typ, full) }
	return nil, s.store.PutPreferences(r.Context(), sess.Account.DID, replace, prefs)
}
