package pds

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/coder/websocket"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/firehose"
	"github.com/arbor-atproto/arbor/mst"
	"github.com/arbor-atproto/arbor/repo"
)

// This file is com.atproto.sync.subscribeRepos: what a commit's seq row
// keeps, how a row becomes a frame, and one subscriber's connection.
//
// # What a commit's seq row keeps
//
// Before a commit is saved, prepareCommitEvent builds its sync v1.1 #commit
// with firehose.CommitEvent from the old and the new tree (the old one is
// still in the store: the write holds the repository's lock and has not
// been applied): ops as the difference of the trees, sorted, with prev for
// updates and deletes; blocks holding the commit, the created MST nodes,
// the covering proof and the new records. The row keeps those ops and that
// CAR, with one addition: the CAR header lists prevData (the previous
// commit's MST root) as a second root, since the seq table has no column
// for it. eventFrame takes it out again, so the frame's CAR has the commit
// as its only root. The repository's first commit has no prevData.
//
// An import (importRepo replaces the whole repository), or a commit whose
// event would be over the limits (more than maxEventOps ops or
// maxEventBlocks bytes of blocks), is kept as a too-big row whose CAR holds
// the commit block alone, and is sent as #sync: the repository is to be
// taken as it is at that commit, as sync v1.1 asks instead of tooBig.

// maxEventBlocks is the largest blocks CAR a #commit carries (the lexicon's
// limit); a bigger commit is sent as #sync.
const maxEventBlocks = 2_000_000

// frameTime is the atproto datetime form of event times.
const frameTime = "2006-01-02T15:04:05.000Z"

// prepareCommitEvent sets w.Ops and w.EventCAR (and w.TooBig) to the
// firehose form of the commit, reading the previous commit and the old
// tree's nodes from st.
func prepareCommitEvent(ctx context.Context, st Store, cache *blockCache, w *CommitWrite) error {
	fresh := make(mst.MapSource, len(w.Blocks))
	for _, b := range w.Blocks {
		fresh[b.CID] = b.Data
	}
	// The new nodes and commit are the next commit's old ones.
	defer cache.putAll(w.Blocks)
	cb, ok := fresh[w.Commit]
	if !ok {
		return fmt.Errorf("firehose event of %s: commit block %s is not among the new blocks", w.DID, w.Commit)
	}
	commit, err := repo.DecodeCommit(cb)
	if err != nil {
		return fmt.Errorf("firehose event of %s: commit %s: %w", w.DID, w.Commit, err)
	}
	if w.ReplaceAll {
		return syncEvent(w, cb)
	}
	oldRoot := cid.Undef
	src := layeredSource{fresh, cache, storeSource{ctx: ctx, store: st, did: w.DID}}
	if w.PrevHead.Defined() {
		pb, err := src.Get(w.PrevHead)
		if err != nil {
			return fmt.Errorf("firehose event of %s: previous commit %s: %w", w.DID, w.PrevHead, err)
		}
		prev, err := repo.DecodeCommit(pb)
		if err != nil {
			return fmt.Errorf("firehose event of %s: previous commit %s: %w", w.DID, w.PrevHead, err)
		}
		oldRoot = prev.Data
	}
	var since *string
	if w.Since != "" {
		since = &w.Since
	}
	ev, err := firehose.CommitEvent(src, oldRoot, commit, since)
	if err != nil {
		return fmt.Errorf("firehose event of %s commit %s: %w", w.DID, w.Commit, err)
	}
	if len(ev.Ops) > maxEventOps || len(ev.Blocks) > maxEventBlocks {
		return syncEvent(w, cb)
	}
	ops := make([]Op, len(ev.Ops))
	for i, o := range ev.Ops {
		ops[i] = Op{Action: string(o.Action), Path: o.Path, CID: o.CID, Prev: o.Prev}
	}
	if oldRoot.Defined() {
		if ev.Blocks, err = setCARRoots(ev.Blocks, []cid.Cid{w.Commit, oldRoot}); err != nil {
			return err
		}
	} else if ev.Blocks, err = blocksCAR(w.Commit, w.Blocks); err != nil {
		// The first commit: the whole tree is new, and a consumer needs
		// all of it to see that each op is there.
		return err
	}
	w.Ops, w.EventCAR, w.TooBig = ops, ev.Blocks, false
	return nil
}

