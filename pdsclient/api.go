package pdsclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Typed calls used by arbor account, arbor migrate and arbor backup.

// Preferences is app.bsky.actor.getPreferences' list, kept as the PDS
// gave it.
func (c *Client) Preferences(ctx context.Context) (json.RawMessage, error) {
	var out struct {
		Preferences json.RawMessage `json:"preferences"`
	}
	if err := c.Query(ctx, "app.bsky.actor.getPreferences", nil, &out); err != nil {
		return nil, err
	}
	if len(out.Preferences) == 0 {
		return json.RawMessage("[]"), nil
	}
	return out.Preferences, nil
}

// PutPreferences is app.bsky.actor.putPreferences with that list.
func (c *Client) PutPreferences(ctx context.Context, prefs json.RawMessage) error {
	return c.Procedure(ctx, "app.bsky.actor.putPreferences", map[string]json.RawMessage{"preferences": prefs}, nil)
}

// ServerDescription is part of com.atproto.server.describeServer.
type ServerDescription struct {
	DID                  string   `json:"did"`
	AvailableUserDomains []string `json:"availableUserDomains"`
	InviteCodeRequired   bool     `json:"inviteCodeRequired"`
}

// DescribeServer is com.atproto.server.describeServer.
func (c *Client) DescribeServer(ctx context.Context) (*ServerDescription, error) {
	var out ServerDescription
	return &out, c.Query(ctx, "com.atproto.server.describeServer", nil, &out)
}

// ServiceAuth is com.atproto.server.getServiceAuth: a token for aud, good
// for lxm ("" any method) until exp (zero: the server's default).
func (c *Client) ServiceAuth(ctx context.Context, aud, lxm string, exp time.Time) (string, error) {
	q := url.Values{"aud": {aud}}
	if lxm != "" {
		q.Set("lxm", lxm)
	}
	if !exp.IsZero() {
		q.Set("exp", strconv.FormatInt(exp.Unix(), 10))
	}
	var out struct {
		Token string `json:"token"`
	}
	return out.Token, c.Query(ctx, "com.atproto.server.getServiceAuth", q, &out)
}

// AccountStatus is com.atproto.server.checkAccountStatus' answer.
type AccountStatus struct {
	Activated          bool   `json:"activated"`
	ValidDid           bool   `json:"validDid"`
	RepoCommit         string `json:"repoCommit"`
	RepoRev            string `json:"repoRev"`
	RepoBlocks         int64  `json:"repoBlocks"`
	IndexedRecords     int64  `json:"indexedRecords"`
	PrivateStateValues int64  `json:"privateStateValues"`
	ExpectedBlobs      int64  `json:"expectedBlobs"`
	ImportedBlobs      int64  `json:"importedBlobs"`
}

// CheckAccountStatus is com.atproto.server.checkAccountStatus.
func (c *Client) CheckAccountStatus(ctx context.Context) (*AccountStatus, error) {
	var out AccountStatus
	return &out, c.Query(ctx, "com.atproto.server.checkAccountStatus", nil, &out)
}

// MissingBlob is one entry of com.atproto.repo.listMissingBlobs.
type MissingBlob struct {
	CID       string `json:"cid"`
	RecordURI string `json:"recordUri"`
}

// MaxMissingBlobs is the most blobs MissingBlobs accepts in all: far more
// than any repository has (a blob is at most a few per record).
const MaxMissingBlobs = 10_000_000

// MissingBlobs lists every blob the account's records need that the PDS
// does not have (all pages).
//
// A cursor that comes back a second time, or more than MaxMissingBlobs
// blobs in all, is ErrBadAnswer: a PDS that does either would keep the
// listing going for ever.
func (c *Client) MissingBlobs(ctx context.Context) ([]MissingBlob, error) {
	var all []MissingBlob
	cursor := ""
	seen := map[string]bool{}
	for {
		q := url.Values{"limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var out struct {
			Cursor string        `json:"cursor"`
			Blobs  []MissingBlob `json:"blobs"`
		}
		if err := c.Query(ctx, "com.atproto.repo.listMissingBlobs", q, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Blobs...)
		if len(all) > MaxMissingBlobs {
			return nil, fmt.Errorf("%w: listMissingBlobs listed more than %d blobs", ErrBadAnswer, MaxMissingBlobs)
		}
		if out.Cursor == "" || len(out.Blobs) == 0 {
			return all, nil
		}
		if seen[out.Cursor] {
			return nil, fmt.Errorf("%w: listMissingBlobs gave cursor %q a second time", ErrBadAnswer, out.Cursor)
		}
		seen[out.Cursor] = true
		cursor = out.Cursor
	}
}

// Credentials is com.atproto.identity.getRecommendedDidCredentials' answer
// (and the fields signPlcOperation takes).
type Credentials struct {
	RotationKeys        []string                   `json:"rotationKeys,omitempty"`
	AlsoKnownAs         []string                   `json:"alsoKnownAs,omitempty"`
	VerificationMethods map[string]string          `json:"verificationMethods,omitempty"`
	Services            map[string]ServiceEndpoint `json:"services,omitempty"`
}

// ServiceEndpoint is one service of Credentials.
type ServiceEndpoint struct {
	Type     string `json:"type"`
	Endpoint string `json:"endpoint"`
}

// RecommendedCredentials is com.atproto.identity.getRecommendedDidCredentials.
func (c *Client) RecommendedCredentials(ctx context.Context) (*Credentials, error) {
	var out Credentials
	return &out, c.Query(ctx, "com.atproto.identity.getRecommendedDidCredentials", nil, &out)
}

// RequestPLCSignature is com.atproto.identity.requestPlcOperationSignature:
// the PDS mails a token.
func (c *Client) RequestPLCSignature(ctx context.Context) error {
	return c.Procedure(ctx, "com.atproto.identity.requestPlcOperationSignature", nil, nil)
}

// SignPLCOperation is com.atproto.identity.signPlcOperation: the PDS signs
// the next operation with the fields of cred replaced; the operation's
// JSON is returned.
func (c *Client) SignPLCOperation(ctx context.Context, token string, cred *Credentials) (json.RawMessage, error) {
	in := struct {
		Token string `json:"token"`
		*Credentials
	}{token, cred}
	var out struct {
		Operation json.RawMessage `json:"operation"`
	}
	return out.Operation, c.Procedure(ctx, "com.atproto.identity.signPlcOperation", in, &out)
}

// SubmitPLCOperation is com.atproto.identity.submitPlcOperation.
func (c *Client) SubmitPLCOperation(ctx context.Context, op json.RawMessage) error {
	return c.Procedure(ctx, "com.atproto.identity.submitPlcOperation", map[string]json.RawMessage{"operation": op}, nil)
}
