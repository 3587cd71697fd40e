package diff

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/mst"
)

// interop is the interop vectors in testdata/ at the repository root
// (copies of ../shared/interop).
var interop = filepath.Join(testfixtures.MustDir(), "interop")

// readCAR reads a CAR file into src and returns its first root.
func readCAR(t *testing.T, path string, src mst.MapSource) cid.Cid {
	t.Helper()
	roots, blocks := testfixtures.ReadCARFile(t, path)
	if len(roots) == 0 {
		t.Fatalf("%s: no root", path)
	}
	for c, b := range blocks {
		src[c] = b
	}
	return roots[0]
}

func strs(cs []cid.Cid) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	return out
}

// subset returns the blocks of src named by the lists.
func subset(t *testing.T, src mst.MapSource, lists ...[]cid.Cid) mst.MapSource {
	t.Helper()
	out := mst.MapSource{}
	for _, l := range lists {
		for _, c := range l {
			b, ok := src[c]
			if !ok {
				t.Fatalf("block %s is not in the source", c)
			}
			out[c] = b
		}
	}
	return out
}

func cidOrEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func defOrEmpty(c cid.Cid) string {
	if !c.Defined() {
		return ""
	}
	return c.String()
}

// Every mst-diff case of the mst-test-suite sample: created and deleted
// nodes, record ops, proof nodes and inductive proof nodes exactly as the
// suite lists them; and the covering proof alone lets the ops be inverted.
func TestSuiteMSTDiffCasesMatchExactly(t *testing.T) {
	suite := filepath.Join(interop, "mst-test-suite")
	for _, tc := range testfixtures.MSTDiffCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			if tc.Type != "mst-diff" {
				t.Fatalf("$type %q", tc.Type)
			}
			src := mst.MapSource{}
			rootA := readCAR(t, filepath.Join(suite, tc.Inputs.A), src)
			rootB := readCAR(t, filepath.Join(suite, tc.Inputs.B), src)
			res, err := Compare(src, rootA, src, rootB)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got []cid.Cid, want []string) {
				t.Helper()
				if want == nil {
					want = []string{}
				}
				if g := strs(got); !slices.Equal(g, want) {
					t.Errorf("%s:\n got %v\nwant %v", what, g, want)
				}
			}
			check("created_nodes", res.CreatedNodes, tc.Results.Created)
			check("deleted_nodes", res.DeletedNodes, tc.Results.Deleted)
			check("proof_nodes", res.ProofNodes, tc.Results.Proof)
			check("inductive_proof_nodes", res.InductiveProofNodes, tc.Results.Inductive)
			var gotOps, wantOps []string
			for _, o := range res.Ops {
				gotOps = append(gotOps, o.Path+" "+defOrEmpty(o.Old)+" "+defOrEmpty(o.New))
			}
			for _, o := range tc.Results.RecordOps {
				wantOps = append(wantOps, o.Path+" "+cidOrEmpty(o.Old)+" "+cidOrEmpty(o.New))
			}
			if !slices.Equal(gotOps, wantOps) {
				t.Errorf("record_ops:\n got %v\nwant %v", gotOps, wantOps)
			}
			var firehose []string
			if json.Unmarshal(tc.Results.Firehose, &firehose) == nil {
				// The suite's definition: created nodes, new record
				// values and the exclusion-proof nodes of deletions.
				want := cidSet{}
				want.add(res.CreatedNodes...)
				want.add(res.CreatedRecords...)
				want.add(res.ProofNodes...)
				check("firehose_cids", want.sorted(), firehose)
			}
			// The #commit blocks alone suffice to invert, in any order.
			proof := subset(t, src, res.CreatedNodes, res.CoveringProof)
			rng := rand.New(rand.NewPCG(1, uint64(len(res.Ops))))
			for range 10 {
				ops := slices.Clone(res.Ops)
				rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
				if err := CheckInversion(proof, rootB, rootA, ops); err != nil {
					t.Fatalf("inverting %v: %v", ops, err)
				}
			}
		})
	}
}

func permutations(ops []Op) [][]Op {
	if len(ops) <= 1 {
		return [][]Op{slices.Clone(ops)}
	}
	var out [][]Op
	for i := range ops {
		rest := append(slices.Clone(ops[:i]), ops[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]Op{ops[i]}, p...))
		}
	}
	return out
}

