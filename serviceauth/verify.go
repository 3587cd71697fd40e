package serviceauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// KeyResolver finds an issuer's public key: the verification method keyID
// ("atproto" or "atproto_label", without the #) of did's document. fresh
// asks for a lookup that bypasses any cache (the signature did not match
// the first key).
type KeyResolver interface {
	IssuerKey(ctx context.Context, did syntax.DID, keyID string, fresh bool) (atcrypto.PublicKey, error)
}

// KeyResolverFunc is a function that is a KeyResolver.
type KeyResolverFunc func(ctx context.Context, did syntax.DID, keyID string, fresh bool) (atcrypto.PublicKey, error)

// IssuerKey calls f.
func (f KeyResolverFunc) IssuerKey(ctx context.Context, did syntax.DID, keyID string, fresh bool) (atcrypto.PublicKey, error) {
	return f(ctx, did, keyID, fresh)
}

// VerifyOptions says what a verifier accepts.
type VerifyOptions struct {
	// Audiences are the aud values accepted (the verifier's own DID, and
	// DID#service forms). Empty: the audience is not checked.
	Audiences []string
	// Lxm is the method being called; the token's lxm must equal it. "":
	// not checked.
	Lxm string
	// Issuers, when not empty, are the only iss values trusted.
	Issuers []string
	// Now is the clock (zero: time.Now()).
	Now time.Time
	// Keys looks issuers' keys up. Required.
	Keys KeyResolver
}

// Verify checks a token as the reference's verifyJwt does (see the package
// documentation) and returns its claims.
func Verify(ctx context.Context, token string, opts VerifyOptions) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fail(ErrMalformedJWT, "BadJwt", "poorly formatted jwt")
	}
	var h struct {
		Typ any `json:"typ"`
		Alg any `json:"alg"`
	}
	if err := decodePart(parts[0], &h); err != nil {
		return nil, err
	}
	alg, ok := h.Alg.(string)
	if !ok {
		return nil, fail(ErrMalformedJWT, "BadJwt", "poorly formatted jwt")
	}
	if typ, _ := h.Typ.(string); typ == "at+jwt" || typ == "refresh+jwt" || typ == "dpop+jwt" {
		return nil, fail(ErrJWTType, "BadJwtType", "Invalid jwt type %q", typ)
	}
	c, err := parsePayload(parts[1])
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	if float64(now.UnixMilli())/1000 > c.expFloat {
		return nil, fail(ErrJWTExpired, "JwtExpired", "jwt expired")
	}
	if len(opts.Audiences) > 0 && !slices.Contains(opts.Audiences, c.Aud) {
		return nil, fail(ErrJWTAudience, "BadJwtAudience", "jwt audience does not match service did")
	}
	if opts.Lxm != "" && c.Lxm != opts.Lxm {
		if c.Lxm == "" {
			return nil, fail(ErrJWTMethod, "BadJwtLexiconMethod", "missing jwt lexicon method (\"lxm\"). must match: %s", opts.Lxm)
		}
		return nil, fail(ErrJWTMethod, "BadJwtLexiconMethod", "bad jwt lexicon method (\"lxm\"). must match: %s", opts.Lxm)
	}
	did, keyID, err := ParseIssuer(c.Iss)
	if err != nil {
		return nil, err
	}
	if len(opts.Issuers) > 0 && !slices.Contains(opts.Issuers, c.Iss) {
		return nil, fail(ErrJWTIssuer, "UntrustedIss", "Untrusted issuer")
	}
	sig, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err != nil {
		return nil, fail(ErrJWTSignature, "BadJwtSignature", "could not verify jwt signature")
	}
	signed := []byte(parts[0] + "." + parts[1])
	if err := checkSignature(ctx, opts.Keys, did, keyID, alg, signed, sig); err != nil {
		return nil, err
	}
	return &c.Claims, nil
}

// checkSignature verifies with the issuer's key, and once more with a
// fresh lookup when that key does not match.
func checkSignature(ctx context.Context, keys KeyResolver, did syntax.DID, keyID, alg string, signed, sig []byte) error {
	if keys == nil {
		return fail(ErrIssuerKey, "AuthenticationRequired", "no way to look issuer keys up")
	}
	var last atcrypto.PublicKey
	for _, fresh := range []bool{false, true} {
		key, err := keys.IssuerKey(ctx, did, keyID, fresh)
		if err != nil {
			return &Error{Name: "AuthenticationRequired", Message: "could not resolve the key of " + did.String() + ": " + err.Error(), Err: errors.Join(ErrIssuerKey, err)}
		}
		if last != nil && key.Equal(last) {
			break
		}
		last = key
		want, err := Alg(key)
		if err != nil || want != alg {
			return fail(ErrJWTSignature, "BadJwtSignature", "could not verify jwt signature")
		}
		if key.HashAndVerifyLenient(signed, sig) == nil {
			return nil
		}
	}
	return fail(ErrJWTSignature, "BadJwtSignature", "jwt signature does not match jwt issuer")
}

// ParseIssuer splits iss into its DID and the verification method its
// signature is checked against: "atproto_label" for DID#atproto_labeler,
// "atproto" otherwise.
func ParseIssuer(iss string) (syntax.DID, string, error) {
	d, frag, hasFrag := strings.Cut(iss, "#")
	did, err := syntax.ParseDID(d)
	if err != nil || (hasFrag && (frag == "" || strings.Contains(frag, "#"))) {
		return "", "", fail(ErrJWTIssuer, "BadJwtIss", "jwt iss is not a valid did")
	}
	if frag == "atproto_labeler" {
		return did, "atproto_label", nil
	}
	return did, "atproto", nil
}

type parsedClaims struct {
	Claims
	expFloat float64
}

func decodePart(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(part, "="))
	if err != nil {
		return fail(ErrMalformedJWT, "BadJwt", "poorly formatted jwt")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fail(ErrMalformedJWT, "BadJwt", "poorly formatted jwt")
	}
	return nil
}

// parsePayload reads the payload, holding its fields to the reference's
// types: string iss and aud, numeric exp, string lxm when present.
func parsePayload(part string) (*parsedClaims, error) {
	var raw struct {
		Iat any `json:"iat"`
		Iss any `json:"iss"`
		Aud any `json:"aud"`
		Exp any `json:"exp"`
		Lxm any `json:"lxm"`
		Jti any `json:"jti"`
	}
	if err := decodePart(part, &raw); err != nil {
		return nil, err
	}
	iss, ok1 := raw.Iss.(string)
	aud, ok2 := raw.Aud.(string)
	exp, ok3 := raw.Exp.(float64)
	lxm, ok4 := raw.Lxm.(string)
	if !ok1 || !ok2 || !ok3 || math.IsNaN(exp) || (raw.Lxm != nil && !ok4) {
		return nil, fail(ErrMalformedJWT, "BadJwt", "poorly formatted jwt")
	}
	c := &parsedClaims{Claims: Claims{Iss: iss, Aud: aud, Exp: int64(exp), Lxm: lxm}, expFloat: exp}
	if iat, ok := raw.Iat.(float64); ok {
		c.Iat = int64(iat)
	}
	if jti, ok := raw.Jti.(string); ok {
		c.Jti = jti
	}
	return c, nil
}

// ReadClaims decodes a token's payload without checking anything but its
// form (for showing a token one was just given; Verify is the check).
func ReadClaims(token string) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fail(ErrMalformedJWT, "BadJwt", "poorly formatted jwt")
	}
	c, err := parsePayload(parts[1])
	if err != nil {
		return nil, err
	}
	return &c.Claims, nil
}
