package identity_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/identity/identitytest"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

func rawCID(t *testing.T, b []byte) cid.Cid {
	t.Helper()
	mh, err := multihash.Sum(b, multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.Raw, mh)
}

func TestSyncDownloads(t *testing.T) {
	const did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
	p := &identitytest.PDS{
		Repos:    map[string][]byte{did: []byte("the whole repo")},
		Slices:   map[string]map[string][]byte{did: {"3ktt5626c222b": []byte("a slice")}},
		Blobs:    map[string]map[string][]byte{did: {}},
		BlobList: map[string][]string{},
		PageSize: 2,
	}
	var want []string
	for i := range 5 {
		b := []byte(fmt.Sprintf("blob %d", i))
		c := rawCID(t, b)
		p.Blobs[did][c.String()] = b
		want = append(want, c.String())
	}
	p.BlobList[did] = want
	identitytest.StartPDS(t, p)
	res := &identity.Resolver{Timeout: 5 * time.Second}
	ctx := context.Background()

	t.Run("getRepo streams the repository", func(t *testing.T) {
		var buf bytes.Buffer
		var last int64
		n, err := res.GetRepo(ctx, p.URL(), did, "", &buf, func(done, total int64) { last = done })
		if err != nil || n != 14 || buf.String() != "the whole repo" || last != 14 {
			t.Errorf("got %d %q (progress %d), %v", n, buf.String(), last, err)
		}
	})
	t.Run("getRepo with since asks for a slice", func(t *testing.T) {
		var buf bytes.Buffer
		if _, err := res.GetRepo(ctx, p.URL(), did, "3ktt5626c222b", &buf, nil); err != nil || buf.String() != "a slice" {
			t.Errorf("got %q, %v", buf.String(), err)
		}
	})
	t.Run("getRepo of an unknown repo is a PDS error with its message", func(t *testing.T) {
		_, err := res.GetRepo(ctx, p.URL(), "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb", "", &bytes.Buffer{}, nil)
		if !errors.Is(err, identity.ErrPDSRequest) || !bytes.Contains([]byte(err.Error()), []byte("RepoNotFound")) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("listBlobs follows the cursor to the end", func(t *testing.T) {
		got, err := res.ListBlobs(ctx, p.URL(), did)
		if err != nil || len(got) != len(want) {
			t.Fatalf("got %v, %v", got, err)
		}
		for i := range got {
			if got[i].String() != want[i] {
				t.Errorf("blob %d: %s, want %s", i, got[i], want[i])
			}
		}
	})
	t.Run("getBlob checks the bytes against the CID", func(t *testing.T) {
		c, _ := cid.Decode(want[1])
		var buf bytes.Buffer
		if _, err := res.GetBlob(ctx, p.URL(), did, c, &buf); err != nil || buf.String() != "blob 1" {
			t.Errorf("got %q, %v", buf.String(), err)
		}
		other := rawCID(t, []byte("something else"))
		p.Blobs[did][other.String()] = []byte("not it")
		if _, err := res.GetBlob(ctx, p.URL(), did, other, &bytes.Buffer{}); !errors.Is(err, identity.ErrBlobMismatch) {
			t.Errorf("mismatched blob: %v, want ErrBlobMismatch", err)
		}
	})
	t.Run("getBlob refuses a CID it cannot check", func(t *testing.T) {
		mh, _ := multihash.Sum([]byte("x"), multihash.SHA2_256, -1)
		c := cid.NewCidV1(cid.DagCBOR, mh)
		if _, err := res.GetBlob(ctx, p.URL(), did, c, &bytes.Buffer{}); !errors.Is(err, identity.ErrBlobMismatch) {
			t.Errorf("dag-cbor CID: %v, want ErrBlobMismatch", err)
		}
	})
	t.Run("an unreachable PDS", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		_, err = res.GetRepo(ctx, "http://"+addr, did, "", &bytes.Buffer{}, nil)
		if !errors.Is(err, identity.ErrPDSUnreachable) {
			t.Errorf("error %v, want ErrPDSUnreachable", err)
		}
	})
}

// hostilePDS serves getRepo and getBlob with handler h, on loopback.
func hostilePDS(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// endless writes chunk after chunk until the client goes away.
func endless(w http.ResponseWriter, r *http.Request) {
	chunk := bytes.Repeat([]byte{0xa5}, 32<<10)
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// drip sends one byte every few milliseconds, forever: never silent for
// long, always too slow.
func drip(w http.ResponseWriter, r *http.Request) {
	f := w.(http.Flusher)
	for r.Context().Err() == nil {
		if _, err := w.Write([]byte{1}); err != nil {
			return
		}
		f.Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestDownloadLimits(t *testing.T) {
	const did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
	blob := rawCID(t, []byte("whatever"))
	tests := []struct {
		name    string
		res     identity.Resolver
		handler http.HandlerFunc
		blob    bool
		want    error
		maxGot  int64 // the writer never receives more
	}{
		{"endless repository stops at the size limit", identity.Resolver{Timeout: 5 * time.Second, MaxRepoSize: 1 << 20}, endless, false, identity.ErrTooLarge, 1 << 20},
		{"endless blob stops at the blob limit", identity.Resolver{Timeout: 5 * time.Second, MaxBlobSize: 100 << 10}, endless, true, identity.ErrTooLarge, 100 << 10},
		{"announced length over the limit is refused before reading", identity.Resolver{Timeout: 5 * time.Second, MaxRepoSize: 1000},
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "5000")
				w.Write(make([]byte, 5000))
			}, false, identity.ErrTooLarge, 0},
		{"a drip under the minimum rate times out", identity.Resolver{Timeout: 300 * time.Millisecond, MinRate: 10 << 10}, drip, false, identity.ErrTooSlow, 1 << 20},
		{"a blob drip under the minimum rate times out", identity.Resolver{Timeout: 300 * time.Millisecond, MinRate: 10 << 10}, drip, true, identity.ErrTooSlow, 1 << 20},
		{"silence after some bytes times out", identity.Resolver{Timeout: 300 * time.Millisecond, MinRate: -1},
			func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("some bytes"))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}, false, identity.ErrTooSlow, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := hostilePDS(t, tc.handler)
			var cw countWriter
			var err error
			if tc.blob {
				_, err = tc.res.GetBlob(context.Background(), u, did, blob, &cw)
			} else {
				_, err = tc.res.GetRepo(context.Background(), u, did, "", &cw, nil)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if cw.n > tc.maxGot {
				t.Errorf("the writer received %d bytes, more than %d", cw.n, tc.maxGot)
			}
		})
	}
	t.Run("a repository exactly at the limit is fine", func(t *testing.T) {
		u := hostilePDS(t, func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 1000)) })
		res := identity.Resolver{Timeout: 5 * time.Second, MaxRepoSize: 1000}
		n, err := res.GetRepo(context.Background(), u, did, "", io.Discard, nil)
		if err != nil || n != 1000 {
			t.Errorf("%d bytes, %v", n, err)
		}
	})
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
