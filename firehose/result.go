package firehose

import (
	"encoding/json"
	"strings"
)

// EventLine is one line of arbor firehose --json: an event in its atproto
// JSON form, or what was wrong with a frame that did not decode, and with
// --verify the verdict on it. It is that command's JSON schema.
type EventLine struct {
	// Body is the frame's body in the atproto JSON form.
	Body json.RawMessage `json:"body,omitempty"`
	// Header is the frame's header ({op, t}).
	Header json.RawMessage `json:"header,omitempty"`
	// Malformed says why the frame could not be decoded (no header and
	// body then).
	Malformed string `json:"malformed,omitempty"`
	// Verify is the verdict on the event (with --verify only).
	Verify *EventCheck `json:"verify,omitempty"`
}

// EventCheck is the verdict on one event.
type EventCheck struct {
	// OK says no check failed.
	OK bool `json:"ok"`
	// Problems are the failed checks, one line each.
	Problems []string `json:"problems"`
	// Skipped are the checks that could not be made.
	Skipped []SkippedCheck `json:"skipped"`
}

// SkippedCheck is a check left out, and why.
type SkippedCheck struct {
	// Check names the check.
	Check string `json:"check"`
	// Reason says why it was not made.
	Reason string `json:"reason"`
}

// NewEventLine is ev as a line of JSON; with verify, problems and skipped
// are the verdict on it.
func NewEventLine(ev Event, verify bool, problems []string, skipped []Skipped) (*EventLine, error) {
	l := &EventLine{}
	if m, ok := ev.(*Malformed); ok {
		l.Malformed = strings.Join(strings.Fields(m.Err.Error()), " ")
	} else {
		js, err := MarshalJSON(ev)
		if err != nil {
			return nil, err
		}
		var parts map[string]json.RawMessage
		if err := json.Unmarshal(js, &parts); err != nil {
			return nil, err
		}
		l.Header, l.Body = parts["header"], parts["body"]
	}
	if verify {
		sk := []SkippedCheck{}
		for _, s := range skipped {
			sk = append(sk, SkippedCheck{Check: s.Check, Reason: s.Reason})
		}
		if problems == nil {
			problems = []string{}
		}
		l.Verify = &EventCheck{OK: len(problems) == 0, Problems: problems, Skipped: sk}
	}
	return l, nil
}
