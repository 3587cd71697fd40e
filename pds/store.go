package pds

import (
	"context"
	"errors"
	"time"

	"github.com/ipfs/go-cid"
)

// Store errors. Implementations wrap them so callers can use errors.Is.
var (
	// ErrNotStored: no such account, record, block, blob or DID.
	ErrNotStored = errors.New("not found")
	// ErrConflict: a unique value (handle, email, DID) is taken.
	ErrConflict = errors.New("already exists")
	// ErrStaleHead: a commit was built on a head that is no longer the
	// account's head.
	ErrStaleHead = errors.New("repository head moved")
)

// Account is one hosted account.
type Account struct {
	DID          string
	Handle       string
	Email        string
	PasswordHash []byte
	SigningKey   string // private key, multibase
	CreatedAt    time.Time
	Active       bool
	Head         cid.Cid // latest commit (cid.Undef before the first)
	Rev          string  // its rev
	// EmailConfirmedAt is when the email address was confirmed (zero:
	// not confirmed).
	EmailConfirmedAt time.Time
}

// Block is one block of a repository.
type Block struct {
	CID  cid.Cid
	Data []byte
}

// RecordChange updates the record index: CID cid.Undef deletes the path.
type RecordChange struct {
	Collection string
	Rkey       string
	CID        cid.Cid
}

// Op is one record operation of a commit, as a firehose #commit lists it.
type Op struct {
	Action string  `json:"action"` // create, update, delete
	Path   string  `json:"path"`
	CID    cid.Cid `json:"-"` // new value; Undef for a delete
	Prev   cid.Cid `json:"-"` // old value; Undef for a create
}

// CommitWrite is everything one commit changes, applied atomically by
// Store.ApplyCommit.
type CommitWrite struct {
	DID        string
	PrevHead   cid.Cid // the head the commit was built on (Undef: none)
	Commit     cid.Cid
	Rev        string
	Since      string // the previous rev ("" for the first commit)
	Blocks     []Block
	Removed    []cid.Cid // MST nodes and the old commit, no longer in the repo
	Unlinked   []cid.Cid // record CIDs that lost a path: removed unless another path holds them
	Records    []RecordChange
	ReplaceAll bool // import: drop every block and record of the repo first
	Ops        []Op
	EventCAR   []byte // CAR of the commit and its new blocks, kept in the seq row
	TooBig     bool   // too many ops for an event: Ops and EventCAR are left empty
	Time       time.Time
}

// RecordRef is one row of the record index.
type RecordRef struct {
	Collection string
	Rkey       string
	CID        cid.Cid
}

// BlobMeta describes a stored blob.
type BlobMeta struct {
	CID       cid.Cid
	MimeType  string
	Size      int64
	CreatedAt time.Time
}

// PLCEntry is one operation of the embedded directory's log for a DID.
type PLCEntry struct {
	CID       string
	Operation []byte // the operation's JSON
	Nullified bool
	CreatedAt time.Time
}

// SeqEvent is one row of the sequence (the future firehose).
type SeqEvent struct {
	Seq    int64
	DID    string
	Kind   string // "commit", "identity", "account", "account:deactivated"
	Commit cid.Cid
	Rev    string
	Since  string
	Ops    []Op
	CAR    []byte
	TooBig bool
	Handle string
	Time   time.Time
}

// Store is the server's persistent state. Every method is safe for
// concurrent use.
type Store interface {
	// Meta: small server-wide values (secrets, keys).
	Meta(ctx context.Context, key string) ([]byte, error) // ErrNotStored when unset
	SetMeta(ctx context.Context, key string, val []byte) error

	// CreateAccount adds an account with its first commit and its identity
	// event, atomically. ErrConflict when the DID, handle or email is taken.
	CreateAccount(ctx context.Context, a *Account, first *CommitWrite) error
	AccountByDID(ctx context.Context, did string) (*Account, error)
	AccountByHandle(ctx context.Context, handle string) (*Account, error)
	AccountByEmail(ctx context.Context, email string) (*Account, error)
	// ListAccounts lists accounts by DID after the given one.
	ListAccounts(ctx context.Context, after string, limit int) ([]*Account, error)
	// SetPassword replaces an account's password hash.
	SetPassword(ctx context.Context, did string, hash []byte) error
	// SetHandle changes an account's handle and records an identity event.
	SetHandle(ctx context.Context, did, handle string, now time.Time) error

	// ApplyCommit applies one commit atomically; ErrStaleHead when the
	// account's head is not w.PrevHead.
	ApplyCommit(ctx context.Context, w *CommitWrite) error
	Block(ctx context.Context, did string, c cid.Cid) ([]byte, error)
	// Blocks calls fn with the account's blocks added after rev since ("":
	// all), the newest first.
	Blocks(ctx context.Context, did, since string, fn func(c cid.Cid, data []byte) error) error
	Record(ctx context.Context, did, collection, rkey string) (cid.Cid, error)
	// ListRecords lists one collection by rkey, descending unless
	// ascending, starting after cursor ("": from the start).
	ListRecords(ctx context.Context, did, collection, cursor string, limit int, ascending bool) ([]RecordRef, error)
	Collections(ctx context.Context, did string) ([]string, error)

	PutBlobMeta(ctx context.Context, did string, b BlobMeta) error
	BlobMeta(ctx context.Context, did string, c cid.Cid) (*BlobMeta, error)
	ListBlobs(ctx context.Context, did, cursor string, limit int) ([]cid.Cid, error)

	// Refresh tokens, app passwords and mailed tokens (session.go).
	sessionStore
	// Preferences (preferences.go).
	preferenceStore
	// Account deletion (delete_account.go).
	deletionStore
	// Invite codes (invites.go).
	inviteStore

	PLCLog(ctx context.Context, did string) ([]PLCEntry, error) // ErrNotStored: unknown DID
	// SetPLCLog replaces a DID's log (appending may nullify entries).
	SetPLCLog(ctx context.Context, did string, log []PLCEntry) error

	// Events lists seq rows after seq, at most limit.
	Events(ctx context.Context, after int64, limit int) ([]SeqEvent, error)

	Close() error
}
