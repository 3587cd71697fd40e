package pds

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/arbor-atproto/arbor/internal/atomicfile"
)

// ServeInfoFile is the file of a data directory that tells tools on the
// same machine how to reach the server that last opened it: its URL, its
// directory's URL and the admin password. Open writes it (mode 0600, as
// the admin password is in it); it is not removed on exit, so the URL may
// be that of a server no longer running.
const ServeInfoFile = "serve.json"

// ServeInfo is the content of ServeInfoFile.
type ServeInfo struct {
	URL           string `json:"url"`
	PLC           string `json:"plc"`
	AdminPassword string `json:"adminPassword"`
}

// ErrNoServeInfo: the directory has no ServeInfoFile (no server opened it).
var ErrNoServeInfo = errors.New("no " + ServeInfoFile + ": not a data directory of arbor pds serve")

// ReadServeInfo reads dir's ServeInfoFile.
func ReadServeInfo(dir string) (*ServeInfo, error) {
	p := filepath.Join(dir, ServeInfoFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNoServeInfo)
	}
	if err != nil {
		return nil, err
	}
	var in ServeInfo
	if err := json.Unmarshal(b, &in); err != nil || in.URL == "" {
		return nil, fmt.Errorf("%s: not a serve file (want a JSON object with url and adminPassword)", p)
	}
	return &in, nil
}

// writeServeInfo writes the ServeInfoFile of s's data directory, replacing
// it whole (a temporary file renamed).
func (s *Server) writeServeInfo() error {
	b, err := json.MarshalIndent(ServeInfo{URL: s.cfg.PublicURL, PLC: s.PLCURL(), AdminPassword: s.adminPass}, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(s.dir, ServeInfoFile), ".serve-*.json", append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("pds: writing %s: %w", ServeInfoFile, err)
	}
	return nil
}
