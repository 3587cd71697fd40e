package plc

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"runtime"
	"sort"
	"sync"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// ExportProgress is reported while an export stream is validated.
type ExportProgress struct {
	Lines int64 // lines read
	Bytes int64 // bytes read
}

// ExportOptions configures ValidateExport.
type ExportOptions struct {
	// Workers is the number of goroutines validating DIDs; 0 means
	// runtime.GOMAXPROCS.
	Workers int
	// Progress, when set, is called from the reading goroutine about every
	// ProgressEvery lines (default 10000) and once at the end.
	Progress      func(ExportProgress)
	ProgressEvery int64
	// MaxLineBytes bounds one line (default 1 MiB).
	MaxLineBytes int
	// KnownBad, when set, lists failures to report as known rather than
	// invalid (see KnownBad).
	KnownBad *KnownBad
}

// DIDFailure is one DID whose log does not validate.
type DIDFailure struct {
	DID string
	Err error // an *OpError; its Index counts that DID's entries
}

// ExportResult summarises an export stream.
type ExportResult struct {
	Lines   int64 // non-empty lines
	DIDs    int
	Valid   int
	Invalid []DIDFailure // sorted by DID
	// KnownBad are the failing DIDs that ExportOptions.KnownBad covers,
	// sorted by DID; they are not in Invalid.
	KnownBad []DIDFailure
	// BadLines counts lines that could not be attributed to a DID at all
	// (not JSON, no "did"); FirstBadLine describes the first.
	BadLines     int64
	FirstBadLine string
}

type exportJob struct {
	line []byte
	n    int64 // 1-based line number
	did  string
}

type didLog struct {
	st    *State
	byCID map[string]int
	items []LogEntry
	err   error
}

// ValidateExport validates every DID in a directory export stream (JSON
// lines of {did, operation, cid, nullified, createdAt}, in the directory's
// order). Entries are routed by DID to Workers goroutines, each keeping the
// logs of its DIDs and validating entries as they arrive; a DID's log is
// checked like ValidateLog checks an audit log, nullified flags included.
// Only an I/O error or an over-long line is returned as an error; bad DIDs
// are reported in the result.
func ValidateExport(r io.Reader, opts ExportOptions) (*ExportResult, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	every := opts.ProgressEvery
	if every <= 0 {
		every = 10000
	}
	maxLine := opts.MaxLineBytes
	if maxLine <= 0 {
		maxLine = 1 << 20
	}
	chans := make([]chan []exportJob, workers)
	results := make([]map[string]*didLog, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		chans[w] = make(chan []exportJob, 8)
		results[w] = map[string]*didLog{}
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			exportWorker(chans[w], results[w])
		}(w)
	}
	res := &ExportResult{}
	batches := make([][]exportJob, workers)
	const batchSize = 256
	flush := func(w int) {
		if len(batches[w]) > 0 {
			chans[w] <- batches[w]
			batches[w] = make([]exportJob, 0, batchSize)
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	var lineNo, nbytes int64
	var readErr error
	for sc.Scan() {
		lineNo++
		raw := sc.Bytes()
		nbytes += int64(len(raw)) + 1
		line := bytes.TrimSpace(raw)
		if len(line) == 0 {
			continue
		}
		res.Lines++
		did, ok := quickDID(line)
		if !ok {
			e, err := ParseLogEntry(line)
			if err != nil || e.DID == "" {
				res.BadLines++
				if res.FirstBadLine == "" {
					if err == nil {
						err = malformed("no did")
					}
					res.FirstBadLine = fmt.Sprintf("line %d: %v", lineNo, err)
				}
				continue
			}
			did = e.DID
		}
		w := shard(did, workers)
		batches[w] = append(batches[w], exportJob{line: append([]byte(nil), line...), n: lineNo, did: did})
		if len(batches[w]) >= batchSize {
			flush(w)
		}
		if opts.Progress != nil && lineNo%every == 0 {
			opts.Progress(ExportProgress{Lines: lineNo, Bytes: nbytes})
		}
	}
	if err := sc.Err(); err != nil {
		readErr = fmt.Errorf("reading export stream after line %d: %w", lineNo, err)
	}
	for w := range chans {
		flush(w)
		close(chans[w])
	}
	wg.Wait()
	if opts.Progress != nil {
		opts.Progress(ExportProgress{Lines: lineNo, Bytes: nbytes})
	}
	for _, m := range results {
		for did, l := range m {
			res.DIDs++
			if l.err == nil {
				l.err = l.finish()
			}
			switch {
			case l.err == nil:
				res.Valid++
			case opts.KnownBad.Covers(did, l.err):
				res.KnownBad = append(res.KnownBad, DIDFailure{DID: did, Err: l.err})
			default:
				res.Invalid = append(res.Invalid, DIDFailure{DID: did, Err: l.err})
			}
		}
	}
	for _, l := range [][]DIDFailure{res.Invalid, res.KnownBad} {
		sort.Slice(l, func(i, j int) bool { return l[i].DID < l[j].DID })
	}
	return res, readErr
}

func exportWorker(in <-chan []exportJob, logs map[string]*didLog) {
	cache := make(keyCache, 1024)
	for batch := range in {
		for _, j := range batch {
			if len(cache) > 200000 {
				cache = make(keyCache, 1024)
			}
			l := logs[j.did]
			if l == nil {
				l = &didLog{}
				logs[j.did] = l
			}
			if l.err != nil {
				continue
			}
			e, err := ParseLogEntry(j.line)
			if err == nil && e.DID != j.did {
				err = wrapf(ErrMalformedOp, "line %d: could not route the entry by its did", j.n)
			}
			if err != nil {
				l.err = &OpError{Index: len(l.items), Err: fmt.Errorf("line %d: %w", j.n, err)}
				continue
			}
			l.err = l.add(e, cache)
		}
	}
}

func (l *didLog) add(e LogEntry, cache keyCache) error {
	i := len(l.items)
	l.items = append(l.items, e)
	if l.st == nil {
		if !ValidDID(e.DID) {
			return &OpError{Index: 0, CID: e.CID, Err: wrapf(ErrBadDID, "%q", e.DID)}
		}
		l.st = &State{DID: syntax.DID(e.DID), timed: true}
		l.byCID = map[string]int{}
	}
	if err := l.st.apply(&l.items[i], l.byCID, cache); err != nil {
		return &OpError{Index: i, CID: e.CID, Err: err}
	}
	return nil
}

func (l *didLog) finish() error {
	for i := range l.items {
		if l.items[i].Nullified != l.st.Entries[i].Nullified {
			return &OpError{Index: i, CID: l.items[i].CID, Err: fmt.Errorf("%w: stream says nullified=%v, the rules give %v",
				ErrNullifiedMismatch, l.items[i].Nullified, l.st.Entries[i].Nullified)}
		}
	}
	return nil
}

// quickDID finds the "did" value of an export line without parsing it all.
// The worker checks it against the full parse.
func quickDID(line []byte) (string, bool) {
	const key = `"did":"`
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return "", false
	}
	rest := line[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return "", false
	}
	return string(rest[:j]), true
}

func shard(did string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(did))
	return int(h.Sum32() % uint32(n))
}
