package pds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/plc"
)

// normalizeHandle checks that h is a handle this server can give out: a
// valid handle, one label of 3 to 18 characters in front of one of the
// configured domains (as the reference PDS requires). It returns it in
// lower case.
func (s *Server) normalizeHandle(h string) (string, error) {
	h = strings.ToLower(strings.TrimPrefix(h, "@"))
	if _, err := syntax.ParseHandle(h); err != nil {
		return "", xerr(http.StatusBadRequest, "InvalidHandle", "%q is not a valid handle: %v", h, err)
	}
	for _, d := range s.cfg.HandleDomains {
		front, ok := strings.CutSuffix(h, d)
		if !ok {
			continue
		}
		if strings.Contains(front, ".") {
			return "", xerr(http.StatusBadRequest, "InvalidHandle", "handle %q must be one label in front of %s", h, d)
		}
		if len(front) < 3 || len(front) > 18 {
			return "", xerr(http.StatusBadRequest, "InvalidHandle", "handle %q: the part before %s must be 3 to 18 characters", h, d)
		}
		return h, nil
	}
	return "", xerr(http.StatusBadRequest, "UnsupportedDomain", "handle %q does not end with a domain this server serves (%s)", h, strings.Join(s.cfg.HandleDomains, ", "))
}

// newIdentity creates and registers a did:plc identity for handle with a
// new signing key; the server's rotation key controls it.
func (s *Server) newIdentity(ctx context.Context, handle string) (string, atcrypto.PrivateKeyExportable, error) {
	key, err := atcrypto.GeneratePrivateKeyK256()
	if err != nil {
		return "", nil, err
	}
	pub, err := key.PublicKey()
	if err != nil {
		return "", nil, err
	}
	rot, err := s.rotation.PublicKey()
	if err != nil {
		return "", nil, err
	}
	op, did, err := plc.NewGenesis(plc.GenesisParams{
		RotationKeys: []string{rot.DIDKey()},
		SigningKey:   pub.DIDKey(),
		Handle:       handle,
		PDS:          s.cfg.PublicURL,
	}, s.rotation)
	if err != nil {
		return "", nil, fmt.Errorf("genesis operation for %s: %w", handle, err)
	}
	if err := s.directory.Submit(ctx, did.String(), op); err != nil {
		return "", nil, fmt.Errorf("registering %s for %s: %w", did, handle, err)
	}
	return did.String(), key, nil
}

// didDocument returns the DID document of did from the directory, as JSON.
func (s *Server) didDocument(ctx context.Context, did string) (json.RawMessage, error) {
	st, err := s.directory.State(ctx, did)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", did, err)
	}
	doc, err := st.Document()
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", did, err)
	}
	return json.Marshal(doc)
}

// account finds an account by DID or handle, or answers errNotFound.
func (s *Server) account(ctx context.Context, ident string, notFound func() error) (*Account, error) {
	var a *Account
	var err error
	if strings.HasPrefix(ident, "did:") {
		a, err = s.store.AccountByDID(ctx, ident)
	} else {
		a, err = s.store.AccountByHandle(ctx, strings.ToLower(ident))
	}
	if errors.Is(err, ErrNotStored) {
		return nil, notFound()
	}
	return a, err
}

func repoNotFound(ident string) func() error {
	return func() error {
		return xerr(http.StatusBadRequest, "RepoNotFound", "Could not find repo: %s", ident)
	}
}

func (s *Server) resolveHandle(w http.ResponseWriter, r *http.Request) (any, error) {
	h, err := requireParam(r, "handle")
	if err != nil {
		return nil, err
	}
	a, err := s.account(r.Context(), h, func() error {
		return xerr(http.StatusBadRequest, "HandleNotFound", "Unable to resolve handle: %s", h)
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"did": a.DID}, nil
}

func (s *Server) updateHandle(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authAccess(r)
	if err != nil {
		return nil, err
	}
	var in struct {
		Handle string `json:"handle"`
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	return nil, s.setHandle(r.Context(), a, in.Handle)
}

// serveWellKnown answers /.well-known/atproto-did for the handle named by
// the request's Host.
func (s *Server) serveWellKnown(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	a, err := s.store.AccountByHandle(r.Context(), strings.ToLower(host))
	if err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, "no user by that handle\n")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, a.DID)
}
