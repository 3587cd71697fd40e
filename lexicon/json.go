package lexicon

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// recordCBOR converts a record in the atproto JSON form to DAG-CBOR for
// validation. It is dagcbor.JSONToCBOR, except that a {"$bytes"} whose
// base64 has non-zero padding bits (which the strict codec refuses, as
// a non-canonical encoding) is read as the lenient decoders of the
// reference implementation and indigo read it: the interop vectors hold
// such a value among the valid records.
func recordCBOR(j []byte) ([]byte, error) {
	b, err := dagcbor.JSONToCBOR(j)
	if err == nil || !errors.Is(err, dagcbor.ErrBadBytes) {
		return b, err
	}
	d := json.NewDecoder(bytes.NewReader(j))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, err
	}
	if !canonicalBytes(v) {
		return nil, err
	}
	fixed, merr := json.Marshal(v)
	if merr != nil {
		return nil, err
	}
	if b, err2 := dagcbor.JSONToCBOR(fixed); err2 == nil {
		return b, nil
	}
	return nil, err
}

// canonicalBytes re-encodes, in place, every {"$bytes"} string of v that
// decodes leniently; false when one does not decode at all.
func canonicalBytes(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		if s, ok := t["$bytes"].(string); ok && len(t) == 1 {
			raw, err := base64.RawStdEncoding.DecodeString(s)
			if err != nil {
				return false
			}
			t["$bytes"] = base64.RawStdEncoding.EncodeToString(raw)
			return true
		}
		for _, e := range t {
			if !canonicalBytes(e) {
				return false
			}
		}
	case []any:
		for _, e := range t {
			if !canonicalBytes(e) {
				return false
			}
		}
	}
	return true
}
