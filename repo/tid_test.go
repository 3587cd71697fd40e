package repo

import (
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

func TestTIDClockIncreasesWhenWallClockStallsOrStepsBack(t *testing.T) {
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		times []time.Time
	}{
		{"frozen clock", []time.Time{base, base, base, base}},
		{"clock steps back", []time.Time{base, base.Add(-time.Hour), base.Add(-time.Second), base}},
		{"sub-microsecond ticks", []time.Time{base, base.Add(100), base.Add(200), base.Add(999)}},
		{"before 1970", []time.Time{time.Unix(-10, 0), time.Unix(-5, 0), time.Unix(0, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewTIDClock(7)
			i := 0
			c.now = func() time.Time { tm := tt.times[i]; i++; return tm }
			var prev syntax.TID
			for range tt.times {
				tid := c.Next()
				if _, err := ParseTID(string(tid)); err != nil {
					t.Fatalf("Next gave invalid TID %q: %v", tid, err)
				}
				if tid <= prev {
					t.Errorf("Next() = %s after %s", tid, prev)
				}
				if tid.ClockID() != 7 {
					t.Errorf("clock id %d", tid.ClockID())
				}
				prev = tid
			}
		})
	}
}

func TestTIDClockZeroValueWorks(t *testing.T) {
	var c TIDClock
	a, b := c.Next(), c.Next()
	if _, err := ParseTID(string(a)); err != nil || b <= a || a.ClockID() != 0 {
		t.Errorf("zero clock gave %q then %q (%v)", a, b, err)
	}
	if d := time.Since(a.Time()); d < 0 || d > time.Minute {
		t.Errorf("zero clock TID time %v is not now", a.Time())
	}
}

func TestTIDClockUsesWallClockWhenAhead(t *testing.T) {
	c := NewTIDClock(1)
	at := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	c.now = func() time.Time { return at }
	if got := c.Next().Time(); !got.Equal(at) {
		t.Errorf("Time() = %v, want %v", got, at)
	}
}

func TestTIDClockIsConcurrencySafe(t *testing.T) {
	c := NewTIDClock(3)
	const workers, each = 8, 500
	out := make([][]syntax.TID, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				out[w] = append(out[w], c.Next())
			}
		}(w)
	}
	wg.Wait()
	seen := map[syntax.TID]bool{}
	for _, tids := range out {
		for i, tid := range tids {
			if seen[tid] {
				t.Fatalf("TID %s handed out twice", tid)
			}
			seen[tid] = true
			if i > 0 && tid <= tids[i-1] {
				t.Fatalf("TIDs not increasing within a goroutine: %s then %s", tids[i-1], tid)
			}
		}
	}
}

func TestTIDFromTimeLimits(t *testing.T) {
	tests := []struct {
		name  string
		at    time.Time
		clock uint
		want  syntax.TID // worked out by hand from the TID layout
	}{
		{"epoch, clock 0: all zero bits", time.Unix(0, 0), 0, "2222222222222"},
		{"before the epoch clamps to it", time.Unix(-1000, 0), 0, "2222222222222"},
		{"clock id 1 sets the last bit", time.Unix(0, 0), 1, "2222222222223"},
		{"clock id uses 10 bits only", time.Unix(0, 0), 1024 + 1, "2222222222223"},
		{"one microsecond: bit 10", time.UnixMicro(1), 0, "2222222222322"},
		{"far future clamps to the largest", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1023, "bzzzzzzzzzzzz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TIDFromTime(tt.at, tt.clock); got != tt.want {
				t.Errorf("TIDFromTime = %s, want %s", got, tt.want)
			}
		})
	}
}
