package repo

import (
	"fmt"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/plc"
)

// CheckDID says, in plain words, why did cannot name a repository: it is
// not atproto DID syntax, or it is a did:plc that breaks the method's
// rule (plc.ValidDID). create and rewrite check --did with it before
// signing anything, verify a commit's DID.
func CheckDID(did string) error {
	if _, err := syntax.ParseDID(did); err != nil {
		return fmt.Errorf("%s is not a valid DID (want did:METHOD:ID, like did:plc:ewvi7nxzyoun6zhxrhs64oiz)", Quote(did))
	}
	if strings.HasPrefix(did, "did:plc:") && !plc.ValidDID(did) {
		return fmt.Errorf("%s is not a valid did:plc (want 24 characters of a-z and 2-7 after did:plc:)", Quote(did))
	}
	return nil
}
