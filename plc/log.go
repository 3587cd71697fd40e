package plc

import (
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// LogEntry is one entry of an audit log or export stream:
// {did, operation, cid, nullified, createdAt}. Entries read from a plain
// array of operations have HasMeta false and only Operation set.
type LogEntry struct {
	DID       string
	Operation *Operation
	CID       string
	Nullified bool
	CreatedAt time.Time
	HasMeta   bool
}

// MarshalJSON writes the entry in the directory's form.
func (e LogEntry) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// AppendJSON appends the entry's compact JSON to b.
func (e LogEntry) AppendJSON(b []byte) []byte {
	b = append(b, `{"did":`...)
	b = dagcbor.AppendJSONString(b, e.DID)
	b = append(b, `,"operation":`...)
	b = e.Operation.AppendJSON(b)
	b = append(b, `,"cid":`...)
	b = dagcbor.AppendJSONString(b, e.CID)
	if e.Nullified {
		b = append(b, `,"nullified":true`...)
	} else {
		b = append(b, `,"nullified":false`...)
	}
	b = append(b, `,"createdAt":`...)
	b = dagcbor.AppendJSONString(b, FormatTime(e.CreatedAt))
	return append(b, '}')
}

// FormatTime formats t as the directory does (UTC, milliseconds, "Z").
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// ParseTime parses an atproto datetime (RFC 3339 with a timezone).
func ParseTime(s string) (time.Time, error) {
	dt, err := syntax.ParseDatetime(s)
	if err != nil {
		return time.Time{}, err
	}
	return dt.Time(), nil
}

// ParseLogEntry parses one {did, operation, cid, nullified, createdAt}
// object (one line of an export stream).
func ParseLogEntry(data []byte) (LogEntry, error) {
	v, err := parseJSON(data)
	if err != nil {
		return LogEntry{}, err
	}
	return entryFromJSON(&v)
}

func entryFromJSON(v *jvalue) (LogEntry, error) {
	if v.kind != jObject {
		return LogEntry{}, malformed("log entry is a JSON %s, not an object", v.kind)
	}
	e := LogEntry{HasMeta: true}
	var err error
	get := func(name string, kind jkind) *jvalue {
		if err != nil {
			return nil
		}
		f, ok := v.get(name)
		if !ok {
			err = malformed("log entry has no %q", name)
			return nil
		}
		if f.kind != kind {
			err = malformed("log entry %q is a %s, not a %s", name, f.kind, kind)
			return nil
		}
		return f
	}
	did, opv, c, nul, ca := get("did", jString), get("operation", jObject), get("cid", jString), get("nullified", jBool), get("createdAt", jString)
	if err != nil {
		return LogEntry{}, err
	}
	e.DID, e.CID, e.Nullified = did.str, c.str, nul.b
	if e.CreatedAt, err = ParseTime(ca.str); err != nil {
		return LogEntry{}, malformed("createdAt %q: %v", ca.str, err)
	}
	if e.Operation, err = opFromJSON(opv); err != nil {
		return LogEntry{}, err
	}
	return e, nil
}

// ParseLog parses an operation log: either the directory's /log/audit JSON
// array of {did, operation, cid, nullified, createdAt}, or a plain JSON array
// of operations (the /log form). Parse errors name the entry index.
func ParseLog(data []byte) ([]LogEntry, error) {
	v, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	if v.kind != jArray {
		return nil, malformed("log is a JSON %s, not an array", v.kind)
	}
	if len(v.arr) == 0 {
		return nil, ErrEmptyLog
	}
	_, audit := v.arr[0].get("operation")
	out := make([]LogEntry, len(v.arr))
	for i := range v.arr {
		if audit {
			out[i], err = entryFromJSON(&v.arr[i])
		} else {
			out[i].Operation, err = opFromJSON(&v.arr[i])
		}
		if err != nil {
			return nil, &OpError{Index: i, Err: err}
		}
	}
	return out, nil
}

// MarshalLog writes entries as an audit log JSON array.
func MarshalLog(entries []LogEntry) []byte {
	b := []byte{'['}
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.AppendJSON(b)
	}
	return append(b, ']')
}

func (e *LogEntry) String() string {
	return fmt.Sprintf("%s %s", e.CID, e.Operation.Type)
}
