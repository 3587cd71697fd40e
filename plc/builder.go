package plc

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// GenesisParams describes a new identity.
type GenesisParams struct {
	RotationKeys []string // did:keys, highest priority first
	SigningKey   string   // did:key of the atproto verification method
	Handle       string   // with or without "at://"
	PDS          string   // PDS endpoint URL
}

// NewGenesis builds and signs a genesis operation and returns it with its
// DID. signer must hold one of the rotation keys. The operation is checked
// against the directory's limits and validated as a one-entry log.
func NewGenesis(p GenesisParams, signer atcrypto.PrivateKey) (*Operation, syntax.DID, error) {
	op := &Operation{
		Type:         TypeOperation,
		RotationKeys: append([]string(nil), p.RotationKeys...),
		AlsoKnownAs:  []string{},
		Services:     []Service{},
	}
	if p.SigningKey != "" {
		op.VerificationMethods = []VerificationMethod{{ID: "atproto", Key: p.SigningKey}}
	}
	if p.Handle != "" {
		h, err := checkHandle(p.Handle)
		if err != nil {
			return nil, "", err
		}
		op.AlsoKnownAs = []string{h}
	}
	if p.PDS != "" {
		op.Services = []Service{{ID: "atproto_pds", Type: "AtprotoPersonalDataServer", Endpoint: EnsureHTTPPrefix(p.PDS)}}
	}
	if err := signerIsRotationKey(signer, op.RotationKeys); err != nil {
		return nil, "", err
	}
	if err := CheckLimits(op); err != nil {
		return nil, "", err
	}
	if err := Sign(op, signer); err != nil {
		return nil, "", err
	}
	did, err := DIDFromGenesis(op)
	if err != nil {
		return nil, "", err
	}
	if _, err := ValidateLog(did, []LogEntry{{Operation: op}}); err != nil {
		return nil, "", fmt.Errorf("built genesis operation does not validate: %w", err)
	}
	return op, did, nil
}

func checkHandle(h string) (string, error) {
	bare := strings.TrimPrefix(h, "at://")
	if _, err := syntax.ParseHandle(bare); err != nil {
		return "", fmt.Errorf("%w: %q is not a valid handle (want a domain name like alice.bsky.social)", ErrMalformedOp, bare)
	}
	return "at://" + strings.ToLower(bare), nil
}

func signerIsRotationKey(signer atcrypto.PrivateKey, keys []string) error {
	pub, err := signer.PublicKey()
	if err != nil {
		return err
	}
	dk := pub.DIDKey()
	for _, k := range keys {
		if k == dk {
			return nil
		}
	}
	return wrapf(ErrNotRotationKey, "%s is not among the rotation keys [%s]", dk, strings.Join(keys, ", "))
}

// Update is a change to apply on top of the current state. Empty fields
// are left as they are.
type Update struct {
	Handle             string
	PDS                string
	SigningKey         string
	AddRotationKeys    []string
	AddFirst           bool // add the new rotation keys at the highest priority
	RemoveRotationKeys []string
	Tombstone          bool
}

