// Package plc implements the did:plc method offline: typed operations,
// their canonical DAG-CBOR encoding, signatures, CIDs and DIDs, validation
// of a whole operation log as a directory does it, next-operation builders,
// rollbacks, and validation of a directory export stream.
//
// Terms
//
//   - Operation: one signed change to an identity. Three kinds exist:
//     "plc_operation" (rotationKeys, verificationMethods, alsoKnownAs,
//     services, prev, sig), "plc_tombstone" (prev, sig) which deactivates the
//     DID, and the legacy genesis form "create" (signingKey, recoveryKey,
//     handle, service, prev, sig) which only appears as the first operation of
//     old logs. A legacy create op is read as the plc_operation with
//     rotationKeys [recoveryKey, signingKey], verificationMethods
//     {atproto: signingKey}, alsoKnownAs ["at://"+handle] and one
//     atproto_pds service, the way @did-plc/lib normalises it.
//   - Signature: ECDSA (k256 or p256, low-S, 64-byte compact r||s) over the
//     DAG-CBOR encoding of the operation without its "sig" field, written as
//     base64url without padding. Decoding is strict: padding characters,
//     non-zero padding bits, line breaks and DER signatures are all refused.
//   - CID: CIDv1, codec dag-cbor, sha2-256 of the signed operation.
//   - DID: "did:plc:" followed by the first 24 characters of the lowercase
//     base32 (RFC 4648, no padding) of the sha256 of the signed genesis
//     operation.
//   - Audit log: the directory's /DID/log/audit answer, a JSON array of
//     {did, operation, cid, nullified, createdAt} in the order the directory
//     accepted them, nullified operations included.
//
// Validation rules (ValidateLog)
//
// The first entry is a genesis operation (prev null) that hashes to the DID
// and is signed by one of its own rotation keys. Every later operation names
// in prev an earlier, not nullified operation, and is signed by a rotation
// key of that operation. Each operation remembers the key that signed its
// first child: a later operation forking from it (a "nullification" of the
// chain that followed) must be signed by a key strictly earlier in the
// rotationKeys list (higher priority), and must come no more than 72 hours
// after the first operation it nullifies (exactly 72 hours is allowed).
// Timestamps strictly increase. Nothing can follow a tombstone (a tombstone
// has no rotation keys), though a tombstone can itself be nullified. The
// nullified flags of the log must match the ones the rules produce.
//
// Submission limits (CheckLimits) are the directory's rules for accepting a
// new operation; they are applied to operations this package builds, not to
// history, because real logs contain old operations that predate them. The
// one exception is the spec's own limit of five rotation keys, which
// @did-plc/lib holds every operation to and so does ValidateLog (no keys at
// all is valid in a log: the DID is frozen).
//
// Exports (ValidateExport)
//
// A directory export is every operation of every DID, in the order the
// directory accepted them. Entries are routed by DID to workers that
// validate each log as it grows. The production directory's history holds
// a few thousand operations that do not validate under today's rules; a
// KnownBad list (go-didplc publishes one) sets their DIDs' failures apart.
package plc
