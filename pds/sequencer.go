package pds

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The sequencer is the live side of com.atproto.sync.subscribeRepos.
//
// Every event is first a row of the seq table, written in the same SQL
// transaction as the change it reports (see the package documentation), so
// the table is the one source of truth: seq numbers come from SQLite
// (AUTOINCREMENT, gapless because write transactions are serialised and a
// rolled back insert gives its number back) and survive restarts.
//
// One goroutine, the pump, reads the rows after the last one it handed out,
// turns each into a frame once, and offers the frame to every live
// subscriber. It is woken by the store decorator (sequencedStore) after each
// write that adds rows, and polls once a second in case a wake-up was
// missed. Because SQLite commits writers one at a time, the rows visible
// after a commit are always a prefix of the sequence: the pump never skips a
// number.
//
// A subscriber has a bounded queue, in events and in bytes. The pump never
// waits on it: when it is full the subscriber is dropped (its lost channel
// closed) and the connection ends with a ConsumerTooSlow error frame, so a
// slow consumer costs writers and other consumers nothing. Frames are
// shared by every queue, and each queue holds the newest events, so
// however many subscribers lag, the frames they keep alive together are
// at most one queue's byte limit (and the frame each is writing). The
// queue grows as needed: an idle subscriber costs a few hundred bytes.
//
// A replay reads the store in pages bounded in rows and in bytes
// (replayPageBytes), and lets go of each row once its frame is built, so a
// consumer that never reads holds at most a page and one frame until its
// write times out (writeTimeout) and it is disconnected. The number of
// connections serving subscribeRepos is capped (Config.MaxSubscribers);
// over the cap the upgrade is refused with 503.
//
// A subscriber with a cursor registers for live events first, remembering
// the last seq handed out at that moment, then replays the rows after the
// cursor from the store until it has caught up, then drains its channel,
// skipping every seq it already sent: no gap, no duplicate. If its channel
// overflows while it is still replaying (the replay paces itself), it
// registers again and keeps replaying from the store.

// Defaults and limits of the firehose.
const (
	// DefaultFirehoseBuffer is how many events a subscriber may have
	// waiting before it is disconnected with ConsumerTooSlow.
	DefaultFirehoseBuffer = 4096
	// DefaultFirehoseBufferBytes is how many bytes of frames a subscriber
	// may have waiting before it is disconnected with ConsumerTooSlow.
	DefaultFirehoseBufferBytes = 16 << 20
	// DefaultMaxSubscribers caps the subscribeRepos connections.
	DefaultMaxSubscribers = 1000
	// replayPageBytes bounds the bytes of seq rows one replay page holds
	// (besides eventPage rows); pumpPageBytes the pump's pages.
	replayPageBytes = 64 << 10
	pumpPageBytes   = 4 << 20
	// eventPage is how many seq rows one store read returns.
	eventPage = 500
	// pumpPages bounds the pages one wake-up of the pump reads; it pokes
	// itself to go on.
	pumpPages = 64
	// sequencerPoll is how often the pump looks for rows without being
	// woken.
	sequencerPoll = time.Second
	// trimEvery is how often rows older than the window are removed.
	trimEvery = time.Minute
	// writeTimeout bounds one frame write to a subscriber.
	writeTimeout = 15 * time.Second
	// maxReplayRounds bounds how often a replaying subscriber whose live
	// buffer overflowed registers again before it is called too slow.
	maxReplayRounds = 64
)

// errSequencerClosed: the server is shutting down.
var errSequencerClosed = errors.New("firehose: server is closing")

// eventLog is what the sequencer needs of a store besides Store.Events:
// the first and last seq kept, and removing old rows.
type eventLog interface {
	// EventBounds returns the oldest and newest seq in the table (0, 0
	// when it is empty).
	EventBounds(ctx context.Context) (oldest, newest int64, err error)
	// TrimEvents removes rows older than before, always keeping the newest
	// row; it returns how many it removed.
	TrimEvents(ctx context.Context, before time.Time) (int64, error)
	// EventPage is Store.Events stopping once the rows' CARs reach
	// maxBytes (at least one row).
	EventPage(ctx context.Context, after int64, limit, maxBytes int) ([]SeqEvent, error)
}

// errTooManySubscribers: the cap of subscribeRepos connections is reached.
var errTooManySubscribers = errors.New("firehose: too many subscribers")

// liveEvent is one frame the pump hands to subscribers.
type liveEvent struct {
	seq   int64
	frame []byte
}

// subscriber is one live registration: a queue of frames bounded by
// maxEvents and maxBytes.
type subscriber struct {
	lost  chan struct{} // closed when the pump dropped it for a full queue
	ready chan struct{} // signalled (without waiting) when an event is queued

	maxEvents, maxBytes int

	mu    sync.Mutex
	queue []liveEvent
	bytes int // of the frames in queue
}

