package commands

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

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
			"Exit 1 when verification fails (no file is left) or a blob failed; 2 for bad input\n" +
			"or when resolution or the download fails.",
		ArgsUsage: "HANDLE|DID -o OUT.car",
		Flags: append([]cli.Flag{
			jsonFlag,
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the repository to this CAR file"},
			&cli.StringFlag{Name: "since", Usage: "only the blocks added after this revision (a TID)"},
			&cli.StringFlag{Name: "blobs", Usage: "also download every blob into this directory"},
		}, netFlags()...),
		Action: runFetch,
	}
}

// blobFailure is one blob that could not be downloaded or did not match.
type blobFailure struct {
	CID   string `json:"cid"`
	Error string `json:"error"`
}

type fetchJSON struct {
	identityJSON
	File       string        `json:"file"`
	Bytes      int64         `json:"bytes"`
	Commit     *commitJSON   `json:"commit"`
	Since      string        `json:"since,omitempty"`
	Slice      bool          `json:"slice"`
	Checked    []string      `json:"checked"`
	NotChecked []string      `json:"notChecked"`
	Records    int           `json:"records,omitempty"`
	BlobDir    string        `json:"blobDir,omitempty"`
	Blobs      int           `json:"blobs"`
	BlobsFail  []blobFailure `json:"blobFailures,omitempty"`
}

