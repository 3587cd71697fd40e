package lexicon

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// ErrInvalidRecord: a record that breaks the schema its $type names.
var ErrInvalidRecord = errors.New("record does not match its lexicon")

// ErrNoSchema: a record whose $type the catalog has no schema for.
var ErrNoSchema = errors.New("no lexicon schema for the record's $type")

// Status is a record's verdict.
type Status string

const (
	// Valid: the record matches the record schema its $type names.
	Valid Status = "valid"
	// Invalid: it does not (Issues say where and why).
	Invalid Status = "invalid"
	// NoSchema: the catalog has no schema of that name.
	NoSchema Status = "unknown"
)

// Rules an Issue can name.
const (
	RuleDataModel  = "data-model" // not atproto data at all (bad JSON, floats, ...)
	RuleType       = "type"       // wrong kind of value (a string where an integer goes)
	RuleRequired   = "required"   // a required field is missing
	RuleRecordType = "$type"      // the record's $type is missing or names no record schema
	RuleConst      = "const"
	RuleEnum       = "enum"
	RuleRange      = "range"     // integer minimum/maximum
	RuleLength     = "length"    // string (UTF-8 bytes), bytes or array length
	RuleGraphemes  = "graphemes" // string length in grapheme clusters
	RuleFormat     = "format"    // string format (datetime, at-uri, did, ...)
	RuleBlobAccept = "blob-accept"
	RuleBlobSize   = "blob-size"
	RuleUnion      = "union" // not a union member: no $type, or not one of a closed union's refs
	RuleRef        = "ref"   // the schema refers to a definition the catalog lacks
)

// Issue is one way a record breaks its schema.
type Issue struct {
	// Path is where in the record, as a JSON path ($ is the record;
	// $.reply.root.uri, $.langs[0]).
	Path string `json:"path"`
	// Rule is the rule broken: "data-model", "type", "required", "$type",
	// "const", "enum", "range", "length", "graphemes", "format",
	// "blob-accept", "blob-size", "union" or "ref".
	Rule string `json:"rule"`
	// Message says what is wrong in words.
	Message string `json:"message"`
}

func (i Issue) String() string { return i.Path + ": " + i.Message }

// Result is a record's validation.
type Result struct {
	// Type is the record's $type ("" if it has none).
	Type string `json:"type"`
	// Status is valid, invalid or unknown (no schema).
	Status Status `json:"status"`
	// Issues are what is wrong, in record order; empty unless invalid.
	Issues []Issue `json:"issues,omitempty"`
	// Blobs are the blob references the record holds (valid or not).
	Blobs []BlobRef `json:"-"`
}

// Err is the result as an error: nil when valid, ErrNoSchema, or
// ErrInvalidRecord with the first issue.
func (r *Result) Err() error {
	switch r.Status {
	case Valid:
		return nil
	case NoSchema:
		return fmt.Errorf("%w: %s", ErrNoSchema, r.Type)
	}
	more := ""
	if len(r.Issues) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(r.Issues)-1)
	}
	if len(r.Issues) == 0 {
		return ErrInvalidRecord
	}
	return fmt.Errorf("%w: %s%s", ErrInvalidRecord, r.Issues[0], more)
}

// BlobRef is a blob reference found in a record.
type BlobRef struct {
	CID      string `json:"cid"`
	MimeType string `json:"mimeType"`
	// Size is the declared size; -1 for a legacy reference (no size).
	Size int64 `json:"size"`
	// Path is where in the record.
	Path string `json:"path"`
	// Accept and MaxSize are the schema's constraints on the blob (nil and
	// -1: none), for checks against the blob itself.
	Accept  []string `json:"-"`
	MaxSize int64    `json:"-"`
}

// maxIssues caps the issues kept per record.
const maxIssues = 50

// ValidateJSON validates a record in the atproto JSON form (what
// `arbor lexicon validate` and the PDS read).
func (c *Catalog) ValidateJSON(j []byte) Result {
	b, err := recordCBOR(j)
	if err != nil {
		return Result{Status: Invalid, Issues: []Issue{{Path: "$", Rule: RuleDataModel, Message: err.Error()}}}
	}
	return c.Validate(b)
}

