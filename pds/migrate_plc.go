package pds

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/arbor-atproto/arbor/plc"
)

// The identity methods of a migration, as the reference PDS answers them:
//
//   - getRecommendedDidCredentials: what the DID document should say for
//     this server to host the account (its handle, its signing key here,
//     this server's rotation key, this server as PDS).
//   - requestPlcOperationSignature: mails a one-time token (mail.go: valid
//     for 15 minutes) to the account's address; the server has no mail, so
//     the mail goes to its mail log.
//   - signPlcOperation: with that token, signs the next operation of the
//     account's DID with this server's rotation key: the current state with
//     the fields given replaced. The token is used up.
//   - submitPlcOperation: sends a signed operation to the directory, if it
//     keeps this server's rotation key and names this server, the
//     account's key here and its handle; then sequences #identity.
//
// Sessions made with an app password may not request or sign.

func (s *Server) getRecommendedDidCredentials(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authSession(r)
	if err != nil {
		return nil, err
	}
	key, err := accountPublicKey(a)
	if err != nil {
		return nil, err
	}
	rot, err := s.rotation.PublicKey()
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"alsoKnownAs":         []string{"at://" + a.Handle},
		"verificationMethods": map[string]string{"atproto": key.DIDKey()},
		"rotationKeys":        []string{rot.DIDKey()},
		"services": map[string]any{
			"atproto_pds": map[string]string{"type": "AtprotoPersonalDataServer", "endpoint": s.cfg.PublicURL},
		},
	}, nil
}

func (s *Server) requestPlcOperationSignature(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authFullAnyStatus(r)
	if err != nil {
		return nil, err
	}
	return nil, s.mailToken(r.Context(), a, PurposePLCOperation)
}

// plcFields are the parts of an operation signPlcOperation may replace,
// in the lexicon's JSON shape.
type plcFields struct {
	Token               string            `json:"token"`
	RotationKeys        []string          `json:"rotationKeys"`
	AlsoKnownAs         []string          `json:"alsoKnownAs"`
	VerificationMethods map[string]string `json:"verificationMethods"`
	Services            map[string]struct {
		Type     string `json:"type"`
		Endpoint string `json:"endpoint"`
	} `json:"services"`
}

// apply replaces op's fields with the ones given (maps in key order).
func (f *plcFields) apply(op *plc.Operation) {
	if f.RotationKeys != nil {
		op.RotationKeys = f.RotationKeys
	}
	if f.AlsoKnownAs != nil {
		op.AlsoKnownAs = f.AlsoKnownAs
	}
	if f.VerificationMethods != nil {
		op.VerificationMethods = nil
		for _, id := range sortedKeys(f.VerificationMethods) {
			op.VerificationMethods = append(op.VerificationMethods, plc.VerificationMethod{ID: id, Key: f.VerificationMethods[id]})
		}
	}
	if f.Services != nil {
		op.Services = nil
		ids := make([]string, 0, len(f.Services))
		for id := range f.Services {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			op.Services = append(op.Services, plc.Service{ID: id, Type: f.Services[id].Type, Endpoint: f.Services[id].Endpoint})
		}
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *Server) signPlcOperation(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authFullAnyStatus(r)
	if err != nil {
		return nil, err
	}
	var in plcFields
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	ctx := r.Context()
	if in.Token == "" {
		return nil, invalidRequest("email confirmation token required to sign PLC operations")
	}
	if err := s.checkEmailToken(ctx, a.DID, PurposePLCOperation, in.Token); err != nil {
		return nil, err
	}
	st, err := s.directory.State(ctx, a.DID)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", a.DID, err)
	}
	if st.Tombstoned() {
		return nil, invalidRequest("Did is tombstoned")
	}
	op := st.Current()
	op.Sig = ""
	in.apply(op)
	op.Prev = st.HeadCID()
	if err := plc.CheckLimits(op); err != nil {
		return nil, invalidRequest("operation: %v", err)
	}
	if err := plc.Sign(op, s.rotation); err != nil {
		return nil, err
	}
	if err := plc.CheckNext(st, op, s.now()); err != nil {
		return nil, invalidRequest("this server cannot sign the next operation of %s: %v", a.DID, err)
	}
	// The token is used up by an operation that could be made.
	if err := s.useEmailToken(ctx, a.DID, PurposePLCOperation, in.Token); err != nil {
		return nil, err
	}
	return map[string]any{"operation": json.RawMessage(op.AppendJSON(nil))}, nil
}

func (s *Server) submitPlcOperation(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authSession(r)
	if err != nil {
		return nil, err
	}
	var in struct {
		Operation json.RawMessage `json:"operation"`
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	if len(in.Operation) == 0 {
		return nil, invalidRequest("operation is required")
	}
	op, err := plc.ParseOperation(in.Operation)
	if err != nil {
		return nil, invalidRequest("operation: %v", err)
	}
	if err := s.checkOperationForHere(a, op); err != nil {
		return nil, err
	}
	ctx := r.Context()
	if err := s.directory.Submit(ctx, a.DID, op); err != nil {
		if errors.Is(err, errBadOperation) || errors.Is(err, plc.ErrLimit) {
			return nil, invalidRequest("the directory refused the operation: %v", err)
		}
		return nil, fmt.Errorf("submitting to the directory: %w", err)
	}
	// An #identity event, as the reference sequences one.
	if err := s.store.SetHandle(ctx, a.DID, a.Handle, s.now()); err != nil {
		return nil, err
	}
	return nil, nil
}

// checkOperationForHere holds a submitted operation to what this server
// needs to host the account (the reference's submitPlcOperation checks).
func (s *Server) checkOperationForHere(a *Account, op *plc.Operation) error {
	if op.Type != plc.TypeOperation {
		return invalidRequest("only a plc_operation can be submitted, not %s", op.Type)
	}
	rot, err := s.rotation.PublicKey()
	if err != nil {
		return err
	}
	found := false
	for _, k := range op.RotationKeys {
		found = found || k == rot.DIDKey()
	}
	if !found {
		return invalidRequest("Rotation keys do not include server's rotation key")
	}
	if svc, ok := op.ServiceByID("atproto_pds"); !ok || svc.Type != "AtprotoPersonalDataServer" {
		return invalidRequest("Missing or incorrect atproto_pds service")
	} else if strings.TrimRight(svc.Endpoint, "/") != s.cfg.PublicURL {
		return invalidRequest("Incorrect endpoint on atproto_pds service")
	}
	key, err := accountPublicKey(a)
	if err != nil {
		return err
	}
	if vm, ok := op.VerificationMethodByID("atproto"); !ok || vm != key.DIDKey() {
		return invalidRequest("Incorrect signing key")
	}
	hasHandle := false
	for _, aka := range op.AlsoKnownAs {
		hasHandle = hasHandle || aka == "at://"+a.Handle
	}
	if !hasHandle {
		return invalidRequest("Incorrect handle in alsoKnownAs")
	}
	return nil
}
