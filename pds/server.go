package pds

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"

	"github.com/arbor-atproto/arbor/plc"
	"github.com/arbor-atproto/arbor/repo"
)

// Default limits.
const (
	DefaultMaxJSONBody   = 1 << 20   // a JSON request body
	DefaultMaxBlobSize   = 5 << 20   // one uploaded blob
	DefaultMaxImportSize = 256 << 20 // an importRepo CAR
	DefaultAccessTTL     = 2 * time.Hour
	DefaultRefreshTTL    = 90 * 24 * time.Hour
	MaxApplyWrites       = 200
)

// Config configures a Server. Only PublicURL is required.
type Config struct {
	// DataDir holds the database and the blobs. Empty: a temporary
	// directory, removed by Close.
	DataDir string
	// PublicURL is the URL clients reach the server at (e.g.
	// http://127.0.0.1:2583); it is the PDS endpoint of every DID document
	// and, with the embedded directory, the directory's URL.
	PublicURL string
	// Hostname names the service: its DID is did:web:Hostname. Default
	// "localhost".
	Hostname string
	// HandleDomains are the suffixes handles may end with (each starting
	// with a dot). Default [".test"].
	HandleDomains []string
	// PLCURL is a remote did:plc directory; empty means the embedded one.
	PLCURL string
	// HTTPClient is used to talk to a remote directory (nil: the default).
	HTTPClient *http.Client

	MaxJSONBody   int64
	MaxBlobSize   int64
	MaxImportSize int64
	AccessTTL     time.Duration
	RefreshTTL    time.Duration
	// Now is the clock (nil: time.Now); tests move it.
	Now func() time.Time

	// FirehoseBuffer is how many events a subscribeRepos consumer may have
	// waiting before it is disconnected with ConsumerTooSlow (default
	// DefaultFirehoseBuffer).
	FirehoseBuffer int
	// FirehoseBufferBytes is how many bytes of frames a consumer may have
	// waiting before it is disconnected with ConsumerTooSlow (default
	// DefaultFirehoseBufferBytes).
	FirehoseBufferBytes int
	// MaxSubscribers caps the subscribeRepos connections served at once;
	// over it the upgrade is refused with 503 (default
	// DefaultMaxSubscribers).
	MaxSubscribers int
	// ReadHeaderTimeout, IdleTimeout, BodyTimeout and MinBodyRate are the
	// connection limits of HTTPServer (see httpserver.go; defaults
	// DefaultReadHeaderTimeout, DefaultIdleTimeout, DefaultBodyTimeout,
	// DefaultMinBodyRate).
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	BodyTimeout       time.Duration
	MinBodyRate       int64
	// WriteTimeout is the longest one write of a response may wait for
	// the client to read (default DefaultWriteTimeout).
	WriteTimeout time.Duration

	// LoginLimits are the rate limits of createSession and refreshSession
	// (nil: DefaultLoginLimits; an empty LoginLimits: none).
	LoginLimits *LoginLimits

	// Mail receives the mail the reference PDS would send (tokens for
	// email confirmation, account deletion, PLC operations); nil drops it.
	Mail *MailLog

	// AppViewURL is the AppView app.bsky.* and chat.bsky.* requests are
	// proxied to ("": none; see proxy.go), AppViewDID its DID (default
	// did:web: of the URL's host), the aud of the proxied requests'
	// service-auth JWTs.
	AppViewURL string
	AppViewDID string

	// InviteRequired makes createAccount need an invite code (invites.go).
	InviteRequired bool

	// Crawlers are relays asked to crawl the server (requestCrawl) at
	// start and after writes, at most once every 20 minutes.
	Crawlers []string
	// Warn is told what goes wrong in the background (a relay refusing
	// requestCrawl); nil drops it.
	Warn func(error)

	// FirehoseWindow is how long events are kept for replay; older ones
	// are removed and a cursor before them gets OutdatedCursor. 0 keeps
	// every event.
	FirehoseWindow time.Duration
}

// Server is a running PDS: an http.Handler over a Store.
type Server struct {
	cfg        Config
	store      Store
	blobs      blobFiles
	dir        string
	removeDir  bool
	secret     []byte
	rotation   atcrypto.PrivateKeyExportable
	adminPass  string
	serviceDID string
	directory  directory
	clock      *repo.TIDClock
	methods    map[string]method
	seq        *sequencer
	limits     *limiter
	crawl      *crawlers

	reposMu sync.Mutex
	repos   map[string]*repoState

	lex lexCatalog // the Lexicon catalog writes are validated against (validate.go)
}

