package pds

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// Write methods' results.
type commitMeta struct {
	CID string `json:"cid"`
	Rev string `json:"rev"`
}

func atURI(did, collection, rkey string) string {
	return "at://" + did + "/" + collection + "/" + rkey
}

// recordRequest is the body createRecord, putRecord and deleteRecord share.
// createRecord ignores swapRecord.
type recordRequest struct {
	Repo       string          `json:"repo"`
	Collection string          `json:"collection"`
	Rkey       string          `json:"rkey"`
	SwapRecord json.RawMessage `json:"swapRecord"`
	SwapCommit json.RawMessage `json:"swapCommit"`
}

// recordWithValue is the body of createRecord and putRecord.
type recordWithValue struct {
	recordRequest
	Validate *bool           `json:"validate"`
	Record   json.RawMessage `json:"record"`
}

// readRecordWrite authenticates the caller, reads the body into body (a
// recordRequest or a recordWithValue whose request part is req), checks that
// the repo is the caller's, and prepares the one write of action ("create",
// "update" or "delete") with its swapRecord and swapCommit.
func (s *Server) readRecordWrite(w http.ResponseWriter, r *http.Request, action string, body any, req *recordRequest, record *json.RawMessage) (*Account, *write, *cid.Cid, error) {
	a, err := s.authAccess(r)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, body); err != nil {
		return nil, nil, nil, err
	}
	if err := ownRepo(a, req.Repo); err != nil {
		return nil, nil, nil, err
	}
	if action == "create" && req.Rkey == "" {
		req.Rkey = string(s.clock.Next())
	}
	var value json.RawMessage
	if record != nil {
		value = *record
	}
	wr, err := prepareWrite(action, req.Collection, req.Rkey, value, -1)
	if err != nil {
		return nil, nil, nil, err
	}
	if action != "create" {
		// null names no record for a put (it must not exist yet); for a
		// delete it is no swap at all.
		if wr.swap, err = jsonCID("swapRecord", req.SwapRecord, action == "update"); err != nil {
			return nil, nil, nil, err
		}
	}
	swapCommit, err := jsonCID("swapCommit", req.SwapCommit, false)
	if err != nil {
		return nil, nil, nil, err
	}
	return a, wr, swapCommit, nil
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.writeRecord(w, r, "create")
}

func (s *Server) putRecord(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.writeRecord(w, r, "update")
}

// writeRecord is createRecord (action "create") and putRecord ("update").
func (s *Server) writeRecord(w http.ResponseWriter, r *http.Request, action string) (any, error) {
	var in recordWithValue
	a, wr, swapCommit, err := s.readRecordWrite(w, r, action, &in, &in.recordRequest, &in.Record)
	if err != nil {
		return nil, err
	}
	if err := s.validateWrites(r.Context(), a, []*write{wr}, in.Validate); err != nil {
		return nil, err
	}
	res, err := s.writeRepo(r.Context(), a, []write{*wr}, swapCommit)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"uri": atURI(a.DID, wr.collection, wr.rkey), "cid": wr.cid.String()}
	if wr.status != "" {
		out["validationStatus"] = wr.status
	}
	res.addCommit(out)
	return out, nil
}

// prepareWrite checks a path and, except for deletes, prepares the record.
// index is the write's place in applyWrites' writes (-1: createRecord,
// putRecord, deleteRecord), for error messages.
func prepareWrite(action, collection, rkey string, record json.RawMessage, index int) (*write, error) {
	wr := &write{action: action, collection: collection, rkey: rkey, index: index}
	if err := checkPath(collection, rkey); err != nil {
		return nil, wr.locate(err)
	}
	if action != "delete" {
		b, c, err := prepareRecord(wr, record)
		if err != nil {
			return nil, wr.locate(err)
		}
		wr.value, wr.cid = b, c
	}
	return wr, nil
}

