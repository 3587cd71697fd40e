package archive

import (
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/lexicon"
)

// KindLexicon is a Verify problem of a record against its schema
// (Options.Lexicon): an invalid record, a blob that does not match its
// references, or (strict) a collection with no known schema.
const KindLexicon = "lexicon"

// setLexCode keeps the lexicon verdict code of table entry i.
func (a *Archive) setLexCode(i int, code uint32) {
	p := i / pageSize
	for len(a.lexCodes) <= p {
		a.lexCodes = append(a.lexCodes, nil)
	}
	if a.lexCodes[p] == nil {
		a.lexCodes[p] = make([]uint32, pageSize)
	}
	a.lexCodes[p][i%pageSize] = code
}

// lexCode is table entry i's verdict code (0 for none, or i < 0).
func (a *Archive) lexCode(i int) uint32 {
	if i < 0 || i/pageSize >= len(a.lexCodes) || a.lexCodes[i/pageSize] == nil {
		return 0
	}
	return a.lexCodes[i/pageSize][i%pageSize]
}

// lexRecord attributes the verdict of the record at key (block val) and
// reports it when invalid.
func (a *Archive) lexRecord(key []byte, val cid.Cid, add func(Problem)) {
	if ir := a.lex.Record(key, val, a.lexCode(a.store.lookup(val))); ir != nil {
		add(Problem{Kind: KindLexicon, CID: val, Key: string(key), Err: ir})
	}
}

// lexReport finishes the lexicon check: the report, and its blob
// problems and (strict) unknown collections as problems.
func (a *Archive) lexReport(add func(Problem)) *lexicon.RepoReport {
	rep := a.lex.Report()
	for _, bp := range rep.Blobs.Problems {
		add(Problem{Kind: KindLexicon, Key: bp.Record, Err: bp.Err()})
	}
	if rep.Strict {
		for _, cv := range rep.Collections {
			if cv.Unknown > 0 {
				add(Problem{Kind: KindLexicon, Key: cv.Collection, Err: fmt.Errorf("%w: %d records of %s (--lexicon-strict)", lexicon.ErrNoSchema, cv.Unknown, cv.Collection)})
			}
		}
	}
	return rep
}
