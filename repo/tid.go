package repo

import (
	"fmt"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// TIDs are indigo's syntax.TID: this file adds what syntax lacks (a check
// whose errors wrap ErrInvalidTID, clamping at the ends of the range, and a
// clock that never repeats or goes back).

// ParseTID checks that s is a TID: 13 base32-sortable characters whose first
// one leaves the top bit zero. Errors wrap ErrInvalidTID.
func ParseTID(s string) (syntax.TID, error) {
	t, err := syntax.ParseTID(s)
	if err != nil {
		return "", fmt.Errorf("%w %s: %v", ErrInvalidTID, Quote(s), err)
	}
	return t, nil
}

// maxTIDMicros is the largest timestamp a TID can hold (53 bits of
// microseconds, a little after the year 2255).
const maxTIDMicros = 1<<53 - 1

// TIDFromTime returns the TID for t and clockID. Only the low 10 bits of
// clockID are used. Times before 1970 give the TID of the epoch and times
// after the year 2255 the largest TID, rather than wrapping around.
func TIDFromTime(t time.Time, clockID uint) syntax.TID {
	return tidFromMicros(clampMicros(t.UnixMicro()), clockID)
}

func clampMicros(us int64) int64 {
	switch {
	case us < 0:
		return 0
	case us > maxTIDMicros:
		return maxTIDMicros
	}
	return us
}

func tidFromMicros(us int64, clockID uint) syntax.TID {
	return syntax.NewTID(us, clockID&0x3ff)
}

// TIDClock hands out TIDs that strictly increase, even when the wall clock
// stands still or steps backwards: each TID's timestamp is at least one
// microsecond after the previous one's. It is safe for concurrent use.
// The zero value is a clock with clock identifier 0.
type TIDClock struct {
	mu      sync.Mutex
	clockID uint
	started bool             // whether a TID has been handed out
	last    int64            // microseconds of the last TID handed out
	now     func() time.Time // the wall clock; nil means time.Now (tests replace it)
}

// NewTIDClock returns a clock that stamps its TIDs with clockID (only the low
// 10 bits are used).
func NewTIDClock(clockID uint) *TIDClock {
	return &TIDClock{clockID: clockID & 0x3ff}
}

// Next returns a TID later than every TID this clock returned before. Once
// the largest timestamp has been handed out, Next keeps returning it.
func (c *TIDClock) Next() syntax.TID {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now
	if now == nil {
		now = time.Now
	}
	us := clampMicros(now().UnixMicro())
	if c.started && us <= c.last {
		us = min(c.last+1, maxTIDMicros)
	}
	c.last, c.started = us, true
	return tidFromMicros(us, c.clockID)
}