func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request) (any, error) {
	var in recordRequest
	a, wr, swapCommit, err := s.readRecordWrite(w, r, "delete", &in, &in, nil)
	if err != nil {
		return nil, err
	}
	// Deleting a record that is not there is not an error, and makes no
	// commit (unless a swap says the record should have been there).
	if wr.swap == nil {
		if _, err := s.store.Record(r.Context(), a.DID, wr.collection, wr.rkey); errors.Is(err, ErrNotStored) {
			if swapCommit != nil {
				if cur, err := s.store.AccountByDID(r.Context(), a.DID); err == nil && cur.Head != *swapCommit {
					return nil, errInvalidSwap("Commit was at %s", cur.Head)
				}
			}
			return map[string]any{}, nil
		}
	}
	res, err := s.writeRepo(r.Context(), a, []write{*wr}, swapCommit)
	if err != nil {
		return nil, err
	}
	return map[string]any{"commit": commitMeta{res.commit.String(), res.rev}}, nil
}

const (
	awCreate = "com.atproto.repo.applyWrites#create"
	awUpdate = "com.atproto.repo.applyWrites#update"
	awDelete = "com.atproto.repo.applyWrites#delete"
)

func (s *Server) applyWrites(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authAccess(r)
	if err != nil {
		return nil, err
	}
	var in struct {
		Repo     string `json:"repo"`
		Validate *bool  `json:"validate"`
		Writes   []struct {
			Type       string          `json:"$type"`
			Collection string          `json:"collection"`
			Rkey       string          `json:"rkey"`
			Value      json.RawMessage `json:"value"`
		} `json:"writes"`
		SwapCommit json.RawMessage `json:"swapCommit"`
	}
	if err := decodeJSONBody(w, r, s.cfg.MaxJSONBody, &in); err != nil {
		return nil, err
	}
	if err := ownRepo(a, in.Repo); err != nil {
		return nil, err
	}
	if len(in.Writes) == 0 {
		return nil, invalidRequest("writes is empty")
	}
	if len(in.Writes) > MaxApplyWrites {
		return nil, invalidRequest("Too many writes. Max: %d", MaxApplyWrites)
	}
	writes := make([]write, 0, len(in.Writes))
	for i, iw := range in.Writes {
		var action string
		switch iw.Type {
		case awCreate:
			action = "create"
			if iw.Rkey == "" {
				iw.Rkey = string(s.clock.Next())
			}
		case awUpdate:
			action = "update"
		case awDelete:
			action = "delete"
		default:
			return nil, invalidRequest("$.writes[%d].$type: %q is not one of %s, %s, %s", i, iw.Type, awCreate, awUpdate, awDelete)
		}
		wr, err := prepareWrite(action, iw.Collection, iw.Rkey, iw.Value, i)
		if err != nil {
			return nil, err
		}
		writes = append(writes, *wr)
	}
	swapCommit, err := jsonCID("swapCommit", in.SwapCommit, false)
	if err != nil {
		return nil, err
	}
	ptrs := make([]*write, len(writes))
	for i := range writes {
		ptrs[i] = &writes[i]
	}
	if err := s.validateWrites(r.Context(), a, ptrs, in.Validate); err != nil {
		return nil, err
	}
	res, err := s.writeRepo(r.Context(), a, writes, swapCommit)
	if err != nil {
		return nil, err
	}
	results := make([]map[string]any, len(writes))
	for i, wr := range writes {
		switch wr.action {
		case "delete":
			results[i] = map[string]any{"$type": "com.atproto.repo.applyWrites#deleteResult"}
		default:
			t := "com.atproto.repo.applyWrites#createResult"
			if wr.action == "update" {
				t = "com.atproto.repo.applyWrites#updateResult"
			}
			results[i] = map[string]any{"$type": t, "uri": atURI(a.DID, wr.collection, wr.rkey), "cid": wr.cid.String()}
			if wr.status != "" {
				results[i]["validationStatus"] = wr.status
			}
		}
	}
	out := map[string]any{"results": results}
	res.addCommit(out)
	return out, nil
}

