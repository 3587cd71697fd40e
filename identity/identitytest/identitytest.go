// Package identitytest runs the servers identity resolution talks to, all on
// loopback, for tests: a DNS server answering TXT records (github.com/miekg/dns
// on a UDP port), an HTTPS "internet" that serves any host name from one
// httptest TLS server (handles' /.well-known/atproto-did and did:web
// documents), a did:plc directory built on the plc package, and a minimal
// PDS serving com.atproto.sync.getRepo, listBlobs and getBlob from given
// bytes. Nothing here is used by the product.
package identitytest

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/arbor-atproto/arbor/plc"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/miekg/dns"
)

// StartDNS serves TXT records on a loopback UDP port until the test ends and
// returns its address. txt maps a name ("_atproto.alice.test") to its TXT
// values; other names get NXDOMAIN, and names listed in servfail get
// SERVFAIL.
func StartDNS(t testing.TB, txt map[string][]string, servfail ...string) string {
	t.Helper()
	records := map[string][]string{}
	for k, v := range txt {
		records[dns.Fqdn(strings.ToLower(k))] = v
	}
	fail := map[string]bool{}
	for _, n := range servfail {
		fail[dns.Fqdn(strings.ToLower(n))] = true
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		name := strings.ToLower(req.Question[0].Name)
		vals, ok := records[name]
		switch {
		case fail[name]:
			m.Rcode = dns.RcodeServerFailure
		case !ok:
			m.Rcode = dns.RcodeNameError
		case req.Question[0].Qtype == dns.TypeTXT:
			for _, v := range vals {
				m.Answer = append(m.Answer, &dns.TXT{
					Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
					Txt: splitTXT(v),
				})
			}
		}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// splitTXT cuts a value into the 255-byte character-strings of a TXT
// record, the way long values are published.
func splitTXT(v string) []string {
	var out []string
	for len(v) > 255 {
		out = append(out, v[:255])
		v = v[255:]
	}
	return append(out, v)
}

// Web is an HTTPS server standing in for every host name: a request for
// https://alice.test/x is answered from the page registered for
// "alice.test" and "/x". Pages may be added while the test runs.
type Web struct {
	Server *httptest.Server
	mu     sync.Mutex
	pages  map[string]http.Handler
}

// StartWeb starts an empty Web until the test ends.
func StartWeb(t testing.TB) *Web {
	t.Helper()
	w := &Web{pages: map[string]http.Handler{}}
	w.Server = httptest.NewTLSServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.Server.Close)
	return w
}

func (w *Web) serve(rw http.ResponseWriter, r *http.Request) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	w.mu.Lock()
	h := w.pages[host+r.URL.Path]
	w.mu.Unlock()
	if h == nil {
		http.NotFound(rw, r)
		return
	}
	h.ServeHTTP(rw, r)
}

// Handle serves h for https://host/path.
func (w *Web) Handle(host, path string, h http.Handler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pages[strings.ToLower(host)+path] = h
}

// Page serves body with the given content type for https://host/path.
func (w *Web) Page(host, path, contentType, body string) {
	w.Handle(host, path, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", contentType)
		rw.Write([]byte(body))
	}))
}

// Client returns an HTTP client that sends every request for a host name
// to the Web server (trusting its certificate), and requests for a
// loopback IP address to that address. It never dials anything else.
func (w *Web) Client() *http.Client {
	base := w.Server.Client().Transport.(*http.Transport)
	tr := base.Clone()
	tr.TLSClientConfig.ServerName = "example.com" // the name httptest's certificate is for
	webAddr := w.Server.Listener.Addr().String()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(host); ip != nil {
			if !ip.IsLoopback() {
				return nil, &net.OpError{Op: "dial", Net: network, Err: notLoopback{}}
			}
			return d.DialContext(ctx, network, addr)
		}
		return d.DialContext(ctx, "tcp", webAddr)
	}
	return &http.Client{Transport: tr}
}

type notLoopback struct{}

func (notLoopback) Error() string { return "identitytest: refusing to dial a non-loopback address" }

// writeJSON writes v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Directory is a did:plc directory serving /<did> (the document, made with
// plc.FormatDocument from the DID's operation) and /<did>/data.
type Directory struct {
	Server *httptest.Server
	mu     sync.Mutex
	ops    map[string]*plc.Operation
	raw    map[string]string // a document served as is
	gone   map[string]bool
}

// StartDirectory starts an empty directory on loopback (plain HTTP).
func StartDirectory(t testing.TB) *Directory {
	t.Helper()
	d := &Directory{ops: map[string]*plc.Operation{}, raw: map[string]string{}, gone: map[string]bool{}}
	d.Server = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(d.Server.Close)
	return d
}