// Validate validates a record in DAG-CBOR: its $type names the record
// schema; every field is then checked against it, recursively through
// refs and union members. b is checked as strict DAG-CBOR first.
func (c *Catalog) Validate(b []byte) Result {
	if err := dagcbor.Validate(b); err != nil {
		return Result{Status: Invalid, Issues: []Issue{{Path: "$", Rule: RuleDataModel, Message: err.Error()}}}
	}
	var v Validator
	return v.Validate(c, b)
}

// Validator validates records one after the other, keeping its scratch
// space between them; the zero value is ready. It is not safe for
// concurrent use (one per goroutine); the catalog is.
type Validator struct {
	w walker
	// The $types met so far and their schemas (nil: none), so a record
	// costs no string work to find its schema.
	cat   *Catalog
	types map[string]typeEntry
}

type typeEntry struct {
	name string
	n    *node
}

// Validate is Catalog.Validate for bytes known to be strict DAG-CBOR (a
// block the archive has checked), without checking them again.
func (v *Validator) Validate(c *Catalog, b []byte) Result {
	w := &v.w
	w.reset(b)
	tb, ok := topType(b)
	if !ok {
		w.issue(RuleRecordType, "a record must be an object with a string $type")
		return w.result(Result{})
	}
	if v.cat != c || v.types == nil {
		v.cat, v.types = c, map[string]typeEntry{}
	}
	te, ok := v.types[string(tb)]
	if !ok {
		te = typeEntry{name: string(tb)}
		te.n = c.defs[fullRef("", te.name)]
		if len(v.types) < 1024 {
			v.types[te.name] = te
		}
	}
	typ, n := te.name, te.n
	res := Result{Type: typ}
	switch {
	case n == nil:
		res.Status = NoSchema
		return res
	case n.kind != kRecord:
		w.issue(RuleRecordType, fmt.Sprintf("$type %s is not a record schema", typ))
		return w.result(res)
	}
	w.value(n.items, 0)
	return w.result(res)
}

// topType returns the $type of a record in DAG-CBOR (its bytes in b): ok
// is false when b is not a map or its $type is missing or not a non-empty
// string.
func topType(b []byte) ([]byte, bool) {
	major, n, off, ok := dagcbor.ValidatedHead(b, 0)
	if !ok || major != dagcbor.MajorMap {
		return nil, false
	}
	for range n {
		m, klen, koff, ok := dagcbor.ValidatedHead(b, off)
		if !ok || m != dagcbor.MajorText || koff+int(klen) > len(b) {
			return nil, false
		}
		key := b[koff : koff+int(klen)]
		off = koff + int(klen)
		if string(key) == "$type" {
			m, tlen, toff, ok := dagcbor.ValidatedHead(b, off)
			if !ok || m != dagcbor.MajorText || tlen == 0 || toff+int(tlen) > len(b) {
				return nil, false
			}
			return b[toff : toff+int(tlen)], true
		}
		if off, ok = dagcbor.ValidatedSkip(b, off); !ok {
			return nil, false
		}
	}
	return nil, false
}

// seg is one step of the path into a record: a key, or an index when key
// is nil.
type seg struct {
	key []byte
	idx int
}

// walker walks one record's DAG-CBOR against compiled schema nodes.
type walker struct {
	b      []byte
	off    int
	path   []seg
	issues []Issue
	blobs  []BlobRef
	depth  int
}

func (w *walker) reset(b []byte) {
	w.b, w.off, w.path, w.issues, w.blobs, w.depth = b, 0, w.path[:0], nil, nil, 0
}

func (w *walker) result(r Result) Result {
	r.Status = Valid
	if len(w.issues) > 0 {
		r.Status, r.Issues = Invalid, w.issues
	}
	r.Blobs = w.blobs
	return r
}

// pathString renders the current path.
func (w *walker) pathString() string {
	var sb strings.Builder
	sb.WriteByte('$')
	for _, s := range w.path {
		if s.key == nil {
			sb.WriteByte('[')
			sb.WriteString(strconv.Itoa(s.idx))
			sb.WriteByte(']')
			continue
		}
		if PlainKey(s.key) {
			sb.WriteByte('.')
			sb.Write(s.key)
		} else {
			sb.WriteString("[")
			sb.WriteString(strconv.Quote(string(s.key)))
			sb.WriteString("]")
		}
	}
	return sb.String()
}

