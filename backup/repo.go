package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/fetch"
	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/internal/atomicfile"
)

// How a run brought the repository up to date (Summary.Mode).
const (
	ModeUnchanged = "unchanged"     // getLatestCommit gave the kept commit
	ModeSlice     = "since slice"   // getRepo?since= applied to the kept CAR
	ModeFull      = "full download" // the whole repository downloaded
)

// repoRefresh is what refreshRepo did.
type repoRefresh struct {
	Mode     string
	Fallback string // why a slice gave way to a full download
	Bytes    int64  // downloaded
	Commit   cid.Cid
	Rev      string
	Records  int
	// Scan is what the new repository's records are and reference (nil
	// when unchanged).
	Scan *recordScan
}

// refreshRepo brings the repository up to date into the staging folder
// (nothing is staged when it is unchanged).
func (r *runner) refreshRepo(ctx context.Context) (repoRefresh, error) {
	head, err := r.res.GetLatestCommit(ctx, r.id.Doc.PDS, r.id.DID)
	if err != nil {
		return repoRefresh{}, fmt.Errorf("asking for the head: %w", err)
	}
	old := r.old
	if old != nil && old.Commit == head.CID.String() && old.Rev == head.Rev.String() && present(r.dir, RepoFile) {
		return repoRefresh{Mode: ModeUnchanged, Commit: head.CID, Rev: old.Rev, Records: old.Records}, nil
	}
	if old != nil && old.Rev != "" && present(r.dir, RepoFile) {
		rr, err := r.sliceRepo(ctx, old.Rev)
		if err == nil || !errSliceUnserved(err) {
			return rr, err
		}
		full, ferr := r.fullRepo(ctx)
		full.Fallback = err.Error()
		return full, ferr
	}
	return r.fullRepo(ctx)
}

// errSliceUnserved is a since request a full download should replace: the
// PDS refused it, or the slice does not fit the kept repository.
func errSliceUnserved(err error) bool {
	return errors.Is(err, identity.ErrPDSRequest) || errors.Is(err, diff.ErrSliceMismatch) || errors.Is(err, errKeptUnreadable)
}

// errKeptUnreadable: the kept repo.car does not read (damaged on disk), so
// no slice can be applied to it.
var errKeptUnreadable = errors.New("the kept " + RepoFile + " does not read")

// download fetches getRepo (since rev when set) into a temporary file in
// the staging folder, rewound.
func (r *runner) download(ctx context.Context, since string) (*atomicfile.Temp, int64, error) {
	t, err := atomicfile.Create(r.stage, ".download.*.part")
	if err != nil {
		return nil, 0, err
	}
	n, err := r.res.GetRepo(ctx, r.id.Doc.PDS, r.id.DID, syntax.TID(since), t.File(), func(done, total int64) {
		r.progress("downloading the repository", done, total)
	})
	if err == nil {
		_, err = t.File().Seek(0, io.SeekStart)
	}
	if err != nil {
		t.Discard()
		return nil, n, err
	}
	return t, n, nil
}

// fullRepo downloads the whole repository, verifies it like arbor fetch
// and stages it.
func (r *runner) fullRepo(ctx context.Context) (repoRefresh, error) {
	out := repoRefresh{Mode: ModeFull}
	t, n, err := r.download(ctx, "")
	if err != nil {
		return out, err
	}
	defer t.Discard()
	out.Bytes = n
	r.progress("verifying the repository", 0, 0)
	l, err := archive.ReadLazy(t.File(), archive.Options{CollectBadBlocks: true})
	if err != nil {
		return out, fmt.Errorf("%w: repository from %s: %w", ErrRejected, r.id.Doc.PDS, err)
	}
	a := l.Base()
	var rep fetch.Report
	if err := r.checkDownload(a, false, &rep); err != nil {
		return out, err
	}
	out.Commit, out.Rev, out.Records = a.Root, a.Commit.Rev.String(), rep.Records
	r.progress("reading the records", 0, 0)
	if out.Scan, err = scanArchive(a, r.id.DID.String()); err != nil {
		return out, fmt.Errorf("%w: repository from %s: %w", ErrRejected, r.id.Doc.PDS, err)
	}
	return out, t.Commit(filepath.Join(r.stage, RepoFile), 0o600)
}

// checkDownload applies fetch's policy; a commit of another DID is
// ErrOtherAccount, any other failure ErrRejected.
func (r *runner) checkDownload(a *archive.Archive, slice bool, rep *fetch.Report) error {
	if a.Commit != nil && a.Commit.DID != r.id.DID {
		return fmt.Errorf("%w: %s served a repository of %s for %s", ErrOtherAccount, r.id.Doc.PDS, a.Commit.DID, r.id.DID)
	}
	if err := fetch.Verify(a, r.id.DID, r.id.Doc.SigningKey, r.id.Doc.PDS, slice, rep); err != nil {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return nil
}

// sliceRepo fetches getRepo?since=rev, checks the slice, applies it to the
// kept repo.car and stages the result once it verifies as a whole.
func (r *runner) sliceRepo(ctx context.Context, since string) (repoRefresh, error) {
	out := repoRefresh{Mode: ModeSlice}
	t, n, err := r.download(ctx, since)
	if err != nil {
		return out, err
	}
	defer t.Discard()
	out.Bytes = n
	slice, err := archive.ReadWithBodies(t.File(), archive.Options{})
	if err != nil {
		return out, fmt.Errorf("%w: slice from %s: %w", ErrRejected, r.id.Doc.PDS, err)
	}
	var rep fetch.Report
	if err := r.checkDownload(slice.Archive, true, &rep); err != nil {
		return out, err
	}
	r.progress("reading the kept "+RepoFile, 0, 0)
	f, err := os.Open(filepath.Join(r.dir, RepoFile))
	if err != nil {
		return out, err
	}
	base, err := archive.ReadWithBodies(f, archive.Options{})
	f.Close()
	if err != nil {
		return out, fmt.Errorf("%w: %w", errKeptUnreadable, err)
	}
	r.progress("applying the slice", 0, 0)
	var res *diff.Applied
	err = atomicfile.WriteFile(filepath.Join(r.stage, RepoFile), 0o600, func(w io.Writer) error {
		cw, err := car.NewWriter(w, []cid.Cid{slice.Root})
		if err != nil {
			return err
		}
		res, err = diff.ApplySlice(diff.RootedBlocks{Blocks: base, Root: base.Root}, diff.RootedBlocks{Blocks: slice, Root: slice.Root}, cw.Put)
		if err != nil {
			return err
		}
		return cw.Flush()
	}, func(tmp string) error {
		r.progress("verifying the new "+RepoFile, 0, 0)
		return archive.CheckWritten(tmp, archive.Expect{Key: r.id.Doc.SigningKey, Commit: res.CommitCID, Records: res.Records}, nil)
	})
	switch {
	case errors.Is(err, diff.ErrSliceMismatch):
		return out, err
	case errors.Is(err, archive.ErrInvalidOutput):
		return out, fmt.Errorf("%w: the slice applied to %s: %w", ErrRejected, RepoFile, err)
	case err != nil:
		return out, err
	}
	out.Commit, out.Rev, out.Records = res.CommitCID, res.Commit.Rev.String(), res.Records
	get := func(c cid.Cid) ([]byte, error) {
		if b, err := slice.Get(c); err == nil {
			return b, nil
		}
		return base.Get(c)
	}
	r.progress("reading the changed records", 0, 0)
	out.Scan, err = scanAfterOps(r.old, res.Ops, res.Records, get, r.id.DID.String())
	return out, err
}
