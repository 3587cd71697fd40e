package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/pdsclient"
)

// Options configure a Run.
type Options struct {
	// Resolver resolves the account and talks to its PDS. When its Pace is
	// nil, Run sets one (no request cap) to count requests and wait out
	// rate limits.
	Resolver *identity.Resolver
	// NoBlobs records the blobs without downloading them.
	NoBlobs bool
	// Prune removes the blobs no record references and the PDS does not
	// list any more.
	Prune bool
	// Preferences, when set, is a client logged in as the account (arbor
	// account login): its app.bsky.actor.getPreferences are kept as
	// preferences.json, asked for on every run. A session of another DID
	// is ErrOtherAccount.
	Preferences *pdsclient.Client
	// Workers is how many blobs are downloaded at a time (0: DefaultWorkers).
	Workers int
	// Now is the clock for the manifest's times (nil: time.Now).
	Now func() time.Time
	// Progress, when set, hears each phase and how far it is (total 0 when
	// unknown).
	Progress func(phase string, done, total int64)
}

// DefaultWorkers is how many blobs a run downloads at a time.
const DefaultWorkers = 4

// Summary is what a run did (arbor backup --json).
type Summary struct {
	// Dir is the backup directory.
	Dir string `json:"dir"`
	// DID, Handle, HandleVerified and PDS are the account as resolved.
	DID            string `json:"did"`
	Handle         string `json:"handle,omitempty"`
	HandleVerified bool   `json:"handleVerified"`
	PDS            string `json:"pds"`
	// Mode is how the repository was brought up to date: "unchanged",
	// "since slice" or "full download".
	Mode string `json:"mode"`
	// Fallback says why a since slice gave way to a full download.
	Fallback string `json:"fallback,omitempty"`
	// PrevRev is the rev kept before the run ("" for a first backup); Rev
	// and Commit are the repository's now.
	PrevRev string `json:"prevRev,omitempty"`
	Rev     string `json:"rev"`
	Commit  string `json:"commit"`
	// Records counts the repository's records.
	Records int `json:"records"`
	// Bytes is the size of what getRepo sent (0 when unchanged).
	Bytes int64 `json:"bytes"`
	// DocumentRefreshed and AuditLogRefreshed say which identity files
	// were replaced; AuditLogEntries counts the entries of a log fetched.
	DocumentRefreshed bool `json:"documentRefreshed"`
	AuditLogRefreshed bool `json:"auditLogRefreshed"`
	AuditLogEntries   int  `json:"auditLogEntries,omitempty"`
	// BlobListError says why listBlobs failed (the blobs the records
	// reference were still fetched; the run exits 1).
	BlobListError string `json:"blobListError,omitempty"`
	// Blobs says what happened to the blobs.
	Blobs BlobSummary `json:"blobs"`
	// Requests counts the HTTP requests made, identity resolution and
	// the audit log included; RateLimited the answers that asked to slow
	// down.
	Requests    int64 `json:"requests"`
	RateLimited int64 `json:"rateLimited"`
	// Preferences is what became of preferences.json: "refreshed",
	// "unchanged", or "not logged in" (none asked for).
	Preferences string `json:"preferences"`
	// Recovered says what was done about an interrupted earlier run.
	Recovered string `json:"recovered,omitempty"`
}

// BlobSummary counts the blobs of a run.
type BlobSummary struct {
	// Total is how many the manifest now lists.
	Total int `json:"total"`
	// Fetched were downloaded now; Kept were stored already; Skipped were
	// not downloaded (blobs off).
	Fetched int `json:"fetched"`
	Kept    int `json:"kept"`
	Skipped int `json:"skipped"`
	// Pruned were removed (Prune).
	Pruned int `json:"pruned"`
	// Failed could not be stored; they are retried on the next run.
	Failed []BlobFailure `json:"failed"`
}

// BlobFailure is one blob that could not be stored.
type BlobFailure struct {
	CID   string `json:"cid"`
	Error string `json:"error"`
	// Records are the records that reference it.
	Records []string `json:"records"`
}

// runner is one run's state.
type runner struct {
	opts  *Options
	res   *identity.Resolver
	dir   string
	stage string
	id    *identity.Identity
	old   *Manifest
	now   time.Time
}

func (r *runner) progress(phase string, done, total int64) {
	if r.opts.Progress != nil {
		r.opts.Progress(phase, done, total)
	}
}

