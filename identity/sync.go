package identity

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// xrpcURL builds <pds>/xrpc/<method>?<query>.
func xrpcURL(pds, method string, q url.Values) string {
	return pds + "/xrpc/" + method + "?" + q.Encode()
}

// openStream GETs url from a PDS for a streamed body. The returned body
// cancels the request if the server sends nothing for r.Timeout (an idle
// timeout, so a large download is not cut short), or sends less than
// r.MinRate bytes a second over a Timeout window; its reads then fail with
// ErrTooSlow. Close it when done.
func (r *Resolver) openStream(ctx context.Context, u string) (*streamBody, int64, error) {
	for attempt := 0; ; attempt++ {
		if err := r.Pace.wait(ctx); err != nil {
			return nil, 0, fmt.Errorf("GET %s: %w", u, err)
		}
		b, n, retry, err := r.openStreamOnce(ctx, u, attempt)
		if !retry {
			return b, n, err
		}
	}
}

// openStreamOnce is one attempt of openStream; retry says the Pacer asked
// for another.
func (r *Resolver) openStreamOnce(ctx context.Context, u string, attempt int) (*streamBody, int64, bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	b := &streamBody{d: r.timeout(), min: r.minRate() * int64(r.timeout()/time.Millisecond) / 1000, cancel: cancel}
	b.idle = time.AfterFunc(b.d, func() { b.fail(stallReason) })
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		b.stop()
		return nil, 0, false, fmt.Errorf("GET %s: %w", u, err)
	}
	resp, err := r.client().Do(req)
	if err != nil {
		b.stop()
		err = unwrapURLError(err)
		if b.reason.Load() == stallReason {
			err = fmt.Errorf("no answer within %s", r.timeout())
		}
		return nil, 0, false, fmt.Errorf("%w: GET %s: %w", ErrPDSUnreachable, u, err)
	}
	if r.Pace.observe(resp, attempt) {
		discard(resp)
		b.stop()
		return nil, 0, true, nil
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		defer b.stop()
		bb, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, 0, false, fmt.Errorf("%w: GET %s: HTTP %d%s", ErrPDSRequest, u, resp.StatusCode, xrpcMessage(bb))
	}
	b.body = resp.Body
	b.idle.Reset(b.d)
	if b.min > 0 {
		b.rate = time.AfterFunc(b.d, b.checkRate)
	}
	return b, resp.ContentLength, false, nil
}

// Why a streamBody cancelled its request.
const (
	stallReason = 1 + iota
	slowReason
)

// streamBody is a response body with an idle timer, reset on every read,
// and a rate check at the end of every window of d.
type streamBody struct {
	body   io.ReadCloser
	d      time.Duration
	min    int64 // bytes each window must bring (0: no check)
	idle   *time.Timer
	rate   *time.Timer
	window atomic.Int64 // bytes read in the current window
	reason atomic.Int32
	cancel context.CancelFunc
	once   sync.Once
}

func (b *streamBody) fail(reason int32) {
	b.reason.CompareAndSwap(0, reason)
	b.cancel()
}

func (b *streamBody) checkRate() {
	if b.window.Swap(0) < b.min {
		b.fail(slowReason)
		return
	}
	b.rate.Reset(b.d)
}

func (b *streamBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.idle.Reset(b.d)
		b.window.Add(int64(n))
	}
	if err != nil && err != io.EOF {
		switch b.reason.Load() {
		case stallReason:
			err = fmt.Errorf("%w: no data for %s", ErrTooSlow, b.d)
		case slowReason:
			err = fmt.Errorf("%w: fewer than %d bytes in %s", ErrTooSlow, b.min, b.d)
		}
	}
	return n, err
}

func (b *streamBody) stop() {
	b.once.Do(func() {
		b.idle.Stop()
		if b.rate != nil {
			b.rate.Stop()
		}
		b.cancel()
	})
}

func (b *streamBody) Close() error {
	b.stop()
	if b.body == nil {
		return nil
	}
	return b.body.Close()
}

