package build

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// MaxLineSize is the longest JSON line LoadJSONLines reads: room for a
// 1 MiB record even with every byte escaped or base64-encoded.
const MaxLineSize = 8 << 20

// rawItem is one record's JSON before it is parsed: a whole JSON line
// (envelope true) or the content of a COLLECTION/RKEY.json file.
type rawItem struct {
	file       string
	line       int
	collection string
	rkey       string
	data       []byte
	envelope   bool
}

// LoadJSONLines reads records given as JSON lines, one
// {"collection": NSID, "rkey": RKEY, "record": {...}} object per line ("rkey"
// may be left out; Create then assigns a TID). Blank lines are skipped. name
// is used in error messages. Records are returned in input order.
func LoadJSONLines(r io.Reader, name string) ([]Record, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	return process(func(emit func(rawItem)) error {
		line := 0
		var long []byte
		for {
			chunk, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				if len(long)+len(chunk) > MaxLineSize {
					return &InputError{File: name, Line: line + 1, Err: fmt.Errorf("%w: longer than %d bytes", ErrBadLine, MaxLineSize)}
				}
				long = append(long, chunk...)
				continue
			}
			if err != nil && err != io.EOF {
				return &InputError{File: name, Line: line + 1, Err: err}
			}
			if len(chunk) == 0 && len(long) == 0 && err == io.EOF {
				return nil
			}
			line++
			var text []byte
			if long != nil {
				text = append(long, chunk...)
				long = nil
			} else {
				text = bytes.Clone(chunk)
			}
			if len(bytes.TrimSpace(text)) > 0 {
				emit(rawItem{file: name, line: line, data: text, envelope: true})
			}
			if err == io.EOF {
				return nil
			}
		}
	})
}

// CommitFile is the file arbor export writes beside the collections; LoadDir
// skips it.
const CommitFile = "_commit.json"

// LoadDir reads records laid out as arbor export writes them:
// DIR/COLLECTION/RKEY.json, each file one record in the atproto JSON form.
// DIR/_commit.json is ignored; any other file, and anything in a collection
// directory that is not a RKEY.json file, is an error (ErrBadLayout).
// Records are returned in path order.
func LoadDir(dir string) ([]Record, error) {
	top, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	return process(func(emit func(rawItem)) error {
		for _, c := range top {
			cpath := filepath.Join(dir, c.Name())
			if !c.IsDir() {
				if c.Name() == CommitFile {
					continue
				}
				return &InputError{File: cpath, Err: fmt.Errorf("%w: a file where a COLLECTION directory is expected", ErrBadLayout)}
			}
			files, err := os.ReadDir(cpath)
			if err != nil {
				return &InputError{File: cpath, Err: err}
			}
			for _, f := range files {
				fpath := filepath.Join(cpath, f.Name())
				rkey, ok := strings.CutSuffix(f.Name(), ".json")
				if f.IsDir() || !ok {
					return &InputError{File: fpath, Err: fmt.Errorf("%w: want RKEY.json files only in a collection directory", ErrBadLayout)}
				}
				b, err := os.ReadFile(fpath)
				if err != nil {
					return &InputError{File: fpath, Err: err}
				}
				emit(rawItem{file: fpath, collection: c.Name(), rkey: rkey, data: b})
			}
		}
		return nil
	})
}

