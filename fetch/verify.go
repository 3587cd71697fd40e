package fetch

import (
	"fmt"
	"strconv"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/identity"
)

// Report is what arbor fetch did (its --json form): the identity resolved,
// the file written, what was checked, and the blobs.
type Report struct {
	identity.Resolution
	// File is the CAR written.
	File string `json:"file"`
	// Bytes is its size.
	Bytes int64 `json:"bytes"`
	// Commit is the downloaded commit.
	Commit *archive.CommitInfo `json:"commit"`
	// Since is the rev the slice starts after (--since).
	Since syntax.TID `json:"since,omitempty"`
	// Slice says a slice was fetched, not a whole repository.
	Slice bool `json:"slice"`
	// Checked lists what was verified.
	Checked []string `json:"checked"`
	// NotChecked lists what could not be (for a slice).
	NotChecked []string `json:"notChecked"`
	// Records counts the records verified (a whole repository).
	Records int `json:"records,omitempty"`
	// BlobDir is where blobs were written (--blobs).
	BlobDir string `json:"blobDir,omitempty"`
	// Blobs counts the blobs the PDS listed.
	Blobs int `json:"blobs"`
	// BlobsFail are the blobs that could not be downloaded or did not
	// match their CID.
	BlobsFail []BlobFailure `json:"blobFailures,omitempty"`
}

// BlobFailure is one blob that could not be downloaded or did not match.
type BlobFailure struct {
	// CID is the blob's CID.
	CID string `json:"cid"`
	// Error says what went wrong.
	Error string `json:"error"`
}

// Verify applies the policy to a downloaded archive a of did, whose
// document's key is key, from pds: a whole repository (slice false) is
// verified fully, a slice as far as it can be. It fills in the report's
// Commit, Checked, NotChecked and Records; an error means the download
// must not be kept.
func Verify(a *archive.Archive, did syntax.DID, key atcrypto.PublicKey, pds string, slice bool, r *Report) error {
	if a.Commit == nil {
		return fmt.Errorf("fetched repository from %s has no commit: %v", pds, a.CommitErr)
	}
	r.Commit = archive.NewCommitInfo(a)
	if slice {
		if a.Commit.DID != did {
			return fmt.Errorf("fetched slice: %w: commit has %s, resolved %s", archive.ErrDIDMismatch, a.Commit.DID, did)
		}
		if err := a.Commit.VerifySignature(key); err != nil {
			return fmt.Errorf("fetched slice: commit signature against %s: %w", key.DIDKey(), err)
		}
		r.Checked = []string{"every block hash", "commit DID", "commit signature against " + key.DIDKey()}
		r.NotChecked = []string{"MST and records (a slice is not a whole tree)"}
		return nil
	}
	rep, err := a.Verify(archive.VerifyOptions{Key: key, DID: did})
	if err != nil {
		return fmt.Errorf("fetched repository: %w", err)
	}
	if !rep.Valid() || !rep.SignatureChecked {
		return fmt.Errorf("fetched repository from %s failed verification: %d problems, first: %v", pds, len(rep.Problems), firstProblem(rep))
	}
	r.Records = rep.Records
	r.Checked = []string{"every block hash", "commit DID", "commit signature against " + key.DIDKey(), "MST", plural(rep.Records, "record")}
	r.NotChecked = []string{}
	return nil
}

func firstProblem(rep *archive.Report) string {
	if len(rep.Problems) == 0 {
		return "signature not checked"
	}
	return rep.Problems[0].Error()
}

// plural writes a count of things for people, as the commands do: "1
// record", "1,000 records".
func plural(n int, noun string) string {
	s := strconv.Itoa(n)
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	if n != 1 {
		noun += "s"
	}
	return string(b) + " " + noun
}
