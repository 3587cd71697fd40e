package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/diff"
	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/internal/atomicfile"
)

// blobRef is what the records say of one blob.
type blobRef struct {
	mime    string
	size    int64
	records []string
}

// recordScan is what scanRecords found in a repository.
type recordScan struct {
	records     int
	collections map[string]int
	refs        map[string]*blobRef // by CID string
}

// scanRecords walks every record of the repository at path, counting
// records per collection and collecting the blobs each references.
func scanRecords(path, did string) (*recordScan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := archive.ReadLazy(f, archive.Options{})
	if err != nil {
		return nil, err
	}
	return scanArchive(a.Base(), did)
}

// scanArchive is scanRecords of an archive read already (its record
// bodies at hand: ReadWithBodies or ReadLazy).
func scanArchive(a *archive.Archive, did string) (*recordScan, error) {
	s := &recordScan{collections: map[string]int{}, refs: map[string]*blobRef{}}
	err := a.Walk(func(key []byte, val cid.Cid) error {
		s.records++
		coll, _, _ := strings.Cut(string(key), "/")
		s.collections[coll]++
		return s.addRecord(a.Get, did, string(key), val)
	})
	return s, err
}

// mimeKey is the DAG-CBOR text string "mimeType": every blob, current or
// legacy, has that key, so a record without these bytes references none
// and is not decoded.
var mimeKey = []byte("\x68mimeType")

// addRecord adds the blobs the record at path (collection/rkey) references.
func (s *recordScan) addRecord(get func(cid.Cid) ([]byte, error), did, path string, val cid.Cid) error {
	body, err := get(val)
	if err != nil {
		return fmt.Errorf("record %s: %w", path, err)
	}
	if !bytes.Contains(body, mimeKey) {
		return nil
	}
	v, err := dagcbor.Decode(body)
	if err != nil {
		return fmt.Errorf("record %s: %w", path, err)
	}
	uri := "at://" + did + "/" + path
	findBlobs(v, 0, func(c cid.Cid, mime string, size int64) {
		ref := s.refs[c.String()]
		if ref == nil {
			ref = &blobRef{mime: mime, size: size}
			s.refs[c.String()] = ref
		}
		if !slices.Contains(ref.records, uri) {
			ref.records = append(ref.records, uri)
		}
	})
	return nil
}

// scanAfterOps carries a manifest's record counts and blob references
// forward through the operations of a slice, reading only the records
// created or updated (get gives their bodies): what scanRecords of the new
// repository gives, without reading its every record.
func scanAfterOps(old *Manifest, ops []diff.Op, records int, get func(cid.Cid) ([]byte, error), did string) (*recordScan, error) {
	s := &recordScan{records: records, collections: maps.Clone(old.Collections), refs: refsFromManifest(old)}
	if s.collections == nil {
		s.collections = map[string]int{}
	}
	for _, ref := range s.refs {
		ref.records = slices.Clone(ref.records)
	}
	for _, op := range ops {
		coll, _, _ := strings.Cut(op.Path, "/")
		uri := "at://" + did + "/" + op.Path
		if op.Old.Defined() {
			for c, ref := range s.refs {
				if ref.records = slices.DeleteFunc(ref.records, func(u string) bool { return u == uri }); len(ref.records) == 0 {
					delete(s.refs, c)
				}
			}
			if s.collections[coll]--; s.collections[coll] <= 0 {
				delete(s.collections, coll)
			}
		}
		if op.New.Defined() {
			s.collections[coll]++
			if err := s.addRecord(get, did, op.Path, op.New); err != nil {
				return nil, err
			}
		}
	}
	for _, ref := range s.refs {
		sort.Strings(ref.records)
	}
	return s, nil
}

// findBlobs calls fn for every blob in a record value: {"$type": "blob",
// "ref": link, "mimeType", "size"} and the legacy {"cid": "...",
// "mimeType": "..."}.
func findBlobs(v any, depth int, fn func(c cid.Cid, mime string, size int64)) {
	if depth > dagcbor.MaxDepth {
		return
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			findBlobs(e, depth+1, fn)
		}
	case map[string]any:
		mime, _ := x["mimeType"].(string)
		if x["$type"] == "blob" {
			if c, ok := x["ref"].(cid.Cid); ok {
				size, _ := x["size"].(int64)
				fn(c, mime, size)
				return
			}
		}
		if s, ok := x["cid"].(string); ok && mime != "" && x["$type"] == nil {
			if c, err := cid.Decode(s); err == nil {
				fn(c, mime, 0)
				return
			}
		}
		for _, e := range x {
			findBlobs(e, depth+1, fn)
		}
	}
}

// planBlobs is the new manifest's blob list before any download: every
// blob the records reference, the PDS lists or the old manifest has (not
// with prune, when nothing references or lists it any more), in CID order.
// It returns the CIDs prune dropped.
func planBlobs(old *Manifest, refs map[string]*blobRef, listed []cid.Cid, prune bool) ([]BlobEntry, []string) {
	byCID := map[string]*BlobEntry{}
	if old != nil {
		for _, b := range old.Blobs {
			e := b
			e.Records, e.Listed = nil, false
			byCID[b.CID] = &e
		}
	}
	get := func(c string) *BlobEntry {
		if byCID[c] == nil {
			byCID[c] = &BlobEntry{CID: c}
		}
		return byCID[c]
	}
	for c, ref := range refs {
		e := get(c)
		e.MIMEType, e.Records = ref.mime, slices.Clone(ref.records)
		if e.State != BlobStored {
			e.Size = ref.size
		}
	}
	for _, c := range listed {
		get(c.String()).Listed = true
	}
	var out []BlobEntry
	var pruned []string
	for _, e := range byCID {
		if prune && len(e.Records) == 0 && !e.Listed {
			pruned = append(pruned, e.CID)
			continue
		}
		if e.Records == nil {
			e.Records = []string{}
		}
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CID < out[j].CID })
	sort.Strings(pruned)
	return out, pruned
}

