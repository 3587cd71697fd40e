package mst

import (
	"sort"
	"strings"
	"testing"
)

// TestBlockChangesMatchesMSTTestSuiteNodeSets checks BlockChanges against
// the created_nodes and deleted_nodes of the mst-test-suite diff cases, on
// trees loaded apart from their CARs (read with go-car) and on b reached
// from a by Insert and Delete (nodes shared in memory).
func TestBlockChangesMatchesMSTTestSuiteNodeSets(t *testing.T) {
	for _, c := range loadDiffCases(t) {
		for _, side := range []struct {
			name string
			b    *Tree
		}{{"loaded apart", c.b}, {"derived by Insert and Delete", c.derived}} {
			t.Run(c.name+"/"+side.name, func(t *testing.T) {
				if r := rootOf(t, side.b); r != c.rootB {
					t.Fatalf("root %s, want %s", r, c.rootB)
				}
				added, removed := blockChanges(t, side.b, c.a)
				var created []string
				for k := range added {
					created = append(created, k.String())
				}
				sort.Strings(created)
				if got, want := strings.Join(created, " "), strings.Join(c.created, " "); got != want {
					t.Errorf("created nodes %s, want %s", got, want)
				}
				if got, want := cidSet(removed), strings.Join(c.deleted, " "); got != want {
					t.Errorf("deleted nodes %s, want %s", got, want)
				}
			})
		}
	}
}
