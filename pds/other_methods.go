package pds

import (
	"net/http"
	"slices"
)

// The com.atproto methods a PDS does not own (relay, labeler, lexicon and
// temp methods), so that none answers 501: the ones with a local answer
// have it (sync.getHead, getCheckout, listReposByCollection over this
// server's repos; temp.checkHandleAvailability; label.queryLabels: this
// server issues no labels); moderation.createReport goes to the AppView
// like app.bsky methods; the rest answer 400 naming why (docs/pds.md has
// the table).

// notServed answers a method arbor pds has no part in, saying why.
func notServed(name, why string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		return nil, xerr(http.StatusBadRequest, "MethodNotSupported", "%s is not served by arbor pds: %s", name, why)
	}
}

func (s *Server) syncGetHead(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.syncAccount(r)
	if err != nil {
		if xe, ok := err.(*XRPCError); ok && xe.Name == "RepoNotFound" {
			return nil, xerr(http.StatusBadRequest, "HeadNotFound", "%s", xe.Message)
		}
		return nil, err
	}
	return map[string]string{"root": a.Head.String()}, nil
}

func (s *Server) listReposByCollection(w http.ResponseWriter, r *http.Request) (any, error) {
	collection, err := requireParam(r, "collection")
	if err != nil {
		return nil, err
	}
	if err := checkPath(collection, "x"); err != nil {
		return nil, err
	}
	limit, err := queryInt(r, "limit", 500, 1, 2000)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	repos := []map[string]string{}
	after := r.URL.Query().Get("cursor")
	last := ""
	for len(repos) < limit {
		accts, err := s.store.ListAccounts(ctx, after, 500)
		if err != nil {
			return nil, err
		}
		if len(accts) == 0 {
			last = ""
			break
		}
		for _, a := range accts {
			after = a.DID
			if !a.Active {
				continue
			}
			cols, err := s.store.Collections(ctx, a.DID)
			if err != nil {
				return nil, err
			}
			if slices.Contains(cols, collection) {
				repos = append(repos, map[string]string{"did": a.DID})
				last = a.DID
				if len(repos) == limit {
					break
				}
			}
		}
	}
	out := map[string]any{"repos": repos}
	if len(repos) == limit && last != "" {
		out["cursor"] = last
	}
	return out, nil
}

func (s *Server) checkHandleAvailability(w http.ResponseWriter, r *http.Request) (any, error) {
	h, err := requireParam(r, "handle")
	if err != nil {
		return nil, err
	}
	handle, err := s.normalizeHandle(h)
	if err != nil {
		return nil, err
	}
	result := map[string]any{"$type": "com.atproto.temp.checkHandleAvailability#resultAvailable"}
	if _, err := s.store.AccountByHandle(r.Context(), handle); err == nil {
		result = map[string]any{"$type": "com.atproto.temp.checkHandleAvailability#resultUnavailable", "suggestions": []any{}}
	}
	return map[string]any{"handle": handle, "result": result}, nil
}

func (s *Server) queryLabels(w http.ResponseWriter, r *http.Request) (any, error) {
	if len(r.URL.Query()["uriPatterns"]) == 0 {
		return nil, invalidRequest("parameter uriPatterns is required")
	}
	return map[string]any{"labels": []any{}}, nil
}

func (s *Server) createReport(w http.ResponseWriter, r *http.Request) (any, error) {
	if s.cfg.AppViewURL == "" && proxyHeader(r) == "" {
		return nil, invalidRequest("no moderation service configured for com.atproto.moderation.createReport: start with --appview URL, or send an atproto-proxy header naming one")
	}
	return s.proxy(w, r, "com.atproto.moderation.createReport")
}
