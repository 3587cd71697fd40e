package plc

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// Document is a DID document in the form plc.directory serves it.
type Document struct {
	Context            []string             `json:"@context"`
	ID                 string               `json:"id"`
	AlsoKnownAs        []string             `json:"alsoKnownAs"`
	VerificationMethod []DocVerificationKey `json:"verificationMethod"`
	Service            []DocService         `json:"service"`
}

// DocVerificationKey is one verificationMethod entry of a Document.
type DocVerificationKey struct {
	ID                 string `json:"id"`
	Type               string `json:"type"`
	Controller         string `json:"controller"`
	PublicKeyMultibase string `json:"publicKeyMultibase"`
}

// DocService is one service entry of a Document.
type DocService struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	ServiceEndpoint string `json:"serviceEndpoint"`
}

// Data is the directory's /DID/data form of the current state.
type Data struct {
	DID                 syntax.DID         `json:"did"`
	VerificationMethods orderedStrings     `json:"verificationMethods"`
	RotationKeys        []string           `json:"rotationKeys"`
	AlsoKnownAs         []string           `json:"alsoKnownAs"`
	Services            orderedServiceList `json:"services"`
}

type orderedStrings []VerificationMethod

func (o orderedStrings) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, vm := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = dagcbor.AppendJSONString(b, vm.ID)
		b = append(b, ':')
		b = dagcbor.AppendJSONString(b, vm.Key)
	}
	return append(b, '}'), nil
}

type orderedServiceList []Service

func (o orderedServiceList) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, s := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = dagcbor.AppendJSONString(b, s.ID)
		b = append(b, `:{"type":`...)
		b = dagcbor.AppendJSONString(b, s.Type)
		b = append(b, `,"endpoint":`...)
		b = dagcbor.AppendJSONString(b, s.Endpoint)
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// Data returns the directory's data view of the current state, or an error
// wrapping ErrTombstoned.
func (s *State) Data() (*Data, error) {
	cur := s.Current()
	if cur == nil {
		return nil, wrapf(ErrTombstoned, "%s", s.DID)
	}
	return &Data{
		DID:                 s.DID,
		VerificationMethods: nonNilVMs(cur.VerificationMethods),
		RotationKeys:        nonNil(cur.RotationKeys),
		AlsoKnownAs:         nonNil(cur.AlsoKnownAs),
		Services:            nonNilSvcs(cur.Services),
	}, nil
}

// Document returns the DID document the directory serves for the current
// state, or an error wrapping ErrTombstoned.
func (s *State) Document() (*Document, error) {
	cur := s.Current()
	if cur == nil {
		return nil, wrapf(ErrTombstoned, "%s", s.DID)
	}
	return FormatDocument(s.DID, cur)
}

// FormatDocument builds the DID document for did from a (normalised)
// plc_operation, as @did-plc/lib's formatDidDoc does: one Multikey entry
// per verification method (with the suite context of its curve), services
// with "#id" ids, in the operation's order.
func FormatDocument(did syntax.DID, op *Operation) (*Document, error) {
	if op.Type == TypeCreate {
		op = op.Normalize()
	}
	if op.Type != TypeOperation {
		return nil, wrapf(ErrTombstoned, "%s", did)
	}
	doc := &Document{
		Context:            []string{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"},
		ID:                 did.String(),
		AlsoKnownAs:        nonNil(op.AlsoKnownAs),
		VerificationMethod: []DocVerificationKey{},
		Service:            []DocService{},
	}
	for _, vm := range op.VerificationMethods {
		pub, err := ParseDIDKey(vm.Key)
		if err != nil {
			return nil, fmt.Errorf("verification method %q: %w", vm.ID, err)
		}
		var ctx string
		switch pub.(type) {
		case *atcrypto.PublicKeyP256:
			ctx = "https://w3id.org/security/suites/ecdsa-2019/v1"
		case *atcrypto.PublicKeyK256:
			ctx = "https://w3id.org/security/suites/secp256k1-2019/v1"
		default:
			return nil, wrapf(ErrBadDIDKey, "verification method %q: unsupported key type", vm.ID)
		}
		if !slices.Contains(doc.Context, ctx) {
			doc.Context = append(doc.Context, ctx)
		}
		doc.VerificationMethod = append(doc.VerificationMethod, DocVerificationKey{
			ID:                 did.String() + "#" + vm.ID,
			Type:               "Multikey",
			Controller:         did.String(),
			PublicKeyMultibase: strings.TrimPrefix(vm.Key, "did:key:"),
		})
	}
	for _, sv := range op.Services {
		doc.Service = append(doc.Service, DocService{ID: "#" + sv.ID, Type: sv.Type, ServiceEndpoint: sv.Endpoint})
	}
	return doc, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilVMs(s []VerificationMethod) []VerificationMethod {
	if s == nil {
		return []VerificationMethod{}
	}
	return s
}

func nonNilSvcs(s []Service) []Service {
	if s == nil {
		return []Service{}
	}
	return s
}
