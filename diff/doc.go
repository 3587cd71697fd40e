// Package diff compares two Merkle Search Trees (two snapshots of an atproto
// repository), lists the record operations that lead from the old one to the
// new one, and gives the blocks a sync v1.1 #commit event would carry so that
// the operations can be checked by inverting them.
//
// # Terms
//
//   - Op: one record path that changed: a create (new CID only), an update
//     (old and new CIDs) or a delete (old CID only).
//   - Created / deleted nodes: MST node blocks only in the new / only in the
//     old tree, compared as sets of CIDs.
//   - Proof nodes: for every changed key, the new tree's nodes on its search
//     path, from the root down to the node holding the key (inclusion proof)
//     or to where it would be (exclusion proof). The walk stops at a node
//     whose layer is below the key's height, but that node is included, as
//     in the mst-test-suite (DavidBuchanan314/mst-test-suite).
//   - Inductive proof nodes: the new tree's nodes that must be read to undo
//     the operations one by one, in descending path order, landing on the
//     old root (sync v1.1 "MST operation inversion").
//   - Covering proof: proof nodes, inductive proof nodes, and the search
//     paths of each changed key's neighbours in the new tree (what the
//     reference's getCoveringProof gives), so that the operations can be
//     undone in any order from the created nodes plus these blocks alone.
//
// # The walk
//
// Compare runs one cursor over each tree in key order. A cursor yields
// either a leaf (key, value) or a whole subtree by CID. When both cursors
// point at subtrees with the same CID, both are stepped over unread: the
// subtrees are identical. Otherwise the subtree on the higher layer (or both,
// on the same layer, or the only subtree facing a leaf) is opened, and two
// leaves are compared as in a merge of sorted lists. The nodes read grow with
// the number of changes times the depth of the trees; OldVisited and
// NewVisited report them.
//
// A node can be opened on one side before its twin is met on the other (for
// example when a leaf of the other side must be placed first), so created
// and deleted nodes are the set differences of the nodes opened on each
// side: a node opened on both sides is in both trees. In a valid MST a node
// (non-empty, with its keys) can only appear at one place, so these sets are
// exactly the node sets' differences, without reading the shared parts.
//
// Created and deleted record CIDs are taken from the operations: new values
// that no operation removes, old values that none brings back (as the
// reference's DataDiff does). A record CID that an untouched path also holds
// is not seen; callers that hold both block sets can filter with them.
//
// # Applying a slice
//
// ApplySlice combines a base snapshot with a slice (the blocks NEW has and
// OLD lacks, rooted at NEW's commit, as com.atproto.sync.getRepo?since=
// returns) and yields every block of the new full snapshot, or an error
// wrapping ErrSliceMismatch when the slice does not fit the base.
//
// # Opening snapshots
//
// OpenPair opens the two sides of a diff (Opened): a regular file is indexed
// and mapped (car.OpenIndex), its framing scanned in the background and each
// block hash-checked when the walk reads it, so a small change to a large
// repository reads little of either file; standard input and other files
// that cannot be mapped are read in full by the caller's ReadWhole.
//
// Nothing in this package prints, exits or keeps package-level state.
package diff
