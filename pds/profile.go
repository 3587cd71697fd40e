package pds

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Local profiles: with no AppView, app.bsky.actor.getProfile and
// getProfiles answer for the server's own accounts, from their
// app.bsky.actor.profile/self record and their repository, as a
// lexicon-valid app.bsky.actor.defs#profileViewDetailed: did, handle,
// displayName, description, avatar and banner (URLs of the blobs on this
// server's com.atproto.sync.getBlob), followsCount and postsCount (the
// account's follow and post records), createdAt and indexedAt. What only an
// AppView knows (followers, viewer state, labels) is left out or empty.

// maxGetProfiles is getProfiles' limit on actors, as the lexicon's.
const maxGetProfiles = 25

func (s *Server) localGetProfile(w http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.authRequest(r); err != nil {
		return nil, err
	}
	actor, err := requireParam(r, "actor")
	if err != nil {
		return nil, err
	}
	v, err := s.profileView(r, actor)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, invalidRequest("Profile not found: %s is not an account of this server, and no AppView is configured (start with --appview URL)", actor)
	}
	return v, nil
}

func (s *Server) localGetProfiles(w http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.authRequest(r); err != nil {
		return nil, err
	}
	actors := r.URL.Query()["actors"]
	if len(actors) == 0 {
		return nil, invalidRequest("parameter actors is required")
	}
	if len(actors) > maxGetProfiles {
		return nil, invalidRequest("actors: at most %d, got %d", maxGetProfiles, len(actors))
	}
	out := []map[string]any{}
	for _, actor := range actors {
		v, err := s.profileView(r, actor)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out = append(out, v)
		}
	}
	return map[string]any{"profiles": out}, nil
}

// profileView is the profileViewDetailed of a local account (nil when the
// actor is not one).
func (s *Server) profileView(r *http.Request, actor string) (map[string]any, error) {
	ctx := r.Context()
	a, err := s.account(ctx, strings.TrimPrefix(actor, "@"), func() error { return nil })
	if err != nil || a == nil {
		return nil, err
	}
	v := map[string]any{
		"did": a.DID, "handle": a.Handle, "labels": []any{},
		"indexedAt": formatTime(a.CreatedAt), "createdAt": formatTime(a.CreatedAt),
		"viewer": map[string]any{"muted": false, "blockedBy": false},
	}
	for key, collection := range map[string]string{"followsCount": "app.bsky.graph.follow", "postsCount": "app.bsky.feed.post"} {
		n, err := s.store.CountRecords(ctx, a.DID, collection)
		if err != nil {
			return nil, err
		}
		v[key] = n
	}
	v["followersCount"] = 0
	c, err := s.store.Record(ctx, a.DID, "app.bsky.actor.profile", "self")
	if errors.Is(err, ErrNotStored) {
		return v, nil
	}
	if err != nil {
		return nil, err
	}
	raw, err := s.recordJSON(r, a.DID, c)
	if err != nil {
		return nil, err
	}
	var rec struct {
		DisplayName string          `json:"displayName"`
		Description string          `json:"description"`
		Avatar      blobRefJSON     `json:"avatar"`
		Banner      blobRefJSON     `json:"banner"`
		CreatedAt   string          `json:"createdAt"`
		PinnedPost  json.RawMessage `json:"pinnedPost"`
	}
	if json.Unmarshal(raw, &rec) != nil {
		return v, nil
	}
	for key, val := range map[string]string{"displayName": rec.DisplayName, "description": rec.Description, "createdAt": rec.CreatedAt} {
		if val != "" {
			v[key] = val
		}
	}
	for key, ref := range map[string]blobRefJSON{"avatar": rec.Avatar, "banner": rec.Banner} {
		if ref.Ref.Link != "" {
			v[key] = s.cfg.PublicURL + "/xrpc/com.atproto.sync.getBlob?" + url.Values{"did": {a.DID}, "cid": {ref.Ref.Link}}.Encode()
		}
	}
	if len(rec.PinnedPost) > 0 && string(rec.PinnedPost) != "null" {
		v["pinnedPost"] = rec.PinnedPost
	}
	return v, nil
}

// blobRefJSON is a blob reference as atproto JSON writes it.
type blobRefJSON struct {
	Ref struct {
		Link string `json:"$link"`
	} `json:"ref"`
}