// The firehose commit-proof fixtures: the diff finds exactly the adds and
// dels, the #commit blocks (created nodes plus covering proof) hold every
// block the fixture requires, and those blocks alone invert the ops in
// every order, as the reference test does.
func TestCommitProofFixturesCoveringProof(t *testing.T) {
	for _, fx := range testfixtures.CommitProofs(t) {
		t.Run(fx.Comment, func(t *testing.T) {
			leaf, err := cid.Decode(fx.LeafValue)
			if err != nil {
				t.Fatal(err)
			}
			src := mst.MapSource{}
			build := func(keys []string) cid.Cid {
				tr := mst.NewEmpty()
				for _, k := range keys {
					if tr, err = tr.Insert([]byte(k), leaf); err != nil {
						t.Fatal(err)
					}
				}
				if err := tr.WriteBlocks(func(c cid.Cid, b []byte) error { src[c] = b; return nil }); err != nil {
					t.Fatal(err)
				}
				r, _ := tr.RootCID()
				return r
			}
			before := build(fx.Keys)
			var afterKeys []string
			for _, k := range append(slices.Clone(fx.Keys), fx.Adds...) {
				if !slices.Contains(fx.Dels, k) {
					afterKeys = append(afterKeys, k)
				}
			}
			after := build(afterKeys)
			if before.String() != fx.RootBeforeCommit || after.String() != fx.RootAfterCommit {
				t.Fatalf("roots %s -> %s, fixture %s -> %s", before, after, fx.RootBeforeCommit, fx.RootAfterCommit)
			}
			res, err := Compare(src, before, src, after)
			if err != nil {
				t.Fatal(err)
			}
			var wantOps, gotOps []string
			for _, k := range fx.Adds {
				wantOps = append(wantOps, "+"+k)
			}
			for _, k := range fx.Dels {
				wantOps = append(wantOps, "-"+k)
			}
			for _, o := range res.Ops {
				sign := "+"
				if o.Action() == Delete {
					sign = "-"
				}
				gotOps = append(gotOps, sign+o.Path)
			}
			slices.Sort(wantOps)
			slices.Sort(gotOps)
			if !slices.Equal(gotOps, wantOps) {
				t.Fatalf("ops %v, want %v", gotOps, wantOps)
			}
			carried := cidSet{}
			carried.add(res.CreatedNodes...)
			carried.add(res.CoveringProof...)
			for _, b := range fx.BlocksInProof {
				c, _ := cid.Decode(b)
				if _, ok := carried[c]; !ok {
					t.Errorf("block %s required by the fixture is not carried (carried %v)", b, strs(carried.sorted()))
				}
			}
			proof := subset(t, src, carried.sorted())
			for _, order := range permutations(res.Ops) {
				if err := CheckInversion(proof, after, before, order); err != nil {
					t.Fatalf("order %v: %v", order, err)
				}
			}
		})
	}
}

// blocksOnlyIn lists, sorted, the blocks one snapshot has and the other
// lacks: its commit root, the MST nodes the diff names on its side, and
// those of records whose blocks other does not hold.
func blocksOnlyIn(root cid.Cid, nodes, records []cid.Cid, other interface{ Has(cid.Cid) bool }) []string {
	set := cidSet{}
	set.add(root)
	set.add(nodes...)
	for _, c := range records {
		if !other.Has(c) {
			set.add(c)
		}
	}
	return strs(set.sorted())
}

var golden = filepath.Join("..", "golden", "diffs")

