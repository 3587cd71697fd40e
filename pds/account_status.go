package pds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Deactivation, as com.atproto.server.deactivateAccount and activateAccount
// do it in the reference PDS (@atproto/pds):
//
//   - Either is called with the account's own access token; a deactivated
//     account keeps its sessions so that it can activate itself again.
//   - A deactivated account's writes fail with 401 AccountDeactivated
//     ("Account is deactivated"); getRepoStatus says active false, status
//     "deactivated", and leaves rev out.
//   - Its repo, records and blobs (sync getRepo, getLatestCommit,
//     getRecord, getBlocks, getBlob, listBlobs) are refused with 400
//     RepoDeactivated to everyone but the account's own access token and
//     the admin (sync.go, repoAvailable).
//   - Deactivating emits one #account event (active false, status
//     "deactivated"). Activating emits, in one transaction, #account (active
//     true), #identity (the handle) and #sync (the current commit), so that a
//     consumer which dropped the repository while it was inactive can pick it
//     up again.
//
// The status change and its seq rows are written in one SQL transaction,
// like every other event.

// seqKindDeactivated is the seq kind of an #account event that says the
// account was deactivated; kind "account" is an active account.
const seqKindDeactivated = "account:deactivated"

// accountStatusStore is what a store needs for deactivation; the SQLite
// store has it.
type accountStatusStore interface {
	// SetAccountActive sets an account's status and records its events:
	// #account on deactivation; #account, #identity and #sync (of the head
	// commit) on activation. ErrNotStored for an unknown DID.
	SetAccountActive(ctx context.Context, did string, active bool, now time.Time) error
}

// SetAccountActive sets an account's status and wakes the pump.
func (s sequencedStore) SetAccountActive(ctx context.Context, did string, active bool, now time.Time) error {
	ss, ok := s.Store.(accountStatusStore)
	if !ok {
		return fmt.Errorf("account status: the store (%T) cannot deactivate accounts", s.Store)
	}
	err := ss.SetAccountActive(ctx, did, active, now)
	if err == nil {
		s.wake()
	}
	return err
}

// errAccountDeactivated is the reference PDS's answer to a write by, or
// to, a deactivated account.
func errAccountDeactivated() error {
	return xerr(http.StatusUnauthorized, "AccountDeactivated", "Account is deactivated")
}

func (s *Server) deactivateAccount(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.setAccountActive(w, r, false)
}

func (s *Server) activateAccount(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.setAccountActive(w, r, true)
}

// setAccountActive serves both methods. The repository's write lock is
// held so that no commit lands between the status change and its events.
func (s *Server) setAccountActive(w http.ResponseWriter, r *http.Request, active bool) (any, error) {
	a, err := s.authSession(r)
	if err != nil {
		return nil, err
	}
	if !active && r.ContentLength != 0 {
		// deactivateAccount takes an optional {deleteAfter}; a throwaway
		// server deletes nothing, but the body must still be JSON.
		var in struct {
			DeleteAfter string `json:"deleteAfter"`
		}
		if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
			return nil, err
		}
	}
	ss, ok := s.store.(accountStatusStore)
	if !ok {
		return nil, fmt.Errorf("account status: the store (%T) cannot deactivate accounts", s.store)
	}
	st := s.repoState(a.DID)
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := ss.SetAccountActive(r.Context(), a.DID, active, s.now()); err != nil {
		if errors.Is(err, ErrNotStored) {
			return nil, xerr(http.StatusBadRequest, "AccountNotFound", "Account not found: %s", a.DID)
		}
		return nil, err
	}
	return nil, nil
}
