package archive

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/arbor-atproto/arbor/internal/testfixtures"

	"github.com/arbor-atproto/arbor/mst"
)

// The corpus's repo_slice.car is a proof of one record: checked as such, it
// proves that record (with the CID its JSON gives), proves the absence of
// keys whose search path it holds, and cannot speak of keys whose path
// leaves it; as a whole repository it is incomplete.
func TestVerifyRecordChecksTheCorpusSliceAsAProof(t *testing.T) {
	raw := testfixtures.Read(t, "corpus", "indigo", "testing", "testdata", "repo_slice.car")
	var want struct{ CID string }
	if err := json.Unmarshal(testfixtures.Read(t, "corpus", "indigo", "testing", "testdata", "repo_slice_record.json"), &want); err != nil {
		t.Fatal(err)
	}
	a, err := read(bytes.NewReader(raw), loadOptions{CollectBadBlocks: true, CompactNodes: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path      string
		valid     bool
		found     bool
		sentinel  error // of the one problem when not valid
		recordCID string
	}{
		{"app.bsky.feed.post/3jquh3emtzo2o", true, true, nil, want.CID},
		{"app.bsky.feed.post/3jquh3emtzo2z", true, false, nil, ""},
		{"app.bsky.feed.post/3jquh3dxgi52o", false, true, ErrMissingRecord, ""}, // in the tree, block not in the slice
		{"app.bsky.feed.post/3jquh3dxgi52a", false, false, mst.ErrMissingBlock, ""},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r, err := a.Verify(VerifyOptions{Record: tc.path})
			if err != nil {
				t.Fatal(err)
			}
			if r.Valid() != tc.valid || r.Proof == nil || r.Proof.Found != tc.found {
				t.Fatalf("valid %v, proof %+v, problems %v", r.Valid(), r.Proof, r.Problems)
			}
			if tc.recordCID != "" && r.Proof.CID.String() != tc.recordCID {
				t.Errorf("record CID %s, want %s", r.Proof.CID, tc.recordCID)
			}
			if !tc.valid && (len(r.Problems) != 1 || !errors.Is(r.Problems[0].Err, tc.sentinel)) {
				t.Errorf("problems %v, want one wrapping %v", r.Problems, tc.sentinel)
			}
		})
	}
	if r, _ := a.Verify(VerifyOptions{}); r.Valid() {
		t.Error("the slice verified as a whole repository")
	}
}
