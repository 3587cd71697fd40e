package commands

import (
	"reflect"
	"strings"
	"testing"
)

// TestEveryJSONCommandHasAShape: each command with --json declares its
// result type in jsonShapes, and jsonShapes names no other command.
func TestEveryJSONCommandHasAShape(t *testing.T) {
	shapes := jsonShapes()
	has := map[string]bool{}
	for _, path := range jsonCommands("", NewApp(Env{}).Commands) {
		has[path] = true
		sh, ok := shapes[path]
		if !ok {
			t.Errorf("arbor %s has --json but no result type in jsonShapes", path)
			continue
		}
		if sh.Result == nil || sh.Result.Kind() != reflect.Struct || sh.Result.Name() == "" {
			t.Errorf("arbor %s: the result type %v is not a named struct", path, sh.Result)
		}
	}
	for key := range shapes {
		path, flag, variant := strings.Cut(key, " --")
		if variant && !hasFlag(path, flag) {
			t.Errorf("jsonShapes names arbor %s, but arbor %s has no --%s", key, path, flag)
		}
		if !has[path] {
			t.Errorf("jsonShapes names arbor %s, which has no --json flag", path)
		}
	}
}
