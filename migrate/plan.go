package migrate

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/arbor-atproto/arbor/pdsclient"
	"github.com/arbor-atproto/arbor/plc"
)

// Errors.
var (
	// ErrStateMismatch: the state file is of another move, or unreadable.
	ErrStateMismatch = errors.New("state file does not match this move")
	// ErrWouldDropKey: the new operation would drop a rotation key the
	// user holds (DropRotationKeys allows it).
	ErrWouldDropKey = errors.New("operation would drop a rotation key")
	// ErrAlreadyHosted: the new PDS already hosts the DID.
	ErrAlreadyHosted = errors.New("the new PDS already hosts the DID")
	// ErrChecksFailed: the move finished, but a check afterwards failed.
	ErrChecksFailed = errors.New("checks after the move failed")
	// ErrStepFailed: a step did not complete (the state file keeps the
	// steps before it).
	ErrStepFailed = errors.New("migration step failed")
)

// UnknownKey stands in the plan for a key not known before the account
// exists on the new PDS.
const UnknownKey = "(the new PDS's key, known once the account exists there)"

// Plan is what the move will do.
type Plan struct {
	DID       string `json:"did"`
	OldPDS    string `json:"oldPds"`
	NewPDS    string `json:"newPds"`
	NewPDSDID string `json:"newPdsDid"`
	OldHandle string `json:"oldHandle"`
	NewHandle string `json:"newHandle"`
	// FromBackup is the backup directory of a move without the old PDS.
	FromBackup string `json:"fromBackup,omitempty"`
	// Records and Blobs are what will be copied; Preferences says whether
	// the app.bsky preferences will be (how many entries).
	Records     int64 `json:"records"`
	Blobs       int   `json:"blobs"`
	Preferences int   `json:"preferences"`
	// Operation is the did:plc operation that will be asked for.
	Operation Operation `json:"operation"`
}

// Operation is a planned did:plc operation.
type Operation struct {
	RotationKeys        []string                             `json:"rotationKeys"`
	AlsoKnownAs         []string                             `json:"alsoKnownAs"`
	VerificationMethods map[string]string                    `json:"verificationMethods"`
	Services            map[string]pdsclient.ServiceEndpoint `json:"services"`
	// SignedBy says who signs it: the old PDS, or the user's key.
	SignedBy string `json:"signedBy"`
	// Replaced are the old PDS's rotation keys it leaves out; Dropped any
	// other key it leaves out (only with DropRotationKeys).
	Replaced []string `json:"replaced,omitempty"`
	Dropped  []string `json:"dropped,omitempty"`
}

// credentials is the operation as signPlcOperation takes it.
func (o *Operation) credentials() *pdsclient.Credentials {
	return &pdsclient.Credentials{RotationKeys: o.RotationKeys, AlsoKnownAs: o.AlsoKnownAs, VerificationMethods: o.VerificationMethods, Services: o.Services}
}

// planOperation is cur with the old PDS's entries replaced: its rotation
// keys (oldKeys) by newKey, at the place of the first; the #atproto_pds
// endpoint; the #atproto key; the first at:// handle. Everything else is
// kept. More than plc's five rotation keys, or another key missing, is
// ErrWouldDropKey unless drop.
func planOperation(cur *plc.Operation, oldKeys []string, newKey, newPDS, newHandle, signing string, drop bool) (Operation, error) {
	var op Operation
	placed := false
	for _, k := range cur.RotationKeys {
		switch {
		case slices.Contains(oldKeys, k):
			op.Replaced = append(op.Replaced, k)
			if !placed {
				op.RotationKeys, placed = append(op.RotationKeys, newKey), true
			}
		case k != newKey:
			op.RotationKeys = append(op.RotationKeys, k)
		}
	}
	if !placed {
		op.RotationKeys = append(op.RotationKeys, newKey)
	}
	for len(op.RotationKeys) > 5 {
		if !drop {
			return op, fmt.Errorf("%w: with the new PDS's key the DID would have %d rotation keys, over did:plc's 5; allow dropping the last ones with --drop-rotation-key", ErrWouldDropKey, len(op.RotationKeys))
		}
		i := len(op.RotationKeys) - 1
		if op.RotationKeys[i] == newKey {
			i--
		}
		op.Dropped = append(op.Dropped, op.RotationKeys[i])
		op.RotationKeys = append(op.RotationKeys[:i], op.RotationKeys[i+1:]...)
	}
	op.AlsoKnownAs = []string{"at://" + newHandle}
	replacedHandle := false
	for _, a := range cur.AlsoKnownAs {
		if strings.HasPrefix(a, "at://") && !replacedHandle {
			replacedHandle = true
			continue
		}
		op.AlsoKnownAs = append(op.AlsoKnownAs, a)
	}
	op.VerificationMethods = map[string]string{"atproto": signing}
	for _, vm := range cur.VerificationMethods {
		if vm.ID != "atproto" {
			op.VerificationMethods[vm.ID] = vm.Key
		}
	}
	op.Services = map[string]pdsclient.ServiceEndpoint{"atproto_pds": {Type: "AtprotoPersonalDataServer", Endpoint: newPDS}}
	for _, s := range cur.Services {
		if s.ID != "atproto_pds" {
			op.Services[s.ID] = pdsclient.ServiceEndpoint{Type: s.Type, Endpoint: s.Endpoint}
		}
	}
	return op, nil
}

// matchSigned checks that a signed operation says what was planned.
func matchSigned(signed *plc.Operation, want Operation) error {
	if strings.Join(signed.RotationKeys, " ") != strings.Join(want.RotationKeys, " ") {
		return fmt.Errorf("%w: the signed operation's rotation keys are %v, planned %v", ErrWouldDropKey, signed.RotationKeys, want.RotationKeys)
	}
	got := map[string]string{}
	for _, vm := range signed.VerificationMethods {
		got[vm.ID] = vm.Key
	}
	if !equalMaps(got, want.VerificationMethods) {
		return fmt.Errorf("%w: the signed operation's verification methods are %v, planned %v", ErrStepFailed, got, want.VerificationMethods)
	}
	svc := map[string]string{}
	for _, s := range signed.Services {
		svc[s.ID] = s.Type + " " + s.Endpoint
	}
	wantSvc := map[string]string{}
	for id, s := range want.Services {
		wantSvc[id] = s.Type + " " + s.Endpoint
	}
	if !equalMaps(svc, wantSvc) || strings.Join(signed.AlsoKnownAs, " ") != strings.Join(want.AlsoKnownAs, " ") {
		return fmt.Errorf("%w: the signed operation's services or handle are not the planned ones", ErrStepFailed)
	}
	return nil
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
