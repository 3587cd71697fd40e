package commands

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/pds"
)

// pdsCommand is `arbor pds`: a throwaway local PDS.
func pdsCommand() *cli.Command {
	return &cli.Command{
		Name:        "pds",
		Usage:       "run a throwaway local PDS (XRPC server with an embedded store and did:plc directory)",
		Subcommands: []*cli.Command{pdsServeCommand(), pdsAccountCommand()},
	}
}

func pdsServeCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve a local PDS until Ctrl-C (SIGINT) or SIGTERM",
		Description: "Starts an XRPC server that official clients, bots and relays accept: every com.atproto method a PDS\n" +
			"serves (docs/pds-methods.md), preferences, and app.bsky through an AppView (--appview URL) or, without one,\n" +
			"getProfile/getProfiles for the server's own accounts.\n" +
			"Without --data everything lives in a temporary directory deleted on exit; with --data DIR the\n" +
			"SQLite database and blobs persist and a restart serves the same accounts, records, blobs and\n" +
			"sequence numbers. With --plc embedded (the default) the server is also a did:plc directory at its\n" +
			"own URL (GET /DID, /DID/data, /DID/log, /DID/log/audit; POST /DID), so `arbor plc history\n" +
			"--plc-host URL` works against it. Prints one line when ready: the URL, the admin password and\n" +
			"the directory URL (with --json, one JSON object). There is no mail server: each mail the reference\n" +
			"PDS would send (email confirmation, account deletion, PLC operation tokens) is one line on\n" +
			"stderr, mail to=ADDRESS subject=\"...\" token=TOKEN (with --json {\"mail\":{\"to\",\"subject\",\"token\"}}),\n" +
			"and with --mail-log FILE appended to FILE too. The data directory's serve.json (mode 0600)\n" +
			"keeps the URL and the admin password for `arbor pds account --data DIR`. A handle of the server\n" +
			"resolves at GET /.well-known/atproto-did with the handle as Host, and through\n" +
			"com.atproto.identity.resolveHandle. Request bodies must arrive at 16 KiB/s or more after 15 s\n" +
			"(never pausing 15 s); a client that reads none of a response for a minute, or leaves a\n" +
			"connection idle for 2 minutes, is disconnected.",
		Flags:  pdsServeFlags(),
		Action: pdsServe,
	}
}

func pdsServeFlags() []cli.Flag {
	return []cli.Flag{
		jsonFlag,
		&cli.StringFlag{Name: "addr", Value: "127.0.0.1:2583", Usage: "address to listen on (port 0: any free port)"},
		&cli.StringFlag{Name: "data", Usage: "directory for the database and blobs (default: a temporary one, deleted on exit)"},
		&cli.StringFlag{Name: "hostname", Value: "localhost", Usage: "service hostname (the server's DID is did:web:HOSTNAME)"},
		&cli.StringSliceFlag{Name: "handle-domain", Usage: "handle suffix accounts may use (repeatable; default .test)"},
		&cli.StringFlag{Name: "plc", Value: "embedded", Usage: `did:plc directory: "embedded" or a directory URL`},
		&cli.StringFlag{Name: "public-url", Usage: "URL clients reach the server at (default: http://localhost:PORT when bound to loopback, else http://ADDR as bound)"},
		&cli.Int64Flag{Name: "blob-limit", Value: pds.DefaultMaxBlobSize, Usage: "largest blob upload, in bytes"},
		&cli.IntFlag{Name: "max-subscribers", Value: pds.DefaultMaxSubscribers, Usage: "most subscribeRepos (firehose) connections at once; more are refused with 503"},
		&cli.StringFlag{Name: "mail-log", Usage: "also append each mail the server would send (one line: mail to=ADDRESS subject=\"...\" token=TOKEN) to `FILE`"},
		&cli.StringFlag{Name: "appview", Usage: "AppView `URL` that app.bsky.* and chat.bsky.* requests are proxied to, with a service-auth JWT of the account (default: none; getProfile/getProfiles then answer for local accounts)"},
		&cli.StringFlag{Name: "appview-did", Usage: "the AppView's `DID`, the aud of the proxied requests' JWTs (default did:web: of --appview's host)"},
		&cli.BoolFlag{Name: "invite-required", Usage: "createAccount needs an invite code (the admin makes them with com.atproto.server.createInviteCode)"},
		&cli.StringSliceFlag{Name: "crawler", Usage: "relay `URL` to ask to crawl this server (com.atproto.sync.requestCrawl) at start and after writes, at most every 20 minutes (repeatable)"},
		&cli.BoolFlag{Name: "no-login-limit", Usage: "turn off the login rate limits (30 createSession calls in 5 minutes per account and IP, 300 a day; 300 in 5 minutes per IP)"},
	}
}