// syncEvent makes w's row a #sync: no ops, a CAR with the commit alone.
func syncEvent(w *CommitWrite, commitBlock []byte) error {
	b, err := blocksCAR(w.Commit, []Block{{CID: w.Commit, Data: commitBlock}})
	if err != nil {
		return err
	}
	w.Ops, w.EventCAR, w.TooBig = nil, b, true
	return nil
}

// blocksCAR writes blocks (each once) as a CAR rooted at root.
func blocksCAR(root cid.Cid, blocks []Block) ([]byte, error) {
	var buf bytes.Buffer
	cw, err := car.NewWriter(&buf, []cid.Cid{root})
	if err != nil {
		return nil, err
	}
	seen := make(map[cid.Cid]bool, len(blocks))
	for _, b := range blocks {
		if seen[b.CID] {
			continue
		}
		seen[b.CID] = true
		if err := cw.Put(b.CID, b.Data); err != nil {
			return nil, err
		}
	}
	if err := cw.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// layeredSource reads the new blocks first, then recent ones, then the
// store.
type layeredSource struct {
	fresh mst.MapSource
	cache *blockCache
	store storeSource
}

func (l layeredSource) Get(c cid.Cid) ([]byte, error) {
	if b, ok := l.fresh[c]; ok {
		return b, nil
	}
	if b, ok := l.cache.get(c); ok {
		return b, nil
	}
	b, err := l.store.Get(c)
	if err == nil {
		l.cache.put(c, b)
	}
	return b, err
}

// blockCache keeps recent small blocks (MST nodes, commits) by CID, so that
// building a commit's event rarely reads the store: the nodes a diff walks
// on the old side were mostly made by the commits just before. Blocks are
// content-addressed, so an entry is never stale; the oldest entry makes
// room for a new one.
type blockCache struct {
	mu   sync.Mutex
	m    map[cid.Cid][]byte
	ring []cid.Cid
	next int
}

// Bounds of the block cache: entries, and the largest block kept.
const (
	blockCacheEntries = 8192
	blockCacheMaxSize = 4096
)

func newBlockCache() *blockCache {
	return &blockCache{m: make(map[cid.Cid][]byte, blockCacheEntries), ring: make([]cid.Cid, blockCacheEntries)}
}

func (c *blockCache) get(k cid.Cid) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[k]
	return b, ok
}

func (c *blockCache) put(k cid.Cid, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, b)
}

func (c *blockCache) putLocked(k cid.Cid, b []byte) {
	if len(b) > blockCacheMaxSize {
		return
	}
	if _, ok := c.m[k]; ok {
		return
	}
	if old := c.ring[c.next]; old.Defined() {
		delete(c.m, old)
	}
	c.ring[c.next] = k
	c.m[k] = b
	c.next = (c.next + 1) % len(c.ring)
}

func (c *blockCache) putAll(blocks []Block) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range blocks {
		c.putLocked(b.CID, b.Data)
	}
}

// splitCAR returns a CAR's roots and the offset where its blocks start.
func splitCAR(b []byte) ([]cid.Cid, int, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, 0, fmt.Errorf("%w: bad header length", car.ErrBadHeader)
	}
	end := k + int(n)
	r, err := car.NewReader(bytes.NewReader(b[:end]))
	if err != nil {
		return nil, 0, err
	}
	return r.Roots(), end, nil
}

// setCARRoots gives a CAR another header.
func setCARRoots(b []byte, roots []cid.Cid) ([]byte, error) {
	_, end, err := splitCAR(b)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := car.NewWriter(&buf, roots)
	if err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	buf.Write(b[end:])
	return buf.Bytes(), nil
}

