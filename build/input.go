package build

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/arbor-atproto/arbor/archive"

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
	data       []byte // the item's bytes, between start and end of its batch's buffer
	start, end int
	envelope   bool
}

// LoadJSONLines reads records given as JSON lines, one
// {"collection": NSID, "rkey": RKEY, "record": {...}} object per line ("rkey"
// may be left out; Create then assigns a TID). Blank lines are skipped. name
// is used in error messages. Records are returned in input order.
//
// It is ReadJSONLines with each record then given its own Record; the
// RecordSet that ReadJSONLines returns is much leaner for large inputs.
func LoadJSONLines(r io.Reader, name string) ([]Record, error) {
	s, err := ReadJSONLines(r, name)
	if err != nil {
		return nil, err
	}
	return s.Records(), nil
}

// ReadJSONLines reads records given as JSON lines (see LoadJSONLines) into
// a RecordSet, in input order. Lines are parsed and encoded on every CPU.
func ReadJSONLines(r io.Reader, name string) (*RecordSet, error) {
	return process(func(p *producer) error { return emitLines(p, r, name) })
}

// emitLines hands every non-blank line of r to p as a JSON-lines item.
func emitLines(p *producer, r io.Reader, name string) error {
	br := bufio.NewReaderSize(r, 1<<20)
	{
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
			text := chunk
			if long != nil {
				text = append(long, chunk...)
				long = nil
			}
			if len(bytes.TrimSpace(text)) > 0 {
				if !p.emit(rawItem{file: name, line: line, envelope: true}, text) {
					return errStopped
				}
			}
			if err == io.EOF {
				return nil
			}
		}
	}
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
	s, err := ReadDir(dir)
	if err != nil {
		return nil, err
	}
	return s.Records(), nil
}

// errSymlink: ReadDir never follows a symbolic link inside DIR (a link to a
// file outside it would put that file's content in the repository).
var errSymlink = fmt.Errorf("%w: a symbolic link (links inside the records folder are not followed)", ErrBadLayout)

// ReadDir reads records laid out as LoadDir says into a RecordSet, in path
// order. DIR itself may be a symbolic link; nothing inside it may be
// (errSymlink, wrapping ErrBadLayout), except an ignored _commit.json.
func ReadDir(dir string) (*RecordSet, error) {
	top, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	return process(func(p *producer) error {
		for _, c := range top {
			cpath := filepath.Join(dir, c.Name())
			if c.Type()&fs.ModeSymlink != 0 && c.Name() != CommitFile {
				return &InputError{File: cpath, Err: errSymlink}
			}
			if !c.IsDir() {
				if c.Name() == CommitFile {
					continue
				}
				if c.Name() == archive.LongKeysFile {
					// Records whose keys are too long for a file name,
					// as JSON lines.
					f, err := os.Open(cpath)
					if err != nil {
						return &InputError{File: cpath, Err: err}
					}
					err = emitLines(p, f, cpath)
					f.Close()
					if err != nil {
						return err
					}
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
				if f.Type()&fs.ModeSymlink != 0 {
					return &InputError{File: fpath, Err: errSymlink}
				}
				rkey, ok := strings.CutSuffix(f.Name(), ".json")
				if f.IsDir() || !ok {
					return &InputError{File: fpath, Err: fmt.Errorf("%w: want RKEY.json files only in a collection directory", ErrBadLayout)}
				}
				b, err := os.ReadFile(fpath)
				if err != nil {
					return &InputError{File: fpath, Err: err}
				}
				if !p.emit(rawItem{file: fpath, collection: c.Name(), rkey: rkey}, b) {
					return errStopped
				}
			}
		}
		return nil
	})
}

// convertValues parses and checks one raw item through data-model values
// (dagcbor.FromJSON), which gives the most precise errors.
func convertValues(it *rawItem, pc pathChecker) (Record, error) {
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
