package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/arbor-atproto/arbor/identity"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/firehose"
	"github.com/arbor-atproto/arbor/plc"
)

// firehoseCommand is `arbor firehose URL`: read a subscribeRepos stream,
// print its events, and with --verify check every commit.
func firehoseCommand() *cli.Command {
	return &cli.Command{
		Name:      "firehose",
		Usage:     "read a repository event stream (com.atproto.sync.subscribeRepos) and check its commits",
		ArgsUsage: "URL",
		Description: "URL is a ws:// or wss:// subscribeRepos endpoint, or a PDS or relay as http(s)://host\n" +
			"(then wss://host/xrpc/com.atproto.sync.subscribeRepos). One line per event, or JSON\n" +
			"lines with --json. With --verify every #commit is checked as a sync v1.1 relay does\n" +
			"(signature against the account's DID document, record blocks, inversion of the ops\n" +
			"onto prevData) and the stream's seq/rev/since chain is checked; each failure is\n" +
			"reported on its own line, and the exit code is 1 if any failed. Ctrl-C stops cleanly.",
		Flags: []cli.Flag{
			&cli.Int64Flag{Name: "cursor", Usage: "start after this seq (replay from the server's window)"},
			&cli.BoolFlag{Name: "verify", Usage: "check every commit and the stream's ordering"},
			jsonFlag,
			&cli.StringFlag{Name: "plc-host", Usage: "did:plc directory for --verify", EnvVars: []string{"ARBOR_PLC_HOST"}, Value: plc.DefaultHost},
			&cli.IntFlag{Name: "limit", Usage: "stop after this many events (0: no limit)"},
		},
		Action: runFirehose,
	}
}

// firehoseRun is the state of one `arbor firehose`.
type firehoseRun struct {
	out     io.Writer
	json    bool
	verify  bool
	paint   painter
	keys    *keyResolver
	chain   *firehose.Chain
	events  int
	commits int
	failed  int // events with at least one failure
}

func runFirehose(c *cli.Context) error {
	if err := needArgs(c, 1, 1, "URL [--cursor N] [--verify] [--json] [--plc-host URL] [--limit N]"); err != nil {
		return err
	}
	u, limit, err := firehoseArgs(c)
	if err != nil {
		return err
	}
	r, err := newFirehoseRun(c)
	if err != nil {
		return err
	}
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	err = firehose.Subscribe(ctx, u, nil, func(ev firehose.Event) error {
		r.events++
		if err := r.event(ctx, ev); err != nil {
			return err
		}
		if limit > 0 && r.events >= limit {
			return firehose.ErrStop
		}
		return nil
	})
	if errors.Is(err, context.Canceled) {
		err = nil // Ctrl-C: a clean stop
	}
	if r.verify && !r.json {
		summary := fmt.Sprintf("%s, %s checked, %s failed", count(r.events, "event"), count(r.commits, "commit"), num(r.failed))
		if r.failed > 0 {
			summary = r.paint.red(summary)
		} else {
			summary = r.paint.green(summary)
		}
		fmt.Fprintln(r.out, summary)
	}
	if err != nil {
		if errors.Is(err, firehose.ErrFutureCursor) {
			return usageErr("%v", err)
		}
		return inputErr(err)
	}
	if r.failed > 0 {
		return silentExit(ExitFail)
	}
	return nil
}

// firehoseArgs reads the stream's URL (with --cursor) and --limit.
func firehoseArgs(c *cli.Context) (string, int, error) {
	var cursor *int64
	if c.IsSet("cursor") {
		n := c.Int64("cursor")
		if n < 0 {
			return "", 0, usageErr("--cursor must not be negative")
		}
		cursor = &n
	}
	limit := c.Int("limit")
	if limit < 0 {
		return "", 0, usageErr("--limit must not be negative")
	}
	u, err := firehose.SubscribeURL(c.Args().First(), cursor)
	if err != nil {
		return "", 0, usageErr("%v", err)
	}
	return u, limit, nil
}

func newFirehoseRun(c *cli.Context) (*firehoseRun, error) {
	r := &firehoseRun{
		out:    c.App.Writer,
		json:   c.Bool("json"),
		verify: c.Bool("verify"),
		paint:  newPainter(c.App.Writer),
	}
	if r.verify {
		host := c.String("plc-host")
		if p, err := url.Parse(host); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, usageErr("--plc-host %q is not an http(s) URL", host)
		}
		r.keys = &keyResolver{plcHost: host, cache: map[string]keyResult{}}
		r.chain = firehose.NewChain()
	}
	return r, nil
}

// event prints one event and, with --verify, checks it.
func (r *firehoseRun) event(ctx context.Context, ev firehose.Event) error {
	var problems []string
	var skipped []firehose.Skipped
	if r.verify {
		problems, skipped = r.check(ctx, ev)
		if len(problems) > 0 {
			r.failed++
		}
	}
	if r.json {
		return r.printJSONLine(ev, problems, skipped)
	}
	fmt.Fprintln(r.out, r.line(ev))
	for _, p := range problems {
		fmt.Fprintf(r.out, "  %s %s\n", r.paint.red("FAIL"), p)
	}
	return nil
}

