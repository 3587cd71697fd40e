// Package migrate moves an account from one PDS to another, or onto a new
// PDS from a backup when the old one is gone, keeping its did:plc. It is
// what arbor migrate runs.
//
// # Terms
//
//   - Plan: everything the move will do, computed before anything is
//     written: the DID, both PDSes, the handle, what will be copied
//     (records, blobs, preferences) and the did:plc operation it will ask
//     for (its rotation keys, handle, services; the new PDS's signing key
//     once the account exists there).
//   - Steps: create the account on the new PDS (service auth from the old
//     one), import the repository, copy the blobs (failed ones are tried
//     again, then listMissingBlobs must be empty), copy the preferences,
//     get the did:plc operation signed (by the old PDS with the emailed PLC
//     token, or offline with a rotation key the user holds), submit it,
//     activate the new account, deactivate the old one, check.
//   - State file: a JSON record of the finished steps (and the signed
//     operation), written after each step, so a rerun with the same file
//     goes on where the last run stopped. It holds no password or token.
//   - The new operation keeps the user's rotation keys and any other
//     services and verification methods; it only replaces the old PDS's
//     entries (its rotation key, its #atproto_pds endpoint, the #atproto
//     key). An operation that would drop any other rotation key is refused
//     unless DropRotationKeys says so.
//   - Checks (after the move): the DID document names the new PDS and its
//     key; the new PDS says active, with the old repository's record count
//     and MST root; the old PDS says deactivated; the new copy verifies,
//     signature included, against the DID document (as verify --resolve).
//
// # From a backup
//
// Without the old PDS, the account's signing key is gone with it, and a
// new PDS only creates an account for an existing DID given a service-auth
// token signed by the key the DID document names. So the user's rotation
// key signs two operations: the first names a throwaway signing key this
// package makes (and signs the service-auth token with), the second the
// new PDS's key, endpoint and rotation key, once the account exists there.
//
// Nothing here prints or exits; Run reports progress through a callback.
package migrate
