package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/lexicon"
)

// lexiconVector is one case of the interop lexicon vectors: a record
// (record-data-*.json) or a schema document (lexicon-*.json).
type lexiconVector struct {
	Name    string          `json:"name"`
	Data    json.RawMessage `json:"data"`
	Lexicon json.RawMessage `json:"lexicon"`
}

func readLexiconVectors(t *testing.T, name string) []lexiconVector {
	t.Helper()
	return testfixtures.Cases[lexiconVector](t, "interop", "lexicon", name)
}

// invalidRecordRules is the rule arbor names first for each invalid
// record vector, in file order (reviewed by hand against each case's data
// and the example.lexicon.record schema). The three "unknown wrong type"
// vectors also lack the required "integer"; the type problem comes first
// in record order.
var invalidRecordRules = []string{
	lexicon.RuleRequired, lexicon.RuleType, lexicon.RuleType, lexicon.RuleType, lexicon.RuleType, // missing, boolean, integer, null string, string
	lexicon.RuleType, lexicon.RuleType, lexicon.RuleType, lexicon.RuleType, lexicon.RuleType, lexicon.RuleType, // bytes x3, cid-link, blob x2
	lexicon.RuleType, lexicon.RuleType, lexicon.RuleType, lexicon.RuleType, lexicon.RuleType, lexicon.RuleType, // array, element, object, nested, token ref, ref
	lexicon.RuleFormat, lexicon.RuleFormat, lexicon.RuleFormat, lexicon.RuleFormat, lexicon.RuleFormat, lexicon.RuleFormat, // handle did atid nsid aturi cid
	lexicon.RuleFormat, lexicon.RuleFormat, lexicon.RuleFormat, lexicon.RuleFormat, lexicon.RuleFormat, // datetime language uri tid recordkey
	lexicon.RuleConst, lexicon.RuleEnum, lexicon.RuleRange, lexicon.RuleLength, lexicon.RuleLength, // const, enum, range, string short/long
	lexicon.RuleGraphemes, lexicon.RuleGraphemes, lexicon.RuleEnum, lexicon.RuleLength, lexicon.RuleLength, // graphemes x2, enum, bytes short/long
	lexicon.RuleLength, lexicon.RuleLength, lexicon.RuleBlobSize, lexicon.RuleBlobAccept, // array short/long, blob size/type
	lexicon.RuleType, lexicon.RuleUnion, lexicon.RuleUnion, lexicon.RuleUnion, lexicon.RuleType, // union: not object, no $type, closed x2, inner
	lexicon.RuleType, lexicon.RuleType, lexicon.RuleType, // unknown: bool, bytes, blob
}

// TestLexiconValidateInteropRecords runs every record vector through
// arbor lexicon validate --lexicon-dir (the vectors' catalog): the valid
// ones exit 0 and say valid, the invalid ones exit 1 with the rule above.
func TestLexiconValidateInteropRecords(t *testing.T) {
	catalog := filepath.Join(shared, "interop", "lexicon", "catalog")
	for _, set := range []struct {
		file  string
		valid bool
	}{{"record-data-valid.json", true}, {"record-data-invalid.json", false}} {
		vs := readLexiconVectors(t, set.file)
		if !set.valid && len(vs) != len(invalidRecordRules) {
			t.Fatalf("%s has %d cases, the rule table %d: review the table", set.file, len(vs), len(invalidRecordRules))
		}
		dir := t.TempDir()
		args := []string{"lexicon", "validate", "--json", "--lexicon-dir", catalog}
		for i, v := range vs {
			f := filepath.Join(dir, fmt.Sprintf("record-%02d.json", i))
			if err := os.WriteFile(f, v.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, f)
		}
		var rep lexicon.ValidateReport
		r := runJSON(t, &rep, args...)
		if want := map[bool]int{true: 0, false: 1}[set.valid]; r.code != want || len(rep.Records) != len(vs) {
			t.Fatalf("%s: exit %d (want %d), %d verdicts for %d cases", set.file, r.code, want, len(rep.Records), len(vs))
		}
		for i, v := range vs {
			got := rep.Records[i]
			switch {
			case set.valid && got.Status != lexicon.Valid:
				t.Errorf("%s %q: %s %v; want valid", set.file, v.Name, got.Status, got.Issues)
			case !set.valid && (got.Status != lexicon.Invalid || len(got.Issues) == 0):
				t.Errorf("%s %q: %s; want invalid", set.file, v.Name, got.Status)
			case !set.valid && got.Issues[0].Rule != invalidRecordRules[i]:
				t.Errorf("%s %q: first issue %v, want rule %s", set.file, v.Name, got.Issues[0], invalidRecordRules[i])
			}
		}
	}
}

// TestLexiconLintInteropSchemas runs every schema vector through arbor
// lexicon lint: lexicon-valid.json's exit 0, lexicon-invalid.json's exit 1
// with the reason; the vectors' catalog itself lints clean.
func TestLexiconLintInteropSchemas(t *testing.T) {
	for _, set := range []struct {
		file  string
		valid bool
	}{{"lexicon-valid.json", true}, {"lexicon-invalid.json", false}} {
		dir := t.TempDir()
		for _, v := range readLexiconVectors(t, set.file) {
			f := filepath.Join(dir, "schema.json")
			if err := os.WriteFile(f, v.Lexicon, 0o644); err != nil {
				t.Fatal(err)
			}
			var rep lexicon.LintReport
			r := runJSON(t, &rep, "lexicon", "lint", "--json", f)
			if ok := r.code == 0 && rep.Valid; ok != set.valid {
				t.Errorf("%s %q: exit %d, %+v", set.file, v.Name, r.code, rep.Files)
			}
			if !set.valid && (len(rep.Files) != 1 || rep.Files[0].Error == "") {
				t.Errorf("%s %q: no reason given: %+v", set.file, v.Name, rep.Files)
			}
		}
	}
	var rep lexicon.LintReport
	if r := runJSON(t, &rep, "lexicon", "lint", "--json", filepath.Join(shared, "interop", "lexicon", "catalog")); r.code != 0 || len(rep.Files) != 5 {
		t.Errorf("the vectors' catalog: exit %d, %+v", r.code, rep.Files)
	}
}