// offer queues ev, or reports false when the queue is full. A frame bigger
// than the byte limit is taken when the queue is empty.
func (sub *subscriber) offer(ev liveEvent) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if len(sub.queue) >= sub.maxEvents || len(sub.queue) > 0 && sub.bytes+len(ev.frame) > sub.maxBytes {
		return false
	}
	sub.queue = append(sub.queue, ev)
	sub.bytes += len(ev.frame)
	select {
	case sub.ready <- struct{}{}:
	default:
	}
	return true
}

// next takes the oldest queued event.
func (sub *subscriber) next() (liveEvent, bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if len(sub.queue) == 0 {
		return liveEvent{}, false
	}
	ev := sub.queue[0]
	sub.queue[0] = liveEvent{}
	sub.queue = sub.queue[1:]
	if len(sub.queue) == 0 {
		sub.queue = nil // let the backing array go
	}
	sub.bytes -= len(ev.frame)
	return ev, true
}

// queued is the number of events and bytes waiting.
func (sub *subscriber) queued() (int, int) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return len(sub.queue), sub.bytes
}

// sequencer fans the seq table out to subscribers (see above).
type sequencer struct {
	store       Store
	log         eventLog
	now         func() time.Time
	buffer      int // events a subscriber may have waiting
	bufferBytes int // bytes of frames a subscriber may have waiting
	maxConns    int // subscribeRepos connections served at once
	replayBytes int // bytes of rows in one replay page
	window      time.Duration

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	wake   chan struct{}
	done   chan struct{}
	conns  sync.WaitGroup // serving subscribers

	mu      sync.Mutex
	last    int64 // the newest seq handed to subscribers
	subs    map[*subscriber]struct{}
	serving int // subscribeRepos connections (enter, leave)
	stopped bool
	tooSlow int   // subscribers dropped for a full buffer
	refused int   // connections refused over maxConns
	badRows int   // rows that could not be turned into frames
	lastErr error // the last error of the pump (read or frame)
	// High-water marks of what one subscriber held: queued events and
	// bytes, and the bytes of rows in one replay page.
	peakQueued, peakQueuedBytes, peakReplayBytes int
}

// newSequencer starts the pump over st, from the newest row it holds.
func newSequencer(st Store, cfg Config) (*sequencer, error) {
	log, ok := st.(eventLog)
	if !ok {
		return nil, fmt.Errorf("firehose: store %T does not expose its event window", st)
	}
	_, newest, err := log.EventBounds(context.Background())
	if err != nil {
		return nil, fmt.Errorf("firehose: reading the last seq: %w", err)
	}
	q := &sequencer{
		store: st, log: log, now: cfg.Now, window: cfg.FirehoseWindow,
		buffer: cfg.FirehoseBuffer, bufferBytes: cfg.FirehoseBufferBytes, maxConns: cfg.MaxSubscribers,
		replayBytes: replayPageBytes,
		wake:        make(chan struct{}, 1), done: make(chan struct{}),
		last: newest, subs: map[*subscriber]struct{}{},
	}
	setDefault(&q.buffer, DefaultFirehoseBuffer)
	setDefault(&q.bufferBytes, DefaultFirehoseBufferBytes)
	setDefault(&q.maxConns, DefaultMaxSubscribers)
	if q.now == nil {
		q.now = time.Now
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	go q.run()
	return q, nil
}

// wrap returns st as the server uses it: commits get their firehose form
// before they are saved, and the pump is woken after every write that adds
// seq rows.
func (q *sequencer) wrap(st Store) Store {
	return sequencedStore{Store: st, wake: q.poke, cache: newBlockCache()}
}

// poke wakes the pump without waiting.
func (q *sequencer) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *sequencer) run() {
	defer close(q.done)
	poll := time.NewTicker(sequencerPoll)
	defer poll.Stop()
	var trim <-chan time.Time
	if q.window > 0 {
		t := time.NewTicker(trimEvery)
		defer t.Stop()
		trim = t.C
		q.trim()
	}
	for {
		select {
		case <-q.ctx.Done():
			return
		case <-q.wake:
		case <-poll.C:
		case <-trim:
			q.trim()
		}
		q.pump()
	}
}

// pump hands every row after the last one handed out to the subscribers.
func (q *sequencer) pump() {
	for range pumpPages {
		q.mu.Lock()
		after := q.last
		q.mu.Unlock()
		evs, err := q.log.EventPage(q.ctx, after, eventPage, pumpPageBytes)
		if err != nil {
			if q.ctx.Err() == nil {
				q.noteErr(fmt.Errorf("firehose: reading events after %d: %w", after, err), false)
			}
			return
		}
		size := 0
		for i := range evs {
			size += len(evs[i].CAR)
			frame, err := eventFrame(&evs[i])
			if err != nil {
				q.noteErr(err, true)
				frame = nil
			}
			q.publish(evs[i].Seq, frame)
			evs[i] = SeqEvent{}
		}
		if len(evs) < eventPage && size < pumpPageBytes {
			return // the store had no more
		}
	}
	q.poke()
}

