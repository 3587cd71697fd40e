package repo

import (
	"fmt"
	"os"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// KeyInfo is what can be said of a key without printing a private one: the
// result of InspectKey and arbor key inspect's --json form.
type KeyInfo struct {
	// Type is the key type, "k256" or "p256".
	Type string `json:"type"`
	// Private says the key given was a private key.
	Private bool `json:"private"`
	// DIDKey is the public key as a did:key.
	DIDKey string `json:"didKey"`
	// PublicKeyMultibase is the public key in multibase.
	PublicKeyMultibase string `json:"publicKeyMultibase"`
	// File is the key file read, when the key came from a file.
	File string `json:"file,omitempty"`
	// Warning says a private key file may be read by others (its mode
	// gives group or other any access).
	Warning string `json:"warning,omitempty"`
}

// InspectKey describes arg, a private or public key in any form
// LoadPrivateKey and LoadPublicKey take. file names the key file arg was
// read from ("" when it was given as a string); a private key file that
// others may read gets a Warning.
func InspectKey(arg, file string) (*KeyInfo, error) {
	var (
		pub     atcrypto.PublicKey
		private bool
		typ     string
	)
	if priv, err := LoadPrivateKey(arg); err == nil {
		pub, err = priv.PublicKey()
		if err != nil {
			return nil, err
		}
		private, typ = true, KeyType(priv)
	} else {
		pub, err = LoadPublicKey(arg)
		if err != nil {
			return nil, err
		}
		typ = KeyType(pub)
	}
	info := &KeyInfo{Type: typ, Private: private, DIDKey: pub.DIDKey(), PublicKeyMultibase: pub.Multibase(), File: file}
	if private && file != "" {
		if st, err := os.Stat(file); err == nil && st.Mode().Perm()&0o077 != 0 {
			info.Warning = fmt.Sprintf("%s holds a private key and others may read it (mode %04o); chmod 600 it", file, st.Mode().Perm())
		}
	}
	return info, nil
}
