package plc

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// The result types below are what arbor's plc commands print with --json;
// each type is that command's JSON schema (docs/json.md is generated from
// them).

// SignedOp is a signed operation with its DID: what plc genesis, plc update
// and plc rollback write with -o and print with --json, and what plc did,
// plc update and plc submit read.
type SignedOp struct {
	// DID is the identity the operation is for.
	DID syntax.DID `json:"did"`
	// CID is the operation's CID (of its DAG-CBOR form).
	CID string `json:"cid"`
	// Prev is the CID of the operation it follows; null for a genesis
	// operation.
	Prev *string `json:"prev"`
	// Operation is the signed operation as the directory receives it.
	Operation json.RawMessage `json:"operation"`
}

// NewSignedOp pairs op with its DID.
func NewSignedOp(did syntax.DID, op *Operation) SignedOp {
	o := SignedOp{DID: did, CID: op.CID().String(), Operation: op.AppendJSON(nil)}
	if op.Prev != "" {
		p := op.Prev
		o.Prev = &p
	}
	return o
}

// GenesisCheck is the DID of a genesis operation and whether the operation
// validates as a log of one (arbor plc did).
type GenesisCheck struct {
	// DID is the did:plc the genesis operation creates.
	DID syntax.DID `json:"did"`
	// CID is the operation's CID.
	CID string `json:"cid"`
	// Valid says the operation validates (signature, limits, fields).
	Valid bool `json:"valid"`
	// Error says why it does not validate.
	Error string `json:"error,omitempty"`
	err   error
}

// Err is the validation error, nil when Valid.
func (g *GenesisCheck) Err() error { return g.err }

// CheckGenesis computes op's DID and validates op as a log of one.
func CheckGenesis(op *Operation) (*GenesisCheck, error) {
	did, err := DIDFromGenesis(op)
	if err != nil {
		return nil, err
	}
	_, verr := ValidateLog(did, []LogEntry{{Operation: op}})
	g := &GenesisCheck{DID: did, CID: op.CID().String(), Valid: verr == nil, err: verr}
	if verr != nil {
		g.Error = verr.Error()
	}
	return g, nil
}

// RollbackReport is what a rollback would do or did (arbor plc rollback).
type RollbackReport struct {
	// DID is the identity rolled back.
	DID syntax.DID `json:"did"`
	// Mode is "nullify" or "restore".
	Mode string `json:"mode"`
	// Possible says the rollback can be made.
	Possible bool `json:"possible"`
	// Error says why it cannot.
	Error string `json:"error,omitempty"`
	// Target is the CID of the operation whose state is returned to.
	Target string `json:"target,omitempty"`
	// Nullifies are the operations the directory would nullify (nullify
	// mode), in log order.
	Nullifies []Nullification `json:"nullifies"`
	// Deadline is the last instant the directory accepts the
	// nullification (72 hours after the first nullified operation).
	Deadline string `json:"deadline,omitempty"`
	// SignerKey is the did:key of the rotation key that signs.
	SignerKey string `json:"signerKey,omitempty"`
	// KeyIndex is the signer's position among the rotation keys it is
	// checked against.
	KeyIndex *int `json:"keyIndex,omitempty"`
	// CID is the new operation's CID (not in a dry run).
	CID string `json:"cid,omitempty"`
	// Operation is the new signed operation (not in a dry run).
	Operation json.RawMessage `json:"operation,omitempty"`
}

// Nullification is one operation a rollback nullifies.
type Nullification struct {
	// Index is the operation's position in the log.
	Index int `json:"index"`
	// CID is the operation's CID.
	CID string `json:"cid"`
	// CreatedAt is when the directory received it, when the log says.
	CreatedAt string `json:"createdAt,omitempty"`
}