// Run brings the backup of the account input (a handle or a DID) in dir up
// to date (see the package documentation). An error means the previous
// backup, if any, is as it was (blobs already written stay); blobs that
// failed are not an error but are listed in Summary.Blobs.Failed.
func Run(ctx context.Context, input, dir string, o Options) (*Summary, error) {
	res := *o.Resolver
	if res.Pace == nil {
		res.Pace = &identity.Pacer{}
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	r := &runner{opts: &o, res: &res, dir: dir, now: time.Now().UTC()}
	if o.Now != nil {
		r.now = o.Now().UTC()
	}
	s := &Summary{Dir: dir, Blobs: BlobSummary{Failed: []BlobFailure{}}}
	defer func() { s.Requests, s.RateLimited = res.Pace.Requests(), res.Pace.RateLimited() }()
	if err := r.resolve(ctx, input, s); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(dir)
	if err := r.open(s); err != nil {
		return nil, err
	}
	stage, err := newStage(dir)
	if err != nil {
		return nil, err
	}
	r.stage = stage
	err = r.refresh(ctx, s)
	os.RemoveAll(stage) // gone after promote; removed on failure
	if err != nil {
		if errors.Is(statErr, os.ErrNotExist) {
			// A first run that failed leaves no folder (unless it
			// stored blobs, which stay).
			os.Remove(filepath.Join(dir, BlobDir))
			os.Remove(dir)
		}
		return nil, err
	}
	return s, nil
}

// resolve looks the account up and refuses one that cannot be backed up.
func (r *runner) resolve(ctx context.Context, input string, s *Summary) error {
	r.progress("resolving "+input, 0, 0)
	id, err := r.res.Lookup(ctx, input)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(input, "did:") && id.HandleErr != nil {
		return id.HandleErr
	}
	if id.Doc.KeyErr != nil {
		return id.Doc.KeyErr
	}
	if id.Doc.PDSErr != nil {
		return id.Doc.PDSErr
	}
	r.id = id
	s.DID, s.HandleVerified, s.PDS = id.DID.String(), id.HandleVerified, id.Doc.PDS
	if id.Handle != "" {
		s.Handle = id.Handle.String()
	}
	return nil
}

// open recovers dir from an interrupted run and reads its manifest.
func (r *runner) open(s *Summary) error {
	if err := checkDir(r.dir); err != nil && !present(r.dir, ManifestFile) {
		if _, serr := os.Stat(filepath.Join(r.dir, incomingDir, ManifestFile)); serr != nil {
			return err
		}
	}
	rec, err := recoverDir(r.dir)
	if err != nil {
		return err
	}
	s.Recovered = rec
	m, err := ReadManifest(r.dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case m.DID != r.id.DID.String():
		return fmt.Errorf("%w: %s holds the backup of %s, not %s", ErrOtherAccount, r.dir, m.DID, r.id.DID)
	}
	r.old, s.PrevRev = m, m.Rev
	return nil
}

// refresh stages the identity and the repository, stores the blobs,
// and commits the new manifest.
func (r *runner) refresh(ctx context.Context, s *Summary) error {
	ir, err := refreshIdentity(ctx, r.res, r.id, r.old, r.dir, r.stage)
	if err != nil {
		return err
	}
	s.DocumentRefreshed, s.AuditLogRefreshed, s.AuditLogEntries = ir.Document, ir.AuditLog, ir.Entries
	if s.Preferences, err = r.refreshPreferences(ctx); err != nil {
		return err
	}
	rr, err := r.refreshRepo(ctx)
	if err != nil {
		return err
	}
	s.Mode, s.Fallback, s.Bytes = rr.Mode, rr.Fallback, rr.Bytes
	s.Rev, s.Commit, s.Records = rr.Rev, rr.Commit.String(), rr.Records
	m, err := r.newManifest(rr)
	if err != nil {
		return err
	}
	var refs map[string]*blobRef
	var listed []cid.Cid
	if rr.Mode == ModeUnchanged {
		refs, listed = refsFromManifest(r.old), listedFromManifest(r.old)
	} else {
		m.Records, m.Collections, refs = rr.Scan.records, rr.Scan.collections, rr.Scan.refs
		if listed, err = r.res.ListBlobs(ctx, r.id.Doc.PDS, r.id.DID); err != nil {
			if ctx.Err() != nil {
				return err
			}
			// The blobs the records reference are still fetched; the
			// listing is asked for again next run.
			s.BlobListError = "listing blobs: " + err.Error()
			if r.old != nil {
				listed = listedFromManifest(r.old)
			}
		}
	}
	plan, pruned := planBlobs(r.old, refs, listed, r.opts.Prune)
	if err := r.syncBlobs(ctx, plan, s); err != nil {
		return err
	}
	m.Blobs = plan
	s.Blobs.Total, s.Blobs.Pruned = len(plan), len(pruned)
	if err := r.commit(m); err != nil {
		return err
	}
	for _, c := range pruned {
		os.Remove(filepath.Join(r.dir, BlobDir, c))
	}
	return nil
}

// newManifest starts the new manifest from the old one and the staged
// files.
func (r *runner) newManifest(rr repoRefresh) (*Manifest, error) {
	m := &Manifest{Format: ManifestFormat, DID: r.id.DID.String(), PDS: r.id.Doc.PDS, RotationKeys: r.id.RotationKeys,
		Rev: rr.Rev, Commit: rr.Commit.String(), Records: rr.Records, Files: map[string]FileEntry{}, Checked: r.now}
	if r.id.Doc.Handle != "" {
		m.Handle = r.id.Doc.Handle.String()
	}
	if r.old != nil {
		m.Collections = r.old.Collections
		for k, v := range r.old.Files {
			m.Files[k] = v
		}
	}
	for _, name := range stagedFiles {
		sum, n, err := hashFile(filepath.Join(r.stage, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		m.Files[name] = FileEntry{SHA256: sum, Bytes: n, Refreshed: r.now}
	}
	if m.Collections == nil {
		m.Collections = map[string]int{}
	}
	return m, nil
}

// commit writes the manifest into the staging folder (the commit point)
// and moves everything into place.
func (r *runner) commit(m *Manifest) error {
	if err := writeStaged(r.stage, ManifestFile, m.encode()); err != nil {
		return err
	}
	return promote(r.dir)
}
