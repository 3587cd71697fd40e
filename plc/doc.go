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
// validate each log as it grows, with the same rules engine as ValidateLog
// (chain), but keeping per DID only what a later entry can reach: the head
// (its rotation keys), the operations a fork could still nullify (an
// active operation whose active child is less than RecoveryWindow older
// than the newest entry, so a later fork from it may still be in time),
// and nullified operations for their own window. Everything else is
// dropped, its nullified flag final and checked against the stream's when
// it goes; a worker also sweeps its idle DIDs as the stream's clock
// advances (the export is in time order; an entry that is older than the
// clock and names a dropped operation is reported as out of order). Memory
// therefore grows with DIDs, not operations. The one difference from the
// whole-log rules is the reason, never the verdict, given to an entry that
// names an operation no longer kept: it is invalid either way (a fork from
// it would be a late recovery, or it was nullified, or it never existed),
// and is reported as ErrPrevNotFound saying so. Shards split the DIDs by
// DIDHash, so n runs validate each DID exactly once. The production
// directory's history holds a few thousand operations that do not
// validate under today's rules; a KnownBad list (go-didplc publishes one)
// sets their DIDs' failures apart.
package plc
