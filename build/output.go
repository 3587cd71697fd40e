package build

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/ipfs/go-cid"
)

// WriteFileAtomic creates path through a temporary file in the same
// directory: write fills the temporary file, check (when not nil) examines
// it once it is complete and closed, and only then is it renamed to path,
// with mode perm. On any failure the temporary file is removed and path is
// left as it was: no half-written or unverified output is ever visible.
func WriteFileAtomic(path string, perm os.FileMode, write func(w io.Writer) error, check func(tmp string) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	aw := newAsyncWriter(f, 1<<20)
	if err := write(aw); err != nil {
		aw.Close()
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if check != nil {
		if err := check(tmp); err != nil {
			return err
		}
	}
	return os.Rename(tmp, path)
}

// CheckCAR reads the repository CAR at path and verifies it (every block,
// the commit, the MST's canonical shape, every record present), the
// signature against pub when pub is not nil, and that its root is
// wantCommit and it holds wantRecords records. Errors wrap ErrInvalidOutput.
func CheckCAR(path string, pub atcrypto.PublicKey, wantCommit cid.Cid, wantRecords int) error {
	return CheckCARWith(path, pub, wantCommit, wantRecords, nil)
}

// CheckCARWith is CheckCAR telling progress (when not nil) how it goes:
// "reading back" (bytes of the file), then "verifying".
func CheckCARWith(path string, pub atcrypto.PublicKey, wantCommit cid.Cid, wantRecords int, progress ProgressFunc) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	progress.tell("reading back", "", 0, size)
	opts := archive.Options{}
	if progress != nil {
		opts.Progress = func(n int64) { progress("reading back", "", n, size) }
	}
	a, err := archive.Read(f, opts)
	if err != nil {
		return wrap(ErrInvalidOutput, err)
	}
	progress.tell("verifying", "", 0, 0)
	rep, err := a.Verify(archive.VerifyOptions{Key: pub})
	if err != nil {
		return wrap(ErrInvalidOutput, err)
	}
	if !rep.Valid() {
		return fmt.Errorf("%w: %s, first: %w", ErrInvalidOutput, problemCount(len(rep.Problems)), rep.Problems[0])
	}
	if a.Root != wantCommit {
		return fmt.Errorf("%w: root is %s, want %s", ErrInvalidOutput, a.Root, wantCommit)
	}
	if rep.Records != wantRecords {
		return fmt.Errorf("%w: %d records, want %d", ErrInvalidOutput, rep.Records, wantRecords)
	}
	return nil
}

// asyncWriter buffers writes and hands each full buffer to a goroutine
// that writes it to w, so that producing the next megabyte overlaps the
// system call writing the last one (a CAR of hundreds of megabytes spends
// a good part of its writing time in the kernel).
type asyncWriter struct {
	buf  []byte
	full chan []byte
	free chan []byte
	done chan struct{}
	err  error // the first write error; read only once fail or done is closed
	fail chan struct{}
	once bool
}

func newAsyncWriter(w io.Writer, size int) *asyncWriter {
	a := &asyncWriter{
		buf:  make([]byte, 0, size),
		full: make(chan []byte, 2),
		free: make(chan []byte, 3),
		done: make(chan struct{}),
		fail: make(chan struct{}),
	}
	for range 2 {
		a.free <- make([]byte, 0, size)
	}
	go func() {
		defer close(a.done)
		for b := range a.full {
			if a.err == nil {
				if _, err := w.Write(b); err != nil {
					a.err = err
					close(a.fail)
				}
			}
			a.free <- b[:0]
		}
	}()
	return a
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		select {
		case <-a.fail: // closed after err is set
			return n, a.err
		default:
		}
		k := copy(a.buf[len(a.buf):cap(a.buf)], p)
		a.buf = a.buf[:len(a.buf)+k]
		p, n = p[k:], n+k
		if len(a.buf) == cap(a.buf) {
			a.full <- a.buf
			a.buf = <-a.free
		}
	}
	return n, nil
}

// Close writes what is buffered, waits for every write to finish and
// returns the first error. The writer cannot be used afterwards.
func (a *asyncWriter) Close() error {
	if a.once {
		return a.err
	}
	a.once = true
	if len(a.buf) > 0 {
		a.full <- a.buf
	}
	close(a.full)
	<-a.done
	return a.err
}

// problemCount says "1 problem" or "N problems".
func problemCount(n int) string {
	if n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", n)
}
