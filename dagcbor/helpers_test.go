package dagcbor

import (
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// dataModelFixtures returns the interop data-model fixtures (JSON, CBOR and
// CID of each).
func dataModelFixtures(tb testing.TB) []dataModelFixture {
	tb.Helper()
	return testfixtures.Cases[dataModelFixture](tb, "interop", "data-model", "data-model-fixtures.json")
}

// dataModelCases returns the cases of one interop data-model vector file
// (data-model-valid.json or data-model-invalid.json).
func dataModelCases(tb testing.TB, name string) []dataModelCase {
	tb.Helper()
	return testfixtures.Cases[dataModelCase](tb, "interop", "data-model", name)
}

// addDataModelJSON seeds a JSON fuzz target with every document of the
// interop data-model vectors: the fixtures and the valid and invalid cases.
func addDataModelJSON(f *testing.F) {
	f.Helper()
	for _, fx := range dataModelFixtures(f) {
		f.Add([]byte(fx.JSON))
	}
	for _, name := range []string{"data-model-valid.json", "data-model-invalid.json"} {
		for _, c := range dataModelCases(f, name) {
			f.Add([]byte(c.JSON))
		}
	}
}
