package lexicon

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	ilex "github.com/bluesky-social/indigo/atproto/lexicon"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// official is the embedded catalog: ../shared/lexicons copied byte for byte
// (schemas/README.md says from where; schemas_test.go proves the copy).
//
//go:embed schemas
var official embed.FS

// EmbeddedSource is Document.Source for a schema of the embedded catalog.
const EmbeddedSource = "embedded"

// ErrBadSchema: a schema document that does not parse or is not
// well-formed Lexicon (what lint refuses).
var ErrBadSchema = errors.New("invalid lexicon schema")

// SchemaError is a schema document that could not be added to a catalog:
// the file it came from and why.
type SchemaError struct {
	File string
	Err  error
}

func (e *SchemaError) Error() string { return fmt.Sprintf("%s: %v", e.File, e.Err) }
func (e *SchemaError) Unwrap() error { return e.Err }

// Document is one schema document of a catalog.
type Document struct {
	// NSID is the document's id.
	NSID syntax.NSID
	// Source is where it came from: EmbeddedSource, or the file's path.
	Source string
	// Overrides says it replaced a document of the same NSID from an
	// earlier source (an embedded schema, or an earlier folder).
	Overrides bool
	file      ilex.SchemaFile
}

// Catalog is a set of schema documents, one per NSID, compiled for
// validation. It is read-only once loaded and safe for concurrent use.
type Catalog struct {
	docs map[syntax.NSID]*Document
	defs map[string]*node // by full name, nsid#def
}

// Load returns the embedded catalog with the schema files of dirs laid
// over it, in order: every *.json file below each folder is a schema
// document; one whose NSID the catalog already holds replaces it.
// A file that is not a valid schema, or two files of one folder with the
// same NSID, is an error (wrapping ErrBadSchema, as a *SchemaError).
func Load(dirs ...string) (*Catalog, error) {
	docs := map[syntax.NSID]*Document{}
	err := fs.WalkDir(official, "schemas", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := official.ReadFile(p)
		if err != nil {
			return err
		}
		return addDoc(docs, nil, b, strings.TrimPrefix(p, "schemas/"), EmbeddedSource)
	})
	if err != nil {
		return nil, err
	}
	for _, dir := range dirs {
		if err := loadDir(docs, dir); err != nil {
			return nil, err
		}
	}
	return compileCatalog(docs)
}

// loadDir adds every schema file below dir to docs.
func loadDir(docs map[syntax.NSID]*Document, dir string) error {
	if fi, err := os.Stat(dir); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("%s: not a folder", dir)
	}
	seen := map[syntax.NSID]string{}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return addDoc(docs, seen, b, p, p)
	})
}

// addDoc parses one schema document and puts it in docs; seen (when not
// nil) holds the NSIDs of the folder read so far, and where.
func addDoc(docs map[syntax.NSID]*Document, seen map[syntax.NSID]string, b []byte, file, source string) error {
	sf, err := ParseSchema(b)
	if err != nil {
		return &SchemaError{File: file, Err: err}
	}
	id := syntax.NSID(sf.ID)
	if prev, ok := seen[id]; ok {
		return &SchemaError{File: file, Err: fmt.Errorf("%w: %s is also defined by %s", ErrBadSchema, id, prev)}
	}
	if seen != nil {
		seen[id] = file
	}
	_, over := docs[id]
	docs[id] = &Document{NSID: id, Source: source, Overrides: over, file: sf}
	return nil
}

// ParseSchema parses a schema document and checks it is well-formed
// Lexicon (indigo's atproto/lexicon parser and schema checks, then the
// checks of checkSchemaExtra). Errors wrap ErrBadSchema.
func ParseSchema(b []byte) (ilex.SchemaFile, error) {
	var sf ilex.SchemaFile
	if err := json.Unmarshal(b, &sf); err != nil {
		return sf, fmt.Errorf("%w: %v", ErrBadSchema, err)
	}
	if err := sf.FinishParse(); err != nil {
		return sf, fmt.Errorf("%w: %v", ErrBadSchema, err)
	}
	if err := sf.CheckSchema(); err != nil {
		return sf, fmt.Errorf("%w: %v", ErrBadSchema, err)
	}
	if err := checkSchemaExtra(&sf); err != nil {
		return sf, fmt.Errorf("%w: %v", ErrBadSchema, err)
	}
	return sf, nil
}

// checkSchemaExtra checks what indigo's CheckSchema leaves out: a
// document must define something, and a record's key specifier and
// object were checked there already.
func checkSchemaExtra(sf *ilex.SchemaFile) error {
	if len(sf.Defs) == 0 {
		return fmt.Errorf("%s defines nothing (no defs)", sf.ID)
	}
	return nil
}

// Documents returns the catalog's documents in NSID order.
func (c *Catalog) Documents() []*Document {
	out := make([]*Document, 0, len(c.docs))
	for _, d := range c.docs {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NSID < out[j].NSID })
	return out
}

// Document returns the document of an NSID, or nil.
func (c *Catalog) Document(id syntax.NSID) *Document { return c.docs[id] }

// MainType is the type of a document's main definition ("record",
// "query", "procedure", "subscription", "permission-set", "object",
// "token", ...), or "" when it has none.
func (d *Document) MainType() string {
	m, ok := d.file.Defs["main"]
	if !ok {
		return ""
	}
	return defType(m.Inner)
}

// Defs is the number of definitions in the document.
func (d *Document) Defs() int { return len(d.file.Defs) }

// defType names an indigo schema definition's type.
func defType(v any) string {
	switch v.(type) {
	case ilex.SchemaRecord:
		return "record"
	case ilex.SchemaQuery:
		return "query"
	case ilex.SchemaProcedure:
		return "procedure"
	case ilex.SchemaSubscription:
		return "subscription"
	case ilex.SchemaPermissionSet:
		return "permission-set"
	case ilex.SchemaObject:
		return "object"
	case ilex.SchemaToken:
		return "token"
	case ilex.SchemaString:
		return "string"
	case ilex.SchemaArray:
		return "array"
	case ilex.SchemaInteger:
		return "integer"
	case ilex.SchemaBoolean:
		return "boolean"
	case ilex.SchemaBytes:
		return "bytes"
	case ilex.SchemaCIDLink:
		return "cid-link"
	case ilex.SchemaBlob:
		return "blob"
	}
	return "other"
}
