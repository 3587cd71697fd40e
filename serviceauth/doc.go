// Package serviceauth makes and checks inter-service authentication tokens
// ("service auth"): short-lived JWTs an account's PDS signs with the
// account's own signing key, so that another service (an AppView, a new
// PDS during a migration) can check who is asking without sharing a secret.
//
// # Terms
//
//   - Issuer (iss): the account's DID, or DID#service for a service
//     identity (DID#atproto_labeler is checked against the document's
//     #atproto_label key; anything else against #atproto).
//   - Audience (aud): the DID (or DID#service) of the service the token is
//     for. A verifier only accepts tokens for itself.
//   - Lexicon method (lxm): the NSID of the one XRPC method the token is
//     good for. A token without lxm is good for any method of its
//     audience, so an issuer gives such tokens at most a minute of life.
//   - iat, exp: issue and expiry times, whole seconds since the epoch; exp
//     defaults to iat + 60 s, as the reference implementation writes it.
//   - jti: a random nonce (16 bytes, hex) so that two tokens differ.
//
// The wire format is the reference's (@atproto/xrpc-server
// createServiceJwt): header {"typ":"JWT","alg":ALG}, payload {iat, iss,
// aud, exp, lxm, jti}, each base64url JSON without padding; the signature
// is the key's raw 64-byte (r||s, low-S) ECDSA signature of
// "header.payload" hashed with SHA-256. ALG is ES256K for a k256 key and
// ES256 for a p256 key. All cryptography is indigo's atproto/atcrypto.
//
// # Checking
//
// Verify follows the reference's verifyJwt: three parts; a header with a
// string alg whose typ is not an access, refresh or DPoP type; a payload
// with string iss and aud and numeric exp; not expired; the audience one
// the verifier accepts; lxm equal to the method being called when the
// verifier asks for one; iss a DID or DID#fragment; the signature made by
// the issuer's current key, looked up in its DID document (looked up once
// more, fresh, when the first key does not match, for a key rotated since
// a cached lookup). As in the reference, a high-S signature is accepted
// when verifying (allowMalleableSig), while Create only writes low-S ones.
//
// # Issuing limits
//
// CheckRequest holds a token request to the reference PDS's getServiceAuth
// limits: exp not in the past and at most an hour ahead, at most a minute
// ahead for a token without lxm, and no token for a protected method
// (account management that must be called on the PDS itself).
//
// Errors are *Error values carrying the reference's error name (BadJwt,
// JwtExpired, BadJwtAudience, ...) and wrapping one of this package's
// sentinels, so callers use errors.Is and servers answer with the name.
//
// Nothing in this package prints, exits, or touches the network itself: a
// verifier passes a KeyResolver that looks DID documents up.
package serviceauth
