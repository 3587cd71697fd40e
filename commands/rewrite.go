package commands

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/internal/atomicfile"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/build"
	"github.com/arbor-atproto/arbor/repo"
)

const rewriteUsage = "IN.car -o OUT.car [--key KEYFILE] [--did DID] [--rev TID] [--drop-collection NSID]... [--keep-collection NSID]... [--drop PATH]... [--compact] [--repair] [--force]"

func rewriteCommand() *cli.Command {
	return &cli.Command{
		Name:  "rewrite",
		Usage: "write a transformed copy of a repository: new key, new DID, records or collections removed, compacted",
		Description: "The input is verified first (an invalid one is refused unless --repair, which rebuilds its tree from its\n" +
			"records). Dropping records, --did and --rev change the commit, which is then signed with --key.\n" +
			"With records dropped the tree is rebuilt and the dropped records' blocks are left out. Otherwise the input's\n" +
			"blocks are kept in their order (only the commit replaced), so a rewrite with no option is a byte-for-byte copy;\n" +
			"--compact keeps only the current commit, tree and records, each once. The output is verified before it is\n" +
			"renamed to OUT.car (an existing OUT.car is refused unless --force); IN.car is never modified.",
		ArgsUsage: "IN.car -o OUT.car",
		Flags:     rewriteFlags(),
		Action:    rewrite,
	}
}

func rewriteFlags() []cli.Flag {
	return []cli.Flag{
		jsonFlag,
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the new repository `FILE` (required; not the input)"},
		&cli.StringFlag{Name: "key", Usage: "sign the new commit with this `KEYFILE` or private multibase key"},
		&cli.StringFlag{Name: "did", Usage: "move the repository to this `DID`"},
		&cli.StringFlag{Name: "rev", Usage: "the new commit's rev, a `TID` (default: now, or just after the old rev)"},
		&cli.StringSliceFlag{Name: "drop-collection", Usage: "drop every record of this `NSID` (repeatable)"},
		&cli.StringSliceFlag{Name: "keep-collection", Usage: "drop every record not in this `NSID` (repeatable)"},
		&cli.StringSliceFlag{Name: "drop", Usage: "drop the record at this `PATH` collection/rkey (repeatable)"},
		&cli.BoolFlag{Name: "compact", Usage: "keep only the current commit, tree and records, each block once"},
		&cli.BoolFlag{Name: "repair", Usage: "accept an input that fails verification and rebuild its tree (needs --key)"},
		forceFlag,
	}
}

func rewrite(c *cli.Context) error {
	if err := needArgs(c, 1, 1, rewriteUsage); err != nil {
		return err
	}
	in, out := c.Args().First(), c.String("output")
	if out == "" {
		return usageErr("usage: arbor rewrite %s (-o OUT.car is required)", rewriteUsage)
	}
	if err := distinctOutput(in, out); err != nil {
		return err
	}
	if err := checkOverwrite(out, c.Bool("force")); err != nil {
		return err
	}
	opts, pub, err := rewriteOptions(c)
	if err != nil {
		return err
	}
	var src io.Reader
	if in == stdinName {
		src = c.App.Reader
	} else {
		f, err := os.Open(in)
		if err != nil {
			return inputErr(err)
		}
		defer f.Close()
		src = f
	}
	var res *build.RewriteResult
	prog := startStatus(c.App.ErrWriter, "rewriting "+displayName(in))
	err = atomicfile.WriteFile(out, 0o644, func(w io.Writer) error {
		var err error
		res, err = build.Rewrite(src, w, opts)
		return err
	}, func(tmp string) error {
		return archive.CheckWritten(tmp, archive.Expect{Key: pub, Commit: res.NewCommit, Records: res.RecordsOut}, prog.buildPhases(func(phase string) string { return out + ": " + phase }))
	})
	prog.Stop()
	if err != nil {
		return buildErr(fmt.Errorf("%s: %w", displayName(in), err))
	}
	return printResult(c, build.NewRewriteReport(displayName(in), out, res), printRewrite)
}

// rewriteOptions reads rewrite's options, and the public key of --key.
func rewriteOptions(c *cli.Context) (build.RewriteOptions, atcrypto.PublicKey, error) {
	opts := build.RewriteOptions{DropPaths: c.StringSlice("drop"), Compact: c.Bool("compact"), Force: c.Bool("repair")}
	var err error
	if opts.DropCollections, err = parseNSIDFlags(c, "drop-collection"); err != nil {
		return opts, nil, err
	}
	if opts.KeepCollections, err = parseNSIDFlags(c, "keep-collection"); err != nil {
		return opts, nil, err
	}
	if s := c.String("did"); s != "" {
		if opts.DID, err = parseDIDFlag(s); err != nil {
			return opts, nil, err
		}
	}
	if opts.Rev, err = parseRevFlag(c.String("rev")); err != nil {
		return opts, nil, err
	}
	if !c.IsSet("key") {
		return opts, nil, nil
	}
	key, err := repo.LoadPrivateKey(c.String("key"))
	if err != nil {
		return opts, nil, usageErr("--key: %v", err)
	}
	pub, err := key.PublicKey()
	if err != nil {
		return opts, nil, usageErr("--key: %v", err)
	}
	opts.Key = key
	return opts, pub, nil
}

func printRewrite(w io.Writer, res *build.RewriteReport) error {
	p := newPainter(w)
	in, out := res.Input, res.Output
	if res.Unchanged {
		fmt.Fprintf(w, "%s %s: nothing to change; %s is a byte-for-byte copy (%s, %s)\n", p.green("✓"), in, out, count(res.BlocksOut, "block"), humanBytes(res.BytesOut))
		return nil
	}
	fmt.Fprintf(w, "%s rewrote %s to %s (verified)\n", p.green("✓"), in, out)
	change := func(name, old, new string) {
		if old == new {
			fmt.Fprintf(w, "  %-8s %s (unchanged)\n", name, old)
		} else {
			fmt.Fprintf(w, "  %-8s %s -> %s\n", name, old, new)
		}
	}
	change("did", res.OldDID.String(), res.NewDID.String())
	change("rev", res.OldRev.String(), res.NewRev.String())
	change("commit", res.OldCommit, res.NewCommit)
	change("data", res.OldData, res.NewData)
	if res.SigningKey != "" {
		fmt.Fprintf(w, "  %-8s %s\n", "signed", res.SigningKey)
	}
	fmt.Fprintf(w, "  %-8s %s -> %s\n", "records", num(res.RecordsIn), num(res.RecordsOut))
	for _, d := range res.Dropped {
		fmt.Fprintf(w, "    dropped %s %s\n", num(d.Records), d.Collection)
	}
	fmt.Fprintf(w, "  %-8s %s -> %s (%s -> %s), %s layout\n", "blocks", num(res.BlocksIn), num(res.BlocksOut), humanBytes(res.BytesIn), humanBytes(res.BytesOut), res.Layout)
	if len(res.InputProblems) > 0 {
		fmt.Fprintf(w, "  %s the input had %s (--repair); first: %s\n", p.yellow("!"), count(len(res.InputProblems), "problem"), strings.TrimSpace(res.InputProblems[0]))
	}
	return nil
}
