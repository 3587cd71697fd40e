// Package archive reads the thing a repository CAR holds, an archive: the
// CAR header's roots, the signed commit the first root names (or, for a bare
// tree, an MST node), the MST nodes below it and the record blocks the tree
// points to. It streams the file once, hashing every block against its CID,
// and keeps only what the tools need; Verify, Inspect, Export, Get, Record
// and Walk then work on what was kept.
//
// # Terms
//
//   - Archive: one CAR read this way. Root is its first header root; Commit
//     the decoded commit (nil for a bare tree); Data the MST root.
//   - Block table: every CID met in the file or referenced by a node, by
//     digest, with where its bytes are kept. A CID referenced but never read
//     is a placeholder; a placeholder left at the end is a missing block.
//     A node's links take consecutive entries, and files list records in
//     key order or right after their node, so an insert first compares
//     the entry after the last one found (and the one before the last
//     miss) and probes the table only when neither is it; the table's
//     slots are on huge pages where Linux gives them (internal/hugepages).
//   - Bare tree: an archive whose root is an MST node. It can be read and
//     checked, but nothing in it is signed, so a signature check, a DID
//     check or a record proof refuses it (ErrNoCommit).
//   - Record proof: an archive holding only a commit, the nodes on one
//     key's search path and the record block (what sync.getRecord returns);
//     Verify with VerifyOptions.Record checks it as such.
//
// # Reading modes
//
// What is kept decides what memory a large repository takes and which
// methods can answer, so each mode has its own constructor and its own type,
// and a method a mode cannot serve does not exist on it:
//
//   - Read gives an *Archive with MST nodes compact (links as references
//     into the block table, about half the memory of a large repository)
//     and records by digest alone: Verify, Inspect, Walk, and Get of a node
//     or the commit.
//   - ReadSummary gives a *Summary: read as Read reads, but records are
//     not checked as records (strict DAG-CBOR, $type), a third of the work
//     of reading; it has Inspect and its report, not Verify.
//   - ReadNodes gives an *Archive with nodes and commits whole (Get hands
//     their bytes over, fastest for walks that read every node), records by
//     digest.
//   - ReadWithBodies gives a *Bodies: every block's bytes; it adds Record,
//     Export and Order (the file's block order).
//   - ReadLazy gives a *Lazy: nodes compact and, from a regular file, only
//     where each record lies; Record reads it again and re-checks its CID.
//     From a pipe the bodies are kept instead (FromFile tells which).
//
// Options common to all: Progress, and CollectBadBlocks, which turns a
// block whose bytes do not match its CID into a BlockProblem instead of
// ending the read, so Verify can list them all; and Lexicon, a
// lexicon.RepoCheck that validates each record block against its schema as
// it streams past (a verdict code per block is all that is kept), which
// Verify attributes to record paths (Report.Lexicon, problems of kind
// "lexicon"). Bodies and Lazy both
// satisfy WithRecords, what a viewer of records takes.
//
// # Hostile input
//
// Every walk is bounded by mst.MaxDepth; a node met twice is a cycle, found
// without rescanning the path except then. Errors name the block CID, the
// MST key or the byte offset they concern.
//
// Nothing in this package prints, exits or keeps package-level mutable
// state. Commits, keys, TIDs and record paths are package repo's.
package archive
