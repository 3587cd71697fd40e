package archive

import (
	"io"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/lexicon"
)

// Options are what every reading mode takes.
type Options struct {
	// Progress, if set, is called with the number of bytes read so far.
	Progress func(n int64)
	// CollectBadBlocks turns a block whose bytes do not match its CID, or
	// whose CID is not an atproto CID, into a BlockProblem instead of an
	// error, so a verifier can list every bad block. Framing errors
	// (truncation, bad varints) still end the read.
	CollectBadBlocks bool
	// Lexicon, if set, validates every record block against its schema as
	// it streams past (each distinct block once; only a verdict code is
	// kept), for Verify to attribute to record paths and report
	// (Report.Lexicon).
	Lexicon *lexicon.RepoCheck
}

func (o Options) load() loadOptions {
	return loadOptions{Progress: o.Progress, CollectBadBlocks: o.CollectBadBlocks, Lexicon: o.Lexicon}
}

// Read reads an archive in its leanest form, for checking and summarising
// it: MST nodes compact (links as references into the block table), records
// by digest alone. Verify, Inspect, Walk and the node methods work on it;
// record bytes and the file order were not kept (see ReadWithBodies,
// ReadLazy), and Get rebuilds a node's bytes from its compact form (see
// ReadNodes).
func Read(r io.Reader, opts Options) (*Archive, error) {
	lo := opts.load()
	lo.CompactNodes = true
	return read(r, lo)
}

// Summary is an archive read to be summarised and nothing else: every
// block is hashed against its CID and the tree kept compact, as Read
// does, but record blocks are not checked as records (strict DAG-CBOR,
// $type), which is a third of reading's work and which only Verify
// reports. It has Inspect and the report built from it, not Verify.
type Summary struct{ a *Archive }

// ReadSummary reads an archive for Inspect (see Summary). opts.Lexicon is
// not used.
func ReadSummary(r io.Reader, opts Options) (*Summary, error) {
	lo := opts.load()
	lo.CompactNodes, lo.SkipRecords, lo.Lexicon = true, true, nil
	a, err := read(r, lo)
	if err != nil {
		return nil, err
	}
	return &Summary{a}, nil
}

// Inspect summarises the archive (see Archive.Inspect).
func (s *Summary) Inspect() (*Stats, error) { return s.a.Inspect() }

// CommitErr is why the root block could not be used as a commit, if it
// could not (see Archive.CommitErr).
func (s *Summary) CommitErr() error { return s.a.CommitErr }

// Report is the inspect report of file from st, Inspect's result.
func (s *Summary) Report(file string, st *Stats) *InspectReport {
	return NewInspectReport(file, s.a, st)
}

// ReadNodes reads an archive keeping MST nodes and commits whole (Get hands
// their kept bytes over, the fastest for a walk that reads every node) and
// records by digest alone: for diffing trees and rewriting repositories.
func ReadNodes(r io.Reader, opts Options) (*Archive, error) {
	return read(r, opts.load())
}

// Bodies is an archive that keeps the bytes of every block.
type Bodies struct{ *Archive }

// ReadWithBodies reads an archive keeping every block's bytes, records
// included: Get and Record answer for any block, Export writes the records,
// Order gives the file order. It takes as much memory as the file.
func ReadWithBodies(r io.Reader, opts Options) (*Bodies, error) {
	lo := opts.load()
	lo.KeepBodies = true
	a, err := read(r, lo)
	if err != nil {
		return nil, err
	}
	return &Bodies{a}, nil
}

// Order returns every distinct block CID in file order.
func (b *Bodies) Order() []cid.Cid { return b.order() }

// Record returns the bytes of the record at path (collection/rkey) and its
// CID. found is false when the tree has no such key.
func (b *Bodies) Record(path string) (c cid.Cid, body []byte, found bool, err error) {
	return b.record(path)
}

// Export writes every record as dir/COLLECTION/RKEY.json and the commit as
// dir/_commit.json (see the package's export rules); it returns the number
// of records written.
func (b *Bodies) Export(dir string) (int, error) { return export(b.Archive, dir) }

// Lazy is an archive whose record bytes are read again from the file when
// asked for.
type Lazy struct{ *Archive }

// ReadLazy reads an archive with MST nodes compact and, when r is a regular
// file (or another seekable io.ReaderAt), only where each record's bytes
// lie in it, about 8 bytes a block: Get and Record read the bytes again on
// demand and check them against the CID every time. The reader must then
// stay open and unchanged as long as the archive is used. From any other
// reader (a pipe, standard input) the bodies are kept in memory instead;
// FromFile tells which.
func ReadLazy(r io.Reader, opts Options) (*Lazy, error) {
	lo := opts.load()
	lo.Lazy, lo.CompactNodes = true, true
	a, err := read(r, lo)
	if err != nil {
		return nil, err
	}
	return &Lazy{a}, nil
}

// FromFile reports whether record bytes are read from the file on demand
// (the file must stay open) rather than kept in memory.
func (l *Lazy) FromFile() bool { return l.lazy() }

// Record returns the bytes of the record at path (collection/rkey) and its
// CID, read from the file and checked again. found is false when the tree
// has no such key.
func (l *Lazy) Record(path string) (c cid.Cid, body []byte, found bool, err error) {
	return l.record(path)
}

// WithRecords is an archive whose record bytes are at hand, a *Bodies or a
// *Lazy: what a viewer that shows records takes.
type WithRecords interface {
	// Base is the archive itself: its commit, tree, blocks and checks.
	Base() *Archive
	// Record returns the record at path (collection/rkey), as
	// Bodies.Record and Lazy.Record do.
	Record(path string) (c cid.Cid, body []byte, found bool, err error)
}

// Base returns the archive.
func (b *Bodies) Base() *Archive { return b.Archive }

// Base returns the archive.
func (l *Lazy) Base() *Archive { return l.Archive }
