package pds

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/arbor-atproto/arbor/internal/atomicfile"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// codecRaw is the multicodec of blob CIDs.
const codecRaw = 0x55

// blobFiles keeps blob bytes as files named by the canonical string of
// their CID (base32, lower case: no separator, no dot), which the server
// computes itself.
type blobFiles struct{ dir string }

func (b blobFiles) path(c cid.Cid) (string, error) {
	if !isBlobCID(c) {
		return "", fmt.Errorf("%s is not a blob CID", c)
	}
	return filepath.Join(b.dir, c.String()), nil
}

func isBlobCID(c cid.Cid) bool {
	return c.Defined() && c.Version() == 1 && c.Prefix().Codec == codecRaw && c.Prefix().MhType == multihash.SHA2_256
}

// save streams r into a file, hashing it, and names the file by the CID.
func (b blobFiles) save(r io.Reader) (cid.Cid, int64, []byte, error) {
	tmp, err := atomicfile.Create(b.dir, ".upload-*")
	if err != nil {
		return cid.Undef, 0, nil, err
	}
	defer tmp.Discard()
	h := sha256.New()
	head := &headBuffer{max: 512}
	n, err := io.Copy(io.MultiWriter(tmp.File(), h, head), r)
	if err != nil {
		return cid.Undef, 0, nil, err
	}
	mh, err := multihash.Encode(h.Sum(nil), multihash.SHA2_256)
	if err != nil {
		return cid.Undef, 0, nil, err
	}
	c := cid.NewCidV1(codecRaw, mh)
	p, _ := b.path(c)
	if err := tmp.Commit(p, 0o600); err != nil {
		return cid.Undef, 0, nil, err
	}
	return c, n, head.b, nil
}

// headBuffer keeps the first max bytes written to it.
type headBuffer struct {
	b   []byte
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// uploadBlob stores a blob; a deactivated account may upload (a migration
// copies blobs before activation).
func (s *Server) uploadBlob(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.authSession(r)
	if err != nil {
		return nil, err
	}
	if err := limitBody(w, r, s.cfg.MaxBlobSize); err != nil {
		return nil, err
	}
	c, size, head, err := s.blobs.save(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, xerr(http.StatusRequestEntityTooLarge, "BlobTooLarge", "blob larger than the limit of %d bytes", s.cfg.MaxBlobSize)
		}
		return nil, fmt.Errorf("storing blob: %w", err)
	}
	mt := r.Header.Get("Content-Type")
	if parsed, _, err := mime.ParseMediaType(mt); err != nil || parsed == "" || parsed == "*/*" {
		mt = http.DetectContentType(head)
	} else {
		mt = parsed
	}
	if mt == "" {
		mt = "application/octet-stream"
	}
	if err := s.store.PutBlobMeta(r.Context(), a.DID, BlobMeta{CID: c, MimeType: mt, Size: size, CreatedAt: s.now()}); err != nil {
		return nil, err
	}
	return map[string]any{"blob": map[string]any{
		"$type": "blob", "ref": map[string]string{"$link": c.String()}, "mimeType": mt, "size": size,
	}}, nil
}

func (s *Server) syncGetBlob(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	did, cs := q.Get("did"), q.Get("cid")
	if did == "" || cs == "" {
		return nil, invalidRequest("parameters did and cid are required")
	}
	a, err := s.account(r.Context(), did, repoNotFound(did))
	if err != nil {
		return nil, err
	}
	if err := s.repoAvailable(r, a); err != nil {
		return nil, err
	}
	c, err := parseCID("cid", cs)
	if err != nil {
		return nil, err
	}
	notFound := xerr(http.StatusBadRequest, "BlobNotFound", "Blob not found: %s", cs)
	if !isBlobCID(c) {
		return nil, notFound
	}
	meta, err := s.store.BlobMeta(r.Context(), a.DID, c)
	if errors.Is(err, ErrNotStored) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	p, err := s.blobs.path(c)
	if err != nil {
		return nil, notFound
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, notFound
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", meta.MimeType)
	h.Set("Content-Length", strconv.FormatInt(meta.Size, 10))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.Copy(w, f)
	}
	return nil, nil
}

func (s *Server) syncListBlobs(w http.ResponseWriter, r *http.Request) (any, error) {
	did, err := requireParam(r, "did")
	if err != nil {
		return nil, err
	}
	limit, err := queryInt(r, "limit", 500, 1, 1000)
	if err != nil {
		return nil, err
	}
	a, err := s.account(r.Context(), did, repoNotFound(did))
	if err != nil {
		return nil, err
	}
	if err := s.repoAvailable(r, a); err != nil {
		return nil, err
	}
	cids, err := s.store.ListBlobs(r.Context(), a.DID, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	list := make([]string, len(cids))
	for i, c := range cids {
		list[i] = c.String()
	}
	out["cids"] = list
	if len(cids) == limit {
		out["cursor"] = list[len(list)-1]
	}
	return out, nil
}
