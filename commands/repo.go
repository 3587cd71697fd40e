package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"

	"github.com/arbor-atproto/arbor/identity"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/ipfs/go-cid"
	"github.com/urfave/cli/v2"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// readCAR opens a CAR argument ("-" for stdin) and reads it with one of
// archive's reading modes (archive.Read, ReadNodes, ReadWithBodies), with a
// progress line on a terminal.
func readCAR[T any](c *cli.Context, name string, read func(io.Reader, archive.Options) (T, error), opts archive.Options) (T, error) {
	var zero T
	in, err := openInput(c, name)
	if err != nil {
		return zero, err
	}
	defer in.Close()
	var total int64
	if f, ok := in.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			total = st.Size()
		}
	}
	var done atomic.Int64 // written by the reader, read by the progress line
	p := startProgress(c.App.ErrWriter, "reading "+displayName(name), total, done.Load)
	opts.Progress = done.Store
	a, err := read(in, opts)
	p.Stop()
	if err != nil {
		return zero, archiveErr(name, err)
	}
	capHeap()
	return a, nil
}

// archiveErr is the exit for a CAR that an archive reader refused: a block
// whose bytes are not what its CID says is a failed verification (1), as
// verify lists it; a file that cannot be read as a CAR is unreadable
// input (2).
func archiveErr(name string, err error) error {
	err = fmt.Errorf("%s: %w", displayName(name), err)
	if errors.Is(err, car.ErrHashMismatch) {
		return &exitError{code: ExitFail, err: err}
	}
	return inputErr(err)
}

// capHeap bounds the heap once an archive is in memory. What the archive
// keeps is pointer-free and long-lived, and what the tree walks after it
// allocate is short-lived, so the default policy (let the heap double before
// collecting) would let garbage grow as large as the archive itself. A soft
// limit a little above the live heap makes the collector run a few more,
// cheap, cycles instead.
func capHeap() {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	debug.SetMemoryLimit(int64(m.HeapAlloc) + max(int64(32<<20), int64(m.HeapAlloc)/8))
}

func displayName(name string) string {
	if name == stdinName {
		return "standard input"
	}
	return name
}

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "summarise a repository CAR: commit, records per collection, MST shape, blocks",
		ArgsUsage: "FILE.car|-",
		Description: "Every block's bytes are checked against its CID while the file is read; records are counted,\n" +
			"not checked as records (strict DAG-CBOR, $type): verify does that. Blocks nothing\n" +
			"references are those not reachable from the root through the commit (and its prev chain, for\n" +
			"legacy exports with history) and the tree; missing blocks are tree nodes and records the current\n" +
			"tree points at that the file lacks. A CAR whose root is an MST node is read as a bare tree.\n" +
			"The summary names the first few unreferenced and missing blocks; --json lists them all.\n" +
			"Exit status: 0 done, 1 a tree no valid repository has (links deeper than any layer), 2 unreadable input.",
		Flags:  []cli.Flag{jsonFlag},
		Action: inspect,
	}
}

func inspect(c *cli.Context) error {
	if err := needArgs(c, 1, 1, "FILE.car|-"); err != nil {
		return err
	}
	// A summary's reading: nodes compact (half the memory), records not
	// checked as records (that is verify's).
	a, err := readCAR(c, c.Args().First(), archive.ReadSummary, archive.Options{})
	if err != nil {
		return err
	}
	st := startStatus(c.App.ErrWriter, "walking "+displayName(c.Args().First()))
	s, err := a.Inspect()
	st.Stop()
	if err != nil {
		if a.CommitErr() != nil {
			return rootErr(a.CommitErr())
		}
		if errors.As(err, new(mst.Problem)) {
			// A tree no valid repository has (deeper than any
			// layer): a failed check, as in verify.
			return failErr("%s: %v", displayName(c.Args().First()), err)
		}
		return inputErr(err)
	}
	return printResult(c, a.Report(displayName(c.Args().First()), s), printInspect)
}