// PlainKey reports whether the paths of validation issues write map key k
// after a dot ($.record.text) rather than quoted in brackets
// ($.record["a b"]): a non-empty key of letters, digits, _ and $, and -
// after the first. The PDS words its own data-model errors by the same
// rule.
func PlainKey[K ~string | ~[]byte](k K) bool {
	if len(k) == 0 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !isAlphaNum(c) && c != '_' && c != '$' && (c != '-' || i == 0) {
			return false
		}
	}
	return true
}

func (w *walker) issue(rule, msg string) {
	if len(w.issues) < maxIssues {
		w.issues = append(w.issues, Issue{Path: w.pathString(), Rule: rule, Message: msg})
	}
}

// head reads the head at w.off without moving.
func (w *walker) head() (major int, arg uint64, next int) {
	major, arg, next, ok := dagcbor.ValidatedHead(w.b, w.off)
	if !ok {
		return -1, 0, w.off
	}
	return major, arg, next
}

// skip moves past the item at w.off.
func (w *walker) skip() {
	end, ok := dagcbor.ValidatedSkip(w.b, w.off)
	if !ok {
		end = len(w.b)
	}
	w.off = end
}

// describe names the kind of the item at w.off, for messages.
func (w *walker) describe() string {
	major, arg, _ := w.head()
	switch major {
	case dagcbor.MajorUint, dagcbor.MajorNegInt:
		return "an integer"
	case dagcbor.MajorBytes:
		return "bytes"
	case dagcbor.MajorText:
		return "a string"
	case dagcbor.MajorArray:
		return "an array"
	case dagcbor.MajorMap:
		if w.isBlob() {
			return "a blob"
		}
		return "an object"
	case dagcbor.MajorTag:
		return "a cid-link"
	case dagcbor.MajorSimple:
		switch arg {
		case 20, 21:
			return "a boolean"
		case 22:
			return "null"
		}
	}
	return "a value of another type"
}

// typeIssue reports a value of the wrong kind and skips it.
func (w *walker) typeIssue(want string) {
	w.issue(RuleType, fmt.Sprintf("expected %s, got %s", want, w.describe()))
	w.skip()
}

// maxDepth bounds the walk (a record's nesting is bounded by DAG-CBOR's
// own limit; this guards refs that lead nowhere new).
const maxDepth = 256

// value checks the item at w.off against n and moves past it.
func (w *walker) value(n *node, depth int) {
	if depth > maxDepth {
		w.issue(RuleRef, "schema nested too deeply")
		w.skip()
		return
	}
	switch n.kind {
	case kBool:
		w.boolean(n)
	case kInt:
		w.integer(n)
	case kString:
		w.str(n)
	case kBytes:
		w.bytesVal(n)
	case kCIDLink:
		if major, arg, _ := w.head(); major != dagcbor.MajorTag || arg != 42 {
			w.typeIssue("a cid-link")
			return
		}
		w.skip()
	case kBlob:
		w.blob(n)
	case kArray:
		w.array(n, depth)
	case kObject:
		w.object(n, depth)
	case kRef:
		if n.ref == nil {
			w.issue(RuleRef, fmt.Sprintf("schema %s is not in the catalog", shortRef(n.target)))
			w.skip()
			return
		}
		w.value(n.ref, depth+1)
	case kUnion:
		w.union(n, depth)
	case kUnknown:
		if major, _, _ := w.head(); major != dagcbor.MajorMap || w.isBlob() {
			w.typeIssue("an object")
			return
		}
		w.skip()
	case kToken:
		w.issue(RuleType, fmt.Sprintf("%s is a token: no value matches it", shortRef(n.name)))
		w.skip()
	default:
		w.issue(RuleRecordType, fmt.Sprintf("%s is not a data schema", shortRef(n.name)))
		w.skip()
	}
}

