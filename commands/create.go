package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync/atomic"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/internal/atomicfile"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/build"
	"github.com/arbor-atproto/arbor/repo"
)

func createCommand() *cli.Command {
	return &cli.Command{
		Name:  "create",
		Usage: "build a signed repository CAR from records (a directory tree or JSON lines)",
		Description: "Records come as a directory DIR/COLLECTION/RKEY.json (what arbor export writes; DIR/_commit.json\n" +
			"is ignored) or as JSON lines {\"collection\": NSID, \"rkey\": RKEY, \"record\": {...}} from a file or - (stdin);\n" +
			"a line without rkey gets a TID derived from the rev. Records are in the atproto JSON form and must be\n" +
			"valid atproto data ($type, no floats, well-formed $link/$bytes/blobs), at most 1 MiB each.\n" +
			"The CAR holds the commit, then the MST nodes, then the records, in a fixed order: the same records, DID,\n" +
			"key and --rev give the same bytes. It is verified before it is renamed to OUT.car; an existing OUT.car is\n" +
			"refused unless --force. In DIR, symbolic links are never followed: a link anywhere in DIR is an error.",
		ArgsUsage: "OUT.car DIR|RECORDS.jsonl|-",
		Flags: []cli.Flag{
			jsonFlag,
			&cli.StringFlag{Name: "did", Usage: "the repository's `DID`", Required: false},
			&cli.StringFlag{Name: "key", Usage: "signing key: a `KEYFILE` or a private multibase key (arbor key generate)"},
			&cli.StringFlag{Name: "rev", Usage: "the commit's rev, a `TID` (default: now)"},
			forceFlag,
		},
		Action: create,
	}
}

const createUsage = "--did DID --key KEYFILE [--rev TID] [--force] OUT.car DIR|RECORDS.jsonl|-"

func create(c *cli.Context) error {
	if err := needArgs(c, 2, 2, createUsage); err != nil {
		return err
	}
	opts, err := createOptions(c)
	if err != nil {
		return err
	}
	out, in := c.Args().Get(0), c.Args().Get(1)
	if err := distinctOutput(in, out); err != nil {
		return err
	}
	if err := checkOverwrite(out, c.Bool("force")); err != nil {
		return err
	}
	recs, err := loadRecords(c, in)
	if err != nil {
		return inputErr(err)
	}
	capBuildHeap()
	pub, err := opts.Key.PublicKey()
	if err != nil {
		return usageErr("--key: %v", err)
	}
	var res *build.CreateResult
	prog := startStatus(c.App.ErrWriter, "building "+out)
	opts.Progress = prog.buildPhases(func(phase string) string { return out + ": " + phase })
	err = atomicfile.WriteFile(out, 0o644, func(w io.Writer) error {
		var err error
		res, err = build.CreateFromSet(w, recs, opts)
		return err
	}, func(tmp string) error {
		// The records are written: let their memory serve the check.
		recs = nil
		runtime.GC()
		return archive.CheckWritten(tmp, archive.Expect{Key: pub, Commit: res.Commit, Records: res.Records}, opts.Progress)
	})
	prog.Stop()
	if err != nil {
		return buildErr(err)
	}
	return printResult(c, build.NewCreateReport(out, res), printCreate)
}

// createOptions reads create's --did, --rev and --key.
func createOptions(c *cli.Context) (build.CreateOptions, error) {
	if !c.IsSet("did") || !c.IsSet("key") {
		return build.CreateOptions{}, usageErr("usage: arbor create %s (--did and --key are required)", createUsage)
	}
	var opts build.CreateOptions
	var err error
	if opts.DID, err = parseDIDFlag(c.String("did")); err != nil {
		return opts, err
	}
	if opts.Rev, err = parseRevFlag(c.String("rev")); err != nil {
		return opts, err
	}
	key, err := repo.LoadPrivateKey(c.String("key"))
	if err != nil {
		return opts, usageErr("--key: %v", err)
	}
	opts.Key = key
	return opts, nil
}

