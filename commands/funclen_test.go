package commands

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is the longest a function in this package may be, counted
// from its first line to its closing brace: a command parses flags, calls a
// core package and prints; anything longer holds logic that belongs in a
// core package (or a flag list that belongs in its own func or var).
const maxFuncLines = 60

// TestNoCommandFunctionOverSixtyLines reads every non-test file of the
// package and fails for each function or function literal longer than
// maxFuncLines.
func TestNoCommandFunctionOverSixtyLines(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			what, body := "", (*ast.BlockStmt)(nil)
			switch x := n.(type) {
			case *ast.FuncDecl:
				what, body = x.Name.Name, x.Body
			case *ast.FuncLit:
				what, body = "a function literal", x.Body
			}
			if body == nil {
				return true
			}
			start := fset.Position(n.Pos())
			if lines := fset.Position(body.Rbrace).Line - start.Line + 1; lines > maxFuncLines {
				t.Errorf("%s:%d: %s is %d lines, more than %d", name, start.Line, what, lines, maxFuncLines)
			}
			return true
		})
	}
}
