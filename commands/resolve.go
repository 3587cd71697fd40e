package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/plc"
	"github.com/urfave/cli/v2"
)

// netFlags are the network settings shared by resolve, fetch and
// verify --resolve.
func netFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "plc-host", Usage: "did:plc directory URL", EnvVars: []string{"ARBOR_PLC_HOST"}, Value: plc.DefaultHost},
		&cli.DurationFlag{Name: "timeout", Usage: "limit on each lookup, and on silence during a download", EnvVars: []string{"ARBOR_TIMEOUT"}, Value: identity.DefaultTimeout},
		&cli.Int64Flag{Name: "max-doc-size", Usage: "largest DID document (and other small answer) accepted, in bytes", Value: identity.DefaultMaxDocSize},
		&cli.StringFlag{Name: "dns", Usage: "DNS server HOST:PORT for handle TXT records and host names (default: the system resolver)", EnvVars: []string{"ARBOR_DNS"}},
	}
}

// newResolver builds the resolver the network flags describe.
func newResolver(c *cli.Context) (*identity.Resolver, error) {
	if c.Duration("timeout") <= 0 {
		return nil, usageErr("--timeout must be positive")
	}
	if c.Int64("max-doc-size") <= 0 {
		return nil, usageErr("--max-doc-size must be positive")
	}
	host := c.String("plc-host")
	if !strings.HasPrefix(host, "http://") && !strings.HasPrefix(host, "https://") {
		return nil, usageErr("--plc-host %q is not an http(s) URL", host)
	}
	res := &identity.Resolver{
		PLCHost:    host,
		HTTPClient: identity.NewHTTPClient(c.String("dns"), c.Duration("timeout")),
		DNSAddr:    c.String("dns"),
		Timeout:    c.Duration("timeout"),
		MaxDocSize: c.Int64("max-doc-size"),
	}
	// Handles: --handle-resolver alone when given; else a --plc-host other
	// than the public directory (a local arbor pds embeds one, and answers
	// resolveHandle for its accounts) is asked first, then DNS and HTTPS.
	if hr := c.String("handle-resolver"); hr != "" {
		if !strings.HasPrefix(hr, "http://") && !strings.HasPrefix(hr, "https://") {
			return nil, usageErr("--handle-resolver %q is not an http(s) URL", hr)
		}
		res.HandleResolver, res.HandleResolverOnly = hr, true
	} else if strings.TrimRight(host, "/") != plc.DefaultHost {
		res.HandleResolver = host
	}
	return res, nil
}

// lookupErr maps a resolution error to an exit code: input that is not a
// handle or DID is bad usage (2), as is anything that stops the lookup (the
// input could not be read); verification failures are reported by callers
// with ExitFail.
func lookupErr(err error) error {
	if errors.Is(err, identity.ErrInvalidHandle) || errors.Is(err, identity.ErrInvalidDID) || errors.Is(err, identity.ErrUnsupportedDID) {
		return usageErr("%v", err)
	}
	return inputErr(err)
}

func resolveCommand() *cli.Command {
	return &cli.Command{
		Name:  "resolve",
		Usage: "resolve a handle or DID: DID, handle (checked both ways), PDS, signing key, rotation keys",
		Description: "A handle is resolved through DNS (TXT _atproto.HANDLE) and HTTPS (/.well-known/atproto-did),\n" +
			"and the DID document must claim it; a DID's document (did:plc from --plc-host, did:web\n" +
			"from its host) names a handle, which must resolve back to the DID.\n" +
			"--handle-resolver URL resolves handles with URL's com.atproto.identity.resolveHandle\n" +
			"instead (a PDS answers it for its accounts). Without it, a --plc-host other than\n" +
			plc.DefaultHost + " (such as a local arbor pds serve) is asked that way first,\n" +
			"then DNS and HTTPS: `arbor resolve alice.test --plc-host http://127.0.0.1:2583` works.\n" +
			"Exit 1 when the handle does not check out both ways or the document has no signing key\n" +
			"or PDS; exit 2 for malformed input or when resolution fails.",
		ArgsUsage: "HANDLE|DID",
		Flags:     append([]cli.Flag{jsonFlag}, append(netFlags(), handleResolverFlag)...),
		Action:    resolve,
	}
}

