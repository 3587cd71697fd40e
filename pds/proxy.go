package pds

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/serviceauth"
)

// The AppView proxy, as the reference PDS's pipethrough:
//
//   - A method the server does not serve itself is forwarded when it is
//     an app.bsky.* or chat.bsky.* method (to the AppView, Config.AppViewURL,
//     whose DID is Config.AppViewDID) or when the request has an
//     atproto-proxy: DID#SERVICE header (to that service of that DID's
//     document; the AppView's own DID#bsky_appview goes to AppViewURL).
//   - The caller needs a session; the request goes on with a service-auth
//     JWT signed by the account's key (iss the account, aud the bare
//     service DID, lxm the method, exp a minute ahead) in place of the
//     session token, and the answer comes back as it came (status,
//     content type and body).
//   - Account-management methods are never proxied (400 InvalidToken
//     "Bad token method"), nor chat.bsky.* for an unprivileged app
//     password session.
//   - With no AppView configured, app.bsky.actor.getProfile and
//     getProfiles answer from the server's own accounts (profile.go), and
//     every other app.bsky/chat.bsky method answers 400 InvalidRequest
//     naming the cause.

// proxyTokenTTL is how long a proxied request's service-auth JWT lives.
const proxyTokenTTL = time.Minute

// appViewService is the service id of the AppView.
const appViewService = "bsky_appview"

// proxyHeader is the request's atproto-proxy header.
func proxyHeader(r *http.Request) string { return r.Header.Get("atproto-proxy") }

// isAppViewMethod says whether a method goes to the AppView by default.
func isAppViewMethod(nsid string) bool {
	return strings.HasPrefix(nsid, "app.bsky.") || strings.HasPrefix(nsid, "chat.bsky.")
}

// proxiedElsewhere: the request names a service other than the configured
// AppView (getPreferences and putPreferences are then proxied).
func (s *Server) proxiedElsewhere(r *http.Request) bool {
	h := proxyHeader(r)
	return h != "" && h != s.cfg.AppViewDID+"#"+appViewService
}

// serveUnknown answers a method the server has no handler for.
func (s *Server) serveUnknown(w http.ResponseWriter, r *http.Request, name string) {
	nsid, err := syntax.ParseNSID(name)
	if err != nil {
		writeError(w, xerr(http.StatusNotImplemented, "MethodNotImplemented", "method %s is not implemented", name))
		return
	}
	var out any
	switch {
	case proxyHeader(r) != "" || isAppViewMethod(name) && s.cfg.AppViewURL != "":
		out, err = s.proxy(w, r, nsid.String())
	case name == "app.bsky.actor.getProfile":
		out, err = s.localGetProfile(w, r)
	case name == "app.bsky.actor.getProfiles":
		out, err = s.localGetProfiles(w, r)
	case isAppViewMethod(name):
		err = invalidRequest("no AppView configured for %s: start with --appview URL", name)
	default:
		err = xerr(http.StatusNotImplemented, "MethodNotImplemented", "method %s is not implemented", name)
	}
	if _, ok := out.(written); ok {
		return
	}
	if err != nil {
		writeError(w, err)
	} else {
		writeJSON(w, http.StatusOK, out)
	}
}

// proxyTarget is where a proxied request goes.
type proxyTarget struct {
	url string // the service endpoint
	did string // the service's DID: the token's aud
}

func (s *Server) proxyTargetOf(ctx context.Context, r *http.Request, lxm string) (*proxyTarget, error) {
	h := proxyHeader(r)
	if h == "" {
		if s.cfg.AppViewURL == "" {
			return nil, invalidRequest("no AppView configured for %s: start with --appview URL", lxm)
		}
		return &proxyTarget{url: s.cfg.AppViewURL, did: s.cfg.AppViewDID}, nil
	}
	i := strings.IndexByte(h, '#')
	switch {
	case i == 0:
		return nil, invalidRequest("no did specified in proxy header")
	case i < 0 || i == len(h)-1:
		return nil, invalidRequest("no service id specified in proxy header")
	case strings.Contains(h[i+1:], "#"):
		return nil, invalidRequest("invalid proxy header format")
	case strings.Contains(h, " "):
		return nil, invalidRequest("proxy header cannot contain spaces")
	}
	did, svc := h[:i], h[i+1:]
	if s.cfg.AppViewURL != "" && did == s.cfg.AppViewDID && svc == appViewService {
		return &proxyTarget{url: s.cfg.AppViewURL, did: did}, nil
	}
	endpoint, err := s.serviceEndpoint(ctx, did, svc)
	if err != nil {
		return nil, err
	}
	return &proxyTarget{url: endpoint, did: did}, nil
}

