package pds

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/identity"
)

// Identity resolution for clients (com.atproto.identity.resolveDid,
// resolveIdentity, refreshIdentity), with the lexicon's error names:
// a did:plc through the server's directory (embedded or remote), a did:web
// over HTTPS; a handle of this server from its accounts, any other one
// through DNS and HTTPS (identity.Resolver). The server caches nothing, so
// refreshIdentity is resolveIdentity. A handle that does not resolve back
// to the DID is given as handle.invalid, as the reference does.

// resolveTimeout bounds one outside lookup.
const resolveTimeout = 10 * time.Second

func errDIDNotFound(did string) error {
	return xerr(http.StatusBadRequest, "DidNotFound", "DID not found: %s", did)
}

// resolveDIDDocument is a DID's document.
func (s *Server) resolveDIDDocument(ctx context.Context, did string) (json.RawMessage, error) {
	d, err := syntax.ParseDID(did)
	if err != nil {
		return nil, invalidRequest("%q is not a DID: %v", did, err)
	}
	switch d.Method() {
	case "plc":
		st, err := s.directory.State(ctx, did)
		if errors.Is(err, ErrNotStored) {
			return nil, errDIDNotFound(did)
		}
		if err != nil {
			return nil, errDIDNotFound(did)
		}
		if st.Tombstoned() {
			return nil, xerr(http.StatusBadRequest, "DidDeactivated", "DID deactivated: %s", did)
		}
		return s.didDocument(ctx, did)
	case "web":
		ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		defer cancel()
		doc, err := (&identity.Resolver{HTTPClient: s.cfg.HTTPClient, Timeout: resolveTimeout}).ResolveDID(ctx, d)
		if err != nil {
			return nil, errDIDNotFound(did)
		}
		return doc.Raw, nil
	}
	return nil, errDIDNotFound(did)
}

func (s *Server) resolveDid(w http.ResponseWriter, r *http.Request) (any, error) {
	did, err := requireParam(r, "did")
	if err != nil {
		return nil, err
	}
	doc, err := s.resolveDIDDocument(r.Context(), did)
	if err != nil {
		return nil, err
	}
	return map[string]any{"didDoc": doc}, nil
}

// resolveHandleDID is the DID a handle names: a local account's, or
// through DNS and HTTPS.
func (s *Server) resolveHandleDID(ctx context.Context, handle string) (string, error) {
	h, err := syntax.ParseHandle(strings.ToLower(handle))
	if err != nil {
		return "", invalidRequest("%q is not a handle: %v", handle, err)
	}
	if a, err := s.store.AccountByHandle(ctx, h.String()); err == nil {
		return a.DID, nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	did, _, err := (&identity.Resolver{HTTPClient: s.cfg.HTTPClient, Timeout: resolveTimeout}).ResolveHandle(ctx, h.String())
	if err != nil {
		return "", xerr(http.StatusBadRequest, "HandleNotFound", "Unable to resolve handle: %s", h)
	}
	return did.String(), nil
}

// identityInfo is com.atproto.identity.defs#identityInfo of a handle or
// DID.
func (s *Server) identityInfo(ctx context.Context, ident string) (map[string]any, error) {
	ident = strings.TrimPrefix(ident, "@")
	did, handle := ident, ""
	if !strings.HasPrefix(ident, "did:") {
		var err error
		if did, err = s.resolveHandleDID(ctx, ident); err != nil {
			return nil, err
		}
		handle = strings.ToLower(ident)
	}
	doc, err := s.resolveDIDDocument(ctx, did)
	if err != nil {
		return nil, err
	}
	var d struct {
		AlsoKnownAs []string `json:"alsoKnownAs"`
	}
	json.Unmarshal(doc, &d)
	claimed := ""
	for _, aka := range d.AlsoKnownAs {
		if h, ok := strings.CutPrefix(aka, "at://"); ok {
			claimed = strings.ToLower(h)
			break
		}
	}
	verified := "handle.invalid"
	switch {
	case handle != "" && claimed == handle:
		verified = handle
	case handle == "" && claimed != "":
		if back, err := s.resolveHandleDID(ctx, claimed); err == nil && back == did {
			verified = claimed
		}
	}
	return map[string]any{"did": did, "handle": verified, "didDoc": doc}, nil
}

func (s *Server) resolveIdentity(w http.ResponseWriter, r *http.Request) (any, error) {
	ident, err := requireParam(r, "identifier")
	if err != nil {
		return nil, err
	}
	return s.identityInfo(r.Context(), ident)
}

func (s *Server) refreshIdentity(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Identifier string `json:"identifier"`
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	if in.Identifier == "" {
		return nil, invalidRequest("identifier is required")
	}
	return s.identityInfo(r.Context(), in.Identifier)
}