// convert parses and checks one raw item.
func convert(it *rawItem, pc pathChecker) (Record, error) {
	rec := Record{File: it.file, Line: it.line, Collection: it.collection, RKey: it.rkey}
	fail := func(line int, path string, err error) (Record, error) {
		return Record{}, &InputError{File: it.file, Line: line, Path: path, Err: err}
	}
	v, err := dagcbor.FromJSON(it.data)
	if err != nil {
		line := it.line
		var je *dagcbor.JSONError
		if !errors.As(err, &je) {
			je = nil
		} else if !it.envelope {
			line = lineOf(it.data, je.Offset)
		}
		sentinel := ErrBadRecord
		if it.envelope && (je == nil || !strings.HasPrefix(je.Path, `$["record"]`)) {
			sentinel = ErrBadLine
		}
		path := ""
		if !it.envelope {
			path = it.collection + "/" + it.rkey
		}
		return fail(line, path, wrap(sentinel, err))
	}
	if it.envelope {
		m := v.(map[string]any) // FromJSON only returns objects
		for k := range m {
			switch k {
			case "collection", "rkey", "record":
			default:
				return fail(it.line, "", fmt.Errorf("%w: unexpected field %q (want collection, rkey, record)", ErrBadLine, k))
			}
		}
		coll, ok := m["collection"].(string)
		if !ok {
			return fail(it.line, "", fmt.Errorf("%w: \"collection\" is missing or not a string", ErrBadLine))
		}
		rec.Collection = coll
		switch rk := m["rkey"].(type) {
		case string:
			rec.RKey = rk
		case nil:
		default:
			return fail(it.line, "", fmt.Errorf("%w: \"rkey\" is not a string", ErrBadLine))
		}
		r, present := m["record"]
		if !present {
			return fail(it.line, "", fmt.Errorf("%w: no \"record\"", ErrBadLine))
		}
		v = r
	}
	path := rec.Collection + "/" + rec.RKey
	if rec.RKey != "" || !it.envelope {
		if err := pc.check(rec.Collection, rec.RKey); err != nil {
			return fail(it.line, path, err)
		}
	} else if err := pc.check(rec.Collection, "self"); err != nil {
		return fail(it.line, rec.Collection+"/", err)
	}
	if rec.RKey == "" {
		path = rec.Collection + "/(new TID)"
	}
	rec.Data, rec.CID, err = EncodeRecord(v)
	if err != nil {
		return fail(it.line, path, err)
	}
	return rec, nil
}

const batchSize = 256

type batch struct {
	seq   int
	items []rawItem
}

type batchResult struct {
	seq  int
	recs []Record
	err  error // first failing item of the batch
}

// process runs produce, which emits raw items in input order, converting the
// items on every CPU. It returns the records in input order, or the error
// of the earliest failing item (or of produce, if it failed before any
// item did).
func process(produce func(emit func(rawItem)) error) ([]Record, error) {
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan batch, workers*2)
	results := make(chan batchResult, workers*2)
	var failedAt atomic.Int64 // lowest failing batch seq, or max
	failedAt.Store(1<<62 - 1)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc := pathChecker{}
			for b := range jobs {
				res := batchResult{seq: b.seq}
				if int64(b.seq) > failedAt.Load() {
					results <- res
					continue
				}
				res.recs = make([]Record, 0, len(b.items))
				for i := range b.items {
					rec, err := convert(&b.items[i], pc)
					if err != nil {
						res.err = err
						for {
							cur := failedAt.Load()
							if int64(b.seq) >= cur || failedAt.CompareAndSwap(cur, int64(b.seq)) {
								break
							}
						}
						break
					}
					res.recs = append(res.recs, rec)
				}
				results <- res
			}
		}()
	}
	var (
		parts   [][]Record
		errs    = map[int]error{}
		collect sync.WaitGroup
	)
	collect.Add(1)
	go func() {
		defer collect.Done()
		for r := range results {
			for len(parts) <= r.seq {
				parts = append(parts, nil)
			}
			parts[r.seq] = r.recs
			if r.err != nil {
				errs[r.seq] = r.err
			}
		}
	}()
	cur := batch{}
	emit := func(it rawItem) {
		cur.items = append(cur.items, it)
		if len(cur.items) == batchSize {
			jobs <- cur
			cur = batch{seq: cur.seq + 1}
		}
	}
	perr := produce(func(it rawItem) {
		if int64(cur.seq) <= failedAt.Load() {
			emit(it)
		}
	})
	if len(cur.items) > 0 {
		jobs <- cur
	}
	close(jobs)
	wg.Wait()
	close(results)
	collect.Wait()
	if len(errs) > 0 {
		seqs := make([]int, 0, len(errs))
		for s := range errs {
			seqs = append(seqs, s)
		}
		sort.Ints(seqs)
		return nil, errs[seqs[0]]
	}
	if perr != nil {
		return nil, perr
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]Record, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}
