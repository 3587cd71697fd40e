package plc

import (
	"strings"
)

// Operation types.
const (
	TypeOperation = "plc_operation"
	TypeTombstone = "plc_tombstone"
	TypeCreate    = "create" // legacy genesis form
)

// Service is one entry of an operation's services map.
type Service struct {
	ID       string // map key, e.g. "atproto_pds"
	Type     string
	Endpoint string
}

// VerificationMethod is one entry of an operation's verificationMethods map.
type VerificationMethod struct {
	ID  string // map key, e.g. "atproto"
	Key string // did:key
}

// Operation is a did:plc operation of any of the three types. Maps are kept
// as slices in the order they appeared in the JSON the operation was parsed
// from (the order the DID document lists them in); the DAG-CBOR encoding
// sorts them. Prev is "" for a genesis operation (null), Sig is "" when
// unsigned.
//
// Build an Operation with ParseOperation, or with the builders in this
// package, which check it.
type Operation struct {
	Type string

	// plc_operation
	RotationKeys        []string
	VerificationMethods []VerificationMethod
	AlsoKnownAs         []string
	Services            []Service

	// legacy create
	SigningKey  string
	RecoveryKey string
	Handle      string
	Service     string

	Prev string
	Sig  string
}

// IsGenesis reports whether the operation starts a log (prev is null).
func (op *Operation) IsGenesis() bool { return op.Type != TypeTombstone && op.Prev == "" }

// IsTombstone reports whether the operation is a tombstone.
func (op *Operation) IsTombstone() bool { return op.Type == TypeTombstone }

// IsLegacy reports whether the operation is a legacy create operation.
func (op *Operation) IsLegacy() bool { return op.Type == TypeCreate }

// Signed reports whether the operation carries a signature.
func (op *Operation) Signed() bool { return op.Sig != "" }

// EffectiveRotationKeys returns the rotation keys the operation grants, in
// priority order: its rotationKeys, [recoveryKey, signingKey] for a legacy
// create operation, and none for a tombstone.
func (op *Operation) EffectiveRotationKeys() []string {
	switch op.Type {
	case TypeOperation:
		return op.RotationKeys
	case TypeCreate:
		return []string{op.RecoveryKey, op.SigningKey}
	}
	return nil
}

// Normalize returns the plc_operation equivalent of op: a copy for a
// plc_operation, the normalised form for a legacy create operation (as
// @did-plc/lib's normalizeOp does it: "at://" and "https://" prefixes added
// when missing), and nil for a tombstone. The result keeps op's prev and sig.
func (op *Operation) Normalize() *Operation {
	switch op.Type {
	case TypeOperation:
		c := op.Clone()
		return c
	case TypeCreate:
		return &Operation{
			Type:                TypeOperation,
			RotationKeys:        []string{op.RecoveryKey, op.SigningKey},
			VerificationMethods: []VerificationMethod{{ID: "atproto", Key: op.SigningKey}},
			AlsoKnownAs:         []string{EnsureAtPrefix(op.Handle)},
			Services: []Service{{
				ID: "atproto_pds", Type: "AtprotoPersonalDataServer",
				Endpoint: EnsureHTTPPrefix(op.Service),
			}},
			Prev: op.Prev,
			Sig:  op.Sig,
		}
	}
	return nil
}

// Clone returns a deep copy of op.
func (op *Operation) Clone() *Operation {
	c := *op
	c.RotationKeys = append([]string(nil), op.RotationKeys...)
	c.VerificationMethods = append([]VerificationMethod(nil), op.VerificationMethods...)
	c.AlsoKnownAs = append([]string(nil), op.AlsoKnownAs...)
	c.Services = append([]Service(nil), op.Services...)
	return &c
}

// Unsigned returns a copy of op without its signature.
func (op *Operation) Unsigned() *Operation {
	c := op.Clone()
	c.Sig = ""
	return c
}

// Handle returns the first at:// alsoKnownAs entry without its prefix, or
// "" when there is none.
func (op *Operation) PrimaryHandle() string {
	n := op
	if op.Type == TypeCreate {
		n = op.Normalize()
	}
	for _, a := range n.AlsoKnownAs {
		if strings.HasPrefix(a, "at://") {
			return strings.TrimPrefix(a, "at://")
		}
	}
	return ""
}

// ServiceByID returns the service with the given id.
func (op *Operation) ServiceByID(id string) (Service, bool) {
	for _, s := range op.Services {
		if s.ID == id {
			return s, true
		}
	}
	return Service{}, false
}

// VerificationMethodByID returns the key of the verification method id.
func (op *Operation) VerificationMethodByID(id string) (string, bool) {
	for _, v := range op.VerificationMethods {
		if v.ID == id {
			return v.Key, true
		}
	}
	return "", false
}

// EnsureAtPrefix returns s with an "at://" prefix, dropping an http(s)://
// prefix, as @did-plc/lib's ensureAtprotoPrefix does.
func EnsureAtPrefix(s string) string {
	if strings.HasPrefix(s, "at://") {
		return s
	}
	s = strings.Replace(s, "http://", "", 1)
	s = strings.Replace(s, "https://", "", 1)
	return "at://" + s
}

// EnsureHTTPPrefix returns s with an "https://" prefix unless it already
// starts with http:// or https://, as @did-plc/lib's ensureHttpPrefix does.
func EnsureHTTPPrefix(s string) string {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return s
	}
	return "https://" + s
}
