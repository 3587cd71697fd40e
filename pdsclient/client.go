package pdsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Errors.
var (
	// ErrXRPC: the PDS answered with an XRPC error (see XRPCError).
	ErrXRPC = errors.New("XRPC error")
	// ErrUnreachable: no answer from the PDS.
	ErrUnreachable = errors.New("PDS unreachable")
	// ErrNoSession: no kept session for the account, or a call that needs
	// one on a Client without one.
	ErrNoSession = errors.New("no session")
	// ErrBadAnswer: the PDS answered with something no PDS sends, such as
	// a list whose cursor leads back to a page already read, or a list
	// longer than any repository has.
	ErrBadAnswer = errors.New("PDS answer makes no sense")
)

// XRPCError is an error answer.
type XRPCError struct {
	Method  string
	Status  int
	Name    string
	Message string
}

func (e *XRPCError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("%s answered HTTP %d", e.Method, e.Status)
	}
	return fmt.Sprintf("%s: %s: %s", e.Method, e.Name, e.Message)
}

func (e *XRPCError) Unwrap() error { return ErrXRPC }

// IsXRPC says whether err is an XRPC error answer named name.
func IsXRPC(err error, name string) bool {
	var xe *XRPCError
	return errors.As(err, &xe) && xe.Name == name
}

// MaxJSONAnswer is the largest JSON answer read.
const MaxJSONAnswer = 16 << 20

// Client is one PDS and, when logged in, one account's session on it.
type Client struct {
	// Host is the PDS URL (scheme and host, no path).
	Host string
	// HTTP is the client used (nil: http.DefaultClient).
	HTTP *http.Client
	// OnRefresh is called with the new session after a refresh.
	OnRefresh func(*Session)

	mu      sync.Mutex
	session *Session
}

// New is a client for host without a session.
func New(host string, hc *http.Client) *Client {
	return &Client{Host: strings.TrimRight(host, "/"), HTTP: hc}
}

// WithSession is a client for the session's PDS.
func WithSession(s *Session, hc *http.Client) *Client {
	c := New(s.PDS, hc)
	c.session = s
	return c
}

// Session is the client's session (nil before Login).
func (c *Client) Session() *Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Call is one XRPC request.
type Call struct {
	NSID   string
	Params url.Values
	// Body and ContentType make it a procedure (POST); a nil Body with
	// Post set posts nothing.
	Body        []byte
	ContentType string
	Post        bool
	// Auth: send the session's access token (or Bearer, when set).
	Auth   bool
	Bearer string
}

// Do sends the call and returns the answer's body when it is 200. A
// session whose access token expired is refreshed once and the call is
// sent again.
func (c *Client) Do(ctx context.Context, call Call, limit int64) ([]byte, http.Header, error) {
	b, h, err := c.do(ctx, call, limit)
	if call.Auth && call.Bearer == "" && IsXRPC(err, "ExpiredToken") {
		if rerr := c.Refresh(ctx); rerr != nil {
			return nil, nil, err
		}
		return c.do(ctx, call, limit)
	}
	return b, h, err
}

func (c *Client) do(ctx context.Context, call Call, limit int64) ([]byte, http.Header, error) {
	u := c.Host + "/xrpc/" + call.NSID
	if len(call.Params) > 0 {
		u += "?" + call.Params.Encode()
	}
	method := http.MethodGet
	var rd io.Reader
	if call.Post || call.Body != nil {
		method = http.MethodPost
		if call.Body != nil {
			rd = bytes.NewReader(call.Body)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", call.NSID, err)
	}
	if call.ContentType != "" {
		req.Header.Set("Content-Type", call.ContentType)
	}
	if tok := call.Bearer; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if call.Auth {
		s := c.Session()
		if s == nil {
			return nil, nil, fmt.Errorf("%s: %w: log in first", call.NSID, ErrNoSession)
		}
		req.Header.Set("Authorization", "Bearer "+s.AccessJwt)
	}
	res, err := c.httpClient().Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, c.Host, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: reading the answer to %s: %v", ErrUnreachable, c.Host, call.NSID, err)
	}
	if int64(len(b)) > limit {
		return nil, nil, fmt.Errorf("%s: the answer is larger than %d bytes", call.NSID, limit)
	}
	if res.StatusCode != http.StatusOK {
		xe := &XRPCError{Method: call.NSID, Status: res.StatusCode}
		var body struct{ Error, Message string }
		if json.Unmarshal(b, &body) == nil {
			xe.Name, xe.Message = body.Error, body.Message
		}
		return nil, nil, xe
	}
	return b, res.Header, nil
}

// Query calls a query with the session's token (when there is one) and
// decodes the JSON answer into out (unless nil).
func (c *Client) Query(ctx context.Context, nsid string, params url.Values, out any) error {
	b, _, err := c.Do(ctx, Call{NSID: nsid, Params: params, Auth: c.Session() != nil}, MaxJSONAnswer)
	if err != nil {
		return err
	}
	return decode(nsid, b, out)
}

// Procedure calls a procedure with a JSON body (nil: none) and the
// session's token (when there is one).
func (c *Client) Procedure(ctx context.Context, nsid string, in, out any) error {
	call := Call{NSID: nsid, Post: true, Auth: c.Session() != nil}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s: %w", nsid, err)
		}
		call.Body, call.ContentType = b, "application/json"
	}
	b, _, err := c.Do(ctx, call, MaxJSONAnswer)
	if err != nil {
		return err
	}
	return decode(nsid, b, out)
}

func decode(nsid string, b []byte, out any) error {
	if out == nil || len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: the answer is not the JSON expected: %v", nsid, err)
	}
	return nil
}
