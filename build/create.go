package build

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// CreateOptions says whose repository Create builds and how it is signed.
type CreateOptions struct {
	DID string                        // the repository's DID (required)
	Key atcrypto.PrivateKeyExportable // signing key (required)
	Rev string                        // the commit's rev, a TID; "" for the current time
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
	if _, err := syntax.ParseDID(did); err != nil {
		return fmt.Errorf("%w: %q is not a DID: %v", ErrBadOption, did, err)
	}
	return nil
}

// parseRev returns rev as a TID, or the TID of now when rev is "".
func parseRev(rev string) (repo.TID, error) {
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
func Create(w io.Writer, recs []Record, opts CreateOptions) (*CreateResult, error) {
	if err := CheckDID(opts.DID); err != nil {
		return nil, err
	}
	if opts.Key == nil {
		return nil, ErrNeedKey
	}
	rev, err := parseRev(opts.Rev)
	if err != nil {
		return nil, err
	}
	pub, err := opts.Key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", repo.ErrInvalidKey, err)
	}
	assigned := assignRKeys(recs, rev)
	pc := pathChecker{}
	for i := range recs {
		r := &recs[i]
		if err := pc.check(r.Collection, r.RKey); err != nil {
			return nil, &InputError{File: r.File, Line: r.Line, Path: r.Path(), Err: err}
		}
		if !r.CID.Defined() {
			return nil, &InputError{File: r.File, Line: r.Line, Path: r.Path(), Err: fmt.Errorf("%w: no CID (not encoded)", ErrBadRecord)}
		}
	}
	slices.SortStableFunc(recs, func(a, b Record) int {
		if c := strings.Compare(a.Collection, b.Collection); c != 0 {
			return c
		}
		return strings.Compare(a.RKey, b.RKey)
	})
	leaves := make([]mst.Leaf, len(recs))
	for i := range recs {
		if i > 0 && recs[i].Collection == recs[i-1].Collection && recs[i].RKey == recs[i-1].RKey {
			p := &recs[i-1]
			return nil, &InputError{File: recs[i].File, Line: recs[i].Line, Path: recs[i].Path(),
				Err: fmt.Errorf("%w: also at %s", ErrDuplicatePath, where(p.File, p.Line))}
		}
		leaves[i] = mst.Leaf{Key: []byte(recs[i].Path()), Value: recs[i].CID}
	}
	root, nodes, err := buildTree(leaves)
	if err != nil {
		return nil, err
	}
	_, commitCID, commitBytes, err := signCommit(opts.DID, rev.String(), root, deterministicKey{opts.Key})
	if err != nil {
		return nil, err
	}
	blocks, n, err := writeCanonical(w, commitCID, commitBytes, nodes, leaves, func(i int) ([]byte, error) { return recs[i].Data, nil })
	if err != nil {
		return nil, err
	}
	return &CreateResult{
		DID: opts.DID, Rev: rev.String(), Commit: commitCID, Data: root, SigningKey: pub.DIDKey(),
		Records: len(recs), RKeysAssigned: assigned, MSTNodes: len(nodes), Blocks: blocks, Bytes: n,
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
func assignRKeys(recs []Record, rev repo.TID) int {
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
