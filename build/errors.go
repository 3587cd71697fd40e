package build

import (
	"errors"
	"fmt"
	"strings"

	"github.com/arbor-atproto/arbor/archive"
)

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrBadPath: a collection that is not an NSID or a record key that is
	// not a valid record key.
	ErrBadPath = errors.New("invalid record path")
	// ErrBadRecord: a record that is not valid atproto data (not an object,
	// no $type, a float, a malformed $link, $bytes or blob, ...).
	ErrBadRecord = errors.New("invalid record")
	// ErrRecordTooLarge: a record whose DAG-CBOR encoding exceeds MaxRecordSize.
	ErrRecordTooLarge = errors.New("record too large")
	// ErrBadLine: a JSON line that is not {"collection", "rkey", "record"}.
	ErrBadLine = errors.New("invalid JSON line")
	// ErrDuplicatePath: two records with the same path.
	ErrDuplicatePath = errors.New("duplicate record path")
	// ErrBadLayout: a file or directory that does not belong in the
	// COLLECTION/RKEY.json layout.
	ErrBadLayout = errors.New("unexpected entry in records directory")
	// ErrBadOption: an option value that cannot be used (a DID that is not a
	// DID, a rev that is not a TID, a filter that is not an NSID or path).
	ErrBadOption = errors.New("invalid option")
	// ErrNeedKey: the commit has to change (records dropped, new DID or rev)
	// but no signing key was given.
	ErrNeedKey = errors.New("a signing key is needed")
	// ErrNoSuchRecord: a path given to drop is not in the repository.
	ErrNoSuchRecord = errors.New("no such record")
	// ErrInvalidInput: the repository to rewrite cannot be read or fails
	// verification.
	ErrInvalidInput = errors.New("input repository is invalid")
	// ErrFailsVerification comes with ErrInvalidInput when the input reads
	// as a CAR but its commit or tree fails verification (rather than being
	// unreadable).
	ErrFailsVerification = errors.New("it fails verification")
	// ErrKeyFileExists: WriteKeyFile refuses to overwrite a file.
	ErrKeyFileExists = errors.New("key file already exists")
)

// MaxRecordSize is the largest record accepted, in bytes of DAG-CBOR:
// repo.MaxRecordSize, the limit verify checks too.
const MaxRecordSize = archive.MaxRecordSize

// InputError is a problem with one record or line of the input: File and
// Line say where (Line 0 when unknown), Path which record (when known).
type InputError struct {
	File string
	Line int
	Path string
	Err  error
}

func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Path != "" {
		fmt.Fprintf(&b, ": %s", e.Path)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *InputError) Unwrap() error { return e.Err }

// wrap joins a sentinel and a cause so that errors.Is finds both.
func wrap(sentinel, cause error) error {
	if cause == nil {
		return sentinel
	}
	return fmt.Errorf("%w: %w", sentinel, cause)
}

// lineOf returns the 1-based line of byte offset off in b.
func lineOf(b []byte, off int64) int {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	if off < 0 {
		off = 0
	}
	n := 1
	for _, c := range b[:off] {
		if c == '\n' {
			n++
		}
	}
	return n
}
