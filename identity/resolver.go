package identity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/arbor-atproto/arbor/plc"
)

// Defaults used when a Resolver field is zero.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultMaxDocSize = 1 << 20 // 1 MiB
	// DefaultMaxRepoSize bounds a getRepo download. Big real repositories
	// are a few hundred MB and the reference PDS sets no limit of its own:
	// 4 GiB leaves ten times that room and still stops a server that never
	// ends its answer before it fills a disk.
	DefaultMaxRepoSize = 4 << 30
	// DefaultMaxBlobSize bounds one getBlob download: the largest blobs
	// the Bluesky app uploads are videos of up to 100 MB.
	DefaultMaxBlobSize = 100 << 20
	// DefaultMinRate is the slowest download accepted, in bytes a second
	// averaged over each Timeout window (10 KiB in the default 10 s).
	DefaultMinRate = 1 << 10
)

// Resolver resolves handles and DIDs and talks to an account's PDS. The zero
// value works against the public network: plc.directory, the system DNS
// resolver and a fresh HTTP client. A Resolver is safe for concurrent use
// as long as its fields are not changed.
type Resolver struct {
	// PLCHost is the did:plc directory ("" means plc.DefaultHost).
	PLCHost string
	// HTTPClient makes every HTTP request (nil means a new http.Client with
	// default settings). This is the test seam for HTTPS: a client whose
	// transport dials a loopback server whatever the host name, and trusts
	// its certificate, exercises the real https://<handle>/... URLs.
	HTTPClient *http.Client
	// DNSAddr is the DNS server ("host:port") asked for _atproto TXT
	// records and, when HTTPClient is nil, for the addresses of the hosts
	// the default client connects to; "" means the system resolver.
	DNSAddr string
	// Timeout bounds each lookup (a DNS query, a document fetch); for PDS
	// downloads it bounds the wait for the response and any silence while
	// reading it, not the whole transfer. 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxDocSize bounds every DID document and small response read into
	// memory (atproto-did, /data, listBlobs pages). 0 means
	// DefaultMaxDocSize.
	MaxDocSize int64
	// HandleResolver is a server (such as a local PDS) asked for handles
	// with com.atproto.identity.resolveHandle before DNS and HTTPS; with
	// HandleResolverOnly, the only one asked. "" means none.
	HandleResolver     string
	HandleResolverOnly bool
	// MaxRepoSize bounds a getRepo download and MaxBlobSize each getBlob,
	// in bytes (0 means DefaultMaxRepoSize, DefaultMaxBlobSize). A larger
	// answer fails with ErrTooLarge once the limit is reached; the writer
	// never receives more than the limit.
	MaxRepoSize, MaxBlobSize int64
	// MinRate is the slowest PDS download accepted, in bytes a second
	// averaged over each Timeout window: a server that keeps a transfer
	// alive with a trickle fails with ErrTooSlow. 0 means DefaultMinRate,
	// a negative value no minimum.
	MinRate int64
	// Pace, when set, paces every request and waits out the server's rate
	// limits (see Pacer); nil sends requests as they come and takes a 429
	// as a failure.
	Pace *Pacer
}

func (r *Resolver) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

func (r *Resolver) maxRepo() int64 {
	if r.MaxRepoSize > 0 {
		return r.MaxRepoSize
	}
	return DefaultMaxRepoSize
}

func (r *Resolver) maxBlob() int64 {
	if r.MaxBlobSize > 0 {
		return r.MaxBlobSize
	}
	return DefaultMaxBlobSize
}

func (r *Resolver) minRate() int64 {
	switch {
	case r.MinRate > 0:
		return r.MinRate
	case r.MinRate < 0:
		return 0
	}
	return DefaultMinRate
}

func (r *Resolver) maxDoc() int64 {
	if r.MaxDocSize > 0 {
		return r.MaxDocSize
	}
	return DefaultMaxDocSize
}

// client is HTTPClient, or else a new NewHTTPClient (callers making many
// requests should set HTTPClient once, to reuse connections).
func (r *Resolver) client() *http.Client {
	if r.HTTPClient != nil {
		return r.HTTPClient
	}
	return NewHTTPClient(r.DNSAddr, r.timeout())
}

// NewHTTPClient returns an HTTP client that connects within dialTimeout
// and, when dnsAddr is set, looks host names up through that DNS server
// rather than the system's, so that one DNS server answers every lookup of
// a Resolver, TXT records and HTTPS hosts alike (and then no proxy is
// used: the proxy would look the names up elsewhere).
func NewHTTPClient(dnsAddr string, dialTimeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: dialTimeout}
	if dnsAddr != "" {
		dialer.Resolver = &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, dnsAddr)
			},
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if dnsAddr != "" {
		tr.Proxy = nil
	}
	tr.DialContext = dialer.DialContext
	return &http.Client{Transport: tr}
}

func (r *Resolver) plcHost() string {
	h := strings.TrimRight(r.PLCHost, "/")
	if h == "" {
		return plc.DefaultHost
	}
	return h
}

// httpStatusError is an HTTP answer outside 2xx.
type httpStatusError struct {
	URL    string
	Status int
	Msg    string // the body, on one line and shortened
}

func (e *httpStatusError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("GET %s: HTTP %d", e.URL, e.Status)
	}
	return fmt.Sprintf("GET %s: HTTP %d: %s", e.URL, e.Status, e.Msg)
}

// getSmall GETs url and reads the whole body, refusing one over max bytes
// (checked against Content-Length first, then while reading). Errors say
// the URL; a non-2xx status gives an *httpStatusError.
func (r *Resolver) getSmall(ctx context.Context, url, accept string, max int64) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		b, retry, err := r.getSmallOnce(ctx, url, accept, max, attempt)
		if !retry {
			return b, err
		}
	}
}

// getSmallOnce is one attempt of getSmall; retry says the Pacer asked for
// another.
func (r *Resolver) getSmallOnce(ctx context.Context, url, accept string, max int64, attempt int) ([]byte, bool, error) {
	if err := r.Pace.wait(ctx); err != nil {
		return nil, false, fmt.Errorf("GET %s: %w", url, err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, false, fmt.Errorf("GET %s: %w", url, err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := r.client().Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("GET %s: %w", url, unwrapURLError(err))
	}
	if r.Pace.observe(resp, attempt) {
		discard(resp)
		return nil, true, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, false, &httpStatusError{URL: url, Status: resp.StatusCode, Msg: oneLine(string(b), 200)}
	}
	if resp.ContentLength > max {
		return nil, false, fmt.Errorf("GET %s: %w: %d bytes announced, limit %d", url, ErrDocumentTooLarge, resp.ContentLength, max)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, false, fmt.Errorf("GET %s: reading body: %w", url, err)
	}
	if int64(len(b)) > max {
		return nil, false, fmt.Errorf("GET %s: %w: more than %d bytes", url, ErrDocumentTooLarge, max)
	}
	return b, false, nil
}

// unwrapURLError drops the *url.Error layer (whose message repeats the
// method and URL the caller already gives).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// oneLine collapses whitespace and shortens s to at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
