package repo

import (
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// ParseRecordPath splits a repository path "collection/rkey" into a
// collection NSID and a record key, checking both. Errors wrap ErrInvalidPath.
func ParseRecordPath(p string) (collection syntax.NSID, rkey syntax.RecordKey, err error) {
	collection, rkey, err = syntax.ParseRepoPath(p)
	if err != nil {
		return "", "", fmt.Errorf("%w %s: %v", ErrInvalidPath, quote(p), err)
	}
	return collection, rkey, nil
}

// ParseATURI parses an at:// URI in the strict atproto form
// at://authority[/collection[/rkey]] (no query, fragment or trailing slash)
// and returns its parts; collection and rkey are "" when absent. Errors wrap
// ErrInvalidATURI.
//
// The authority is a DID or a handle; nothing is resolved. A DID is returned
// exactly as written (DIDs are case-sensitive). A handle is returned in
// lower case, its normal form (handles are case-insensitive), so it can be
// compared with other normalised handles but never equals a DID: callers that
// need the repository's DID must resolve the handle themselves or compare
// against the handle the DID document declares.
func ParseATURI(s string) (authority, collection, rkey string, err error) {
	u, err := syntax.ParseATURI(s)
	if err != nil {
		return "", "", "", fmt.Errorf("%w %s: %v", ErrInvalidATURI, quote(s), err)
	}
	id := u.Authority()
	if id == "" {
		return "", "", "", fmt.Errorf("%w %s: authority is neither a DID nor a handle", ErrInvalidATURI, quote(s))
	}
	if id.IsHandle() {
		authority = id.Normalize().String()
	} else {
		authority = id.String()
	}
	return authority, u.Collection().String(), u.RecordKey().String(), nil
}
