package mst

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

func TestHeightMatchesInteropKeyHeights(t *testing.T) {
	cases := testfixtures.Cases[struct {
		Key    string `json:"key"`
		Height int    `json:"height"`
	}](t, "interop", "mst", "key_heights.json")
	for _, c := range cases {
		if got := Height([]byte(c.Key)); got != c.Height {
			t.Errorf("Height(%q) = %d, want %d", c.Key, got, c.Height)
		}
	}
}

func TestCommonPrefixMatchesInterop(t *testing.T) {
	cases := testfixtures.Cases[struct {
		Left  string `json:"left"`
		Right string `json:"right"`
		Len   int    `json:"len"`
	}](t, "interop", "mst", "common_prefix.json")
	for _, c := range cases {
		if got := commonPrefix([]byte(c.Left), []byte(c.Right)); got != c.Len {
			t.Errorf("commonPrefix(%q, %q) = %d, want %d", c.Left, c.Right, got, c.Len)
		}
	}
}

func exampleKeys(t testing.TB) []string {
	f, err := os.Open(testfixtures.Path(t, "interop", "mst", "example_keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if l := strings.TrimRight(s.Text(), "\r"); l != "" {
			keys = append(keys, l)
		}
	}
	if len(keys) == 0 {
		t.Fatal("no example keys")
	}
	return keys
}

func TestExampleKeysAreValid(t *testing.T) {
	for _, k := range exampleKeys(t) {
		if err := ValidateKey([]byte(k)); err != nil {
			t.Errorf("ValidateKey(%q): %v", k, err)
		}
	}
}

func leavesWith(keys []string, v cid.Cid) []Leaf {
	s := append([]string(nil), keys...)
	sort.Strings(s)
	out := make([]Leaf, len(s))
	for i, k := range s {
		out[i] = Leaf{Key: []byte(k), Value: v}
	}
	return out
}

func TestCommitProofFixturesRoots(t *testing.T) {
	fixtures := testfixtures.CommitProofs(t)
	if len(fixtures) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range fixtures {
		t.Run(f.Comment, func(t *testing.T) {
			val := testfixtures.CID(t, f.LeafValue)
			before, after := testfixtures.CID(t, f.RootBeforeCommit), testfixtures.CID(t, f.RootAfterCommit)

			tr, err := BuildTree(leavesWith(f.Keys, val))
			if err != nil {
				t.Fatal(err)
			}
			if got := rootOf(t, tr); got != before {
				t.Fatalf("BuildTree(keys) root = %s, want %s", got, before)
			}
			if got, _ := builderRoot(t, leavesWith(f.Keys, val)); got != before {
				t.Errorf("Builder(keys) root = %s, want %s", got, before)
			}
			inc := NewEmpty()
			for _, k := range f.Keys {
				if inc, err = inc.Insert([]byte(k), val); err != nil {
					t.Fatal(err)
				}
			}
			if got := rootOf(t, inc); got != before {
				t.Errorf("Insert(keys) root = %s, want %s", got, before)
			}

			mod := tr
			for _, k := range f.Adds {
				if mod, err = mod.Insert([]byte(k), val); err != nil {
					t.Fatal(err)
				}
			}
			for _, k := range f.Dels {
				if mod, err = mod.Delete([]byte(k)); err != nil {
					t.Fatal(err)
				}
			}
			if got := rootOf(t, mod); got != after {
				t.Errorf("after adds/dels root = %s, want %s", got, after)
			}
			if got := rootOf(t, tr); got != before {
				t.Errorf("old tree changed: root = %s, want %s", got, before)
			}

			afterKeys := map[string]bool{}
			for _, k := range f.Keys {
				afterKeys[k] = true
			}
			for _, k := range f.Adds {
				afterKeys[k] = true
			}
			for _, k := range f.Dels {
				delete(afterKeys, k)
			}
			var ks []string
			for k := range afterKeys {
				ks = append(ks, k)
			}
			tr2, err := BuildTree(leavesWith(ks, val))
			if err != nil {
				t.Fatal(err)
			}
			if got := rootOf(t, tr2); got != after {
				t.Errorf("BuildTree(after keys) root = %s, want %s", got, after)
			}

			// The proof blocks are nodes of the after tree (or of the
			// before tree, for deletions): every one must be among the
			// blocks our trees produce.
			blocks := blocksOf(t, mod)
			for c, d := range blocksOf(t, tr) {
				blocks[c] = d
			}
			for _, s := range f.BlocksInProof {
				if _, ok := blocks[testfixtures.CID(t, s)]; !ok {
					t.Errorf("proof block %s is not a node of the before or after tree", s)
				}
			}
			verifyClean(t, blocks, after)
			verifyClean(t, blocks, before)
		})
	}
}

// exhaustive loads the 128 exhaustive mst-test-suite CARs.
type exhaustiveCase struct {
	name  string
	root  cid.Cid
	src   MapSource
	pairs []kv
}

func loadExhaustive(t *testing.T) []exhaustiveCase {
	dir := testfixtures.Path(t, "interop", "mst-test-suite", "cars", "exhaustive")
	var out []exhaustiveCase
	for i := 0; i < 128; i++ {
		name := fmt.Sprintf("exhaustive_%03d.car", i)
		root, src := readCAR(t, filepath.Join(dir, name))
		tr, err := Load(src, root)
		if err != nil {
			t.Fatalf("%s: Load: %v", name, err)
		}
		out = append(out, exhaustiveCase{name: name, root: root, src: src, pairs: walkAll(t, tr)})
	}
	return out
}

