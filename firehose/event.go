package firehose

import (
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"
)

// Message types, the header's t field.
const (
	TypeCommit   = "#commit"
	TypeIdentity = "#identity"
	TypeAccount  = "#account"
	TypeSync     = "#sync"
	TypeInfo     = "#info"
)

// Header op values.
const (
	OpMessage = 1
	OpError   = -1
)

// Names the protocol gives #info and error frames.
const (
	InfoOutdatedCursor     = "OutdatedCursor"
	ErrNameFutureCursor    = "FutureCursor"
	ErrNameConsumerTooSlow = "ConsumerTooSlow"
)

// Event is one frame of com.atproto.sync.subscribeRepos: *Commit,
// *Identity, *Account, *Sync, *Info, *ErrorFrame or *Unknown. Subscribe
// also hands over *Malformed for frames that do not decode.
type Event interface {
	// Type is the header's t ("#commit", ...); "" for an error frame.
	Type() string
	// Sequence is the event's seq; ok is false for frames without one
	// (#info, errors, unknown types, malformed frames).
	Sequence() (seq int64, ok bool)
}

// Action is what a #commit operation did to a record path.
type Action string

// Actions of a RepoOp.
const (
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
)

// RepoOp is one record operation of a #commit.
type RepoOp struct {
	Action Action
	Path   string  // collection/rkey
	CID    cid.Cid // the new record; cid.Undef (encoded as null) for a delete
	// Prev is the record's previous CID, for updates and deletes (sync
	// v1.1); cid.Undef means the field is absent.
	Prev cid.Cid
}

// Commit is a #commit event: a new signed commit of one repository.
type Commit struct {
	Seq    int64
	Rebase bool // deprecated, always false
	TooBig bool // deprecated, always false in sync v1.1
	Repo   syntax.DID
	Commit cid.Cid // the commit block's CID
	Rev    syntax.TID
	// Since is the rev of the previous commit; nil is encoded as null
	// (the repository's first commit).
	Since  *string
	Blocks []byte // a CAR v1 slice: the commit, new MST nodes and records, and the covering proof
	Ops    []RepoOp
	Blobs  []cid.Cid
	// PrevData is the MST root of the previous commit (sync v1.1);
	// cid.Undef means the field is absent (first commit, or a sync 1.0
	// producer).
	PrevData cid.Cid
	Time     string
	// Extra holds body fields this package does not know (such as the
	// deprecated "prev"), as generic DAG-CBOR values, so that a decoded
	// frame encodes back to the same bytes.
	Extra map[string]any
}

// Identity is an #identity event: the account's identity (handle, DID
// document) may have changed.
type Identity struct {
	Seq    int64
	DID    syntax.DID
	Time   string
	Handle string // "" when absent
	Extra  map[string]any
}

// Account is an #account event: the account's hosting status changed.
type Account struct {
	Seq    int64
	DID    syntax.DID
	Time   string
	Active bool
	Status string // "" when absent; takendown, suspended, deleted, deactivated, ...
	Extra  map[string]any
}

// Sync is a #sync event: the repository's current commit, to be taken as
// it is (the stream may have skipped changes).
type Sync struct {
	Seq    int64
	DID    syntax.DID
	Blocks []byte // a CAR v1 slice holding the signed commit
	Rev    syntax.TID
	Time   string
	Extra  map[string]any
}

// Info is an #info frame: a notice from the server that does not end the
// stream (OutdatedCursor).
type Info struct {
	Name    string
	Message *string // nil when absent
	Extra   map[string]any
}

// ErrorFrame is an error frame (header op -1): the server ends the stream.
// It is an error; errors.Is matches ErrFutureCursor and ErrConsumerTooSlow
// by name.
type ErrorFrame struct {
	Name    string  // the body's "error" field: FutureCursor, ConsumerTooSlow, ...
	Message *string // nil when absent
	Extra   map[string]any
}

// Unknown is a message whose type this package does not know (legacy
// #handle, #migrate, #tombstone, or a newer type). Body is the decoded body.
type Unknown struct {
	T    string
	Body map[string]any
}

// Malformed is a frame that did not decode. DecodeFrame never returns it;
// Subscribe hands it to its callback so that a consumer can report the frame
// and go on.
type Malformed struct {
	Raw []byte
	Err error
}

func (*Commit) Type() string     { return TypeCommit }
func (*Identity) Type() string   { return TypeIdentity }
func (*Account) Type() string    { return TypeAccount }
func (*Sync) Type() string       { return TypeSync }
func (*Info) Type() string       { return TypeInfo }
func (*ErrorFrame) Type() string { return "" }
func (u *Unknown) Type() string  { return u.T }
func (*Malformed) Type() string  { return "" }

func (e *Commit) Sequence() (int64, bool)   { return e.Seq, true }
func (e *Identity) Sequence() (int64, bool) { return e.Seq, true }
func (e *Account) Sequence() (int64, bool)  { return e.Seq, true }
func (e *Sync) Sequence() (int64, bool)     { return e.Seq, true }
func (*Info) Sequence() (int64, bool)       { return 0, false }
func (*ErrorFrame) Sequence() (int64, bool) { return 0, false }
func (*Unknown) Sequence() (int64, bool)    { return 0, false }
func (*Malformed) Sequence() (int64, bool)  { return 0, false }

// OutdatedCursor reports whether the server says the requested cursor was
// older than its window (the stream starts at the oldest event it keeps).
func (i *Info) OutdatedCursor() bool { return i.Name == InfoOutdatedCursor }

func (e *ErrorFrame) Error() string {
	s := "firehose error frame: " + e.Name
	if e.Message != nil && *e.Message != "" {
		s += ": " + *e.Message
	}
	return s
}

// Is matches ErrFutureCursor and ErrConsumerTooSlow by the frame's name.
func (e *ErrorFrame) Is(target error) bool {
	switch target {
	case ErrFutureCursor:
		return e.Name == ErrNameFutureCursor
	case ErrConsumerTooSlow:
		return e.Name == ErrNameConsumerTooSlow
	}
	return false
}

func (m *Malformed) Error() string { return "malformed frame: " + m.Err.Error() }
func (m *Malformed) Unwrap() error { return m.Err }
