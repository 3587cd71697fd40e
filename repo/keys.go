package repo

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/mr-tron/base58"
)

// ParsePublicKey parses a public key written as a did:key ("did:key:z…") or
// as a multibase multicodec string ("z…", the publicKeyMultibase of a
// Multikey). Errors wrap ErrInvalidKey.
func ParsePublicKey(s string) (atcrypto.PublicKey, error) {
	var (
		k   atcrypto.PublicKey
		err error
	)
	if strings.HasPrefix(s, "did:") {
		k, err = atcrypto.ParsePublicDIDKey(s)
	} else {
		k, err = atcrypto.ParsePublicMultibase(s)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: public key %s: %v", ErrInvalidKey, Quote(s), err)
	}
	return k, nil
}

// ParsePrivateKey parses a private key as the reference tools print it: a
// multibase multicodec string ("z…", as `goat key generate` prints and
// atcrypto's Multibase method returns), which says whether it is k256 or
// p256.
//
// Also accepted: 64 hexadecimal digits, read as a raw secp256k1 (k256) key,
// the form the TypeScript PDS keeps in its *_K256_PRIVATE_KEY_HEX settings.
//
// Errors wrap ErrInvalidKey and never repeat the key material.
func ParsePrivateKey(s string) (atcrypto.PrivateKeyExportable, error) {
	if len(s) == 64 && isHex(s) {
		b, _ := hex.DecodeString(s)
		k, err := atcrypto.ParsePrivateBytesK256(b)
		if err != nil {
			return nil, fmt.Errorf("%w: hex k256 private key: %v", ErrInvalidKey, err)
		}
		return k, nil
	}
	k, err := atcrypto.ParsePrivateMultibase(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not a multibase private key (%d characters): %v", ErrInvalidKey, len(s), err)
	}
	return k, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// maxKeyFile bounds how much of a key file is read.
const maxKeyFile = 64 << 10

// readKeyArg returns the key text named by arg: the trimmed contents of the
// file arg when such a file exists, otherwise arg itself. from is the file
// name, or "" when arg was used as the key.
func readKeyArg(arg string) (text, from string, err error) {
	st, statErr := os.Stat(arg)
	if statErr != nil {
		if errors.Is(statErr, fs.ErrNotExist) || strings.ContainsAny(arg, "\x00") {
			return strings.TrimSpace(arg), "", nil
		}
		// A path that exists but cannot be inspected (e.g. permission denied).
		return "", arg, fmt.Errorf("%w: key file %s: %v", ErrInvalidKey, Quote(arg), statErr)
	}
	if st.IsDir() {
		return "", arg, fmt.Errorf("%w: key file %s is a directory", ErrInvalidKey, Quote(arg))
	}
	if st.Size() > maxKeyFile {
		return "", arg, fmt.Errorf("%w: key file %s is %d bytes, too large for a key", ErrInvalidKey, Quote(arg), st.Size())
	}
	b, err := os.ReadFile(arg)
	if err != nil {
		return "", arg, fmt.Errorf("%w: key file %s: %v", ErrInvalidKey, Quote(arg), err)
	}
	return strings.TrimSpace(string(b)), arg, nil
}

// LoadPrivateKey reads a private key given on a command line: arg is either
// the path of a file holding one key string (surrounding whitespace ignored)
// or the key string itself, in any form ParsePrivateKey accepts. An existing
// file wins over the string interpretation. Errors name the file and wrap
// ErrInvalidKey; they never repeat the key material.
func LoadPrivateKey(arg string) (atcrypto.PrivateKeyExportable, error) {
	text, from, err := readKeyArg(arg)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKey(text)
	if err != nil {
		if from != "" {
			return nil, fmt.Errorf("key file %s: %w", Quote(from), err)
		}
		return nil, fmt.Errorf("private key argument is neither an existing file nor a key: %w", err)
	}
	return k, nil
}

// LoadPublicKey reads a public key given on a command line: arg is a file
// path or the key string itself, as for LoadPrivateKey. The key may be a
// did:key, a public multibase string, or a private key (anything
// ParsePrivateKey accepts), whose public half is returned.
func LoadPublicKey(arg string) (atcrypto.PublicKey, error) {
	text, from, err := readKeyArg(arg)
	if err != nil {
		return nil, err
	}
	k, perr := ParsePublicKey(text)
	if perr == nil {
		return k, nil
	}
	if priv, err := ParsePrivateKey(text); err == nil {
		pub, err := priv.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("%w: public half of private key: %v", ErrInvalidKey, err)
		}
		return pub, nil
	}
	// Report the public-key error without echoing what may be secret.
	perr = fmt.Errorf("%w: neither a did:key, a public multibase key nor a private key (%d characters)", ErrInvalidKey, len(text))
	if from != "" {
		return nil, fmt.Errorf("key file %s: %w", Quote(from), perr)
	}
	return nil, fmt.Errorf("public key argument is neither an existing file nor a key: %w", perr)
}

// KeyType names the curve of an atcrypto key: "k256" for secp256k1, "p256"
// for NIST P-256, "" for anything else (including nil).
func KeyType(k any) string {
	switch k.(type) {
	case *atcrypto.PublicKeyK256, *atcrypto.PrivateKeyK256, atcrypto.PublicKeyK256, atcrypto.PrivateKeyK256:
		return "k256"
	case *atcrypto.PublicKeyP256, *atcrypto.PrivateKeyP256, atcrypto.PublicKeyP256, atcrypto.PrivateKeyP256:
		return "p256"
	}
	return ""
}

// Verification method types that can carry an atproto signing key.
const (
	// MethodMultikey: publicKeyMultibase is a multicodec key (the current form).
	MethodMultikey = "Multikey"
	// MethodK256Legacy: publicKeyMultibase is a bare secp256k1 point.
	MethodK256Legacy = "EcdsaSecp256k1VerificationKey2019"
	// MethodP256Legacy: publicKeyMultibase is a bare P-256 point.
	MethodP256Legacy = "EcdsaSecp256r1VerificationKey2019"
)

// ParseVerificationKey parses the publicKeyMultibase of a DID document's
// verification method of type typ: a Multikey (multicodec key), or the
// legacy EcdsaSecp256k1VerificationKey2019 / EcdsaSecp256r1VerificationKey2019
// forms, whose value is the bare curve point, compressed or uncompressed, in
// base58btc. (Finding the method in a document is package identity's.)
func ParseVerificationKey(typ, mb string) (atcrypto.PublicKey, error) {
	if typ == MethodMultikey {
		return atcrypto.ParsePublicMultibase(mb)
	}
	if typ != MethodK256Legacy && typ != MethodP256Legacy {
		return nil, fmt.Errorf("unsupported verification method type")
	}
	if !strings.HasPrefix(mb, "z") || len(mb) < 2 {
		return nil, fmt.Errorf("publicKeyMultibase is not base58btc multibase")
	}
	b, err := base58.Decode(mb[1:])
	if err != nil {
		return nil, fmt.Errorf("publicKeyMultibase: %v", err)
	}
	compressed := len(b) == 33
	switch {
	case typ == MethodK256Legacy && compressed:
		return atcrypto.ParsePublicBytesK256(b)
	case typ == MethodK256Legacy:
		return atcrypto.ParsePublicUncompressedBytesK256(b)
	case compressed:
		return atcrypto.ParsePublicBytesP256(b)
	default:
		return atcrypto.ParsePublicUncompressedBytesP256(b)
	}
}
