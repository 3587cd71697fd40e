package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// FieldChange is one difference between two versions of a record, in the
// atproto JSON form. Path is a JSON Pointer (RFC 6901) into the record; Old
// is nil for an added field, New is nil for a removed one.
type FieldChange struct {
	Path string          `json:"path"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

// Fields compares two record blocks (DAG-CBOR) field by field, in their
// atproto JSON form ($link, $bytes, blob refs compared as values). Maps are
// compared key by key (keys sorted), arrays element by element (a longer
// array adds or removes trailing elements), anything else as a whole.
func Fields(oldRecord, newRecord []byte) ([]FieldChange, error) {
	o, err := recordJSON(oldRecord)
	if err != nil {
		return nil, fmt.Errorf("old record: %w", err)
	}
	n, err := recordJSON(newRecord)
	if err != nil {
		return nil, fmt.Errorf("new record: %w", err)
	}
	var out []FieldChange
	if err := compareJSON("", o, n, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func recordJSON(b []byte) (any, error) {
	v, err := dagcbor.Decode(b)
	if err != nil {
		return nil, err
	}
	js, err := dagcbor.ToJSON(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func marshal(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

func compareJSON(path string, o, n any, out *[]FieldChange) error {
	switch ov := o.(type) {
	case map[string]any:
		nv, ok := n.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(ov)+len(nv))
		for k := range ov {
			keys = append(keys, k)
		}
		for k := range nv {
			if _, ok := ov[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := path + "/" + pointerToken(k)
			a, inOld := ov[k]
			b, inNew := nv[k]
			switch {
			case inOld && inNew:
				if err := compareJSON(p, a, b, out); err != nil {
					return err
				}
			case inOld:
				m, err := marshal(a)
				if err != nil {
					return err
				}
				*out = append(*out, FieldChange{Path: p, Old: m})
			default:
				m, err := marshal(b)
				if err != nil {
					return err
				}
				*out = append(*out, FieldChange{Path: p, New: m})
			}
		}
		return nil
	case []any:
		nv, ok := n.([]any)
		if !ok {
			break
		}
		for i := 0; i < max(len(ov), len(nv)); i++ {
			p := path + "/" + strconv.Itoa(i)
			switch {
			case i < len(ov) && i < len(nv):
				if err := compareJSON(p, ov[i], nv[i], out); err != nil {
					return err
				}
			case i < len(ov):
				m, err := marshal(ov[i])
				if err != nil {
					return err
				}
				*out = append(*out, FieldChange{Path: p, Old: m})
			default:
				m, err := marshal(nv[i])
				if err != nil {
					return err
				}
				*out = append(*out, FieldChange{Path: p, New: m})
			}
		}
		return nil
	}
	a, err := marshal(o)
	if err != nil {
		return err
	}
	b, err := marshal(n)
	if err != nil {
		return err
	}
	if !bytes.Equal(a, b) {
		*out = append(*out, FieldChange{Path: path, Old: a, New: b})
	}
	return nil
}
