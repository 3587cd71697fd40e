package plc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// DefaultHost is the public directory.
const DefaultHost = "https://plc.directory"

// ErrDirectory is wrapped by errors the directory returned.
var ErrDirectory = errors.New("directory refused the request")

// Client talks to a did:plc directory. It is the only networked part of
// the package.
type Client struct {
	Host string       // e.g. https://plc.directory
	HTTP *http.Client // nil means http.DefaultClient
	// MaxBytes bounds a response body (default 16 MiB).
	MaxBytes int64
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) url(did, suffix string) (string, error) {
	if !ValidDID(did) {
		return "", wrapf(ErrBadDID, "%q", did)
	}
	host := strings.TrimRight(c.Host, "/")
	if host == "" {
		host = DefaultHost
	}
	u, err := url.Parse(host)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("directory host %q is not an http(s) URL", c.Host)
	}
	return host + "/" + did + suffix, nil
}

// AuditLog fetches and parses DID's /log/audit. It also returns the raw
// body.
func (c *Client) AuditLog(ctx context.Context, did syntax.DID) ([]LogEntry, []byte, error) {
	u, err := c.url(did.String(), "/log/audit")
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	body, err := c.do(req)
	if err != nil {
		return nil, nil, err
	}
	entries, err := ParseLog(body)
	if err != nil {
		return nil, body, fmt.Errorf("audit log from %s: %w", u, err)
	}
	return entries, body, nil
}

// Submit posts a signed operation for did.
func (c *Client) Submit(ctx context.Context, did syntax.DID, op *Operation) error {
	u, err := c.url(did.String(), "")
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(op.AppendJSON(nil)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	_, err = c.do(req)
	return err
}

func (c *Client) do(req *http.Request) ([]byte, error) {
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	max := c.MaxBytes
	if max <= 0 {
		max = 16 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading response: %w", req.Method, req.URL, err)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("%s %s: response larger than %d bytes", req.Method, req.URL, max)
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.Join(strings.Fields(string(body)), " ")
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return nil, fmt.Errorf("%w: %s %s: %s: %s", ErrDirectory, req.Method, req.URL, resp.Status, msg)
	}
	return body, nil
}
