package pdsclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/arbor-atproto/arbor/internal/atomicfile"
)

// SessionStore is the file of kept sessions.
type SessionStore struct {
	// Path is the file (DefaultSessionStore: sessions.json in the user's
	// configuration directory for arbor).
	Path string
}

type storeFile struct {
	Default  string     `json:"default,omitempty"`
	Sessions []*Session `json:"sessions"`
}

// DefaultSessionStore is the store in os.UserConfigDir()/arbor.
func DefaultSessionStore() (*SessionStore, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return nil, fmt.Errorf("no user configuration directory to keep sessions in: %w", err)
	}
	return &SessionStore{Path: filepath.Join(dir, "arbor", "sessions.json")}, nil
}

func (st *SessionStore) read() (*storeFile, error) {
	b, err := os.ReadFile(st.Path)
	if errors.Is(err, os.ErrNotExist) {
		return &storeFile{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f storeFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not a session file: %v", st.Path, err)
	}
	return &f, nil
}

// Load finds a kept session by DID or handle (case-insensitive); ""
// is the default session (the last one saved by Save with makeDefault).
// ErrNoSession when there is none.
func (st *SessionStore) Load(account string) (*Session, error) {
	f, err := st.read()
	if err != nil {
		return nil, err
	}
	if account == "" {
		account = f.Default
	}
	account = strings.ToLower(strings.TrimPrefix(account, "@"))
	for _, s := range f.Sessions {
		if account != "" && (s.DID == account || strings.ToLower(s.Handle) == account) {
			return s, nil
		}
	}
	if account == "" {
		return nil, fmt.Errorf("%w: no default session in %s (run arbor account login)", ErrNoSession, st.Path)
	}
	return nil, fmt.Errorf("%w for %s in %s (run arbor account login)", ErrNoSession, account, st.Path)
}

// Save keeps s (replacing the one for its DID); makeDefault makes it the
// default. The file is written atomically, mode 0600.
func (st *SessionStore) Save(s *Session, makeDefault bool) error {
	f, err := st.read()
	if err != nil {
		return err
	}
	kept := f.Sessions[:0]
	for _, o := range f.Sessions {
		if o.DID != s.DID {
			kept = append(kept, o)
		}
	}
	f.Sessions = append(kept, s)
	if makeDefault || f.Default == "" {
		f.Default = s.DID
	}
	return st.write(f)
}

// Remove forgets the session of did.
func (st *SessionStore) Remove(did string) error {
	f, err := st.read()
	if err != nil {
		return err
	}
	kept := f.Sessions[:0]
	for _, o := range f.Sessions {
		if o.DID != did {
			kept = append(kept, o)
		}
	}
	f.Sessions = kept
	if f.Default == did {
		f.Default = ""
	}
	return st.write(f)
}

func (st *SessionStore) write(f *storeFile) error {
	dir := filepath.Dir(st.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(st.Path, ".sessions-*", append(b, '\n'), 0o600)
}

// LoginResult is what arbor account login prints.
type LoginResult struct {
	DID         string `json:"did"`
	Handle      string `json:"handle"`
	PDS         string `json:"pds"`
	SessionFile string `json:"sessionFile"`
}
