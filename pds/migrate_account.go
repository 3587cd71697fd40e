package pds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// Moving an account here, as the reference PDS does it:
//
//   - createAccount with did: the caller proves it holds the DID with a
//     service-auth token (lxm com.atproto.server.createAccount, aud this
//     server) signed by the key the DID's document names. The account gets
//     a new signing key and an empty repository and starts deactivated; no
//     event is sequenced until activateAccount.
//   - importRepo and uploadBlob accept a deactivated account's own session,
//     so the repository and blobs can be copied before the directory points
//     here; every other write of a deactivated account is refused.
//   - checkAccountStatus and listMissingBlobs say what is still to copy.
//
// The DID must be in the directory this server uses. Two servers that each
// run their own embedded directory cannot share a DID: the second must be
// started with --plc URL-of-the-first (the directory holding the DID).

const lxmCreateAccount = "com.atproto.server.createAccount"

func errAlreadyHosted(did string) error {
	return xerr(http.StatusBadRequest, "AlreadyExists", "Repo already exists: %s is already hosted on this server", did)
}

// checkBroughtDID checks a createAccount that brings its own DID: a
// did:plc this server's directory knows, not hosted here yet, and a
// service-auth bearer issued by it.
func (s *Server) checkBroughtDID(r *http.Request, raw string) error {
	did, err := syntax.ParseDID(raw)
	if err != nil {
		return invalidRequest("did %q is not a DID: %v", raw, err)
	}
	if did.Method() != "plc" {
		return invalidRequest("only a did:plc can be brought to this server, not %s", did)
	}
	ctx := r.Context()
	if _, err := s.store.AccountByDID(ctx, did.String()); err == nil {
		return errAlreadyHosted(did.String())
	}
	if _, err := s.directory.State(ctx, did.String()); errors.Is(err, ErrNotStored) {
		return xerr(http.StatusBadRequest, "IncompatibleDidDoc",
			"%s is not in the did:plc directory this server uses (%s); two servers with separate embedded directories cannot share a DID: start this server with --plc set to the directory that holds it", did, s.PLCURL())
	} else if err != nil {
		return fmt.Errorf("resolving %s: %w", did, err)
	}
	iss, err := s.verifyServiceAuth(r, lxmCreateAccount)
	if err != nil {
		return err
	}
	if iss != did {
		return xerr(http.StatusUnauthorized, "AuthenticationRequired", "Missing auth to create account with did: %s", did)
	}
	return nil
}

// accountIdentity is a new account's DID and signing key: a new did:plc
// registered in the directory, or, for a brought DID, that DID and a new
// key the DID document is later changed to name.
func (s *Server) accountIdentity(ctx context.Context, brought, handle string) (string, atcrypto.PrivateKeyExportable, error) {
	if brought == "" {
		return s.newIdentity(ctx, handle)
	}
	key, err := s.reservedSigningKey(ctx, brought)
	if err != nil {
		return "", nil, err
	}
	return brought, key, nil
}

// repoContents walks an account's current tree: fn gets each record's
// path and CID.
func (s *Server) repoContents(ctx context.Context, a *Account, fn func(path string, c cid.Cid) error) error {
	st := s.repoState(a.DID)
	st.mu.Lock()
	err := st.load(s, a)
	tree := st.tree
	st.mu.Unlock()
	if err != nil {
		return err
	}
	return tree.Walk(func(key []byte, val cid.Cid) error { return fn(string(key), val) })
}

// recordBlobs returns the blobs an account's records refer to, each with
// the first record (at:// URI) that refers to it.
func (s *Server) recordBlobs(ctx context.Context, a *Account) (map[cid.Cid]string, error) {
	out := map[cid.Cid]string{}
	err := s.repoContents(ctx, a, func(path string, c cid.Cid) error {
		body, err := s.store.Block(ctx, a.DID, c)
		if err != nil {
			return fmt.Errorf("record %s: %w", path, err)
		}
		v, err := dagcbor.Decode(body)
		if err != nil {
			return fmt.Errorf("record %s: %w", path, err)
		}
		walkBlobRefs(v, 0, func(b cid.Cid) {
			if _, ok := out[b]; !ok {
				out[b] = "at://" + a.DID + "/" + path
			}
		})
		return nil
	})
	return out, err
}

// walkBlobRefs calls fn with every blob a record value refers to: a
// {"$type": "blob", "ref": LINK} map, or a legacy {"cid": STRING,
// "mimeType": STRING} one.
func walkBlobRefs(v any, depth int, fn func(cid.Cid)) {
	if depth > dagcbor.MaxDepth {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if t, _ := x["$type"].(string); t == "blob" {
			if c, ok := x["ref"].(cid.Cid); ok {
				fn(c)
				return
			}
		}
		if cs, ok := x["cid"].(string); ok {
			if _, isMime := x["mimeType"].(string); isMime {
				if c, err := cid.Decode(cs); err == nil {
					fn(c)
					return
				}
			}
		}
		for _, e := range x {
			walkBlobRefs(e, depth+1, fn)
		}
	case []any:
		for _, e := range x {
			walkBlobRefs(e, depth+1, fn)
		}
	}
}

