package archive

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-atproto/arbor/car"
)

// Verdicts of a repository in a batch, the three outcomes of arbor verify
// on one file (exit 0, 1 and 2).
const (
	VerdictValid      = "valid"
	VerdictInvalid    = "invalid"
	VerdictUnreadable = "unreadable"
)

// BatchLine is one line of arbor verify --batch: one repository's verdict,
// or, on the last line, the summary.
type BatchLine struct {
	// File is the path verified, as listed.
	File string `json:"file,omitempty"`
	// Verdict is "valid", "invalid" (arbor verify FILE would exit 1) or
	// "unreadable" (it would exit 2: not a CAR, a file that cannot be
	// opened, a framing error).
	Verdict string `json:"verdict,omitempty"`
	// DID and Rev are the commit's, when there is one.
	DID string `json:"did,omitempty"`
	Rev string `json:"rev,omitempty"`
	// Records counts the records checked, Blocks the CAR's sections.
	Records int `json:"records"`
	Blocks  int `json:"blocks"`
	// SignatureChecked says the signature was verified against a key.
	SignatureChecked bool `json:"signatureChecked"`
	// Problems are every problem found, as arbor verify --json lists them.
	Problems []ProblemInfo `json:"problems,omitempty"`
	// Warnings are things worth saying that do not make it invalid.
	Warnings []string `json:"warnings,omitempty"`
	// Error says why an unreadable repository could not be verified, or
	// why the read of an invalid one stopped.
	Error string `json:"error,omitempty"`
	// Summary is set on the last line only, and nothing else is.
	Summary *BatchSummary `json:"summary,omitempty"`
}

// BatchSummary totals a batch (the last line of arbor verify --batch).
type BatchSummary struct {
	// Repos counts the repositories verified (those of this shard).
	Repos int `json:"repos"`
	// Valid, Invalid and Unreadable count them by verdict.
	Valid      int `json:"valid"`
	Invalid    int `json:"invalid"`
	Unreadable int `json:"unreadable"`
	// Records and Blocks are the totals over the repositories verified.
	Records int64 `json:"records"`
	Blocks  int64 `json:"blocks"`
	// OtherShards counts the listed paths left to the other shards.
	OtherShards int `json:"otherShards"`
	// Shard is the part verified, "i/n" (the paths whose 0-based position
	// in the list is i modulo n); empty when the whole list was.
	Shard string `json:"shard,omitempty"`
	// Seconds is how long the batch took.
	Seconds float64 `json:"seconds"`
}

// Failed reports whether any repository of the batch is not valid.
func (s *BatchSummary) Failed() bool { return s.Invalid+s.Unreadable > 0 }

// BatchOptions configures VerifyBatch.
type BatchOptions struct {
	// Workers is how many repositories are verified at once; 0 means
	// runtime.GOMAXPROCS.
	Workers int
	// Verify applies to every repository (with no Key the signatures are
	// not checked, as arbor verify without --key).
	Verify VerifyOptions
	// Shard and Shards: with Shards > 1 only the paths at positions p
	// with p % Shards == Shard are verified.
	Shard, Shards int
	// Done, when set, counts the repositories verified so far.
	Done *atomic.Int64
	// Open, when set, opens each listed item in place of os.Open (arbor
	// verify --batch --resolve fetches the items that name an account).
	Open func(item string) (io.ReadCloser, error)
	// Options, when set, gives each repository's VerifyOptions, in place of
	// Verify, once it is read: arbor verify --batch --resolve looks the
	// key of its commit's DID up there. An error makes the repository
	// unreadable, as it makes arbor verify exit 2.
	Options func(item string, a *Archive) (VerifyOptions, error)
}