// addCommit sets an answer's commit, which a no-op write has none of (as
// the reference answers an identical put).
func (res *commitResult) addCommit(out map[string]any) {
	if !res.noop {
		out["commit"] = commitMeta{res.commit.String(), res.rev}
	}
}

// recordJSON reads a record block and renders it in atproto JSON.
func (s *Server) recordJSON(r *http.Request, did string, c cid.Cid) (json.RawMessage, error) {
	b, err := s.store.Block(r.Context(), did, c)
	if err != nil {
		return nil, err
	}
	v, err := dagcbor.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("record %s of %s: %w", c, did, err)
	}
	return dagcbor.ToJSON(v)
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	repoParam, collection, rkey := q.Get("repo"), q.Get("collection"), q.Get("rkey")
	if repoParam == "" {
		return nil, invalidRequest("parameter repo is required")
	}
	if err := checkPath(collection, rkey); err != nil {
		return nil, err
	}
	a, err := s.account(r.Context(), repoParam, repoNotFound(repoParam))
	if err != nil {
		return nil, err
	}
	uri := atURI(a.DID, collection, rkey)
	notFound := xerr(http.StatusBadRequest, "RecordNotFound", "Could not locate record: %s", uri)
	c, err := s.store.Record(r.Context(), a.DID, collection, rkey)
	if errors.Is(err, ErrNotStored) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if want := q.Get("cid"); want != "" {
		wc, err := parseCID("cid", want)
		if err != nil {
			return nil, err
		}
		if wc != c {
			return nil, notFound
		}
	}
	val, err := s.recordJSON(r, a.DID, c)
	if err != nil {
		return nil, err
	}
	return map[string]any{"uri": uri, "cid": c.String(), "value": val}, nil
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	repoParam, collection := q.Get("repo"), q.Get("collection")
	if repoParam == "" {
		return nil, invalidRequest("parameter repo is required")
	}
	if err := checkPath(collection, "x"); err != nil {
		return nil, err
	}
	limit, err := queryInt(r, "limit", 50, 1, 100)
	if err != nil {
		return nil, err
	}
	reverse, err := queryBool(r, "reverse")
	if err != nil {
		return nil, err
	}
	a, err := s.account(r.Context(), repoParam, repoNotFound(repoParam))
	if err != nil {
		return nil, err
	}
	refs, err := s.store.ListRecords(r.Context(), a.DID, collection, q.Get("cursor"), limit, reverse)
	if err != nil {
		return nil, err
	}
	records := make([]map[string]any, 0, len(refs))
	for _, ref := range refs {
		val, err := s.recordJSON(r, a.DID, ref.CID)
		if err != nil {
			return nil, err
		}
		records = append(records, map[string]any{"uri": atURI(a.DID, collection, ref.Rkey), "cid": ref.CID.String(), "value": val})
	}
	out := map[string]any{"records": records}
	if len(refs) == limit {
		out["cursor"] = refs[len(refs)-1].Rkey
	}
	return out, nil
}

func (s *Server) describeRepo(w http.ResponseWriter, r *http.Request) (any, error) {
	repoParam, err := requireParam(r, "repo")
	if err != nil {
		return nil, err
	}
	a, err := s.account(r.Context(), repoParam, repoNotFound(repoParam))
	if err != nil {
		return nil, err
	}
	cols, err := s.store.Collections(r.Context(), a.DID)
	if err != nil {
		return nil, err
	}
	doc, err := s.didDocument(r.Context(), a.DID)
	if err != nil {
		return nil, err
	}
	var d struct {
		AlsoKnownAs []string `json:"alsoKnownAs"`
	}
	json.Unmarshal(doc, &d)
	correct := false
	for _, aka := range d.AlsoKnownAs {
		if strings.EqualFold(aka, "at://"+a.Handle) {
			correct = true
		}
	}
	return map[string]any{"handle": a.Handle, "did": a.DID, "didDoc": doc, "collections": cols, "handleIsCorrect": correct}, nil
}
