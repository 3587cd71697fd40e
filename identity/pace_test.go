package identity

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func TestRateLimitHeadersAreRead(t *testing.T) {
	now := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, retryAfter, reset string
		want                    time.Duration
		ok                      bool
	}{
		{"Retry-After in seconds", "7", "", 7 * time.Second, true},
		{"Retry-After as an HTTP date", now.Add(90 * time.Second).Format(http.TimeFormat), "", 90 * time.Second, true},
		{"Retry-After in the past", now.Add(-time.Minute).Format(http.TimeFormat), "", 0, true},
		{"Retry-After that is neither", "soon", "", 0, false},
		{"RateLimit-Reset in seconds", "", "30", 30 * time.Second, true},
		{"RateLimit-Reset as a Unix time", "", strconv.FormatInt(now.Add(45*time.Second).Unix(), 10), 45 * time.Second, true},
		{"RateLimit-Reset negative", "", "-3", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := retryAfter(tc.retryAfter, now)
			if tc.reset != "" {
				d, ok = resetDelay(tc.reset, now)
			}
			if d != tc.want || ok != tc.ok {
				t.Fatalf("got %v %v, want %v %v", d, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestPacerRetriesA429: getSmall and openStream send a request answered
// 429 again after Retry-After, until it succeeds; Retries bounds it, and
// the 429 is then the caller's error.
func TestPacerRetriesA429(t *testing.T) {
	var calls atomic.Int32
	refuse := int32(2)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= refuse {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte(`{"cid":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm","rev":"3l4qpz7ajrc2a"}`))
	}))
	defer ts.Close()
	p := &Pacer{}
	r := &Resolver{Pace: p, Timeout: 5 * time.Second}
	lc, err := r.GetLatestCommit(context.Background(), ts.URL, "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
	if err != nil || lc.Rev != "3l4qpz7ajrc2a" || calls.Load() != 3 || p.Requests() != 3 || p.RateLimited() != 2 {
		t.Fatalf("%v %+v: %d calls, pacer %d requests, %d limited", err, lc, calls.Load(), p.Requests(), p.RateLimited())
	}
	calls.Store(0)
	refuse = 100
	p.Retries = 2
	if _, _, err := r.openStream(context.Background(), ts.URL); err == nil || calls.Load() != 3 {
		t.Fatalf("after the retries: %v, %d calls", err, calls.Load())
	}
}

// TestPacerCapsTheRate: MaxRPS spaces requests out.
func TestPacerCapsTheRate(t *testing.T) {
	p := &Pacer{MaxRPS: 50}
	start := time.Now()
	for range 6 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("6 requests at 50 a second took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.hold(time.Now().Add(time.Hour))
	if err := p.Wait(ctx); err == nil {
		t.Fatal("a cancelled wait returned nil")
	}
}
