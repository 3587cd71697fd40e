package pds

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

const carContentType = "application/vnd.ipld.car"

// syncAccount finds the account named by the did parameter, whose repo
// must be available to the caller (see repoAvailable).
func (s *Server) syncAccount(r *http.Request) (*Account, error) {
	a, err := s.syncAccountAnyStatus(r)
	if err != nil {
		return nil, err
	}
	if err := s.repoAvailable(r, a); err != nil {
		return nil, err
	}
	return a, nil
}

// repoAvailable refuses a deactivated account's repo, records and blobs to
// everyone but the account itself (its access token) and the admin, with
// the reference PDS's error (400 RepoDeactivated); getRepoStatus still
// says the account is inactive.
func (s *Server) repoAvailable(r *http.Request, a *Account) error {
	if a.Active || s.adminOrSelf(r, a.DID) {
		return nil
	}
	return xerr(http.StatusBadRequest, "RepoDeactivated", "Repo has been deactivated: %s", a.DID)
}

// adminOrSelf reports whether the request carries admin credentials or an
// access token of did. Bad credentials count as none.
func (s *Server) adminOrSelf(r *http.Request, did string) bool {
	if r.Header.Get("Authorization") == "" {
		return false
	}
	if s.authAdmin(r) == nil {
		return true
	}
	a, err := s.authSession(r)
	return err == nil && a.DID == did
}

// syncAccountAnyStatus finds the account named by the did parameter,
// active or not.
func (s *Server) syncAccountAnyStatus(r *http.Request) (*Account, error) {
	did, err := requireParam(r, "did")
	if err != nil {
		return nil, err
	}
	a, err := s.account(r.Context(), did, repoNotFound(did))
	if err != nil {
		return nil, err
	}
	if !a.Head.Defined() {
		return nil, xerr(http.StatusBadRequest, "RepoNotFound", "Repo %s has no commit", did)
	}
	return a, nil
}

// syncGetRepo answers the whole repository as a CAR, or with since=REV the
// blocks added after REV, rooted at the head commit. The repository's write
// lock is held while it streams, so the blocks match the head.
func (s *Server) syncGetRepo(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.syncAccount(r)
	if err != nil {
		return nil, err
	}
	since := r.URL.Query().Get("since")
	if since != "" {
		if _, err := repo.ParseTID(since); err != nil {
			return nil, invalidRequest("since %q is not a TID", since)
		}
	}
	st := s.repoState(a.DID)
	st.mu.Lock()
	defer st.mu.Unlock()
	a, err = s.store.AccountByDID(r.Context(), a.DID)
	if err != nil {
		return nil, err
	}
	w.Header().Set("Content-Type", carContentType)
	cw, err := car.NewWriter(w, []cid.Cid{a.Head})
	if err != nil {
		return nil, err
	}
	err = s.store.Blocks(r.Context(), a.DID, since, cw.Put)
	if err == nil {
		err = cw.Flush()
	}
	// Once bytes are out the status cannot change: cut the stream short,
	// which the client sees as a truncated CAR.
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	return nil, nil
}

func (s *Server) syncGetLatestCommit(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.syncAccount(r)
	if err != nil {
		return nil, err
	}
	return map[string]string{"cid": a.Head.String(), "rev": a.Rev}, nil
}

func (s *Server) syncGetRepoStatus(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.syncAccountAnyStatus(r)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"did": a.DID, "active": a.Active}
	if a.Active {
		out["rev"] = a.Rev
	} else {
		out["status"] = "deactivated" // and no rev, as the reference answers
	}
	return out, nil
}

func (s *Server) syncListRepos(w http.ResponseWriter, r *http.Request) (any, error) {
	limit, err := queryInt(r, "limit", 500, 1, 1000)
	if err != nil {
		return nil, err
	}
	accts, err := s.store.ListAccounts(r.Context(), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return nil, err
	}
	repos := make([]map[string]any, 0, len(accts))
	for _, a := range accts {
		repos = append(repos, map[string]any{"did": a.DID, "head": a.Head.String(), "rev": a.Rev, "active": a.Active})
	}
	out := map[string]any{"repos": repos}
	if len(accts) == limit {
		out["cursor"] = accts[len(accts)-1].DID
	}
	return out, nil
}

// syncGetRecord answers a CAR proving a record (or its absence): the head
// commit, the MST nodes on the record's path, and the record.
func (s *Server) syncGetRecord(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.syncAccount(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	collection, rkey := q.Get("collection"), q.Get("rkey")
	if err := checkPath(collection, rkey); err != nil {
		return nil, err
	}
	st := s.repoState(a.DID)
	st.mu.Lock()
	defer st.mu.Unlock()
	if a, err = s.store.AccountByDID(r.Context(), a.DID); err != nil {
		return nil, err
	}
	src := storeSource{ctx: r.Context(), store: s.store, did: a.DID}
	cb, err := src.Get(a.Head)
	if err != nil {
		return nil, err
	}
	commit, err := repo.DecodeCommit(cb)
	if err != nil {
		return nil, fmt.Errorf("repo %s: head commit %s: %w", a.DID, a.Head, err)
	}
	// The reference PDS proves a record with every node down its gap
	// (mst.PathToGap), not only down to its layer.
	proof, err := mst.Prove(src, commit.Data, []byte(collection+"/"+rkey), mst.PathToGap)
	if err != nil {
		return nil, fmt.Errorf("repo %s: proof of %s/%s: %w", a.DID, collection, rkey, err)
	}
	blocks := []Block{{CID: a.Head, Data: cb}}
	for _, b := range proof.Nodes {
		blocks = append(blocks, Block{CID: b.CID, Data: b.Data})
	}
	if proof.Found {
		rb, err := src.Get(proof.Value)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, Block{CID: proof.Value, Data: rb})
	}
	return nil, writeCAR(w, a.Head, blocks)
}

func writeCAR(w http.ResponseWriter, root cid.Cid, blocks []Block) error {
	var roots []cid.Cid
	if root.Defined() {
		roots = []cid.Cid{root}
	}
	var buf bytes.Buffer
	cw, err := car.NewWriter(&buf, roots)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		if err := cw.Put(b.CID, b.Data); err != nil {
			return err
		}
	}
	if err := cw.Flush(); err != nil {
		return err
	}
	w.Header().Set("Content-Type", carContentType)
	w.Write(buf.Bytes())
	return nil
}

// MaxGetBlocks bounds the CIDs of one getBlocks request.
const MaxGetBlocks = 1000

func (s *Server) syncGetBlocks(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.syncAccount(r)
	if err != nil {
		return nil, err
	}
	list := r.URL.Query()["cids"]
	if len(list) > MaxGetBlocks {
		return nil, invalidRequest("at most %d cids per request", MaxGetBlocks)
	}
	var blocks []Block
	var missing []string
	for _, cs := range list {
		c, err := parseCID("cids", cs)
		if err != nil {
			return nil, err
		}
		b, err := s.store.Block(r.Context(), a.DID, c)
		if errors.Is(err, ErrNotStored) {
			missing = append(missing, cs)
			continue
		}
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, Block{CID: c, Data: b})
	}
	if len(missing) > 0 {
		return nil, xerr(http.StatusBadRequest, "BlockNotFound", "Could not find cids: %v", missing)
	}
	return nil, writeCAR(w, cid.Undef, blocks)
}