func (w *walker) boolean(n *node) {
	major, arg, _ := w.head()
	if major != dagcbor.MajorSimple || (arg != 20 && arg != 21) {
		w.typeIssue("a boolean")
		return
	}
	if n.constBool != nil && (arg == 21) != *n.constBool {
		w.issue(RuleConst, fmt.Sprintf("must be %v", *n.constBool))
	}
	w.skip()
}

func (w *walker) integer(n *node) {
	major, arg, _ := w.head()
	var v int64
	switch {
	case major == dagcbor.MajorUint && arg <= 1<<63-1:
		v = int64(arg)
	case major == dagcbor.MajorNegInt && arg <= 1<<63-1:
		v = -1 - int64(arg)
	case major == dagcbor.MajorUint || major == dagcbor.MajorNegInt:
		w.issue(RuleRange, "integer out of the 64-bit range")
		w.skip()
		return
	default:
		w.typeIssue("an integer")
		return
	}
	w.skip()
	switch {
	case n.constInt != nil && v != *n.constInt:
		w.issue(RuleConst, fmt.Sprintf("must be %d, not %d", *n.constInt, v))
	case n.hasMin && v < n.min:
		w.issue(RuleRange, fmt.Sprintf("%d is below the minimum %d", v, n.min))
	case n.hasMax && v > n.max:
		w.issue(RuleRange, fmt.Sprintf("%d is above the maximum %d", v, n.max))
	case len(n.intEnum) > 0 && !slices.Contains(n.intEnum, v):
		w.issue(RuleEnum, fmt.Sprintf("%d is not one of %v", v, n.intEnum))
	}
}

func (w *walker) str(n *node) {
	major, arg, next := w.head()
	if major != dagcbor.MajorText {
		w.typeIssue("a string")
		return
	}
	raw := w.b[next : next+int(arg)]
	w.off = next + int(arg)
	s := unsafeString(raw)
	switch {
	case n.constStr != nil && s != *n.constStr:
		w.issue(RuleConst, fmt.Sprintf("must be %q", *n.constStr))
	case n.minLen >= 0 && len(s) < n.minLen:
		w.issue(RuleLength, fmt.Sprintf("%d bytes (UTF-8), shorter than the minimum %d", len(s), n.minLen))
	case n.maxLen >= 0 && len(s) > n.maxLen:
		w.issue(RuleLength, fmt.Sprintf("%d bytes (UTF-8), longer than the maximum %d", len(s), n.maxLen))
	case len(n.enum) > 0 && !slices.Contains(n.enum, s):
		w.issue(RuleEnum, fmt.Sprintf("%q is not one of %s", s, strings.Join(n.enum, ", ")))
	}
	if n.minG >= 0 || n.maxG >= 0 {
		// A string of at most maxG bytes has at most maxG graphemes.
		if n.minG >= 0 || len(s) > n.maxG {
			g := graphemes(s)
			if n.minG >= 0 && g < n.minG {
				w.issue(RuleGraphemes, fmt.Sprintf("%d graphemes, fewer than the minimum %d", g, n.minG))
			} else if n.maxG >= 0 && g > n.maxG {
				w.issue(RuleGraphemes, fmt.Sprintf("%d graphemes, more than the maximum %d", g, n.maxG))
			}
		}
	}
	if n.format != fNone {
		if err := checkFormat(n.format, s); err != nil {
			w.issue(RuleFormat, fmt.Sprintf("not a valid %s: %v", n.format, err))
		}
	}
	_ = utf8.ValidString // text is valid UTF-8: dagcbor.Validate checked it
}

func (w *walker) bytesVal(n *node) {
	major, arg, _ := w.head()
	if major != dagcbor.MajorBytes {
		w.typeIssue("bytes")
		return
	}
	w.skip()
	switch {
	case n.minLen >= 0 && int(arg) < n.minLen:
		w.issue(RuleLength, fmt.Sprintf("%d bytes, shorter than the minimum %d", arg, n.minLen))
	case n.maxLen >= 0 && int(arg) > n.maxLen:
		w.issue(RuleLength, fmt.Sprintf("%d bytes, longer than the maximum %d", arg, n.maxLen))
	}
}

