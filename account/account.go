package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/pdsclient"
	"github.com/arbor-atproto/arbor/plc"
	"github.com/arbor-atproto/arbor/serviceauth"
)

// Errors.
var (
	// ErrNeedPLCToken: the PDS mailed a PLC token; run again with it.
	ErrNeedPLCToken = errors.New("PLC token needed")
	// ErrKeyPresent: the rotation key is already in the DID's list.
	ErrKeyPresent = errors.New("rotation key already listed")
	// ErrOperationMismatch: the PDS signed something other than what was
	// asked, or the directory does not show what was submitted.
	ErrOperationMismatch = errors.New("operation is not what was asked for")
)

// Status is what arbor account status prints.
type Status struct {
	DID    string `json:"did"`
	Handle string `json:"handle"`
	PDS    string `json:"pds"`
	// Account is the PDS's checkAccountStatus answer.
	Account *pdsclient.AccountStatus `json:"account"`
	// Document is the DID's current state in the directory.
	Document DocumentState `json:"document"`
}

// DocumentState is the part of a did:plc state a migration cares about.
type DocumentState struct {
	Handle       string   `json:"handle"`
	PDS          string   `json:"pds"`
	SigningKey   string   `json:"signingKey"`
	RotationKeys []string `json:"rotationKeys"`
	Operations   int      `json:"operations"`
	HeadCID      string   `json:"headCid"`
}

// Describe reads a DID's state from the directory.
func Describe(ctx context.Context, dir *plc.Client, did syntax.DID) (*plc.State, DocumentState, error) {
	entries, _, err := dir.AuditLog(ctx, did)
	if err != nil {
		return nil, DocumentState{}, err
	}
	st, err := plc.ValidateLog(did, entries)
	if err != nil {
		return nil, DocumentState{}, fmt.Errorf("the directory's log of %s: %w", did, err)
	}
	return st, stateOf(st), nil
}

func stateOf(st *plc.State) DocumentState {
	cur := st.Current()
	d := DocumentState{Operations: st.Len(), HeadCID: st.HeadCID()}
	if cur == nil || st.Tombstoned() {
		return d
	}
	d.Handle = cur.PrimaryHandle()
	if svc, ok := cur.ServiceByID("atproto_pds"); ok {
		d.PDS = svc.Endpoint
	}
	d.SigningKey, _ = cur.VerificationMethodByID("atproto")
	d.RotationKeys = append([]string{}, cur.RotationKeys...)
	return d
}

// sessionDID is the client's session and its DID.
func sessionDID(c *pdsclient.Client) (*pdsclient.Session, syntax.DID, error) {
	s := c.Session()
	if s == nil {
		return nil, "", pdsclient.ErrNoSession
	}
	did, err := syntax.ParseDID(s.DID)
	return s, did, err
}

// GetStatus is the account's state on its PDS and in the directory.
func GetStatus(ctx context.Context, c *pdsclient.Client, dir *plc.Client) (*Status, error) {
	s, did, err := sessionDID(c)
	if err != nil {
		return nil, err
	}
	acct, err := c.CheckAccountStatus(ctx)
	if err != nil {
		return nil, err
	}
	_, doc, err := Describe(ctx, dir, did)
	if err != nil {
		return nil, err
	}
	return &Status{DID: s.DID, Handle: s.Handle, PDS: s.PDS, Account: acct, Document: doc}, nil
}

// RotationChange is what AddRotationKey did.
type RotationChange struct {
	DID string `json:"did"`
	// TokenRequested: no token was given, so one was asked for (nothing
	// else happened).
	TokenRequested bool     `json:"tokenRequested"`
	Key            string   `json:"key,omitempty"`
	Position       int      `json:"position"`
	RotationKeys   []string `json:"rotationKeys,omitempty"`
	OperationCID   string   `json:"operationCid,omitempty"`
	// Submitted: the operation is in the directory. From now on the key
	// can nullify, within 72 hours, any operation signed by a key listed
	// after it (the PDS's).
	Submitted bool `json:"submitted"`
}

// RotationRequest says which key to add and where.
type RotationRequest struct {
	Key   string // did:key
	First bool   // in front of every key, not just the PDS's
	Token string // the mailed PLC token; "" asks for one
}