// check verifies one event; it returns the failures, one line each.
func (r *firehoseRun) check(ctx context.Context, ev firehose.Event) (problems []string, skipped []firehose.Skipped) {
	if m, ok := ev.(*firehose.Malformed); ok {
		return []string{m.Err.Error()}, nil
	}
	if _, err := r.chain.Check(ev); err != nil {
		problems = append(problems, err.Error())
	}
	var v *firehose.Verification
	switch e := ev.(type) {
	case *firehose.Identity:
		r.keys.forget(e.DID.String()) // the key may have changed
	case *firehose.Commit:
		r.commits++
		key, kerr := r.keys.key(ctx, e.Repo.String())
		if kerr != nil {
			problems = append(problems, fmt.Sprintf("signing key of %s: %v", e.Repo, kerr))
		}
		v, _ = firehose.VerifyCommit(e, key)
	case *firehose.Sync:
		key, kerr := r.keys.key(ctx, e.DID.String())
		if kerr != nil {
			problems = append(problems, fmt.Sprintf("signing key of %s: %v", e.DID, kerr))
		}
		v, _ = firehose.VerifySync(e, key)
	}
	if v != nil {
		for _, p := range v.Problems {
			problems = append(problems, p.Error())
		}
		skipped = v.Skipped
	}
	return problems, skipped
}

func (r *firehoseRun) line(ev firehose.Event) string {
	seq := func(n int64) string { return r.paint.bold(fmt.Sprint(n)) }
	switch e := ev.(type) {
	case *firehose.Commit:
		return fmt.Sprintf("%s #commit %s rev %s %s", seq(e.Seq), e.Repo, e.Rev, opsSummary(e.Ops))
	case *firehose.Identity:
		s := fmt.Sprintf("%s #identity %s", seq(e.Seq), e.DID)
		if e.Handle != "" {
			s += " handle " + e.Handle
		}
		return s
	case *firehose.Account:
		s := fmt.Sprintf("%s #account %s active %v", seq(e.Seq), e.DID, e.Active)
		if e.Status != "" {
			s += " status " + e.Status
		}
		return s
	case *firehose.Sync:
		return fmt.Sprintf("%s #sync %s rev %s", seq(e.Seq), e.DID, e.Rev)
	case *firehose.Info:
		s := "#info " + e.Name
		if e.Message != nil && *e.Message != "" {
			s += ": " + *e.Message
		}
		return r.paint.yellow(s)
	case *firehose.Unknown:
		return r.paint.yellow(e.T + " (unknown message type)")
	case *firehose.Malformed:
		return r.paint.red("malformed frame: " + oneLine(e.Err.Error()))
	}
	return fmt.Sprintf("%T", ev)
}

// opsSummary lists up to three ops and counts the rest.
func opsSummary(ops []firehose.RepoOp) string {
	if len(ops) == 0 {
		return "(no ops)"
	}
	var parts []string
	for i, o := range ops {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(ops)-3))
			break
		}
		parts = append(parts, string(o.Action)+" "+o.Path)
	}
	return strings.Join(parts, ", ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// printJSONLine writes the event as one line of JSON (a
// firehose.EventLine): the frame's atproto JSON form ({header, body}), and
// with --verify a "verify" member.
func (r *firehoseRun) printJSONLine(ev firehose.Event, problems []string, skipped []firehose.Skipped) error {
	l, err := firehose.NewEventLine(ev, r.verify, problems, skipped)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(r.out)
	enc.SetEscapeHTML(false)
	return enc.Encode(l)
}

// keyResolver finds an account's repository signing key in its DID
// document, once per DID.
type keyResolver struct {
	plcHost string
	http    http.Client
	cache   map[string]keyResult
}

type keyResult struct {
	key atcrypto.PublicKey
	err error
}

func (k *keyResolver) forget(did string) { delete(k.cache, did) }

func (k *keyResolver) key(ctx context.Context, did string) (atcrypto.PublicKey, error) {
	if r, ok := k.cache[did]; ok {
		return r.key, r.err
	}
	key, err := k.resolve(ctx, did)
	k.cache[did] = keyResult{key, err}
	return key, err
}

const maxDIDDocument = 1 << 20

func (k *keyResolver) resolve(ctx context.Context, did string) (atcrypto.PublicKey, error) {
	var u string
	switch {
	case strings.HasPrefix(did, "did:plc:"):
		if !plc.ValidDID(did) {
			return nil, fmt.Errorf("%q is not a valid did:plc", did)
		}
		u = strings.TrimRight(k.plcHost, "/") + "/" + did
	case strings.HasPrefix(did, "did:web:"):
		segs := strings.Split(strings.TrimPrefix(did, "did:web:"), ":")
		host, err := url.PathUnescape(segs[0])
		if err != nil || host == "" || strings.ContainsAny(host, "/?#@") {
			return nil, fmt.Errorf("%q is not a valid did:web", did)
		}
		if len(segs) == 1 {
			u = "https://" + host + "/.well-known/did.json"
		} else {
			u = "https://" + host + "/" + strings.Join(segs[1:], "/") + "/did.json"
		}
	default:
		return nil, fmt.Errorf("unsupported DID method")
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/did+ld+json, application/json")
	resp, err := k.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDIDDocument+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if len(body) > maxDIDDocument {
		return nil, fmt.Errorf("GET %s: DID document larger than %d bytes", u, maxDIDDocument)
	}
	docDID, key, err := identity.SigningKeyFromDIDDocument(body)
	if err != nil {
		return nil, fmt.Errorf("DID document from %s: %w", u, err)
	}
	if docDID.String() != did {
		return nil, fmt.Errorf("DID document from %s is for %s", u, docDID)
	}
	return key, nil
}
