package commands

import (
	"encoding"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

const modulePath = "github.com/arbor-atproto/arbor"

// typeDocs holds the doc comments of one package's struct types and their
// fields, read with go/ast: docs[TypeName][""] is the type's comment,
// docs[TypeName][Field] a field's; a field of an anonymous struct is
// docs[TypeName][Field.Sub].
type typeDocs map[string]map[string]string

// docReader reads and caches the comments of the module's packages.
type docReader struct {
	t    *testing.T
	pkgs map[string]typeDocs
}

func (d *docReader) doc(pkgPath, typeName, field string) string {
	rel, ok := strings.CutPrefix(pkgPath, modulePath)
	if !ok {
		return ""
	}
	docs, ok := d.pkgs[pkgPath]
	if !ok {
		docs = readTypeDocs(d.t, filepath.Join("..", filepath.FromSlash(strings.TrimPrefix(rel, "/"))))
		d.pkgs[pkgPath] = docs
	}
	return docs[typeName][field]
}

func readTypeDocs(t *testing.T, dir string) typeDocs {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	docs := typeDocs{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				m := map[string]string{}
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				m[""] = commentText(doc)
				if st, ok := ts.Type.(*ast.StructType); ok {
					fieldDocs(m, "", st)
				}
				docs[ts.Name.Name] = m
			}
		}
	}
	return docs
}

func fieldDocs(m map[string]string, prefix string, st *ast.StructType) {
	for _, f := range st.Fields.List {
		text := commentText(f.Doc)
		if text == "" {
			text = commentText(f.Comment)
		}
		names := f.Names
		if len(names) == 0 { // embedded
			names = []*ast.Ident{{Name: embeddedName(f.Type)}}
		}
		for _, n := range names {
			m[prefix+n.Name] = text
			if sub, ok := f.Type.(*ast.StructType); ok {
				fieldDocs(m, prefix+n.Name+".", sub)
			}
			if sub, ok := f.Type.(*ast.ArrayType); ok {
				if st, ok := sub.Elt.(*ast.StructType); ok {
					fieldDocs(m, prefix+n.Name+".", st)
				}
			}
		}
	}
}

func embeddedName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return embeddedName(x.X)
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.Ident:
		return x.Name
	}
	return ""
}

func commentText(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.Join(strings.Fields(g.Text()), " ")
}

// objectType is a JSON object to document: a named struct, or an anonymous
// one named after the field that holds it.
type objectType struct {
	name     string // as written in the document: "plc.RollbackResult", "diff.Result.Summary"
	t        reflect.Type
	pkgPath  string
	typeName string // the declared type whose comments hold the fields' docs
	prefix   string // the fields' path inside typeName ("Summary.")
}

// shapeDoc renders one command's section of docs/json.md.
type shapeDoc struct {
	docs  *docReader
	b     strings.Builder
	seen  map[string]bool
	queue []objectType
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	rawMessage    = reflect.TypeFor[json.RawMessage]()
)

func qualified(t reflect.Type) string {
	pkg := t.PkgPath()
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		pkg = pkg[i+1:]
	}
	if pkg == "" {
		return t.Name()
	}
	return pkg + "." + t.Name()
}

// jsonType names the JSON type that t encodes as, queueing the objects it
// holds for their own tables.
func (s *shapeDoc) jsonType(t reflect.Type, owner objectType, field string) string {
	if t == rawMessage {
		return "any JSON"
	}
	if t.Kind() == reflect.Pointer {
		return s.jsonType(t.Elem(), owner, field)
	}
	if t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) {
		if t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
			return "string"
		}
		return "JSON of " + qualified(t)
	}
	if t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Interface:
		return "any JSON"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return "string (base64)"
		}
		return "array of " + s.jsonType(t.Elem(), owner, field)
	case reflect.Map:
		return "object of " + s.jsonType(t.Elem(), owner, field) + " by key"
	case reflect.Struct:
		o := objectType{t: t}
		if t.Name() == "" {
			o.name, o.pkgPath, o.typeName, o.prefix = owner.name+"."+field, owner.pkgPath, owner.typeName, owner.prefix+field+"."
		} else {
			o.name, o.pkgPath, o.typeName = qualified(t), t.PkgPath(), t.Name()
		}
		if !s.seen[o.name] {
			s.seen[o.name] = true
			s.queue = append(s.queue, o)
		}
		return "object (" + o.name + ")"
	}
	return t.String()
}

