package testfixtures

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// MSTDiffCase is one case of the interop mst-test-suite's tests-sample
// folder: two bare MST CARs (paths relative to the suite, see
// MSTSuitePath) and what diffing them gives, as the suite lists it.
type MSTDiffCase struct {
	Name        string `json:"-"` // the file name without .json
	Type        string `json:"$type"`
	Description string `json:"description"`
	Inputs      struct {
		A string `json:"mst_a"`
		B string `json:"mst_b"`
	} `json:"inputs"`
	Results struct {
		Created   []string      `json:"created_nodes"`
		Deleted   []string      `json:"deleted_nodes"`
		RecordOps []MSTRecordOp `json:"record_ops"`
		Proof     []string      `json:"proof_nodes"`
		Inductive []string      `json:"inductive_proof_nodes"`
		// Firehose is kept raw; a test decodes the shape it checks.
		Firehose json.RawMessage `json:"firehose_cids"`
	} `json:"results"`
}

// MSTRecordOp is one record operation of an MSTDiffCase: Old nil for a
// create, New nil for a delete.
type MSTRecordOp struct {
	Path string  `json:"rpath"`
	Old  *string `json:"old_value"`
	New  *string `json:"new_value"`
}

// MSTSuitePath returns the path of parts inside the mst-test-suite.
func MSTSuitePath(tb testing.TB, parts ...string) string {
	tb.Helper()
	return Join(tb, append([]string{"interop", "mst-test-suite"}, parts...)...)
}

// MSTDiffCases returns every case of tests-sample, in file-name order; no
// case, or one that cannot be read, fails the test.
func MSTDiffCases(tb testing.TB) []MSTDiffCase {
	tb.Helper()
	files, err := filepath.Glob(MSTSuitePath(tb, "tests-sample", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no mst-test-suite cases found: %v", err)
	}
	cases := make([]MSTDiffCase, 0, len(files))
	for _, f := range files {
		cases = append(cases, MSTDiffCaseNamed(tb, strings.TrimSuffix(filepath.Base(f), ".json")))
	}
	return cases
}

// MSTDiffCaseNamed returns the case tests-sample/NAME.json.
func MSTDiffCaseNamed(tb testing.TB, name string) MSTDiffCase {
	tb.Helper()
	c := MSTDiffCase{Name: name}
	if err := json.Unmarshal(Read(tb, "interop", "mst-test-suite", "tests-sample", name+".json"), &c); err != nil {
		tb.Fatalf("%s.json: %v", name, err)
	}
	return c
}
