package serviceauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

const (
	alice   = "did:plc:alice234567abcdefghijklm"
	newPDS  = "did:web:new.test"
	oldPDS  = "did:web:old.test"
	methodC = "com.atproto.server.createAccount"
)

var t0 = time.Unix(1_800_000_000, 0)

// keysOf serves one DID's key; a second key, when given, is what a fresh
// lookup returns (a rotation the cache had not seen).
type keysOf struct {
	did          syntax.DID
	cached, live atcrypto.PublicKey
	lookups      int
}

func (k *keysOf) IssuerKey(ctx context.Context, did syntax.DID, keyID string, fresh bool) (atcrypto.PublicKey, error) {
	k.lookups++
	if did != k.did || keyID != "atproto" {
		return nil, errors.New("unknown DID")
	}
	if fresh && k.live != nil {
		return k.live, nil
	}
	return k.cached, nil
}

func keys(t *testing.T) (atcrypto.PrivateKey, atcrypto.PrivateKey) {
	k := testfixtures.NewKey(t, false)
	p := testfixtures.NewKey(t, true)
	return k, p
}

func create(t *testing.T, p Params, k atcrypto.PrivateKey) string {
	t.Helper()
	tok, err := Create(p, k)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// retoken re-encodes a token's header or payload (then re-signs with k
// when k is not nil, so only the edited field is wrong).
func retoken(t *testing.T, tok string, part int, edit func(m map[string]any), k atcrypto.PrivateKey) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[part])
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ = json.Marshal(m)
	parts[part] = base64.RawURLEncoding.EncodeToString(b)
	if k != nil {
		sig, err := k.HashAndSign([]byte(parts[0] + "." + parts[1]))
		if err != nil {
			t.Fatal(err)
		}
		parts[2] = base64.RawURLEncoding.EncodeToString(sig)
	}
	return strings.Join(parts, ".")
}

