package serviceauth

import (
	"errors"
	"fmt"
)

// Sentinels, one per way a token or a token request is refused. Every
// error this package returns is an *Error wrapping one of them.
var (
	// ErrMalformedJWT: not three base64url parts of the expected JSON.
	ErrMalformedJWT = errors.New("malformed service-auth token")
	// ErrJWTType: the header's typ is a session, refresh or DPoP type.
	ErrJWTType = errors.New("not a service-auth token type")
	// ErrJWTExpired: the token's exp has passed.
	ErrJWTExpired = errors.New("service-auth token expired")
	// ErrJWTAudience: the token is for another service.
	ErrJWTAudience = errors.New("service-auth token for another audience")
	// ErrJWTMethod: the token's lxm is missing or names another method.
	ErrJWTMethod = errors.New("service-auth token for another method")
	// ErrJWTIssuer: iss is not a DID (or DID#fragment), or not one the
	// verifier trusts.
	ErrJWTIssuer = errors.New("bad service-auth issuer")
	// ErrIssuerKey: the issuer's DID document could not be had, or has no
	// usable key.
	ErrIssuerKey = errors.New("issuer key unavailable")
	// ErrJWTSignature: the signature is not the issuer's key's, or the
	// algorithm does not fit the key.
	ErrJWTSignature = errors.New("service-auth signature does not match issuer")
	// ErrBadExpiration: a requested exp in the past, or further ahead than
	// the issuing limits allow.
	ErrBadExpiration = errors.New("bad service-auth expiration")
	// ErrProtectedMethod: a token was asked for a method that must be
	// called on the PDS itself.
	ErrProtectedMethod = errors.New("protected method")
	// ErrBadRequest: a token request that is not well formed (an audience
	// that is not a DID, an lxm that is not an NSID).
	ErrBadRequest = errors.New("bad service-auth request")
)

// Error is a refused token or token request. Name is the reference
// implementation's error name (what an XRPC error body carries), Message
// its one-line explanation.
type Error struct {
	Name    string
	Message string
	Err     error // one of the sentinels above
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Name, e.Message) }

func (e *Error) Unwrap() error { return e.Err }

func fail(sentinel error, name, format string, args ...any) *Error {
	return &Error{Name: name, Message: fmt.Sprintf(format, args...), Err: sentinel}
}
