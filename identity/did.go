package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/arbor-atproto/arbor/plc"
	"github.com/arbor-atproto/arbor/repo"
	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// ParseDID checks a DID's syntax and that its method is one atproto uses
// (did:plc with a well-formed identifier, or did:web).
func ParseDID(s string) (syntax.DID, error) {
	d, err := syntax.ParseDID(s)
	if err != nil {
		return "", fmt.Errorf("%w %q: %s", ErrInvalidDID, s, strings.TrimPrefix(err.Error(), "syntax: "))
	}
	switch d.Method() {
	case "plc":
		if !plc.ValidDID(s) {
			return "", fmt.Errorf("%w %q: a did:plc identifier is 24 characters of lowercase base32", ErrInvalidDID, s)
		}
	case "web":
		if _, err := DIDWebURL(d); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("%w: %q", ErrUnsupportedDID, s)
	}
	return d, nil
}

// DIDWebURL is where a did:web document lives: did:web:example.com is
// https://example.com/.well-known/did.json, and the path form
// did:web:example.com:u:alice is https://example.com/u/alice/did.json. A
// port is written percent-encoded in the host part (did:web:localhost%3A8080).
func DIDWebURL(d syntax.DID) (string, error) {
	if d.Method() != "web" {
		return "", fmt.Errorf("%w %q: not a did:web", ErrInvalidDID, d)
	}
	parts := strings.Split(d.Identifier(), ":")
	host, err := url.PathUnescape(parts[0])
	if err != nil || host == "" || strings.ContainsAny(host, "/?#@\\ ") {
		return "", fmt.Errorf("%w %q: bad did:web host", ErrInvalidDID, d)
	}
	if h, port, err := net.SplitHostPort(host); err == nil {
		if h == "" || port == "" {
			return "", fmt.Errorf("%w %q: bad did:web host", ErrInvalidDID, d)
		}
	} else if strings.Contains(host, ":") {
		return "", fmt.Errorf("%w %q: bad did:web host", ErrInvalidDID, d)
	}
	if len(parts) == 1 {
		return "https://" + host + "/.well-known/did.json", nil
	}
	segs := parts[1:]
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || strings.Contains(s, "%") {
			return "", fmt.Errorf("%w %q: bad did:web path segment %q", ErrInvalidDID, d, s)
		}
	}
	return "https://" + host + "/" + strings.Join(segs, "/") + "/did.json", nil
}

// Document is the part of a DID document atproto uses.
type Document struct {
	DID syntax.DID
	// AlsoKnownAs as the document lists it.
	AlsoKnownAs []string
	// Handle is the first at:// entry of alsoKnownAs ("" if none or if it
	// is not a valid handle; then HandleErr says why).
	Handle    syntax.Handle
	HandleErr error
	// PDS is the #atproto_pds service endpoint ("" and PDSErr if none).
	PDS    string
	PDSErr error
	// SigningKey is the #atproto verification method (nil and KeyErr, which
	// wraps ErrNoAtprotoKey, if none is usable).
	SigningKey atcrypto.PublicKey
	KeyErr     error
	// Raw is the document as served.
	Raw []byte
}

type docJSON struct {
	ID          string   `json:"id"`
	AlsoKnownAs []string `json:"alsoKnownAs"`
	Service     []struct {
		ID              string          `json:"id"`
		Type            string          `json:"type"`
		ServiceEndpoint json.RawMessage `json:"serviceEndpoint"`
	} `json:"service"`
}

