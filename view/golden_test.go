package view

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/arbor-atproto/arbor/archive"
)

// goldenDir holds repositories made by the reference implementation, with
// facts about each read back from the reference's own objects.
var goldenDir = filepath.Join("..", "golden", "repos")

// goldenRepo is what golden/repos/NAME.json says about NAME.car.
type goldenRepo struct {
	Name         string         `json:"name"`
	DID          string         `json:"did"`
	SigningKey   string         `json:"signingKey"`
	CommitCID    string         `json:"commitCid"`
	DataCID      string         `json:"dataCid"`
	Rev          string         `json:"rev"`
	RecordCount  int            `json:"recordCount"`
	Collections  map[string]int `json:"collections"`
	MSTNodeCount int            `json:"mstNodeCount"`
	MSTDepth     int            `json:"mstDepth"`
	MSTRootLayer int            `json:"mstRootLayer"`
	Records      []struct {
		Path string `json:"path"`
		CID  string `json:"cid"`
	} `json:"records"`
}

// canonicalGolden are the valid golden repositories (noncanonical-flat is
// invalid on purpose and has no depth facts).
var canonicalGolden = []string{"empty", "one", "ten", "p256-50", "r300", "r2000"}

func loadGolden(t testing.TB, name string) (goldenRepo, *archive.Archive) {
	t.Helper()
	var g goldenRepo
	b, err := os.ReadFile(filepath.Join(goldenDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g, readCAR(t, filepath.Join(goldenDir, name+".car"))
}

func readCAR(t testing.TB, path string) *archive.Archive {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := archive.ReadArchive(f, archive.LoadOptions{KeepBodies: true})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return a
}
