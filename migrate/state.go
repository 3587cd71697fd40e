package migrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/arbor-atproto/arbor/internal/atomicfile"
)

// State is what the state file keeps between runs: which steps are done
// and the signed did:plc operation, never a password or session token.
// TempSigningKey is the throwaway key of a move from a backup (see the
// package documentation), kept so that a rerun signs with the same key
// the first operation named; the file is written with mode 0600.
type State struct {
	DID       string          `json:"did"`
	From      string          `json:"from"`
	To        string          `json:"to"`
	NewHandle string          `json:"newHandle"`
	Done      map[string]bool `json:"done"`
	// Started marks steps begun but not known to be finished (a creation
	// that may have happened before a crash).
	Started         map[string]bool `json:"started,omitempty"`
	SignedOperation json.RawMessage `json:"signedOperation,omitempty"`
	TempSigningKey  string          `json:"tempSigningKey,omitempty"`

	path string
}

func loadState(path string) (*State, error) {
	st := &State{Done: map[string]bool{}, Started: map[string]bool{}, path: path}
	if path == "" {
		return st, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrStateMismatch, path, err)
	}
	if st.Done == nil {
		st.Done = map[string]bool{}
	}
	if st.Started == nil {
		st.Started = map[string]bool{}
	}
	st.path = path
	return st, nil
}

// fresh says the state file has nothing recorded yet.
func (st *State) fresh() bool { return st.DID == "" && len(st.Done) == 0 }

// matches refuses a state file of another move.
func (st *State) matches(did, from, to string) error {
	if st.fresh() {
		st.DID, st.From, st.To = did, from, to
		return nil
	}
	if st.DID != did || st.From != from || st.To != to {
		return fmt.Errorf("%w: %s records the move of %s from %s to %s, not of %s from %s to %s", ErrStateMismatch, st.path, st.DID, st.From, st.To, did, from, to)
	}
	return nil
}

func (st *State) save() error {
	if st.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(st.path, ".migrate-state-*", append(b, '\n'), 0o600)
}
