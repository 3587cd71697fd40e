package archive

import (
	"errors"
	"fmt"
	"os"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/ipfs/go-cid"
)

// ErrInvalidOutput: a repository CAR just written (by create, rewrite or
// apply) fails verification; the caller leaves the old output in place.
var ErrInvalidOutput = errors.New("output repository failed verification")

// Expect is what a CAR just written must be.
type Expect struct {
	Key     atcrypto.PublicKey // the signature is checked against it when not nil
	Commit  cid.Cid            // the root the writer computed
	Records int                // the records the writer wrote
}

// CheckWritten reads the repository CAR at path back and verifies it
// (every block, the commit, the MST's canonical shape, every record
// present, the signature when want.Key is set), and that its root and
// record count are what the writer meant. progress, when not nil, hears
// "reading back" (bytes of the file) and then "verifying". Errors wrap
// ErrInvalidOutput.
func CheckWritten(path string, want Expect, progress func(phase, unit string, done, total int64)) error {
	tell := func(phase string, done, total int64) {
		if progress != nil {
			progress(phase, "", done, total)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	tell("reading back", 0, size)
	a, err := Read(f, Options{Progress: func(n int64) { tell("reading back", n, size) }})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOutput, err)
	}
	tell("verifying", 0, 0)
	rep, err := a.Verify(VerifyOptions{Key: want.Key})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOutput, err)
	}
	if !rep.Valid() {
		return fmt.Errorf("%w: %w", ErrInvalidOutput, rep.Failure())
	}
	if a.Root != want.Commit {
		return fmt.Errorf("%w: root is %s, want %s", ErrInvalidOutput, a.Root, want.Commit)
	}
	if rep.Records != want.Records {
		return fmt.Errorf("%w: %d records, want %d", ErrInvalidOutput, rep.Records, want.Records)
	}
	return nil
}
