package dagcbor

import (
	"math"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
)

// ValidateRecord checks that v is an atproto record: a map[string]any whose
// "$type" is a non-empty string, and whose every value, however deep, is in
// the data model (the Go types Encode accepts; no floats; CIDv1 links) and
// obeys the data-model conventions: any "$type" is a non-empty string and a
// map with "$type": "blob" is a well-formed blob ({"$type", "ref" (a link),
// "mimeType" (non-empty string), "size" (non-negative integer)}, nothing
// else). Errors are *EncodeError values with the path of the bad value.
func ValidateRecord(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return &EncodeError{Path: "$", Err: ErrNotObject, Detail: typeName(v)}
	}
	if _, ok := m["$type"]; !ok {
		return &EncodeError{Path: "$", Err: ErrBadType, Detail: "record has no $type"}
	}
	return validateData(v, 0, nil)
}

func validateData(v any, depth int, path *pathElem) error {
	if depth > MaxDepth {
		return encErr(path, ErrTooDeep, "")
	}
	switch x := v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint8, uint16, uint32, []byte:
	case uint:
		if uint64(x) > math.MaxInt64 {
			return encErr(path, ErrIntRange, "")
		}
	case uint64:
		if x > math.MaxInt64 {
			return encErr(path, ErrIntRange, "")
		}
	case float32, float64:
		return encErr(path, ErrFloat, "")
	case string:
		if !utf8.ValidString(x) {
			return encErr(path, ErrUTF8, "")
		}
	case cid.Cid:
		if err := checkLinkCID(x); err != nil {
			return encErr(path, ErrBadLink, err.Error())
		}
	case *cid.Cid:
		if x != nil {
			if err := checkLinkCID(*x); err != nil {
				return encErr(path, ErrBadLink, err.Error())
			}
		}
	case []any:
		for i, e := range x {
			if err := validateData(e, depth+1, &pathElem{parent: path, index: i}); err != nil {
				return err
			}
		}
	case map[string]any:
		if err, detail := checkTyped(x); err != nil {
			return encErr(path, err, detail)
		}
		for k, e := range x {
			p := &pathElem{parent: path, key: k, isKey: true}
			if !utf8.ValidString(k) {
				return encErr(p, ErrUTF8, "map key")
			}
			if err := validateData(e, depth+1, p); err != nil {
				return err
			}
		}
	default:
		return encErr(path, ErrUnsupportedType, typeName(v))
	}
	return nil
}

// checkTyped applies the "$type" conventions to one map: "$type", if
// present, is a non-empty string, and a blob has exactly its four fields
// with the right types. It returns the sentinel and a detail, or nil.
func checkTyped(m map[string]any) (error, string) {
	t, ok := m["$type"]
	if !ok {
		return nil, ""
	}
	s, ok := t.(string)
	if !ok {
		return ErrBadType, "$type is " + jsonTypeName(t) + ", not a string"
	}
	if s == "" {
		return ErrBadType, "$type is empty"
	}
	if s != "blob" {
		return nil, ""
	}
	for k := range m {
		switch k {
		case "$type", "ref", "mimeType", "size":
		default:
			return ErrBadBlob, "unexpected field " + k
		}
	}
	switch ref := m["ref"].(type) {
	case cid.Cid:
		if err := checkLinkCID(ref); err != nil {
			return ErrBadBlob, "ref: " + err.Error()
		}
	case *cid.Cid:
		if ref == nil {
			return ErrBadBlob, "ref is null"
		}
		if err := checkLinkCID(*ref); err != nil {
			return ErrBadBlob, "ref: " + err.Error()
		}
	case nil:
		if _, present := m["ref"]; !present {
			return ErrBadBlob, "missing ref"
		}
		return ErrBadBlob, "ref is null"
	default:
		return ErrBadBlob, "ref is " + jsonTypeName(ref) + ", not a link"
	}
	mt, present := m["mimeType"]
	if !present {
		return ErrBadBlob, "missing mimeType"
	}
	if s, ok := mt.(string); !ok || s == "" {
		return ErrBadBlob, "mimeType is not a non-empty string"
	}
	size, present := m["size"]
	if !present {
		return ErrBadBlob, "missing size"
	}
	if n, ok := asInt64(size); !ok || n < 0 {
		return ErrBadBlob, "size is not a non-negative integer"
	}
	return nil, ""
}

func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint:
		return int64(x), uint64(x) <= math.MaxInt64
	case uint64:
		return int64(x), x <= math.MaxInt64
	}
	return 0, false
}

// jsonTypeName names a data-model value's kind for error messages.
func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []byte:
		return "bytes"
	case cid.Cid, *cid.Cid:
		return "a link"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case float32, float64:
		return "a float"
	}
	if _, ok := asInt64(v); ok {
		return "an integer"
	}
	return typeName(v)
}