// URL is the directory's address, for Resolver.PLCHost.
func (d *Directory) URL() string { return d.Server.URL }

// Add registers did with its current operation.
func (d *Directory) Add(did string, op *plc.Operation) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ops[did] = op
}

// AddRaw serves doc as did's document, whatever it says (and /data with
// no rotation keys).
func (d *Directory) AddRaw(did, doc string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.raw[did] = doc
}

// Tombstone makes did answer 410 Gone, as a deactivated DID does.
func (d *Directory) Tombstone(did string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gone[did] = true
}

func (d *Directory) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	did, suffix, _ := strings.Cut(path, "/")
	d.mu.Lock()
	op, raw, gone := d.ops[did], d.raw[did], d.gone[did]
	d.mu.Unlock()
	switch {
	case gone:
		writeJSON(w, http.StatusGone, map[string]string{"message": "DID not available: " + did})
	case raw != "" && suffix == "":
		w.Header().Set("Content-Type", "application/did+ld+json")
		w.Write([]byte(raw))
	case raw != "" && suffix == "data":
		writeJSON(w, 200, map[string]any{"did": did, "rotationKeys": []string{}})
	case op == nil:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "DID not registered: " + did})
	case suffix == "":
		doc, err := plc.FormatDocument(syntax.DID(did), op)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/did+ld+json")
		json.NewEncoder(w).Encode(doc)
	case suffix == "data":
		vms := map[string]string{}
		for _, vm := range op.VerificationMethods {
			vms[vm.ID] = vm.Key
		}
		svcs := map[string]any{}
		for _, s := range op.Services {
			svcs[s.ID] = map[string]string{"type": s.Type, "endpoint": s.Endpoint}
		}
		writeJSON(w, 200, map[string]any{"did": did, "rotationKeys": op.RotationKeys, "verificationMethods": vms, "alsoKnownAs": op.AlsoKnownAs, "services": svcs})
	default:
		http.NotFound(w, r)
	}
}

// PDS serves com.atproto.sync.getRepo (Repos, and Slices for a since),
// listBlobs (PageSize CIDs a page, with a cursor) and getBlob (Blobs, keyed
// by CID string; the bytes need not match, to test the check).
type PDS struct {
	Server   *httptest.Server
	Repos    map[string][]byte            // did → CAR
	Slices   map[string]map[string][]byte // did → since → CAR
	Blobs    map[string]map[string][]byte // did → cid → bytes
	BlobList map[string][]string          // did → CIDs listBlobs gives, in order
	PageSize int
}

// StartPDS starts p on loopback (plain HTTP). Fill the maps before any
// request is made.
func StartPDS(t testing.TB, p *PDS) *PDS {
	t.Helper()
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Server.Close)
	return p
}

// URL is the PDS endpoint for DID documents.
func (p *PDS) URL() string { return p.Server.URL }

func xrpcError(w http.ResponseWriter, status int, name, msg string) {
	writeJSON(w, status, map[string]string{"error": name, "message": msg})
}

func (p *PDS) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	did := q.Get("did")
	switch r.URL.Path {
	case "/xrpc/com.atproto.sync.getRepo":
		car, ok := p.Repos[did]
		if since := q.Get("since"); since != "" {
			car, ok = p.Slices[did][since]
		}
		if !ok {
			xrpcError(w, 400, "RepoNotFound", "Could not find repo for DID: "+did)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.ipld.car")
		w.Header().Set("Content-Length", strconv.Itoa(len(car)))
		w.Write(car)
	case "/xrpc/com.atproto.sync.listBlobs":
		all := p.BlobList[did]
		start := 0
		if c := q.Get("cursor"); c != "" {
			start = -1
			for i, x := range all {
				if x == c {
					start = i + 1
				}
			}
			if start < 0 {
				xrpcError(w, 400, "InvalidRequest", "bad cursor")
				return
			}
		}
		n := p.PageSize
		if n <= 0 {
			n = len(all)
		}
		end := min(start+n, len(all))
		page := append([]string{}, all[start:end]...)
		resp := map[string]any{"cids": page}
		if end < len(all) {
			resp["cursor"] = all[end-1]
		}
		writeJSON(w, 200, resp)
	case "/xrpc/com.atproto.sync.getBlob":
		b, ok := p.Blobs[did][q.Get("cid")]
		if !ok {
			xrpcError(w, 400, "BlobNotFound", "Blob not found")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	default:
		xrpcError(w, 404, "MethodNotImplemented", r.URL.Path)
	}
}
