package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/repo"
)

func goldenDiff(name, file string) string {
	return filepath.Join("..", "golden", "diffs", name, file)
}

func exhaustive(n string) string {
	return filepath.Join(shared, "interop", "mst-test-suite", "cars", "exhaustive", "exhaustive_"+n+".car")
}

// expectedDiff is the part of golden/diffs/*/expected.json the tests use.
type expectedDiff struct {
	DID        string `json:"did"`
	SigningKey string `json:"signingKey"`
	Creates    []struct {
		Path, CID string
	} `json:"creates"`
	Updates []struct {
		Path, Prev, CID string
	} `json:"updates"`
	Deletes []struct {
		Path, Prev string
	} `json:"deletes"`
	NewCommit string   `json:"newCommit"`
	NewRoot   string   `json:"newRoot"`
	NewBlocks []string `json:"newBlocks"`
}

func loadExpected(t *testing.T, name string) expectedDiff {
	t.Helper()
	raw, err := os.ReadFile(goldenDiff(name, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expectedDiff
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// diffOut is the part of `diff --json` the tests look at.
type diffOut struct {
	Identical bool `json:"identical"`
	Summary   struct {
		Creates, Updates, Deletes int
	} `json:"summary"`
	Ops []struct {
		Action, Path, CID, Prev string
		Fields                  []struct {
			Path     string
			Old, New json.RawMessage
		}
	} `json:"ops"`
	CreatedNodes []string `json:"createdNodes"`
	DeletedNodes []string `json:"deletedNodes"`
	ProofNodes   []string `json:"proofNodes"`
	Warnings     []string `json:"warnings"`
	Visited      struct {
		Old, New int
	} `json:"visitedNodes"`
}

func (d diffOut) opLines() []string {
	var out []string
	for _, o := range d.Ops {
		out = append(out, o.Action+" "+o.Path+" "+o.Prev+">"+o.CID)
	}
	return out
}

func (e expectedDiff) opLines(coll string) []string {
	var out []string
	keep := func(p string) bool { return coll == "" || strings.HasPrefix(p, coll+"/") }
	for _, c := range e.Creates {
		if keep(c.Path) {
			out = append(out, "create "+c.Path+" >"+c.CID)
		}
	}
	for _, u := range e.Updates {
		if keep(u.Path) {
			out = append(out, "update "+u.Path+" "+u.Prev+">"+u.CID)
		}
	}
	for _, d := range e.Deletes {
		if keep(d.Path) {
			out = append(out, "delete "+d.Path+" "+d.Prev+">")
		}
	}
	slices.Sort(out)
	return out
}

// `arbor diff --json` on the reference's diff pairs lists exactly the
// reference's operations, and exits 1 when they differ, 0 when not.
func TestDiffJSONListsTheReferenceOps(t *testing.T) {
	for _, name := range []string{"create-one", "update-one", "delete-one", "mixed-100", "delete-collection", "move-record", "noop"} {
		t.Run(name, func(t *testing.T) {
			e := loadExpected(t, name)
			var got diffOut
			r := runJSON(t, &got, "diff", goldenDiff(name, "old.car"), goldenDiff(name, "new.car"), "--json")
			want := e.opLines("")
			wantCode := ExitFail
			if len(want) == 0 {
				wantCode = ExitOK
			}
			if r.code != wantCode || r.stderr != "" {
				t.Fatalf("exit %d (stderr %q), want %d", r.code, r.stderr, wantCode)
			}
			lines := got.opLines()
			slices.Sort(lines)
			if !slices.Equal(lines, want) {
				t.Errorf("ops:\n got %v\nwant %v", lines, want)
			}
			if got.Identical != (len(want) == 0) || got.Summary.Creates != len(e.Creates) || got.Summary.Updates != len(e.Updates) || got.Summary.Deletes != len(e.Deletes) {
				t.Errorf("identical %v summary %+v", got.Identical, got.Summary)
			}
			if !slices.IsSorted(got.CreatedNodes) || !slices.IsSorted(got.DeletedNodes) || !slices.IsSorted(got.ProofNodes) {
				t.Errorf("CID lists are not sorted")
			}
		})
	}
}

func TestDiffCollectionFilterKeepsOnlyThatCollection(t *testing.T) {
	e := loadExpected(t, "mixed-100")
	for _, coll := range []string{"app.bsky.feed.like", "app.bsky.graph.follow", "com.example.none"} {
		var got diffOut
		r := runJSON(t, &got, "diff", "--collection", coll, goldenDiff("mixed-100", "old.car"), goldenDiff("mixed-100", "new.car"), "--json")
		want := e.opLines(coll)
		lines := got.opLines()
		slices.Sort(lines)
		if !slices.Equal(lines, want) {
			t.Errorf("%s: ops %v, want %v", coll, lines, want)
		}
		if wantCode := map[bool]int{true: ExitOK, false: ExitFail}[len(want) == 0]; r.code != wantCode {
			t.Errorf("%s: exit %d, want %d", coll, r.code, wantCode)
		}
	}
	r := run(t, "", "diff", "--collection", "not an nsid", goldenDiff("noop", "old.car"), goldenDiff("noop", "new.car"))
	wantOneLineError(t, r, ExitUsage, "--collection")
}

// Human output: one line per op under its collection, and a summary.
func TestDiffHumanOutputGroupsByCollection(t *testing.T) {
	e := loadExpected(t, "mixed-100")
	r := run(t, "", "diff", goldenDiff("mixed-100", "old.car"), goldenDiff("mixed-100", "new.car"))
	if r.code != ExitFail {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("colour codes in output that is not a terminal")
	}
	for _, c := range e.Creates {
		if !strings.Contains(r.stdout, "\n  + "+c.Path+"\n") {
			t.Errorf("no line for create %s", c.Path)
		}
	}
	for _, u := range e.Updates {
		if !strings.Contains(r.stdout, "\n  ~ "+u.Path+"\n") {
			t.Errorf("no line for update %s", u.Path)
		}
	}
	for _, d := range e.Deletes {
		if !strings.Contains(r.stdout, "\n  - "+d.Path+"\n") {
			t.Errorf("no line for delete %s", d.Path)
		}
	}
	for _, coll := range []string{"app.bsky.actor.profile", "app.bsky.feed.like", "app.bsky.feed.post", "app.bsky.graph.follow"} {
		if strings.Count(r.stdout, "\n"+coll+"\n") != 1 {
			t.Errorf("collection header %s not printed exactly once", coll)
		}
	}
	if !strings.Contains(r.stdout, "40 created, 30 updated, 30 deleted") {
		t.Errorf("summary missing: %s", r.stdout[max(0, len(r.stdout)-300):])
	}
	r = run(t, "", "diff", goldenDiff("noop", "old.car"), goldenDiff("noop", "new.car"))
	if r.code != ExitOK || !strings.Contains(r.stdout, "no record differences") {
		t.Errorf("noop: exit %d, %q", r.code, r.stdout)
	}
}

// --records: the update-one case edits a post's text; the profile update
// in mixed-100 changes the avatar blob.
func TestDiffRecordsShowsFieldChanges(t *testing.T) {
	var got diffOut
	runJSON(t, &got, "diff", "--records", goldenDiff("update-one", "old.car"), goldenDiff("update-one", "new.car"), "--json")
	if len(got.Ops) != 1 || got.Ops[0].Action != "update" {
		t.Fatalf("ops %+v", got.Ops)
	}
	var paths []string
	for _, f := range got.Ops[0].Fields {
		paths = append(paths, f.Path)
		if f.Old == nil || f.New == nil || string(f.Old) == string(f.New) {
			t.Errorf("field %s: old %s new %s", f.Path, f.Old, f.New)
		}
	}
	if !slices.Contains(paths, "/text") {
		t.Errorf("changed fields %v do not include /text", paths)
	}
	r := run(t, "", "diff", "--records", goldenDiff("mixed-100", "old.car"), goldenDiff("mixed-100", "new.car"))
	if !strings.Contains(r.stdout, "~ /avatar/ref/$link: ") {
		t.Errorf("profile avatar change not shown")
	}
}

// Bare MST CARs (the mst-test-suite's) are accepted; the ops are the
// suite's.
func TestDiffAcceptsBareTrees(t *testing.T) {
	tc := testfixtures.MSTDiffCaseNamed(t, "exhaustive_012_071")
	var got diffOut
	r := runJSON(t, &got, "diff", exhaustive("012"), exhaustive("071"), "--json")
	if r.code != ExitFail {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var want []string
	for _, o := range tc.Results.RecordOps {
		s := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		action := "update"
		if o.Old == nil {
			action = "create"
		} else if o.New == nil {
			action = "delete"
		}
		want = append(want, action+" "+o.Path+" "+s(o.Old)+">"+s(o.New))
	}
	if got := got.opLines(); !slices.Equal(got, want) {
		t.Errorf("ops %v, want %v", got, want)
	}
	if !slices.Equal(got.CreatedNodes, tc.Results.Created) {
		t.Errorf("created nodes %v, want %v", got.CreatedNodes, tc.Results.Created)
	}
}

func TestDiffRefusesDifferentDIDsUnlessForced(t *testing.T) {
	other := filepath.Join("..", "golden", "repos", "p256-50.car")
	r := run(t, "", "diff", goldenDiff("noop", "old.car"), other)
	wantOneLineError(t, r, ExitUsage, "--force")
	if !strings.Contains(r.stderr, "did:plc:arborgoldenrepop256test2") {
		t.Errorf("error does not name the other DID: %s", r.stderr)
	}
	var got diffOut
	r = runJSON(t, &got, "diff", "--force", goldenDiff("noop", "old.car"), other, "--json")
	if r.code != ExitFail || len(got.Warnings) == 0 || !strings.Contains(r.stderr, "different DIDs") {
		t.Errorf("--force: exit %d, warnings %v, stderr %q", r.code, got.Warnings, r.stderr)
	}
}

func TestDiffWarnsWhenNewIsOlder(t *testing.T) {
	var got diffOut
	r := runJSON(t, &got, "diff", goldenDiff("create-one", "new.car"), goldenDiff("create-one", "old.car"), "--json")
	if r.code != ExitFail {
		t.Fatalf("exit %d", r.code)
	}
	if !strings.Contains(r.stderr, "warning: NEW's rev 3ktt5626c222b is older than OLD's rev 3ktt57tfds22b") {
		t.Errorf("stderr %q lacks the rev warning", r.stderr)
	}
	if got.Summary.Deletes != 1 || got.Summary.Creates != 0 {
		t.Errorf("reversed create-one: %+v", got.Summary)
	}
}

func TestDiffBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	trunc := filepath.Join(dir, "trunc.car")
	b, err := os.ReadFile(goldenDiff("mixed-100", "new.car"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trunc, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"one file", []string{"diff", goldenDiff("noop", "old.car")}, "usage"},
		{"missing file", []string{"diff", goldenDiff("noop", "old.car"), filepath.Join(dir, "nope.car")}, "nope.car"},
		{"truncated", []string{"diff", goldenDiff("mixed-100", "old.car"), trunc}, "trunc.car"},
		{"not a car", []string{"diff", goldenDiff("noop", "old.car"), goldenDiff("noop", "expected.json")}, "expected.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantOneLineError(t, run(t, "", c.args...), ExitUsage, c.want)
		})
	}
}

// blocksIn reads a CAR's root and distinct block CIDs.
func blocksIn(t *testing.T, path string) (cid.Cid, []string) {
	t.Helper()
	roots, blocks := testfixtures.ReadCARFile(t, path)
	var out []string
	for c := range blocks {
		out = append(out, c.String())
	}
	slices.Sort(out)
	return roots[0], out
}

// diff --car writes the reference's slice (the same blocks), and both our
// slice and the reference's apply to old.car to give new.car's blocks.
func TestDiffCarSliceMatchesReferenceAndApplies(t *testing.T) {
	for _, name := range []string{"create-one", "mixed-100", "delete-collection", "move-record", "noop"} {
		t.Run(name, func(t *testing.T) {
			e := loadExpected(t, name)
			dir := t.TempDir()
			slice := filepath.Join(dir, "slice.car")
			r := run(t, "", "diff", "--car", slice, goldenDiff(name, "old.car"), goldenDiff(name, "new.car"))
			if r.code == ExitUsage {
				t.Fatalf("diff --car: %s", r.stderr)
			}
			root, blocks := blocksIn(t, slice)
			want := slices.Clone(e.NewBlocks)
			slices.Sort(want)
			if root.String() != e.NewCommit || !slices.Equal(blocks, want) {
				t.Errorf("slice root %s blocks %d, want %s and the reference's %d newBlocks", root, len(blocks), e.NewCommit, len(want))
			}
			_, newBlocks := blocksIn(t, goldenDiff(name, "new.car"))
			for i, s := range []string{slice, goldenDiff(name, "slice.car")} {
				out := filepath.Join(dir, fmt.Sprintf("out%d.car", i))
				r := run(t, "", "apply", goldenDiff(name, "old.car"), s, "-o", out, "--key", e.SigningKey)
				if r.code != ExitOK {
					t.Fatalf("apply %s: exit %d: %s", s, r.code, r.stderr)
				}
				root, got := blocksIn(t, out)
				if root.String() != e.NewCommit || !slices.Equal(got, newBlocks) {
					t.Errorf("apply %s: root %s, %d blocks; want %s and new.car's %d", s, root, len(got), e.NewCommit, len(newBlocks))
				}
			}
		})
	}
}

// writeForged writes a copy of a slice whose commit was changed after
// signing (a later rev), so its signature no longer verifies.
func writeForged(t *testing.T, src, dst string) {
	t.Helper()
	roots, blocks := testfixtures.ReadCARFile(t, src)
	c, err := repo.DecodeCommit(blocks[roots[0]])
	if err != nil {
		t.Fatal(err)
	}
	c.Rev = "3ktt5aaaaaa2b"
	b, err := c.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := c.CID()
	delete(blocks, roots[0])
	blocks[id] = b
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w, err := car.NewWriter(out, []cid.Cid{id})
	if err != nil {
		t.Fatal(err)
	}
	for c, b := range blocks {
		if err := w.Put(c, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// A slice that does not fit, or fails verification, writes nothing.
func TestApplyBadSlicesWriteNothing(t *testing.T) {
	e := loadExpected(t, "mixed-100")
	dir := t.TempDir()
	b, err := os.ReadFile(goldenDiff("mixed-100", "slice.car"))
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "trunc.car")
	if err := os.WriteFile(trunc, b[:len(b)-40], 0o644); err != nil {
		t.Fatal(err)
	}
	forged := filepath.Join(dir, "forged.car")
	writeForged(t, goldenDiff("mixed-100", "slice.car"), forged)
	old := goldenDiff("mixed-100", "old.car")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"truncated slice", []string{old, trunc, "--key", e.SigningKey}, ExitUsage, "trunc.car"},
		{"forged commit", []string{old, forged, "--key", e.SigningKey}, ExitFail, "signature"},
		{"unrelated base", []string{filepath.Join("..", "golden", "repos", "p256-50.car"), goldenDiff("mixed-100", "slice.car")}, ExitFail, "does not fit"},
		{"base of the same DID without the old tree", []string{filepath.Join("..", "golden", "repos", "ten.car"), goldenDiff("mixed-100", "slice.car")}, ExitFail, "missing block"},
		{"slice applied twice", []string{goldenDiff("mixed-100", "new.car"), goldenDiff("mixed-100", "slice.car")}, ExitFail, "not after"},
		{"key of another repo (p256-50)", []string{old, goldenDiff("mixed-100", "slice.car"), "--key", "did:key:zDnaexsvpPTDbMprHcrFny6xW85MpjzXp83PDHopvGDFWHmUm"}, ExitFail, "signature"},
		{"bad key", []string{old, goldenDiff("mixed-100", "slice.car"), "--key", "nonsense"}, ExitUsage, "--key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(c.name, " ", "-")+".car")
			r := run(t, "", append([]string{"apply", "-o", out}, c.args...)...)
			wantOneLineError(t, r, c.code, c.want)
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s was written (stat: %v)", out, err)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
	r := run(t, "", "apply", old, goldenDiff("mixed-100", "slice.car"))
	wantOneLineError(t, r, ExitUsage, "-o")
}

// diffPair is an OLD/NEW pair; bare trees without records cannot give
// field diffs or a slice.
type diffPair struct {
	old, new string
	records  bool
}

// diffPairs are pairs from independent sources: the reference's golden
// diffs, successive snapshots of one real repo from the corpus, and bare
// trees from the mst-test-suite.
func diffPairs() []diffPair {
	var pairs []diffPair
	for _, name := range []string{"create-one", "update-one", "delete-one", "mixed-100", "delete-collection", "move-record", "noop"} {
		pairs = append(pairs, diffPair{goldenDiff(name, "old.car"), goldenDiff(name, "new.car"), true})
	}
	dn := []string{"01-new", "02-login", "03-setprofile", "04-firstpost", "05-firstlike", "06-reply", "07-handlechange"}
	for i := 1; i < len(dn); i++ {
		pairs = append(pairs, diffPair{corpus("dnproto", "test", "mst", "msttest-"+dn[i-1]+".car"), corpus("dnproto", "test", "mst", "msttest-"+dn[i]+".car"), true})
	}
	return append(pairs, diffPair{exhaustive("012"), exhaustive("071"), false})
}

// diffVia runs arbor diff with OLD or NEW (or neither) given on standard
// input, so that side is read in full instead of through the index; it
// returns the JSON output with the "read" fields checked and blanked, and
// the slice written with --car.
func diffVia(t *testing.T, p diffPair, stdinSide string) (string, []byte) {
	t.Helper()
	slice := filepath.Join(t.TempDir(), "slice.car")
	args := []string{"diff", "--json", p.old, p.new}
	if p.records {
		args = append(args, "--records", "--car", slice)
	}
	stdin := ""
	if stdinSide != "" {
		i := map[string]int{"old": 2, "new": 3}[stdinSide]
		b, err := os.ReadFile(args[i])
		if err != nil {
			t.Fatal(err)
		}
		stdin, args[i] = string(b), "-"
	}
	r := run(t, stdin, args...)
	if r.code != ExitOK && r.code != ExitFail {
		t.Fatalf("diff (stdin %q): exit %d: %s", stdinSide, r.code, r.stderr)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"old", "new"} {
		s := out[side].(map[string]any)
		want := "index"
		if side == stdinSide {
			want = "full"
		}
		if s["read"] != want {
			t.Errorf("%s read %v, want %s", side, s["read"], want)
		}
		delete(s, "read")
		delete(s, "file")
	}
	norm, _ := json.Marshal(out)
	if !p.records {
		return string(norm), nil
	}
	delete(out["slice"].(map[string]any), "file")
	norm, _ = json.Marshal(out)
	b, err := os.ReadFile(slice)
	if err != nil {
		t.Fatal(err)
	}
	return string(norm), b
}

// Reading through the index gives the same diff (ops, node and proof sets,
// field diffs, visited counts) and the same slice bytes as reading each
// file in full.
func TestDiffThroughIndexEqualsFullRead(t *testing.T) {
	for _, p := range diffPairs() {
		t.Run(filepath.Base(filepath.Dir(p.new))+"-"+filepath.Base(p.new), func(t *testing.T) {
			viaIndex, sliceIndex := diffVia(t, p, "")
			for _, side := range []string{"old", "new"} {
				viaFull, sliceFull := diffVia(t, p, side)
				if viaIndex != viaFull {
					t.Errorf("%s read in full:\n%s\nthrough the index:\n%s", side, viaFull, viaIndex)
				}
				if !bytes.Equal(sliceIndex, sliceFull) {
					t.Errorf("%s read in full: the slices differ", side)
				}
			}
		})
	}
}

// corruptBlock writes a copy of src in which the last byte of the block c
// is changed, so that its bytes no longer match its CID.
func corruptBlock(t *testing.T, src, dst string, c cid.Cid) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	r, err := car.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for {
		blk, err := r.Next()
		if err != nil {
			t.Fatalf("block %s not found: %v", c, err)
		}
		if blk.CID == c {
			b[r.BytesRead()-1] ^= 0xff
			break
		}
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Through the index a block is hash-checked when the diff reads it: a
// corrupt MST node on the changed path fails the diff (exit 2, naming the
// block), a corrupt record the diff never reads does not, unless
// --records reads it; a full read (standard input) rejects either.
func TestDiffChecksTheBlocksItReads(t *testing.T) {
	oldPath, newPath := goldenDiff("update-one", "old.car"), goldenDiff("update-one", "new.car")
	var clean diffOut
	runJSON(t, &clean, "diff", "--json", oldPath, newPath)
	e := loadExpected(t, "update-one")
	newA, err := archive.ReadNodes(mustOpen(t, newPath), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	updated, _ := cid.Decode(e.Updates[0].CID)
	var untouched cid.Cid
	if err := newA.Walk(func(_ []byte, v cid.Cid) error {
		if v != updated {
			untouched = v
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := []struct {
		name       string
		block      cid.Cid
		args       []string
		wantCode   int
		wantStderr string
		wantFields string // a fieldsError the output must carry
	}{
		{"corrupt MST root", newA.Data, nil, ExitUsage, newA.Data.String(), ""},
		{"corrupt commit", newA.Root, nil, ExitUsage, "hash mismatch", ""},
		{"corrupt record off the changed path", untouched, nil, ExitFail, "", ""},
		{"corrupt updated record, no --records", updated, nil, ExitFail, "", ""},
		{"corrupt updated record with --records", updated, []string{"--records"}, ExitFail, "", "hash mismatch"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(dir, fmt.Sprintf("bad%d.car", i))
			corruptBlock(t, newPath, bad, tc.block)
			r := run(t, "", append([]string{"diff", "--json", oldPath, bad}, tc.args...)...)
			if tc.wantCode == ExitUsage {
				wantOneLineError(t, r, ExitUsage, tc.wantStderr)
				if !strings.Contains(r.stderr, "hash mismatch") {
					t.Errorf("stderr %q does not say hash mismatch", r.stderr)
				}
			} else {
				var got diffOut
				if r.code != tc.wantCode || json.Unmarshal([]byte(r.stdout), &got) != nil {
					t.Fatalf("exit %d, want %d: %s", r.code, tc.wantCode, r.stderr)
				}
				if !slices.Equal(got.opLines(), clean.opLines()) {
					t.Errorf("ops %v, want %v", got.opLines(), clean.opLines())
				}
				if tc.wantFields != "" && !strings.Contains(r.stdout, tc.wantFields) {
					t.Errorf("output lacks a fieldsError with %q", tc.wantFields)
				}
			}
			b, err := os.ReadFile(bad)
			if err != nil {
				t.Fatal(err)
			}
			wantOneLineError(t, run(t, string(b), "diff", oldPath, "-"), ExitUsage, "hash mismatch")
		})
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