// checkAccountStatus is com.atproto.server.checkAccountStatus: what the
// server holds of the caller's account, so a migration can tell whether
// everything arrived, and whether the DID document points here.
func (s *Server) checkAccountStatus(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authSession(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	blocks := 0
	if err := s.store.Blocks(ctx, a.DID, "", func(cid.Cid, []byte) error { blocks++; return nil }); err != nil {
		return nil, err
	}
	records := 0
	if err := s.repoContents(ctx, a, func(string, cid.Cid) error { records++; return nil }); err != nil {
		return nil, err
	}
	expected, err := s.recordBlobs(ctx, a)
	if err != nil {
		return nil, err
	}
	imported := 0
	for cursor := ""; ; {
		page, err := s.store.ListBlobs(ctx, a.DID, cursor, 1000)
		if err != nil {
			return nil, err
		}
		imported += len(page)
		if len(page) < 1000 {
			break
		}
		cursor = page[len(page)-1].String()
	}
	return map[string]any{
		"activated":          a.Active,
		"validDid":           s.validDIDFor(ctx, a) == nil,
		"repoCommit":         a.Head.String(),
		"repoRev":            a.Rev,
		"repoBlocks":         blocks,
		"indexedRecords":     records,
		"privateStateValues": 0,
		"expectedBlobs":      len(expected),
		"importedBlobs":      imported,
	}, nil
}

// validDIDFor checks, as the reference's assertValidDidDocumentForService,
// that a's DID document lists this server's rotation key, names this
// server as PDS and a's signing key as #atproto.
func (s *Server) validDIDFor(ctx context.Context, a *Account) error {
	st, err := s.directory.State(ctx, a.DID)
	if err != nil {
		return err
	}
	cur := st.Current()
	if cur == nil {
		return errors.New("the DID is tombstoned")
	}
	rot, err := s.rotation.PublicKey()
	if err != nil {
		return err
	}
	found := false
	for _, k := range cur.RotationKeys {
		found = found || k == rot.DIDKey()
	}
	if !found {
		return errors.New("Server rotation key not included in PLC DID data")
	}
	if svc, ok := cur.ServiceByID("atproto_pds"); !ok || strings.TrimRight(svc.Endpoint, "/") != s.cfg.PublicURL {
		return errors.New("DID document atproto_pds service endpoint does not match PDS public url")
	}
	want, err := accountPublicKey(a)
	if err != nil {
		return err
	}
	if k, ok := cur.VerificationMethodByID("atproto"); !ok || k != want.DIDKey() {
		return errors.New("DID document verification method does not match expected signing key")
	}
	return nil
}

func accountPublicKey(a *Account) (atcrypto.PublicKey, error) {
	key, err := atcrypto.ParsePrivateMultibase(a.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("signing key of %s: %w", a.DID, err)
	}
	return key.PublicKey()
}

// listMissingBlobs is com.atproto.repo.listMissingBlobs: blobs the
// caller's records refer to that were not uploaded, in CID order, a page
// at a time (cursor: the last CID of the previous page).
func (s *Server) listMissingBlobs(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authSession(r)
	if err != nil {
		return nil, err
	}
	limit, err := queryInt(r, "limit", 500, 1, 1000)
	if err != nil {
		return nil, err
	}
	cursor := r.URL.Query().Get("cursor")
	ctx := r.Context()
	refs, err := s.recordBlobs(ctx, a)
	if err != nil {
		return nil, err
	}
	type missing struct {
		CID       string `json:"cid"`
		RecordURI string `json:"recordUri"`
	}
	var all []missing
	for c, uri := range refs {
		if cs := c.String(); cs > cursor {
			if _, err := s.store.BlobMeta(ctx, a.DID, c); errors.Is(err, ErrNotStored) {
				all = append(all, missing{CID: cs, RecordURI: uri})
			} else if err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].CID < all[j].CID })
	out := map[string]any{}
	if len(all) > limit {
		all = all[:limit]
		out["cursor"] = all[limit-1].CID
	}
	if all == nil {
		all = []missing{}
	}
	out["blobs"] = all
	return out, nil
}

// documentNamesHere says whether did's document names this server as its
// PDS.
func (s *Server) documentNamesHere(ctx context.Context, did string) bool {
	st, err := s.directory.State(ctx, did)
	if err != nil || st.Tombstoned() {
		return false
	}
	svc, ok := st.Current().ServiceByID("atproto_pds")
	return ok && strings.TrimRight(svc.Endpoint, "/") == s.cfg.PublicURL
}
