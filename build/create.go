package build

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/repo"
)

// CreateOptions says whose repository Create builds and how it is signed.
type CreateOptions struct {
	DID syntax.DID                    // the repository's DID (required)
	Key atcrypto.PrivateKeyExportable // signing key (required)
	Rev syntax.TID                    // the commit's rev; "" for the current time
	// Progress, when not nil, hears how the work goes (see ProgressFunc).
	Progress ProgressFunc
}

// ProgressFunc hears how long work goes; the build package never prints.
// It is called as each phase begins (done 0) and then from time to time
// with done of total units handled: unit is "" for bytes, else the thing
// counted ("record"); total is 0 when unknown. Calls come from the
// goroutine doing the work and must return quickly.
type ProgressFunc func(phase, unit string, done, total int64)

// tell calls f when it is set.
func (f ProgressFunc) tell(phase, unit string, done, total int64) {
	if f != nil {
		f(phase, unit, done, total)
	}
}

// CreateResult describes the repository Create wrote.
type CreateResult struct {
	DID           string
	Rev           string
	Commit        cid.Cid // root of the CAR
	Data          cid.Cid // MST root
	SigningKey    string  // did:key of the signing key
	Records       int
	RKeysAssigned int // records that got a TID as rkey
	MSTNodes      int
	Blocks        int
	Bytes         int64
}

// CheckDID checks that did is a DID (errors wrap ErrBadOption).
func CheckDID(did string) error {
	if err := repo.CheckDID(did); err != nil {
		return fmt.Errorf("%w: %w", ErrBadOption, err)
	}
	return nil
}

// parseRev returns rev as a TID, or the TID of now when rev is "".
func parseRev(rev string) (syntax.TID, error) {
	if rev == "" {
		return repo.TIDFromTime(time.Now(), 0), nil
	}
	t, err := repo.ParseTID(rev)
	if err != nil {
		return "", fmt.Errorf("%w: rev: %w", ErrBadOption, err)
	}
	return t, nil
}

// Create writes to w a signed repository CAR holding recs (see the package
// documentation for the layout). It assigns TIDs to records without rkey,
// sorts recs by path in place, and rejects duplicate paths (naming both
// places). Records are trusted to be what EncodeRecord produced; paths are
// checked again.
//
// It is CreateFromSet over a copy of recs; for large inputs, ReadJSONLines
// or ReadDir and CreateFromSet need far less memory.
func Create(w io.Writer, recs []Record, opts CreateOptions) (*CreateResult, error) {
	rev, pub, err := checkCreate(opts)
	if err != nil {
		return nil, err
	}
	assigned := assignRKeys(recs, rev)
	s, err := setOfRecords(recs)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(recs, func(a, b Record) int { return strings.Compare(a.Path(), b.Path()) })
	return s.create(w, opts, rev, pub, assigned)
}

// CreateFromSet writes to w a signed repository CAR holding the records of
// s (see the package documentation for the layout). It assigns TIDs to the
// records without rkey (changing s) and rejects duplicate paths (naming
// both places).
func CreateFromSet(w io.Writer, s *RecordSet, opts CreateOptions) (*CreateResult, error) {
	rev, pub, err := checkCreate(opts)
	if err != nil {
		return nil, err
	}
	return s.create(w, opts, rev, pub, s.assignRKeys(rev))
}

func checkCreate(opts CreateOptions) (syntax.TID, atcrypto.PublicKey, error) {
	if err := CheckDID(string(opts.DID)); err != nil {
		return "", nil, err
	}
	if opts.Key == nil {
		return "", nil, ErrNeedKey
	}
	rev, err := parseRev(string(opts.Rev))
	if err != nil {
		return "", nil, err
	}
	pub, err := opts.Key.PublicKey()
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", repo.ErrInvalidKey, err)
	}
	return rev, pub, nil
}

// create builds and writes the repository of s, whose records all have an
// rkey by now.
func (s *RecordSet) create(w io.Writer, opts CreateOptions, rev syntax.TID, pub atcrypto.PublicKey, assigned int) (*CreateResult, error) {
	total := int64(s.n)
	opts.Progress.tell("sorting the records", "", 0, 0)
	order := s.keyOrder()
	opts.Progress.tell("building the tree", "", 0, 0)
	for j := 1; j < len(order); j++ {
		i, p := int(order[j]), int(order[j-1])
		if bytes.Equal(s.key(i), s.key(p)) {
			file, line := s.where(i)
			pfile, pline := s.where(p)
			return nil, &InputError{File: file, Line: line, Path: s.path(i),
				Err: fmt.Errorf("%w: also at %s", ErrDuplicatePath, where(pfile, pline))}
		}
	}
	root, nodes, err := buildTree(len(order), func(j int) ([]byte, cid.Cid) {
		i := int(order[j])
		return s.key(i), s.cid(i)
	})
	if err != nil {
		return nil, err
	}
	opts.Progress.tell("signing", "", 0, 0)
	_, commitCID, commitBytes, err := signCommit(opts.DID, rev, root, deterministicKey{opts.Key})
	if err != nil {
		return nil, err
	}
	blocks, n, err := writeCanonical(w, commitCID, commitBytes, nodes, len(order),
		func(j int) blockID {
			m := s.meta(int(order[j]))
			return blockID{m.digest, m.codec}
		},
		func(j int) (cid.Cid, []byte, error) {
			if j&4095 == 0 {
				opts.Progress.tell("writing", "record", int64(j), total)
			}
			i := int(order[j])
			return s.cid(i), s.body(i), nil
		})
	if err != nil {
		return nil, err
	}
	return &CreateResult{
		DID: string(opts.DID), Rev: rev.String(), Commit: commitCID, Data: root, SigningKey: pub.DIDKey(),
		Records: s.n, RKeysAssigned: assigned, MSTNodes: len(nodes), Blocks: blocks, Bytes: n,
	}, nil
}

func where(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// assignRKeys gives every record without rkey a TID derived from rev (see
// the package documentation) and returns how many it assigned.
func assignRKeys(recs []Record, rev syntax.TID) int {
	m := 0
	for i := range recs {
		if recs[i].RKey == "" {
			m++
		}
	}
	if m == 0 {
		return 0
	}
	start := max(rev.Time().UnixMicro()-int64(m), 0)
	k := int64(0)
	for i := range recs {
		if recs[i].RKey == "" {
			recs[i].RKey = repo.TIDFromTime(time.UnixMicro(start+k), 0).String()
			k++
		}
	}
	return m
}

// assignRKeys is assignRKeys for a RecordSet.
func (s *RecordSet) assignRKeys(rev syntax.TID) int {
	m := 0
	for i := range s.n {
		if !s.hasRKey(i) {
			m++
		}
	}
	if m == 0 {
		return 0
	}
	start := max(rev.Time().UnixMicro()-int64(m), 0)
	k := int64(0)
	for i := range s.n {
		if !s.hasRKey(i) {
			s.setRKey(i, repo.TIDFromTime(time.UnixMicro(start+k), 0).String())
			k++
		}
	}
	return m
}
