package repo

import (
	"fmt"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// ParseRecordPath splits a repository path "collection/rkey" into a
// collection NSID and a record key, checking both. Errors wrap ErrInvalidPath.
func ParseRecordPath(p string) (collection syntax.NSID, rkey syntax.RecordKey, err error) {
	coll, key, ok := strings.Cut(p, "/")
	switch {
	case !ok || strings.Contains(key, "/"):
		return "", "", fmt.Errorf("%w %s: want COLLECTION/RKEY, like app.bsky.feed.post/3jzfcijpj2z2a", ErrInvalidPath, Quote(p))
	case !validNSID(coll):
		return "", "", fmt.Errorf("%w %s: the collection %v", ErrInvalidPath, Quote(p), CheckNSID(coll))
	case !validRecordKey(key):
		return "", "", fmt.Errorf("%w %s: the record key %s is not valid (%s)", ErrInvalidPath, Quote(p), Quote(key), RecordKeyRule)
	}
	collection, rkey, err = syntax.ParseRepoPath(p)
	if err != nil { // not reached: the parts are checked above
		return "", "", fmt.Errorf("%w %s", ErrInvalidPath, Quote(p))
	}
	return collection, rkey, nil
}

// RecordKeyRule says in words what a record key may be.
const RecordKeyRule = "1 to 512 of A-Z a-z 0-9 . - _ : ~, and not . or .."

// CheckNSID says, in plain words, why s is not an NSID (a collection's
// name); nil when it is one. Every command that takes a collection
// refuses one with this message.
func CheckNSID(s string) error {
	if validNSID(s) {
		return nil
	}
	return fmt.Errorf("%s is not a valid NSID (want reversed-domain names like app.bsky.feed.post)", Quote(s))
}

// ParseNSID returns s as an NSID, or an error in CheckNSID's words.
func ParseNSID(s string) (syntax.NSID, error) {
	if err := CheckNSID(s); err != nil {
		return "", err
	}
	return syntax.NSID(s), nil
}

func validNSID(s string) bool {
	_, err := syntax.ParseNSID(s)
	return err == nil
}

func validRecordKey(s string) bool {
	_, err := syntax.ParseRecordKey(s)
	return err == nil
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
		return "", "", "", fmt.Errorf("%w %s: %s", ErrInvalidATURI, Quote(s), atURIProblem(s))
	}
	id := u.Authority()
	if id == "" {
		return "", "", "", fmt.Errorf("%w %s: authority is neither a DID nor a handle", ErrInvalidATURI, Quote(s))
	}
	if id.IsHandle() {
		authority = id.Normalize().String()
	} else {
		authority = id.String()
	}
	return authority, u.Collection().String(), u.RecordKey().String(), nil
}

// atURIProblem says in words what is wrong with s, which syntax.ParseATURI
// refused.
func atURIProblem(s string) string {
	const want = "want at://DID/COLLECTION/RKEY, at://DID/COLLECTION or at://DID (a handle for the DID works too)"
	rest, ok := strings.CutPrefix(s, "at://")
	if !ok {
		return want
	}
	parts := strings.Split(rest, "/")
	if _, err := syntax.ParseAtIdentifier(parts[0]); err != nil {
		return fmt.Sprintf("%s is neither a DID nor a handle; %s", Quote(parts[0]), want)
	}
	if len(parts) > 1 && !validNSID(parts[1]) {
		return fmt.Sprintf("the collection %s is not a valid NSID; %s", Quote(parts[1]), want)
	}
	if len(parts) > 2 && !validRecordKey(parts[2]) {
		return fmt.Sprintf("the record key %s is not valid (%s)", Quote(parts[2]), RecordKeyRule)
	}
	return want
}