// jsonField is one member of an object as encoding/json writes it.
type jsonField struct {
	name, goName string
	t            reflect.Type
	omit         string // "omitempty", "omitzero" or ""
	owner        objectType
}

// jsonFields lists t's members in order, embedded structs flattened.
func jsonFields(o objectType) []jsonField {
	var out []jsonField
	for i := 0; i < o.t.NumField(); i++ {
		f := o.t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				out = append(out, jsonFields(objectType{name: o.name, t: et, pkgPath: et.PkgPath(), typeName: et.Name()})...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		jf := jsonField{name: name, goName: f.Name, t: ft, owner: o}
		for _, opt := range strings.Split(opts, ",") {
			if opt == "omitempty" || opt == "omitzero" {
				jf.omit = opt
			}
		}
		out = append(out, jf)
	}
	return out
}

func (s *shapeDoc) object(o objectType) {
	doc := s.docs.doc(o.pkgPath, o.typeName, strings.TrimSuffix(o.prefix, "."))
	fmt.Fprintf(&s.b, "`%s`", o.name)
	if doc != "" {
		fmt.Fprintf(&s.b, ": %s", doc)
	}
	s.b.WriteString("\n\n| member | type | presence | meaning |\n|---|---|---|---|\n")
	for _, f := range jsonFields(o) {
		typ := s.jsonType(f.t, o, f.goName)
		presence := "always"
		switch {
		case f.omit != "":
			presence = "optional"
		case f.t.Kind() == reflect.Pointer || f.t.Kind() == reflect.Interface:
			presence = "may be null"
		}
		fdoc := s.docs.doc(f.owner.pkgPath, f.owner.typeName, f.owner.prefix+f.goName)
		fmt.Fprintf(&s.b, "| `%s` | %s | %s | %s |\n", f.name, typ, presence, strings.ReplaceAll(fdoc, "|", `\|`))
	}
	s.b.WriteString("\n")
}

// jsonReference renders docs/json.md from jsonShapes.
func jsonReference(t *testing.T) string {
	t.Helper()
	shapes := jsonShapes()
	var names []string
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	docs := &docReader{t: t, pkgs: map[string]typeDocs{}}
	var b strings.Builder
	b.WriteString("# JSON output reference\n\n")
	b.WriteString("Generated from the result types of the commands by `go test ./commands -run TestJSONReference -update-docs`;\n")
	b.WriteString("a test fails when this file and the types disagree, and another checks that each command's `--json`\n")
	b.WriteString("output decodes into its type with no member left over.\n\n")
	b.WriteString("Each command with `--json` prints one JSON document on standard output (indented, unless it says it\n")
	b.WriteString("is compact or a stream of lines). Presence: *always* members are always written; *optional* ones are\n")
	b.WriteString("left out when empty (zero, false, \"\", no elements); *may be null* ones are written as `null` when\n")
	b.WriteString("there is no value. Integers are JSON numbers.\n\n")
	for _, n := range names {
		sh := shapes[n]
		s := &shapeDoc{docs: docs, seen: map[string]bool{}}
		fmt.Fprintf(&s.b, "## arbor %s --json\n\n", n)
		switch {
		case sh.Lines:
			fmt.Fprintf(&s.b, "A stream: one compact `%s` per line.\n\n", qualified(sh.Result))
		case sh.Compact:
			fmt.Fprintf(&s.b, "One compact `%s` on one line, written as it is computed.\n\n", qualified(sh.Result))
		default:
			fmt.Fprintf(&s.b, "One `%s`.\n\n", qualified(sh.Result))
		}
		s.jsonType(sh.Result, objectType{}, "")
		for len(s.queue) > 0 {
			o := s.queue[0]
			s.queue = s.queue[1:]
			s.object(o)
		}
		b.WriteString(s.b.String())
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func TestJSONReferenceMatchesTypes(t *testing.T) {
	checkGeneratedDoc(t, "json.md", jsonReference(t), "the result types", "TestJSONReference")
}
