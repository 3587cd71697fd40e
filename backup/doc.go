// Package backup keeps a complete, incremental, verifiable copy of one
// AT Protocol account in a directory (arbor backup, arbor backup verify).
// Like every core package it never prints or exits; it reaches the network
// only through identity (the PDS, handles, DID documents) and plc.Client
// (the audit log).
//
// # The backup directory
//
//	DIR/manifest.json      what is there (Manifest): DID, handle, PDS, rev,
//	                       commit CID, records per collection, every blob
//	                       (size, MIME type, the records that reference it,
//	                       stored or failed and why), the SHA-256 and size of
//	                       every other file, and when each part was refreshed
//	DIR/repo.car           the repository (com.atproto.sync.getRepo), whole
//	DIR/did.json           the DID document as it was served
//	DIR/plc-audit.json     for did:plc, the directory's /log/audit as served
//	DIR/preferences.json   {"preferences": [...]}, app.bsky.actor.getPreferences
//	                       of a logged-in session (Options.Preferences)
//	DIR/blobs/CID          each blob, named by its CID (CIDv1 raw sha2-256)
//	DIR/.incoming/         a refresh being prepared (see Atomicity)
//
// A file arbor did not write in DIR is left alone; DIR must be empty or
// hold a backup when a first run starts, and a backup of one DID only.
//
// # A run
//
// Run resolves the account (identity.Lookup; named by a handle, the handle
// must check out both ways), then:
//
//   - Identity: the DID document is kept as served; for did:plc the audit
//     log is fetched when the document or the rotation keys differ from the
//     kept ones (or none is kept), validated with plc.ValidateLog, and must
//     end in an operation whose document has the same DID, handle, PDS and
//     signing key as the one served.
//
//   - Repository: com.atproto.sync.getLatestCommit first. The same commit as
//     the kept one: unchanged, nothing else is asked (but blobs that failed
//     before are retried). Otherwise getRepo?since=REV (the kept rev): the
//     slice's blocks are hash-checked, its commit's DID and signature
//     checked against the document's key, it is applied to the kept CAR
//     (diff.ApplySlice) and the result, a whole repository, is checked again
//     from the file written (archive.CheckWritten). A PDS that refuses since,
//     a slice that does not fit, or a kept repo.car that does not read falls
//     back to a full download, verified like arbor fetch (fetch.Verify). The
//     Summary's Mode says which. The records' counts and blob references
//     are carried forward through the slice's operations, so only the
//     records it creates or updates are read.
//
//   - Blobs: the blobs the records reference and those the PDS lists
//     (sync.listBlobs). Only those not yet stored are downloaded, each
//     checked against its CID before it is kept. A blob that fails (an
//     error status, a dropped connection, wrong bytes, too large) is
//     recorded in the manifest with its error and retried on the next run;
//     the run goes on with the others. Blobs no record references any more
//     stay unless Prune.
//
//   - Preferences: with a session of the account (Options.Preferences,
//     from arbor account login), getPreferences on every run, staged when
//     they differ from the kept ones. Without one, none are asked for and a
//     kept preferences.json stays as it was.
//
// Requests go through an identity.Pacer: MaxRPS caps them, and a 429 (or
// RateLimit-Remaining: 0) is waited out rather than failed.
//
// # Atomicity
//
// Nothing in DIR changes until everything new has been verified. The new
// repo.car, did.json and plc-audit.json are written into DIR/.incoming/
// (and preferences.json; each through internal/atomicfile), then the new manifest.json there,
// last: its presence marks the refresh complete. The files are then moved
// into DIR, manifest.json last, and .incoming removed. A run that starts
// (or a verify) and finds .incoming with a manifest finishes those moves
// (roll forward); without one, it removes it (roll back). Blobs are written
// straight into DIR/blobs/ (content-addressed, so never wrong), and a blob
// file already there but not yet in the manifest (an interrupted run's) is
// hashed and adopted, not downloaded again. So SIGINT, SIGKILL or a full
// disk leave the previous complete backup (or the new one) and lose no blob
// already written.
//
// # Verify
//
// Verify checks a backup offline: every file the manifest lists has its
// size and SHA-256; did.json describes the manifest's DID and gives the
// signing key (or, with a Resolver, the live document does); repo.car
// verifies fully against it (every block, commit DID and signature, MST,
// records) and is the manifest's commit; every blob file hashes to its
// name; every blob a record references is stored (or is listed missing,
// with the records that need it); the audit log validates and ends in the
// kept document. Every problem is listed.
package backup
