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
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// xrpcURL builds <pds>/xrpc/<method>?<query>.
func xrpcURL(pds, method string, q url.Values) string {
	return pds + "/xrpc/" + method + "?" + q.Encode()
}

// openStream GETs url from a PDS for a streamed body. The returned body
// cancels the request if the server sends nothing for r.Timeout (an idle
// timeout, so a large download is not cut short); close it when done.
func (r *Resolver) openStream(ctx context.Context, u string) (io.ReadCloser, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	idle := time.AfterFunc(r.timeout(), cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		idle.Stop()
		cancel()
		return nil, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	resp, err := r.client().Do(req)
	if err != nil {
		timedOut := !idle.Stop()
		cancel()
		err = unwrapURLError(err)
		if timedOut {
			err = fmt.Errorf("no answer within %s", r.timeout())
		}
		return nil, 0, fmt.Errorf("%w: GET %s: %w", ErrPDSUnreachable, u, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		defer cancel()
		idle.Stop()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, 0, fmt.Errorf("%w: GET %s: HTTP %d%s", ErrPDSRequest, u, resp.StatusCode, xrpcMessage(b))
	}
	idle.Reset(r.timeout())
	return &idleBody{body: resp.Body, timer: idle, d: r.timeout(), cancel: cancel}, resp.ContentLength, nil
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

// idleBody resets the idle timer on every read.
type idleBody struct {
	body   io.ReadCloser
	timer  *time.Timer
	d      time.Duration
	cancel context.CancelFunc
	once   sync.Once
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.timer.Reset(b.d)
	}
	if err != nil && err != io.EOF && errors.Is(err, context.Canceled) {
		err = fmt.Errorf("%w: no data for %s", ErrPDSUnreachable, b.d)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.once.Do(func() { b.timer.Stop(); b.cancel() })
	return b.body.Close()
}

// GetRepo streams com.atproto.sync.getRepo for did from the PDS at pds
// (an http(s) origin) into w: the whole repository, or with since a slice
// of the blocks added after that revision. progress, if set, is called
// with the bytes copied so far and the announced length (-1 if unknown).
// It returns the number of bytes written. The CAR is not checked here:
// write it to a temporary file and verify it with the repo package.
func (r *Resolver) GetRepo(ctx context.Context, pds string, did string, since string, w io.Writer, progress func(done, total int64)) (int64, error) {
	q := url.Values{"did": {did}}
	if since != "" {
		q.Set("since", since)
	}
	body, total, err := r.openStream(ctx, xrpcURL(pds, "com.atproto.sync.getRepo", q))
	if err != nil {
		return 0, err
	}
	defer body.Close()
	var src io.Reader = body
	if progress != nil {
		src = &countReader{r: body, fn: func(n int64) { progress(n, total) }}
	}
	n, err := io.Copy(w, src)
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

// maxBlobPages bounds listBlobs paging, against a server that never stops.
const maxBlobPages = 100000

// ListBlobs lists every blob CID of did's repository with
// com.atproto.sync.listBlobs, following the cursor page by page.
func (r *Resolver) ListBlobs(ctx context.Context, pds, did string) ([]cid.Cid, error) {
	var out []cid.Cid
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		if page == maxBlobPages {
			return out, fmt.Errorf("%w: listBlobs %s: more than %d pages", ErrPDSRequest, did, maxBlobPages)
		}
		q := url.Values{"did": {did}, "limit": {"1000"}}
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
		return fmt.Errorf("%w: %s is not a CIDv1 raw sha2-256 CID", ErrBadBlob, c)
	}
	return nil
}

// GetBlob streams com.atproto.sync.getBlob into w, hashing as it goes, and
// fails with ErrBadBlob when the bytes do not match c. w has then received
// bytes that are not the blob: write to a temporary file and keep it only
// on success.
func (r *Resolver) GetBlob(ctx context.Context, pds, did string, c cid.Cid, w io.Writer) (int64, error) {
	if err := CheckBlobCID(c); err != nil {
		return 0, err
	}
	body, _, err := r.openStream(ctx, xrpcURL(pds, "com.atproto.sync.getBlob", url.Values{"did": {did}, "cid": {c.String()}}))
	if err != nil {
		return 0, err
	}
	defer body.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), body)
	if err != nil {
		return n, fmt.Errorf("blob %s: after %d bytes: %w", c, n, err)
	}
	if !bytes.Equal(h.Sum(nil), c.Hash()[len(c.Hash())-sha256.Size:]) {
		return n, fmt.Errorf("%w: blob %s: the %d bytes received hash to something else", ErrBadBlob, c, n)
	}
	return n, nil
}
