package testfixtures

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// exportedSentinels parses every non-test Go file of the library packages
// below root (not package main, not testdata) and returns, for each exported
// package-level variable named Err..., the packages (directories relative
// to root) that declare it.
func exportedSentinels(t *testing.T, root string) map[string][]string {
	t.Helper()
	decl := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		pkg, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				for _, name := range spec.(*ast.ValueSpec).Names {
					if name.IsExported() && strings.HasPrefix(name.Name, "Err") {
						decl[name.Name] = append(decl[name.Name], filepath.ToSlash(pkg))
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return decl
}

// A sentinel name means one thing: no exported Err... variable is declared
// in two packages. A concept has one sentinel, in the package that owns it,
// which the others wrap or reuse (firehose's missing block is
// mst.ErrMissingBlock); different concepts have different names (plc's
// ErrBadDIDKey is not mst's ErrBadKey).
func TestSentinelNameDeclaredInOnePackage(t *testing.T) {
	decl := exportedSentinels(t, Root(t))
	// The scan must see the sentinels it guards, or it proves nothing.
	for name, pkg := range map[string]string{"ErrBadKey": "mst", "ErrBadDIDKey": "plc", "ErrTruncated": "dagcbor", "ErrNotACommit": "repo"} {
		if got := decl[name]; len(got) == 0 || got[0] != pkg {
			t.Errorf("%s declared in %v, want in %s (does the scan still read the tree?)", name, got, pkg)
		}
	}
	names := make([]string, 0, len(decl))
	for name := range decl {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if pkgs := decl[name]; len(pkgs) > 1 {
			t.Errorf("%s is declared in %d packages (%s): keep one sentinel per concept in the package that owns it, and rename the others if they mean something else",
				name, len(pkgs), strings.Join(pkgs, ", "))
		}
	}
}
