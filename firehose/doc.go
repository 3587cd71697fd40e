// Package firehose reads and writes the AT Protocol event stream,
// com.atproto.sync.subscribeRepos, and checks what it carries.
//
// # Frames
//
// Each WebSocket binary message is one frame: two DAG-CBOR objects written
// back to back, a header and a body. The header of a message is {t, op: 1},
// t naming the body's type ("#commit", "#identity", "#account", "#sync",
// "#info"); an error frame has the header {op: -1} and the body {error,
// message?}, after which the server closes the stream. DecodeFrame is strict:
// both objects must be strict DAG-CBOR (dagcbor rules), the header must have
// exactly those fields, every body field the lexicon requires must be there
// with the right type and syntax (DIDs, TIDs, datetimes, record paths,
// handles), and nullable fields (a commit's since, an op's cid) must be
// present. Fields it does not know are kept in Extra (old producers still
// send the deprecated commit "prev"), so that EncodeFrame gives back the
// frame byte for byte: EncodeFrame writes canonical DAG-CBOR, and a decoded
// frame's fields, absent or null, are remembered (Since nil is null,
// PrevData cid.Undef is absent, an op's CID cid.Undef is null and its Prev
// cid.Undef absent). Unknown message types decode as *Unknown.
//
// MarshalJSON and DecodeJSON use the atproto JSON form of a frame,
// {"header", "body"}, with $link and $bytes, as relay test vectors do.
//
// # Verifying a commit (sync v1.1)
//
// A #commit carries, in blocks, a CAR slice: the signed commit, the new
// records, the MST nodes the commit created and the covering proof: the
// nodes a consumer needs to undo the operations on the new tree. Each op
// names its path, its new cid (null for a delete) and, in sync v1.1, its
// previous cid (prev, for updates and deletes); prevData is the MST root of
// the previous commit. VerifyCommit checks the commit (present, strict,
// DID and rev as the event says, signature), the ops (well formed, records
// present), and inverts the ops on the new tree from the carried blocks
// alone: creates are deleted, updates and deletes put prev back, and the
// root reached must be prevData. An event without prevData (sync 1.0,
// or the repository's first commit) cannot be inverted; VerifyCommit then
// checks that the new tree reflects each op and reports the inversion as
// skipped. Every failure is its own error in Verification.Problems.
//
// # The stream as a whole
//
// Chain checks what one event cannot show alone: seq strictly increases;
// per repository the rev increases and since and prevData link each commit
// to the previous one; commits of inactive accounts are refused.
//
// # Subscribing
//
// Subscribe is a WebSocket client (github.com/coder/websocket). #info frames
// (OutdatedCursor) are events; error frames end the subscription with
// an *ErrorFrame error (errors.Is ErrFutureCursor, ErrConsumerTooSlow);
// a message that does not decode is handed over as *Malformed.
//
// Nothing in this package prints, exits or keeps package-level state.
package firehose