func resolve(c *cli.Context) error {
	if err := needArgs(c, 1, 1, "HANDLE|DID [--json] [--plc-host URL] [--handle-resolver URL] [--dns HOST:PORT]"); err != nil {
		return err
	}
	res, err := newResolver(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout(res))
	defer cancel()
	id, err := res.Lookup(ctx, c.Args().First())
	if err != nil {
		return lookupErr(err)
	}
	if err := printResult(c, identity.NewResolution(id), printIdentity); err != nil {
		return err
	}
	if err := id.Problem(); err != nil {
		return failErr("%v", err)
	}
	return nil
}

// printIdentity is arbor resolve's text: the Resolution --json prints,
// one row a field.
func printIdentity(w io.Writer, r identity.Resolution) error {
	p := newPainter(w)
	row := func(k, v string) { fmt.Fprintf(w, "%-13s %s\n", k, v) }
	row("did", p.bold(r.DID.String()))
	switch {
	case r.Handle == "":
		row("handle", "none claimed")
	case r.HandleVerified:
		row("handle", fmt.Sprintf("%s %s", r.Handle, p.green("✓ verified both ways (via "+r.HandleMethod+")")))
	default:
		row("handle", fmt.Sprintf("%s %s", r.Handle, p.red("✗ not verified: "+r.HandleError)))
	}
	if r.PDS != "" {
		row("pds", r.PDS)
	} else {
		row("pds", p.red("✗ "+r.PDSError))
	}
	if r.SigningKey != "" {
		row("signing key", r.SigningKey)
	} else {
		row("signing key", p.red("✗ "+r.SigningKeyErr))
	}
	for i, k := range r.RotationKeys {
		label := ""
		if i == 0 {
			label = "rotation keys"
		}
		row(label, k)
	}
	return nil
}

// resolveVerifyOptions is verify --resolve: the signing key comes from the
// DID document of the commit's DID, and the commit's DID must be the
// document's.
func resolveVerifyOptions(c *cli.Context, a *archive.Archive) (archive.VerifyOptions, error) {
	var opts archive.VerifyOptions
	if a.Commit == nil {
		if a.CommitErr != nil {
			return opts, inputErr(fmt.Errorf("--resolve: %w", a.CommitErr))
		}
		return opts, usageErr("--resolve: %s is a bare MST with no commit, so no DID to resolve", displayName(c.Args().First()))
	}
	res, err := newResolver(c)
	if err != nil {
		return opts, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*res.Timeout)
	defer cancel()
	doc, err := res.ResolveDID(ctx, a.Commit.DID)
	if err != nil {
		return opts, inputErr(fmt.Errorf("--resolve: commit DID: %w", err))
	}
	if doc.SigningKey == nil {
		return opts, failErr("--resolve: %v", doc.KeyErr)
	}
	opts.Key, opts.DID = doc.SigningKey, doc.DID
	return opts, nil
}

// lookupTimeout bounds a whole Lookup: a handle, a document, rotation
// keys, the handle back.
func lookupTimeout(res *identity.Resolver) time.Duration { return 6 * res.Timeout }

// handleResolverFlag names a server asked for handles instead of DNS and
// HTTPS (resolve, fetch).
var handleResolverFlag = &cli.StringFlag{Name: "handle-resolver", Usage: "resolve handles with com.atproto.identity.resolveHandle at this URL (a PDS) instead of DNS and HTTPS", EnvVars: []string{"ARBOR_HANDLE_RESOLVER"}}

// readDIDDocArg reads verify's --did-doc: a JSON file, or standard input
// for "-" (arbor plc verify LOG | arbor verify REPO.car --did-doc -).
func readDIDDocArg(c *cli.Context, name string) ([]byte, error) {
	if name == stdinName && c.Args().First() == stdinName {
		return nil, usageErr("--did-doc - and the repository - cannot both be standard input")
	}
	f, err := openInput(c, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	max := c.Int64("max-doc-size")
	if max <= 0 {
		max = identity.DefaultMaxDocSize
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, inputErr(fmt.Errorf("--did-doc %s: %w", displayName(name), err))
	}
	if int64(len(b)) > max {
		return nil, usageErr("--did-doc %s: larger than %d bytes (see --max-doc-size)", displayName(name), max)
	}
	return b, nil
}