// VerifyBatch verifies the repositories at paths on Workers goroutines,
// each read and checked as arbor verify checks one file, and calls emit
// with each one's line in the order of paths (emit is called from one
// goroutine). It returns the summary; an error from emit stops the batch
// and is returned.
func VerifyBatch(paths []string, opts BatchOptions, emit func(*BatchLine) error) (*BatchSummary, error) {
	start := time.Now()
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	shards := max(opts.Shards, 1)
	if opts.Shard < 0 || opts.Shard >= shards {
		return nil, fmt.Errorf("shard %d of %d: want 0 <= shard < shards", opts.Shard, shards)
	}
	sum := &BatchSummary{}
	var mine []string
	for i, p := range paths {
		if i%shards == opts.Shard {
			mine = append(mine, p)
		} else {
			sum.OtherShards++
		}
	}
	if shards > 1 {
		sum.Shard = fmt.Sprintf("%d/%d", opts.Shard, shards)
	}
	type result struct {
		seq  int
		line *BatchLine
	}
	// At most window repositories are in flight or waiting for an earlier
	// one to be emitted, so a slow repository holds back a bounded queue.
	window := 4 * workers
	tokens := make(chan struct{}, window)
	jobs := make(chan int)
	results := make(chan result, window)
	stop := make(chan struct{})
	go func() {
		defer close(jobs)
		for i := range mine {
			select {
			case tokens <- struct{}{}:
			case <-stop:
				return
			}
			jobs <- i
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results <- result{i, verifyItem(mine[i], opts)}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()
	pending := map[int]*BatchLine{}
	next := 0
	var emitErr error
	for r := range results {
		pending[r.seq] = r.line
		for l, ok := pending[next]; ok; l, ok = pending[next] {
			delete(pending, next)
			next++
			<-tokens
			if emitErr != nil {
				continue
			}
			sum.add(l)
			if opts.Done != nil {
				opts.Done.Add(1)
			}
			if emitErr = emit(l); emitErr != nil {
				close(stop)
			}
		}
	}
	sum.Seconds = time.Since(start).Seconds()
	return sum, emitErr
}

func (s *BatchSummary) add(l *BatchLine) {
	s.Repos++
	s.Records += int64(l.Records)
	s.Blocks += int64(l.Blocks)
	switch l.Verdict {
	case VerdictValid:
		s.Valid++
	case VerdictInvalid:
		s.Invalid++
	default:
		s.Unreadable++
	}
}

// VerifyFile reads and verifies the repository at path as arbor verify
// does (every block's hash, bad blocks listed; then Verify with opts) and
// describes the outcome as a batch line.
func VerifyFile(path string, opts VerifyOptions) *BatchLine {
	return verifyItem(path, BatchOptions{Verify: opts})
}

// verifyItem is VerifyFile with BatchOptions' Open and Options hooks.
func verifyItem(path string, bo BatchOptions) *BatchLine {
	l := &BatchLine{File: path}
	open := bo.Open
	if open == nil {
		open = func(p string) (io.ReadCloser, error) { return os.Open(p) }
	}
	f, err := open(path)
	if err != nil {
		l.Verdict, l.Error = VerdictUnreadable, err.Error()
		return l
	}
	defer f.Close()
	a, err := Read(f, Options{CollectBadBlocks: true})
	if err != nil {
		// A block whose bytes are not its CID's is a failed verification
		// (arbor verify exits 1), anything else an unreadable file.
		l.Verdict, l.Error = VerdictUnreadable, fmt.Sprintf("%s: %v", path, err)
		if errors.Is(err, car.ErrHashMismatch) {
			l.Verdict = VerdictInvalid
		}
		return l
	}
	opts := bo.Verify
	if bo.Options != nil {
		if opts, err = bo.Options(path, a); err != nil {
			l.Verdict, l.Error = VerdictUnreadable, fmt.Sprintf("%s: %v", path, err)
			return l
		}
	}
	rep, err := a.Verify(opts)
	if err != nil {
		l.Verdict, l.Error = VerdictUnreadable, err.Error()
		return l
	}
	r := NewVerifyReport(path, a, rep)
	l.Verdict = VerdictInvalid
	if r.Valid {
		l.Verdict = VerdictValid
	}
	if r.Commit != nil {
		l.DID, l.Rev = r.Commit.DID.String(), r.Commit.Rev.String()
	}
	l.Records, l.Blocks, l.SignatureChecked = r.Records, r.Blocks, r.SignatureChecked
	if len(r.Problems) > 0 {
		l.Problems = r.Problems
	}
	if len(r.Warnings) > 0 {
		l.Warnings = r.Warnings
	}
	return l
}
