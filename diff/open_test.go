package diff

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
	"github.com/arbor-atproto/arbor/mst"
)

// readWhole reads name with archive.ReadNodes and records that it was asked.
func readWhole(t *testing.T, asked *[]string) ReadWhole {
	return func(name string, bodies bool) (*archive.Archive, error) {
		*asked = append(*asked, name)
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return archive.ReadNodes(f, archive.Options{})
	}
}

// A regular file is indexed and read on demand; anything else (standard
// input, a missing file) is handed to the whole-file reader, whose error
// comes back as it is; a file whose index fails is an *OpenError naming it.
func TestOpenPairIndexesRegularFilesAndReadsTheRestWhole(t *testing.T) {
	one := testfixtures.GoldenRepoPath(t, "one", ".car")
	want := testfixtures.ReadGoldenRepo(t, "one")
	garbage := filepath.Join(t.TempDir(), "garbage.car")
	if err := os.WriteFile(garbage, []byte("not a car file"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.car")
	tests := []struct {
		name      string
		old, new  string
		wantRead  [2]string
		wantAsked int
		wantErr   func(error) bool
	}{
		{name: "both regular files are indexed", old: one, new: one, wantRead: [2]string{ReadIndex, ReadIndex}},
		{name: "standard input is read whole", old: Stdin, new: one, wantAsked: 1,
			wantErr: func(err error) bool { return err != nil && !errors.As(err, new(*OpenError)) }},
		{name: "a missing file is read whole, its error as it is", old: one, new: missing, wantAsked: 1,
			wantErr: func(err error) bool { return errors.Is(err, os.ErrNotExist) && !errors.As(err, new(*OpenError)) }},
		{name: "an unindexable file is an OpenError naming it", old: garbage, new: one,
			wantErr: func(err error) bool {
				var oe *OpenError
				return errors.As(err, &oe) && oe.File == garbage
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked []string
			oldS, newS, err := OpenPair(tt.old, tt.new, false, readWhole(t, &asked))
			if len(asked) != tt.wantAsked {
				t.Errorf("whole-file reader asked for %v, want %d files", asked, tt.wantAsked)
			}
			if tt.wantErr != nil {
				if !tt.wantErr(err) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer oldS.Close()
			defer newS.Close()
			for i, s := range []*Opened{oldS, newS} {
				if s.Read != tt.wantRead[i] {
					t.Errorf("side %d read %q, want %q", i, s.Read, tt.wantRead[i])
				}
				if s.Commit == nil || s.Root.String() != want.CommitCID || s.Data.String() != want.DataCID || s.BareTree() {
					t.Errorf("side %d: root %s data %s commit %v, want commit %s data %s", i, s.Root, s.Data, s.Commit, want.CommitCID, want.DataCID)
				}
				if !s.Blocks.Has(s.Data) {
					t.Errorf("side %d lacks its MST root", i)
				}
				if err := s.Wait(); err != nil {
					t.Errorf("side %d framing: %v", i, err)
				}
			}
			res, err := Ops(oldS.Blocks, oldS.Data, newS.Blocks, newS.Data)
			if err != nil || len(res.Ops) != 0 {
				t.Errorf("a file against itself: %v ops, err %v", res, err)
			}
		})
	}
}

// An indexed file reports a block it does not hold as mst.ErrMissingBlock,
// as the tree walks expect.
func TestOpenPairIndexedMissingBlockIsErrMissingBlock(t *testing.T) {
	one := testfixtures.GoldenRepoPath(t, "one", ".car")
	oldS, newS, err := OpenPair(one, one, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer oldS.Close()
	defer newS.Close()
	absent, err := cid.Decode("bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oldS.Blocks.Get(absent); !errors.Is(err, mst.ErrMissingBlock) {
		t.Errorf("Get of an absent block: %v, want mst.ErrMissingBlock", err)
	}
}
