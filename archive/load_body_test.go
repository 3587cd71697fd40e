package archive

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"
)

// goldenCARs are the repositories the reference implementation made
// (golden/repos, see its README).
func goldenCARs(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("..", "golden", "repos", "*.car"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no golden CARs: %v", err)
	}
	return names
}

// readKept reads the CAR at name with every body kept: the reference the
// lazy reads are compared with. It returns the file's bytes too.
func readKept(t *testing.T, name string) ([]byte, *Archive) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := read(bytes.NewReader(data), loadOptions{KeepBodies: true})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return data, kept
}

// openLazy reads the CAR at name with Lazy from its file, which stays open
// until the test ends.
func openLazy(t *testing.T, name string) *Archive {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	a, err := read(f, loadOptions{Lazy: true})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return a
}

// copyToTemp copies a file into the test's temporary directory.
func copyToTemp(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), filepath.Base(name))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sameBlocks checks that every block and every record of want reads the
// same from got, errors included, and returns how many record bodies got
// served without keeping them.
func sameBlocks(t *testing.T, want, got *Archive) (fetched int) {
	t.Helper()
	if want.DistinctBlocks() != got.DistinctBlocks() || want.Root != got.Root || want.Data != got.Data {
		t.Fatalf("archives differ: %d/%d blocks, root %s/%s, data %s/%s", want.DistinctBlocks(), got.DistinctBlocks(),
			want.Root, got.Root, want.Data, got.Data)
	}
	for _, c := range want.order() {
		wb, werr := want.Get(c)
		gb, gerr := got.Get(c)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(wb, gb) {
			t.Fatalf("Get(%s): kept %d bytes, err %v; lazy %d bytes, err %v", c, len(wb), werr, len(gb), gerr)
		}
		if i := got.store.lookup(c); got.store.body(i) == nil && gerr == nil {
			fetched++
		}
	}
	err := want.Walk(func(key []byte, val cid.Cid) error {
		wc, wb, wf, werr := want.record(string(key))
		gc, gb, gf, gerr := got.record(string(key))
		if wc != gc || wf != gf || (werr == nil) != (gerr == nil) || !bytes.Equal(wb, gb) {
			t.Fatalf("Record(%s): kept %s %v %d bytes err %v; lazy %s %v %d bytes err %v", key, wc, wf, len(wb), werr, gc, gf, len(gb), gerr)
		}
		return nil
	})
	// A malformed tree (noncanonical-flat) stops both walks the same way.
	gerr := got.Walk(func([]byte, cid.Cid) error { return nil })
	if (err == nil) != (gerr == nil) || (err != nil && err.Error() != gerr.Error()) {
		t.Fatalf("walk: kept %v, lazy %v", err, gerr)
	}
	return fetched
}

func TestLazyBodiesEqualKeptBodies(t *testing.T) {
	for _, name := range goldenCARs(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			_, kept := readKept(t, name)
			lazy := openLazy(t, name)
			if !lazy.lazy() {
				t.Fatal("archive read from a regular file with Lazy is not lazy")
			}
			fetched := sameBlocks(t, kept, lazy)
			records := 0
			kept.Walk(func([]byte, cid.Cid) error { records++; return nil })
			if records > 0 && fetched == 0 {
				t.Errorf("%d records but no body was fetched from the file: all were kept", records)
			}
		})
	}
}

