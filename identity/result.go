package identity

import (
	"encoding/json"
	"errors"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Resolution is a resolved identity as arbor resolve prints it with --json
// (that command's JSON schema; arbor fetch's result holds one too).
type Resolution struct {
	// DID is the account's DID.
	DID syntax.DID `json:"did"`
	// Handle is the handle the DID document claims (or the one asked for).
	Handle string `json:"handle,omitempty"`
	// HandleVerified says the handle resolves to the DID and the DID's
	// document claims the handle: checked both ways.
	HandleVerified bool `json:"handleVerified"`
	// HandleMethod is how the handle was resolved: "dns", "https" or
	// "resolver" (a com.atproto.identity.resolveHandle answer).
	HandleMethod string `json:"handleMethod,omitempty"`
	// HandleError says why the handle does not check out.
	HandleError string `json:"handleError,omitempty"`
	// PDS is the account's PDS endpoint, from the document.
	PDS string `json:"pds,omitempty"`
	// PDSError says why the document names no usable PDS.
	PDSError string `json:"pdsError,omitempty"`
	// SigningKey is the repository signing key (#atproto) as a did:key.
	SigningKey string `json:"signingKey,omitempty"`
	// SigningKeyErr says why the document has no usable signing key.
	SigningKeyErr string `json:"signingKeyError,omitempty"`
	// RotationKeys are a did:plc's rotation keys, highest priority first.
	RotationKeys []string `json:"rotationKeys,omitempty"`
	// Document is the DID document as it was served; null when it is not
	// JSON (or, in arbor fetch, left out of the report).
	Document json.RawMessage `json:"document"`
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// NewResolution describes id.
func NewResolution(id *Identity) Resolution {
	j := Resolution{
		DID: id.DID, Handle: id.Handle.String(), HandleVerified: id.HandleVerified,
		HandleMethod: id.HandleMethod, HandleError: errString(id.HandleErr),
		PDS: id.Doc.PDS, PDSError: errString(id.Doc.PDSErr),
		SigningKeyErr: errString(id.Doc.KeyErr), RotationKeys: id.RotationKeys,
		Document: json.RawMessage(id.Doc.Raw),
	}
	if id.Doc.SigningKey != nil {
		j.SigningKey = id.Doc.SigningKey.DIDKey()
	}
	if !json.Valid(j.Document) {
		j.Document = nil
	}
	return j
}

// Problem is the first thing wrong with a resolved identity: the handle not
// verified both ways (a DID claiming no handle is not a problem), no
// signing key, no PDS; nil when there is none.
func (id *Identity) Problem() error {
	switch {
	case id.HandleErr != nil && !errors.Is(id.HandleErr, ErrNoHandle):
		return id.HandleErr
	case id.Doc.KeyErr != nil:
		return id.Doc.KeyErr
	case id.Doc.PDSErr != nil:
		return id.Doc.PDSErr
	}
	return nil
}
