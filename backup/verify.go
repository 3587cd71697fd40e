package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/identity"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Resolver, when set, resolves the DID now and checks the repository
	// against the live document's key instead of the kept one's.
	Resolver *identity.Resolver
}

// VerifyReport is what Verify found (arbor backup verify --json).
type VerifyReport struct {
	Dir    string `json:"dir"`
	DID    string `json:"did"`
	Rev    string `json:"rev"`
	Commit string `json:"commit"`
	// Records counts repo.car's records.
	Records int `json:"records"`
	// SigningKey is the key the commit was checked against, and KeyFrom
	// where it came from: "did.json" or "resolved".
	SigningKey string `json:"signingKey,omitempty"`
	KeyFrom    string `json:"keyFrom"`
	// Blobs counts the blob files checked.
	Blobs int `json:"blobs"`
	// Missing are the blobs records reference that are not stored.
	Missing []MissingBlob `json:"missing"`
	// AuditLogEntries counts the audit log's entries (did:plc).
	AuditLogEntries int `json:"auditLogEntries,omitempty"`
	// Checked lists what was verified.
	Checked []string `json:"checked"`
	// Problems lists everything wrong; none means the backup verifies.
	Problems []Problem `json:"problems"`
	// Recovered says what was done about an interrupted run.
	Recovered string `json:"recovered,omitempty"`
}

// MissingBlob is a referenced blob that is not stored.
type MissingBlob struct {
	CID string `json:"cid"`
	// Records are the at:// URIs of the records that need it.
	Records []string `json:"records"`
	// Error is the manifest's reason, when it records a failure.
	Error string `json:"error,omitempty"`
}

// Problem is one thing wrong with a backup.
type Problem struct {
	// File is the file concerned, relative to the backup directory.
	File string `json:"file"`
	// Error says what is wrong.
	Error string `json:"error"`
}

func (p Problem) String() string { return p.File + ": " + p.Error }

// Valid says the backup verifies.
func (r *VerifyReport) Valid() bool { return len(r.Problems) == 0 }

func (r *VerifyReport) add(file string, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{File: file, Error: fmt.Sprintf(format, args...)})
}

// Verify checks the backup in dir (see the package documentation). An
// error is for a directory that is not a backup at all; everything wrong
// with one is in the report's Problems.
func Verify(ctx context.Context, dir string, o VerifyOptions) (*VerifyReport, error) {
	rec, err := recoverDir(dir)
	if err != nil {
		return nil, err
	}
	m, err := ReadManifest(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s", ErrNotABackup, dir, ManifestFile)
	}
	if err != nil {
		return nil, err
	}
	r := &VerifyReport{Dir: dir, DID: m.DID, Rev: m.Rev, Commit: m.Commit, Recovered: rec, Missing: []MissingBlob{}, Checked: []string{}, Problems: []Problem{}}
	did, err := identity.ParseDID(m.DID)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotABackup, ManifestFile, err)
	}
	r.checkFiles(dir, m)
	kept, doc := r.checkDocument(ctx, dir, did, o)
	refs := r.checkRepo(dir, m, doc)
	r.checkBlobs(dir, m, refs)
	if did.Method() == "plc" {
		r.checkAuditLog(dir, did, kept)
	}
	if _, ok := m.Files[PrefsFile]; ok {
		r.checkPreferences(dir)
	}
	return r, nil
}

// checkFiles compares every file the manifest lists with its size and hash.
func (r *VerifyReport) checkFiles(dir string, m *Manifest) {
	for _, name := range slices.Sorted(maps.Keys(m.Files)) {
		want := m.Files[name]
		sum, n, err := hashFile(filepath.Join(dir, name))
		switch {
		case err != nil:
			r.add(name, "%v", err)
		case n != want.Bytes || sum != want.SHA256:
			r.add(name, "does not match the manifest: %d bytes, SHA-256 %s; the manifest says %d bytes, %s", n, sum, want.Bytes, want.SHA256)
		}
	}
	if _, ok := m.Files[RepoFile]; !ok {
		r.add(ManifestFile, "lists no %s", RepoFile)
	}
	r.Checked = append(r.Checked, "every file's size and SHA-256 against "+ManifestFile)
}

// checkDocument reads did.json and returns it and the document whose key
// the repository is checked against (the resolved one with a Resolver);
// nil when there is none.
func (r *VerifyReport) checkDocument(ctx context.Context, dir string, did syntax.DID, o VerifyOptions) (kept, use *identity.Document) {
	raw, err := os.ReadFile(filepath.Join(dir, DIDDocFile))
	kept = nil
	if err == nil {
		kept, err = identity.ParseDocument(did, raw)
	}
	if err != nil {
		r.add(DIDDocFile, "%v", err)
	}
	doc := kept
	r.KeyFrom = DIDDocFile
	if o.Resolver != nil {
		live, err := o.Resolver.ResolveDID(ctx, did)
		if err != nil {
			r.add(DIDDocFile, "resolving %s: %v", did, err)
			return kept, nil
		}
		doc, r.KeyFrom = live, "resolved"
	}
	if doc == nil {
		return kept, nil
	}
	if doc.KeyErr != nil {
		r.add(DIDDocFile, "%v", doc.KeyErr)
		return kept, doc
	}
	r.SigningKey = doc.SigningKey.DIDKey()
	return kept, doc
}

