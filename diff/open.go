package diff

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// Read modes of an opened snapshot (Opened.Read, Side.Read).
const (
	ReadIndex = "index" // a regular file, mapped and read on demand
	ReadFull  = "full"  // read whole, every block checked
)

// BlockSet is what a diff needs of a snapshot's blocks: an archive.Archive
// (a full read) or an indexed file read on demand.
type BlockSet interface {
	mst.BlockSource
	Has(c cid.Cid) bool
}

// Opened is one side of a diff, opened by OpenPair: where its tree is and
// how to read it.
type Opened struct {
	Name      string
	Read      string // ReadIndex or ReadFull
	Root      cid.Cid
	Data      cid.Cid      // the MST root
	Commit    *repo.Commit // nil for a bare tree
	CommitErr error        // why the root is neither a commit nor a tree
	Blocks    BlockSet

	// wait returns once the framing scan of an index has settled (see
	// car.Index.Settle) with its verdict; nil for a file read in full.
	wait  func() error
	close func()
}

// BareTree reports whether the snapshot's root is an MST node.
func (s *Opened) BareTree() bool { return s.Commit == nil && s.CommitErr == nil }

// Wait returns once the framing scan of an indexed file has settled (as far
// as it was scanned), with its verdict: a bad section there is bad input
// even if the walk did not need it. A snapshot read in full returns nil.
func (s *Opened) Wait() error { return s.wait() }

// Close releases an indexed file's mapping.
func (s *Opened) Close() { s.close() }

// ReadWhole reads a snapshot that cannot be indexed (standard input, a pipe,
// a device) in full: with every block's bytes when bodies is set.
type ReadWhole func(name string, bodies bool) (*archive.Archive, error)

// OpenError is a file OpenPair could not index or whose root it could not
// read.
type OpenError struct {
	File string
	Err  error
}

func (e *OpenError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *OpenError) Unwrap() error { return e.Err }

// Stdin is the name that stands for standard input.
const Stdin = "-"

// OpenPair opens OLD and NEW at once. A regular file is indexed
// (car.OpenIndex with a background scan: mapped, its framing scanned on
// another goroutine as far as the walk needs, each block hash-checked when
// it is read), so the diff reads only the nodes it walks; standard input
// (Stdin) and anything else that is not a regular file is read in full by
// whole, whose errors are returned as they are. With bodies (field diffs,
// a slice), the index of every block, records included, is built in the
// background while the trees are walked. An indexed file that fails is an
// *OpenError. The caller closes both snapshots.
func OpenPair(oldName, newName string, bodies bool, whole ReadWhole) (oldS, newS *Opened, err error) {
	names := [2]string{oldName, newName}
	idx, errs := indexFiles(names)
	closeAll := func() {
		for _, ix := range idx {
			if ix != nil {
				_ = ix.Close()
			}
		}
	}
	var snaps [2]*Opened
	for i, name := range names {
		if errs[i] != nil {
			closeAll()
			return nil, nil, &OpenError{File: name, Err: errs[i]}
		}
		if idx[i] == nil {
			a, err := whole(name, bodies)
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			snaps[i] = &Opened{Name: name, Read: ReadFull, Root: a.Root, Data: a.Data, Commit: a.Commit,
				CommitErr: a.CommitErr, Blocks: a, wait: func() error { return nil }, close: func() {}}
			continue
		}
		s, err := openIndexed(name, idx[i])
		if err != nil {
			closeAll()
			return nil, nil, &OpenError{File: name, Err: err}
		}
		snaps[i] = s
		if bodies {
			go idx[i].IndexAll()
		}
	}
	return snaps[0], snaps[1], nil
}

// indexFiles opens the regular files among names as indexes, at once; the
// others are left nil.
func indexFiles(names [2]string) (idx [2]*car.Index, errs [2]error) {
	var wg sync.WaitGroup
	for i, name := range names {
		if !regularFile(name) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			idx[i], errs[i] = car.OpenIndex(name, car.WithBackgroundScan())
		}()
	}
	wg.Wait()
	return idx, errs
}

// regularFile reports whether name is a regular file (not standard input,
// a pipe or a device).
func regularFile(name string) bool {
	if name == Stdin {
		return false
	}
	st, err := os.Stat(name)
	return err == nil && st.Mode().IsRegular()
}

// openIndexed resolves an indexed file's root as archive.ReadNodes does:
// a commit, or an MST node for a bare tree.
func openIndexed(name string, ix *car.Index) (*Opened, error) {
	roots := ix.Roots()
	if len(roots) == 0 {
		return nil, archive.ErrNoRoot
	}
	s := &Opened{Name: name, Read: ReadIndex, Root: roots[0], Blocks: indexSource{ix}, wait: ix.Settle, close: func() { _ = ix.Close() }}
	b, err := ix.Get(s.Root)
	switch {
	case errors.Is(err, car.ErrNotFound):
		s.CommitErr = fmt.Errorf("root block %s is not in the file", s.Root)
		return s, nil
	case err != nil:
		return nil, err // a root whose bytes do not match: a full read fails too
	}
	s.Commit, s.Data, s.CommitErr = archive.ReadRoot(s.Root, b)
	return s, nil
}

// indexSource adapts a car.Index to mst.BlockSource: a block the file does
// not hold is reported with mst.ErrMissingBlock, as the tree walks expect.
type indexSource struct{ ix *car.Index }

// Get returns a block after checking its hash; see car.Index.Get.
func (s indexSource) Get(c cid.Cid) ([]byte, error) {
	b, err := s.ix.Get(c)
	if errors.Is(err, car.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", mst.ErrMissingBlock, err)
	}
	return b, err
}

// Has reports whether the file holds block c.
func (s indexSource) Has(c cid.Cid) bool { return s.ix.Has(c) }
