package archive

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/ipfs/go-cid"
)

// ErrFileChanged: a record body read again from the file (loadOptions.Lazy)
// is not what was read and checked when the archive was loaded; the file
// was modified, truncated or replaced since.
var ErrFileChanged = errors.New("file changed since it was read")

// lazySource returns the io.ReaderAt record bodies can be fetched from and
// the offset in it where the CAR starts, or nil when r cannot serve reads
// at an offset: it is not an io.ReaderAt, or it is a file that is not a
// regular file (a pipe, a terminal: standard input). It must be called
// before anything is read from r.
func lazySource(r io.Reader) (io.ReaderAt, int64) {
	ra, ok := r.(io.ReaderAt)
	if !ok {
		return nil, 0
	}
	if f, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return nil, 0
		}
	}
	var base int64
	if sk, ok := r.(io.Seeker); ok {
		pos, err := sk.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, 0
		}
		base = pos
	}
	return ra, base
}

// Lazy reports whether the archive fetches record bodies from its file on
// demand (it was read with loadOptions.Lazy from a seekable file).
func (a *Archive) lazy() bool { return a.store.lazy }

// fetch reads entry i's bytes (block c) from the file at off and checks
// them against the digest they had when the archive was read.
func (a *Archive) fetch(i int, c cid.Cid, off int64, n int) ([]byte, error) {
	buf := make([]byte, n)
	m, err := a.src.ReadAt(buf, a.base+off)
	if m == n {
		err = nil // io.ReaderAt may say io.EOF along with the last bytes
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("block %s at byte %d: %w: %w", c, a.base+off, ErrFileChanged, err)
	}
	if sha256.Sum256(buf) != a.store.entry(i).digest {
		return nil, fmt.Errorf("block %s at byte %d: %w: its bytes no longer match the CID", c, a.base+off, ErrFileChanged)
	}
	return buf, nil
}
