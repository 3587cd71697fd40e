// Package build makes repositories offline: it creates a signed repository
// CAR from records (a directory tree or JSON lines) and rewrites an existing
// one (new signing key, new DID, records or collections filtered out,
// unreferenced and duplicate blocks compacted away).
//
// # Terms
//
// A record path is "collection/rkey": the collection an NSID, the rkey a
// record key. It is the record's MST key. Records are given in the atproto
// JSON form ($link, $bytes, blob objects) and stored as canonical DAG-CBOR.
//
// # Layout of the CARs written here
//
// A repository built from records (Create, or Rewrite when the set of records
// changes) is laid out deterministically: the signed commit first (the single
// root), then the MST nodes in pre-order (a node, its left subtree, then for
// each entry that entry's right subtree), then the record blocks in key order,
// each distinct block once. The same records, DID, key and rev therefore give
// byte-identical files.
//
// Signatures are deterministic too: commits are signed with RFC 6979 nonces
// (k256 through secp256k1-voi's RFC6979SHA256 reader, p256 through
// crypto/ecdsa with a nil random source) and low-S normalised, which every
// atproto verifier accepts; indigo's atcrypto signs with random nonces, which
// would make two runs differ. Every signature is checked with atcrypto before
// it is used.
//
// When Rewrite keeps the records as they are, it keeps the input's blocks and
// their order (so a rewrite that changes nothing is byte-for-byte the input),
// replacing only the commit when it has to, and with Compact dropping blocks
// nothing references and repeated blocks. When records are dropped, the tree
// is rebuilt and the output has the canonical layout above: the dropped
// records' blocks never reach the output.
//
// # Memory and speed
//
// arbor create holds every record until the tree is built, so how records
// are held decides its memory. A RecordSet (ReadJSONLines, ReadDir) keeps
// record bodies and paths in large pointer-free slabs and each record as a
// fixed-size entry with the sha2-256 digest of its body: a million records
// are a few hundred objects for the garbage collector, and little more
// memory than their bytes. Lines are read in batches by one goroutine,
// converted by one worker per CPU and put back in input order; a worker
// transcodes the JSON straight to DAG-CBOR (dagcbor.JSONTranscoder) and
// checks the envelope and the record on the CBOR, and sends anything
// unusual, every error included, through dagcbor.FromJSON and EncodeRecord,
// so errors are exactly theirs. Keys are sorted by collection, then by
// rkey within each collection, which is bytewise path order. The []Record
// API (LoadJSONLines, LoadDir, Create) is kept and runs on the same code.
//
// Rewrite reads a seekable input twice rather than keeping record bodies:
// the first read verifies it and keeps only the tree, the second copies the
// blocks (checking that the input did not change in between). A
// non-seekable input keeps its records from its single read.
//
// Outputs are written through internal/atomicfile, whose writer overlaps
// the system calls writing one megabyte with the work producing the next.
//
// # Missing record keys
//
// JSON lines without an "rkey" get TIDs derived from the commit's rev: the
// n-th keyless record (in input order) gets the TID whose timestamp is
// rev's minus (m-n) microseconds, m the number of keyless records, with
// clock id 0. They sort in input order, come before the rev, and the same
// input and rev give the same keys.
//
// # Errors
//
// Problems with the input are *InputError values naming the file, the line
// (for JSON, computed from the byte offset) and the record path when known;
// they wrap one of the sentinel errors below, and the underlying dagcbor or
// syntax error. Nothing here prints or exits.
package build
