// Package fetch holds the policy of arbor fetch: what a downloaded
// repository must pass before it is kept, and the report of a fetch (the
// command's --json form).
//
// A whole repository (com.atproto.sync.getRepo) is verified like arbor
// verify: every block hash, the commit's DID against the resolved DID, its
// signature against the DID document's key, the MST and every record. A
// slice (getRepo?since=REV) is not a whole tree: only the block hashes, the
// commit's DID and its signature are checked, and the report says what was
// not.
//
// Batch is the same policy for arbor verify --batch --resolve: a listed
// account (a DID or an at:// URI) is fetched from its PDS as a stream and
// verified against its document's key, and a listed file against the key
// of its commit's DID.
package fetch
