package testfixtures

import (
	"encoding/json"
	"testing"
)

// CommitProof is one case of the interop suite's
// firehose/commit-proof-fixtures.json: a tree of Keys (every leaf
// LeafValue), the keys a commit adds and deletes, the MST roots before and
// after, and the CIDs of the nodes a #commit must carry to prove the change.
type CommitProof struct {
	Comment          string   `json:"comment"`
	LeafValue        string   `json:"leafValue"`
	Keys             []string `json:"keys"`
	Adds             []string `json:"adds"`
	Dels             []string `json:"dels"`
	RootBeforeCommit string   `json:"rootBeforeCommit"`
	RootAfterCommit  string   `json:"rootAfterCommit"`
	BlocksInProof    []string `json:"blocksInProof"`
}

// CommitProofs returns the cases of interop/firehose/commit-proof-fixtures.json;
// an unreadable file fails the test.
func CommitProofs(tb testing.TB) []CommitProof {
	tb.Helper()
	var fixtures []CommitProof
	if err := json.Unmarshal(Read(tb, "interop", "firehose", "commit-proof-fixtures.json"), &fixtures); err != nil {
		tb.Fatal(err)
	}
	return fixtures
}
