package mst_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// mst is the only package that knows about prefix compression and node
// layout (see doc.go). Every non-test Go file outside it is parsed and
// refused when it
//
//   - reads or writes an entry's Prefix or Suffix field (rebuilding full
//     keys, or compressing them, by hand; use mst.NodeReader, mst.Entries);
//   - searches a node's entries itself: a binary search (sort.Search,
//     slices.BinarySearch*, a lo < hi loop) over Entries or ents (use
//     mst.Node.Search);
//   - walks a search path itself: a loop that searches a node's entries
//     and goes down a gap (use mst.SearchPath, mst.Prove).
//
// ARBOR_OWNER_ROOT names another checkout to scan instead of this one (to
// see the guard fail on a tree from before the rule).
func TestOnlyMSTKnowsNodeLayout(t *testing.T) {
	root := os.Getenv("ARBOR_OWNER_ROOT")
	if root == "" {
		root = ".."
	}
	found, err := layoutViolations(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Error(f)
	}
}

func layoutViolations(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "mst" || (rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, v := range checkLayoutFile(f) {
			out = append(out, fmt.Sprintf("%s:%d: %s", filepath.ToSlash(rel), fset.Position(v.pos).Line, v.what))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

type layoutViolation struct {
	pos  token.Pos
	what string
}

func checkLayoutFile(f *ast.File) []layoutViolation {
	var out []layoutViolation
	add := func(n ast.Node, what string) { out = append(out, layoutViolation{n.Pos(), what}) }
	called := map[ast.Expr]bool{} // selectors in call position: methods, not fields
	ast.Inspect(f, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			called[c.Fun] = true
		}
		return true
	})
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if layoutField(n.Sel.Name) && !called[n] {
				add(n, "touches an MST entry's "+n.Sel.Name+" field (prefix compression belongs to mst)")
			}
		case *ast.CompositeLit:
			for _, el := range n.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && layoutField(k.Name) {
						add(kv, "sets an MST entry's "+k.Name+" field (prefix compression belongs to mst)")
					}
				}
			}
		case *ast.CallExpr:
			if name := callName(n); name == "sort.Search" || strings.HasPrefix(name, "slices.BinarySearch") {
				if mentionsEntries(n) {
					add(n, "searches a node's entries itself (use mst.Node.Search)")
				}
			}
		case *ast.ForStmt:
			if isBinarySearchLoop(n) && mentionsEntries(n.Body) {
				add(n, "searches a node's entries itself (use mst.Node.Search)")
				return true
			}
			if descends(n.Body) {
				add(n, "walks a search path itself (use mst.SearchPath or mst.Prove)")
			}
		}
		return true
	})
	return out
}

// layoutField: the fields of a prefix-compressed entry, in mst's types
// or a copy of them.
func layoutField(name string) bool {
	switch name {
	case "Prefix", "Suffix", "prefix", "suffix":
		return true
	}
	return false
}

func callName(c *ast.CallExpr) string {
	if s, ok := c.Fun.(*ast.SelectorExpr); ok {
		if x, ok := s.X.(*ast.Ident); ok {
			return x.Name + "." + s.Sel.Name
		}
	}
	return ""
}

// mentionsEntries reports whether n reads a field Entries or ents.
func mentionsEntries(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok && (s.Sel.Name == "Entries" || s.Sel.Name == "ents") {
			found = true
		}
		return !found
	})
	return found
}

// isBinarySearchLoop: for lo < hi (two plain identifiers compared).
func isBinarySearchLoop(f *ast.ForStmt) bool {
	b, ok := f.Cond.(*ast.BinaryExpr)
	if !ok || b.Op != token.LSS {
		return false
	}
	_, l := b.X.(*ast.Ident)
	_, r := b.Y.(*ast.Ident)
	return l && r
}

// descends reports whether a loop body both compares keys against a
// node's entries (a Search call, or bytes.Compare in a body that reads
// entries) and steps
// into a gap (a Gap call, or a Left or Right link): a search-path walk.
func descends(body *ast.BlockStmt) bool {
	search, gap := false, false
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.CallExpr:
			if s, ok := n.Fun.(*ast.SelectorExpr); ok {
				switch s.Sel.Name {
				case "Search", "search":
					if _, pkg := s.X.(*ast.Ident); !pkg || callName(n) != "sort.Search" {
						search = true
					}
				case "Gap", "gap":
					gap = true
				case "Compare":
					if callName(n) == "bytes.Compare" && mentionsEntries(body) {
						search = true
					}
				}
			}
		case *ast.SelectorExpr:
			if n.Sel.Name == "Left" || n.Sel.Name == "Right" || n.Sel.Name == "left" || n.Sel.Name == "right" {
				gap = true
			}
		}
		return true
	})
	return search && gap
}