func printInspect(w io.Writer, out *archive.InspectReport) error {
	p := newPainter(w)
	row := func(k, format string, args ...any) {
		fmt.Fprintf(w, "%-13s %s\n", k, fmt.Sprintf(format, args...))
	}
	row("file", "%s (%s)", out.File, humanBytes(out.FileBytes))
	if out.Commit != nil {
		printCommitRows(row, p, out.Commit)
	} else {
		row("root", "%s (bare MST, no commit)", out.Root)
	}
	row("records", "%s in %s", num(out.Records), count(len(out.Collections), "collection"))
	for _, cc := range out.Collections {
		fmt.Fprintf(w, "  %-40s %s\n", cc.Collection, num(cc.Records))
	}
	row("mst", "%s, depth %d", count(out.MSTNodes, "node"), out.MSTDepth)
	for _, l := range out.Layers {
		fmt.Fprintf(w, "  layer %-4d %s\n", l.Layer, count(l.Entries, "entry"))
	}
	row("blocks", "%s (%s distinct, %s), %s of block data", num(out.Blocks), num(out.Distinct), count(out.Duplicates, "duplicate"), humanBytes(out.BlockBytes))
	if out.Commits > 1 {
		row("history", "%s reachable through prev", count(out.Commits, "commit"))
	}
	row("unreferenced", "%s", num(len(out.Unreferenced)))
	listFew(w, out.Unreferenced)
	if len(out.Missing) > 0 {
		row("missing", "%s", p.yellow(num(len(out.Missing))))
	} else {
		row("missing", "0")
	}
	listFew(w, out.Missing)
	return nil
}

func printCommitRows(row func(k, format string, args ...any), p painter, cm *archive.CommitInfo) {
	row("did", "%s", p.bold(cm.DID.String()))
	row("version", "%d", cm.Version)
	if cm.Rev != "" {
		row("rev", "%s", cm.Rev)
	}
	row("commit", "%s", cm.CID)
	row("data", "%s", cm.Data)
	if cm.Prev != nil {
		row("prev", "%s", *cm.Prev)
	} else {
		row("prev", "none")
	}
	if cm.Signature {
		row("signature", "present (not checked here; see arbor verify)")
	} else {
		row("signature", "%s", p.red("absent"))
	}
}

// inspectListed is how many CIDs of a list inspect prints; --json has them all.
const inspectListed = 5

// listFew prints the first inspectListed of cids, indented, and how many
// more there are.
func listFew(w io.Writer, cids []string) {
	for i, s := range cids {
		if i == inspectListed {
			fmt.Fprintf(w, "  … and %s more (--json lists all)\n", num(len(cids)-inspectListed))
			break
		}
		fmt.Fprintf(w, "  %s\n", s)
	}
}

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Usage:     "list the records of a repository CAR, one collection/rkey<TAB>cid per line in key order",
		ArgsUsage: "FILE.car|-",
		Description: "With --json, JSON lines: one {\"path\": \"collection/rkey\", \"cid\": CID} object per line, in key order,\n" +
			"written as the tree is walked (jq -s . makes an array of them).",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object per record (JSON lines)"},
			&cli.StringFlag{Name: "collection", Usage: "only records of this collection (NSID)"},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1, 1, "FILE.car|- [--collection NSID]"); err != nil {
				return err
			}
			coll := c.String("collection")
			if err := checkNSIDFlag("--collection", coll); err != nil {
				return err
			}
			a, err := readCAR(c, c.Args().First(), archive.Read, archive.Options{})
			if err != nil {
				return err
			}
			if a.CommitErr != nil {
				return rootErr(a.CommitErr)
			}
			prefix := coll + "/"
			jsonOut := c.Bool("json")
			w := newLineWriter(c.App.Writer)
			var line []byte
			err = a.Walk(func(key []byte, val cid.Cid) error {
				if coll != "" && !strings.HasPrefix(string(key), prefix) {
					return nil
				}
				if jsonOut {
					// An archive.RecordLine, written by hand: a million
					// records stream without an encoder per line.
					line = append(line[:0], `{"path":`...)
					line = appendJSONString(line, key)
					line = append(line, `,"cid":"`...)
					line = append(line, val.String()...)
					line = append(line, `"}`...)
					w.line(string(line))
					return w.err
				}
				w.line(string(key), "\t", val.String())
				return w.err
			})
			if err != nil {
				return treeErr(err)
			}
			return w.flush()
		},
	}
}

