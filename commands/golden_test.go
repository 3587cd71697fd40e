package commands

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/mst"
)

func loadGoldenRepos(t *testing.T) map[string]testfixtures.GoldenRepo {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "golden", "repos", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden repos: %v", err)
	}
	out := map[string]testfixtures.GoldenRepo{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if name == "index" || name == "noncanonical-flat" {
			continue
		}
		out[strings.TrimSuffix(f, ".json")+".car"] = testfixtures.ReadGoldenRepo(t, name)
	}
	return out
}

func TestInspectMatchesReferenceImplementation(t *testing.T) {
	for car, g := range loadGoldenRepos(t) {
		t.Run(filepath.Base(car), func(t *testing.T) {
			var got struct {
				inspectJSON
				MSTDepth int `json:"mstDepth"`
				Layers   []struct {
					Layer   int `json:"layer"`
					Entries int `json:"entries"`
				} `json:"entriesPerLayer"`
			}
			r := runJSON(t, &got, "inspect", "--json", car)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			c := got.Commit
			if c == nil || c.DID != g.DID || c.CID != g.CommitCID || c.Data != g.DataCID || c.Rev != g.Rev || c.Version != g.Version {
				t.Fatalf("commit %+v, reference has did %s cid %s data %s rev %s v%d", c, g.DID, g.CommitCID, g.DataCID, g.Rev, g.Version)
			}
			if got.Records != g.RecordCount || got.Blocks != g.BlockCount || got.MSTNodes != g.MSTNodeCount || got.MSTDepth != g.MSTDepth {
				t.Errorf("records %d blocks %d nodes %d depth %d; reference: %d %d %d %d",
					got.Records, got.Blocks, got.MSTNodes, got.MSTDepth, g.RecordCount, g.BlockCount, g.MSTNodeCount, g.MSTDepth)
			}
			colls := map[string]int{}
			for _, cc := range got.Collections {
				colls[cc.Collection] = cc.Records
			}
			g.CheckCollections(t, colls)
			// Entries per layer: every key of the reference's record
			// list sits at its key height (mst.Height, held to the
			// interop vectors).
			layers := map[int]int{}
			for _, rec := range g.Records {
				layers[mst.Height([]byte(rec.Path))]++
			}
			gotLayers := map[int]int{}
			for _, l := range got.Layers {
				gotLayers[l.Layer] = l.Entries
			}
			if !maps.Equal(gotLayers, layers) {
				t.Errorf("entries per layer %v, the reference's keys give %v", gotLayers, layers)
			}
		})
	}
}

func TestLsMatchesReferenceRecordList(t *testing.T) {
	for car, g := range loadGoldenRepos(t) {
		t.Run(filepath.Base(car), func(t *testing.T) {
			r := run(t, "", "ls", car)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var want strings.Builder
			for _, rec := range g.Records {
				want.WriteString(rec.Path + "\t" + rec.CID + "\n")
			}
			if r.stdout != want.String() {
				t.Fatalf("ls output differs from the reference's record list\ngot:\n%.500s\nwant:\n%.500s", r.stdout, want.String())
			}
		})
	}
}

func TestVerifyAcceptsReferenceRepos(t *testing.T) {
	for car, g := range loadGoldenRepos(t) {
		t.Run(filepath.Base(car), func(t *testing.T) {
			var got struct {
				Valid            bool  `json:"valid"`
				SignatureChecked bool  `json:"signatureChecked"`
				Problems         []any `json:"problems"`
				Records          int   `json:"records"`
			}
			r := runJSON(t, &got, "verify", car, "--key", g.SigningKey, "--json")
			if r.code != 0 || !got.Valid || !got.SignatureChecked || got.Records != g.RecordCount {
				t.Fatalf("exit %d, %+v; stderr %s", r.code, got, r.stderr)
			}
		})
	}
}

// noncanonical-flat.car is signed correctly and accepted by the reference's
// verifyRepoCar, but its 20 records sit in one node whatever their layers;
// the generator wrote it to prove that arbor checks the tree's shape.
func TestVerifyRejectsNonCanonicalTreeTheReferenceAccepts(t *testing.T) {
	g := testfixtures.ReadGoldenRepo(t, "noncanonical-flat")
	var got struct {
		Valid    bool `json:"valid"`
		Problems []struct {
			Kind  string `json:"kind"`
			Error string `json:"error"`
		} `json:"problems"`
	}
	r := runJSON(t, &got, "verify", "--json", "--key", g.SigningKey, filepath.Join("..", "golden", "repos", "noncanonical-flat.car"))
	if r.code != ExitFail || got.Valid {
		t.Fatalf("exit %d valid %v, want exit 1", r.code, got.Valid)
	}
	var layer, root bool
	for _, p := range got.Problems {
		if p.Kind != "mst" {
			t.Errorf("unexpected %s problem: %s", p.Kind, p.Error)
		}
		layer = layer || strings.Contains(p.Error, "wrong layer")
		root = root || strings.Contains(p.Error, "rebuilt")
	}
	if !layer || !root {
		t.Fatalf("want wrong-layer and rebuilt-root problems, got %+v", got.Problems)
	}
}

// export then create gives back the reference's MST root for every golden
// repo, including r300, whose 364-character record key cannot be a file
// name and goes through _long_keys.jsonl.
func TestExportThenCreateGivesReferenceRoot(t *testing.T) {
	for car, g := range loadGoldenRepos(t) {
		t.Run(filepath.Base(car), func(t *testing.T) {
			dir := t.TempDir()
			if r := run(t, "", "export", car, filepath.Join(dir, "x")); r.code != 0 {
				t.Fatalf("export: exit %d: %s", r.code, r.stderr)
			}
			if r := run(t, "", "key", "generate", "-o", filepath.Join(dir, "key")); r.code != 0 {
				t.Fatalf("key: %s", r.stderr)
			}
			out := filepath.Join(dir, "out.car")
			if r := run(t, "", "create", "--did", g.DID, "--key", filepath.Join(dir, "key"), out, filepath.Join(dir, "x")); r.code != 0 {
				t.Fatalf("create: exit %d: %s", r.code, r.stderr)
			}
			var got struct {
				Commit struct {
					Data string `json:"data"`
				} `json:"commit"`
				Records int `json:"records"`
			}
			runJSON(t, &got, "inspect", "--json", out)
			if got.Commit.Data != g.DataCID || got.Records != g.RecordCount {
				t.Fatalf("rebuilt root %s with %d records, reference %s with %d", got.Commit.Data, got.Records, g.DataCID, g.RecordCount)
			}
		})
	}
}
