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
// A subscriber has a bounded channel. The pump never waits on it: when it is
// full the subscriber is dropped (its lost channel closed) and the
// connection ends with a ConsumerTooSlow error frame, so a slow consumer
// costs writers and other consumers nothing.
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
}

// liveEvent is one frame the pump hands to subscribers.
type liveEvent struct {
	seq   int64
	frame []byte
}

// subscriber is one live registration.
type subscriber struct {
	ch   chan liveEvent
	lost chan struct{} // closed when the pump dropped it for a full buffer
}

// sequencer fans the seq table out to subscribers (see above).
type sequencer struct {
	store  Store
	log    eventLog
	now    func() time.Time
	buffer int
	window time.Duration

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	wake   chan struct{}
	done   chan struct{}
	conns  sync.WaitGroup // serving subscribers

	mu      sync.Mutex
	last    int64 // the newest seq handed to subscribers
	subs    map[*subscriber]struct{}
	stopped bool
	tooSlow int   // subscribers dropped for a full buffer
	badRows int   // rows that could not be turned into frames
	lastErr error // the last error of the pump (read or frame)
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
		store: st, log: log, now: cfg.Now, buffer: cfg.FirehoseBuffer, window: cfg.FirehoseWindow,
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		last: newest, subs: map[*subscriber]struct{}{},
	}
	if q.buffer <= 0 {
		q.buffer = DefaultFirehoseBuffer
	}
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
		evs, err := q.store.Events(q.ctx, after, eventPage)
		if err != nil {
			if q.ctx.Err() == nil {
				q.noteErr(fmt.Errorf("firehose: reading events after %d: %w", after, err), false)
			}
			return
		}
		for i := range evs {
			frame, err := eventFrame(&evs[i])
			if err != nil {
				q.noteErr(err, true)
				frame = nil
			}
			q.publish(evs[i].Seq, frame)
		}
		if len(evs) < eventPage {
			return
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
	for sub := range q.subs {
		select {
		case sub.ch <- liveEvent{seq: seq, frame: frame}:
		default:
			delete(q.subs, sub)
			close(sub.lost)
			q.tooSlow++
		}
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
	sub = &subscriber{ch: make(chan liveEvent, q.buffer), lost: make(chan struct{})}
	q.subs[sub] = struct{}{}
	return sub, q.last, nil
}

func (q *sequencer) unsubscribe(sub *subscriber) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.subs, sub)
}

// enter counts a serving connection, so that close can wait for it.
func (q *sequencer) enter() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return false
	}
	q.conns.Add(1)
	return true
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
	Subscribers int
	TooSlow     int
	BadRows     int
	LastErr     error
}

func (q *sequencer) stats() sequencerStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return sequencerStats{Last: q.last, Subscribers: len(q.subs), TooSlow: q.tooSlow, BadRows: q.badRows, LastErr: q.lastErr}
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