// ParseDocument reads a DID document and checks that it describes want.
func ParseDocument(want syntax.DID, raw []byte) (*Document, error) {
	var dj docJSON
	if err := json.Unmarshal(raw, &dj); err != nil {
		return nil, fmt.Errorf("%w for %s: %v", ErrInvalidDocument, want, err)
	}
	if dj.ID != want.String() {
		return nil, fmt.Errorf("%w: document for %s has id %q", ErrInvalidDocument, want, dj.ID)
	}
	doc := &Document{DID: want, AlsoKnownAs: dj.AlsoKnownAs, Raw: raw}

	doc.HandleErr = fmt.Errorf("%w: %s", ErrNoHandle, want)
	for _, aka := range dj.AlsoKnownAs {
		rest, ok := strings.CutPrefix(aka, "at://")
		if !ok {
			continue
		}
		h, err := ParseHandle(rest)
		if err != nil {
			doc.HandleErr = fmt.Errorf("document of %s claims %q: %w", want, aka, err)
		} else {
			doc.Handle, doc.HandleErr = h, nil
		}
		break
	}

	doc.PDSErr = fmt.Errorf("%w: %s", ErrNoPDS, want)
	for _, s := range dj.Service {
		if s.ID != "#atproto_pds" && s.ID != want.String()+"#atproto_pds" {
			continue
		}
		var ep string
		if json.Unmarshal(s.ServiceEndpoint, &ep) != nil || s.Type != "AtprotoPersonalDataServer" {
			doc.PDSErr = fmt.Errorf("%w: %s: #atproto_pds has type %q and endpoint %s", ErrNoPDS, want, s.Type, oneLine(string(s.ServiceEndpoint), 100))
			break
		}
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
			doc.PDSErr = fmt.Errorf("%w: %s: endpoint %q is not an http(s) origin", ErrNoPDS, want, ep)
			break
		}
		doc.PDS, doc.PDSErr = strings.TrimRight(ep, "/"), nil
		break
	}

	_, key, err := SigningKeyFromDIDDocument(raw)
	switch {
	case err == nil:
		doc.SigningKey = key
	case errors.Is(err, ErrNoSigningKey) || errors.Is(err, repo.ErrInvalidKey):
		doc.KeyErr = fmt.Errorf("%w: %s: %w", ErrNoAtprotoKey, want, err)
	default:
		return nil, fmt.Errorf("%w for %s: %w", ErrInvalidDocument, want, err)
	}
	return doc, nil
}

// DocumentURL is where the DID's document is fetched from.
func (r *Resolver) DocumentURL(d syntax.DID) (string, error) {
	switch d.Method() {
	case "plc":
		return r.plcHost() + "/" + d.String(), nil
	case "web":
		return DIDWebURL(d)
	}
	return "", fmt.Errorf("%w: %q", ErrUnsupportedDID, d)
}

// ResolveDID fetches and parses a DID's document: did:plc from the
// directory at PLCHost, did:web from its host.
func (r *Resolver) ResolveDID(ctx context.Context, did syntax.DID) (*Document, error) {
	d, err := ParseDID(did.String())
	if err != nil {
		return nil, err
	}
	u, err := r.DocumentURL(d)
	if err != nil {
		return nil, err
	}
	raw, err := r.getSmall(ctx, u, "application/did+ld+json, application/json", r.maxDoc())
	if err != nil {
		return nil, docFetchError(d, err)
	}
	return ParseDocument(d, raw)
}

func docFetchError(d syntax.DID, err error) error {
	var se *httpStatusError
	switch {
	case errors.Is(err, ErrDocumentTooLarge):
		return fmt.Errorf("document of %s: %w", d, err)
	case errors.As(err, &se) && se.Status == http.StatusNotFound:
		return fmt.Errorf("%w: %s (%v)", ErrDIDNotFound, d, err)
	case errors.As(err, &se) && se.Status == http.StatusGone:
		return fmt.Errorf("%w: %s (%v)", ErrDIDDeactivated, d, err)
	}
	return fmt.Errorf("%w %s: %w", ErrFetchDocument, d, err)
}

// RotationKeys returns a did:plc's current rotation keys (as did:key
// strings, highest priority first) from the directory's /<did>/data.
func (r *Resolver) RotationKeys(ctx context.Context, did syntax.DID) ([]string, error) {
	if did.Method() != "plc" {
		return nil, fmt.Errorf("%w %q: rotation keys exist only for did:plc", ErrInvalidDID, did)
	}
	u := r.plcHost() + "/" + did.String() + "/data"
	raw, err := r.getSmall(ctx, u, "application/json", r.maxDoc())
	if err != nil {
		return nil, docFetchError(did, err)
	}
	var data struct {
		DID          string   `json:"did"`
		RotationKeys []string `json:"rotationKeys"`
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidDocument, u, err)
	}
	if data.DID != "" && data.DID != did.String() {
		return nil, fmt.Errorf("%w: %s describes %q", ErrInvalidDocument, u, data.DID)
	}
	for _, k := range data.RotationKeys {
		if _, err := plc.ParseDIDKey(k); err != nil {
			return nil, fmt.Errorf("%w: %s: rotation key %q: %v", ErrInvalidDocument, u, k, err)
		}
	}
	return data.RotationKeys, nil
}
