package diff

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// blocksOf copies an archive's blocks into a map that tests can damage.
func blocksOf(t *testing.T, a *archive.Bodies) mst.MapSource {
	t.Helper()
	m := mst.MapSource{}
	for _, c := range a.Order() {
		b, err := a.Get(c)
		if err != nil {
			t.Fatal(err)
		}
		m[c] = b
	}
	return m
}

// forge re-encodes the slice's commit with a change and stores it as the
// new root (the signature no longer matches, which only --key can see).
func forge(t *testing.T, blocks mst.MapSource, root cid.Cid, change func(*repo.Commit)) cid.Cid {
	t.Helper()
	c, err := repo.DecodeCommit(blocks[root])
	if err != nil {
		t.Fatal(err)
	}
	change(c)
	b, err := c.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.CID()
	if err != nil {
		t.Fatal(err)
	}
	blocks[id] = b
	return id
}

// Slices that do not fit their base are refused before anything is
// emitted, with an error saying why.
func TestApplySliceRefusesSlicesThatDoNotFit(t *testing.T) {
	dir := filepath.Join(golden, "mixed-100")
	oldA := readArchive(t, filepath.Join(dir, "old.car"))
	newA := readArchive(t, filepath.Join(dir, "new.car"))
	sliceA := readArchive(t, filepath.Join(dir, "slice.car"))
	res, err := Compare(oldA, oldA.Data, newA, newA.Data)
	if err != nil {
		t.Fatal(err)
	}
	node := res.CreatedNodes[0]
	record := res.CreatedRecords[0]
	other := readArchive(t, filepath.Join("..", "golden", "repos", "p256-50.car"))
	ten := readArchive(t, filepath.Join("..", "golden", "repos", "ten.car"))

	cases := []struct {
		name   string
		base   *archive.Bodies
		damage func(m mst.MapSource, root cid.Cid) cid.Cid
		want   []error
		named  cid.Cid // a CID the error must name
	}{
		{"repo of another DID", other, nil, []error{ErrSliceMismatch}, cid.Undef},
		{"unrelated snapshot of the same DID", ten, nil, []error{ErrSliceMismatch, mst.ErrMissingBlock}, cid.Undef},
		{"slice older than base", newA, nil, []error{ErrSliceMismatch}, cid.Undef},
		{"slice lacks an MST node", oldA, func(m mst.MapSource, root cid.Cid) cid.Cid { delete(m, node); return root },
			[]error{ErrSliceMismatch, mst.ErrMissingBlock}, node},
		{"slice lacks a record", oldA, func(m mst.MapSource, root cid.Cid) cid.Cid { delete(m, record); return root },
			[]error{ErrSliceMismatch, mst.ErrMissingBlock}, record},
		{"forged commit: data points elsewhere", oldA, func(m mst.MapSource, root cid.Cid) cid.Cid {
			return forge(t, m, root, func(c *repo.Commit) { c.Data = val(12345) })
		}, []error{ErrSliceMismatch, mst.ErrMissingBlock}, val(12345)},
		{"forged commit: another DID", oldA, func(m mst.MapSource, root cid.Cid) cid.Cid {
			return forge(t, m, root, func(c *repo.Commit) { c.DID = "did:plc:someoneelse2345678901234" })
		}, []error{ErrSliceMismatch}, cid.Undef},
		{"root is an MST node", oldA, func(m mst.MapSource, root cid.Cid) cid.Cid { return newA.Data },
			[]error{repo.ErrNotACommit}, cid.Undef},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blocks := blocksOf(t, sliceA)
			root := sliceA.Root
			if c.damage != nil {
				root = c.damage(blocks, root)
			}
			if c.name == "root is an MST node" {
				blocks[newA.Data], _ = newA.Get(newA.Data)
			}
			emitted := 0
			_, err := ApplySlice(RootedBlocks{Blocks: c.base, Root: c.base.Root}, RootedBlocks{Blocks: blocks, Root: root},
				func(cid.Cid, []byte) error { emitted++; return nil })
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("error %v, want %v", err, w)
				}
			}
			if emitted != 0 {
				t.Errorf("%d blocks emitted for a slice that does not fit", emitted)
			}
			if c.named.Defined() && (err == nil || !strings.Contains(err.Error(), c.named.String())) {
				t.Errorf("error %v does not name %s", err, c.named)
			}
		})
	}
}
