package firehose

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// MarshalJSON gives ev in the atproto JSON form of a frame,
// {"header": {...}, "body": {...}}, with links as {"$link"} and bytes (the
// blocks CAR) as {"$bytes"}: the form relay test vectors use. Keys are
// sorted.
func MarshalJSON(ev Event) ([]byte, error) {
	op, t, body, err := bodyOf(ev)
	if err != nil {
		return nil, err
	}
	header := map[string]any{"op": op}
	if op == OpMessage {
		header["t"] = t
	}
	return dagcbor.ToJSON(map[string]any{"header": header, "body": body})
}

// DecodeJSON reads a frame in the form MarshalJSON writes, with the same
// checks as DecodeFrame. One leniency, for vectors written by Go programs
// that serialise an empty slice as null: a #commit's "blobs": null is read
// as an empty list.
func DecodeJSON(b []byte) (Event, error) {
	v, err := dagcbor.FromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFrame, err)
	}
	m := v.(map[string]any)
	hv, ok := m["header"]
	if !ok {
		return nil, &FieldError{Field: "header", Msg: "missing"}
	}
	op, t, err := parseHeader(hv)
	if err != nil {
		return nil, err
	}
	body, ok := m["body"].(map[string]any)
	if !ok {
		return nil, &FieldError{Type: t, Field: "body", Msg: "missing or not an object"}
	}
	if len(m) != 2 {
		return nil, &FieldError{Field: "frame", Msg: "fields other than header and body"}
	}
	if op == OpMessage && t == TypeCommit {
		if bl, ok := body["blobs"]; ok && bl == nil {
			body["blobs"] = []any{}
		}
	}
	return eventFromBody(op, t, body)
}

// DecodeJSONBody reads a message body alone in the atproto JSON form, for
// message type t (such as "#commit"), as DecodeJSON reads a frame's body.
func DecodeJSONBody(t string, b []byte) (Event, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"header":`)
	h, _ := json.Marshal(map[string]any{"op": OpMessage, "t": t})
	buf.Write(h)
	buf.WriteString(`,"body":`)
	buf.Write(b)
	buf.WriteString(`}`)
	return DecodeJSON(buf.Bytes())
}
