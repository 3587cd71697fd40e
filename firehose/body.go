package firehose

import (
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
	"github.com/arbor-atproto/arbor/repo"
)

func asSyntax(err error, se **dagcbor.SyntaxError) bool { return errors.As(err, se) }

// fields takes typed values out of a decoded body map; what is left at the
// end is the body's extra fields.
type fields struct {
	typ string
	m   map[string]any
	err error
}

func (f *fields) fail(field, format string, args ...any) {
	if f.err == nil {
		f.err = &FieldError{Type: f.typ, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
}

func (f *fields) take(name string) (any, bool) {
	v, ok := f.m[name]
	delete(f.m, name)
	return v, ok
}

// typed takes a field holding a T: one that is missing (when required) or
// holds another type fails, "not " + what ("a string") saying what it
// should be. ok is false, and the value zero, when the field is not a T.
func typed[T any](f *fields, name string, required bool, what string) (T, bool) {
	var zero T
	v, ok := f.take(name)
	if !ok {
		if required {
			f.fail(name, "missing")
		}
		return zero, false
	}
	x, isT := v.(T)
	if !isT {
		f.fail(name, "not %s", what)
		return zero, false
	}
	return x, true
}

func (f *fields) str(name string, required bool) (string, bool) {
	return typed[string](f, name, required, "a string")
}

// nonEmpty takes a required string field that may not be empty.
func (f *fields) nonEmpty(name string) string {
	s, _ := f.str(name, true)
	if f.err == nil && s == "" {
		f.fail(name, "empty")
	}
	return s
}

func (f *fields) int(name string) int64 {
	i, _ := typed[int64](f, name, true, "an integer")
	return i
}

func (f *fields) seq() int64 {
	s := f.int("seq")
	if s < 0 {
		f.fail("seq", "negative (%d)", s)
	}
	return s
}

func (f *fields) bool(name string) bool {
	b, _ := typed[bool](f, name, true, "a boolean")
	return b
}

func (f *fields) bytes(name string) []byte {
	b, _ := typed[[]byte](f, name, true, "bytes")
	return b
}

func (f *fields) link(name string, required bool) cid.Cid {
	c, _ := typed[cid.Cid](f, name, required, "a link")
	return c
}

func (f *fields) did(name string) syntax.DID {
	s, ok := f.str(name, true)
	if !ok {
		return ""
	}
	did, err := syntax.ParseDID(s)
	if err != nil {
		f.fail(name, "%q is not a DID", s)
	}
	return did
}

func (f *fields) tid(name string) syntax.TID {
	s, ok := f.str(name, true)
	if !ok {
		return ""
	}
	f.checkTID(name, s)
	return syntax.TID(s) // checked just above; a failed check fails the decoding
}

func (f *fields) checkTID(name, s string) {
	if _, err := syntax.ParseTID(s); err != nil {
		f.fail(name, "%q is not a TID", s)
	}
}

func (f *fields) time() string {
	s, ok := f.str("time", true)
	if ok {
		if _, err := syntax.ParseDatetime(s); err != nil {
			f.fail("time", "%q is not an atproto datetime", s)
		}
	}
	return s
}

// optStr reads an optional string field that may hold any text.
func (f *fields) optStr(name string) *string {
	s, ok := f.str(name, false)
	if !ok {
		return nil
	}
	return &s
}

func (f *fields) extra() map[string]any {
	if len(f.m) == 0 {
		return nil
	}
	return f.m
}

// eventFromBody builds the typed event of a decoded header and body. It
// takes fields out of body (which it keeps as Extra or Unknown.Body).
func eventFromBody(op int64, t string, body map[string]any) (Event, error) {
	f := &fields{typ: t, m: body}
	var ev Event
	if op == OpError {
		e := &ErrorFrame{Name: f.nonEmpty("error"), Message: f.optStr("message")}
		e.Extra = f.extra()
		ev = e
	} else {
		switch t {
		case TypeCommit:
			ev = commitFromBody(f)
		case TypeIdentity:
			e := &Identity{Seq: f.seq(), DID: f.did("did"), Time: f.time()}
			if h, ok := f.str("handle", false); ok {
				if _, err := syntax.ParseHandle(h); err != nil {
					f.fail("handle", "%q is not a handle", h)
				}
				e.Handle = h
			}
			e.Extra = f.extra()
			ev = e
		case TypeAccount:
			e := &Account{Seq: f.seq(), DID: f.did("did"), Time: f.time(), Active: f.bool("active")}
			if s, ok := f.str("status", false); ok {
				if s == "" {
					f.fail("status", "empty")
				}
				e.Status = s
			}
			e.Extra = f.extra()
			ev = e
		case TypeSync:
			e := &Sync{Seq: f.seq(), DID: f.did("did"), Blocks: f.bytes("blocks"), Rev: f.tid("rev"), Time: f.time()}
			e.Extra = f.extra()
			ev = e
		case TypeInfo:
			e := &Info{Name: f.nonEmpty("name"), Message: f.optStr("message")}
			e.Extra = f.extra()
			ev = e
		default:
			ev = &Unknown{T: t, Body: body}
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	return ev, nil
}

func commitFromBody(f *fields) *Commit {
	e := &Commit{
		Seq:    f.seq(),
		Rebase: f.bool("rebase"),
		TooBig: f.bool("tooBig"),
		Repo:   f.did("repo"),
		Commit: f.link("commit", true),
		Rev:    f.tid("rev"),
		Blocks: f.bytes("blocks"),
		Time:   f.time(),
	}
	if v, ok := f.take("since"); !ok {
		f.fail("since", "missing (it may be null, not absent)")
	} else if v != nil {
		s, isStr := v.(string)
		if !isStr {
			f.fail("since", "neither a string nor null")
		} else {
			f.checkTID("since", s)
			e.Since = &s
		}
	}
	e.PrevData = f.link("prevData", false)
	if arr, ok := typed[[]any](f, "ops", true, "an array"); ok {
		e.Ops = make([]RepoOp, 0, len(arr))
		for i, ov := range arr {
			e.Ops = append(e.Ops, opFromValue(f, i, ov))
		}
	}
	if arr, ok := typed[[]any](f, "blobs", true, "an array"); ok {
		e.Blobs = make([]cid.Cid, 0, len(arr))
		for i, bv := range arr {
			c, isLink := bv.(cid.Cid)
			if !isLink {
				f.fail(fmt.Sprintf("blobs[%d]", i), "not a link")
			}
			e.Blobs = append(e.Blobs, c)
		}
	}
	e.Extra = f.extra()
	return e
}

func opFromValue(f *fields, i int, v any) RepoOp {
	name := func(field string) string { return fmt.Sprintf("ops[%d].%s", i, field) }
	m, ok := v.(map[string]any)
	if !ok {
		f.fail(fmt.Sprintf("ops[%d]", i), "not a map")
		return RepoOp{}
	}
	var op RepoOp
	known := 0
	if a, ok := m["action"].(string); ok {
		known++
		switch Action(a) {
		case ActionCreate, ActionUpdate, ActionDelete:
			op.Action = Action(a)
		default:
			f.fail(name("action"), "%q is not create, update or delete", a)
		}
	} else {
		f.fail(name("action"), "missing or not a string")
	}
	if p, ok := m["path"].(string); ok {
		known++
		if _, _, err := repo.ParseRecordPath(p); err != nil {
			f.fail(name("path"), "%q is not a record path", p)
		}
		op.Path = p
	} else {
		f.fail(name("path"), "missing or not a string")
	}
	if cv, ok := m["cid"]; !ok {
		f.fail(name("cid"), "missing (it may be null, not absent)")
	} else {
		known++
		if cv != nil {
			c, isLink := cv.(cid.Cid)
			if !isLink {
				f.fail(name("cid"), "neither a link nor null")
			}
			op.CID = c
		}
	}
	if pv, ok := m["prev"]; ok {
		known++
		c, isLink := pv.(cid.Cid)
		if !isLink {
			f.fail(name("prev"), "not a link")
		}
		op.Prev = c
	}
	if known != len(m) {
		f.fail(fmt.Sprintf("ops[%d]", i), "fields other than action, path, cid and prev")
	}
	return op
}

// bodyOf gives the header op and type and the body map of ev, in the
// form dagcbor.Encode and dagcbor.ToJSON take.
func bodyOf(ev Event) (op int64, t string, body map[string]any, err error) {
	m := map[string]any{}
	put := func(extra map[string]any) {
		for k, v := range extra {
			m[k] = v
		}
	}
	switch e := ev.(type) {
	case *Commit:
		put(e.Extra)
		m["seq"] = e.Seq
		m["rebase"] = e.Rebase
		m["tooBig"] = e.TooBig
		m["repo"] = e.Repo.String()
		if !e.Commit.Defined() {
			return 0, "", nil, &FieldError{Type: TypeCommit, Field: "commit", Msg: "undefined CID"}
		}
		m["commit"] = e.Commit
		m["rev"] = e.Rev.String()
		if e.Since != nil {
			m["since"] = *e.Since
		} else {
			m["since"] = nil
		}
		m["blocks"] = nonNilBytes(e.Blocks)
		ops := make([]any, len(e.Ops))
		for i, o := range e.Ops {
			om := map[string]any{"action": string(o.Action), "path": o.Path, "cid": nil}
			if o.CID.Defined() {
				om["cid"] = o.CID
			}
			if o.Prev.Defined() {
				om["prev"] = o.Prev
			}
			ops[i] = om
		}
		m["ops"] = ops
		blobs := make([]any, len(e.Blobs))
		for i, b := range e.Blobs {
			if !b.Defined() {
				return 0, "", nil, &FieldError{Type: TypeCommit, Field: fmt.Sprintf("blobs[%d]", i), Msg: "undefined CID"}
			}
			blobs[i] = b
		}
		m["blobs"] = blobs
		if e.PrevData.Defined() {
			m["prevData"] = e.PrevData
		}
		m["time"] = e.Time
		return OpMessage, TypeCommit, m, nil
	case *Identity:
		put(e.Extra)
		m["seq"], m["did"], m["time"] = e.Seq, e.DID.String(), e.Time
		if e.Handle != "" {
			m["handle"] = e.Handle
		}
		return OpMessage, TypeIdentity, m, nil
	case *Account:
		put(e.Extra)
		m["seq"], m["did"], m["time"], m["active"] = e.Seq, e.DID.String(), e.Time, e.Active
		if e.Status != "" {
			m["status"] = e.Status
		}
		return OpMessage, TypeAccount, m, nil
	case *Sync:
		put(e.Extra)
		m["seq"], m["did"], m["blocks"], m["rev"], m["time"] = e.Seq, e.DID.String(), nonNilBytes(e.Blocks), e.Rev.String(), e.Time
		return OpMessage, TypeSync, m, nil
	case *Info:
		put(e.Extra)
		m["name"] = e.Name
		if e.Message != nil {
			m["message"] = *e.Message
		}
		return OpMessage, TypeInfo, m, nil
	case *ErrorFrame:
		put(e.Extra)
		m["error"] = e.Name
		if e.Message != nil {
			m["message"] = *e.Message
		}
		return OpError, "", m, nil
	case *Unknown:
		switch e.T {
		case "", TypeCommit, TypeIdentity, TypeAccount, TypeSync, TypeInfo:
			return 0, "", nil, &FieldError{Field: "header.t", Msg: fmt.Sprintf("Unknown event with type %q", e.T)}
		}
		put(e.Body)
		return OpMessage, e.T, m, nil
	case nil:
		return 0, "", nil, fmt.Errorf("%w: nil event", ErrBadFrame)
	default:
		return 0, "", nil, fmt.Errorf("%w: cannot encode %T", ErrBadFrame, ev)
	}
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
