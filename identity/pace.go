package identity

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults used when a Pacer field is zero.
const (
	// DefaultMaxWait is the longest one rate-limit wait a Pacer accepts
	// (a Retry-After or RateLimit-Reset further away fails the request).
	DefaultMaxWait = 5 * time.Minute
	// DefaultRetries is how many times a Pacer retries one request that
	// was answered 429 (or 503 with Retry-After).
	DefaultRetries = 8
)

// Pacer keeps a Resolver's requests polite (Resolver.Pace): at most MaxRPS
// requests a second, and a server's rate limit waited out rather than
// taken as a failure. An answer 429 Too Many Requests (or 503 with
// Retry-After) is retried after Retry-After (seconds or an HTTP date), or
// else RateLimit-Reset, or else an exponential backoff from one second;
// an answer with RateLimit-Remaining: 0 holds the next request until its
// RateLimit-Reset. RateLimit-Reset is read as seconds from now, or as a
// Unix time when it is that large (the reference PDS sends one). The
// waits happen before a request's timeouts start, so a long Retry-After
// does not count as a silent server. A Pacer is safe for concurrent use.
type Pacer struct {
	// MaxRPS caps the requests started a second (0: no cap).
	MaxRPS float64
	// MaxWait bounds one wait (0: DefaultMaxWait); Retries bounds the
	// retries of one request (0: DefaultRetries).
	MaxWait time.Duration
	Retries int

	mu       sync.Mutex
	next     time.Time // no request starts before it
	requests atomic.Int64
	limited  atomic.Int64
}

// Requests is how many requests were started through p.
func (p *Pacer) Requests() int64 {
	if p == nil {
		return 0
	}
	return p.requests.Load()
}

// RateLimited is how many answers asked p to slow down (429, 503 with
// Retry-After, RateLimit-Remaining: 0).
func (p *Pacer) RateLimited() int64 {
	if p == nil {
		return 0
	}
	return p.limited.Load()
}

// Wait blocks until the next request may start, and counts it: for a
// request made outside the Resolver (a plc.Client's) to share the cap.
func (p *Pacer) Wait(ctx context.Context) error { return p.wait(ctx) }

// wait blocks until the next request may start, and counts it.
func (p *Pacer) wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	now := time.Now()
	start := now
	if p.next.After(now) {
		start = p.next
	}
	p.next = start
	if p.MaxRPS > 0 {
		p.next = start.Add(time.Duration(float64(time.Second) / p.MaxRPS))
	}
	p.mu.Unlock()
	p.requests.Add(1)
	return sleepCtx(ctx, start.Sub(now))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hold delays every request until at least t.
func (p *Pacer) hold(t time.Time) {
	p.mu.Lock()
	if t.After(p.next) {
		p.next = t
	}
	p.mu.Unlock()
}

func (p *Pacer) maxWait() time.Duration {
	if p.MaxWait > 0 {
		return p.MaxWait
	}
	return DefaultMaxWait
}

// observe reads an answer's rate-limit headers. It reports whether the
// request should be sent again (the wait before it is then held in p): a
// 429, or a 503 with Retry-After, within the retries and the longest wait.
func (p *Pacer) observe(resp *http.Response, attempt int) bool {
	if p == nil {
		return false
	}
	now := time.Now()
	h := resp.Header
	limited := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable && h.Get("Retry-After") != ""
	if !limited {
		if h.Get("RateLimit-Remaining") == "0" {
			if d, ok := resetDelay(h.Get("RateLimit-Reset"), now); ok && d <= p.maxWait() {
				p.limited.Add(1)
				p.hold(now.Add(d))
			}
		}
		return false
	}
	p.limited.Add(1)
	retries := p.Retries
	if retries <= 0 {
		retries = DefaultRetries
	}
	if attempt >= retries {
		return false
	}
	d, ok := retryAfter(h.Get("Retry-After"), now)
	if !ok {
		d, ok = resetDelay(h.Get("RateLimit-Reset"), now)
	}
	if !ok {
		d = time.Second << min(attempt, 8)
	}
	if d > p.maxWait() {
		return false
	}
	p.hold(now.Add(d))
	return true
}

// retryAfter reads a Retry-After value: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// resetDelay reads a RateLimit-Reset value: seconds from now, or a Unix
// time (any value past a billion seconds).
func resetDelay(v string, now time.Time) (time.Duration, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	if n > 1e9 {
		return max(time.Unix(n, 0).Sub(now), 0), true
	}
	return time.Duration(n) * time.Second, true
}

// discard drains a little of a body that will not be read and closes it,
// so its connection can be reused.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
