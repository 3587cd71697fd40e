package plc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// KnownBad lists DIDs and operation CIDs that are known not to validate in
// the production directory's export: historical operations the directory
// accepted before its rules were what they are (go-didplc keeps such lists
// in its testdata, known_bad_dids.json and known_bad_cids.json). A DID whose
// log fails is reported as known bad, not invalid, when the DID is listed or
// when the operation its failure names is.
//
// The zero value lists nothing; Add reads a list.
type KnownBad struct {
	dids map[string]bool
	cids map[string]bool
}

// Add reads a JSON array of strings and adds them: those that start with
// "did:" as DIDs, the others as operation CIDs. It returns how many were
// added.
func (k *KnownBad) Add(r io.Reader) (int, error) {
	var list []string
	if err := json.NewDecoder(r).Decode(&list); err != nil {
		return 0, fmt.Errorf("known-bad list: want a JSON array of DIDs or CIDs: %w", err)
	}
	if k.dids == nil {
		k.dids, k.cids = map[string]bool{}, map[string]bool{}
	}
	for _, s := range list {
		if strings.HasPrefix(s, "did:") {
			k.dids[s] = true
		} else {
			k.cids[s] = true
		}
	}
	return len(list), nil
}

// Len is the number of DIDs and CIDs listed.
func (k *KnownBad) Len() int {
	if k == nil {
		return 0
	}
	return len(k.dids) + len(k.cids)
}

// Covers reports whether a failure of did's log (err, an *OpError when it
// names the operation) is a known one.
func (k *KnownBad) Covers(did string, err error) bool {
	if k == nil {
		return false
	}
	if k.dids[did] {
		return true
	}
	var oe *OpError
	return errors.As(err, &oe) && oe.CID != "" && k.cids[oe.CID]
}
