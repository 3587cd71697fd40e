package plc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"runtime"
	"sort"
	"sync"
	"time"
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
	// Shard and Shards split the DIDs between runs: with Shards > 1 only
	// the DIDs with DIDHash(did) % Shards == Shard are validated (lines
	// that name no DID are counted by shard 0 only).
	Shard, Shards int
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
	// OtherShards counts the lines of DIDs outside the shard validated.
	OtherShards int64
	// Kept is how many operations' state the workers still held at the
	// end (a few per DID, whatever the length of their logs).
	Kept int
}

type exportJob struct {
	line []byte
	n    int64 // 1-based line number
	did  string
}

// ValidateExport validates every DID in a directory export stream (JSON
// lines of {did, operation, cid, nullified, createdAt}, in the directory's
// order). Entries are routed by DID to Workers goroutines, each validating
// its DIDs' entries as they arrive; a DID's log is checked like ValidateLog
// checks an audit log, nullified flags included, but only the state later
// entries can reach is kept (see the package documentation): memory grows
// with the number of DIDs, not of operations. With Shards > 1 only the DIDs
// of one shard are validated. Only an I/O error or an over-long line is
// returned as an error; bad DIDs are reported in the result.
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
	shards := max(opts.Shards, 1)
	if opts.Shard < 0 || opts.Shard >= shards {
		return nil, fmt.Errorf("shard %d of %d: want 0 <= shard < shards", opts.Shard, shards)
	}
	chans := make([]chan []exportJob, workers)
	states := make([]*exportState, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		chans[w] = make(chan []exportJob, 8)
		states[w] = newExportState()
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			states[w].run(chans[w])
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
		if opts.Progress != nil && lineNo%every == 0 {
			opts.Progress(ExportProgress{Lines: lineNo, Bytes: nbytes})
		}
		line := bytes.TrimSpace(raw)
		if len(line) == 0 {
			continue
		}
		res.Lines++
		did, ok := quickDID(line)
		if !ok {
			e, err := ParseLogEntry(line)
			if err != nil || e.DID == "" {
				if opts.Shard == 0 {
					res.BadLines++
					if res.FirstBadLine == "" {
						if err == nil {
							err = malformed("no did")
						}
						res.FirstBadLine = fmt.Sprintf("line %d: %v", lineNo, err)
					}
				}
				continue
			}
			did = e.DID
		}
		h := DIDHash(did)
		if int(h%uint32(shards)) != opts.Shard {
			res.OtherShards++
			continue
		}
		w := int(h / uint32(shards) % uint32(workers))
		batches[w] = append(batches[w], exportJob{line: append([]byte(nil), line...), n: lineNo, did: did})
		if len(batches[w]) >= batchSize {
			flush(w)
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
	for _, st := range states {
		res.Kept += st.kept()
		st.each(func(did string, err error) {
			res.DIDs++
			switch {
			case err == nil:
				res.Valid++
			case opts.KnownBad.Covers(did, err):
				res.KnownBad = append(res.KnownBad, DIDFailure{DID: did, Err: err})
			default:
				res.Invalid = append(res.Invalid, DIDFailure{DID: did, Err: err})
			}
		})
	}
	for _, l := range [][]DIDFailure{res.Invalid, res.KnownBad} {
		sort.Slice(l, func(i, j int) bool { return l[i].DID < l[j].DID })
	}
	return res, readErr
}

// DIDHash is the hash that splits an export into shards (FNV-1a, 32 bits,
// of the DID's text; a DID is in shard DIDHash(did) % shards), the same on
// every machine.
func DIDHash(did string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(did))
	return h.Sum32()
}

// didKey is a did:plc's 24 base32 characters decoded (15 bytes): the key
// a worker keeps its DIDs under.
type didKey [15]byte

func parseDIDKey(did string) (didKey, bool) {
	var k didKey
	if !ValidDID(did) {
		return k, false
	}
	n, err := b32.Decode(k[:], []byte(did[8:]))
	return k, err == nil && n == len(k)
}

func (k didKey) String() string { return "did:plc:" + b32.EncodeToString(k[:]) }

// exportState is one worker's DIDs: an index into chunks of compact
// chains (no pointer per DID), the first failure of each failed chain (in
// a side table: most DIDs never fail), the DIDs that are not did:plc
// identifiers (which fail at once), and the stream time the worker has
// reached.
type exportState struct {
	index    map[didKey]uint32
	chunks   [][]chain
	failures map[uint32]error
	badDID   map[string]error
	cache    keyCache
	clock    time.Time // the newest createdAt seen
	swept    time.Time // clock at the last sweep
}