func getCommand() *cli.Command {
	return &cli.Command{
		Name:      "get",
		Usage:     "print one record in the atproto JSON form",
		ArgsUsage: "FILE.car|- at://DID/COLLECTION/RKEY|COLLECTION/RKEY",
		Flags:     []cli.Flag{jsonFlag},
		Action:    get,
	}
}

// recordRef reads get's record argument: an at:// URI (its DID must be the
// repository's) or collection/rkey.
func recordRef(ref string) (did, path string, err error) {
	if !strings.HasPrefix(ref, "at://") {
		if _, _, err := repo.ParseRecordPath(ref); err != nil {
			return "", "", usageErr("%v", err)
		}
		return "", ref, nil
	}
	authority, coll, rkey, err := repo.ParseATURI(ref)
	if err != nil {
		return "", "", usageErr("%v", err)
	}
	if coll == "" || rkey == "" {
		return "", "", usageErr("%s does not name a record (need at://DID/COLLECTION/RKEY)", ref)
	}
	return authority, coll + "/" + rkey, nil
}

func get(c *cli.Context) error {
	if err := needArgs(c, 2, 2, "FILE.car|- at://DID/COLLECTION/RKEY|COLLECTION/RKEY"); err != nil {
		return err
	}
	did, path, err := recordRef(c.Args().Get(1))
	if err != nil {
		return err
	}
	// Only one record is wanted: from a file, its body is read
	// back on demand rather than every body kept.
	a, f, err := readLazyArchive(c, c.Args().First())
	if err != nil {
		return err
	}
	if f != nil {
		defer f.Close()
	}
	if a.CommitErr != nil {
		return rootErr(a.CommitErr)
	}
	if did != "" && a.Commit != nil && a.Commit.DID.String() != did {
		return failErr("%s is a repo of %s, not %s", displayName(c.Args().First()), a.Commit.DID, did)
	}
	rc, body, found, err := a.Record(path)
	if err != nil {
		return treeErr(err)
	}
	if !found {
		return failErr("no record %s in %s", path, displayName(c.Args().First()))
	}
	v, err := dagcbor.Decode(body)
	if err != nil {
		return inputErr(fmt.Errorf("record %s (block %s): %w", path, rc, err))
	}
	if !c.Bool("json") {
		js, err := dagcbor.ToJSONIndent(v, "  ")
		if err != nil {
			return inputErr(err)
		}
		_, err = fmt.Fprintf(c.App.Writer, "%s\n", js)
		return err
	}
	uri := path
	if a.Commit != nil {
		uri = "at://" + a.Commit.DID.String() + "/" + path
	}
	js, err := dagcbor.ToJSON(v)
	if err != nil {
		return inputErr(err)
	}
	return printResult(c, &archive.RecordValue{URI: uri, CID: rc.String(), Value: json.RawMessage(js)}, nil)
}

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write every record as DIR/COLLECTION/RKEY.json, and the commit as DIR/_commit.json",
		ArgsUsage: "FILE.car|- DIR",
		Description: "Records are written in the atproto JSON form. A record whose RKEY.json would be longer than a\n" +
			"file name may be (record keys go up to 512 characters) goes to DIR/_long_keys.jsonl instead, one\n" +
			"{\"collection\", \"rkey\", \"record\"} line each. arbor create reads DIR back, so export then create\n" +
			"rebuilds the same tree. Nothing is ever written outside DIR, whatever the keys say. A DIR that exists\n" +
			"and is not empty is refused unless --force (files of the same name are then replaced).",
		Flags:  []cli.Flag{jsonFlag, &cli.BoolFlag{Name: "force", Usage: "write into a folder that is not empty"}},
		Action: export,
	}
}