// NextOperation builds and signs the next operation on top of the log's
// head, then checks it against the directory's limits and validates the
// log with it appended (created at now) before returning it.
func NextOperation(st *State, u Update, signer atcrypto.PrivateKey, now time.Time) (*Operation, error) {
	if st.Tombstoned() {
		return nil, wrapf(ErrTombstoned, "%s: nothing can follow its tombstone", st.DID)
	}
	head := st.Head()
	if err := signerIsRotationKey(signer, head.EffectiveRotationKeys()); err != nil {
		return nil, fmt.Errorf("head operation %s: %w", st.HeadCID(), err)
	}
	var op *Operation
	if u.Tombstone {
		op = &Operation{Type: TypeTombstone}
	} else {
		op = st.Current()
		op.Sig = ""
		changed := false
		if u.Handle != "" {
			h, err := checkHandle(u.Handle)
			if err != nil {
				return nil, err
			}
			aka := []string{h}
			replaced := false
			for _, a := range op.AlsoKnownAs {
				if strings.HasPrefix(a, "at://") && !replaced {
					replaced = true
					continue
				}
				aka = append(aka, a)
			}
			changed = changed || !slices.Equal(aka, op.AlsoKnownAs)
			op.AlsoKnownAs = aka
		}
		if u.PDS != "" {
			ep := EnsureHTTPPrefix(u.PDS)
			found := false
			for i, s := range op.Services {
				if s.ID == "atproto_pds" {
					found = true
					if s.Endpoint != ep || s.Type != "AtprotoPersonalDataServer" {
						op.Services[i] = Service{ID: "atproto_pds", Type: "AtprotoPersonalDataServer", Endpoint: ep}
						changed = true
					}
				}
			}
			if !found {
				op.Services = append(op.Services, Service{ID: "atproto_pds", Type: "AtprotoPersonalDataServer", Endpoint: ep})
				changed = true
			}
		}
		if u.SigningKey != "" {
			if _, err := ParseDIDKey(u.SigningKey); err != nil {
				return nil, fmt.Errorf("signing key: %w", err)
			}
			found := false
			for i, vm := range op.VerificationMethods {
				if vm.ID == "atproto" {
					found = true
					if vm.Key != u.SigningKey {
						op.VerificationMethods[i].Key = u.SigningKey
						changed = true
					}
				}
			}
			if !found {
				op.VerificationMethods = append(op.VerificationMethods, VerificationMethod{ID: "atproto", Key: u.SigningKey})
				changed = true
			}
		}
		for _, rm := range u.RemoveRotationKeys {
			keys := op.RotationKeys[:0:0]
			for _, k := range op.RotationKeys {
				if k != rm {
					keys = append(keys, k)
				}
			}
			if len(keys) == len(op.RotationKeys) {
				return nil, wrapf(ErrNoChange, "rotation key %s is not in the current list", rm)
			}
			op.RotationKeys = keys
			changed = true
		}
		for _, add := range u.AddRotationKeys {
			if slices.Contains(op.RotationKeys, add) {
				return nil, wrapf(ErrNoChange, "rotation key %s is already in the list", add)
			}
		}
		if len(u.AddRotationKeys) > 0 {
			if u.AddFirst {
				op.RotationKeys = append(append([]string(nil), u.AddRotationKeys...), op.RotationKeys...)
			} else {
				op.RotationKeys = append(op.RotationKeys, u.AddRotationKeys...)
			}
			changed = true
		}
		if !changed {
			return nil, ErrNoChange
		}
	}
	op.Prev = st.HeadCID()
	if err := CheckLimits(op); err != nil {
		return nil, err
	}
	if err := Sign(op, signer); err != nil {
		return nil, err
	}
	if err := CheckNext(st, op, now); err != nil {
		return nil, err
	}
	return op, nil
}

// CheckNext validates the log with op appended, created at now (ignored
// for a log without timestamps), and returns the first error.
func CheckNext(st *State, op *Operation, now time.Time) error {
	_, err := st.Append(op, now)
	return err
}

// Append returns the state of the log with op appended, created at now.
// The receiver is not changed.
func (st *State) Append(op *Operation, now time.Time) (*State, error) {
	entries := make([]LogEntry, len(st.entries), len(st.entries)+1)
	copy(entries, st.entries)
	e := LogEntry{Operation: op}
	if st.timed {
		e = LogEntry{DID: st.DID.String(), Operation: op, CID: op.CID().String(), CreatedAt: now, HasMeta: true}
	}
	entries = append(entries, e)
	// The old entries' nullified flags were checked when st was built; the
	// new operation may nullify some of them, so the result's flags come
	// from the rules alone.
	next, err := validateLog(st.DID, entries, make(keyCache, 4), false)
	if err != nil {
		return nil, err
	}
	for i := range next.entries {
		next.entries[i].Nullified = next.Entries[i].Nullified
	}
	return next, nil
}