// eventFrame turns one seq row into its subscribeRepos frame.
func eventFrame(ev *SeqEvent) ([]byte, error) {
	t := ev.Time.UTC().Format(frameTime)
	did, err := syntax.ParseDID(ev.DID)
	if err != nil {
		return nil, fmt.Errorf("seq %d: event DID: %w", ev.Seq, err)
	}
	var rev syntax.TID
	if ev.Kind == "commit" {
		if rev, err = syntax.ParseTID(ev.Rev); err != nil {
			return nil, fmt.Errorf("seq %d: event rev: %w", ev.Seq, err)
		}
	}
	var out firehose.Event
	switch ev.Kind {
	case "commit":
		roots, _, err := splitCAR(ev.CAR)
		if err != nil {
			return nil, fmt.Errorf("seq %d: event CAR: %w", ev.Seq, err)
		}
		if len(roots) == 0 || len(roots) > 2 || roots[0] != ev.Commit {
			return nil, fmt.Errorf("seq %d: event CAR roots %v, want the commit %s (and prevData)", ev.Seq, roots, ev.Commit)
		}
		if ev.TooBig {
			out = &firehose.Sync{Seq: ev.Seq, DID: did, Blocks: ev.CAR, Rev: rev, Time: t}
			break
		}
		c := &firehose.Commit{
			Seq: ev.Seq, Repo: did, Commit: ev.Commit, Rev: rev, Blocks: ev.CAR,
			Ops: make([]firehose.RepoOp, len(ev.Ops)), Blobs: []cid.Cid{}, Time: t,
		}
		if ev.Since != "" {
			since := ev.Since
			c.Since = &since
		}
		if len(roots) == 2 {
			c.PrevData = roots[1]
			if c.Blocks, err = setCARRoots(ev.CAR, roots[:1]); err != nil {
				return nil, fmt.Errorf("seq %d: event CAR: %w", ev.Seq, err)
			}
		}
		for i, o := range ev.Ops {
			c.Ops[i] = firehose.RepoOp{Action: firehose.Action(o.Action), Path: o.Path, CID: o.CID, Prev: o.Prev}
		}
		out = c
	case "identity":
		out = &firehose.Identity{Seq: ev.Seq, DID: did, Time: t, Handle: ev.Handle}
	case "account":
		out = &firehose.Account{Seq: ev.Seq, DID: did, Time: t, Active: true}
	case seqKindDeactivated:
		out = &firehose.Account{Seq: ev.Seq, DID: did, Time: t, Active: false, Status: "deactivated"}
	case seqKindDeleted:
		out = &firehose.Account{Seq: ev.Seq, DID: did, Time: t, Active: false, Status: "deleted"}
	default:
		return nil, fmt.Errorf("seq %d: unknown event kind %q", ev.Seq, ev.Kind)
	}
	b, err := firehose.EncodeFrame(out)
	if err != nil {
		return nil, fmt.Errorf("seq %d: %w", ev.Seq, err)
	}
	return b, nil
}

// subscribeRepos serves com.atproto.sync.subscribeRepos: a WebSocket of
// binary frames, from the event after cursor when one is given, else from
// now on.
func (s *Server) subscribeRepos(w http.ResponseWriter, r *http.Request) (any, error) {
	var cursor *int64
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 0 {
			return nil, invalidRequest("cursor must be a non-negative integer, got %q", c)
		}
		cursor = &n
	}
	if err := s.seq.enter(); err != nil {
		if errors.Is(err, errTooManySubscribers) {
			// Before the upgrade: a plain HTTP answer a client can retry.
			w.Header().Set("Retry-After", "30")
			return nil, xerr(http.StatusServiceUnavailable, "TooManySubscribers", "the server already serves its limit of %d firehose subscribers; try again later", s.seq.maxConns)
		}
		return nil, xerr(http.StatusServiceUnavailable, "ServiceUnavailable", "the server is shutting down")
	}
	defer s.seq.leave()
	// The firehose is public data: any origin may read it, as from the
	// reference PDS. Frames are already compact; no compression.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, nil // Accept has answered the request
	}
	defer conn.CloseNow()
	ctx := conn.CloseRead(r.Context())
	s.seq.serve(ctx, conn, cursor)
	return nil, nil
}

// wsSink is where serve writes frames: a WebSocket connection.
type wsSink interface {
	Write(ctx context.Context, typ websocket.MessageType, p []byte) error
	Close(code websocket.StatusCode, reason string) error
	CloseNow() error
}

