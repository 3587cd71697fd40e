package diff

import (
	"errors"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/mst"
)

// Report is arbor diff's account of two snapshots (its --json form): the
// record operations from OLD to NEW, and with --json the blocks and proofs
// behind them.
type Report struct {
	// Old is the OLD snapshot.
	Old Side `json:"old"`
	// New is the NEW snapshot.
	New Side `json:"new"`
	// Identical says no record differs (within Collection, when given).
	Identical bool `json:"identical"`
	// Summary counts the operations.
	Summary struct {
		// Creates counts the records created.
		Creates int `json:"creates"`
		// Updates counts the records updated.
		Updates int `json:"updates"`
		// Deletes counts the records deleted.
		Deletes int `json:"deletes"`
	} `json:"summary"`
	// Collection is the collection the operations are limited to.
	Collection string `json:"collection,omitempty"`
	// Ops are the record operations, in key order.
	Ops []OpInfo `json:"ops"`
	// CreatedNodes are the MST nodes NEW has and OLD lacks.
	CreatedNodes []string `json:"createdNodes"`
	// DeletedNodes are the MST nodes OLD has and NEW lacks.
	DeletedNodes []string `json:"deletedNodes"`
	// CreatedRecords are the record CIDs NEW's changed entries point at.
	CreatedRecords []string `json:"createdRecords"`
	// DeletedRecords are the record CIDs OLD's changed entries point at.
	DeletedRecords []string `json:"deletedRecords"`
	// ProofNodes are the nodes of NEW that prove the operations.
	ProofNodes []string `json:"proofNodes"`
	// InductiveProofNodes are the nodes of OLD needed to invert the
	// operations (an inductive proof).
	InductiveProofNodes []string `json:"inductiveProofNodes"`
	// CoveringProof are the nodes that cover the changed key ranges.
	CoveringProof []string `json:"coveringProof"`
	// Visited counts the nodes read from each side.
	Visited struct {
		// Old counts the nodes read from OLD.
		Old int `json:"old"`
		// New counts the nodes read from NEW.
		New int `json:"new"`
	} `json:"visitedNodes"`
	// Warnings are things worth saying (different DIDs, NEW older than
	// OLD).
	Warnings []string `json:"warnings"`
	// Slice is the slice written with --car.
	Slice *SliceInfo `json:"slice,omitempty"`

	// NodesCreated and NodesDeleted count CreatedNodes and DeletedNodes,
	// which are only listed for --json.
	NodesCreated, NodesDeleted int `json:"-"`
}

// Side names one snapshot of a diff.
type Side struct {
	// File is the file read ("standard input" for -).
	File string `json:"file"`
	// Root is its root CID.
	Root string `json:"root"`
	// Data is its MST root CID.
	Data string `json:"data"`
	// BareTree says the root is an MST node, not a commit.
	BareTree bool `json:"bareTree"`
	// DID is the commit's DID.
	DID syntax.DID `json:"did,omitempty"`
	// Rev is the commit's rev.
	Rev syntax.TID `json:"rev,omitempty"`
	// Read says how the file was read: "index" (mapped, the framing
	// checked as far as the diff needed, each block hash-checked when the
	// diff reads it) or "full" (streamed and every block hash-checked:
	// standard input, pipes).
	Read string `json:"read"`
}

// OpInfo is one record operation, in the reference's form (golden/diffs).
type OpInfo struct {
	// Action is "create", "update" or "delete".
	Action string `json:"action"`
	// Path is the record's collection/rkey.
	Path string `json:"path"`
	// CID is the record's CID in NEW.
	CID string `json:"cid,omitempty"`
	// Prev is the record's CID in OLD.
	Prev string `json:"prev,omitempty"`
	// Fields are the field-level changes of an update (--records).
	Fields []FieldChange `json:"fields,omitempty"`
	// FieldsError says why a field diff could not be made (--records).
	FieldsError string `json:"fieldsError,omitempty"`
}

// SliceInfo describes the slice arbor diff --car wrote.
type SliceInfo struct {
	// File is the CAR written.
	File string `json:"file"`
	// Root is its root (NEW's root).
	Root string `json:"root"`
	// Blocks counts its blocks.
	Blocks int `json:"blocks"`
	// Nodes counts its MST nodes.
	Nodes int `json:"mstNodes"`
	// Records counts its record blocks.
	Records int `json:"records"`
}