func runFetch(c *cli.Context) error {
	if err := needArgs(c, 1, 1, "HANDLE|DID -o OUT.car [--since REV] [--blobs DIR]"); err != nil {
		return err
	}
	out := c.String("output")
	if out == "" {
		return usageErr("usage: arbor fetch HANDLE|DID -o OUT.car [--since REV] [--blobs DIR]: -o is required")
	}
	since := c.String("since")
	if since != "" {
		if _, err := repo.ParseTID(since); err != nil {
			return usageErr("--since: %v", err)
		}
	}
	res, err := newResolver(c)
	if err != nil {
		return err
	}
	ctx := context.Background()
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

	report := fetchJSON{identityJSON: newIdentityJSON(id), File: out, Since: since, Slice: since != ""}
	report.Document = nil
	if err := fetchRepo(ctx, c, res, id, out, &report); err != nil {
		return err
	}
	if dir := c.String("blobs"); dir != "" {
		report.BlobDir = dir
		if err := fetchBlobs(ctx, c, res, id, dir, &report); err != nil {
			return err
		}
	}

	w := c.App.Writer
	if c.Bool("json") {
		if err := printJSON(w, report); err != nil {
			return err
		}
	} else {
		p := newPainter(w)
		who := id.DID.String()
		if id.HandleVerified {
			who += " (" + id.Handle.String() + ")"
		}
		what := "repository"
		if report.Slice {
			what = "slice since " + since
		}
		fmt.Fprintf(w, "%s %s: %s of %s from %s, %s, rev %s\n", p.green("✓"), out, what, who, id.Doc.PDS, humanBytes(report.Bytes), report.Commit.Rev)
		fmt.Fprintf(w, "  checked: %s\n", joinComma(report.Checked))
		if len(report.NotChecked) > 0 {
			fmt.Fprintf(w, "  not checked: %s\n", joinComma(report.NotChecked))
		}
		if report.BlobDir != "" {
			for _, f := range report.BlobsFail {
				fmt.Fprintf(w, "%s blob %s: %s\n", p.red("✗"), f.CID, f.Error)
			}
			fmt.Fprintf(w, "  blobs: %d of %d saved in %s\n", report.Blobs-len(report.BlobsFail), report.Blobs, report.BlobDir)
		}
	}
	if len(report.BlobsFail) > 0 {
		return failErr("%d of %d blobs failed (first: %s: %s)", len(report.BlobsFail), report.Blobs, report.BlobsFail[0].CID, report.BlobsFail[0].Error)
	}
	return nil
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
func fetchRepo(ctx context.Context, c *cli.Context, res *identity.Resolver, id *identity.Identity, out string, report *fetchJSON) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.part")
	if err != nil {
		return inputErr(err)
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	var done atomic.Int64
	var prog *progress
	n, err := res.GetRepo(ctx, id.Doc.PDS, id.DID.String(), report.Since, tmp, func(d, total int64) {
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
		return inputErr(err)
	}
	report.Bytes = n
	if _, err := tmp.Seek(0, 0); err != nil {
		return inputErr(err)
	}

	slice := report.Since != ""
	var read atomic.Int64
	prog = startProgress(c.App.ErrWriter, "verifying", n, read.Load)
	a, err := repo.ReadArchive(tmp, repo.LoadOptions{CollectBadBlocks: !slice, CompactNodes: true, Progress: func(x int64) { read.Store(x) }})
	prog.Stop()
	if err != nil {
		return failErr("fetched repository from %s: %v", id.Doc.PDS, err)
	}
	if a.Commit == nil {
		return failErr("fetched repository from %s has no commit: %v", id.Doc.PDS, a.CommitErr)
	}
	report.Commit = newCommitJSON(a)
	key := id.Doc.SigningKey
	if slice {
		if a.Commit.DID != id.DID.String() {
			return failErr("fetched slice: %v: commit has %s, resolved %s", repo.ErrDIDMismatch, a.Commit.DID, id.DID)
		}
		if err := a.Commit.VerifySignature(key); err != nil {
			return failErr("fetched slice: commit signature against %s: %v", key.DIDKey(), err)
		}
		report.Checked = []string{"every block hash", "commit DID", "commit signature against " + key.DIDKey()}
		report.NotChecked = []string{"MST and records (a slice is not a whole tree)"}
	} else {
		rep, err := a.Verify(repo.VerifyOptions{Key: key, DID: id.DID.String()})
		if err != nil {
			return failErr("fetched repository: %v", err)
		}
		if !rep.Valid() || !rep.SignatureChecked {
			return failErr("fetched repository from %s failed verification: %d problems, first: %v", id.Doc.PDS, len(rep.Problems), firstProblem(rep))
		}
		report.Records = rep.Records
		report.Checked = []string{"every block hash", "commit DID", "commit signature against " + key.DIDKey(), "MST", fmt.Sprintf("%d records", rep.Records)}
		report.NotChecked = []string{}
	}
	if err := tmp.Sync(); err != nil {
		return inputErr(err)
	}
	if err := tmp.Close(); err != nil {
		return inputErr(err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		os.Remove(tmp.Name())
		tmp = nil
		return inputErr(err)
	}
	tmp = nil
	return nil
}

func firstProblem(rep *repo.Report) string {
	if len(rep.Problems) == 0 {
		return "signature not checked"
	}
	return rep.Problems[0].Error()
}

// fetchBlobs lists and downloads every blob into dir, each through a
// temporary file renamed to DIR/CID once its bytes match the CID.
// Failures of single blobs are recorded in report; only a failure to list
// (or to create dir) ends the command.
func fetchBlobs(ctx context.Context, c *cli.Context, res *identity.Resolver, id *identity.Identity, dir string, report *fetchJSON) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return inputErr(err)
	}
	cids, err := res.ListBlobs(ctx, id.Doc.PDS, id.DID.String())
	if err != nil {
		return inputErr(fmt.Errorf("listing blobs: %w", err))
	}
	report.Blobs = len(cids)
	var done atomic.Int64
	prog := startProgress(c.App.ErrWriter, fmt.Sprintf("blobs (%d)", len(cids)), 0, done.Load)
	defer prog.Stop()
	for _, bc := range cids {
		if err := fetchBlob(ctx, res, id, dir, bc, &done); err != nil {
			report.BlobsFail = append(report.BlobsFail, blobFailure{CID: bc.String(), Error: err.Error()})
		}
	}
	return nil
}

func fetchBlob(ctx context.Context, res *identity.Resolver, id *identity.Identity, dir string, bc cid.Cid, done *atomic.Int64) error {
	// The file name is the CID as arbor prints it, never a server's string.
	name := filepath.Join(dir, bc.String())
	tmp, err := os.CreateTemp(dir, "."+bc.String()+".*.part")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := res.GetBlob(ctx, id.Doc.PDS, id.DID.String(), bc, tmp)
	done.Add(n)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