func readArchive(t *testing.T, path string) *archive.Bodies {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := archive.ReadWithBodies(f, archive.Options{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if a.CommitErr != nil {
		t.Fatalf("%s: %v", path, a.CommitErr)
	}
	return a
}

type goldenDiff struct {
	Creates []struct{ Path, CID string } `json:"creates"`
	Updates []struct {
		Path, Prev, CID string
	} `json:"updates"`
	Deletes     []struct{ Path, Prev string } `json:"deletes"`
	OldCommit   string                        `json:"oldCommit"`
	NewCommit   string                        `json:"newCommit"`
	OldRoot     string                        `json:"oldRoot"`
	NewRoot     string                        `json:"newRoot"`
	NewBlocks   []string                      `json:"newBlocks"`
	RemovedCIDs []string                      `json:"removedCids"`
}

// The reference implementation's diffs (@atproto/repo, golden/diffs): our
// walk lists exactly its creates, updates and deletes and the same new and
// removed blocks; the reference's own slice.car applies to old.car and gives
// exactly new.car's blocks and root; and the covering proof inverts the ops.
func TestGoldenReferenceDiffsMatchAndSlicesApply(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(golden, "*", "expected.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden diff cases in %s: %v", golden, err)
	}
	for _, exp := range dirs {
		dir := filepath.Dir(exp)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(exp)
			if err != nil {
				t.Fatal(err)
			}
			var g goldenDiff
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			oldA := readArchive(t, filepath.Join(dir, "old.car"))
			newA := readArchive(t, filepath.Join(dir, "new.car"))
			if oldA.Data.String() != g.OldRoot || newA.Data.String() != g.NewRoot {
				t.Fatalf("roots %s, %s; expected.json says %s, %s", oldA.Data, newA.Data, g.OldRoot, g.NewRoot)
			}
			res, err := Compare(oldA, oldA.Data, newA, newA.Data)
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for _, c := range g.Creates {
				want = append(want, "create "+c.Path+" >"+c.CID)
			}
			for _, u := range g.Updates {
				want = append(want, "update "+u.Path+" "+u.Prev+">"+u.CID)
			}
			for _, d := range g.Deletes {
				want = append(want, "delete "+d.Path+" "+d.Prev+">")
			}
			got = opsString(res.Ops)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("ops:\n got %v\nwant %v", got, want)
			}
			// Blocks NEW has and OLD lacks: the new commit, created nodes
			// and new records OLD does not hold.
			if gn := blocksOnlyIn(newA.Root, res.CreatedNodes, res.CreatedRecords, oldA); !slices.Equal(gn, sortedStrings(g.NewBlocks)) {
				t.Errorf("new blocks:\n got %v\nwant %v", gn, sortedStrings(g.NewBlocks))
			}
			if gr := blocksOnlyIn(oldA.Root, res.DeletedNodes, res.DeletedRecords, newA); !slices.Equal(gr, sortedStrings(g.RemovedCIDs)) {
				t.Errorf("removed:\n got %v\nwant %v", gr, sortedStrings(g.RemovedCIDs))
			}

			// The reference's slice applies to old.car and gives new.car.
			slice := readArchive(t, filepath.Join(dir, "slice.car"))
			emitted := cidSet{}
			applied, err := ApplySlice(RootedBlocks{Blocks: oldA, Root: oldA.Root}, RootedBlocks{Blocks: slice, Root: slice.Root},
				func(c cid.Cid, b []byte) error {
					if dagcbor.SumCID(c.Type(), b) != c {
						t.Errorf("emitted block %s with other bytes", c)
					}
					emitted.add(c)
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if applied.CommitCID.String() != g.NewCommit || applied.Commit.Data.String() != g.NewRoot {
				t.Errorf("applied commit %s data %s, want %s %s", applied.CommitCID, applied.Commit.Data, g.NewCommit, g.NewRoot)
			}
			if ge, gn := strs(emitted.sorted()), strs(sortCIDs(slices.Clone(newA.Order()))); !slices.Equal(ge, gn) {
				t.Errorf("applied snapshot has %d blocks, new.car %d", len(ge), len(gn))
			}
			if got := opsString(applied.Ops); !slices.Equal(got, opsString(res.Ops)) {
				t.Errorf("ApplySlice ops differ from Compare's")
			}

			proof := mst.MapSource{}
			for _, c := range append(slices.Clone(res.CreatedNodes), res.CoveringProof...) {
				b, err := newA.Get(c)
				if err != nil {
					t.Fatal(err)
				}
				proof[c] = b
			}
			if err := CheckInversion(proof, newA.Data, oldA.Data, res.Ops); err != nil {
				t.Errorf("inverting with the covering proof: %v", err)
			}
		})
	}
}

func sortedStrings(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

// leavesOf walks a whole tree: the brute-force side of the comparisons.
func leavesOf(t *testing.T, a *archive.Bodies) map[string]cid.Cid {
	t.Helper()
	m := map[string]cid.Cid{}
	if err := a.Walk(func(k []byte, v cid.Cid) error { m[string(k)] = v; return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}

// The dnproto sequence: successive real PDS exports of one account. The
// expected change per step is from shared/corpus/PROVENANCE.md (login and
// handle change leave the repo alone; each other step adds one record); the
// ops must also equal a brute-force comparison of the full record lists.
func TestDnprotoExportSequence(t *testing.T) {
	dir := testfixtures.Path(t, "corpus", "dnproto", "test", "mst")
	steps := []struct {
		file    string
		creates int    // records created since the previous export
		coll    string // their collection
	}{
		{"msttest-01-new.car", 0, ""},
		{"msttest-02-login.car", 0, ""},
		{"msttest-03-setprofile.car", 1, "app.bsky.actor.profile"},
		{"msttest-04-firstpost.car", 1, "app.bsky.feed.post"},
		{"msttest-05-firstlike.car", 1, "app.bsky.feed.like"},
		{"msttest-06-reply.car", 1, "app.bsky.feed.post"},
		{"msttest-07-handlechange.car", 0, ""},
	}
	prev := readArchive(t, filepath.Join(dir, steps[0].file))
	for _, s := range steps[1:] {
		t.Run(s.file, func(t *testing.T) {
			cur := readArchive(t, filepath.Join(dir, s.file))
			res, err := Compare(prev, prev.Data, cur, cur.Data)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := opsString(res.Ops), opsString(bruteOps(leavesOf(t, prev), leavesOf(t, cur))); !slices.Equal(got, want) {
				t.Fatalf("ops %v, brute force %v", got, want)
			}
			creates, updates, deletes := res.Counts()
			if creates != s.creates || updates != 0 || deletes != 0 {
				t.Fatalf("ops %v, want %d create(s)", opsString(res.Ops), s.creates)
			}
			for _, o := range res.Ops {
				if o.Collection() != s.coll {
					t.Errorf("op %s, want collection %s", o.Path, s.coll)
				}
			}
			if r := applyOps(t, prev, prev.Data, res.Ops); r != cur.Data {
				t.Errorf("applying the ops to the previous export gives %s, want %s", r, cur.Data)
			}
			prev = cur
		})
	}
}
