package lexicon

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The result types below are what `arbor lexicon` prints with --json;
// each is that command's JSON schema (docs/json.md is generated from them).

// MaxRecordJSON caps a record file read by ValidateFiles (the reference
// PDS takes request bodies up to about this).
const MaxRecordJSON = 4 << 20

// ValidateReport is arbor lexicon validate's verdict on record files.
type ValidateReport struct {
	// Records are the files' verdicts, in the order given.
	Records []FileResult `json:"records"`
	// Valid counts the valid records.
	Valid int `json:"valid"`
	// Invalid counts the invalid records.
	Invalid int `json:"invalid"`
	// Unknown counts the records whose $type has no schema.
	Unknown int `json:"unknown"`
}

// FileResult is one record file's validation.
type FileResult struct {
	// File is the file read ("standard input" for -).
	File string `json:"file"`
	Result
}

// ValidateFiles validates the record in each file (atproto JSON, one
// record per file; "-" is stdin, named stdinName in the report) against
// c. A file that cannot be read is an error; a file that is not a record
// is an invalid record.
func (c *Catalog) ValidateFiles(files []string, stdin io.Reader, stdinName string) (*ValidateReport, error) {
	rep := &ValidateReport{Records: []FileResult{}}
	for _, f := range files {
		name, r := f, io.Reader(nil)
		if f == "-" {
			name, r = stdinName, stdin
		} else {
			fh, err := os.Open(f)
			if err != nil {
				return nil, err
			}
			defer fh.Close()
			r = fh
		}
		b, err := io.ReadAll(io.LimitReader(r, MaxRecordJSON+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var res Result
		if len(b) > MaxRecordJSON {
			res = Result{Status: Invalid, Issues: []Issue{{Path: "$", Rule: RuleDataModel, Message: fmt.Sprintf("larger than %d bytes", MaxRecordJSON)}}}
		} else {
			res = c.ValidateJSON(b)
		}
		switch res.Status {
		case Valid:
			rep.Valid++
		case Invalid:
			rep.Invalid++
		default:
			rep.Unknown++
		}
		rep.Records = append(rep.Records, FileResult{File: name, Result: res})
	}
	return rep, nil
}

// LintReport is arbor lexicon lint's verdict on schema files.
type LintReport struct {
	// Files are the schema files checked, in the order found (a folder's
	// *.json files in path order).
	Files []LintResult `json:"files"`
	// Valid says every file is a well-formed schema.
	Valid bool `json:"valid"`
}

// LintResult is one schema file's verdict.
type LintResult struct {
	// File is the file's path.
	File string `json:"file"`
	// NSID is the document's id, when it has a valid one.
	NSID string `json:"nsid,omitempty"`
	// Error says what is wrong; empty when the file is a valid schema.
	Error string `json:"error,omitempty"`
}

// Lint checks schema files and the *.json files below folders. A path
// that cannot be read is an error.
func Lint(paths []string) (*LintReport, error) {
	rep := &LintReport{Files: []LintResult{}, Valid: true}
	for _, p := range paths {
		files, err := schemaFiles(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			lr := LintResult{File: f}
			sf, err := ParseSchema(b)
			if err != nil {
				lr.Error = strings.TrimPrefix(err.Error(), ErrBadSchema.Error()+": ")
				rep.Valid = false
			} else {
				lr.NSID = sf.ID
			}
			rep.Files = append(rep.Files, lr)
		}
	}
	return rep, nil
}

// schemaFiles is p itself, or the *.json files below folder p, sorted.
func schemaFiles(p string) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{p}, nil
	}
	var out []string
	err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(f, ".json") {
			out = append(out, f)
		}
		return err
	})
	sort.Strings(out)
	return out, err
}

// CatalogList is arbor lexicon ls's listing of a catalog.
type CatalogList struct {
	// Schemas are the catalog's documents in NSID order.
	Schemas []SchemaInfo `json:"schemas"`
	// Embedded counts the documents of the embedded catalog kept.
	Embedded int `json:"embedded"`
	// Added counts the documents from --lexicon-dir folders (overrides
	// included).
	Added int `json:"added"`
}

// SchemaInfo describes one schema document of a catalog.
type SchemaInfo struct {
	// NSID is the document's id.
	NSID string `json:"nsid"`
	// Type is its main definition's type (record, query, procedure,
	// subscription, permission-set, object, token, ...); empty when it
	// has no main definition.
	Type string `json:"type"`
	// Defs counts its definitions.
	Defs int `json:"defs"`
	// Source is "embedded" or the schema file's path.
	Source string `json:"source"`
	// Overrides says it replaced a document of the same NSID.
	Overrides bool `json:"overrides,omitempty"`
}

// List describes the catalog's documents.
func (c *Catalog) List() *CatalogList {
	l := &CatalogList{Schemas: []SchemaInfo{}}
	for _, d := range c.Documents() {
		l.Schemas = append(l.Schemas, SchemaInfo{NSID: string(d.NSID), Type: d.MainType(), Defs: d.Defs(), Source: d.Source, Overrides: d.Overrides})
		if d.Source == EmbeddedSource {
			l.Embedded++
		} else {
			l.Added++
		}
	}
	return l
}
