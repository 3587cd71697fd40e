package lexicon

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/ipfs/go-cid"
)

// RepoCheck validates the records of one repository as its blocks stream
// past (Check, once per distinct record block, keeping only a verdict
// code), then attributes the verdicts to record paths as the tree is
// walked (Record), and reports per collection (Report). Records are never
// held: what is kept is a code per block (which the caller stores), the
// issues of invalid records, the distinct $type names and the distinct
// blob references. Not safe for concurrent use.
type RepoCheck struct {
	cat *Catalog
	// Strict makes records with no known schema a failure (Report's
	// Failed), not only a count.
	Strict bool

	v       Validator
	types   []string // by type id
	typeIDs map[string]uint32
	bad     []Result // invalid blocks' results, by detail index
	blobs   map[string]*blobUse
	blobDir string

	colls   map[string]*CollectionVerdict
	invalid []InvalidRecord
	lastCol []byte
	last    *CollectionVerdict
}

// blobUse is a blob reference as the records declare it: the first
// declaration, and whether another disagreed.
type blobUse struct {
	ref      BlobRef
	path     string // record path of the first declaration
	conflict string // a record path declaring it otherwise, if any
}

// NewRepoCheck starts checking a repository's records against c.
func NewRepoCheck(c *Catalog) *RepoCheck {
	return &RepoCheck{cat: c, typeIDs: map[string]uint32{}, blobs: map[string]*blobUse{}, colls: map[string]*CollectionVerdict{}}
}

// Verdict codes: 0 is "not checked"; otherwise the low two bits are the
// status and the rest a type id (valid, no schema) or an index into the
// invalid results.
const (
	codeValid    = 1
	codeInvalid  = 2
	codeNoSchema = 3
)

// Check validates one record block (strict DAG-CBOR, as the archive has
// checked) and returns its verdict code, never 0. blobs found are noted
// when the record path is known (Record).
func (r *RepoCheck) Check(block []byte) uint32 {
	res := r.v.Validate(r.cat, block)
	switch res.Status {
	case Valid, NoSchema:
		id, ok := r.typeIDs[res.Type]
		if !ok {
			id = uint32(len(r.types))
			r.types = append(r.types, res.Type)
			r.typeIDs[res.Type] = id
		}
		code := uint32(codeValid)
		if res.Status == NoSchema {
			code = codeNoSchema
		}
		if len(res.Blobs) > 0 {
			// Kept with the invalid ones, so Record can note the blobs
			// with their record path.
			r.bad = append(r.bad, Result{Type: res.Type, Status: res.Status, Blobs: res.Blobs})
			return uint32(len(r.bad)-1)<<2 | codeInvalid
		}
		return id<<2 | code
	}
	r.bad = append(r.bad, res)
	return uint32(len(r.bad)-1)<<2 | codeInvalid
}

// CollectionVerdict counts one collection's records by verdict.
type CollectionVerdict struct {
	// Collection is the collection's NSID (the part of the path before /).
	Collection string `json:"collection"`
	// Records counts its records.
	Records int `json:"records"`
	// Valid counts the records that match their schema.
	Valid int `json:"valid"`
	// Invalid counts the records that do not (listed in Invalid).
	Invalid int `json:"invalid"`
	// Unknown counts the records whose $type has no schema in the catalog.
	Unknown int `json:"unknown"`
	// Unchecked counts the records whose block is missing or bad (verify
	// reports those problems itself).
	Unchecked int `json:"unchecked"`
}

// InvalidRecord is one record that breaks its schema.
type InvalidRecord struct {
	// Path is the record's collection/rkey.
	Path string `json:"path"`
	// CID is the record's CID.
	CID string `json:"cid"`
	// Type is the record's $type.
	Type string `json:"type"`
	// Issues are what is wrong, each at a JSON path in the record.
	Issues []Issue `json:"issues"`
}

// Error is the record's first issue, with its path.
func (i *InvalidRecord) Error() string {
	more := ""
	if len(i.Issues) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(i.Issues)-1)
	}
	first := "invalid"
	if len(i.Issues) > 0 {
		first = i.Issues[0].String()
	}
	return fmt.Sprintf("%s: %s%s", ErrInvalidRecord, first, more)
}

// Unwrap makes an InvalidRecord an ErrInvalidRecord.
func (i *InvalidRecord) Unwrap() error { return ErrInvalidRecord }