func TestVerifyAcceptsOnlyTheRightIssuerAudienceMethodAndTime(t *testing.T) {
	k256, p256 := keys(t)
	other, _ := keys(t)
	base := Params{Iss: alice, Aud: newPDS, Lxm: methodC, Now: t0}
	good := create(t, base, k256)
	cases := []struct {
		name  string
		token string
		key   atcrypto.PrivateKey // the issuer's key in its document
		opts  VerifyOptions
		want  error
		code  string
	}{
		{"k256 token for this audience and method", good, k256, VerifyOptions{Audiences: []string{newPDS}, Lxm: methodC}, nil, ""},
		{"p256 token", create(t, base, p256), p256, VerifyOptions{Audiences: []string{newPDS}, Lxm: methodC}, nil, ""},
		{"audience not checked when none is given", good, k256, VerifyOptions{}, nil, ""},
		{"another audience", create(t, Params{Iss: alice, Aud: oldPDS, Lxm: methodC, Now: t0}, k256), k256, VerifyOptions{Audiences: []string{newPDS}, Lxm: methodC}, ErrJWTAudience, "BadJwtAudience"},
		{"another method", create(t, Params{Iss: alice, Aud: newPDS, Lxm: "com.atproto.repo.createRecord", Now: t0}, k256), k256, VerifyOptions{Lxm: methodC}, ErrJWTMethod, "BadJwtLexiconMethod"},
		{"no method where one is required", create(t, Params{Iss: alice, Aud: newPDS, Now: t0}, k256), k256, VerifyOptions{Lxm: methodC}, ErrJWTMethod, "BadJwtLexiconMethod"},
		{"expired", good, k256, VerifyOptions{Now: t0.Add(61 * time.Second)}, ErrJWTExpired, "JwtExpired"},
		{"signed by another key", good, other, VerifyOptions{}, ErrJWTSignature, "BadJwtSignature"},
		{"alg that does not fit the key", retoken(t, good, 0, func(m map[string]any) { m["alg"] = "ES256" }, k256), k256, VerifyOptions{}, ErrJWTSignature, "BadJwtSignature"},
		{"payload changed after signing", retoken(t, good, 1, func(m map[string]any) { m["aud"] = oldPDS }, nil), k256, VerifyOptions{}, ErrJWTSignature, "BadJwtSignature"},
		{"session token type", retoken(t, good, 0, func(m map[string]any) { m["typ"] = "at+jwt" }, k256), k256, VerifyOptions{}, ErrJWTType, "BadJwtType"},
		{"refresh token type", retoken(t, good, 0, func(m map[string]any) { m["typ"] = "refresh+jwt" }, k256), k256, VerifyOptions{}, ErrJWTType, "BadJwtType"},
		{"exp a string", retoken(t, good, 1, func(m map[string]any) { m["exp"] = "soon" }, k256), k256, VerifyOptions{}, ErrMalformedJWT, "BadJwt"},
		{"no aud", retoken(t, good, 1, func(m map[string]any) { delete(m, "aud") }, k256), k256, VerifyOptions{}, ErrMalformedJWT, "BadJwt"},
		{"iss not a DID", retoken(t, good, 1, func(m map[string]any) { m["iss"] = "alice" }, k256), k256, VerifyOptions{}, ErrJWTIssuer, "BadJwtIss"},
		{"iss with an empty fragment", retoken(t, good, 1, func(m map[string]any) { m["iss"] = alice + "#" }, k256), k256, VerifyOptions{}, ErrJWTIssuer, "BadJwtIss"},
		{"untrusted issuer", good, k256, VerifyOptions{Issuers: []string{"did:plc:someoneelse"}}, ErrJWTIssuer, "UntrustedIss"},
		{"two parts", "a.b", k256, VerifyOptions{}, ErrMalformedJWT, "BadJwt"},
		{"header not base64 JSON", "!!." + strings.SplitN(good, ".", 2)[1], k256, VerifyOptions{}, ErrMalformedJWT, "BadJwt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Keys = &keysOf{did: alice, cached: testfixtures.PublicKey(t, c.key)}
			if c.opts.Now.IsZero() {
				c.opts.Now = t0.Add(time.Second)
			}
			claims, err := Verify(context.Background(), c.token, c.opts)
			if c.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if claims.Iss != alice || claims.Jti == "" || claims.Iat != t0.Unix() || claims.Exp != t0.Add(DefaultLifetime).Unix() {
					t.Fatalf("claims %+v", claims)
				}
				return
			}
			var e *Error
			if !errors.Is(err, c.want) || !errors.As(err, &e) || e.Name != c.code {
				t.Fatalf("got %v, want %v (%s)", err, c.want, c.code)
			}
		})
	}
}

