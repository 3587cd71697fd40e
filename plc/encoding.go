package plc

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"sort"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"
)

// ParseOperation parses one operation from its JSON form. It is strict:
// unknown or duplicate fields, wrong JSON types, missing fields and trailing
// data are errors wrapping ErrMalformedOp (ErrUnknownType for an unknown
// "type"). The signature is not checked here.
func ParseOperation(data []byte) (*Operation, error) {
	v, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	return opFromJSON(&v)
}

func malformed(format string, args ...any) error {
	return wrapf(ErrMalformedOp, format, args...)
}

func opFromJSON(v *jvalue) (*Operation, error) {
	if v.kind != jObject {
		return nil, malformed("operation is a JSON %s, not an object", v.kind)
	}
	tv, ok := v.get("type")
	if !ok {
		return nil, malformed("missing \"type\"")
	}
	if tv.kind != jString {
		return nil, malformed("\"type\" is a %s, not a string", tv.kind)
	}
	op := &Operation{Type: tv.str}
	var allowed map[string]bool
	switch op.Type {
	case TypeOperation:
		allowed = opFields
	case TypeTombstone:
		allowed = tombFields
	case TypeCreate:
		allowed = createFields
	default:
		return nil, wrapf(ErrUnknownType, "%q", op.Type)
	}
	for _, m := range v.obj {
		if !allowed[m.key] {
			return nil, malformed("unknown field %q in a %s operation", m.key, op.Type)
		}
	}
	for name := range allowed {
		if name == "sig" {
			continue
		}
		if _, ok := v.get(name); !ok {
			return nil, malformed("missing %q in a %s operation", name, op.Type)
		}
	}
	var err error
	for _, m := range v.obj {
		f := &m.val
		switch m.key {
		case "type":
		case "sig":
			op.Sig, err = jstr(f, "sig")
			if err == nil && op.Sig == "" {
				err = malformed("\"sig\" is empty")
			}
		case "prev":
			if f.kind == jNull {
				if op.Type == TypeTombstone {
					err = malformed("a tombstone's \"prev\" cannot be null")
				}
				break
			}
			op.Prev, err = jstr(f, "prev")
			if err == nil && op.Prev == "" {
				err = malformed("\"prev\" is an empty string")
			}
			if err == nil && op.Type == TypeCreate {
				err = malformed("a legacy create operation must have a null \"prev\"")
			}
		case "rotationKeys":
			op.RotationKeys, err = jstrs(f, "rotationKeys")
		case "alsoKnownAs":
			op.AlsoKnownAs, err = jstrs(f, "alsoKnownAs")
		case "verificationMethods":
			op.VerificationMethods, err = jvms(f)
		case "services":
			op.Services, err = jservices(f)
		case "signingKey":
			op.SigningKey, err = jstr(f, "signingKey")
		case "recoveryKey":
			op.RecoveryKey, err = jstr(f, "recoveryKey")
		case "handle":
			op.Handle, err = jstr(f, "handle")
		case "service":
			op.Service, err = jstr(f, "service")
		}
		if err != nil {
			return nil, err
		}
	}
	return op, nil
}

var (
	opFields     = map[string]bool{"type": true, "rotationKeys": true, "verificationMethods": true, "alsoKnownAs": true, "services": true, "prev": true, "sig": true}
	tombFields   = map[string]bool{"type": true, "prev": true, "sig": true}
	createFields = map[string]bool{"type": true, "signingKey": true, "recoveryKey": true, "handle": true, "service": true, "prev": true, "sig": true}
)

func jstr(v *jvalue, name string) (string, error) {
	if v.kind != jString {
		return "", malformed("%q is a %s, not a string", name, v.kind)
	}
	return v.str, nil
}

func jstrs(v *jvalue, name string) ([]string, error) {
	if v.kind != jArray {
		return nil, malformed("%q is a %s, not an array", name, v.kind)
	}
	out := make([]string, len(v.arr))
	for i := range v.arr {
		if v.arr[i].kind != jString {
			return nil, malformed("%s[%d] is a %s, not a string", name, i, v.arr[i].kind)
		}
		out[i] = v.arr[i].str
	}
	return out, nil
}

func jvms(v *jvalue) ([]VerificationMethod, error) {
	if v.kind != jObject {
		return nil, malformed("\"verificationMethods\" is a %s, not an object", v.kind)
	}
	out := make([]VerificationMethod, 0, len(v.obj))
	for _, m := range v.obj {
		if m.val.kind != jString {
			return nil, malformed("verificationMethods.%s is a %s, not a string", m.key, m.val.kind)
		}
		out = append(out, VerificationMethod{ID: m.key, Key: m.val.str})
	}
	return out, nil
}

