package build

import (
	"sort"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// CreateReport is what arbor create says of the repository it built (its
// --json form).
type CreateReport struct {
	// File is the CAR written.
	File string `json:"file"`
	// DID is the repository's DID.
	DID string `json:"did"`
	// Rev is the commit's rev (a TID).
	Rev string `json:"rev"`
	// Commit is the CID of the signed commit, the CAR's root.
	Commit string `json:"commit"`
	// Data is the CID of the MST root.
	Data string `json:"data"`
	// SigningKey is the did:key of the key that signed the commit.
	SigningKey string `json:"signingKey"`
	// Records counts the records.
	Records int `json:"records"`
	// RKeysAssigned counts the records that got a TID as rkey.
	RKeysAssigned int `json:"rkeysAssigned"`
	// MSTNodes counts the MST nodes.
	MSTNodes int `json:"mstNodes"`
	// Blocks counts the CAR's blocks.
	Blocks int `json:"blocks"`
	// Bytes is the CAR's size.
	Bytes int64 `json:"bytes"`
}

// NewCreateReport describes res, written to file.
func NewCreateReport(file string, res *CreateResult) *CreateReport {
	return &CreateReport{file, res.DID, res.Rev, res.Commit.String(), res.Data.String(), res.SigningKey,
		res.Records, res.RKeysAssigned, res.MSTNodes, res.Blocks, res.Bytes}
}

// RewriteReport is what arbor rewrite says of the copy it wrote (its --json
// form).
type RewriteReport struct {
	// Input is the repository read ("-" for standard input).
	Input string `json:"input"`
	// Output is the CAR written.
	Output string `json:"output"`
	// Unchanged says the output is a byte-for-byte copy of the input.
	Unchanged bool `json:"unchanged"`
	// OldCommit is the input's commit CID.
	OldCommit string `json:"oldCommit"`
	// NewCommit is the output's commit CID.
	NewCommit string `json:"newCommit"`
	// OldData is the input's MST root CID.
	OldData string `json:"oldData"`
	// NewData is the output's MST root CID.
	NewData string `json:"newData"`
	// OldDID is the input's DID.
	OldDID syntax.DID `json:"oldDid"`
	// NewDID is the output's DID.
	NewDID syntax.DID `json:"newDid"`
	// OldRev is the input's rev.
	OldRev syntax.TID `json:"oldRev"`
	// NewRev is the output's rev.
	NewRev syntax.TID `json:"newRev"`
	// SigningKey is the did:key of the new signature; left out when the
	// commit is kept as it was.
	SigningKey string `json:"signingKey,omitempty"`
	// TreeRebuilt says the MST was built anew.
	TreeRebuilt bool `json:"treeRebuilt"`
	// Layout is "kept" (the input's blocks in their order) or "canonical".
	Layout string `json:"layout"`
	// RecordsIn counts the input's records.
	RecordsIn int `json:"recordsIn"`
	// RecordsOut counts the output's records.
	RecordsOut int `json:"recordsOut"`
	// Dropped are the records removed, per collection, by collection name.
	Dropped []DroppedRecords `json:"dropped"`
	// BlocksIn counts the input's sections (duplicates included).
	BlocksIn int `json:"blocksIn"`
	// BlocksOut counts the output's blocks.
	BlocksOut int `json:"blocksOut"`
	// BytesIn is the input's size.
	BytesIn int64 `json:"bytesIn"`
	// BytesOut is the output's size.
	BytesOut int64 `json:"bytesOut"`
	// InputProblems are the problems of an invalid input accepted with
	// --repair.
	InputProblems []string `json:"inputProblems"`
}

// DroppedRecords counts the records of one collection a rewrite removed.
type DroppedRecords struct {
	// Collection is the collection's NSID.
	Collection string `json:"collection"`
	// Records counts the records removed.
	Records int `json:"records"`
}

// NewRewriteReport describes res, read from input and written to output.
func NewRewriteReport(input, output string, res *RewriteResult) *RewriteReport {
	drops := []DroppedRecords{}
	for k, n := range res.Dropped {
		drops = append(drops, DroppedRecords{k, n})
	}
	sort.Slice(drops, func(i, j int) bool { return drops[i].Collection < drops[j].Collection })
	probs := []string{}
	for _, p := range res.InputErrors {
		probs = append(probs, p.Error())
	}
	return &RewriteReport{input, output, res.Unchanged, res.OldCommit.String(), res.NewCommit.String(), res.OldData.String(), res.NewData.String(),
		res.OldDID, res.NewDID, res.OldRev, res.NewRev, res.SigningKey, res.TreeRebuilt, res.Layout,
		res.RecordsIn, res.RecordsOut, drops, res.BlocksIn, res.BlocksOut, res.BytesIn, res.BytesOut, probs}
}
