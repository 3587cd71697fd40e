package plc

import "fmt"

// The directory's limits on a new operation (did-method-plc's server
// constraints.ts, assertValidIncomingOp), and the spec's rotation key count
// (@did-plc/lib's assureValidOp), whose maximum ValidateLog also holds
// every operation of a log to.
const (
	MaxOpBytes             = 4000 // DAG-CBOR of the signed operation
	MaxAlsoKnownAs         = 10
	MaxAlsoKnownAsLength   = 258 // a 253-character handle plus "at://"
	MinRotationKeys        = 1
	MaxRotationKeys        = 5 // the spec; the server's own constant is 10
	MaxVerificationMethods = 10
	MaxServices            = 10
	MaxServiceTypeLength   = 256
	MaxEndpointLength      = 512
	MaxIDLength            = 32  // service and verification method ids
	MaxDIDKeyLength        = 256 // a did:key string (k256: 57, BLS12-381: 143)
)

// CheckLimits checks a new operation against the directory's limits and
// returns a *LimitError (wrapping ErrLimit) or an ErrBadDIDKey error for the
// first one it breaks. Tombstones only have the size limit. Historical
// operations are not held to these limits by ValidateLog.
func CheckLimits(op *Operation) error {
	if n := len(op.SignedCBOR()); n > MaxOpBytes {
		return &LimitError{Field: "operation size (bytes of DAG-CBOR)", Limit: MaxOpBytes, Got: n}
	}
	if op.Type == TypeTombstone {
		return nil
	}
	if op.Type == TypeCreate {
		return &LimitError{Field: "type", Msg: "new operations cannot use the legacy create form"}
	}
	if n := len(op.AlsoKnownAs); n > MaxAlsoKnownAs {
		return &LimitError{Field: "alsoKnownAs entries", Limit: MaxAlsoKnownAs, Got: n}
	}
	seen := map[string]bool{}
	for i, a := range op.AlsoKnownAs {
		if len(a) > MaxAlsoKnownAsLength {
			return &LimitError{Field: fmt.Sprintf("alsoKnownAs[%d] length", i), Limit: MaxAlsoKnownAsLength, Got: len(a)}
		}
		if seen[a] {
			return &LimitError{Field: fmt.Sprintf("alsoKnownAs[%d]", i), Msg: fmt.Sprintf("duplicate entry %q", a)}
		}
		seen[a] = true
	}
	if err := checkRotationKeyCount(op); err != nil {
		return err // too many: the spec's rule, as every log is held to it
	}
	if n := len(op.RotationKeys); n < MinRotationKeys {
		return &LimitError{Field: "rotationKeys", Msg: fmt.Sprintf("%d keys; a new operation needs at least %d", n, MinRotationKeys)}
	}
	seen = map[string]bool{}
	for i, k := range op.RotationKeys {
		if len(k) > MaxDIDKeyLength {
			return &LimitError{Field: fmt.Sprintf("rotationKeys[%d] length", i), Limit: MaxDIDKeyLength, Got: len(k)}
		}
		if _, err := ParseDIDKey(k); err != nil {
			return fmt.Errorf("rotationKeys[%d]: %w", i, err)
		}
		if seen[k] {
			return &LimitError{Field: fmt.Sprintf("rotationKeys[%d]", i), Msg: fmt.Sprintf("duplicate key %s", k)}
		}
		seen[k] = true
	}
	if n := len(op.Services); n > MaxServices {
		return &LimitError{Field: "services entries", Limit: MaxServices, Got: n}
	}
	for _, s := range op.Services {
		if len(s.ID) > MaxIDLength {
			return &LimitError{Field: fmt.Sprintf("service id %q length", s.ID), Limit: MaxIDLength, Got: len(s.ID)}
		}
		if len(s.Type) > MaxServiceTypeLength {
			return &LimitError{Field: "services." + s.ID + ".type length", Limit: MaxServiceTypeLength, Got: len(s.Type)}
		}
		if len(s.Endpoint) > MaxEndpointLength {
			return &LimitError{Field: "services." + s.ID + ".endpoint length", Limit: MaxEndpointLength, Got: len(s.Endpoint)}
		}
	}
	if n := len(op.VerificationMethods); n > MaxVerificationMethods {
		return &LimitError{Field: "verificationMethods entries", Limit: MaxVerificationMethods, Got: n}
	}
	for _, vm := range op.VerificationMethods {
		if len(vm.Key) > MaxDIDKeyLength {
			return &LimitError{Field: "verificationMethods." + vm.ID + " length", Limit: MaxDIDKeyLength, Got: len(vm.Key)}
		}
		if len(vm.ID) > MaxIDLength {
			return &LimitError{Field: fmt.Sprintf("verification method id %q length", vm.ID), Limit: MaxIDLength, Got: len(vm.ID)}
		}
		if _, err := ParseDIDKey(vm.Key); err != nil {
			return fmt.Errorf("verificationMethods.%s: %w", vm.ID, err)
		}
	}
	return nil
}
