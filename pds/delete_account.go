package pds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/ipfs/go-cid"
)

// Account deletion (com.atproto.server.requestAccountDelete, deleteAccount,
// com.atproto.admin.deleteAccount), as the reference does it:
//
//   - requestAccountDelete (a full session) mails a delete_account token;
//     deleteAccount takes the DID, the account's own password (not an app
//     password: 401 "Invalid did or password") and the token.
//   - admin.deleteAccount deletes with the admin password alone.
//   - Deleting removes, in one transaction, the account, its repository
//     (blocks, records), its blobs' rows, sessions, app passwords, mailed
//     tokens and preferences, and every earlier seq row of the DID, and
//     adds one #account event (active false, status "deleted"); then the
//     blob files no other account holds are removed. Sync methods answer
//     RepoNotFound for the DID from then on. Its did:plc log stays in the
//     directory, as with the reference.

// seqKindDeleted is the seq kind of the #account event of a deletion.
const seqKindDeleted = "account:deleted"

// deletionStore deletes accounts (part of Store).
type deletionStore interface {
	// DeleteAccount deletes an account and everything it has (see above)
	// and returns the blob CIDs no other account holds, whose files may
	// go. ErrNotStored for an unknown DID.
	DeleteAccount(ctx context.Context, did string, now time.Time) ([]cid.Cid, error)
}

// DeleteAccount deletes and wakes the pump.
func (s sequencedStore) DeleteAccount(ctx context.Context, did string, now time.Time) ([]cid.Cid, error) {
	orphans, err := s.Store.DeleteAccount(ctx, did, now)
	if err == nil {
		s.wake()
	}
	return orphans, err
}

// deleteAccountData deletes did under its repository's write lock and
// removes its orphaned blob files.
func (s *Server) deleteAccountData(ctx context.Context, did string) error {
	st := s.repoState(did)
	st.mu.Lock()
	defer st.mu.Unlock()
	orphans, err := s.store.DeleteAccount(ctx, did, s.now())
	if err != nil {
		return err
	}
	s.reposMu.Lock()
	delete(s.repos, did)
	s.reposMu.Unlock()
	var first error
	for _, c := range orphans {
		p, err := s.blobs.path(c)
		if err != nil {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = fmt.Errorf("removing blob %s of deleted account %s: %w", c, did, err)
		}
	}
	return first
}

func (s *Server) requestAccountDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authFullAnyStatus(r)
	if err != nil {
		return nil, err
	}
	return nil, s.mailToken(r.Context(), a, PurposeDeleteAccount)
}

func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		DID      string `json:"did"`
		Password string `json:"password"`
		Token    string `json:"token"`
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	ctx := r.Context()
	a, err := s.store.AccountByDID(ctx, in.DID)
	if errors.Is(err, ErrNotStored) {
		return nil, invalidRequest("account not found")
	}
	if err != nil {
		return nil, err
	}
	if !checkPassword(a.PasswordHash, in.Password) {
		return nil, xerr(http.StatusUnauthorized, "AuthenticationRequired", "Invalid did or password")
	}
	if err := s.checkEmailToken(ctx, a.DID, PurposeDeleteAccount, in.Token); err != nil {
		return nil, err
	}
	return nil, s.deleteAccountData(ctx, a.DID)
}

func (s *Server) adminDeleteAccount(w http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		DID string `json:"did"`
	}
	if err := s.adminBody(w, r, &in); err != nil {
		return nil, err
	}
	if in.DID == "" {
		return nil, invalidRequest("did is required")
	}
	err := s.deleteAccountData(r.Context(), in.DID)
	if errors.Is(err, ErrNotStored) {
		return nil, nil // as the reference: nothing to delete is no error
	}
	return nil, err
}