// syncBlobs stores every blob of the plan not stored yet: a file already
// in blobs/ is adopted when it hashes to its CID; otherwise it is
// downloaded (unless blobs are off). A failure is recorded in the entry.
// Only the context ending stops it.
func (r *runner) syncBlobs(ctx context.Context, plan []BlobEntry, s *Summary) error {
	dir := filepath.Join(r.dir, BlobDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var fetch []int // indexes in plan to download
	cids := make([]cid.Cid, len(plan))
	for i := range plan {
		e := &plan[i]
		if e.State == BlobStored && storedSize(dir, e.CID) == e.Size {
			s.Blobs.Kept++
			continue
		}
		c, err := cid.Decode(e.CID)
		if err == nil {
			err = identity.CheckBlobCID(c)
		}
		switch {
		case err != nil:
			r.failBlob(e, err, s)
		case r.adoptBlob(dir, c, e):
			s.Blobs.Kept++
		case r.opts.NoBlobs:
			e.State, e.Error = BlobSkipped, ""
			s.Blobs.Skipped++
		default:
			cids[i] = c
			fetch = append(fetch, i)
		}
	}
	errs := r.fetchBlobs(ctx, dir, plan, cids, fetch)
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, i := range fetch {
		if errs[i] != nil {
			r.failBlob(&plan[i], errs[i], s)
		} else {
			s.Blobs.Fetched++
		}
	}
	return nil
}

// fetchBlobs downloads plan[i] for each i in fetch, Options.Workers at a
// time (each entry is written by one worker only), and returns each one's
// error by index.
func (r *runner) fetchBlobs(ctx context.Context, dir string, plan []BlobEntry, cids []cid.Cid, fetch []int) []error {
	errs := make([]error, len(plan))
	work := make(chan int)
	var done atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(r.opts.Workers, len(fetch))) {
		wg.Go(func() {
			for i := range work {
				errs[i] = r.fetchBlob(ctx, dir, cids[i], &plan[i])
				r.progress("blobs", done.Add(1), int64(len(fetch)))
			}
		})
	}
	for _, i := range fetch {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	return errs
}

func (r *runner) failBlob(e *BlobEntry, err error, s *Summary) {
	e.State, e.Error, e.SHA256, e.Refreshed = BlobFailed, err.Error(), "", r.now
	s.Blobs.Failed = append(s.Blobs.Failed, BlobFailure{CID: e.CID, Error: e.Error, Records: e.Records})
}

func storedSize(dir, c string) int64 {
	st, err := os.Stat(filepath.Join(dir, c))
	if err != nil || !st.Mode().IsRegular() {
		return -1
	}
	return st.Size()
}

// adoptBlob takes a file already in blobs/ that the manifest does not
// list as stored (an interrupted run wrote it) when it hashes to c; a file
// that does not is removed.
func (r *runner) adoptBlob(dir string, c cid.Cid, e *BlobEntry) bool {
	path := filepath.Join(dir, c.String())
	if storedSize(dir, c.String()) < 0 {
		return false
	}
	sum, n, err := hashFile(path)
	if err != nil || sum != hex.EncodeToString(c.Hash()[len(c.Hash())-sha256.Size:]) {
		os.Remove(path)
		return false
	}
	e.State, e.Size, e.SHA256, e.Error, e.Refreshed = BlobStored, n, sum, "", r.now
	return true
}

// fetchBlob downloads one blob through a temporary file, kept only when
// its bytes match the CID.
func (r *runner) fetchBlob(ctx context.Context, dir string, c cid.Cid, e *BlobEntry) error {
	t, err := atomicfile.Create(dir, "."+c.String()+".*.part")
	if err != nil {
		return err
	}
	defer t.Discard()
	n, err := r.res.GetBlob(ctx, r.id.Doc.PDS, r.id.DID, c, t.File())
	if err != nil {
		return err
	}
	if err := t.Commit(filepath.Join(dir, c.String()), 0o600); err != nil {
		return err
	}
	e.State, e.Size, e.Error, e.Refreshed = BlobStored, n, "", r.now
	e.SHA256 = hex.EncodeToString(c.Hash()[len(c.Hash())-sha256.Size:])
	return nil
}

// refsFromManifest rebuilds what the records reference from a manifest
// (for an unchanged repository, which is not read again).
func refsFromManifest(m *Manifest) map[string]*blobRef {
	refs := map[string]*blobRef{}
	for _, b := range m.Blobs {
		if len(b.Records) > 0 {
			refs[b.CID] = &blobRef{mime: b.MIMEType, size: b.Size, records: b.Records}
		}
	}
	return refs
}

func listedFromManifest(m *Manifest) []cid.Cid {
	var out []cid.Cid
	for _, b := range m.Blobs {
		if c, err := cid.Decode(b.CID); err == nil && b.Listed {
			out = append(out, c)
		}
	}
	return out
}