// Open opens (or creates) the server's store and returns a Server ready to
// serve. Close it to release the store (and remove a temporary directory).
func Open(cfg Config) (*Server, error) {
	if cfg.PublicURL == "" {
		return nil, errors.New("pds: PublicURL is required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("pds: public URL %q is not an http(s) URL", cfg.PublicURL)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if len(cfg.HandleDomains) == 0 {
		cfg.HandleDomains = []string{".test"}
	}
	for i, d := range cfg.HandleDomains {
		if !strings.HasPrefix(d, ".") {
			cfg.HandleDomains[i] = "." + d
		}
	}
	setDefault(&cfg.MaxJSONBody, DefaultMaxJSONBody)
	setDefault(&cfg.MaxBlobSize, DefaultMaxBlobSize)
	setDefault(&cfg.MaxImportSize, DefaultMaxImportSize)
	setDefault(&cfg.AccessTTL, DefaultAccessTTL)
	setDefault(&cfg.RefreshTTL, DefaultRefreshTTL)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	setDefault(&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&cfg.IdleTimeout, DefaultIdleTimeout)
	setDefault(&cfg.BodyTimeout, DefaultBodyTimeout)
	setDefault(&cfg.MinBodyRate, DefaultMinBodyRate)
	setDefault(&cfg.WriteTimeout, DefaultWriteTimeout)
	if err := checkAppView(&cfg); err != nil {
		return nil, err
	}
	if cfg.LoginLimits == nil {
		cfg.LoginLimits = DefaultLoginLimits()
	}
	s := &Server{cfg: cfg, repos: map[string]*repoState{}, serviceDID: "did:web:" + cfg.Hostname, limits: newLimiter(cfg.Now)}
	if cfg.DataDir == "" {
		d, err := os.MkdirTemp("", "arbor-pds-")
		if err != nil {
			return nil, fmt.Errorf("pds: temporary data directory: %w", err)
		}
		s.dir, s.removeDir = d, true
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("pds: data directory: %w", err)
		}
		s.dir = cfg.DataDir
	}
	if err := s.open(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// setDefault sets *v to def when it is not positive (a limit left unset).
func setDefault[T ~int | ~int64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

func (s *Server) open() error {
	st, err := OpenSQLiteStore(filepath.Join(s.dir, "pds.sqlite"))
	if err != nil {
		return fmt.Errorf("pds: %w", err)
	}
	s.store = st
	if s.seq, err = newSequencer(st, s.cfg); err != nil {
		return fmt.Errorf("pds: %w", err)
	}
	// Every write that adds seq rows also tells the relays (--crawler).
	sst := s.seq.wrap(st).(sequencedStore)
	wake := sst.wake
	sst.wake = func() { wake(); s.crawl.notify() }
	s.store = sst
	s.blobs = blobFiles{dir: filepath.Join(s.dir, "blobs")}
	if err := os.MkdirAll(s.blobs.dir, 0o700); err != nil {
		return fmt.Errorf("pds: blob directory: %w", err)
	}
	ctx := context.Background()
	if s.secret, err = s.metaOrCreate(ctx, "jwt_secret", func() ([]byte, error) { return randomBytes(32) }); err != nil {
		return err
	}
	pass, err := s.metaOrCreate(ctx, "admin_password", func() ([]byte, error) {
		b, err := randomBytes(12)
		return []byte(hex.EncodeToString(b)), err
	})
	if err != nil {
		return err
	}
	s.adminPass = string(pass)
	rot, err := s.metaOrCreate(ctx, "plc_rotation_key", func() ([]byte, error) {
		k, err := atcrypto.GeneratePrivateKeyK256()
		if err != nil {
			return nil, err
		}
		return []byte(k.Multibase()), nil
	})
	if err != nil {
		return err
	}
	if s.rotation, err = atcrypto.ParsePrivateMultibase(string(rot)); err != nil {
		return fmt.Errorf("pds: stored rotation key: %w", err)
	}
	clock, err := randomBytes(2)
	if err != nil {
		return err
	}
	s.clock = repo.NewTIDClock(uint(clock[0])<<8 | uint(clock[1]))
	if s.cfg.PLCURL == "" {
		s.directory = &embeddedDirectory{store: s.store, now: s.cfg.Now}
	} else {
		s.directory = newRemoteDirectory(s.cfg.PLCURL, s.cfg.HTTPClient)
	}
	s.methods = s.routes()
	if err := s.followPublicURL(ctx); err != nil {
		return err
	}
	if err := s.writeServeInfo(); err != nil {
		return err
	}
	if s.crawl, err = newCrawlers(s.cfg, s.cfg.Warn); err != nil {
		return err
	}
	s.crawl.notify()
	return nil
}

// followPublicURL keeps every account's DID document pointing at the
// server: when the server comes back at another URL (a restart with --data
// on another port), each account's PDS endpoint is moved there with a
// directory operation signed by the rotation key, so clients that find
// the PDS through the DID document (as @atproto/api does after login)
// still reach it.
func (s *Server) followPublicURL(ctx context.Context) error {
	prev, err := s.store.Meta(ctx, "public_url")
	if err != nil && !errors.Is(err, ErrNotStored) {
		return fmt.Errorf("pds: reading public_url: %w", err)
	}
	if string(prev) == s.cfg.PublicURL {
		return nil
	}
	if prev != nil {
		after := ""
		for {
			accts, err := s.store.ListAccounts(ctx, after, 500)
			if err != nil {
				return fmt.Errorf("pds: listing accounts: %w", err)
			}
			if len(accts) == 0 {
				break
			}
			for _, a := range accts {
				if err := s.movePDS(ctx, a.DID); err != nil {
					return err
				}
			}
			after = accts[len(accts)-1].DID
		}
	}
	if err := s.store.SetMeta(ctx, "public_url", []byte(s.cfg.PublicURL)); err != nil {
		return fmt.Errorf("pds: saving public_url: %w", err)
	}
	return nil
}

func (s *Server) movePDS(ctx context.Context, did string) error {
	st, err := s.directory.State(ctx, did)
	if err != nil {
		return fmt.Errorf("pds: moving %s to %s: %w", did, s.cfg.PublicURL, err)
	}
	if cur := st.Current(); cur == nil {
		return nil // tombstoned
	} else if svc, ok := cur.ServiceByID("atproto_pds"); ok && svc.Endpoint == s.cfg.PublicURL {
		return nil
	}
	op, err := plc.NextOperation(st, plc.Update{PDS: s.cfg.PublicURL}, s.rotation, s.now())
	if err != nil {
		return fmt.Errorf("pds: moving %s to %s: %w", did, s.cfg.PublicURL, err)
	}
	if err := s.directory.Submit(ctx, did, op); err != nil {
		return fmt.Errorf("pds: moving %s to %s: %w", did, s.cfg.PublicURL, err)
	}
	return nil
}

func (s *Server) metaOrCreate(ctx context.Context, key string, gen func() ([]byte, error)) ([]byte, error) {
	v, err := s.store.Meta(ctx, key)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, ErrNotStored) {
		return nil, fmt.Errorf("pds: reading %s: %w", key, err)
	}
	if v, err = gen(); err != nil {
		return nil, fmt.Errorf("pds: generating %s: %w", key, err)
	}
	if err := s.store.SetMeta(ctx, key, v); err != nil {
		return nil, fmt.Errorf("pds: saving %s: %w", key, err)
	}
	return v, nil
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := rand.Read(b)
	return b, err
}

// Close closes the store and removes a temporary data directory.
func (s *Server) Close() error {
	var err error
	s.crawl.close()
	if s.seq != nil {
		s.seq.close()
		s.seq = nil
	}
	if s.store != nil {
		err = s.store.Close()
		s.store = nil
	}
	if s.removeDir && s.dir != "" {
		if rerr := os.RemoveAll(s.dir); rerr != nil && err == nil {
			err = rerr
		}
		s.dir = ""
	}
	return err
}

// URL is the server's public URL.
func (s *Server) URL() string { return s.cfg.PublicURL }

// PLCURL is the URL of the did:plc directory the server uses.
func (s *Server) PLCURL() string {
	if s.cfg.PLCURL != "" {
		return s.cfg.PLCURL
	}
	return s.cfg.PublicURL
}

// AdminPassword is the password of the "admin" user (HTTP basic auth).
func (s *Server) AdminPassword() string { return s.adminPass }

// DataDir is where the database and the blobs are.
func (s *Server) DataDir() string { return s.dir }

// Store gives access to the server's store (tests and tools).
func (s *Server) Store() Store { return s.store }

func (s *Server) now() time.Time { return s.cfg.Now() }

// ServeHTTP routes /xrpc/{method}, /.well-known/atproto-did and, with the
// embedded directory, /{did:plc:...}.
// A request body is held to the minimum rate, and each write of the
// response to WriteTimeout (see httpserver.go).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body *pacedBody
	if r.Body != nil && r.Body != http.NoBody {
		body = s.paceBody(w, r)
		r.Body = body
	}
	w = s.stallWriter(w)
	p := r.URL.Path
	switch {
	case p == "/" || p == "/xrpc/_health" || p == "/_health":
		// Before the /xrpc/ prefix, which would take _health for a method.
		writeJSON(w, http.StatusOK, map[string]string{"version": "arbor-pds"})
	case strings.HasPrefix(p, "/xrpc/"):
		s.serveXRPC(w, r, strings.TrimPrefix(p, "/xrpc/"), body)
	case p == "/.well-known/atproto-did":
		s.serveWellKnown(w, r)
	case strings.HasPrefix(p, "/did:plc:") && s.cfg.PLCURL == "":
		s.servePLC(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "NotFound", "message": "no route for " + p})
	}
}

func (s *Server) serveXRPC(w http.ResponseWriter, r *http.Request, name string, body *pacedBody) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Headers", "*")
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	m, ok := s.methods[name]
	if !ok {
		s.serveUnknown(w, r, name)
		return
	}
	if m.post && r.Method != http.MethodPost || !m.post && r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, invalidRequest("method %s does not accept %s", name, r.Method))
		return
	}
	out, err := m.fn(w, r)
	if err != nil {
		if body != nil && body.timedOut {
			// Whatever the handler made of the failed read.
			err = s.errBodyTooSlow()
		}
		writeError(w, err)
		return
	}
	if _, ok := out.(written); ok {
		return
	}
	if out != nil {
		writeJSON(w, http.StatusOK, out)
	} else if m.post {
		w.WriteHeader(http.StatusOK)
	}
}