func (w *walker) array(n *node, depth int) {
	major, count, next := w.head()
	if major != dagcbor.MajorArray {
		w.typeIssue("an array")
		return
	}
	switch {
	case n.minLen >= 0 && int(count) < n.minLen:
		w.issue(RuleLength, fmt.Sprintf("%d items, fewer than the minimum %d", count, n.minLen))
	case n.maxLen >= 0 && int(count) > n.maxLen:
		w.issue(RuleLength, fmt.Sprintf("%d items, more than the maximum %d", count, n.maxLen))
	}
	w.off = next
	for i := range int(count) {
		w.path = append(w.path, seg{idx: i})
		w.value(n.items, depth+1)
		w.path = w.path[:len(w.path)-1]
	}
}

// object checks a map against an object schema: required properties
// present, each known property's value against its schema (null allowed
// where nullable); members the schema does not name are left alone.
func (w *walker) object(n *node, depth int) {
	major, count, next := w.head()
	if major != dagcbor.MajorMap || w.isBlob() {
		w.typeIssue("an object")
		return
	}
	w.off = next
	found := 0
	p := 0 // props and map keys are both in DAG-CBOR order: merge them
	for range int(count) {
		_, klen, koff := w.head()
		key := w.b[koff : koff+int(klen)]
		w.off = koff + int(klen)
		for p < len(n.props) && dagcbor.CompareKeys([]byte(n.props[p].key), key) < 0 {
			p++
		}
		if p == len(n.props) || n.props[p].key != string(key) {
			w.skip()
			continue
		}
		pr := &n.props[p]
		if pr.required {
			found++
		}
		if major, arg, _ := w.head(); major == dagcbor.MajorSimple && arg == 22 && pr.nullable {
			w.skip()
			continue
		}
		w.path = append(w.path, seg{key: key})
		w.value(pr.n, depth+1)
		w.path = w.path[:len(w.path)-1]
	}
	if found < len(n.required) {
		w.missing(n, next, int(count))
	}
}

// missing reports the required properties of n absent from the map
// whose members start at off.
func (w *walker) missing(n *node, off, count int) {
	end := w.off
	present := map[string]bool{}
	w.off = off
	for range count {
		_, klen, koff := w.head()
		present[string(w.b[koff:koff+int(klen)])] = true
		w.off = koff + int(klen)
		w.skip()
	}
	w.off = end
	for _, r := range n.required {
		if !present[r] {
			w.path = append(w.path, seg{key: []byte(r)})
			w.issue(RuleRequired, "required field missing")
			w.path = w.path[:len(w.path)-1]
		}
	}
}

// mapString returns the text value of key in the map at w.off (without
// moving), and whether the key is there with a text value; present says
// whether the key is there at all.
func (w *walker) mapString(key string) (val []byte, ok, present bool) {
	major, count, off, good := dagcbor.ValidatedHead(w.b, w.off)
	if !good || major != dagcbor.MajorMap {
		return nil, false, false
	}
	for range count {
		_, klen, koff, good := dagcbor.ValidatedHead(w.b, off)
		if !good {
			return nil, false, false
		}
		k := w.b[koff : koff+int(klen)]
		off = koff + int(klen)
		if string(k) == key {
			m, vlen, voff, good := dagcbor.ValidatedHead(w.b, off)
			if !good || m != dagcbor.MajorText {
				return nil, false, true
			}
			return w.b[voff : voff+int(vlen)], true, true
		}
		if off, good = dagcbor.ValidatedSkip(w.b, off); !good {
			return nil, false, false
		}
	}
	return nil, false, false
}

// isBlob says the map at w.off is a blob reference ($type "blob").
func (w *walker) isBlob() bool {
	t, ok, _ := w.mapString("$type")
	return ok && string(t) == "blob"
}

