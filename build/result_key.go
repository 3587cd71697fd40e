package build

import "fmt"

// NewKeyResult is a freshly generated keypair, as arbor key generate
// reports it (its --json form).
type NewKeyResult struct {
	// Type is the key type: "k256" (secp256k1) or "p256" (NIST P-256).
	Type string `json:"type"`
	// PrivateKey is the private key in multibase, given only when it was
	// not written to a file.
	PrivateKey string `json:"privateKey,omitempty"`
	// File is where the private key was written (mode 0600), if anywhere.
	File string `json:"file,omitempty"`
	// DIDKey is the public key as a did:key.
	DIDKey string `json:"didKey"`
	// PublicKeyMultibase is the public key in multibase.
	PublicKeyMultibase string `json:"publicKeyMultibase"`
}

// NewKey generates a key of keyType ("k256" or "p256"). With a file the
// private key is written there (WriteKeyFile: mode 0600, never over an
// existing file) and left out of the result; without one it is in the
// result.
func NewKey(keyType, file string) (*NewKeyResult, error) {
	key, err := GenerateKey(keyType)
	if err != nil {
		return nil, err
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("public key of a new %s key: %w", keyType, err)
	}
	if file != "" {
		if err := WriteKeyFile(file, key); err != nil {
			return nil, err
		}
	}
	res := &NewKeyResult{Type: keyType, File: file, DIDKey: pub.DIDKey(), PublicKeyMultibase: pub.Multibase()}
	if file == "" {
		res.PrivateKey = key.Multibase()
	}
	return res, nil
}
