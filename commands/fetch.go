package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/arbor-atproto/arbor/internal/atomicfile"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/arbor-atproto/arbor/fetch"
	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/repo"
	"github.com/ipfs/go-cid"
	"github.com/urfave/cli/v2"
)

func fetchCommand() *cli.Command {
	return &cli.Command{
		Name:  "fetch",
		Usage: "download an account's repository from its PDS, verified against its DID document",
		Description: "Resolves HANDLE|DID (see arbor resolve), downloads com.atproto.sync.getRepo into a\n" +
			"temporary file next to OUT, and keeps it only when it verifies: every block hash, the\n" +
			"commit's DID and its signature against the document's key, and for a whole repository\n" +
			"the MST and every record. With --since the PDS sends a slice (the blocks added after\n" +
			"REV), which is not a whole tree: only block hashes, the commit's DID and its signature\n" +
			"are checked. --blobs DIR also downloads every blob (sync.listBlobs, sync.getBlob) as\n" +
			"DIR/CID, checking each against its CID; failures are reported and skipped.\n" +
			"A download stops, and its partial file is removed, when it passes --max-size (each blob\n" +
			"--max-blob-size), sends nothing for --timeout, brings less than --min-rate over a\n" +
			"--timeout window, outlasts --max-time, or on SIGINT or SIGTERM. An existing OUT is\n" +
			"kept unless --force. Sizes are bytes or take a unit: KB, MB, GB (powers of 1000) or\n" +
			"KiB, MiB, GiB (powers of 1024).\n" +
			"Exit 1 when verification fails (no file is left) or a blob failed; 2 for bad input\n" +
			"or when resolution or the download fails or is interrupted.",
		ArgsUsage: "HANDLE|DID -o OUT.car",
		Flags: append([]cli.Flag{
			jsonFlag,
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the repository to this CAR file"},
			&cli.StringFlag{Name: "since", Usage: "only the blocks added after this revision (a TID)"},
			&cli.StringFlag{Name: "blobs", Usage: "also download every blob into this directory"},
			forceFlag,
			&cli.DurationFlag{Name: "max-time", Usage: "limit on the whole fetch, downloads and verification (0: none)"},
		}, downloadFlags()...),
		Action: runFetch,
	}
}

// downloadFlags are the network flags and download limits of the commands
// that download from a PDS (fetch, backup), read by fetchResolver.
func downloadFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "max-size", Usage: "largest repository accepted (big real ones are a few hundred MB)", Value: "4GiB"},
		&cli.StringFlag{Name: "max-blob-size", Usage: "largest blob accepted (app videos are at most 100 MB)", Value: "100MiB"},
		&cli.StringFlag{Name: "min-rate", Usage: "slowest download accepted, in bytes a second over each --timeout window (0: no minimum)", Value: "1KiB"},
	}, append(netFlags(), handleResolverFlag)...)
}

// fetchResolver is the resolver with fetch's download limits.
func fetchResolver(c *cli.Context) (*identity.Resolver, error) {
	res, err := newResolver(c)
	if err != nil {
		return nil, err
	}
	if res.MaxRepoSize, err = sizeFlag(c, "max-size", false); err != nil {
		return nil, err
	}
	if res.MaxBlobSize, err = sizeFlag(c, "max-blob-size", false); err != nil {
		return nil, err
	}
	if res.MinRate, err = sizeFlag(c, "min-rate", true); err != nil {
		return nil, err
	}
	if res.MinRate == 0 {
		res.MinRate = -1 // no minimum
	}
	return res, nil
}

func runFetch(c *cli.Context) error {
	if err := needArgs(c, 1, 1, "HANDLE|DID -o OUT.car [--since REV] [--blobs DIR]"); err != nil {
		return err
	}
	out := c.String("output")
	if out == "" {
		return usageErr("usage: arbor fetch HANDLE|DID -o OUT.car [--since REV] [--blobs DIR]: -o is required")
	}
	var since syntax.TID
	if s := c.String("since"); s != "" {
		t, err := repo.ParseTID(s)
		if err != nil {
			return usageErr("--since: %v", err)
		}
		since = t
	}
	if err := checkOverwrite(out, c.Bool("force")); err != nil {
		return err
	}
	res, err := fetchResolver(c)
	if err != nil {
		return err
	}
	if c.Duration("max-time") < 0 {
		return usageErr("--max-time must not be negative")
	}

	// SIGINT and SIGTERM cancel the fetch: the download stops, its
	// partial file is removed, and the command ends with an error. The
	// signal is handled here, in the command layer: the packages below
	// only see a cancelled context.
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx := sigCtx
	if d := c.Duration("max-time"); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	placed := false
	err = runFetchCtx(ctx, c, res, out, since, &placed)
	if err == nil {
		return nil // done before any signal or deadline could stop it
	}
	what := out + " not written"
	if placed {
		what = out + " was verified and kept; blobs incomplete"
	}
	if sigCtx.Err() != nil {
		// The cause names the signal: "terminated signal received".
		return inputErr(fmt.Errorf("interrupted (%v): %s, partial downloads removed", context.Cause(sigCtx), what))
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return inputErr(fmt.Errorf("fetch took longer than --max-time %s: %s, partial downloads removed", c.Duration("max-time"), what))
	}
	return err
}