func pdsServe(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErr("usage: arbor pds serve [--addr HOST:PORT] [--data DIR] [--hostname NAME] [--handle-domain .test] [--plc embedded|URL]")
	}
	cfg, err := pdsServeConfig(c)
	if err != nil {
		return err
	}
	mailFile, err := pdsMailLog(c, &cfg)
	if err != nil {
		return err
	}
	if mailFile != nil {
		defer mailFile.Close()
	}
	ln, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		return usageErr("--addr: %v", err)
	}
	defer ln.Close()
	cfg.PublicURL = c.String("public-url")
	if cfg.PublicURL == "" {
		cfg.PublicURL = defaultPublicURL(ln.Addr())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := pds.Open(cfg)
	if err != nil {
		return inputErr(err)
	}
	defer srv.Close()
	hs := srv.HTTPServer()
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	if err := printServing(c, pds.NewServingLine(srv, cfg.DataDir)); err != nil {
		return err
	}
	select {
	case err := <-done:
		return inputErr(err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return inputErr(err)
	}
	return nil
}

// pdsServeConfig reads the server's configuration from serve's flags.
func pdsServeConfig(c *cli.Context) (pds.Config, error) {
	cfg := pds.Config{
		DataDir:       c.String("data"),
		Hostname:      c.String("hostname"),
		HandleDomains: c.StringSlice("handle-domain"),
		MaxBlobSize:   c.Int64("blob-limit"),
	}
	cfg.Crawlers = c.StringSlice("crawler")
	cfg.InviteRequired = c.Bool("invite-required")
	cfg.AppViewURL, cfg.AppViewDID = c.String("appview"), c.String("appview-did")
	cfg.MaxSubscribers = c.Int("max-subscribers")
	if cfg.MaxSubscribers <= 0 {
		return cfg, usageErr("--max-subscribers must be positive, got %d", cfg.MaxSubscribers)
	}
	if c.Bool("no-login-limit") {
		cfg.LoginLimits = &pds.LoginLimits{}
	}
	if p := c.String("plc"); p != "embedded" {
		u, err := url.Parse(p)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfg, usageErr(`--plc: %q is neither "embedded" nor an http(s) URL`, p)
		}
		cfg.PLCURL = p
	}
	return cfg, nil
}

// defaultPublicURL is http://localhost:PORT for a loopback or unspecified
// address (relays such as indigo's refuse a PDS named by an IP address),
// http://ADDR otherwise.
func defaultPublicURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// pdsMailLog sets the server's log on stderr: warnings, and the mail log
// (JSON lines with --json), also appended to the --mail-log file, which the
// caller closes.
func pdsMailLog(c *cli.Context, cfg *pds.Config) (*os.File, error) {
	// The server's log lines (mail, warnings) come from many goroutines.
	errw := &lockedWriter{w: c.App.ErrWriter}
	cfg.Warn = func(err error) { fmt.Fprintf(errw, "arbor pds: warning: %v\n", err) }
	out := []io.Writer{errw}
	var f *os.File
	if p := c.String("mail-log"); p != "" {
		var err error
		// Mailed tokens are credentials: only the owner may read them.
		if f, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
			return nil, usageErr("--mail-log: %v", err)
		}
		out = append(out, f)
	}
	cfg.Mail = pds.NewMailLog(c.Bool("json"), out...)
	return f, nil
}

// lockedWriter writes one whole line at a time from any goroutine.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// printServing prints the ready line: with --json one compact line (the
// command keeps running, so it is a line a script can wait for).
func printServing(c *cli.Context, l pds.ServingLine) error {
	if c.Bool("json") {
		return printJSONLine(c.App.Writer, l)
	}
	where := "temporary data (deleted on exit)"
	if l.Data != nil {
		where = "data " + *l.Data
	}
	_, err := fmt.Fprintf(c.App.Writer, "arbor pds: serving %s admin-password %s plc %s %s\n", l.URL, l.AdminPassword, l.PLC, where)
	return err
}

// printJSONLine writes v as one line of compact JSON.
func printJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// defaultPDSURL is where `arbor pds serve` listens by default.
const defaultPDSURL = "http://127.0.0.1:2583"

