package repo

import (
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// Sign signs a version 3 commit with key, replacing any previous signature.
// The commit's fields are checked first; version 2 commits cannot be signed
// (ErrLegacyCommit).
func (c *Commit) Sign(key atcrypto.PrivateKey) error {
	if key == nil {
		return fmt.Errorf("repo: signing commit: %w: no private key", ErrInvalidKey)
	}
	if err := c.check(); err != nil {
		return err
	}
	if c.Version != VersionCurrent {
		return fmt.Errorf("repo: signing commit of %s: %w", Quote(c.DID), ErrLegacyCommit)
	}
	sig, err := key.HashAndSign(c.UnsignedBytes())
	if err != nil {
		return fmt.Errorf("repo: signing commit of %s: %w", Quote(c.DID), err)
	}
	c.Sig = sig
	return nil
}

// VerifySignature checks the commit's signature against pub. It returns an
// error wrapping ErrUnsigned when there is no signature and ErrBadSignature
// when the signature does not verify, is high-S, or is not 64 bytes.
func (c *Commit) VerifySignature(pub atcrypto.PublicKey) error {
	if len(c.Sig) == 0 {
		return fmt.Errorf("repo: commit of %s: %w", Quote(c.DID), ErrUnsigned)
	}
	if err := VerifyBytes(pub, c.UnsignedBytes(), c.Sig); err != nil {
		return fmt.Errorf("repo: commit of %s rev %s: %w", Quote(c.DID), Quote(c.Rev), err)
	}
	return nil
}

// SignatureSize is the length of an atproto signature: compact r||s.
const SignatureSize = 64

// VerifyBytes checks an atproto signature (ECDSA over SHA-256 of msg, 64-byte
// compact r||s, low S) with pub. Every failure wraps ErrBadSignature; DER
// signatures and high-S signatures are rejected.
func VerifyBytes(pub atcrypto.PublicKey, msg, sig []byte) error {
	if pub == nil {
		return fmt.Errorf("%w: no public key", ErrBadSignature)
	}
	if len(sig) != SignatureSize {
		return fmt.Errorf("%w: signature is %d bytes, want %d (compact r||s)", ErrBadSignature, len(sig), SignatureSize)
	}
	if err := pub.HashAndVerify(msg, sig); err != nil {
		if errors.Is(err, atcrypto.ErrInvalidSignature) {
			return fmt.Errorf("%w: does not verify with %s key %s", ErrBadSignature, KeyType(pub), pub.DIDKey())
		}
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return nil
}