const chainChunk = 1 << 14

func newExportState() *exportState {
	return &exportState{index: map[didKey]uint32{}, failures: map[uint32]error{}, badDID: map[string]error{}, cache: make(keyCache, 1024)}
}

func (s *exportState) get(k didKey) (uint32, *chain) {
	i, ok := s.index[k]
	if !ok {
		i = uint32(len(s.index))
		s.index[k] = i
		if int(i/chainChunk) == len(s.chunks) {
			s.chunks = append(s.chunks, make([]chain, 0, chainChunk))
		}
		last := len(s.chunks) - 1
		s.chunks[last] = append(s.chunks[last], newChain(false, true, 0))
	}
	return i, &s.chunks[i/chainChunk][i%chainChunk]
}

func (s *exportState) run(in <-chan []exportJob) {
	for batch := range in {
		for _, j := range batch {
			s.add(j)
		}
	}
}

func (s *exportState) add(j exportJob) {
	if len(s.cache) > 1<<16 {
		s.cache = make(keyCache, 1024)
	}
	var l *chain
	var li uint32
	if k, ok := parseDIDKey(j.did); ok {
		if li, l = s.get(k); l.failed {
			return
		}
	} else if _, seen := s.badDID[j.did]; seen {
		return
	}
	e, err := ParseLogEntry(j.line)
	if err == nil && e.DID != j.did {
		err = wrapf(ErrMalformedOp, "line %d: could not route the entry by its did", j.n)
	}
	switch {
	case err != nil && l == nil:
		s.badDID[j.did] = &OpError{Index: 0, Err: fmt.Errorf("line %d: %w", j.n, err)}
		return
	case err != nil:
		s.fail(li, l, &OpError{Index: int(l.n), Err: fmt.Errorf("line %d: %w", j.n, err)})
		return
	case l == nil:
		s.badDID[j.did] = &OpError{Index: 0, CID: e.CID, Err: wrapf(ErrBadDID, "%q", j.did)}
		return
	}
	if _, err := l.apply(j.did, &e, s.cache); err != nil {
		if errors.Is(err, ErrPrevNotFound) && l.dropped && e.CreatedAt.Before(s.swept) {
			err = wrapf(ErrMisordered, "line %d: createdAt %s is older than %s, which the stream had already reached; bounded-memory validation needs the export in time order (%v)",
				j.n, FormatTime(e.CreatedAt), FormatTime(s.swept), err)
		}
		s.fail(li, l, &OpError{Index: int(l.n), CID: e.CID, Err: err})
		return
	}
	if e.CreatedAt.After(s.clock) {
		s.clock = e.CreatedAt
	}
	if s.clock.Sub(s.swept) > RecoveryWindow {
		s.sweep()
	}
}

// sweep prunes every chain as of the worker's clock: in a stream in time
// order no later entry is older than that, so pruning as of a nanosecond
// before it keeps every node such an entry can reach.
func (s *exportState) sweep() {
	s.swept = s.clock
	for _, chunk := range s.chunks {
		for i := range chunk {
			if l := &chunk[i]; !l.failed && len(l.nodes) > 1 {
				l.pruneAt(s.clock.Add(-time.Nanosecond))
			}
		}
	}
}

// fail records err as the first failure of chain i and drops its state.
func (s *exportState) fail(i uint32, l *chain, err error) {
	s.failures[i] = err
	l.failed = true
	l.nodes = nil
	l.mismatch = nil
}

func (s *exportState) kept() int {
	n := 0
	for _, chunk := range s.chunks {
		for i := range chunk {
			n += len(chunk[i].nodes)
		}
	}
	return n
}

// each calls f for every DID with its verdict (nil when valid).
func (s *exportState) each(f func(did string, err error)) {
	for k, i := range s.index {
		l := &s.chunks[i/chainChunk][i%chainChunk]
		err := s.failures[i]
		if !l.failed {
			err = l.finish()
		}
		f(k.String(), err)
	}
	for did, err := range s.badDID {
		f(did, err)
	}
}

// quickDID finds the "did" value of an export line without parsing it all.
// The worker checks it against the full parse.
func quickDID(line []byte) (string, bool) { return quickField(line, `"did":"`) }

// quickField finds the string value after key (like `"cid":"`) in an
// export line without parsing it all.
func quickField(line []byte, key string) (string, bool) {
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