func keySetID(pairs []kv) string {
	ks := make([]string, len(pairs))
	for i, p := range pairs {
		ks[i] = p.key
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func TestExhaustiveCARs(t *testing.T) {
	cases := loadExhaustive(t)
	bySet := map[string]cid.Cid{}
	values := map[string]cid.Cid{}
	for _, c := range cases {
		bySet[keySetID(c.pairs)] = c.root
		for _, p := range c.pairs {
			if v, ok := values[p.key]; ok && v != p.val {
				t.Fatalf("key %s has different values across CARs", p.key)
			}
			values[p.key] = p.val
		}
	}
	if len(bySet) != 128 || len(values) != 7 {
		t.Fatalf("expected 128 distinct subsets of 7 keys, got %d sets, %d keys", len(bySet), len(values))
	}
	rng := rand.New(rand.NewSource(1))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !sort.SliceIsSorted(c.pairs, func(i, j int) bool { return c.pairs[i].key < c.pairs[j].key }) {
				t.Errorf("Walk not in key order: %v", c.pairs)
			}
			got := verifyClean(t, c.src, c.root)
			if keySetID(got) != keySetID(c.pairs) || len(got) != len(c.pairs) {
				t.Errorf("Verify leaves %v, Walk leaves %v", got, c.pairs)
			}
			if r, _ := builderRoot(t, leavesOf(c.pairs)); r != c.root {
				t.Errorf("Builder root = %s, want %s", r, c.root)
			}
			tr, err := BuildTree(leavesOf(c.pairs))
			if err != nil {
				t.Fatal(err)
			}
			if r := rootOf(t, tr); r != c.root {
				t.Errorf("BuildTree root = %s, want %s", r, c.root)
			}
			// The CAR holds exactly the tree's nodes (no commit, no records).
			if bl := blocksOf(t, tr); !sameBlocks(bl, c.src) {
				t.Errorf("WriteBlocks gives %d blocks, CAR has %d (or bytes differ)", len(bl), len(c.src))
			}
			for round := 0; round < 5; round++ {
				perm := rng.Perm(len(c.pairs))
				ins := NewEmpty()
				for _, i := range perm {
					if ins, err = ins.Insert([]byte(c.pairs[i].key), c.pairs[i].val); err != nil {
						t.Fatal(err)
					}
				}
				if r := rootOf(t, ins); r != c.root {
					t.Errorf("insert order %v: root = %s, want %s", perm, r, c.root)
				}
			}
			// Deleting each key from the loaded tree gives the CAR of the
			// smaller set.
			loaded, err := Load(c.src, c.root)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range c.pairs {
				smaller, err := loaded.Delete([]byte(p.key))
				if err != nil {
					t.Fatal(err)
				}
				rest := append(append([]kv(nil), c.pairs[:i]...), c.pairs[i+1:]...)
				if r, want := rootOf(t, smaller), bySet[keySetID(rest)]; r != want {
					t.Errorf("delete %s: root = %s, want %s", p.key, r, want)
				}
			}
			if r := rootOf(t, loaded); r != c.root {
				t.Errorf("loaded tree changed by Delete: %s", r)
			}
		})
	}
}

// diffCase is one mst-test-suite mst-diff case: trees a and b loaded from
// their CARs, derived (b reached from a by Insert and Delete, sharing
// nodes with a in memory), b's root, and the node sets the suite expects.
type diffCase struct {
	name             string
	a, b, derived    *Tree
	rootB            cid.Cid
	created, deleted []string
}

func loadDiffCases(t *testing.T) []diffCase {
	t.Helper()
	suite := testfixtures.MSTSuitePath(t)
	var cases []diffCase
	for _, tc := range testfixtures.MSTDiffCases(t) {
		ra, sa := readCAR(t, filepath.Join(suite, tc.Inputs.A))
		rb, sb := readCAR(t, filepath.Join(suite, tc.Inputs.B))
		ta, err := Load(sa, ra)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := Load(sb, rb)
		if err != nil {
			t.Fatal(err)
		}
		cur := ta
		want := map[string]cid.Cid{}
		for _, p := range walkAll(t, tb) {
			want[p.key] = p.val
		}
		for _, p := range walkAll(t, ta) {
			if _, ok := want[p.key]; !ok {
				if cur, err = cur.Delete([]byte(p.key)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for k, v := range want {
			if cur, err = cur.Insert([]byte(k), v); err != nil {
				t.Fatal(err)
			}
		}
		cases = append(cases, diffCase{tc.Name + ".json", ta, tb, cur, rb, sorted(tc.Results.Created), sorted(tc.Results.Deleted)})
	}
	return cases
}

func TestMSTDiffSampleNodeSets(t *testing.T) {
	for _, c := range loadDiffCases(t) {
		t.Run(c.name, func(t *testing.T) {
			// Turn a into b with Insert/Delete; the new nodes must be
			// exactly the created ones, the dropped ones the deleted ones.
			if r := rootOf(t, c.derived); r != c.rootB {
				t.Fatalf("a→b root = %s, want %s", r, c.rootB)
			}
			na, nb := blocksOf(t, c.a), blocksOf(t, c.derived)
			var created, deleted []string
			for k := range nb {
				if _, ok := na[k]; !ok {
					created = append(created, k.String())
				}
			}
			for k := range na {
				if _, ok := nb[k]; !ok {
					deleted = append(deleted, k.String())
				}
			}
			sort.Strings(created)
			sort.Strings(deleted)
			if strings.Join(created, " ") != strings.Join(c.created, " ") {
				t.Errorf("created nodes %v, want %v", created, c.created)
			}
			if strings.Join(deleted, " ") != strings.Join(c.deleted, " ") {
				t.Errorf("deleted nodes %v, want %v", deleted, c.deleted)
			}
		})
	}
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}