// serviceEndpoint finds service #svc in did's document: a did:plc through
// the server's directory, a did:web over HTTPS.
func (s *Server) serviceEndpoint(ctx context.Context, did, svc string) (string, error) {
	d, err := syntax.ParseDID(did)
	if err != nil {
		return "", invalidRequest("could not resolve proxy did")
	}
	var raw []byte
	switch d.Method() {
	case "plc":
		if raw, err = s.didDocument(ctx, did); err != nil {
			return "", invalidRequest("could not resolve proxy did")
		}
	case "web":
		res := &identity.Resolver{HTTPClient: s.cfg.HTTPClient}
		doc, err := res.ResolveDID(ctx, d)
		if err != nil {
			return "", invalidRequest("could not resolve proxy did")
		}
		raw = doc.Raw
	default:
		return "", invalidRequest("could not resolve proxy did")
	}
	var doc struct {
		Service []struct {
			ID              string `json:"id"`
			ServiceEndpoint any    `json:"serviceEndpoint"`
		} `json:"service"`
	}
	if json.Unmarshal(raw, &doc) == nil {
		for _, sv := range doc.Service {
			ep, ok := sv.ServiceEndpoint.(string)
			if ok && (sv.ID == "#"+svc || sv.ID == did+"#"+svc) {
				if u, err := url.Parse(ep); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
					return strings.TrimRight(ep, "/"), nil
				}
			}
		}
	}
	return "", invalidRequest("could not resolve proxy did service url")
}

// written is what a handler returns when it wrote the response itself.
type written struct{}

// proxy forwards the request for method lxm and copies the answer back;
// it writes the response itself.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, lxm string) (any, error) {
	if serviceauth.IsProtected(lxm) { // never proxied either
		return nil, xerr(http.StatusBadRequest, "InvalidToken", "Bad token method")
	}
	ctx := r.Context()
	target, err := s.proxyTargetOf(ctx, r, lxm)
	if err != nil {
		return nil, err
	}
	sess, err := s.authRequest(r)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(lxm, "chat.bsky.") && sess.Kind == SessionAppPassword {
		return nil, xerr(http.StatusBadRequest, "InvalidToken", "Bad token method")
	}
	tok, err := s.serviceAuthToken(sess.Account, target.did, lxm, s.now().Add(proxyTokenTTL))
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if r.Method == http.MethodPost {
		if err := limitBody(w, r, max(s.cfg.MaxBlobSize, s.cfg.MaxJSONBody)); err != nil {
			return nil, err
		}
		body = r.Body
	}
	u := strings.TrimRight(target.url, "/") + "/xrpc/" + lxm
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u, body)
	if err != nil {
		return nil, invalidRequest("proxy: %v", err)
	}
	// The headers passed on each way, as the reference passes them.
	for _, h := range []string{"Accept-Language", "Atproto-Accept-Labelers", "X-Bsky-Topics", "Accept-Encoding", "Content-Type", "Content-Encoding"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	if req.Header.Get("Accept-Encoding") == "" {
		req.Header.Set("Accept-Encoding", "identity")
	}
	req.ContentLength = r.ContentLength
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := s.proxyClient().Do(req)
	if err != nil {
		return nil, xerr(http.StatusBadGateway, "UpstreamFailure", "%s did not answer %s: %v", target.url, lxm, err)
	}
	defer res.Body.Close()
	for _, h := range []string{"Content-Type", "Content-Length", "Content-Encoding", "Atproto-Repo-Rev", "Atproto-Content-Labelers", "Retry-After"} {
		if v := res.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(res.StatusCode)
	io.Copy(w, res.Body)
	return written{}, nil
}

func (s *Server) proxyClient() *http.Client {
	if s.cfg.HTTPClient != nil {
		return s.cfg.HTTPClient
	}
	return &http.Client{Timeout: 60 * time.Second}
}

// checkAppView checks and completes the AppView configuration: the DID
// defaults to did:web of the URL's host.
func checkAppView(cfg *Config) error {
	if cfg.AppViewURL == "" {
		if cfg.AppViewDID != "" {
			return fmt.Errorf("pds: an AppView DID (%s) needs an AppView URL", cfg.AppViewDID)
		}
		return nil
	}
	u, err := url.Parse(cfg.AppViewURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" && u.Path != "/" {
		return fmt.Errorf("pds: AppView URL %q is not an http(s) URL of a host", cfg.AppViewURL)
	}
	cfg.AppViewURL = strings.TrimRight(cfg.AppViewURL, "/")
	if cfg.AppViewDID == "" {
		cfg.AppViewDID = "did:web:" + strings.ReplaceAll(u.Host, ":", "%3A")
	}
	if _, err := syntax.ParseDID(cfg.AppViewDID); err != nil {
		return fmt.Errorf("pds: AppView DID %q: %v", cfg.AppViewDID, err)
	}
	return nil
}