// union checks a union value: an object with a string $type; one of the
// refs is validated against its schema; another $type is refused by a
// closed union and accepted as it is by an open one (as the reference
// implementation does: an open union's unknown members are not
// validated, even when the catalog knows their schema).
func (w *walker) union(n *node, depth int) {
	major, _, _ := w.head()
	if major != dagcbor.MajorMap {
		w.typeIssue("an object with a $type (union)")
		return
	}
	tb, ok, _ := w.mapString("$type")
	if !ok || len(tb) == 0 {
		w.issue(RuleUnion, "a union member must have a string $type")
		w.skip()
		return
	}
	t := string(tb)
	ft := fullRef("", t)
	for i, r := range n.refs {
		if r != ft {
			continue
		}
		if n.members[i] == nil {
			w.issue(RuleRef, fmt.Sprintf("schema %s is not in the catalog", t))
			w.skip()
			return
		}
		w.value(n.members[i], depth+1)
		return
	}
	if n.closed {
		names := make([]string, len(n.refs))
		for i, r := range n.refs {
			names[i] = shortRef(r)
		}
		w.issue(RuleUnion, fmt.Sprintf("$type %s is not one of %s (closed union)", t, strings.Join(names, ", ")))
	}
	w.skip()
}

// unsafeString views b as a string without copying; b must not change
// while the string is in use (the walk's own scratch only).
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// blob checks a blob reference: {$type: "blob", ref: cid-link, mimeType,
// size}, or the legacy {cid, mimeType} (accepted, as the reference
// implementation accepts it; it has no size to check), then the
// schema's accept patterns and maxSize. Every reference is noted in
// w.blobs for checks against the blobs themselves.
func (w *walker) blob(n *node) {
	major, count, next := w.head()
	if major != dagcbor.MajorMap {
		w.typeIssue("a blob")
		return
	}
	start := w.off
	w.off = next
	var typ, mime, cidStr string
	var ref []byte
	size := int64(-1)
	okShape := true
	for range int(count) {
		_, klen, koff := w.head()
		key := string(w.b[koff : koff+int(klen)])
		w.off = koff + int(klen)
		vmajor, varg, vnext := w.head()
		switch {
		case key == "$type" && vmajor == dagcbor.MajorText:
			typ = string(w.b[vnext : vnext+int(varg)])
		case key == "mimeType" && vmajor == dagcbor.MajorText:
			mime = string(w.b[vnext : vnext+int(varg)])
		case key == "cid" && vmajor == dagcbor.MajorText:
			cidStr = string(w.b[vnext : vnext+int(varg)])
		case key == "size" && vmajor == dagcbor.MajorUint && varg <= 1<<53:
			size = int64(varg)
		case key == "ref" && vmajor == dagcbor.MajorTag && varg == 42:
			if bm, blen, boff, ok := dagcbor.ValidatedHead(w.b, vnext); ok && bm == dagcbor.MajorBytes && blen > 1 {
				ref = w.b[boff+1 : boff+int(blen)]
			}
		default:
			okShape = false
		}
		w.skip()
	}
	end := w.off
	typed := okShape && count == 4 && typ == "blob" && ref != nil && mime != "" && size >= 0
	legacy := okShape && count == 2 && cidStr != "" && mime != ""
	if !typed && !legacy {
		w.off = start
		w.typeIssue("a blob ({$type: blob, ref, mimeType, size})")
		w.off = end
		return
	}
	br := BlobRef{CID: cidStr, MimeType: mime, Size: size, Path: w.pathString(), Accept: n.accept, MaxSize: n.maxSize}
	if typed {
		if c, err := cid.Cast(ref); err == nil {
			br.CID = c.String()
		}
	}
	w.blobs = append(w.blobs, br)
	if len(n.accept) > 0 && !MimeAccepted(n.accept, mime) {
		w.issue(RuleBlobAccept, fmt.Sprintf("MIME type %s is not accepted (%s)", mime, strings.Join(n.accept, ", ")))
	}
	if n.maxSize >= 0 && size > n.maxSize {
		w.issue(RuleBlobSize, fmt.Sprintf("%d bytes, larger than the maximum %d", size, n.maxSize))
	}
}

// MimeAccepted says whether a MIME type matches one of a blob schema's
// accept patterns: exact, "type/*", or "*/*" (indigo's rule, and the
// reference's).
func MimeAccepted(accept []string, mime string) bool {
	return slices.ContainsFunc(accept, func(p string) bool { return mimeMatches(p, mime) })
}

func mimeMatches(pattern, mime string) bool {
	switch {
	case mime == "" || pattern == "":
		return false
	case pattern == "*/*":
		return true
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(mime, pattern[:len(pattern)-1])
	}
	return pattern == mime
}
