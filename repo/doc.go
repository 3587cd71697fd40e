// Package repo holds the small, self-contained pieces of an atproto
// repository that are not the MST itself: the signed commit object, signing
// keys and signatures, TIDs (revisions and record keys), and record paths.
// Reading a whole repository CAR (the archive: Verify, Inspect, Export) is
// package archive's.
//
// # Commits
//
// A repository commit is a DAG-CBOR map. The current form, version 3, has
// exactly the fields did, version, data (the MST root), rev (a TID naming
// this revision), prev (a link to the previous commit, or null; the key must
// be present) and sig. Version 2 commits ("legacy") are still found in old
// exports: they have did, version, data, prev and sig, and may carry a rev
// (commits written during the v2→v3 transition do). They can be decoded,
// verified and re-encoded byte for byte, but not signed anew.
//
// The signature covers the canonical DAG-CBOR encoding of the commit map
// without its sig field ([Commit.UnsignedBytes]): SHA-256 of those bytes,
// signed with ECDSA over secp256k1 ("k256") or NIST P-256 ("p256"), as a
// 64-byte compact r||s value with a low S (the high-S twin of a valid
// signature, and DER-encoded signatures, are rejected). Keys and signature
// maths come from indigo's atcrypto package.
//
// Some version 2 commits were signed (with p256 keys) before atproto required
// low-S signatures, and about half of them carry high-S signatures;
// VerifySignature rejects those with ErrBadSignature like any other
// non-conforming signature.
//
// DecodeCommit is strict: it accepts exactly one canonical DAG-CBOR map with
// exactly the fields above, so that encoding a decoded commit always gives
// back the very same bytes, and therefore the same CID.
//
// # Keys
//
// Public keys are written as did:key strings or as multibase ("z…")
// multicodec strings; private keys as multibase strings as `goat key
// generate` prints them. DID documents name the repository signing key with
// the verification method "#atproto", either as a Multikey or in the older
// EcdsaSecp256k1VerificationKey2019 / EcdsaSecp256r1VerificationKey2019 form.
//
// # TIDs
//
// A TID ("timestamp identifier") is 13 characters of base32-sortable text
// encoding 64 bits: a zero top bit, 53 bits of microseconds since the UNIX
// epoch, and a 10-bit clock identifier. TIDs sort as strings in time order.
// They are indigo's syntax.TID; this package adds ParseTID (errors wrapping
// ErrInvalidTID), TIDFromTime (clamped to the range) and TIDClock (strictly
// increasing).
//
// # Paths
//
// Records live in a repository under the path "collection/rkey", where
// collection is an NSID and rkey a record key. AT URIs name a record from
// outside: at://authority/collection/rkey, where authority is a DID or a
// handle.
//
// Nothing in this package prints, exits or keeps package-level mutable state.
package repo
