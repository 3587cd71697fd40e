package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/arbor-atproto/arbor/internal/atomicfile"
)

// Errors of a backup run or check, each wrapped with the details.
var (
	// ErrNotABackup: DIR is neither empty nor a backup (no manifest.json,
	// or one that does not read).
	ErrNotABackup = errors.New("not a backup directory")
	// ErrOtherAccount: DIR holds the backup of another DID, or the PDS
	// served another DID's repository.
	ErrOtherAccount = errors.New("another account")
	// ErrRejected: what the network gave did not verify (a repository, a
	// slice applied, an audit log); nothing of it was kept.
	ErrRejected = errors.New("download rejected")
)

// File names in a backup directory.
const (
	ManifestFile = "manifest.json"
	RepoFile     = "repo.car"
	DIDDocFile   = "did.json"
	AuditLogFile = "plc-audit.json"
	PrefsFile    = "preferences.json"
	BlobDir      = "blobs"
	incomingDir  = ".incoming"
)

// ManifestFormat is the manifest layout this package writes and reads.
const ManifestFormat = 1

// Manifest is DIR/manifest.json: what the backup holds.
type Manifest struct {
	// Format is ManifestFormat.
	Format int `json:"format"`
	// DID, Handle (as the document claims it) and PDS of the account.
	DID    string `json:"did"`
	Handle string `json:"handle,omitempty"`
	PDS    string `json:"pds"`
	// RotationKeys of a did:plc, highest priority first.
	RotationKeys []string `json:"rotationKeys,omitempty"`
	// Rev and Commit are repo.car's commit.
	Rev    string `json:"rev"`
	Commit string `json:"commit"`
	// Records and Collections count repo.car's records.
	Records     int            `json:"records"`
	Collections map[string]int `json:"collections"`
	// Files are the files besides the blobs and the manifest, by name.
	Files map[string]FileEntry `json:"files"`
	// Blobs are every blob known, by CID order: referenced by a record,
	// listed by the PDS, or kept from before.
	Blobs []BlobEntry `json:"blobs"`
	// Checked is when the PDS was last asked for the head.
	Checked time.Time `json:"checked"`
}

// FileEntry is one file of the backup.
type FileEntry struct {
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	// Refreshed is when this file was last replaced.
	Refreshed time.Time `json:"refreshed"`
}

// Blob states.
const (
	BlobStored  = "stored"  // the file is in blobs/, checked against its CID
	BlobFailed  = "failed"  // the download failed; Error says why; retried next run
	BlobSkipped = "skipped" // not downloaded (blobs turned off)
)

// BlobEntry is one blob.
type BlobEntry struct {
	CID string `json:"cid"`
	// State is BlobStored, BlobFailed or BlobSkipped.
	State string `json:"state"`
	// Size is the stored file's size, or else the size records declare.
	Size int64 `json:"size"`
	// MIMEType is what the records declare ("" for a blob no record
	// references).
	MIMEType string `json:"mimeType,omitempty"`
	// Records are the at:// URIs of the records that reference it.
	Records []string `json:"records"`
	// Listed says the PDS's listBlobs gave it.
	Listed bool `json:"listed"`
	// SHA256 is the stored file's hash (the CID's digest, in hex).
	SHA256 string `json:"sha256,omitempty"`
	// Error is why the last download failed.
	Error string `json:"error,omitempty"`
	// Refreshed is when it was stored, or last tried.
	Refreshed time.Time `json:"refreshed"`
}

// ReadManifest reads DIR/manifest.json. A directory without one gives an
// error wrapping os.ErrNotExist; one that does not read, ErrNotABackup.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	return parseManifest(dir, b)
}

func parseManifest(dir string, b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotABackup, filepath.Join(dir, ManifestFile), err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("%w: %s: format %d, this arbor reads %d", ErrNotABackup, filepath.Join(dir, ManifestFile), m.Format, ManifestFormat)
	}
	if m.DID == "" {
		return nil, fmt.Errorf("%w: %s names no DID", ErrNotABackup, filepath.Join(dir, ManifestFile))
	}
	return &m, nil
}

func (m *Manifest) encode() []byte {
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}

// blob returns the entry for c, or nil.
func (m *Manifest) blob(c string) *BlobEntry {
	if m == nil {
		return nil
	}
	for i := range m.Blobs {
		if m.Blobs[i].CID == c {
			return &m.Blobs[i]
		}
	}
	return nil
}

// hashFile returns a file's SHA-256 (hex) and size.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// writeStaged writes data as name in the staging folder.
func writeStaged(stage, name string, data []byte) error {
	return atomicfile.WriteBytes(filepath.Join(stage, name), "."+name+".*.part", data, 0o600)
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
