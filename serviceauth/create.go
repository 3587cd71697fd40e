package serviceauth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// DefaultLifetime is a token's life when no expiry is asked for.
const DefaultLifetime = time.Minute

// Claims is a token's payload.
type Claims struct {
	Iat int64  `json:"iat,omitempty"`
	Iss string `json:"iss"`
	Aud string `json:"aud"`
	Exp int64  `json:"exp"`
	Lxm string `json:"lxm,omitempty"`
	Jti string `json:"jti,omitempty"`
}

// Expires is exp as a time.
func (c *Claims) Expires() time.Time { return time.Unix(c.Exp, 0) }

// Params is what a token says.
type Params struct {
	// Iss is the issuer (a DID, or DID#service).
	Iss string
	// Aud is the audience (a DID, or DID#service).
	Aud string
	// Lxm is the method the token is good for; "" for any.
	Lxm string
	// Now is the issue time (zero: time.Now()).
	Now time.Time
	// Exp is the expiry (zero: Now + DefaultLifetime).
	Exp time.Time
}

type header struct {
	Typ string `json:"typ,omitempty"`
	Alg string `json:"alg"`
}

// Alg is the JWT algorithm name for a key's curve: ES256K (k256) or ES256
// (p256).
func Alg(key any) (string, error) {
	switch key.(type) {
	case *atcrypto.PrivateKeyK256, atcrypto.PrivateKeyK256, *atcrypto.PublicKeyK256:
		return "ES256K", nil
	case *atcrypto.PrivateKeyP256, *atcrypto.PublicKeyP256:
		return "ES256", nil
	}
	return "", fmt.Errorf("%w: unsupported key type %T", ErrBadRequest, key)
}

// Create signs a token with key, which must be the issuer's signing key.
// The issuing limits are CheckRequest's business, not Create's.
func Create(p Params, key atcrypto.PrivateKey) (string, error) {
	alg, err := Alg(key)
	if err != nil {
		return "", err
	}
	if p.Iss == "" || p.Aud == "" {
		return "", fail(ErrBadRequest, "InvalidRequest", "a service-auth token needs iss and aud")
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	exp := p.Exp
	if exp.IsZero() {
		exp = now.Add(DefaultLifetime)
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	c := Claims{Iat: now.Unix(), Iss: p.Iss, Aud: p.Aud, Exp: exp.Unix(), Lxm: p.Lxm, Jti: hex.EncodeToString(nonce)}
	hb, err := json.Marshal(header{Typ: "JWT", Alg: alg})
	if err != nil {
		return "", err
	}
	pb, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(hb) + "." + enc.EncodeToString(pb)
	sig, err := key.HashAndSign([]byte(signing))
	if err != nil {
		return "", fmt.Errorf("signing service-auth token: %w", err)
	}
	return signing + "." + enc.EncodeToString(sig), nil
}
