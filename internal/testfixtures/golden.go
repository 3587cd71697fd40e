package testfixtures

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// GoldenRepo is the facts file golden/repos/NAME.json that the reference
// implementation wrote beside NAME.car (see golden/repos/README.md).
type GoldenRepo struct {
	Name         string         `json:"name"`
	DID          string         `json:"did"`
	SigningKey   string         `json:"signingKey"`
	CommitCID    string         `json:"commitCid"`
	DataCID      string         `json:"dataCid"`
	Rev          string         `json:"rev"`
	Version      int            `json:"version"`
	RecordCount  int            `json:"recordCount"`
	Collections  map[string]int `json:"collections"`
	BlockCount   int            `json:"blockCount"`
	MSTNodeCount int            `json:"mstNodeCount"`
	MSTDepth     int            `json:"mstDepth"`
	MSTRootLayer int            `json:"mstRootLayer"`
	Records      []GoldenRecord `json:"records"`
}

// GoldenRecord is one record of a GoldenRepo, in key order.
type GoldenRecord struct {
	Path string `json:"path"`
	CID  string `json:"cid"`
}

// GoldenRepoPath returns the path of golden/repos/NAME.EXT.
func GoldenRepoPath(tb testing.TB, name, ext string) string {
	tb.Helper()
	return filepath.Join(Root(tb), "golden", "repos", name+ext)
}

// ReadGoldenRepo reads golden/repos/NAME.json; a missing or malformed file
// fails the test.
func ReadGoldenRepo(tb testing.TB, name string) GoldenRepo {
	tb.Helper()
	b, err := os.ReadFile(GoldenRepoPath(tb, name, ".json"))
	if err != nil {
		tb.Fatal(err)
	}
	var g GoldenRepo
	if err := json.Unmarshal(b, &g); err != nil {
		tb.Fatalf("golden/repos/%s.json: %v", name, err)
	}
	return g
}

// CheckCollections fails the test unless got (records per collection) holds
// exactly the collections and counts of the reference.
func (g GoldenRepo) CheckCollections(tb testing.TB, got map[string]int) {
	tb.Helper()
	if len(got) != len(g.Collections) {
		tb.Errorf("collections %v, reference %v", got, g.Collections)
	}
	for k, n := range g.Collections {
		if got[k] != n {
			tb.Errorf("collection %s: %d records, reference %d", k, got[k], n)
		}
	}
}
