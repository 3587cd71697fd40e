package pds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/arbor-atproto/arbor/plc"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// directory registers and resolves did:plc identities.
type directory interface {
	// Submit adds a signed operation to did's log, validated as a
	// directory does.
	Submit(ctx context.Context, did string, op *plc.Operation) error
	// State returns the validated log of did; ErrNotStored when unknown.
	State(ctx context.Context, did string) (*plc.State, error)
}

// embeddedDirectory keeps logs in the Store and validates every submission
// with plc.ValidateLog.
type embeddedDirectory struct {
	store Store
	now   func() time.Time
	mu    sync.Mutex // serialises submissions
}

func (d *embeddedDirectory) entries(ctx context.Context, did string) ([]plc.LogEntry, error) {
	stored, err := d.store.PLCLog(ctx, did)
	if err != nil {
		return nil, err
	}
	out := make([]plc.LogEntry, len(stored))
	for i, e := range stored {
		op, err := plc.ParseOperation(e.Operation)
		if err != nil {
			return nil, fmt.Errorf("stored log of %s, entry %d: %w", did, i, err)
		}
		out[i] = plc.LogEntry{DID: did, Operation: op, CID: e.CID, Nullified: e.Nullified, CreatedAt: e.CreatedAt, HasMeta: true}
	}
	return out, nil
}

func (d *embeddedDirectory) State(ctx context.Context, did string) (*plc.State, error) {
	entries, err := d.entries(ctx, did)
	if err != nil {
		return nil, err
	}
	st, err := plc.ValidateLog(syntax.DID(did), entries)
	if err != nil {
		return nil, fmt.Errorf("stored log of %s: %w", did, err)
	}
	return st, nil
}

// errBadOperation marks a submission the directory refuses (answered 400).
var errBadOperation = errors.New("operation refused")

func (d *embeddedDirectory) Submit(ctx context.Context, did string, op *plc.Operation) error {
	// A new operation is held to the directory's limits (size, keys,
	// services, alsoKnownAs), as plc.directory holds it; a stored log is
	// only replayed by ValidateLog's rules.
	if err := plc.CheckLimits(op); err != nil {
		return fmt.Errorf("%w: %v", errBadOperation, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now().UTC().Truncate(time.Millisecond)
	entries, err := d.entries(ctx, did)
	var st *plc.State
	switch {
	case errors.Is(err, ErrNotStored):
		st, err = plc.ValidateLog(syntax.DID(did), []plc.LogEntry{{DID: did, Operation: op, CID: op.CID().String(), CreatedAt: now, HasMeta: true}})
		if err != nil {
			return fmt.Errorf("%w: %v", errBadOperation, err)
		}
	case err != nil:
		return err
	default:
		cur, err := plc.ValidateLog(syntax.DID(did), entries)
		if err != nil {
			return fmt.Errorf("stored log of %s: %w", did, err)
		}
		if st, err = cur.Append(op, now); err != nil {
			return fmt.Errorf("%w: %v", errBadOperation, err)
		}
	}
	log := st.LogEntries()
	stored := make([]PLCEntry, len(log))
	for i, e := range log {
		stored[i] = PLCEntry{CID: e.CID, Operation: e.Operation.AppendJSON(nil), Nullified: e.Nullified, CreatedAt: e.CreatedAt}
	}
	return d.store.SetPLCLog(ctx, did, stored)
}

// remoteDirectory is a directory reached over HTTP.
type remoteDirectory struct{ client *plc.Client }

func newRemoteDirectory(host string, hc *http.Client) *remoteDirectory {
	return &remoteDirectory{client: &plc.Client{Host: host, HTTP: hc}}
}

func (d *remoteDirectory) Submit(ctx context.Context, did string, op *plc.Operation) error {
	return d.client.Submit(ctx, syntax.DID(did), op)
}

func (d *remoteDirectory) State(ctx context.Context, did string) (*plc.State, error) {
	entries, _, err := d.client.AuditLog(ctx, syntax.DID(did))
	if err != nil {
		return nil, err
	}
	return plc.ValidateLog(syntax.DID(did), entries)
}

// servePLC answers the embedded directory's routes: GET /{did},
// /{did}/data, /{did}/log, /{did}/log/audit, /{did}/log/last and POST
// /{did}. Errors are {"message": ...} as plc.directory answers them.
func (s *Server) servePLC(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	did, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	fail := func(status int, format string, args ...any) {
		writeJSON(w, status, map[string]string{"message": fmt.Sprintf(format, args...)})
	}
	if !plc.ValidDID(did) {
		fail(http.StatusBadRequest, "Invalid DID: %s", did)
		return
	}
	d := s.directory.(*embeddedDirectory)
	ctx := r.Context()
	if r.Method == http.MethodPost {
		if rest != "" {
			fail(http.StatusNotFound, "no route for POST %s", r.URL.Path)
			return
		}
		if err := limitBody(w, r, plc.MaxOpBytes*4); err != nil {
			fail(http.StatusRequestEntityTooLarge, "operation too large")
			return
		}
		body, err := io.ReadAll(r.Body)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			fail(http.StatusRequestTimeout, "reading operation: %s", s.errBodyTooSlow().Message)
			return
		}
		if err != nil {
			fail(http.StatusRequestEntityTooLarge, "reading operation: %v", err)
			return
		}
		op, err := plc.ParseOperation(body)
		if err != nil {
			fail(http.StatusBadRequest, "Invalid operation: %v", err)
			return
		}
		if err := d.Submit(ctx, did, op); err != nil {
			if errors.Is(err, errBadOperation) {
				fail(http.StatusBadRequest, "%v", err)
			} else {
				fail(http.StatusInternalServerError, "%v", err)
			}
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		fail(http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
		return
	}
	st, err := d.State(ctx, did)
	if errors.Is(err, ErrNotStored) {
		fail(http.StatusNotFound, "DID not registered: %s", did)
		return
	}
	if err != nil {
		fail(http.StatusInternalServerError, "%v", err)
		return
	}
	switch rest {
	case "":
		doc, err := st.Document()
		if err != nil {
			fail(http.StatusNotFound, "DID not available: %s", did)
			return
		}
		w.Header().Set("Content-Type", "application/did+ld+json")
		writeJSON(w, http.StatusOK, doc)
	case "data":
		data, err := st.Data()
		if err != nil {
			fail(http.StatusNotFound, "DID not available: %s", did)
			return
		}
		writeJSON(w, http.StatusOK, data)
	case "log":
		ops := []*plc.Operation{}
		for _, i := range st.ActiveChain() {
			ops = append(ops, st.Op(i))
		}
		writeJSON(w, http.StatusOK, ops)
	case "log/last":
		writeJSON(w, http.StatusOK, st.Head())
	case "log/audit":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(plc.MarshalLog(st.LogEntries()))
	default:
		fail(http.StatusNotFound, "no route for %s", r.URL.Path)
	}
}