func TestVerifyLooksTheKeyUpAgainAfterARotation(t *testing.T) {
	oldKey, _ := keys(t)
	newKey, _ := keys(t)
	tok := create(t, Params{Iss: alice, Aud: newPDS, Now: t0}, newKey)
	res := &keysOf{did: alice, cached: testfixtures.PublicKey(t, oldKey), live: testfixtures.PublicKey(t, newKey)}
	if _, err := Verify(context.Background(), tok, VerifyOptions{Keys: res, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if res.lookups != 2 {
		t.Fatalf("%d lookups, want 2 (cached, then fresh)", res.lookups)
	}
	// A token signed with the old key is refused once the fresh key differs.
	tok = create(t, Params{Iss: alice, Aud: newPDS, Now: t0}, oldKey)
	res = &keysOf{did: alice, cached: testfixtures.PublicKey(t, newKey)}
	if _, err := Verify(context.Background(), tok, VerifyOptions{Keys: res, Now: t0}); !errors.Is(err, ErrJWTSignature) {
		t.Fatalf("got %v", err)
	}
}

func TestVerifyWithoutKnownIssuerIsIssuerKeyError(t *testing.T) {
	k, _ := keys(t)
	tok := create(t, Params{Iss: "did:plc:nobody", Aud: newPDS, Now: t0}, k)
	_, err := Verify(context.Background(), tok, VerifyOptions{Keys: &keysOf{did: alice, cached: testfixtures.PublicKey(t, k)}, Now: t0})
	if !errors.Is(err, ErrIssuerKey) {
		t.Fatalf("got %v", err)
	}
}

func TestCreateWritesTheReferenceShape(t *testing.T) {
	k, p := keys(t)
	for _, c := range []struct {
		key atcrypto.PrivateKey
		alg string
	}{{k, "ES256K"}, {p, "ES256"}} {
		tok := create(t, Params{Iss: alice, Aud: newPDS, Lxm: methodC, Now: t0, Exp: t0.Add(30 * time.Minute)}, c.key)
		parts := strings.Split(tok, ".")
		h, _ := base64.RawURLEncoding.DecodeString(parts[0])
		if string(h) != `{"typ":"JWT","alg":"`+c.alg+`"}` {
			t.Errorf("header %s", h)
		}
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		if len(sig) != 64 {
			t.Errorf("%s signature of %d bytes, want raw 64", c.alg, len(sig))
		}
		var m map[string]any
		b, _ := base64.RawURLEncoding.DecodeString(parts[1])
		json.Unmarshal(b, &m)
		jti, _ := m["jti"].(string)
		if m["iss"] != alice || m["aud"] != newPDS || m["lxm"] != methodC || m["iat"] != float64(t0.Unix()) || m["exp"] != float64(t0.Add(30*time.Minute).Unix()) || len(jti) != 32 {
			t.Errorf("payload %s", b)
		}
	}
	noLxm := create(t, Params{Iss: alice, Aud: newPDS, Now: t0}, k)
	b, _ := base64.RawURLEncoding.DecodeString(strings.Split(noLxm, ".")[1])
	if strings.Contains(string(b), "lxm") {
		t.Errorf("a method-less token carries lxm: %s", b)
	}
}

func TestCheckRequestHoldsTheReferenceLimits(t *testing.T) {
	cases := []struct {
		name string
		req  Request
		want error
	}{
		{"default expiry", Request{Aud: newPDS, Lxm: methodC}, nil},
		{"an hour for a method", Request{Aud: newPDS, Lxm: methodC, Exp: t0.Add(time.Hour)}, nil},
		{"a minute without method", Request{Aud: newPDS, Exp: t0.Add(time.Minute)}, nil},
		{"service reference audience", Request{Aud: newPDS + "#atproto_pds"}, nil},
		{"over an hour", Request{Aud: newPDS, Lxm: methodC, Exp: t0.Add(time.Hour + time.Second)}, ErrBadExpiration},
		{"over a minute without method", Request{Aud: newPDS, Exp: t0.Add(time.Minute + time.Second)}, ErrBadExpiration},
		{"in the past", Request{Aud: newPDS, Lxm: methodC, Exp: t0.Add(-time.Second)}, ErrBadExpiration},
		{"protected method", Request{Aud: newPDS, Lxm: "com.atproto.identity.signPlcOperation"}, ErrProtectedMethod},
		{"audience not a DID", Request{Aud: "new.test"}, ErrBadRequest},
		{"lxm not an NSID", Request{Aud: newPDS, Lxm: "create account"}, ErrBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckRequest(c.req, t0)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestKeyFromDocumentPicksTheNamedMethod(t *testing.T) {
	k, p := keys(t)
	doc := `{"id":"` + alice + `","verificationMethod":[
		{"id":"` + alice + `#atproto","type":"Multikey","controller":"` + alice + `","publicKeyMultibase":"` + testfixtures.PublicKey(t, k).Multibase() + `"},
		{"id":"#atproto_label","type":"Multikey","controller":"` + alice + `","publicKeyMultibase":"` + testfixtures.PublicKey(t, p).Multibase() + `"}]}`
	for _, c := range []struct {
		id   string
		want atcrypto.PublicKey
	}{{"atproto", testfixtures.PublicKey(t, k)}, {"atproto_label", testfixtures.PublicKey(t, p)}} {
		got, err := KeyFromDocument([]byte(doc), alice, c.id)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%s: %v", c.id, err)
		}
	}
	if _, err := KeyFromDocument([]byte(doc), alice, "other"); !errors.Is(err, ErrIssuerKey) {
		t.Errorf("missing method: %v", err)
	}
	if _, err := KeyFromDocument([]byte(doc), "did:plc:bob", "atproto"); !errors.Is(err, ErrIssuerKey) {
		t.Errorf("document of another DID: %v", err)
	}
}
