// Package atomicfile is the one way arbor replaces a file: write a
// temporary file in the same folder, flush it to disk, rename it over the
// target and flush the folder, so that a reader (or a crash, or SIGKILL)
// sees the old file or the new one whole, never half of one. Every command
// output (create, rewrite, apply, diff --car, fetch), the files of a backup,
// the kept login sessions, a migration's state file and the local PDS's
// blobs and serve file go through it.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Temp is a temporary file that becomes its target only on Commit.
type Temp struct {
	f    *os.File
	done bool
}

// Create makes a temporary file in dir whose name follows pattern (as
// os.CreateTemp's: "*" is replaced by a random string). Name it hidden
// (".name.*.tmp") so that a folder listing does not show it as an output.
func Create(dir, pattern string) (*Temp, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &Temp{f: f}, nil
}

// File is the open temporary file, to write to (and read back).
func (t *Temp) File() *os.File { return t.f }

// Name is the temporary file's path.
func (t *Temp) Name() string { return t.f.Name() }

// Commit sets the file's mode to perm, flushes it to disk, closes it,
// renames it to path and flushes the folder. On error the temporary file is
// removed and path is left as it was.
func (t *Temp) Commit(path string, perm os.FileMode) (err error) {
	defer func() {
		if err != nil {
			t.Discard()
		}
	}()
	if err := t.f.Chmod(perm); err != nil {
		return err
	}
	if err := t.f.Sync(); err != nil {
		return err
	}
	if err := t.f.Close(); err != nil {
		return err
	}
	if err := os.Rename(t.f.Name(), path); err != nil {
		return err
	}
	t.done = true
	return syncDir(filepath.Dir(path))
}

// Discard closes and removes the temporary file; after Commit it does
// nothing. It is safe to defer.
func (t *Temp) Discard() {
	if t.done {
		return
	}
	t.done = true
	t.f.Close()
	os.Remove(t.f.Name())
}

// syncDir flushes a folder's entries (the rename) to disk. Systems that
// cannot sync a folder (an error on open or sync) are not an error: the
// rename itself is still atomic there.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}

// WriteFile creates path through a temporary file in the same folder: write
// fills it (through a writer that overlaps the system calls writing one
// megabyte with the work producing the next), check (when not nil)
// examines the complete, closed file, and only then is it committed with
// mode perm. On any failure path is left as it was: no half-written or
// unverified output is ever visible.
func WriteFile(path string, perm os.FileMode, write func(w io.Writer) error, check func(tmp string) error) error {
	t, err := Create(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer t.Discard()
	aw := newAsyncWriter(t.f, 1<<20)
	if err := write(aw); err != nil {
		aw.Close()
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	if check != nil {
		if err := check(t.f.Name()); err != nil {
			return err
		}
	}
	return t.Commit(path, perm)
}

// WriteBytes replaces path with data, a small file written whole (a state,
// session or manifest file), through a temporary file in the same folder
// named after pattern (see Create) and committed with mode perm. On failure
// path is left as it was.
func WriteBytes(path, pattern string, data []byte, perm os.FileMode) error {
	t, err := Create(filepath.Dir(path), pattern)
	if err != nil {
		return err
	}
	defer t.Discard()
	if _, err := t.f.Write(data); err != nil {
		return err
	}
	return t.Commit(path, perm)
}

// Move renames a complete file (one committed elsewhere in the same file
// system, such as a staging folder) over path and flushes path's folder:
// a reader sees the old file or the new one.
func Move(from, path string) error {
	if err := os.Rename(from, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}
