// Package account does the identity tasks a user does through their PDS:
// look at an account's state, add a rotation key they hold to their
// did:plc, change the handle, ask for the emailed PLC token, get a
// service-auth token. arbor account is a thin command over it.
//
// # Terms
//
//   - PLC token: the one-time code a PDS mails (requestPlcOperationSignature)
//     before it signs a did:plc operation for the account
//     (signPlcOperation). Without it, AddRotationKey asks for it and
//     returns ErrNeedPLCToken; the caller reruns with the token.
//   - The PDS's key: the rotation key the PDS signs with, the first of
//     getRecommendedDidCredentials' rotationKeys. A did:plc operation can
//     be undone (nullified) within 72 hours by a key listed before the key
//     that signed it, so by default AddRotationKey puts the user's key
//     just in front of the PDS's key; First puts it in front of all.
//   - Directory: the did:plc directory (plc.Client) the DID lives in; every
//     change is checked against its log before it is submitted and read
//     back after.
//
// Nothing here prints or exits; errors wrap this package's sentinels,
// pdsclient's (ErrXRPC, ErrUnreachable, ErrNoSession) or plc's.
package account