func runFetchCtx(ctx context.Context, c *cli.Context, res *identity.Resolver, out string, since syntax.TID, placed *bool) error {
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout(res))
	id, err := res.Lookup(lctx, c.Args().First())
	cancel()
	if err != nil {
		return lookupErr(err)
	}
	// The handle must check out only when the account was named by it.
	if !strings.HasPrefix(id.Input, "did:") && id.HandleErr != nil {
		return failErr("%v", id.HandleErr)
	}
	if id.Doc.KeyErr != nil {
		return failErr("%v", id.Doc.KeyErr)
	}
	if id.Doc.PDSErr != nil {
		return failErr("%v", id.Doc.PDSErr)
	}

	report := fetch.Report{Resolution: identity.NewResolution(id), File: out, Since: since, Slice: since != ""}
	report.Document = nil
	if err := fetchRepo(ctx, c, res, id, out, &report); err != nil {
		return err
	}
	*placed = true
	if dir := c.String("blobs"); dir != "" {
		report.BlobDir = dir
		if err := fetchBlobs(ctx, c, res, id, dir, &report); err != nil {
			return err
		}
	}

	if err := printResult(c, &report, func(w io.Writer, r *fetch.Report) error {
		printFetch(w, r, id, since)
		return nil
	}); err != nil {
		return err
	}
	if len(report.BlobsFail) > 0 {
		return failErr("%d of %d blobs failed (first: %s: %s)", len(report.BlobsFail), report.Blobs, report.BlobsFail[0].CID, report.BlobsFail[0].Error)
	}
	return nil
}

