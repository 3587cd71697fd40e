package dagcbor

import (
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
)

// Encode returns the canonical DAG-CBOR encoding of a data-model value:
// map keys length-first then bytewise, integers in their shortest form,
// links as tag 42 over the 0x00-prefixed CID bytes.
//
// Accepted Go types: nil, bool, int, int8..int64, uint, uint8..uint64 (while
// within the signed 64-bit range), string (valid UTF-8), []byte, cid.Cid and
// *cid.Cid (CIDv1 only; a nil pointer is null), []any and map[string]any.
// Floats are rejected (ErrFloat), as is any other type (ErrUnsupportedType).
// Errors are *EncodeError values that say where in the value the problem is.
//
// Anything Encode accepts, Decode accepts, and Decode of the result gives
// back an equal value; for values produced by Decode, Encode gives back the
// original bytes.
func Encode(v any) ([]byte, error) {
	w := Writer{buf: make([]byte, 0, 64)}
	if err := w.encodeValue(v, 0, nil); err != nil {
		return nil, err
	}
	return w.buf, nil
}

// pathElem is one step of the path to a value inside a nested value, kept
// as a linked list from the leaf up so that the success path allocates
// nothing for it.
type pathElem struct {
	parent *pathElem
	key    string
	index  int
	isKey  bool
}

func (p *pathElem) String() string {
	var parts []*pathElem
	for e := p; e != nil; e = e.parent {
		parts = append(parts, e)
	}
	s := "$"
	for i := len(parts) - 1; i >= 0; i-- {
		e := parts[i]
		if e.isKey {
			s += "[" + strconv.Quote(e.key) + "]"
		} else {
			s += "[" + strconv.Itoa(e.index) + "]"
		}
	}
	return s
}

func encErr(p *pathElem, err error, detail string) error {
	return &EncodeError{Path: p.String(), Err: err, Detail: detail}
}

func (w *Writer) encodeValue(v any, depth int, path *pathElem) error {
	if depth > MaxDepth {
		return encErr(path, ErrTooDeep, "")
	}
	switch x := v.(type) {
	case nil:
		w.WriteNull()
	case bool:
		w.WriteBool(x)
	case int64: // what Decode gives; the other integer types are below
		w.WriteInt(x)
	case float32, float64:
		return encErr(path, ErrFloat, "")
	case string:
		if !utf8.ValidString(x) {
			return encErr(path, ErrUTF8, "")
		}
		w.WriteString(x)
	case []byte:
		w.WriteBytes(x)
	case cid.Cid:
		return w.encodeLink(x, path)
	case *cid.Cid:
		if x == nil {
			w.WriteNull()
			return nil
		}
		return w.encodeLink(*x, path)
	case []any:
		w.WriteArrayHeader(len(x))
		for i, e := range x {
			if err := w.encodeValue(e, depth+1, &pathElem{parent: path, index: i}); err != nil {
				return err
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			if !utf8.ValidString(k) {
				return encErr(&pathElem{parent: path, key: k, isKey: true}, ErrUTF8, "map key")
			}
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareKeyStrings)
		w.WriteMapHeader(len(x))
		for _, k := range keys {
			w.WriteString(k)
			if err := w.encodeValue(x[k], depth+1, &pathElem{parent: path, key: k, isKey: true}); err != nil {
				return err
			}
		}
	default:
		if n, ok := asInt64(v); ok {
			w.WriteInt(n)
			return nil
		}
		switch x := v.(type) {
		case uint:
			return encErr(path, ErrIntRange, strconv.FormatUint(uint64(x), 10))
		case uint64:
			return encErr(path, ErrIntRange, strconv.FormatUint(x, 10))
		}
		return encErr(path, ErrUnsupportedType, typeName(v))
	}
	return nil
}

func (w *Writer) encodeLink(c cid.Cid, path *pathElem) error {
	if err := checkLinkCID(c); err != nil {
		return encErr(path, ErrBadLink, err.Error())
	}
	w.WriteLink(c)
	return nil
}

// checkLinkCID says why c cannot be a link in the atproto data model.
func checkLinkCID(c cid.Cid) error {
	if !c.Defined() {
		return errString("undefined CID")
	}
	if c.Version() != 1 {
		return errString("not a CIDv1")
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }

// compareKeyStrings is CompareKeys for strings.
func compareKeyStrings(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
