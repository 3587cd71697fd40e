// Package view renders a repository's Merkle Search Tree for people: as
// indented text, as a Graphviz DOT graph or as nested JSON (Render), and as
// a local web page served by an http.Handler (NewServer) whose small JSON
// API loads nodes and records on demand.
//
// # Terms
//
//   - Node: one MST node block. Its layer is the height of its entries'
//     keys; an entry-less node (a link-only "wrapper" in a gap that holds
//     only lower keys) is one layer above the node it links to, and the
//     empty tree's root is on layer 0.
//   - Key range: the first and last key stored anywhere under a node (its
//     own entries and all its subtrees), found by following the leftmost
//     and rightmost links down, O(depth) node reads.
//   - Depth: the number of node levels from the root (depth 1) down to the
//     lowest node, as `arbor inspect` and the reference count it.
//   - Sides: with two archives, A is the first (old) and B the second
//     (new); the diff goes from A to B, so "created" means only in B and
//     "deleted" only in A.
//
// # On demand
//
// The server never sends the whole repository: the page asks for one node
// (its entries and the summaries of its children), one page of a
// collection's records (a seek in the tree from a cursor, O(depth + page)),
// one record, or the search path of one key. The only whole-tree work is
// done once, when the server is made: the record count per collection and,
// for repositories up to MaxReverseIndex records, an index from record CID
// to path so that CID links between records can be followed. Record bodies
// are needed only to show one record: an archive read with
// archive.ReadLazy (as arbor view reads a file) fetches each from the
// file when it is asked for, so the server keeps the MST nodes and a small
// table per block, not the records.
//
// Nothing in this package prints, exits or keeps package-level mutable state.
package view
