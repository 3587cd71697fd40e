package pdsclient

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Session is a logged-in account: what is kept between runs. It never
// holds the password.
type Session struct {
	PDS        string `json:"pds"`
	DID        string `json:"did"`
	Handle     string `json:"handle"`
	AccessJwt  string `json:"accessJwt"`
	RefreshJwt string `json:"refreshJwt"`
}

type sessionAnswer struct {
	DID        string `json:"did"`
	Handle     string `json:"handle"`
	AccessJwt  string `json:"accessJwt"`
	RefreshJwt string `json:"refreshJwt"`
	Active     *bool  `json:"active"`
	Status     string `json:"status"`
}

// Login is com.atproto.server.createSession with identifier (handle, DID
// or email) and password; the client keeps the session.
func (c *Client) Login(ctx context.Context, identifier, password string) (*Session, error) {
	var out sessionAnswer
	in := map[string]string{"identifier": strings.TrimPrefix(identifier, "@"), "password": password}
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	b, _, err := c.Do(ctx, Call{NSID: "com.atproto.server.createSession", Body: body, ContentType: "application/json"}, MaxJSONAnswer)
	if err != nil {
		return nil, err
	}
	if err := decode("com.atproto.server.createSession", b, &out); err != nil {
		return nil, err
	}
	if out.DID == "" || out.AccessJwt == "" {
		return nil, fmt.Errorf("com.atproto.server.createSession: the answer has no did or accessJwt")
	}
	s := &Session{PDS: c.Host, DID: out.DID, Handle: out.Handle, AccessJwt: out.AccessJwt, RefreshJwt: out.RefreshJwt}
	c.mu.Lock()
	c.session = s
	c.mu.Unlock()
	return s, nil
}

// Refresh is com.atproto.server.refreshSession with the refresh token;
// the client keeps the new session and tells OnRefresh.
func (c *Client) Refresh(ctx context.Context) error {
	s := c.Session()
	if s == nil || s.RefreshJwt == "" {
		return fmt.Errorf("refreshing: %w", ErrNoSession)
	}
	b, _, err := c.do(ctx, Call{NSID: "com.atproto.server.refreshSession", Post: true, Bearer: s.RefreshJwt}, MaxJSONAnswer)
	if err != nil {
		return err
	}
	var out sessionAnswer
	if err := decode("com.atproto.server.refreshSession", b, &out); err != nil {
		return err
	}
	ns := &Session{PDS: s.PDS, DID: s.DID, Handle: out.Handle, AccessJwt: out.AccessJwt, RefreshJwt: out.RefreshJwt}
	if ns.Handle == "" {
		ns.Handle = s.Handle
	}
	c.mu.Lock()
	c.session = ns
	c.mu.Unlock()
	if c.OnRefresh != nil {
		c.OnRefresh(ns)
	}
	return nil
}
