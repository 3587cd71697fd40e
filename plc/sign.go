package plc

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// Sign signs the operation in place with priv (k256 or p256, low-S),
// replacing any previous signature.
func Sign(op *Operation, priv atcrypto.PrivateKey) error {
	op.Sig = ""
	sig, err := priv.HashAndSign(op.UnsignedCBOR())
	if err != nil {
		return fmt.Errorf("signing operation: %w", err)
	}
	op.Sig = base64.RawURLEncoding.EncodeToString(sig)
	return nil
}

// DecodeSig decodes a signature string strictly: unpadded base64url, no
// padding characters, zero padding bits, no line breaks.
func DecodeSig(s string) ([]byte, error) {
	if s == "" {
		return nil, ErrNotSigned
	}
	if strings.ContainsAny(s, "\r\n") {
		return nil, wrapf(ErrSigEncoding, "line break in signature")
	}
	if strings.ContainsRune(s, '=') {
		return nil, wrapf(ErrSigEncoding, "padding character in signature")
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, wrapf(ErrSigEncoding, "%v", err)
	}
	return b, nil
}

// VerifySig checks the operation's signature against one public key. It
// returns nil, an error wrapping ErrBadOpSignature, or an encoding error
// (ErrNotSigned, ErrSigEncoding).
func VerifySig(op *Operation, pub atcrypto.PublicKey) error {
	sig, err := DecodeSig(op.Sig)
	if err != nil {
		return err
	}
	return verifyBytes(pub, op.UnsignedCBOR(), sig)
}

func verifyBytes(pub atcrypto.PublicKey, data, sig []byte) error {
	if err := pub.HashAndVerify(data, sig); err != nil {
		if errors.Is(err, atcrypto.ErrInvalidSignature) {
			return ErrBadOpSignature
		}
		return fmt.Errorf("%w: %v", ErrBadOpSignature, err)
	}
	return nil
}

// keyCache parses each did:key once.
type keyCache map[string]atcrypto.PublicKey

func (c keyCache) get(didKey string) (atcrypto.PublicKey, error) {
	if k, ok := c[didKey]; ok {
		return k, nil
	}
	k, err := atcrypto.ParsePublicDIDKey(didKey)
	if err != nil {
		return nil, wrapf(ErrBadDIDKey, "%q: %v", didKey, err)
	}
	if c != nil {
		c[didKey] = k
	}
	return k, nil
}

// ParseDIDKey parses a did:key public key (k256 or p256).
func ParseDIDKey(s string) (atcrypto.PublicKey, error) { return keyCache(nil).get(s) }

// verifyAny returns the index of the first key in keys whose signature
// check passes. A key that cannot be parsed is an error, as it is for the
// directory. An empty key list fails with ErrBadOpSignature.
func verifyAny(op *Operation, keys []string, cache keyCache) (int, error) {
	sig, err := DecodeSig(op.Sig)
	if err != nil {
		return -1, err
	}
	if len(keys) == 0 {
		return -1, fmt.Errorf("%w (no keys are allowed to sign here)", ErrBadOpSignature)
	}
	if len(sig) != 64 {
		return -1, wrapf(ErrBadOpSignature, "signature is %d bytes, not the 64-byte compact r||s form (DER-encoded?)", len(sig))
	}
	data := op.UnsignedCBOR()
	for i, k := range keys {
		pub, err := cache.get(k)
		if err != nil {
			return -1, err
		}
		if err := verifyBytes(pub, data, sig); err == nil {
			return i, nil
		}
	}
	for _, k := range keys {
		if pub, err := cache.get(k); err == nil && pub.HashAndVerifyLenient(data, sig) == nil {
			return -1, wrapf(ErrBadOpSignature, "high-S signature by %s (only low-S signatures are valid)", k)
		}
	}
	return -1, fmt.Errorf("%w (tried %d key(s))", ErrBadOpSignature, len(keys))
}
