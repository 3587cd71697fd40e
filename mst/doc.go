// Package mst implements the Merkle Search Tree (MST) of atproto
// repositories (repository spec v3): key rules and heights, the node codec,
// a persistent in-memory Tree, linear-time builders and a streaming verifier.
//
// # Terms
//
// A key is a repo path "collection/rkey" (see ValidateKey). Its height is the
// number of leading zero 2-bit groups of SHA-256(key) (fanout 4). A node is
// the DAG-CBOR map {"e": [entries], "l": link|null}; an entry is
// {"k": key suffix, "p": prefix length, "t": link|null, "v": record CID}.
// Every entry of a node has the same height, the node's layer. "l" links to
// the subtree of keys left of the first entry, each entry's "t" to the
// subtree between it and the next entry. The leaves are the (key, value)
// pairs; the in-order walk is left subtree, entry, its right subtree, ...
//
// # Canonical shape (settled against the interop vectors and indigo)
//
// The shape is a function of the key set alone:
//
//   - The root's layer is the largest key height in the tree. The root is
//     never an entry-less node that only links to a subtree: such wrappers
//     are trimmed from the top.
//   - Links never skip a layer: a subtree of a layer-L node is exactly on
//     layer L-1. When a gap holds only keys of lower layers, the chain down
//     to them goes through entry-less nodes that hold only an "l" link
//     ("empty intermediate nodes"). The commit-proof vectors "two deep
//     split" and "two deep leafless split" and the exhaustive mst-test-suite
//     CARs (a layer-2 root over layer-0 keys) pin this.
//   - The only node with neither entries nor a link is the root of the empty
//     tree, {e: [], l: null}. Any other such node, and an entry-less root
//     that links to a subtree, is an invalid empty node (ErrEmptyNode).
//   - Nothing links below layer 0.
//   - Prefix compression is mandatory and minimal: "p" is exactly the
//     number of bytes the key shares with the previous key of the same node
//     (0 for the first entry); compression never crosses nodes.
//
// # Keys
//
// ValidateKey follows what the reference MST implementations accept: at
// most 1024 bytes, exactly one '/', both sides non-empty, only A-Za-z0-9 and
// _~-:. on each side, neither side "." or "..". It does not require the
// collection to be an NSID, because the interop vectors use keys such as
// "A0/374913"; ValidateRepoPath adds the NSID and record-key syntax checks.
// Height accepts any bytes (the vectors include "" and "blue").
//
// # One owner of node layout
//
// This package is the only place that knows how a node is laid out and
// that keys are prefix-compressed: no other package reads or writes an
// entry's Prefix or Suffix, rebuilds full keys, searches a node's entries
// or walks a search path itself (TestOnlyMSTKnowsNodeLayout parses every
// other Go file of the module to keep it so). The wire forms NodeData and
// RawNode are for encoding and for RawNodeSource; everyone else reads the
// decoded view:
//
//   - Node (node_view.go) is one node with full keys, links in binary
//     form (nil for null) and its layer. A NodeReader makes Nodes, from
//     bytes (Decode) or through a BlockSource (Read, which takes a
//     RawNodeSource's nodes as they are). Keys and links go into buffers
//     the reader allocates in chunks (up to 64 KiB) and never rewrites, so
//     a Node stays valid as long as it is held and a walk over many nodes
//     costs few allocations; Reset reuses the buffers, for a depth-first walk
//     with one reader per depth. A key longer than MaxKeyLen is refused
//     before any key is built (prefixes can repeat a long key in every
//     entry of a block, quadratic memory otherwise).
//   - Node.Search (node_view.go) is the entry search; SearchPath and
//     Neighbours (node_search.go) walk from a root through a NodeSource,
//     behind which the caller keeps its cache, checks and error wording;
//     a path is at most MaxDepth nodes. Where a path ends when the key is
//     absent is the caller's choice (PathMode): at the key's layer
//     (PathToLayer, what Tree.Get reads), one node below it
//     (PathBelowLayer, the mst-test-suite proofs that diff gives), or
//     where the key's gap is empty (PathToGap, the reference
//     implementation's getRecord proofs).
//   - Prove (node_prove.go) is the proof of a key's presence or absence:
//     the blocks of its search path, each checked as Load checks nodes,
//     and its value: what sync.getRecord answers and a record proof holds.
//   - The compact form (node_compact.go) is how a store with a table of
//     its blocks keeps nodes, links replaced by table references:
//     AppendCompact writes it, DecodeCompact serves it back as a RawNode
//     (for RawNodeSource), WalkCompact gives its full keys.
//   - Entries and ExpandEntry (node_encoding.go) compress keys for nodes
//     written by hand (fixtures, hostile inputs).
//   - DecodeNodeRaw reads the nodes almost every repository is made of
//     (keys and prefixes under 256 bytes, atproto CID links) by comparing
//     bytes with their one canonical form (node_decode_fast.go), and hands
//     any other node to the general decoder, which accepts everything the
//     fast path does with the same result (a fuzz target holds them equal)
//     and says what is wrong with the rest.
//
// A Node checks nothing beyond the strict decoding: key validity, order
// and layers are rules of the tree that Tree, Verify and diff's walk each
// report in their own words.
//
// # Tree
//
// Tree is persistent: Insert and Delete copy only the path they change and
// share everything else, so old trees stay valid. Node CIDs are computed
// when first asked for and cached. A Tree from Load reads nodes lazily from
// its BlockSource (see Tree). Loaded nodes are checked one by one (strict
// encoding, valid and sorted keys, layer); cross-node ordering is only
// checked by Verify. The source is trusted to return the bytes of the CID
// asked for (block hashes are not re-checked here); Verify still catches a
// lying source, because the rebuilt root then differs (ErrRootMismatch).
//
// # Building and verifying
//
// BuildTree and Builder build the canonical tree from sorted leaves in one
// pass, keeping only the right spine: when a key of height h arrives, the
// open nodes of layers below h are finished bottom-up, each becoming the
// last link of the layer above (an entry-less wrapper where a layer has no
// open node). Verify walks a stored tree depth-first without building it,
// collects every Problem it finds, and rebuilds the root from the leaves
// with a Builder as a final cross-check.
package mst
