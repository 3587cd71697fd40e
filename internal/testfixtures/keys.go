package testfixtures

import (
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// NewKey generates a fresh signing key: P-256 when p256, else K-256.
func NewKey(tb testing.TB, p256 bool) atcrypto.PrivateKeyExportable {
	tb.Helper()
	var k atcrypto.PrivateKeyExportable
	var err error
	if p256 {
		k, err = atcrypto.GeneratePrivateKeyP256()
	} else {
		k, err = atcrypto.GeneratePrivateKeyK256()
	}
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// PublicKey returns k's public key; a key without one fails the test.
func PublicKey(tb testing.TB, k atcrypto.PrivateKey) atcrypto.PublicKey {
	tb.Helper()
	p, err := k.PublicKey()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
