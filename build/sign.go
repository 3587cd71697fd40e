package build

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	secp256k1secec "gitlab.com/yawning/secp256k1-voi/secec"

	"github.com/arbor-atproto/arbor/repo"
)

// deterministicKey is a private key whose HashAndSign uses RFC 6979 nonces,
// so that signing the same bytes twice gives the same signature.
type deterministicKey struct {
	atcrypto.PrivateKeyExportable
}

// HashAndSign signs SHA-256(content) deterministically, in the compact
// low-S form atproto requires, and checks the signature with atcrypto.
func (k deterministicKey) HashAndSign(content []byte) ([]byte, error) {
	return SignDeterministic(k.PrivateKeyExportable, content)
}

// SignDeterministic signs SHA-256(msg) with key using RFC 6979 nonces: the
// same key and message always give the same 64-byte r||s signature, with S
// in the lower half of the curve order. The signature is verified with the
// key's public half (atcrypto) before it is returned.
func SignDeterministic(key atcrypto.PrivateKeyExportable, msg []byte) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no private key", repo.ErrInvalidKey)
	}
	hash := sha256.Sum256(msg)
	var sig []byte
	switch repo.KeyType(key) {
	case "k256":
		k, err := secp256k1secec.NewPrivateKey(key.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%w: k256 private key: %v", repo.ErrInvalidKey, err)
		}
		sig, err = k.Sign(secp256k1secec.RFC6979SHA256(), hash[:], &secp256k1secec.ECDSAOptions{
			Hash:     crypto.SHA256,
			Encoding: secp256k1secec.EncodingCompact,
		})
		if err != nil {
			return nil, fmt.Errorf("signing with k256 key: %w", err)
		}
	case "p256":
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), key.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%w: p256 private key: %v", repo.ErrInvalidKey, err)
		}
		der, err := k.Sign(nil, hash[:], crypto.SHA256) // nil: RFC 6979
		if err != nil {
			return nil, fmt.Errorf("signing with p256 key: %w", err)
		}
		var rs struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) > 0 {
			return nil, fmt.Errorf("signing with p256 key: unreadable signature")
		}
		n := elliptic.P256().Params().N
		if rs.S.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
			rs.S.Sub(n, rs.S)
		}
		sig = make([]byte, 64)
		rs.R.FillBytes(sig[:32])
		rs.S.FillBytes(sig[32:])
	default:
		return nil, fmt.Errorf("%w: unsupported key type %T", repo.ErrInvalidKey, key)
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: public half: %v", repo.ErrInvalidKey, err)
	}
	if err := repo.VerifyBytes(pub, msg, sig); err != nil {
		return nil, fmt.Errorf("deterministic signature does not verify: %w", err)
	}
	return sig, nil
}
