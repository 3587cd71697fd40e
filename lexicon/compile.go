package lexicon

import (
	"fmt"
	"sort"
	"strings"

	ilex "github.com/bluesky-social/indigo/atproto/lexicon"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// kind is what a compiled schema node accepts.
type kind uint8

const (
	kBool kind = iota + 1
	kInt
	kString
	kBytes
	kCIDLink
	kBlob
	kArray
	kObject
	kRef
	kUnion
	kUnknown
	kToken
	kRecord
	kOther // a query, procedure, subscription or permission set: no data validates against it
)

// node is one schema definition compiled for validation: indigo's parsed
// schema types, flattened into what the walker reads (limits as integers,
// -1 for none; object properties in DAG-CBOR key order; refs resolved to
// nodes once the whole catalog is compiled).
type node struct {
	kind kind
	name string // full name (nsid#def) for named definitions and refs' targets

	// string, bytes and array: lengths (-1: none); string: graphemes too.
	minLen, maxLen int
	minG, maxG     int
	format         format
	enum           []string
	constStr       *string
	// integer
	hasMin, hasMax bool
	min, max       int64
	intEnum        []int64
	constInt       *int64
	constBool      *bool
	// blob
	accept  []string
	maxSize int64 // -1: none
	// array items, a record's object
	items *node
	// object
	props    []prop // in DAG-CBOR key order
	required []string
	// ref: target's full name, and the node once resolved (nil: not in the catalog)
	target string
	ref    *node
	// union: members' full names and nodes (nil: not in the catalog)
	refs    []string
	members []*node
	closed  bool
	// record: the schema's key type (tid, nsid, any, literal:VALUE)
	recKey string
}

// prop is one property of an object schema.
type prop struct {
	key      string
	n        *node
	required bool
	nullable bool
}

// compileCatalog compiles every definition of docs and resolves refs.
func compileCatalog(docs map[syntax.NSID]*Document) (*Catalog, error) {
	c := &Catalog{docs: docs, defs: map[string]*node{}}
	for id, d := range docs {
		for frag, def := range d.file.Defs {
			name := string(id) + "#" + frag
			n, err := compileDef(string(id), def.Inner)
			if err != nil {
				return nil, &SchemaError{File: d.Source, Err: fmt.Errorf("%w: %s: %v", ErrBadSchema, name, err)}
			}
			n.name = name
			c.defs[name] = n
		}
	}
	seen := map[*node]bool{}
	for _, n := range c.defs {
		c.resolve(n, seen)
	}
	return c, nil
}

// resolve points the refs and unions below n at their nodes.
func (c *Catalog) resolve(n *node, seen map[*node]bool) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	switch n.kind {
	case kRef:
		n.ref = c.defs[n.target]
	case kUnion:
		n.members = make([]*node, len(n.refs))
		for i, r := range n.refs {
			n.members[i] = c.defs[r]
		}
	}
	c.resolve(n.items, seen)
	for _, p := range n.props {
		c.resolve(p.n, seen)
	}
}

// fullRef makes a ref of document base absolute: "#frag" is base#frag, an
// NSID alone is its #main.
func fullRef(base, ref string) string {
	if strings.HasPrefix(ref, "#") {
		ref = base + ref
	}
	if !strings.Contains(ref, "#") {
		ref += "#main"
	}
	return ref
}

// shortRef is the name a $type uses for a full name: nsid#main is nsid.
func shortRef(full string) string { return strings.TrimSuffix(full, "#main") }

func optInt(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

// compileDef compiles one indigo schema definition of document base.
func compileDef(base string, def any) (*node, error) {
	n := &node{minLen: -1, maxLen: -1, minG: -1, maxG: -1, maxSize: -1}
	switch s := def.(type) {
	case ilex.SchemaBoolean:
		n.kind, n.constBool = kBool, s.Const
	case ilex.SchemaInteger:
		n.kind = kInt
		if s.Minimum != nil {
			n.hasMin, n.min = true, int64(*s.Minimum)
		}
		if s.Maximum != nil {
			n.hasMax, n.max = true, int64(*s.Maximum)
		}
		for _, v := range s.Enum {
			n.intEnum = append(n.intEnum, int64(v))
		}
		if s.Const != nil {
			v := int64(*s.Const)
			n.constInt = &v
		}
	case ilex.SchemaString:
		n.kind = kString
		n.minLen, n.maxLen, n.minG, n.maxG = optInt(s.MinLength), optInt(s.MaxLength), optInt(s.MinGraphemes), optInt(s.MaxGraphemes)
		n.enum, n.constStr = s.Enum, s.Const
		if s.Format != nil {
			f, ok := formatByName[*s.Format]
			if !ok {
				return nil, fmt.Errorf("unknown string format %q", *s.Format)
			}
			n.format = f
		}
	case ilex.SchemaBytes:
		n.kind, n.minLen, n.maxLen = kBytes, optInt(s.MinLength), optInt(s.MaxLength)
	case ilex.SchemaCIDLink:
		n.kind = kCIDLink
	case ilex.SchemaBlob:
		n.kind, n.accept = kBlob, s.Accept
		if s.MaxSize != nil {
			n.maxSize = int64(*s.MaxSize)
		}
	case ilex.SchemaArray:
		n.kind, n.minLen, n.maxLen = kArray, optInt(s.MinLength), optInt(s.MaxLength)
		items, err := compileDef(base, s.Items.Inner)
		if err != nil {
			return nil, err
		}
		n.items = items
	case ilex.SchemaObject:
		return compileObject(base, s)
	case ilex.SchemaRecord:
		obj, err := compileObject(base, s.Record)
		if err != nil {
			return nil, err
		}
		n.kind, n.items, n.recKey = kRecord, obj, s.Key
	case ilex.SchemaRef:
		n.kind, n.target = kRef, fullRef(base, s.Ref)
	case ilex.SchemaUnion:
		n.kind, n.closed = kUnion, s.Closed != nil && *s.Closed
		for _, r := range s.Refs {
			n.refs = append(n.refs, fullRef(base, r))
		}
	case ilex.SchemaUnknown:
		n.kind = kUnknown
	case ilex.SchemaToken:
		n.kind = kToken
	default:
		n.kind = kOther
	}
	return n, nil
}

func compileObject(base string, s ilex.SchemaObject) (*node, error) {
	n := &node{kind: kObject, minLen: -1, maxLen: -1, minG: -1, maxG: -1, maxSize: -1, required: s.Required}
	for k, def := range s.Properties {
		pn, err := compileDef(base, def.Inner)
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", k, err)
		}
		n.props = append(n.props, prop{key: k, n: pn, nullable: s.IsNullable(k)})
	}
	for _, r := range s.Required {
		for i := range n.props {
			if n.props[i].key == r {
				n.props[i].required = true
			}
		}
	}
	sort.Slice(n.props, func(i, j int) bool {
		return dagcbor.CompareKeys([]byte(n.props[i].key), []byte(n.props[j].key)) < 0
	})
	return n, nil
}