func (q *sequencer) noteErr(err error, badRow bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.lastErr = err
	if badRow {
		q.badRows++
	}
}

// publish offers one event to every subscriber, dropping those whose
// buffer is full. A nil frame (a row that could not be encoded) only
// advances the position.
func (q *sequencer) publish(seq int64, frame []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.last = seq
	if frame == nil {
		return
	}
	ev := liveEvent{seq: seq, frame: frame}
	for sub := range q.subs {
		if !sub.offer(ev) {
			delete(q.subs, sub)
			close(sub.lost)
			q.tooSlow++
			continue
		}
		n, b := sub.queued()
		q.peakQueued, q.peakQueuedBytes = max(q.peakQueued, n), max(q.peakQueuedBytes, b)
	}
}

// subscribe registers a subscriber; from is the newest seq handed out
// before it: every later one will be offered to it.
func (q *sequencer) subscribe() (sub *subscriber, from int64, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return nil, 0, errSequencerClosed
	}
	sub = &subscriber{lost: make(chan struct{}), ready: make(chan struct{}, 1), maxEvents: q.buffer, maxBytes: q.bufferBytes}
	q.subs[sub] = struct{}{}
	return sub, q.last, nil
}

func (q *sequencer) unsubscribe(sub *subscriber) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.subs, sub)
}

// enter counts a serving connection, so that close can wait for it; it
// refuses one over maxConns (errTooManySubscribers) or while closing
// (errSequencerClosed). Each enter is matched by a leave.
func (q *sequencer) enter() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return errSequencerClosed
	}
	if q.serving >= q.maxConns {
		q.refused++
		return errTooManySubscribers
	}
	q.serving++
	q.conns.Add(1)
	return nil
}

func (q *sequencer) leave() {
	q.mu.Lock()
	q.serving--
	q.mu.Unlock()
	q.conns.Done()
}

// notePage records the bytes of rows a replay page held.
func (q *sequencer) notePage(evs []SeqEvent) {
	n := 0
	for i := range evs {
		n += len(evs[i].CAR)
	}
	q.mu.Lock()
	q.peakReplayBytes = max(q.peakReplayBytes, n)
	q.mu.Unlock()
}

// trim removes rows older than the window.
func (q *sequencer) trim() {
	if q.window <= 0 {
		return
	}
	if _, err := q.log.TrimEvents(q.ctx, q.now().Add(-q.window)); err != nil && q.ctx.Err() == nil {
		q.noteErr(fmt.Errorf("firehose: trimming events: %w", err), false)
	}
}

// sequencerStats is a snapshot of the sequencer's counters.
type sequencerStats struct {
	Last        int64
	Subscribers int // live registrations
	Serving     int // subscribeRepos connections
	TooSlow     int
	Refused     int
	BadRows     int
	LastErr     error
	// The most one subscriber held: events and bytes queued, bytes of
	// rows in a replay page.
	PeakQueued, PeakQueuedBytes, PeakReplayBytes int
}

func (q *sequencer) stats() sequencerStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return sequencerStats{
		Last: q.last, Subscribers: len(q.subs), Serving: q.serving, TooSlow: q.tooSlow, Refused: q.refused,
		BadRows: q.badRows, LastErr: q.lastErr,
		PeakQueued: q.peakQueued, PeakQueuedBytes: q.peakQueuedBytes, PeakReplayBytes: q.peakReplayBytes,
	}
}

// close stops the pump, ends every subscription and waits (boundedly) for
// the connections to finish.
func (q *sequencer) close() {
	q.mu.Lock()
	if q.stopped {
		q.mu.Unlock()
		return
	}
	q.stopped = true
	q.mu.Unlock()
	q.cancel()
	<-q.done
	waited := make(chan struct{})
	go func() {
		q.conns.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
	}
}

// sequencedStore is the server's Store with the firehose attached: before
// a commit is saved its seq row gets the commit's firehose form
// (prepareCommitEvent), and after any write that adds seq rows the pump is
// woken.
type sequencedStore struct {
	Store
	wake  func()
	cache *blockCache
}

func (s sequencedStore) CreateAccount(ctx context.Context, a *Account, first *CommitWrite) error {
	if first != nil {
		if err := prepareCommitEvent(ctx, s.Store, s.cache, first); err != nil {
			return err
		}
	}
	err := s.Store.CreateAccount(ctx, a, first)
	if err == nil {
		s.wake()
	}
	return err
}

func (s sequencedStore) SetHandle(ctx context.Context, did, handle string, now time.Time) error {
	err := s.Store.SetHandle(ctx, did, handle, now)
	if err == nil {
		s.wake()
	}
	return err
}

func (s sequencedStore) ApplyCommit(ctx context.Context, w *CommitWrite) error {
	if err := prepareCommitEvent(ctx, s.Store, s.cache, w); err != nil {
		return err
	}
	err := s.Store.ApplyCommit(ctx, w)
	if err == nil {
		s.wake()
	}
	return err
}
