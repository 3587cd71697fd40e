package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

func goldenFacts(t *testing.T, name string) (string, testfixtures.GoldenRepo) {
	t.Helper()
	return filepath.Join("..", "golden", "repos", name+".car"), testfixtures.ReadGoldenRepo(t, name)
}

// arbor mst prints the tree in each form, with flags before or after the
// file; the counts agree with the reference.
func TestMSTCommandForms(t *testing.T) {
	car, g := goldenFacts(t, "r300")
	cases := []struct {
		name  string
		args  []string
		check func(t *testing.T, out string)
	}{
		{"text", []string{"mst", car}, func(t *testing.T, out string) {
			if n := strings.Count(out, "node L"); n != g.MSTNodeCount {
				t.Errorf("%d node lines, reference %d nodes", n, g.MSTNodeCount)
			}
			if !strings.HasPrefix(out, "node L") || strings.Contains(out, g.DataCID) {
				t.Errorf("text does not start with the root node or shows a whole CID: %.80q", out)
			}
		}},
		{"text with whole CIDs, flag after the file", []string{"mst", car, "--full-cid"}, func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "node L") || !strings.Contains(out, g.DataCID) {
				t.Errorf("root CID %s not shown whole", g.DataCID)
			}
		}},
		{"dot", []string{"mst", "--dot", car}, func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "digraph mst {") || strings.Count(out, "shape=box") != g.MSTNodeCount || strings.Count(out, "shape=note") != g.RecordCount {
				t.Errorf("dot output does not have %d boxes and %d notes", g.MSTNodeCount, g.RecordCount)
			}
		}},
		{"json", []string{"mst", car, "--json"}, func(t *testing.T, out string) {
			var v struct {
				Root    string `json:"root"`
				Nodes   int    `json:"nodes"`
				Records int    `json:"records"`
				Depth   int    `json:"depth"`
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatal(err)
			}
			if v.Root != g.DataCID || v.Nodes != g.MSTNodeCount || v.Records != g.RecordCount || v.Depth != g.MSTDepth {
				t.Errorf("json %+v disagrees with the reference %+v", v, g)
			}
		}},
		{"depth 1", []string{"mst", car, "--depth", "1"}, func(t *testing.T, out string) {
			if strings.Count(out, "node L") < 2 || !strings.Contains(out, "subtree not shown") || !strings.Contains(out, "cut at --depth 1") {
				t.Errorf("--depth 1 output does not show cut subtrees:\n%s", out)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, "", c.args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			c.check(t, r.stdout)
		})
	}
}

// arbor mst reads standard input for "-".
func TestMSTCommandReadsStdin(t *testing.T) {
	car, g := goldenFacts(t, "ten")
	b, err := os.ReadFile(car)
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, string(b), "mst", "-", "--full-cid")
	if r.code != 0 || !strings.Contains(r.stdout, g.DataCID) {
		t.Fatalf("exit %d, stderr %q, stdout %.100q", r.code, r.stderr, r.stdout)
	}
}

// Bad usage and unreadable input end with one line on stderr and exit 2.
func TestMSTCommandBadInput(t *testing.T) {
	car, _ := goldenFacts(t, "ten")
	garbage := garbageCAR(t)
	cases := []usageCase{
		{"no file", []string{"mst"}, "usage: arbor mst"},
		{"two files", []string{"mst", car, car}, "usage: arbor mst"},
		{"negative depth", []string{"mst", car, "--depth", "-1"}, "--depth"},
		{"dot and json", []string{"mst", car, "--dot", "--json"}, "not both"},
		{"missing file", []string{"mst", filepath.Join(t.TempDir(), "nope.car")}, "nope.car"},
		{"not a CAR", []string{"mst", garbage}, "garbage.car"},
	}
	runUsageErrors(t, cases)
}