// copyLimited copies src to w, at most max bytes: a source with more fails
// with ErrTooLarge (w has then received max bytes).
func copyLimited(w io.Writer, src io.Reader, max int64) (int64, error) {
	n, err := io.Copy(w, io.LimitReader(src, max))
	if err != nil {
		return n, err
	}
	var one [1]byte
	for {
		k, err := src.Read(one[:])
		if k > 0 {
			return n, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// xrpcMessage formats an XRPC error body ({"error","message"}) as ": error:
// message", or the raw body shortened.
func xrpcMessage(b []byte) string {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		if e.Message != "" {
			return ": " + e.Error + ": " + oneLine(e.Message, 200)
		}
		return ": " + e.Error
	}
	if s := oneLine(string(b), 200); s != "" {
		return ": " + s
	}
	return ""
}

// GetRepo streams com.atproto.sync.getRepo for did from the PDS at pds
// (an http(s) origin) into w: the whole repository, or with since a slice
// of the blocks added after that revision. progress, if set, is called
// with the bytes copied so far and the announced length (-1 if unknown).
// It returns the number of bytes written. The CAR is not checked here:
// write it to a temporary file and verify it with the repo package.
func (r *Resolver) GetRepo(ctx context.Context, pds string, did syntax.DID, since syntax.TID, w io.Writer, progress func(done, total int64)) (int64, error) {
	q := url.Values{"did": {did.String()}}
	if since != "" {
		q.Set("since", since.String())
	}
	body, total, err := r.openStream(ctx, xrpcURL(pds, "com.atproto.sync.getRepo", q))
	if err != nil {
		return 0, err
	}
	defer body.Close()
	if total > r.maxRepo() {
		return 0, fmt.Errorf("getRepo %s from %s: %w: %d bytes announced, limit %d", did, pds, ErrTooLarge, total, r.maxRepo())
	}
	var src io.Reader = body
	if progress != nil {
		src = &countReader{r: body, fn: func(n int64) { progress(n, total) }}
	}
	n, err := copyLimited(w, src, r.maxRepo())
	if err != nil {
		return n, fmt.Errorf("getRepo %s from %s: after %d bytes: %w", did, pds, n, err)
	}
	return n, nil
}

type countReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.fn(c.n)
	return n, err
}

// LatestCommit is a PDS's com.atproto.sync.getLatestCommit answer: the
// repository's head.
type LatestCommit struct {
	CID cid.Cid
	Rev syntax.TID
}

// GetLatestCommit asks the PDS at pds for did's head commit (one small
// request). A status error wraps ErrPDSRequest, a server that cannot be
// reached ErrPDSUnreachable; an answer that is not a CID and a TID is
// ErrPDSRequest too.
func (r *Resolver) GetLatestCommit(ctx context.Context, pds string, did syntax.DID) (LatestCommit, error) {
	u := xrpcURL(pds, "com.atproto.sync.getLatestCommit", url.Values{"did": {did.String()}})
	b, err := r.getSmall(ctx, u, "application/json", r.maxDoc())
	var se *httpStatusError
	switch {
	case errors.As(err, &se):
		return LatestCommit{}, fmt.Errorf("%w: %w", ErrPDSRequest, err)
	case err != nil:
		return LatestCommit{}, fmt.Errorf("%w: %w", ErrPDSUnreachable, err)
	}
	var resp struct{ CID, Rev string }
	if err := json.Unmarshal(b, &resp); err != nil {
		return LatestCommit{}, fmt.Errorf("%w: GET %s: bad JSON: %v", ErrPDSRequest, u, err)
	}
	c, err := cid.Decode(resp.CID)
	if err != nil {
		return LatestCommit{}, fmt.Errorf("%w: GET %s: bad cid %q: %v", ErrPDSRequest, u, resp.CID, err)
	}
	rev, err := syntax.ParseTID(resp.Rev)
	if err != nil {
		return LatestCommit{}, fmt.Errorf("%w: GET %s: bad rev %q: %v", ErrPDSRequest, u, resp.Rev, err)
	}
	return LatestCommit{CID: c, Rev: rev}, nil
}

// maxBlobPages bounds listBlobs paging, against a server that never stops.
const maxBlobPages = 100000

// ListBlobs lists every blob CID of did's repository with
// com.atproto.sync.listBlobs, following the cursor page by page.
func (r *Resolver) ListBlobs(ctx context.Context, pds string, did syntax.DID) ([]cid.Cid, error) {
	var out []cid.Cid
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		if page == maxBlobPages {
			return out, fmt.Errorf("%w: listBlobs %s: more than %d pages", ErrPDSRequest, did, maxBlobPages)
		}
		q := url.Values{"did": {did.String()}, "limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		u := xrpcURL(pds, "com.atproto.sync.listBlobs", q)
		body, _, err := r.openStream(ctx, u)
		if err != nil {
			return out, err
		}
		b, err := io.ReadAll(io.LimitReader(body, r.maxDoc()+1))
		body.Close()
		if err != nil {
			return out, fmt.Errorf("%w: GET %s: %w", ErrPDSUnreachable, u, err)
		}
		if int64(len(b)) > r.maxDoc() {
			return out, fmt.Errorf("%w: GET %s: %w: more than %d bytes", ErrPDSRequest, u, ErrDocumentTooLarge, r.maxDoc())
		}
		var resp struct {
			Cursor string   `json:"cursor"`
			CIDs   []string `json:"cids"`
		}
		if err := json.Unmarshal(b, &resp); err != nil {
			return out, fmt.Errorf("%w: GET %s: bad JSON: %v", ErrPDSRequest, u, err)
		}
		for _, s := range resp.CIDs {
			c, err := cid.Decode(s)
			if err != nil {
				return out, fmt.Errorf("%w: GET %s: bad CID %q: %v", ErrPDSRequest, u, s, err)
			}
			if !seen[c.KeyString()] {
				seen[c.KeyString()] = true
				out = append(out, c)
			}
		}
		if resp.Cursor == "" || len(resp.CIDs) == 0 {
			return out, nil
		}
		if resp.Cursor == cursor {
			return out, fmt.Errorf("%w: listBlobs %s: cursor %q repeats", ErrPDSRequest, did, cursor)
		}
		cursor = resp.Cursor
	}
}

// CheckBlobCID checks that c is a blob CID arbor can verify: CIDv1, raw
// codec, sha2-256.
func CheckBlobCID(c cid.Cid) error {
	p := c.Prefix()
	if p.Version != 1 || p.Codec != cid.Raw || p.MhType != multihash.SHA2_256 || p.MhLength != sha256.Size {
		return fmt.Errorf("%w: %s is not a CIDv1 raw sha2-256 CID", ErrBlobMismatch, c)
	}
	return nil
}

// GetBlob streams com.atproto.sync.getBlob into w, hashing as it goes, and
// fails with ErrBlobMismatch when the bytes do not match c. w has then received
// bytes that are not the blob: write to a temporary file and keep it only
// on success.
func (r *Resolver) GetBlob(ctx context.Context, pds string, did syntax.DID, c cid.Cid, w io.Writer) (int64, error) {
	if err := CheckBlobCID(c); err != nil {
		return 0, err
	}
	body, total, err := r.openStream(ctx, xrpcURL(pds, "com.atproto.sync.getBlob", url.Values{"did": {did.String()}, "cid": {c.String()}}))
	if err != nil {
		return 0, err
	}
	defer body.Close()
	if total > r.maxBlob() {
		return 0, fmt.Errorf("blob %s: %w: %d bytes announced, limit %d", c, ErrTooLarge, total, r.maxBlob())
	}
	h := sha256.New()
	n, err := copyLimited(io.MultiWriter(w, h), body, r.maxBlob())
	if err != nil {
		return n, fmt.Errorf("blob %s: after %d bytes: %w", c, n, err)
	}
	if !bytes.Equal(h.Sum(nil), c.Hash()[len(c.Hash())-sha256.Size:]) {
		return n, fmt.Errorf("%w: blob %s: the %d bytes received hash to something else", ErrBlobMismatch, c, n)
	}
	return n, nil
}