// serve runs one subscription until the consumer goes away, is too slow,
// or the server closes.
func (q *sequencer) serve(ctx context.Context, conn wsSink, cursor *int64) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(q.ctx, cancel)()
	sub, sent, err := q.subscribe()
	if err != nil {
		closeConn(conn, websocket.StatusGoingAway, "server closing")
		return
	}
	defer func() { q.unsubscribe(sub) }()
	send := func(frame []byte) error {
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		defer cancel()
		return conn.Write(wctx, websocket.MessageBinary, frame)
	}
	if cursor == nil {
		// Live only: from the newest row committed, even if the pump has
		// not handed it out yet.
		if _, newest, err := q.log.EventBounds(ctx); err == nil {
			sent = max(sent, newest)
		}
	} else {
		start, outdated, err := q.start(ctx, *cursor, sent)
		if errors.Is(err, firehose.ErrFutureCursor) {
			sendErrorFrame(conn, firehose.ErrNameFutureCursor, "Cursor in the future.")
			return
		}
		if err != nil {
			closeConn(conn, websocket.StatusInternalError, "reading the event window")
			return
		}
		if outdated {
			msg := "Requested cursor exceeded limit. Possibly missing events"
			info, err := firehose.EncodeFrame(&firehose.Info{Name: firehose.InfoOutdatedCursor, Message: &msg})
			if err != nil || send(info) != nil {
				return
			}
		}
		sent = start
		for round := 0; ; round++ {
			if sent, err = q.replay(ctx, sent, send); err != nil {
				return
			}
			if !isClosed(sub.lost) {
				break
			}
			if round == maxReplayRounds {
				sendErrorFrame(conn, firehose.ErrNameConsumerTooSlow, "Stream consumer too slow")
				return
			}
			// The live buffer overflowed while replaying: register again
			// and go on replaying from the store.
			q.unsubscribe(sub)
			if sub, _, err = q.subscribe(); err != nil {
				closeConn(conn, websocket.StatusGoingAway, "server closing")
				return
			}
		}
	}
	for {
		if isClosed(sub.lost) {
			sendErrorFrame(conn, firehose.ErrNameConsumerTooSlow, "Stream consumer too slow")
			return
		}
		if ev, ok := sub.next(); ok {
			if ev.seq <= sent {
				continue
			}
			if send(ev.frame) != nil {
				return
			}
			sent = ev.seq
			continue
		}
		select {
		case <-sub.ready:
		case <-sub.lost:
		case <-ctx.Done():
			if q.ctx.Err() != nil {
				closeConn(conn, websocket.StatusGoingAway, "server closing")
			}
			return
		}
	}
}

// start decides where a subscription with a cursor begins: after cursor,
// or (outdated) after the oldest kept row when cursor is older than the
// window. A cursor after the newest row is ErrFutureCursor. live is the
// newest seq handed out, which the table holds.
func (q *sequencer) start(ctx context.Context, cursor, live int64) (after int64, outdated bool, err error) {
	oldest, newest, err := q.log.EventBounds(ctx)
	if err != nil {
		return 0, false, err
	}
	newest = max(newest, live)
	if cursor > newest {
		return 0, false, fmt.Errorf("%w: cursor %d, newest seq %d", firehose.ErrFutureCursor, cursor, newest)
	}
	if oldest > 0 && cursor < oldest-1 {
		return oldest - 1, true, nil
	}
	return cursor, false, nil
}

// replay sends the stored rows after after, page by page (bounded in rows
// and bytes), until a page comes back short (the store had no more when it
// was read). It returns the last seq sent.
func (q *sequencer) replay(ctx context.Context, after int64, send func([]byte) error) (int64, error) {
	for {
		evs, err := q.log.EventPage(ctx, after, eventPage, q.replayBytes)
		if err != nil {
			return after, err
		}
		q.notePage(evs)
		size := 0
		for i := range evs {
			size += len(evs[i].CAR)
			frame, err := eventFrame(&evs[i])
			seq := evs[i].Seq
			evs[i] = SeqEvent{} // held no longer than its frame
			if err == nil {
				if err := send(frame); err != nil {
					return after, err
				}
			}
			after = seq
		}
		if len(evs) < eventPage && size < q.replayBytes {
			return after, nil // the store had no more
		}
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// sendErrorFrame writes an error frame and closes the connection.
func sendErrorFrame(conn wsSink, name, msg string) {
	frame, err := firehose.EncodeFrame(&firehose.ErrorFrame{Name: name, Message: &msg})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = conn.Write(ctx, websocket.MessageBinary, frame)
		cancel()
	}
	if err != nil {
		conn.CloseNow()
		return
	}
	closeConn(conn, websocket.StatusPolicyViolation, name)
}

// closeConn closes politely, waiting at most a second for the peer.
func closeConn(conn wsSink, code websocket.StatusCode, reason string) {
	done := make(chan struct{})
	go func() {
		conn.Close(code, reason)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		conn.CloseNow()
	}
}