// TestLazyReadsFromWhereTheCARStarts: a CAR that starts part-way into a
// file (the reader positioned after a prefix) is fetched from the right
// bytes.
func TestLazyReadsFromWhereTheCARStarts(t *testing.T) {
	for _, prefix := range []int{1, 4096, 100_000} {
		name := filepath.Join("..", "golden", "repos", "r300.car")
		data, kept := readKept(t, name)
		p := filepath.Join(t.TempDir(), "prefixed.car")
		if err := os.WriteFile(p, append(bytes.Repeat([]byte{0xa5}, prefix), data...), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Seek(int64(prefix), io.SeekStart); err != nil {
			t.Fatal(err)
		}
		lazy, err := read(f, loadOptions{Lazy: true})
		if err != nil {
			t.Fatal(err)
		}
		if !lazy.lazy() || sameBlocks(t, kept, lazy) == 0 {
			t.Errorf("prefix %d: no body fetched lazily", prefix)
		}
	}
}

func TestLazyFileChangedAfterReadingIsAnError(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, path string, off int64, n int)
		want   error
	}{
		{"a byte of the record flipped", func(t *testing.T, path string, off int64, n int) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			b := make([]byte, 1)
			f.ReadAt(b, off+int64(n)/2)
			b[0] ^= 0x01
			if _, err := f.WriteAt(b, off+int64(n)/2); err != nil {
				t.Fatal(err)
			}
		}, ErrFileChanged},
		{"file truncated inside the record", func(t *testing.T, path string, off int64, n int) {
			if err := os.Truncate(path, off+int64(n)-1); err != nil {
				t.Fatal(err)
			}
		}, io.ErrUnexpectedEOF},
		{"file emptied", func(t *testing.T, path string, off int64, n int) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}, ErrFileChanged},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := copyToTemp(t, filepath.Join("..", "golden", "repos", "r300.car"))
			a := openLazy(t, p)
			// The last record in the tree, and where its body lies.
			var path string
			var rc cid.Cid
			a.Walk(func(key []byte, val cid.Cid) error { path, rc = string(key), val; return nil })
			i := a.store.lookup(rc)
			off, n, ok := a.store.loc(i)
			if !ok {
				t.Fatalf("record %s has no location", path)
			}
			if _, err := a.Get(rc); err != nil {
				t.Fatalf("before the change: %v", err)
			}
			tc.change(t, p, off, n)
			_, err := a.Get(rc)
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrFileChanged) {
				t.Errorf("Get after the change: %v, want %v", err, tc.want)
			}
			_, body, found, err := a.record(path)
			if !found || body != nil || !errors.Is(err, ErrFileChanged) {
				t.Errorf("Record after the change: found %v, %d bytes, err %v", found, len(body), err)
			}
		})
	}
}

// notReaderAt hides every method of a reader but Read.
type notReaderAt struct{ io.Reader }

func TestLazyFallsBackToKeepingBodies(t *testing.T) {
	name := filepath.Join("..", "golden", "repos", "r300.car")
	data, kept := readKept(t, name)
	tests := []struct {
		name string
		open func(t *testing.T) io.Reader
	}{
		{"a pipe, as standard input", func(t *testing.T) io.Reader {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			go func() { pw.Write(data); pw.Close() }()
			t.Cleanup(func() { pr.Close() })
			return pr
		}},
		{"a reader that cannot read at an offset", func(t *testing.T) io.Reader {
			return notReaderAt{bytes.NewReader(data)}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := read(tc.open(t), loadOptions{Lazy: true})
			if err != nil {
				t.Fatal(err)
			}
			if a.lazy() {
				t.Fatal("archive is lazy")
			}
			if n := sameBlocks(t, kept, a); n != 0 {
				t.Errorf("%d bodies were not kept", n)
			}
		})
	}
}

func TestLazyGetIsSafeForConcurrentUse(t *testing.T) {
	name := filepath.Join("..", "golden", "repos", "r2000.car")
	a := openLazy(t, name)
	_, kept := readKept(t, name)
	cids := a.order()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(cids); i += 4 {
				got, gerr := a.Get(cids[i])
				want, werr := kept.Get(cids[i])
				if (gerr == nil) != (werr == nil) || !bytes.Equal(got, want) {
					errs <- errors.New("different bytes or error for " + cids[i].String())
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestBlockLocationsPackIntoOneWord(t *testing.T) {
	tests := []struct {
		name   string
		off    int64
		n      int
		stored bool
	}{
		{"small", 59, 120, true},
		{"empty block", 100, 0, true},
		{"largest offset", maxLocOff, 5, true},
		{"largest length", 1 << 30, maxLocLen, true},
		{"offset past 1 TiB", maxLocOff + 1, 5, false},
		{"length past 16 MiB", 100, maxLocLen + 1, false},
		{"offset zero (never a block's data)", 0, 5, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := blockStore{lazy: true}
			var d [32]byte
			i, _ := s.insert(&d, 0x71)
			if got := s.setLoc(i, tc.off, tc.n); got != tc.stored {
				t.Fatalf("setLoc = %v, want %v", got, tc.stored)
			}
			off, n, ok := s.loc(i)
			if ok != tc.stored || (ok && (off != tc.off || n != tc.n)) {
				t.Errorf("loc = %d, %d, %v", off, n, ok)
			}
		})
	}
}
