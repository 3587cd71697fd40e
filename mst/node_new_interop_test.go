package mst

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestBlockChangesMatchesMSTTestSuiteNodeSets checks BlockChanges against
// the created_nodes and deleted_nodes of the mst-test-suite diff cases, on
// trees loaded apart from their CARs (read with go-car) and on b reached
// from a by Insert and Delete (nodes shared in memory).
func TestBlockChangesMatchesMSTTestSuiteNodeSets(t *testing.T) {
	dir := sharedPath(t, "interop", "mst-test-suite", "tests-sample")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no diff cases in %s (%v)", dir, err)
	}
	suite := filepath.Dir(dir)
	for _, f := range files {
		var tc struct {
			Inputs struct {
				A string `json:"mst_a"`
				B string `json:"mst_b"`
			} `json:"inputs"`
			Results struct {
				Created []string `json:"created_nodes"`
				Deleted []string `json:"deleted_nodes"`
			} `json:"results"`
		}
		readJSON(t, &tc, "interop", "mst-test-suite", "tests-sample", filepath.Base(f))
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
		derived := ta
		want := map[string]bool{}
		for _, p := range walkAll(t, tb) {
			want[p.key] = true
			if derived, err = derived.Insert([]byte(p.key), p.val); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range walkAll(t, ta) {
			if !want[p.key] {
				if derived, err = derived.Delete([]byte(p.key)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, side := range []struct {
			name string
			b    *Tree
		}{{"loaded apart", tb}, {"derived by Insert and Delete", derived}} {
			t.Run(filepath.Base(f)+"/"+side.name, func(t *testing.T) {
				if r := rootOf(t, side.b); r != rb {
					t.Fatalf("root %s, want %s", r, rb)
				}
				added, removed := blockChanges(t, side.b, ta)
				var created []string
				for c := range added {
					created = append(created, c.String())
				}
				sort.Strings(created)
				if got, want := strings.Join(created, " "), strings.Join(sorted(tc.Results.Created), " "); got != want {
					t.Errorf("created nodes %s, want %s", got, want)
				}
				if got, want := cidSet(removed), strings.Join(sorted(tc.Results.Deleted), " "); got != want {
					t.Errorf("deleted nodes %s, want %s", got, want)
				}
			})
		}
	}
}