// pdsAccountCommand is `arbor pds account`: accounts of a running server.
func pdsAccountCommand() *cli.Command {
	return &cli.Command{
		Name:        "account",
		Usage:       "create and list the accounts of a running arbor pds serve",
		Subcommands: []*cli.Command{pdsAccountCreateCommand(), pdsAccountListCommand()},
	}
}

// pdsTargetFlags say which running server to talk to.
func pdsTargetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "url", Usage: "URL of the running server (default " + defaultPDSURL + ", where arbor pds serve listens)"},
		&cli.StringFlag{Name: "data", Usage: "data directory of the running server: its URL and admin password are read from `DIR`/serve.json"},
	}
}

// pdsTarget is a running server: its URL, and its admin password when known.
type pdsTarget struct {
	url, adminPassword string
	from               string // where the URL came from, for errors
	client             *http.Client
}

func newPDSTarget(c *cli.Context) (*pdsTarget, error) {
	u, data := c.String("url"), c.String("data")
	t := &pdsTarget{client: &http.Client{Timeout: 30 * time.Second}}
	switch {
	case u != "" && data != "":
		return nil, usageErr("give --url or --data, not both")
	case data != "":
		info, err := pds.ReadServeInfo(data)
		if err != nil {
			return nil, inputErr(err)
		}
		t.url, t.adminPassword, t.from = info.URL, info.AdminPassword, " (from "+filepath.Join(data, pds.ServeInfoFile)+")"
	default:
		t.url = u
		if t.url == "" {
			t.url = defaultPDSURL
		}
		pu, err := url.Parse(t.url)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, usageErr("--url: %q is not an http(s) URL", t.url)
		}
	}
	t.url = strings.TrimRight(t.url, "/")
	if c.IsSet("admin-password") {
		t.adminPassword = c.String("admin-password")
	}
	return t, nil
}

// call sends one XRPC request (body nil: a query) and decodes the answer
// into out. Every failure is an input error naming the server.
func (t *pdsTarget) call(ctx context.Context, nsid string, params url.Values, body, out any, admin bool) error {
	method, u := http.MethodGet, t.url+"/xrpc/"+nsid
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		method, rd = http.MethodPost, bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return inputErr(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if admin {
		req.SetBasicAuth("admin", t.adminPassword)
	}
	res, err := t.client.Do(req)
	if err != nil {
		return inputErr(fmt.Errorf("no PDS answering at %s%s: is arbor pds serve running? (%v)", t.url, t.from, errors.Unwrap(err)))
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return inputErr(fmt.Errorf("%s: reading the answer to %s: %v", t.url, nsid, err))
	}
	if res.StatusCode != http.StatusOK {
		var xe struct{ Error, Message string }
		if json.Unmarshal(b, &xe) != nil || xe.Error == "" {
			return inputErr(fmt.Errorf("%s: %s answered %s", t.url, nsid, res.Status))
		}
		if admin && res.StatusCode == http.StatusUnauthorized {
			return inputErr(fmt.Errorf("%s refused the admin password%s: %s", t.url, t.from, xe.Message))
		}
		return inputErr(fmt.Errorf("%s: %s: %s", t.url, xe.Error, xe.Message))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return inputErr(fmt.Errorf("%s: the answer to %s is not what it should be: %v", t.url, nsid, err))
		}
	}
	return nil
}

func pdsAccountCreateCommand() *cli.Command {
	return &cli.Command{
		Name:  "create",
		Usage: "create an account on a running arbor pds serve",
		Description: "Creates an account through com.atproto.server.createAccount, with a new did:plc identity in\n" +
			"the server's directory. A handle without a dot gets the server's first handle domain\n" +
			"(alice: alice.test). --password - reads the password from the first line of standard input.",
		ArgsUsage: " ",
		Flags: append([]cli.Flag{
			jsonFlag,
			&cli.StringFlag{Name: "handle", Usage: "the account's handle (e.g. alice.test)"},
			&cli.StringFlag{Name: "password", Usage: "its password (- reads it from standard input)"},
			&cli.StringFlag{Name: "email", Usage: "its email address (optional)"},
		}, pdsTargetFlags()...),
		Action: pdsAccountCreate,
	}
}