// Fill copies res into r, keeping only the ops of coll when set. The CID
// lists are only made when lists is set (--json): the human form prints
// their sizes.
func (r *Report) Fill(res *Result, coll string, lists bool) {
	r.Ops = []OpInfo{}
	for _, o := range res.Ops {
		if coll != "" && o.Collection() != coll {
			continue
		}
		oj := OpInfo{Action: o.Action().String(), Path: o.Path}
		if o.New.Defined() {
			oj.CID = o.New.String()
		}
		if o.Old.Defined() {
			oj.Prev = o.Old.String()
		}
		switch o.Action() {
		case Create:
			r.Summary.Creates++
		case Update:
			r.Summary.Updates++
		case Delete:
			r.Summary.Deletes++
		}
		r.Ops = append(r.Ops, oj)
	}
	r.Identical = len(r.Ops) == 0
	r.NodesCreated, r.NodesDeleted = len(res.CreatedNodes), len(res.DeletedNodes)
	r.Visited.Old, r.Visited.New = res.OldVisited, res.NewVisited
	if !lists {
		return
	}
	r.CreatedNodes = car.CIDStrings(res.CreatedNodes)
	r.DeletedNodes = car.CIDStrings(res.DeletedNodes)
	r.CreatedRecords = car.CIDStrings(res.CreatedRecords)
	r.DeletedRecords = car.CIDStrings(res.DeletedRecords)
	r.ProofNodes = car.CIDStrings(res.ProofNodes)
	r.InductiveProofNodes = car.CIDStrings(res.InductiveProofNodes)
	r.CoveringProof = car.CIDStrings(res.CoveringProof)
}

// AddFieldDiffs adds the field-level diff of every updated record, reading
// the records from the two sides' blocks.
func (r *Report) AddFieldDiffs(oldBlocks, newBlocks mst.BlockSource) {
	for i := range r.Ops {
		o := &r.Ops[i]
		if o.Action != Update.String() {
			continue
		}
		prev, _ := cid.Decode(o.Prev)
		next, _ := cid.Decode(o.CID)
		ob, err1 := oldBlocks.Get(prev)
		nb, err2 := newBlocks.Get(next)
		if err := errors.Join(err1, err2); err != nil {
			o.FieldsError = "record blocks could not be read: " + strings.ReplaceAll(err.Error(), "\n", "; ")
			continue
		}
		fields, err := Fields(ob, nb)
		if err != nil {
			o.FieldsError = err.Error()
			continue
		}
		o.Fields = fields
	}
}

// ApplyReport is what arbor apply wrote (its --json form).
type ApplyReport struct {
	// File is the new snapshot written.
	File string `json:"file"`
	// DID is the repository's DID.
	DID syntax.DID `json:"did"`
	// Commit is the new commit's CID.
	Commit string `json:"commit"`
	// Data is the new MST root's CID.
	Data string `json:"data"`
	// Rev is the new commit's rev.
	Rev syntax.TID `json:"rev"`
	// BaseRev is the base's rev.
	BaseRev syntax.TID `json:"baseRev,omitempty"`
	// Records counts the new snapshot's records.
	Records int `json:"records"`
	// MSTNodes counts its MST nodes.
	MSTNodes int `json:"mstNodes"`
	// Creates counts the records the slice created.
	Creates int `json:"creates"`
	// Updates counts the records it updated.
	Updates int `json:"updates"`
	// Deletes counts the records it deleted.
	Deletes int `json:"deletes"`
	// BlocksFromBase counts the blocks taken from the base.
	BlocksFromBase int `json:"blocksFromBase"`
	// BlocksFromSlice counts the blocks taken from the slice.
	BlocksFromSlice int `json:"blocksFromSlice"`
	// SignatureChecked says the new commit's signature was verified
	// against a key.
	SignatureChecked bool `json:"signatureChecked"`
}

// NewApplyReport describes res, written to file; signed says the
// signature was checked.
func NewApplyReport(file string, res *Applied, signed bool) *ApplyReport {
	r := &ApplyReport{File: file, DID: res.Commit.DID, Commit: res.CommitCID.String(), Data: res.Commit.Data.String(), Rev: res.Commit.Rev, BaseRev: res.BaseRev,
		Records: res.Records, MSTNodes: res.Nodes, BlocksFromBase: res.FromBase, BlocksFromSlice: res.FromSlice, SignatureChecked: signed}
	for _, o := range res.Ops {
		switch o.Action() {
		case Create:
			r.Creates++
		case Update:
			r.Updates++
		case Delete:
			r.Deletes++
		}
	}
	return r
}
