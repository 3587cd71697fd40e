package build

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/repo"
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
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
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
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	a, err := repo.ReadArchive(f, repo.LoadOptions{})
	if err != nil {
		return wrap(ErrInvalidOutput, err)
	}
	rep, err := a.Verify(repo.VerifyOptions{Key: pub})
	if err != nil {
		return wrap(ErrInvalidOutput, err)
	}
	if !rep.Valid() {
		return fmt.Errorf("%w: %d problems, first: %w", ErrInvalidOutput, len(rep.Problems), rep.Problems[0])
	}
	if a.Root != wantCommit {
		return fmt.Errorf("%w: root is %s, want %s", ErrInvalidOutput, a.Root, wantCommit)
	}
	if rep.Records != wantRecords {
		return fmt.Errorf("%w: %d records, want %d", ErrInvalidOutput, rep.Records, wantRecords)
	}
	return nil
}
