package archive

import (
	"encoding/json"
	"sort"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/lexicon"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// The result types below are what arbor's archive commands (inspect, ls,
// get, export, verify) print with --json; each is that command's JSON
// schema (docs/json.md is generated from them).

// CommitInfo is an archive's commit as the commands print it.
type CommitInfo struct {
	// CID is the commit block's CID (the archive's root).
	CID string `json:"cid"`
	// DID is the repository's DID.
	DID syntax.DID `json:"did"`
	// Version is the commit format version (3; 2 for legacy commits).
	Version int64 `json:"version"`
	// Rev is the commit's revision (a TID); absent in v2 commits.
	Rev syntax.TID `json:"rev,omitempty"`
	// Data is the CID of the MST root.
	Data string `json:"data"`
	// Prev is the previous commit's CID; null when there is none.
	Prev *string `json:"prev"`
	// Signature says the commit carries a signature (checked only by
	// verify, against a key).
	Signature bool `json:"signature"`
}

// NewCommitInfo describes a's commit; nil when a has none (a bare tree, or
// a root that is no commit).
func NewCommitInfo(a *Archive) *CommitInfo {
	if a.Commit == nil {
		return nil
	}
	cj := &CommitInfo{
		CID:       a.Root.String(),
		DID:       a.Commit.DID,
		Version:   a.Commit.Version,
		Rev:       a.Commit.Rev,
		Data:      a.Commit.Data.String(),
		Signature: len(a.Commit.Sig) > 0,
	}
	if a.Commit.Prev.Defined() {
		s := a.Commit.Prev.String()
		cj.Prev = &s
	}
	return cj
}

// InspectReport is arbor inspect's summary of an archive.
type InspectReport struct {
	// File is the file read ("standard input" for -).
	File string `json:"file"`
	// Root is the CAR's root CID.
	Root string `json:"root"`
	// BareTree says the root is an MST node, not a commit.
	BareTree bool `json:"bareTree"`
	// Commit is the commit; null for a bare tree.
	Commit *CommitInfo `json:"commit"`
	// DataCID is the CID of the MST root.
	DataCID string `json:"data"`
	// Records counts the records in the current tree.
	Records int `json:"records"`
	// Collections counts the records per collection, by collection name.
	Collections []CollectionCount `json:"collections"`
	// Blocks counts the CAR's sections (duplicates included).
	Blocks int `json:"blocks"`
	// Distinct counts the distinct blocks.
	Distinct int `json:"distinctBlocks"`
	// BlockBytes is the size of all block data.
	BlockBytes int64 `json:"blockBytes"`
	// FileBytes is the file's size.
	FileBytes int64 `json:"fileBytes"`
	// Duplicates counts the sections that repeat a block.
	Duplicates int `json:"duplicateBlocks"`
	// Commits counts the commits reachable through prev (1 for an
	// ordinary export).
	Commits int `json:"commits"`
	// MSTNodes counts the nodes of the current tree.
	MSTNodes int `json:"mstNodes"`
	// MSTDepth counts the levels of nodes from the root to the lowest.
	MSTDepth int `json:"mstDepth"`
	// Layers counts the tree's entries by layer, highest layer first.
	Layers []LayerCount `json:"entriesPerLayer"`
	// Unreferenced are the blocks nothing reachable from the root
	// references, sorted.
	Unreferenced []string `json:"unreferencedBlocks"`
	// Missing are the tree nodes and records the current tree references
	// that the file lacks.
	Missing []string `json:"missingBlocks"`
}

// CollectionCount counts the records of one collection.
type CollectionCount struct {
	// Collection is the collection's NSID.
	Collection string `json:"collection"`
	// Records counts its records.
	Records int `json:"records"`
}

// LayerCount counts the MST entries of one layer.
type LayerCount struct {
	// Layer is the layer (key height).
	Layer int `json:"layer"`
	// Entries counts its entries.
	Entries int `json:"entries"`
}

// NewInspectReport describes a, read from file, whose Inspect gave s.
func NewInspectReport(file string, a *Archive, s *Stats) *InspectReport {
	var layers []LayerCount
	for l, n := range s.EntriesPerLayer {
		layers = append(layers, LayerCount{l, n})
	}
	sort.Slice(layers, func(i, j int) bool { return layers[i].Layer > layers[j].Layer })
	var colls []CollectionCount
	for k, n := range s.Collections {
		colls = append(colls, CollectionCount{k, n})
	}
	sort.Slice(colls, func(i, j int) bool { return colls[i].Collection < colls[j].Collection })
	return &InspectReport{
		File: file, Root: a.Root.String(), BareTree: a.IsBareTree(),
		Commit: NewCommitInfo(a), DataCID: a.Data.String(), Records: s.Records, Collections: colls,
		Blocks: a.BlockCount, Distinct: a.DistinctBlocks(), BlockBytes: a.BlockBytes, FileBytes: a.FileBytes,
		Duplicates: a.Duplicates, Commits: s.Commits, MSTNodes: s.MSTNodes, MSTDepth: s.MSTDepth, Layers: layers,
		Unreferenced: car.CIDStrings(s.Unreferenced), Missing: car.CIDStrings(s.Missing),
	}
}

// RecordLine is one line of arbor ls --json: a record's path and CID.
type RecordLine struct {
	// Path is collection/rkey.
	Path string `json:"path"`
	// CID is the record's CID.
	CID string `json:"cid"`
}

// RecordValue is one record as arbor get --json prints it.
type RecordValue struct {
	// URI is the record's at:// URI (its path alone for a bare tree).
	URI string `json:"uri"`
	// CID is the record's CID.
	CID string `json:"cid"`
	// Value is the record in the atproto JSON form.
	Value json.RawMessage `json:"value"`
}

// ExportReport is what arbor export wrote.
type ExportReport struct {
	// Dir is the folder written.
	Dir string `json:"dir"`
	// Records counts the records written.
	Records int `json:"records"`
}

// VerifyReport is arbor verify's verdict on an archive.
type VerifyReport struct {
	// File is the file read ("standard input" for -).
	File string `json:"file"`
	// Valid says nothing was found wrong.
	Valid bool `json:"valid"`
	// SignatureChecked says the signature was verified against a key;
	// false when no key was given (or there is no commit).
	SignatureChecked bool `json:"signatureChecked"`
	// Commit is the commit; null for a bare tree.
	Commit *CommitInfo `json:"commit"`
	// Records counts the records checked.
	Records int `json:"records"`
	// Blocks counts the CAR's sections.
	Blocks int `json:"blocks"`
	// Record is what the archive proves of the record asked for with
	// --record.
	Record *ProofInfo `json:"record,omitempty"`
	// Problems are all the problems found, not only the first.
	Problems []ProblemInfo `json:"problems"`
	// Warnings are things worth saying that do not make it invalid.
	Warnings []string `json:"warnings"`
	// Lexicon is the records' validation against their schemas (verify
	// --lexicon): per collection, every invalid record, the blobs.
	Lexicon *lexicon.RepoReport `json:"lexicon,omitempty"`
}

// ProblemInfo is one problem verify found.
type ProblemInfo struct {
	// Kind is what is wrong: "header", "block", "commit", "signature",
	// "mst", "record" or "lexicon".
	Kind string `json:"kind"`
	// CID is the block concerned, if any.
	CID string `json:"cid,omitempty"`
	// Key is the MST key concerned, if any.
	Key string `json:"key,omitempty"`
	// Error says what is wrong.
	Error string `json:"error"`
}

// ProofInfo is the outcome of checking an archive as a proof of one
// record.
type ProofInfo struct {
	// Path is the record's collection/rkey.
	Path string `json:"path"`
	// Found says the tree holds the record; false: it provably has none.
	Found bool `json:"found"`
	// CID is the record's CID, when found.
	CID string `json:"cid,omitempty"`
}

// NewVerifyReport describes rep, Verify's report on a read from file.
func NewVerifyReport(file string, a *Archive, rep *Report) *VerifyReport {
	probs := []ProblemInfo{}
	for _, p := range rep.Problems {
		pj := ProblemInfo{Kind: p.Kind, Key: p.Key, Error: p.Err.Error()}
		if p.CID.Defined() {
			pj.CID = p.CID.String()
		}
		probs = append(probs, pj)
	}
	var proof *ProofInfo
	if pr := rep.Proof; pr != nil {
		proof = &ProofInfo{Path: pr.Path, Found: pr.Found}
		if pr.Found {
			proof.CID = pr.CID.String()
		}
	}
	return &VerifyReport{file, rep.Valid(), rep.SignatureChecked, NewCommitInfo(a), rep.Records, a.BlockCount, proof, probs, append([]string{}, rep.Warnings...), rep.Lexicon}
}
