package identity

import "errors"

// Errors returned by the resolver. Each is wrapped with the details (which
// handle, DID, URL or server) so that err.Error() reads as one line, and each
// can be tested with errors.Is.
var (
	// ErrInvalidHandle: the input is not a syntactically valid handle, or
	// uses a top-level domain atproto does not allow.
	ErrInvalidHandle = errors.New("invalid handle")
	// ErrInvalidDID: the input (or a DID a server returned) is not a
	// syntactically valid DID.
	ErrInvalidDID = errors.New("invalid DID")
	// ErrUnsupportedDID: a DID method other than did:plc and did:web.
	ErrUnsupportedDID = errors.New("unsupported DID method (only did:plc and did:web)")
	// ErrNoTXTRecord: DNS has no _atproto TXT record with a did= value for
	// the handle.
	ErrNoTXTRecord = errors.New("no _atproto TXT record")
	// ErrAmbiguousTXT: DNS has several different did= values for the handle.
	ErrAmbiguousTXT = errors.New("several different did= values in _atproto TXT records")
	// ErrDNS: the DNS lookup itself failed (server failure, timeout).
	ErrDNS = errors.New("DNS lookup failed")
	// ErrWellKnown: https://<handle>/.well-known/atproto-did did not give a
	// DID.
	ErrWellKnown = errors.New("well-known atproto-did lookup failed")
	// ErrHandleResolver: the handle resolver (Resolver.HandleResolver) did
	// not give a DID.
	ErrHandleResolver = errors.New("handle resolver lookup failed")
	// ErrHandleNotFound: neither DNS nor HTTPS resolved the handle. It wraps
	// the reasons of both (ErrNoTXTRecord or ErrDNS, and ErrWellKnown).
	ErrHandleNotFound = errors.New("handle does not resolve")
	// ErrHandleMismatch: the handle and the DID document do not point at
	// each other (the document does not claim the handle, or the handle it
	// claims resolves to another DID).
	ErrHandleMismatch = errors.New("handle mismatch")
	// ErrNoHandle: the DID document claims no at:// handle.
	ErrNoHandle = errors.New("DID document claims no handle")
	// ErrDIDNotFound: the directory or did:web host has no document.
	ErrDIDNotFound = errors.New("DID not found")
	// ErrDIDDeactivated: the did:plc directory reports the DID as
	// tombstoned (HTTP 410).
	ErrDIDDeactivated = errors.New("DID is deactivated")
	// ErrDocumentTooLarge: a document or response is over the size limit.
	ErrDocumentTooLarge = errors.New("document over the size limit")
	// ErrInvalidDocument: the DID document is not valid JSON of the
	// expected shape, or describes another DID.
	ErrInvalidDocument = errors.New("invalid DID document")
	// ErrFetchDocument: the document could not be fetched (network error,
	// HTTP error status).
	ErrFetchDocument = errors.New("could not fetch DID document")
	// ErrNoSigningKey: a DID document without an #atproto verification
	// method, or with more than one (SigningKeyFromDIDDocument). A resolved
	// document's KeyErr wraps it in ErrNoAtprotoKey.
	ErrNoSigningKey = errors.New("no #atproto signing key")
	// ErrNoAtprotoKey: the DID document has no usable #atproto verification
	// method.
	ErrNoAtprotoKey = errors.New("DID document has no atproto signing key")
	// ErrNoPDS: the DID document has no #atproto_pds service with an
	// http(s) endpoint.
	ErrNoPDS = errors.New("DID document has no atproto PDS endpoint")
	// ErrPDSUnreachable: the PDS could not be reached (connection refused,
	// DNS failure, TLS failure, timeout).
	ErrPDSUnreachable = errors.New("PDS unreachable")
	// ErrPDSRequest: the PDS answered with an error status.
	ErrPDSRequest = errors.New("PDS request failed")
	// ErrBlobMismatch: a downloaded blob's bytes do not match its CID, or the CID
	// is not a raw sha2-256 CID.
	ErrBlobMismatch = errors.New("blob does not match its CID")
	// ErrTooLarge: a repository or blob download is over the size limit
	// (announced, or reached while reading).
	ErrTooLarge = errors.New("download over the size limit")
	// ErrTooSlow: a download went silent for the timeout, or ran below
	// the minimum rate.
	ErrTooSlow = errors.New("download too slow")
)