func printCreate(w io.Writer, res *build.CreateReport) error {
	p := newPainter(w)
	fmt.Fprintf(w, "%s created %s: %s, %s, %s, %s\n", p.green("✓"), res.File, count(res.Records, "record"), count(res.MSTNodes, "MST node"), count(res.Blocks, "block"), humanBytes(res.Bytes))
	fmt.Fprintf(w, "  did     %s\n  rev     %s\n  commit  %s\n  data    %s\n  signed  %s\n", res.DID, res.Rev, res.Commit, res.Data, res.SigningKey)
	if res.RKeysAssigned > 0 {
		fmt.Fprintf(w, "  %s got a TID as rkey\n", count(res.RKeysAssigned, "record"))
	}
	return nil
}

// capBuildHeap bounds the heap once the records are in memory. They are
// held in pointer-free slabs, so a collection costs little, while the
// default policy (let the heap double before collecting) would let the
// garbage of building the tree (CIDs, node copies) grow as large as the
// records themselves. Building adds a third or so to the live heap (the
// tree's nodes); the limit leaves room for that and some garbage.
func capBuildHeap() {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	debug.SetMemoryLimit(int64(m.HeapAlloc)*3/2 + 64<<20)
}

// parseNSIDFlags parses a repeated NSID flag; a malformed one is bad usage.
func parseNSIDFlags(c *cli.Context, flag string) ([]syntax.NSID, error) {
	var out []syntax.NSID
	for _, s := range c.StringSlice(flag) {
		n, err := repo.ParseNSID(s)
		if err != nil {
			return nil, usageErr("--%s: %v", flag, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseDIDFlag parses a --did value (exit 2 when it is not a DID).
func parseDIDFlag(s string) (syntax.DID, error) {
	if err := build.CheckDID(s); err != nil {
		return "", usageErr("--did: %v", err)
	}
	did, err := syntax.ParseDID(s)
	if err != nil {
		return "", usageErr("--did: %v", err)
	}
	return did, nil
}

// parseRevFlag parses --rev as a TID; "" (the flag not given) stays "".
func parseRevFlag(s string) (syntax.TID, error) {
	if s == "" {
		return "", nil
	}
	rev, err := repo.ParseTID(s)
	if err != nil {
		return "", usageErr("--rev: %v", err)
	}
	return rev, nil
}

// loadRecords reads records from a directory, a JSON-lines file, or stdin.
func loadRecords(c *cli.Context, in string) (*build.RecordSet, error) {
	if in == stdinName {
		var read atomic.Int64
		p := startProgress(c.App.ErrWriter, "reading standard input", 0, read.Load)
		defer p.Stop()
		return build.ReadJSONLines(&countReader{r: c.App.Reader, n: &read}, "standard input")
	}
	st, err := os.Stat(in)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		p := startStatus(c.App.ErrWriter, "reading "+in)
		defer p.Stop()
		return build.ReadDir(in)
	}
	f, err := os.Open(in)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var read atomic.Int64
	p := startProgress(c.App.ErrWriter, "reading "+in, st.Size(), read.Load)
	defer p.Stop()
	return build.ReadJSONLines(&countReader{r: f, n: &read}, in)
}

type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// distinctOutput refuses an output path that is the input itself.
func distinctOutput(in, out string) error {
	if out == stdinName {
		return usageErr("the output must be a file (it is written to a temporary file, verified, then renamed)")
	}
	if in == stdinName {
		return nil
	}
	si, err1 := os.Stat(in)
	so, err2 := os.Stat(out)
	if err1 == nil && err2 == nil && os.SameFile(si, so) {
		return usageErr("the output %s is the input: arbor never modifies a file in place", out)
	}
	return nil
}

// buildErr maps an error of the build package to an exit code: a CAR that
// fails verification (an input read whole, or the output) is a failure
// (1), anything else bad input (2).
func buildErr(err error) error {
	if errors.Is(err, archive.ErrInvalidOutput) || errors.Is(err, build.ErrFailsVerification) {
		return failErr("%v", err)
	}
	return inputErr(err)
}
