package build

import (
	"bufio"
	"errors"
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

// GenerateKey makes a new private key of type "k256" or "p256".
func GenerateKey(keyType string) (atcrypto.PrivateKeyExportable, error) {
	switch keyType {
	case "k256":
		return atcrypto.GeneratePrivateKeyK256()
	case "p256":
		return atcrypto.GeneratePrivateKeyP256()
	}
	return nil, fmt.Errorf("%w: key type %q (want k256 or p256)", ErrBadOption, keyType)
}

// WriteKeyFile writes key's multibase form and a newline to a new file at
// path with mode 0600. It never overwrites an existing file
// (ErrKeyFileExists) and leaves nothing behind on failure.
func WriteKeyFile(path string, key atcrypto.PrivateKeyExportable) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrKeyFileExists, path)
		}
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	// The umask may have narrowed the mode; never widen it, but make sure
	// no one else can read the key even if the umask allowed it.
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := io.WriteString(f, key.Multibase()+"\n"); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}