// ReportRollback describes plan (planned on st; nil when planErr says why
// there is none). A dry run leaves the operation out.
func ReportRollback(st *State, plan *RollbackPlan, planErr error, dry bool) *RollbackReport {
	out := &RollbackReport{DID: st.DID, Possible: planErr == nil, Nullifies: []Nullification{}}
	if planErr != nil {
		out.Error = planErr.Error()
	}
	if plan == nil {
		return out
	}
	out.Mode, out.Target, out.SignerKey = plan.Mode, plan.TargetCID, plan.SignerKey
	if plan.SignerIndex >= 0 {
		ki := plan.SignerIndex
		out.KeyIndex = &ki
	}
	for _, n := range plan.Nullified {
		e := st.Entries[n]
		out.Nullifies = append(out.Nullifies, Nullification{Index: n, CID: e.CID, CreatedAt: FormatTime(e.CreatedAt)})
	}
	if !plan.Deadline.IsZero() {
		out.Deadline = FormatTime(plan.Deadline)
	}
	if plan.Op != nil && !dry {
		out.CID, out.Operation = plan.CID, plan.Op.AppendJSON(nil)
	}
	return out
}

// LogVerdict is the verdict on an audit log (arbor plc verify LOG). A valid
// log has did, document, head, nullified, operations and tombstoned; an
// invalid one has error, and index and cid when one operation is to blame.
type LogVerdict struct {
	// CID is the CID of the operation that fails.
	CID string `json:"cid,omitempty"`
	// DID is the identity the log is of.
	DID syntax.DID `json:"did,omitempty"`
	// Document is the DID document the log ends in; null when the DID is
	// tombstoned.
	Document **Document `json:"document,omitempty"`
	// Error says why the log does not validate.
	Error string `json:"error,omitempty"`
	// Head is the CID of the current (last active) operation.
	Head string `json:"head,omitempty"`
	// Index is the position of the operation that fails.
	Index *int `json:"index,omitempty"`
	// Nullified are the CIDs of the nullified operations, in log order.
	Nullified []string `json:"nullified,omitzero"`
	// Operations counts the log's operations.
	Operations int `json:"operations,omitempty"`
	// Tombstoned says the DID is deactivated.
	Tombstoned *bool `json:"tombstoned,omitempty"`
	// Valid says the whole log validates.
	Valid bool `json:"valid"`
}

// InvalidLog is the verdict on a log that failed to validate with err.
func InvalidLog(err error) *LogVerdict {
	v := &LogVerdict{Error: err.Error()}
	var oe *OpError
	if errors.As(err, &oe) {
		i := oe.Index
		v.Index, v.CID = &i, oe.CID
	}
	return v
}

// ValidLog is the verdict on a log that validated to st, whose document is
// doc (nil when tombstoned).
func ValidLog(st *State, doc *Document) *LogVerdict {
	nul := []string{}
	for _, i := range st.Nullified {
		nul = append(nul, st.Entries[i].CID)
	}
	tomb := st.Tombstoned()
	return &LogVerdict{Valid: true, DID: st.DID, Operations: st.Len(), Head: st.HeadCID(),
		Tombstoned: &tomb, Nullified: nul, Document: &doc}
}

// ExportReport is the verdict on a directory export stream (arbor plc
// verify --export).
type ExportReport struct {
	// BadLines counts lines that name no DID (not JSON, no "did").
	BadLines int64 `json:"badLines"`
	// DIDs counts the DIDs in the stream.
	DIDs int `json:"dids"`
	// FirstBadLine describes the first bad line.
	FirstBadLine string `json:"firstBadLine"`
	// Invalid are the DIDs whose logs do not validate, sorted by DID.
	Invalid []DIDVerdict `json:"invalid"`
	// KnownBad are the failing DIDs the known-bad lists cover, sorted by
	// DID; they do not fail the run.
	KnownBad []DIDVerdict `json:"knownBad"`
	// Lines counts the non-empty lines (operations).
	Lines int64 `json:"lines"`
	// OtherShards counts the lines of DIDs outside this run's shard
	// (they are in Lines but not checked).
	OtherShards int64 `json:"otherShards"`
	// Seconds is how long the validation took.
	Seconds float64 `json:"seconds"`
	// Shard is the part validated, "i/n" (DIDs whose plc.DIDHash % n is
	// i); empty when the whole export was.
	Shard string `json:"shard,omitempty"`
	// Valid counts the DIDs whose logs validate.
	Valid int `json:"valid"`
}