func jservices(v *jvalue) ([]Service, error) {
	if v.kind != jObject {
		return nil, malformed("\"services\" is a %s, not an object", v.kind)
	}
	out := make([]Service, 0, len(v.obj))
	for _, m := range v.obj {
		s := Service{ID: m.key}
		if m.val.kind != jObject {
			return nil, malformed("services.%s is a %s, not an object", m.key, m.val.kind)
		}
		var haveType, haveEndpoint bool
		for _, f := range m.val.obj {
			var err error
			switch f.key {
			case "type":
				s.Type, err = jstr(&f.val, "services."+m.key+".type")
				haveType = true
			case "endpoint":
				s.Endpoint, err = jstr(&f.val, "services."+m.key+".endpoint")
				haveEndpoint = true
			default:
				err = malformed("unknown field %q in services.%s", f.key, m.key)
			}
			if err != nil {
				return nil, err
			}
		}
		if !haveType || !haveEndpoint {
			return nil, malformed("services.%s needs both \"type\" and \"endpoint\"", m.key)
		}
		out = append(out, s)
	}
	return out, nil
}

// MarshalJSON writes the operation in the directory's JSON form. Fields come
// in a fixed order; maps keep their order.
func (op *Operation) MarshalJSON() ([]byte, error) {
	return op.AppendJSON(nil), nil
}

// AppendJSON appends the operation's compact JSON to b.
func (op *Operation) AppendJSON(b []byte) []byte {
	field := func(name string, first bool) {
		if !first {
			b = append(b, ',')
		}
		b = dagcbor.AppendJSONString(b, name)
		b = append(b, ':')
	}
	strs := func(ss []string) {
		b = append(b, '[')
		for i, s := range ss {
			if i > 0 {
				b = append(b, ',')
			}
			b = dagcbor.AppendJSONString(b, s)
		}
		b = append(b, ']')
	}
	b = append(b, '{')
	field("type", true)
	b = dagcbor.AppendJSONString(b, op.Type)
	switch op.Type {
	case TypeOperation:
		field("rotationKeys", false)
		strs(op.RotationKeys)
		field("verificationMethods", false)
		b = append(b, '{')
		for i, vm := range op.VerificationMethods {
			field(vm.ID, i == 0)
			b = dagcbor.AppendJSONString(b, vm.Key)
		}
		b = append(b, '}')
		field("alsoKnownAs", false)
		strs(op.AlsoKnownAs)
		field("services", false)
		b = append(b, '{')
		for i, s := range op.Services {
			field(s.ID, i == 0)
			b = append(b, '{')
			field("type", true)
			b = dagcbor.AppendJSONString(b, s.Type)
			field("endpoint", false)
			b = dagcbor.AppendJSONString(b, s.Endpoint)
			b = append(b, '}')
		}
		b = append(b, '}')
	case TypeCreate:
		field("signingKey", false)
		b = dagcbor.AppendJSONString(b, op.SigningKey)
		field("recoveryKey", false)
		b = dagcbor.AppendJSONString(b, op.RecoveryKey)
		field("handle", false)
		b = dagcbor.AppendJSONString(b, op.Handle)
		field("service", false)
		b = dagcbor.AppendJSONString(b, op.Service)
	}
	field("prev", false)
	if op.Prev == "" {
		b = append(b, "null"...)
	} else {
		b = dagcbor.AppendJSONString(b, op.Prev)
	}
	if op.Sig != "" {
		field("sig", false)
		b = dagcbor.AppendJSONString(b, op.Sig)
	}
	return append(b, '}')
}

// UnsignedCBOR returns the canonical DAG-CBOR of the operation without its
// "sig" field: the bytes a signature covers.
func (op *Operation) UnsignedCBOR() []byte { return op.appendCBOR(nil, false) }

// SignedCBOR returns the canonical DAG-CBOR of the operation including its
// "sig" field (omitted when unsigned): the bytes its CID and, for a genesis
// operation, its DID hash.
func (op *Operation) SignedCBOR() []byte { return op.appendCBOR(nil, true) }

