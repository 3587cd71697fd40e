// Package pdsclient talks XRPC to a PDS on behalf of one account, and
// keeps that account's session between runs of arbor.
//
// # Terms
//
//   - Client: one PDS (its URL) and, once logged in, one Session. Query and
//     Procedure call XRPC methods with JSON; Download and Upload move bytes
//     (repository CARs, blobs). An access token that has expired (400
//     ExpiredToken) is refreshed once with the refresh token, the call is
//     retried, and OnRefresh is told, so the kept session follows.
//   - Session: what com.atproto.server.createSession answers that is worth
//     keeping: the PDS URL, DID, handle, access and refresh tokens. Never
//     the password.
//   - SessionStore: a JSON file of sessions, one per DID, and which one is
//     the default, in the user's configuration directory
//     (os.UserConfigDir()/arbor/sessions.json, which follows
//     XDG_CONFIG_HOME), written atomically with mode 0600 in a 0700
//     directory.
//
// Errors: an XRPC error answer is an *XRPCError (HTTP status, error name,
// message) wrapping ErrXRPC; a PDS that cannot be reached wraps
// ErrUnreachable; a session store without the asked-for session wraps
// ErrNoSession.
//
// Nothing here prints or exits.
package pdsclient