// DIDVerdict is one DID whose log does not validate.
type DIDVerdict struct {
	// DID is the identity as the export names it (possibly not a valid
	// DID: that can be the failure).
	DID string `json:"did"`
	// Index is the position (among that DID's operations) of the one that
	// fails; -1 when none is to blame.
	Index int `json:"index"`
	// CID is the failing operation's CID.
	CID string `json:"cid,omitempty"`
	// Error says what is wrong.
	Error string `json:"error"`
}

// ReportExport describes res, which took elapsed.
func ReportExport(res *ExportResult, elapsed time.Duration) *ExportReport {
	list := func(fs []DIDFailure) []DIDVerdict {
		out := []DIDVerdict{}
		for _, f := range fs {
			b := DIDVerdict{DID: f.DID, Index: -1, Error: f.Err.Error()}
			var oe *OpError
			if errors.As(f.Err, &oe) {
				b.Index, b.CID = oe.Index, oe.CID
			}
			out = append(out, b)
		}
		return out
	}
	return &ExportReport{Lines: res.Lines, DIDs: res.DIDs, Valid: res.Valid, Invalid: list(res.Invalid), KnownBad: list(res.KnownBad),
		BadLines: res.BadLines, FirstBadLine: res.FirstBadLine, OtherShards: res.OtherShards, Seconds: elapsed.Seconds()}
}

// History is a DID's audit log as the directory sent it, validated (arbor
// plc history).
type History struct {
	// DID is the identity.
	DID syntax.DID `json:"did"`
	// Entries are the log's operations, in log order.
	Entries []HistoryEntry `json:"entries"`
	// Error says why the log does not validate.
	Error string `json:"error,omitempty"`
	// Valid says the log validates.
	Valid bool `json:"valid"`
}

// HistoryEntry is one operation of a History.
type HistoryEntry struct {
	// Index is its position in the log.
	Index int `json:"index"`
	// CID is its CID.
	CID string `json:"cid"`
	// Type is the operation type (plc_operation, plc_tombstone, create).
	Type string `json:"type"`
	// CreatedAt is when the directory received it.
	CreatedAt string `json:"createdAt"`
	// Nullified says a later operation nullified it.
	Nullified bool `json:"nullified"`
	// Handle is the primary handle it sets.
	Handle string `json:"handle,omitempty"`
	// PDS is the PDS endpoint it sets.
	PDS string `json:"pds,omitempty"`
	// SignedBy is the rotation key whose signature verified, when the log
	// validates.
	SignedBy string `json:"signedBy,omitempty"`
}

// NewHistory validates entries as did's log and lists them.
func NewHistory(did syntax.DID, entries []LogEntry) *History {
	st, verr := ValidateLog(did, entries)
	h := &History{DID: did, Valid: verr == nil, Entries: []HistoryEntry{}}
	if verr != nil {
		h.Error = verr.Error()
	}
	for i, e := range entries {
		he := HistoryEntry{Index: i, CID: e.CID, Type: e.Operation.Type, CreatedAt: FormatTime(e.CreatedAt), Nullified: e.Nullified}
		he.Handle, he.PDS = opSummary(e.Operation)
		if st != nil {
			he.SignedBy = st.Entries[i].SignedBy
		}
		h.Entries = append(h.Entries, he)
	}
	return h
}

func opSummary(op *Operation) (handle, pds string) {
	n := op.Normalize()
	if n == nil {
		return "", ""
	}
	if s, ok := n.ServiceByID("atproto_pds"); ok {
		pds = s.Endpoint
	}
	return n.PrimaryHandle(), pds
}

// Submission is an operation the directory accepted (arbor plc submit).
type Submission struct {
	// CID is the operation's CID.
	CID string `json:"cid"`
	// DID is the identity it is for.
	DID syntax.DID `json:"did"`
	// Submitted is true: the directory accepted it.
	Submitted bool `json:"submitted"`
}
