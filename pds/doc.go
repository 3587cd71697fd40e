// Package pds is a small, throwaway Personal Data Server: a real XRPC server
// for AT Protocol clients, built on arbor's own MST, CAR, DAG-CBOR, commit
// and did:plc packages, with an embedded SQLite store and an embedded did:plc
// directory. It is meant for laptops and CI, not for production.
//
// # Terms
//
//   - Account: a did:plc identity whose repository this server hosts. Its
//     signing key (k256) lives in the store and is published as the
//     "#atproto" verification method of its DID document; the server's
//     rotation key (also in the store) is the DID's only rotation key.
//   - Head: the account's latest commit (CID and rev). Every write produces a
//     new signed v3 commit (prev null, as the reference writes them) whose
//     rev is a TID strictly after the previous one.
//   - Seq event: one row per commit (and per identity change) with a
//     server-wide increasing sequence number. A commit's row keeps the commit
//     CID, rev, the previous rev ("since"), the record operations and a CAR of
//     the new blocks, which is what a firehose #commit frame carries, so a
//     later subscribeRepos can replay from any cursor.
//   - Directory: where DIDs are registered and resolved: the embedded one
//     (served by this server at /{did}, /{did}/data, /{did}/log,
//     /{did}/log/audit, POST /{did}) or a remote one through plc.Client.
//
// # Storage
//
// Everything persistent sits behind the Store interface; the SQLite
// implementation (modernc.org/sqlite, pure Go) is used both for a data
// directory given by the user and, in a temporary directory deleted on
// Close, for the default throwaway server. Blobs are files in the data
// directory named by their CID's canonical string, which the server computes
// itself: a name from a request is never used as a path, only parsed as a
// CID and printed again.
//
// A write (commit block, new MST nodes, record blocks, the record index,
// the account's head, the seq row) commits in one SQL transaction, and the
// store refuses it unless the account's head is still the commit the write
// was built on (compare and swap). Writes to one repository are also
// serialised in memory by a per-repository lock, so commits chain.
//
// Before that, createRecord, putRecord and applyWrites validate each record
// against the embedded Lexicon catalog as the reference PDS does (package
// lexicon, the code of arbor verify --lexicon; validate.go): the validate
// flag decides between validationStatus "valid", "unknown" and none; a
// record that breaks its schema (its blob references' declared MIME type
// and size against the schema's accept and maxSize included), or whose key
// is not of the schema's key type, is refused; and every blob it
// references must have been uploaded by the account, with the MIME type
// and size it is declared with. TestValidationMatchesReference compares
// the answers with the reference PDS's own
// (golden/pds/validation-reference.json).
//
// The blocks table holds exactly the blocks of each repository's current
// state: a commit removes the previous commit block, the MST nodes the new
// tree no longer has, and record blocks no path refers to any more. Each
// block remembers the rev that added it, so sync.getRepo?since=REV is "the
// blocks added after REV".
//
// # New blocks of a commit
//
// A commit's new MST nodes, and the nodes it makes unreachable, come from
// mst.Tree.BlockChanges between the previous and the new tree: it walks both
// persistent trees layer by layer and never enters a subtree they share, so
// the work is proportional to the change, not to the repository.
//
// # Auth
//
// Sessions are HS256 JWTs signed with a per-server secret kept in the store:
// access tokens (scope com.atproto.access, 2 hours) and refresh tokens
// (scope com.atproto.refresh, 90 days, revocable: their ids are in the
// store; a used one still works for two hours, see session.go). A session
// made with an app password has access scope com.atproto.appPass (or
// com.atproto.appPassPrivileged) and cannot do account-level actions
// (authFull). Passwords are stored as bcrypt hashes. Errors follow the reference
// PDS: no token is 401 AuthenticationRequired, a bad or tampered token 401
// InvalidToken, an expired one 400 ExpiredToken (which is what makes
// @atproto/api refresh its session).
//
// # Mail
//
// There is no mail server: what the reference would mail (tokens for email
// confirmation, email update, password reset, account deletion, PLC
// operations) goes to Config.Mail, a MailLog, one line per mail. Tokens
// are kept per account and purpose and live 15 minutes (mail.go).
//
// # Limits
//
// What one client can hold is bounded (see httpserver.go, ratelimit.go and
// sequencer.go): request bodies must keep a minimum transfer rate (so a
// trickled body is cut off with 408 while a large upload at a fair rate is
// not), headers have ReadHeaderTimeout, each write of a response
// WriteTimeout and idle connections IdleTimeout;
// createSession and refreshSession have the reference's rate limits (429
// RateLimitExceeded); a firehose consumer's queue is bounded in events and
// bytes, a replay holds one page of rows bounded in bytes, and the number
// of subscribeRepos connections is capped (503 before the upgrade). A JSON
// body is one value with nothing after it, and a token whose iat is more
// than five minutes ahead of the server's clock is refused.
//
// # Data directory
//
// pds.sqlite (and its -wal and -shm files) holds the server's secrets and
// is mode 0600; blobs/ holds the blobs; serve.json (mode 0600) tells tools
// on the machine the URL and admin password of the server that last opened
// the directory (ReadServeInfo).
//
// Nothing in this package prints or exits, and it keeps no package-level
// mutable state.
package pds
