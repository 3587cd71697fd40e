package lexicon

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// ErrBlobNotAsDeclared: a blob that is missing, or not what the records that
// reference it declare (size, MIME type, bytes).
var ErrBlobNotAsDeclared = errors.New("blob is not as its references declare")

// BlobReport is what was checked of the blobs a repository's records
// reference.
type BlobReport struct {
	// Referenced counts the distinct blobs referenced.
	Referenced int `json:"referenced"`
	// Dir is the folder of blobs checked against (verify --blobs), one file
	// per blob named by its CID, as arbor fetch --blobs writes them; empty
	// when none was given (then only the references were checked: against
	// their schemas, and against each other).
	Dir string `json:"dir,omitempty"`
	// Checked counts the blobs found in Dir and checked.
	Checked int `json:"checked"`
	// Problems are the blobs found wrong.
	Problems []BlobProblem `json:"problems"`
}

// BlobProblem is one blob found wrong.
type BlobProblem struct {
	// CID is the blob's CID.
	CID string `json:"cid"`
	// Record is the path of a record referencing it.
	Record string `json:"record"`
	// Error says what is wrong.
	Error string `json:"error"`
}

// Err is the problem as an error wrapping ErrBlobNotAsDeclared.
func (p BlobProblem) Err() error {
	return fmt.Errorf("%w: blob %s (referenced by %s): %s", ErrBlobNotAsDeclared, p.CID, p.Record, p.Error)
}

// SetBlobDir, called before Report, names the folder of blob files
// the references are checked against.
func (r *RepoCheck) SetBlobDir(dir string) { r.blobDir = dir }

func (r *RepoCheck) blobReport() BlobReport {
	rep := BlobReport{Referenced: len(r.blobs), Dir: r.blobDir, Problems: []BlobProblem{}}
	ids := make([]string, 0, len(r.blobs))
	for id := range r.blobs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		u := r.blobs[id]
		if u.conflict != "" {
			rep.Problems = append(rep.Problems, BlobProblem{CID: id, Record: u.conflict, Error: fmt.Sprintf("declared otherwise by %s (%s, %d bytes)", u.path, u.ref.MimeType, u.ref.Size)})
		}
		if r.blobDir == "" {
			continue
		}
		checked, err := checkBlobFile(filepath.Join(r.blobDir, id), u.ref)
		if checked {
			rep.Checked++
		}
		if err != nil {
			rep.Problems = append(rep.Problems, BlobProblem{CID: id, Record: u.path, Error: err.Error()})
		}
	}
	return rep
}

// checkBlobFile checks a blob file against its reference: present, of the
// declared size, with bytes whose sha2-256 is the CID's, and of a MIME
// type that content sniffing (net/http's) does not contradict.
func checkBlobFile(path string, ref BlobRef) (checked bool, err error) {
	c, err := cid.Decode(ref.CID)
	if err != nil {
		return false, fmt.Errorf("not a CID: %v", err)
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("not in the folder")
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	h.Write(head[:n])
	rest, err := io.Copy(h, f)
	if err != nil {
		return true, err
	}
	size := int64(n) + rest
	if ref.Size >= 0 && size != ref.Size {
		return true, fmt.Errorf("the file has %d bytes, the reference declares %d", size, ref.Size)
	}
	if dm, err := multihash.Decode(c.Hash()); err != nil || dm.Code != multihash.SHA2_256 {
		return true, fmt.Errorf("not a sha2-256 CID")
	} else if !bytes.Equal(dm.Digest, h.Sum(nil)) {
		return true, fmt.Errorf("the file's sha2-256 is not the CID's")
	}
	if sniffed := sniff(head[:n]); sniffed != "" && sniffed != ref.MimeType {
		return true, fmt.Errorf("the file looks like %s, the reference declares %s", sniffed, ref.MimeType)
	}
	return true, nil
}

// sniff is the MIME type content sniffing gives the start of a file, when
// it is a definite image, audio or video type; "" otherwise (text and
// unknown bytes say nothing against a declared type).
func sniff(head []byte) string {
	t, _, _ := strings.Cut(http.DetectContentType(head), ";")
	for _, p := range []string{"image/", "video/", "audio/"} {
		if strings.HasPrefix(t, p) {
			return t
		}
	}
	return ""
}

// FindBlobs returns every blob reference in a record (strict DAG-CBOR),
// wherever it is and whatever the schema says: maps with $type "blob"
// and a cid-link ref, and legacy {cid, mimeType} maps. What the PDS
// checks is uploaded even when it does not validate the record. Schema
// constraints are not set (see Result.Blobs).
func FindBlobs(b []byte) []BlobRef {
	var w walker
	w.reset(b)
	var out []BlobRef
	w.findBlobs(&out, 0)
	return out
}

// findBlobs walks the item at w.off, collecting blob references.
func (w *walker) findBlobs(out *[]BlobRef, depth int) {
	major, count, next := w.head()
	if depth > maxDepth {
		w.skip()
		return
	}
	switch major {
	case dagcbor.MajorArray:
		w.off = next
		for i := range int(count) {
			w.path = append(w.path, seg{idx: i})
			w.findBlobs(out, depth+1)
			w.path = w.path[:len(w.path)-1]
		}
	case dagcbor.MajorMap:
		t, isText, _ := w.mapString("$type")
		_, legacyCID, _ := w.mapString("cid")
		_, legacyMime, _ := w.mapString("mimeType")
		if (isText && string(t) == "blob") || (!isText && count == 2 && legacyCID && legacyMime) {
			start := w.off
			w.blob(&node{kind: kBlob, maxSize: -1})
			if len(w.blobs) > 0 {
				*out = append(*out, w.blobs...)
				w.blobs = w.blobs[:0]
			}
			w.issues = nil
			if w.off == start {
				w.skip()
			}
			return
		}
		w.off = next
		for range int(count) {
			_, klen, koff := w.head()
			key := w.b[koff : koff+int(klen)]
			w.off = koff + int(klen)
			w.path = append(w.path, seg{key: key})
			w.findBlobs(out, depth+1)
			w.path = w.path[:len(w.path)-1]
		}
	default:
		w.skip()
	}
}