// checkRepo verifies repo.car fully against the document's key and the
// manifest, and returns the blobs its records reference.
func (r *VerifyReport) checkRepo(dir string, m *Manifest, doc *identity.Document) map[string]*blobRef {
	path := filepath.Join(dir, RepoFile)
	f, err := os.Open(path)
	if err != nil {
		r.add(RepoFile, "%v", err)
		return nil
	}
	defer f.Close()
	a, err := archive.Read(f, archive.Options{CollectBadBlocks: true})
	if err != nil {
		r.add(RepoFile, "%v", err)
		return nil
	}
	opts := archive.VerifyOptions{DID: syntax.DID(m.DID)}
	if doc != nil && doc.SigningKey != nil {
		opts.Key = doc.SigningKey
	}
	rep, err := a.Verify(opts)
	if err != nil {
		r.add(RepoFile, "%v", err)
		return nil
	}
	for _, p := range rep.Problems {
		r.add(RepoFile, "%v", p)
	}
	if !rep.SignatureChecked {
		r.add(RepoFile, "commit signature not checked: no signing key")
	}
	r.Records = rep.Records
	if a.Root.String() != m.Commit || a.Commit == nil || a.Commit.Rev.String() != m.Rev {
		rev := ""
		if a.Commit != nil {
			rev = a.Commit.Rev.String()
		}
		r.add(RepoFile, "commit %s rev %s, the manifest says %s rev %s", a.Root, rev, m.Commit, m.Rev)
	}
	if rep.Records != m.Records {
		r.add(RepoFile, "%d records, the manifest says %d", rep.Records, m.Records)
	}
	r.Checked = append(r.Checked, RepoFile+": every block hash, commit DID and signature against the "+r.KeyFrom+" key, MST, every record")
	if len(rep.Problems) > 0 {
		return nil
	}
	scan, err := scanRecords(path, m.DID)
	if err != nil {
		r.add(RepoFile, "reading records: %v", err)
		return nil
	}
	if !maps.Equal(scan.collections, m.Collections) {
		r.add(ManifestFile, "collections %v, %s has %v", m.Collections, RepoFile, scan.collections)
	}
	for _, b := range m.Blobs {
		var want []string
		if ref := scan.refs[b.CID]; ref != nil {
			want = ref.records
		}
		if !slices.Equal(b.Records, want) && len(b.Records)+len(want) > 0 {
			r.add(ManifestFile, "blob %s: referenced by %v, the manifest says %v", b.CID, want, b.Records)
		}
	}
	for c := range scan.refs {
		if m.blob(c) == nil {
			r.add(ManifestFile, "blob %s, referenced by %v, is not listed", c, scan.refs[c].records)
		}
	}
	return scan.refs
}

// checkBlobs hashes every blob file against its name, and checks that
// every blob the manifest stores and every blob a record references is
// there.
func (r *VerifyReport) checkBlobs(dir string, m *Manifest, refs map[string]*blobRef) {
	bdir := filepath.Join(dir, BlobDir)
	ents, err := os.ReadDir(bdir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		r.add(BlobDir, "%v", err)
	}
	good := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		file := BlobDir + "/" + name
		c, err := cid.Decode(name)
		if err == nil {
			err = identity.CheckBlobCID(c)
		}
		if err != nil || c.String() != name {
			r.add(file, "not named by a blob CID")
			continue
		}
		r.Blobs++
		sum, _, err := hashFile(filepath.Join(bdir, name))
		if err != nil {
			r.add(file, "%v", err)
			continue
		}
		if sum != hex.EncodeToString(c.Hash()[len(c.Hash())-sha256.Size:]) {
			r.add(file, "its bytes hash to SHA-256 %s, not to its CID", sum)
			continue
		}
		good[name] = true
	}
	for _, b := range m.Blobs {
		if b.State == BlobStored && !good[b.CID] && !present(bdir, b.CID) {
			r.add(BlobDir+"/"+b.CID, "stored according to the manifest, but absent")
		}
	}
	for _, c := range slices.Sorted(maps.Keys(refs)) {
		if good[c] {
			continue
		}
		mb := MissingBlob{CID: c, Records: refs[c].records}
		e := m.blob(c)
		if e != nil && e.State == BlobSkipped {
			continue
		}
		if e != nil {
			mb.Error = e.Error
		}
		r.Missing = append(r.Missing, mb)
		r.add(BlobDir+"/"+c, "missing, referenced by %s", strings.Join(mb.Records, ", "))
	}
	r.Checked = append(r.Checked, "every blob file against its CID", "every blob a record references")
}

// checkAuditLog validates plc-audit.json and checks it ends in did.json.
func (r *VerifyReport) checkAuditLog(dir string, did syntax.DID, doc *identity.Document) {
	raw, err := os.ReadFile(filepath.Join(dir, AuditLogFile))
	if err != nil {
		r.add(AuditLogFile, "%v", err)
		return
	}
	if doc == nil {
		return
	}
	n, err := checkAuditLog(did, raw, doc)
	r.AuditLogEntries = n
	if err != nil {
		r.add(AuditLogFile, "%v", err)
		return
	}
	r.Checked = append(r.Checked, AuditLogFile+": validates and ends in the "+r.KeyFrom+" document")
}

// checkPreferences checks that preferences.json holds a preferences list.
func (r *VerifyReport) checkPreferences(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, PrefsFile))
	if err != nil {
		return // checkFiles said so
	}
	var p struct {
		Preferences []json.RawMessage `json:"preferences"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.Preferences == nil {
		r.add(PrefsFile, "not a preferences list: %v", err)
		return
	}
	r.Checked = append(r.Checked, PrefsFile+": a preferences list")
}
