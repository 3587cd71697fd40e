// Package identity resolves AT Protocol identities and downloads what an
// account's PDS publishes. It is arbor's only networked package besides
// plc.Client, and like every core package it never prints or exits.
//
// # Terms
//
//   - Handle: a DNS name (alice.example.com) naming an account. It resolves
//     to a DID through the DNS TXT record _atproto.<handle>, whose value is
//     "did=<DID>", or else through https://<handle>/.well-known/atproto-did,
//     whose body is the DID. DNS is asked first; a DNS answer with several
//     different did= values, or an invalid one, is an error rather than a
//     reason to try HTTPS. With HandleResolver set (a local PDS, say), that
//     server's com.atproto.identity.resolveHandle is asked first, or alone
//     with HandleResolverOnly; the DID document must still claim the handle.
//   - DID: did:plc (document from a directory, PLCHost/<did>; rotation keys
//     from PLCHost/<did>/data) or did:web (document at
//     https://<host>/.well-known/did.json, or for the path form
//     did:web:<host>:<a>:<b> at https://<host>/a/b/did.json; a port is
//     percent-encoded in the host, did:web:localhost%3A8080).
//   - Bidirectional verification: a handle is only the account's when the
//     handle resolves to the DID and the DID document's alsoKnownAs claims
//     at://<handle> (its first at:// entry is the handle). Lookup checks
//     both directions and reports a failure in Identity.HandleErr rather
//     than failing, so a caller can still show the rest.
//   - From the document: the PDS is the service "#atproto_pds" of type
//     AtprotoPersonalDataServer; the signing key is the verification method
//     "#atproto" (read by SigningKeyFromDIDDocument).
//
// # Limits
//
// Every document and small response is read through an io.LimitReader of
// MaxDocSize+1 bytes and refused (ErrDocumentTooLarge) if it is longer, or
// if its Content-Length already says so. Each lookup has Timeout; a PDS
// download has Timeout as an idle limit (no bytes for that long), not as a
// limit on the whole transfer, and must bring MinRate bytes a second over
// each Timeout window (a trickle that never goes silent fails too): both
// fail with ErrTooSlow. A repository is at most MaxRepoSize bytes and a
// blob MaxBlobSize (ErrTooLarge, announced or reached; the writer never gets
// more than the limit). A caller's context bounds the whole transfer and
// cancels it (a signal, a deadline): the caller removes what it wrote.
//
// # Test seams
//
// Tests run every server on loopback. DNSAddr points the TXT lookups at a
// DNS server on a loopback port (queried with github.com/miekg/dns). For
// HTTPS, HTTPClient is replaced by a client whose transport dials the
// loopback test server whatever host the URL names and trusts its
// certificate, so the real https://<handle>/... and did:web URLs are used
// unchanged. PLCHost and the PDS endpoint in a DID document may be plain
// http:// loopback URLs.
//
// # Fetching
//
// GetRepo streams com.atproto.sync.getRepo; GetBlob streams
// com.atproto.sync.getBlob and checks the bytes against the blob's CID (CIDv1,
// raw codec, sha2-256); ListBlobs pages through com.atproto.sync.listBlobs
// with its cursor. Errors that mean the server could not be reached wrap
// ErrPDSUnreachable; error statuses wrap ErrPDSRequest.
package identity