func (op *Operation) appendCBOR(buf []byte, withSig bool) []byte {
	w := dagcbor.NewWriter(buf)
	sig := withSig && op.Sig != ""
	n := 0
	if sig {
		n = 1
	}
	// Keys in DAG-CBOR order: shorter first, then bytewise. Every form
	// starts with sig (when written), prev and type; fields is how many
	// keys follow them.
	head := func(fields int) {
		w.WriteMapHeader(n + 2 + fields)
		if sig {
			w.WriteString("sig")
			w.WriteString(op.Sig)
		}
		w.WriteString("prev")
		if op.Prev == "" {
			w.WriteNull()
		} else {
			w.WriteString(op.Prev)
		}
		w.WriteString("type")
		w.WriteString(op.Type)
	}
	switch op.Type {
	case TypeOperation:
		head(4)
		w.WriteString("services")
		svcs := sortedServices(op.Services)
		w.WriteMapHeader(len(svcs))
		for _, s := range svcs {
			w.WriteString(s.ID)
			w.WriteMapHeader(2)
			w.WriteString("type")
			w.WriteString(s.Type)
			w.WriteString("endpoint")
			w.WriteString(s.Endpoint)
		}
		w.WriteString("alsoKnownAs")
		w.WriteArrayHeader(len(op.AlsoKnownAs))
		for _, a := range op.AlsoKnownAs {
			w.WriteString(a)
		}
		w.WriteString("rotationKeys")
		w.WriteArrayHeader(len(op.RotationKeys))
		for _, k := range op.RotationKeys {
			w.WriteString(k)
		}
		w.WriteString("verificationMethods")
		vms := sortedVMs(op.VerificationMethods)
		w.WriteMapHeader(len(vms))
		for _, vm := range vms {
			w.WriteString(vm.ID)
			w.WriteString(vm.Key)
		}
	case TypeCreate:
		head(4)
		w.WriteString("handle")
		w.WriteString(op.Handle)
		w.WriteString("service")
		w.WriteString(op.Service)
		w.WriteString("signingKey")
		w.WriteString(op.SigningKey)
		w.WriteString("recoveryKey")
		w.WriteString(op.RecoveryKey)
	default: // tombstone
		head(0)
	}
	return w.Bytes()
}

func keyLess(a, b string) bool { return dagcbor.CompareKeys([]byte(a), []byte(b)) < 0 }

func sortedServices(in []Service) []Service {
	if sort.SliceIsSorted(in, func(i, j int) bool { return keyLess(in[i].ID, in[j].ID) }) {
		return in
	}
	out := append([]Service(nil), in...)
	sort.Slice(out, func(i, j int) bool { return keyLess(out[i].ID, out[j].ID) })
	return out
}

func sortedVMs(in []VerificationMethod) []VerificationMethod {
	if sort.SliceIsSorted(in, func(i, j int) bool { return keyLess(in[i].ID, in[j].ID) }) {
		return in
	}
	out := append([]VerificationMethod(nil), in...)
	sort.Slice(out, func(i, j int) bool { return keyLess(out[i].ID, out[j].ID) })
	return out
}

// CID returns the operation's CID: CIDv1, dag-cbor, sha2-256 of SignedCBOR.
func (op *Operation) CID() cid.Cid {
	return dagcbor.SumCID(dagcbor.CodecDagCBOR, op.SignedCBOR())
}

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// DIDFromGenesis returns the DID a signed genesis operation creates.
func DIDFromGenesis(op *Operation) (syntax.DID, error) {
	if !op.IsGenesis() {
		return "", wrapf(ErrNotGenesis, "%s with prev %q", op.Type, op.Prev)
	}
	if !op.Signed() {
		return "", fmt.Errorf("%w: a DID comes from the signed genesis operation", ErrNotSigned)
	}
	return didFromSignedCBOR(op.SignedCBOR()), nil
}

func didFromSignedCBOR(signed []byte) syntax.DID {
	h := sha256.Sum256(signed)
	return syntax.DID("did:plc:" + b32.EncodeToString(h[:])[:24])
}

// ParseDID returns s as a DID when it is a well-formed did:plc identifier
// (ValidDID); otherwise an error wrapping ErrBadDID.
func ParseDID(s string) (syntax.DID, error) {
	if !ValidDID(s) {
		return "", wrapf(ErrBadDID, "%q", s)
	}
	return syntax.DID(s), nil
}

// ValidDID reports whether s is syntactically a did:plc identifier:
// "did:plc:" and 24 characters of lowercase base32.
func ValidDID(s string) bool {
	if len(s) != 32 || s[:8] != "did:plc:" {
		return false
	}
	for i := 8; i < 32; i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