func pdsAccountCreate(c *cli.Context) error {
	const usage = "--handle H --password P [--email E] [--url URL | --data DIR] [--json]"
	if err := needArgs(c, 0, 0, usage); err != nil {
		return err
	}
	handle, pw := c.String("handle"), c.String("password")
	if handle == "" || pw == "" {
		return usageErr("usage: %s %s", commandPath(c), usage)
	}
	if pw == "-" {
		line, err := bufio.NewReader(c.App.Reader).ReadString('\n')
		if err != nil && line == "" {
			return usageErr("--password -: no password on standard input")
		}
		if pw = strings.TrimRight(line, "\r\n"); pw == "" {
			return usageErr("--password -: the first line of standard input is empty")
		}
	}
	t, err := newPDSTarget(c)
	if err != nil {
		return err
	}
	res, err := t.createAccount(c.Context, handle, pw, c.String("email"))
	if err != nil {
		return err
	}
	return printResult(c, res, func(w io.Writer, res *pds.CreatedAccount) error {
		_, err := fmt.Fprintf(w, "created %s %s on %s\n", res.Handle, res.DID, res.URL)
		return err
	})
}

// createAccount creates an account on the server; a handle without a dot
// gets the server's first handle domain.
func (t *pdsTarget) createAccount(ctx context.Context, handle, pw, email string) (*pds.CreatedAccount, error) {
	if !strings.Contains(handle, ".") {
		var desc struct {
			Domains []string `json:"availableUserDomains"`
		}
		if err := t.call(ctx, "com.atproto.server.describeServer", nil, nil, &desc, false); err != nil {
			return nil, err
		}
		if len(desc.Domains) == 0 {
			return nil, inputErr(fmt.Errorf("%s names no handle domain; give the whole handle", t.url))
		}
		handle += "." + strings.TrimPrefix(desc.Domains[0], ".")
	}
	in := map[string]string{"handle": handle, "password": pw}
	if email != "" {
		in["email"] = email
	}
	var out struct {
		DID    string `json:"did"`
		Handle string `json:"handle"`
	}
	if err := t.call(ctx, "com.atproto.server.createAccount", nil, in, &out, false); err != nil {
		return nil, err
	}
	return &pds.CreatedAccount{DID: out.DID, Handle: out.Handle, URL: t.url, Email: strings.ToLower(email)}, nil
}

func pdsAccountListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the accounts of a running arbor pds serve",
		Description: "Lists every account (handle, DID, email, creation time) through\n" +
			"com.atproto.admin.searchAccounts, with the admin password: from --data DIR (serve.json),\n" +
			"or --admin-password as arbor pds serve printed it.",
		ArgsUsage: " ",
		Flags: append([]cli.Flag{
			jsonFlag,
			&cli.StringFlag{Name: "admin-password", Usage: "the server's admin password (default: from --data DIR)", EnvVars: []string{"ARBOR_PDS_ADMIN_PASSWORD"}},
		}, pdsTargetFlags()...),
		Action: pdsAccountList,
	}
}

func pdsAccountList(c *cli.Context) error {
	if err := needArgs(c, 0, 0, "[--url URL --admin-password PW | --data DIR] [--json]"); err != nil {
		return err
	}
	t, err := newPDSTarget(c)
	if err != nil {
		return err
	}
	if t.adminPassword == "" {
		return usageErr("--admin-password is needed with --url (arbor pds serve prints it), or give --data DIR")
	}
	all, err := t.listAccounts(c.Context)
	if err != nil {
		return err
	}
	return printResult(c, &pds.AccountList{URL: t.url, Count: len(all), Accounts: all}, printAccounts)
}

// listAccounts pages through com.atproto.admin.searchAccounts.
func (t *pdsTarget) listAccounts(ctx context.Context) ([]pds.AccountSummary, error) {
	all := []pds.AccountSummary{}
	cursor := ""
	for {
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var out struct {
			Cursor   string               `json:"cursor"`
			Accounts []pds.AccountSummary `json:"accounts"`
		}
		if err := t.call(ctx, "com.atproto.admin.searchAccounts", q, nil, &out, true); err != nil {
			return nil, err
		}
		all = append(all, out.Accounts...)
		if out.Cursor == "" || len(out.Accounts) == 0 {
			return all, nil
		}
		if out.Cursor == cursor {
			return nil, inputErr(fmt.Errorf("%s: searchAccounts gave the same cursor %q twice", t.url, cursor))
		}
		cursor = out.Cursor
	}
}

func printAccounts(w io.Writer, l *pds.AccountList) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, a := range l.Accounts {
		email := a.Email
		if email == "" {
			email = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Handle, a.DID, email, a.IndexedAt)
	}
	tw.Flush()
	fmt.Fprintf(w, "%s on %s\n", count(len(l.Accounts), "account"), l.URL)
	return nil
}