// AddRotationKey adds a key the user holds to the DID's rotation keys,
// signed by the PDS (with the PLC token) and submitted through it.
func AddRotationKey(ctx context.Context, c *pdsclient.Client, dir *plc.Client, req RotationRequest, now time.Time) (*RotationChange, error) {
	if _, err := plc.ParseDIDKey(req.Key); err != nil {
		return nil, fmt.Errorf("rotation key: %w", err)
	}
	s, did, err := sessionDID(c)
	if err != nil {
		return nil, err
	}
	out := &RotationChange{DID: s.DID, Key: req.Key}
	st, doc, err := Describe(ctx, dir, did)
	if err != nil {
		return nil, err
	}
	for _, k := range doc.RotationKeys {
		if k == req.Key {
			return nil, fmt.Errorf("%w: %s is already a rotation key of %s", ErrKeyPresent, req.Key, did)
		}
	}
	if req.Token == "" {
		if err := c.RequestPLCSignature(ctx); err != nil {
			return nil, err
		}
		out.TokenRequested = true
		return out, fmt.Errorf("%w: the PDS mailed a PLC token to the account's address; run again with --plc-token TOKEN", ErrNeedPLCToken)
	}
	rec, err := c.RecommendedCredentials(ctx)
	if err != nil {
		return nil, err
	}
	pdsKey := ""
	if len(rec.RotationKeys) > 0 {
		pdsKey = rec.RotationKeys[0]
	}
	keys, pos := insertKey(doc.RotationKeys, req.Key, pdsKey, req.First)
	opJSON, err := c.SignPLCOperation(ctx, req.Token, &pdsclient.Credentials{RotationKeys: keys})
	if err != nil {
		return nil, err
	}
	op, err := checkSigned(st, opJSON, keys, now)
	if err != nil {
		return nil, err
	}
	if err := c.SubmitPLCOperation(ctx, opJSON); err != nil {
		return nil, err
	}
	_, after, err := Describe(ctx, dir, did)
	if err != nil {
		return nil, err
	}
	if after.HeadCID != op.CID().String() {
		return nil, fmt.Errorf("%w: the directory's head is %s, not the submitted %s", ErrOperationMismatch, after.HeadCID, op.CID())
	}
	out.Position, out.RotationKeys, out.OperationCID, out.Submitted = pos, after.RotationKeys, op.CID().String(), true
	return out, nil
}

// insertKey puts key in front of pdsKey (or of everything when first, or
// when pdsKey is not listed) and says where.
func insertKey(keys []string, key, pdsKey string, first bool) ([]string, int) {
	pos := 0
	if !first {
		for i, k := range keys {
			if k == pdsKey {
				pos = i
				break
			}
		}
	}
	out := append(append(append([]string{}, keys[:pos]...), key), keys[pos:]...)
	return out, pos
}

// checkSigned parses an operation the PDS signed and checks it is the
// next operation of st with exactly the rotation keys asked for.
func checkSigned(st *plc.State, opJSON []byte, keys []string, now time.Time) (*plc.Operation, error) {
	op, err := plc.ParseOperation(opJSON)
	if err != nil {
		return nil, fmt.Errorf("the operation the PDS signed: %w", err)
	}
	if len(op.RotationKeys) != len(keys) {
		return nil, fmt.Errorf("%w: rotation keys %v, asked for %v", ErrOperationMismatch, op.RotationKeys, keys)
	}
	for i := range keys {
		if op.RotationKeys[i] != keys[i] {
			return nil, fmt.Errorf("%w: rotation keys %v, asked for %v", ErrOperationMismatch, op.RotationKeys, keys)
		}
	}
	if err := plc.CheckNext(st, op, now); err != nil {
		return nil, fmt.Errorf("the operation the PDS signed does not follow the log: %w", err)
	}
	return op, nil
}

// HandleChange is what UpdateHandle did.
type HandleChange struct {
	DID     string `json:"did"`
	Handle  string `json:"handle"`
	HeadCID string `json:"headCid"`
}

// UpdateHandle is com.atproto.identity.updateHandle, then reads the
// directory back.
func UpdateHandle(ctx context.Context, c *pdsclient.Client, dir *plc.Client, h syntax.Handle) (*HandleChange, error) {
	s, did, err := sessionDID(c)
	if err != nil {
		return nil, err
	}
	if err := c.Procedure(ctx, "com.atproto.identity.updateHandle", map[string]string{"handle": h.String()}, nil); err != nil {
		return nil, err
	}
	_, doc, err := Describe(ctx, dir, did)
	if err != nil {
		return nil, err
	}
	if doc.Handle != h.String() {
		return nil, fmt.Errorf("%w: the directory names %q, not %q", ErrOperationMismatch, doc.Handle, h)
	}
	return &HandleChange{DID: s.DID, Handle: doc.Handle, HeadCID: doc.HeadCID}, nil
}

// TokenRequest is what RequestPLCToken did.
type TokenRequest struct {
	DID       string `json:"did"`
	Requested bool   `json:"requested"`
}

// RequestPLCToken asks the PDS to mail a PLC token.
func RequestPLCToken(ctx context.Context, c *pdsclient.Client) (*TokenRequest, error) {
	s := c.Session()
	if s == nil {
		return nil, pdsclient.ErrNoSession
	}
	if err := c.RequestPLCSignature(ctx); err != nil {
		return nil, err
	}
	return &TokenRequest{DID: s.DID, Requested: true}, nil
}

// ServiceToken is a service-auth token the PDS signed.
type ServiceToken struct {
	Token string `json:"token"`
	Iss   string `json:"iss"`
	Aud   string `json:"aud"`
	Lxm   string `json:"lxm,omitempty"`
	Exp   int64  `json:"exp"`
}

// GetServiceToken is com.atproto.server.getServiceAuth for aud and lxm
// ("" any method), lasting until exp (zero: the PDS's default).
func GetServiceToken(ctx context.Context, c *pdsclient.Client, aud, lxm string, exp time.Time) (*ServiceToken, error) {
	tok, err := c.ServiceAuth(ctx, aud, lxm, exp)
	if err != nil {
		return nil, err
	}
	cl, err := serviceauth.ReadClaims(tok)
	if err != nil {
		return nil, fmt.Errorf("the token the PDS gave: %w", err)
	}
	return &ServiceToken{Token: tok, Iss: cl.Iss, Aud: cl.Aud, Lxm: cl.Lxm, Exp: cl.Exp}, nil
}