func export(c *cli.Context) error {
	if err := needArgs(c, 2, 2, "FILE.car|- DIR [--force]"); err != nil {
		return err
	}
	if err := checkEmptyDir(c.Args().Get(1), c.Bool("force")); err != nil {
		return err
	}
	a, err := readCAR(c, c.Args().First(), archive.ReadWithBodies, archive.Options{})
	if err != nil {
		return err
	}
	if a.CommitErr != nil {
		return rootErr(a.CommitErr)
	}
	dir := c.Args().Get(1)
	n, err := a.Export(dir)
	if err != nil {
		return treeErr(err)
	}
	return printResult(c, &archive.ExportReport{Dir: dir, Records: n}, func(w io.Writer, r *archive.ExportReport) error {
		_, err := fmt.Fprintf(w, "wrote %s and _commit.json to %s\n", count(r.Records, "record"), filepath.Clean(r.Dir))
		return err
	})
}

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check every block hash, the commit and its signature, the MST's canonical shape, and every record",
		ArgsUsage: "FILE.car|-",
		Description: "Lists every problem found, not only the first. The signature is checked only against a key\n" +
			"(--key, --did-doc, or --resolve, which looks the key up over the network); without one the\n" +
			"output says it was not checked. Legacy v2 commits with high-S signatures are accepted with a warning.\n" +
			"With --record, FILE is checked as a proof of one record (what com.atproto.sync.getRecord returns): the commit,\n" +
			"the tree nodes on the key's path and the record block; the answer says whether the record is there or provably absent.\n" +
			"A CAR whose root is an MST node (a bare tree) has no commit and so nothing signed: with --key, --did-doc, --resolve\n" +
			"or --record it fails; without them its tree is checked.\n" +
			"With --lexicon every record is also validated against the schema its $type names (the built-in catalog\n" +
			"and --lexicon-dir folders), as the file streams: per collection, how many records are valid, invalid or of\n" +
			"no known schema, and each invalid record with the JSON path and the rule it breaks. A collection with no\n" +
			"known schema fails only with --lexicon-strict. --blobs DIR (the folder arbor fetch --blobs writes) checks\n" +
			"each referenced blob is there, with the declared size, its CID's hash and a compatible MIME type.\n" +
			"Exit status: 0 valid, 1 invalid, 2 unreadable input or bad usage.",
		Flags:  verifyFlags(),
		Action: verify,
	}
}

func verifyFlags() []cli.Flag {
	return append([]cli.Flag{
		jsonFlag,
		&cli.StringFlag{Name: "key", Usage: "check the signature against this public key (did:key:... or multibase)"},
		&cli.StringFlag{Name: "did-doc", Usage: "check the signature against the atproto key of this DID document (JSON file, - for standard input), and that the commit's DID is the document's"},
		&cli.BoolFlag{Name: "resolve", Usage: "resolve the commit's DID and check the signature against its document's atproto key"},
		&cli.StringFlag{Name: "record", Usage: "check FILE as a proof of the record at this path (collection/rkey) rather than as a whole repository"},
	}, append(lexiconVerifyFlags(), append(netFlags(), batchFlags()...)...)...)
}

func verify(c *cli.Context) error {
	if c.IsSet("batch") {
		if c.Bool("lexicon") || c.IsSet("lexicon-dir") || c.Bool("lexicon-strict") || c.IsSet("blobs") {
			return usageErr("--lexicon checks one repository; it does not go with --batch")
		}
		return verifyBatch(c)
	}
	if c.IsSet("shard") || c.IsSet("workers") {
		return usageErr("--shard and --workers go with --batch")
	}
	if err := needArgs(c, 1, 1, "FILE.car|- [--key did:key:... | --did-doc FILE.json]"); err != nil {
		return err
	}
	opts, err := verifyOptions(c)
	if err != nil {
		return err
	}
	lex, err := verifyLexicon(c, opts)
	if err != nil {
		return err
	}
	a, err := readCAR(c, c.Args().First(), archive.Read, archive.Options{CollectBadBlocks: true, Lexicon: lex})
	if err != nil {
		return err
	}
	switch {
	case c.Bool("resolve") && a.IsBareTree():
		// No commit, so no DID to resolve and nothing signed:
		// Verify reports it.
		opts.RequireCommit = true
	case c.Bool("resolve"):
		record := opts.Record
		if opts, err = resolveVerifyOptions(c, a); err != nil {
			return err
		}
		opts.Record = record
	}
	st := startStatus(c.App.ErrWriter, "verifying "+displayName(c.Args().First()))
	rep, err := a.Verify(opts)
	st.Stop()
	if err != nil {
		return inputErr(err)
	}
	res := archive.NewVerifyReport(displayName(c.Args().First()), a, rep)
	if err := printResult(c, res, func(w io.Writer, res *archive.VerifyReport) error {
		printVerify(w, res, rep, a.IsBareTree())
		return nil
	}); err != nil {
		return err
	}
	if !res.Valid {
		return silentExit(ExitFail)
	}
	return nil
}

