package identity

import (
	"context"
	"fmt"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Identity is everything Lookup learnt about an account.
type Identity struct {
	// Input is what was looked up, as given.
	Input string
	DID   syntax.DID
	// Handle is the handle given, or else the one the document claims.
	Handle syntax.Handle
	// HandleVerified is true when the handle resolves to DID and DID's
	// document claims the handle. Otherwise HandleErr says why (it wraps
	// ErrHandleMismatch, ErrNoHandle, ErrHandleNotFound, ...).
	HandleVerified bool
	HandleErr      error
	// HandleMethod is how the handle resolved (MethodDNS or MethodHTTPS), if
	// it was resolved.
	HandleMethod string
	// Doc is the DID document; its PDS and SigningKey (or PDSErr and
	// KeyErr) are the account's.
	Doc *Document
	// RotationKeys of a did:plc (nil for did:web).
	RotationKeys []string
}

// Lookup resolves a handle or a DID and checks the handle both ways.
//
// From a handle: the handle gives a DID (DNS, then HTTPS), whose document
// must claim at://<handle>. From a DID: the document gives the handle it
// claims, which must resolve back to the DID. A failed handle check is not
// an error of Lookup: it is reported in HandleVerified and HandleErr, and
// the caller decides. Errors are for what stops the lookup: bad syntax, a
// handle that does not resolve, a document that cannot be fetched or read.
func (r *Resolver) Lookup(ctx context.Context, input string) (*Identity, error) {
	id := &Identity{Input: input}
	var did syntax.DID
	if strings.HasPrefix(input, "did:") {
		d, err := ParseDID(input)
		if err != nil {
			return nil, err
		}
		did = d
	} else {
		h, err := ParseHandle(strings.TrimPrefix(input, "@"))
		if err != nil {
			return nil, err
		}
		id.Handle = h
		d, method, err := r.ResolveHandle(ctx, h.String())
		if err != nil {
			return nil, err
		}
		did, id.HandleMethod = d, method
	}
	id.DID = did
	doc, err := r.ResolveDID(ctx, did)
	if err != nil {
		return nil, err
	}
	id.Doc = doc
	if did.Method() == "plc" {
		keys, err := r.RotationKeys(ctx, did)
		if err != nil {
			return nil, err
		}
		id.RotationKeys = keys
	}

	if id.Handle != "" {
		// Forward resolution done; the document must claim the handle.
		if doc.Handle != id.Handle {
			claimed := "no handle"
			if doc.Handle != "" {
				claimed = "at://" + doc.Handle.String()
			}
			id.HandleErr = fmt.Errorf("%w: %s resolves to %s, whose document claims %s", ErrHandleMismatch, id.Handle, did, claimed)
			return id, nil
		}
		id.HandleVerified = true
		return id, nil
	}
	if doc.Handle == "" {
		id.HandleErr = doc.HandleErr
		return id, nil
	}
	id.Handle = doc.Handle
	back, method, err := r.ResolveHandle(ctx, doc.Handle.String())
	switch {
	case err != nil:
		id.HandleErr = fmt.Errorf("%w: %s claims %s, which does not resolve: %w", ErrHandleMismatch, did, doc.Handle, err)
	case back != did:
		id.HandleErr = fmt.Errorf("%w: %s claims %s, which resolves to %s", ErrHandleMismatch, did, doc.Handle, back)
	default:
		id.HandleVerified, id.HandleMethod = true, method
	}
	return id, nil
}
