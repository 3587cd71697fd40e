package dagcbor

import (
	"bytes"

	"github.com/ipfs/go-cid"
)

// dataEqual compares data-model values, treating all integer types by value
// and nil and empty byte slices as different from each other only by length.
func dataEqual(a, b any) bool {
	if ai, ok := asInt64(a); ok {
		bi, ok := asInt64(b)
		return ok && ai == bi
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case cid.Cid:
		y, ok := b.(cid.Cid)
		return ok && x.Equals(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !dataEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !dataEqual(v, w) {
				return false
			}
		}
		return true
	}
	return false
}