// verifyOptions reads verify's --key, --did-doc and --record.
func verifyOptions(c *cli.Context) (archive.VerifyOptions, error) {
	var opts archive.VerifyOptions
	switch {
	case c.IsSet("key") && c.IsSet("did-doc"):
		return opts, usageErr("give --key or --did-doc, not both")
	case c.Bool("resolve") && (c.IsSet("key") || c.IsSet("did-doc")):
		return opts, usageErr("give --resolve, --key or --did-doc, not two")
	case c.IsSet("key"):
		k, err := repo.LoadPublicKey(c.String("key"))
		if err != nil {
			return opts, usageErr("--key: %v", err)
		}
		opts.Key = k
	case c.IsSet("did-doc"):
		doc, err := readDIDDocArg(c, c.String("did-doc"))
		if err != nil {
			return opts, err
		}
		did, k, err := identity.SigningKeyFromDIDDocument(doc)
		if err != nil {
			return opts, inputErr(fmt.Errorf("%s: %w", c.String("did-doc"), err))
		}
		opts.Key, opts.DID = k, did
	}
	if c.IsSet("record") {
		if _, _, err := repo.ParseRecordPath(c.String("record")); err != nil {
			return opts, usageErr("--record: %v", err)
		}
		opts.Record = c.String("record")
	}
	return opts, nil
}

func printVerify(w io.Writer, res *archive.VerifyReport, rep *archive.Report, bare bool) {
	p := newPainter(w)
	for _, pr := range rep.Problems {
		if pr.Kind == archive.KindLexicon && pr.Key != "" && pr.CID.Defined() {
			continue // an invalid record: printed with all its issues below
		}
		fmt.Fprintf(w, "%s %s\n", p.red("✗"), pr.Error())
	}
	if res.Lexicon != nil {
		printLexiconReport(w, p, res.Lexicon)
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintf(w, "%s %s\n", p.yellow("!"), warn)
	}
	sig := "signature not checked (give --key or --did-doc)"
	if bare {
		sig = "bare MST: no commit, no signature"
	} else if rep.SignatureChecked {
		sig = "signature checked"
	}
	proof := res.Record
	switch {
	case res.Valid && proof != nil && proof.Found:
		fmt.Fprintf(w, "%s %s: proves %s = %s (%s); %s\n", p.green("✓"), res.File, proof.Path, proof.CID, count(res.Blocks, "block"), sig)
	case res.Valid && proof != nil:
		fmt.Fprintf(w, "%s %s: proves there is no record %s (%s); %s\n", p.green("✓"), res.File, proof.Path, count(res.Blocks, "block"), sig)
	case res.Valid:
		fmt.Fprintf(w, "%s %s: valid: %s, %s; %s\n", p.green("✓"), res.File, count(res.Blocks, "block"), count(res.Records, "record"), sig)
	default:
		fmt.Fprintf(w, "%s %s: INVALID: %s; %s\n", p.red("✗"), res.File, count(len(rep.Problems), "problem"), sig)
	}
}

// lineWriter buffers line output and remembers the first write error (a
// closed pipe ends the listing quietly).
type lineWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func newLineWriter(w io.Writer) *lineWriter { return &lineWriter{w: w} }

func (l *lineWriter) line(parts ...string) {
	for _, p := range parts {
		l.buf = append(l.buf, p...)
	}
	l.buf = append(l.buf, '\n')
	if len(l.buf) > 64<<10 {
		l.flush()
	}
}

func (l *lineWriter) flush() error {
	if l.err == nil && len(l.buf) > 0 {
		_, l.err = l.w.Write(l.buf)
	}
	l.buf = l.buf[:0]
	return l.err
}