func printFetch(w io.Writer, report *fetch.Report, id *identity.Identity, since syntax.TID) {
	p := newPainter(w)
	who := id.DID.String()
	if id.HandleVerified {
		who += " (" + id.Handle.String() + ")"
	}
	what := "repository"
	if report.Slice {
		what = "slice since " + since.String()
	}
	fmt.Fprintf(w, "%s %s: %s of %s from %s, %s, rev %s\n", p.green("✓"), report.File, what, who, id.Doc.PDS, humanBytes(report.Bytes), report.Commit.Rev)
	fmt.Fprintf(w, "  checked: %s\n", joinComma(report.Checked))
	if len(report.NotChecked) > 0 {
		fmt.Fprintf(w, "  not checked: %s\n", joinComma(report.NotChecked))
	}
	if report.BlobDir != "" {
		for _, f := range report.BlobsFail {
			fmt.Fprintf(w, "%s blob %s: %s\n", p.red("✗"), f.CID, f.Error)
		}
		fmt.Fprintf(w, "  blobs: %s of %s saved in %s\n", num(report.Blobs-len(report.BlobsFail)), num(report.Blobs), report.BlobDir)
	}
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// fetchRepo downloads the repository to a temporary file next to out,
// verifies it and renames it into place. On any failure no file is left.
func fetchRepo(ctx context.Context, c *cli.Context, res *identity.Resolver, id *identity.Identity, out string, report *fetch.Report) (err error) {
	part, err := atomicfile.Create(filepath.Dir(out), "."+filepath.Base(out)+".*.part")
	if err != nil {
		return inputErr(err)
	}
	defer part.Discard()
	tmp := part.File()

	n, err := download(ctx, c, res, id, report.Since, tmp)
	if err != nil {
		return err
	}
	report.Bytes = n
	if _, err := tmp.Seek(0, 0); err != nil {
		return inputErr(err)
	}

	slice := report.Since != ""
	var read atomic.Int64
	prog := startProgress(c.App.ErrWriter, "verifying", n, read.Load)
	a, err := archive.Read(ctxReader{ctx, tmp}, archive.Options{CollectBadBlocks: !slice, Progress: func(x int64) { read.Store(x) }})
	prog.Stop()
	if err != nil {
		return failErr("fetched repository from %s: %v", id.Doc.PDS, err)
	}
	if err := fetch.Verify(a, id.DID, id.Doc.SigningKey, id.Doc.PDS, slice, report); err != nil {
		return failErr("%v", err)
	}
	if err := ctx.Err(); err != nil {
		return inputErr(err)
	}
	if err := part.Commit(out, 0o600); err != nil {
		return inputErr(err)
	}
	return nil
}

// download fetches the repository (getRepo, since rev when set) into tmp,
// with a progress line on a terminal.
func download(ctx context.Context, c *cli.Context, res *identity.Resolver, id *identity.Identity, since syntax.TID, tmp *os.File) (int64, error) {
	var done atomic.Int64
	var prog *progress
	n, err := res.GetRepo(ctx, id.Doc.PDS, id.DID, since, tmp, func(d, total int64) {
		done.Store(d)
		if prog == nil {
			if total < 0 {
				total = 0
			}
			prog = startProgress(c.App.ErrWriter, "fetching "+id.DID.String(), total, done.Load)
		}
	})
	if prog != nil {
		prog.Stop()
	}
	if err != nil {
		return 0, inputErr(downloadHint(err, "--max-size"))
	}
	return n, nil
}

// ctxReader fails its reads once ctx is done, so that a signal stops the
// verification of a download too.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// downloadHint names the flag that sets the limit a download broke.
func downloadHint(err error, sizeFlag string) error {
	switch {
	case errors.Is(err, identity.ErrTooLarge):
		return fmt.Errorf("%w (see %s)", err, sizeFlag)
	case errors.Is(err, identity.ErrTooSlow):
		return fmt.Errorf("%w (see --timeout and --min-rate)", err)
	}
	return err
}

// sizeFlag reads a size flag: bytes, or a number with a unit (KB, MB,
// GB, TB in powers of 1000; KiB, MiB, GiB, TiB in powers of 1024). Zero
// is allowed only when zeroOK.
func sizeFlag(c *cli.Context, name string, zeroOK bool) (int64, error) {
	n, err := parseSize(c.String(name))
	if err != nil {
		return 0, usageErr("--%s: %v", name, err)
	}
	if n == 0 && !zeroOK {
		return 0, usageErr("--%s must be positive", name)
	}
	return n, nil
}

func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]float64{"": 1, "b": 1,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}[unit]
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 || v < 0 {
		return 0, fmt.Errorf("%q is not a size (bytes, or a number with KB, MB, GB, KiB, MiB, GiB)", s)
	}
	if v*mult >= 1<<62 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(v * mult), nil
}

// fetchBlobs lists and downloads every blob into dir, each through a
// temporary file renamed to DIR/CID once its bytes match the CID.
// Failures of single blobs are recorded in report; only a failure to list
// (or to create dir) ends the command.
func fetchBlobs(ctx context.Context, c *cli.Context, res *identity.Resolver, id *identity.Identity, dir string, report *fetch.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return inputErr(err)
	}
	cids, err := res.ListBlobs(ctx, id.Doc.PDS, id.DID)
	if err != nil {
		return inputErr(fmt.Errorf("listing blobs: %w", err))
	}
	report.Blobs = len(cids)
	var done atomic.Int64
	prog := startProgress(c.App.ErrWriter, fmt.Sprintf("blobs (%d)", len(cids)), 0, done.Load)
	defer prog.Stop()
	for _, bc := range cids {
		if err := ctx.Err(); err != nil {
			return inputErr(err)
		}
		if err := fetchBlob(ctx, res, id, dir, bc, &done); err != nil {
			if ctx.Err() != nil {
				return inputErr(err)
			}
			err = downloadHint(err, "--max-blob-size")
			report.BlobsFail = append(report.BlobsFail, fetch.BlobFailure{CID: bc.String(), Error: err.Error()})
		}
	}
	return nil
}

func fetchBlob(ctx context.Context, res *identity.Resolver, id *identity.Identity, dir string, bc cid.Cid, done *atomic.Int64) error {
	// The file name is the CID as arbor prints it, never a server's string.
	name := filepath.Join(dir, bc.String())
	part, err := atomicfile.Create(dir, "."+bc.String()+".*.part")
	if err != nil {
		return err
	}
	defer part.Discard()
	n, err := res.GetBlob(ctx, id.Doc.PDS, id.DID, bc, part.File())
	done.Add(n)
	if err != nil {
		return err
	}
	return part.Commit(name, 0o600)
}