// Record attributes the verdict code of the block at key (collection/
// rkey; code 0: the block was not checked) with its CID. It returns the
// record's InvalidRecord when it is invalid, else nil. Keys come in tree
// order, so a collection's records come together.
func (r *RepoCheck) Record(key []byte, c cid.Cid, code uint32) *InvalidRecord {
	coll := key
	if i := bytes.IndexByte(key, '/'); i >= 0 {
		coll = key[:i]
	}
	cv := r.last
	if cv == nil || !bytes.Equal(coll, r.lastCol) {
		cv = r.colls[string(coll)]
		if cv == nil {
			cv = &CollectionVerdict{Collection: string(coll)}
			r.colls[cv.Collection] = cv
		}
		r.last, r.lastCol = cv, append(r.lastCol[:0], coll...)
	}
	cv.Records++
	var res *Result
	status, typ := Status(""), ""
	switch code & 3 {
	case 0:
		cv.Unchecked++
		return nil
	case codeValid:
		status, typ = Valid, r.types[code>>2]
	case codeNoSchema:
		status, typ = NoSchema, r.types[code>>2]
	default:
		res = &r.bad[code>>2]
		status, typ = res.Status, res.Type
		for _, b := range res.Blobs {
			r.noteBlob(b, string(key))
		}
	}
	var issues []Issue
	if typ != string(coll) {
		issues = append(issues, Issue{Path: "$", Rule: RuleRecordType, Message: fmt.Sprintf("$type %s is not the collection %s", typ, coll)})
	}
	if status == Invalid {
		issues = append(issues, res.Issues...)
	}
	switch {
	case len(issues) > 0:
		cv.Invalid++
		ir := InvalidRecord{Path: string(key), CID: c.String(), Type: typ, Issues: issues}
		r.invalid = append(r.invalid, ir)
		return &r.invalid[len(r.invalid)-1]
	case status == NoSchema:
		cv.Unknown++
	default:
		cv.Valid++
	}
	return nil
}

// noteBlob notes a blob reference of the record at path.
func (r *RepoCheck) noteBlob(b BlobRef, path string) {
	u := r.blobs[b.CID]
	if u == nil {
		r.blobs[b.CID] = &blobUse{ref: b, path: path}
		return
	}
	if u.conflict == "" && (u.ref.MimeType != b.MimeType || (u.ref.Size != b.Size && u.ref.Size >= 0 && b.Size >= 0)) {
		u.conflict = path
	}
}

// RepoReport is what verify --lexicon found: per collection, and every
// invalid record.
type RepoReport struct {
	// Strict says records with no known schema fail the check.
	Strict bool `json:"strict"`
	// Records counts the records checked.
	Records int `json:"records"`
	// Valid, the records that match their schema.
	Valid int `json:"valid"`
	// Invalid, the records that do not.
	Invalid int `json:"invalid"`
	// Unknown, the records whose $type has no schema.
	Unknown int `json:"unknown"`
	// Collections are the per-collection counts, by collection name.
	Collections []CollectionVerdict `json:"collections"`
	// InvalidRecords are the invalid records in tree order.
	InvalidRecords []InvalidRecord `json:"invalidRecords"`
	// Blobs is what was found of the blobs the records reference.
	Blobs BlobReport `json:"blobs"`
}

// Failed says the check failed: an invalid record, a blob problem, or
// (Strict) a record with no known schema.
func (rep *RepoReport) Failed() bool {
	return rep.Invalid > 0 || len(rep.Blobs.Problems) > 0 || (rep.Strict && rep.Unknown > 0)
}

// Report sums up what Record saw.
func (r *RepoCheck) Report() *RepoReport {
	rep := &RepoReport{Strict: r.Strict, Collections: []CollectionVerdict{}, InvalidRecords: r.invalid}
	if rep.InvalidRecords == nil {
		rep.InvalidRecords = []InvalidRecord{}
	}
	for _, cv := range r.colls {
		rep.Collections = append(rep.Collections, *cv)
		rep.Records += cv.Records
		rep.Valid += cv.Valid
		rep.Invalid += cv.Invalid
		rep.Unknown += cv.Unknown
	}
	sort.Slice(rep.Collections, func(i, j int) bool { return rep.Collections[i].Collection < rep.Collections[j].Collection })
	rep.Blobs = r.blobReport()
	return rep
}
