package pds

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Login rate limits.
//
// createSession is limited as the reference PDS limits it: per identifier
// and client IP, 30 attempts in 5 minutes and 300 in a day, counting every
// attempt, good or bad. Here the identifier is the account it names (its
// DID), so writing the same handle in other letter cases, with an "@", or
// as the account's email or DID does not give more attempts. On top of
// that, one client IP may try at most 300 logins (any accounts) in 5
// minutes, so guessing across many accounts is bounded too, and
// refreshSession is limited to 3000 a client IP in 5 minutes (the
// reference's server-wide limit per IP). Over a limit the answer is 429
// RateLimitExceeded with the reference's RateLimit-* headers.
//
// The client IP is the TCP peer's address (no X-Forwarded-For: the server
// is meant to be reached directly). Counters live in memory and start
// again with the server.

// RateLimit is one limit: at most Points requests in a window of Window,
// which starts at the first request counted (a fixed window, as the
// reference's rate-limiter-flexible counts).
type RateLimit struct {
	Points int
	Window time.Duration
}

// LoginLimits are the limits of createSession and refreshSession. An
// empty (non-nil) LoginLimits turns them off.
type LoginLimits struct {
	// PerAccount limits createSession per account (or, for an identifier
	// no account has, per identifier) and client IP.
	PerAccount []RateLimit
	// PerIP limits createSession per client IP, whatever the account.
	PerIP []RateLimit
	// RefreshPerIP limits refreshSession per client IP.
	RefreshPerIP []RateLimit
}

// DefaultLoginLimits returns the limits used when Config.LoginLimits is
// nil (see above).
func DefaultLoginLimits() *LoginLimits {
	return &LoginLimits{
		PerAccount:   []RateLimit{{Points: 30, Window: 5 * time.Minute}, {Points: 300, Window: 24 * time.Hour}},
		PerIP:        []RateLimit{{Points: 300, Window: 5 * time.Minute}},
		RefreshPerIP: []RateLimit{{Points: 3000, Window: 5 * time.Minute}},
	}
}

// maxLimiterKeys bounds the counters kept; when a sweep of expired ones
// leaves more, all are dropped (limits start again rather than memory
// growing without bound).
const maxLimiterKeys = 100_000

// limiter counts requests per key in fixed windows.
type limiter struct {
	now func() time.Time

	mu        sync.Mutex
	windows   map[limiterKey]*limitWindow
	sweepAt   int       // sweep when this many windows are kept
	nextSweep time.Time // or at this time
}

type limiterKey struct {
	key    string
	window time.Duration
	points int
}

type limitWindow struct {
	end  time.Time
	used int
}

// limitStatus is the state of the tightest limit after a request.
type limitStatus struct {
	limit     RateLimit
	remaining int
	reset     time.Time
	exceeded  bool
}

// tighter reports whether st is a tighter limit than o: exceeded when o is
// not, or fewer requests left.
func (st limitStatus) tighter(o limitStatus) bool {
	if st.exceeded != o.exceeded {
		return st.exceeded
	}
	return st.remaining < o.remaining
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, windows: map[limiterKey]*limitWindow{}, sweepAt: 1024}
}

// take counts one request against each of limits for key. It returns the
// status of the tightest one (exceeded if any is), and ok false for no
// limits.
func (l *limiter) take(key string, limits []RateLimit) (st limitStatus, ok bool) {
	if len(limits) == 0 {
		return st, false
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, lim := range limits {
		if lim.Points <= 0 || lim.Window <= 0 {
			continue
		}
		k := limiterKey{key: key, window: lim.Window, points: lim.Points}
		w := l.windows[k]
		if w == nil || !now.Before(w.end) {
			w = &limitWindow{end: now.Add(lim.Window)}
			l.windows[k] = w
		}
		w.used++
		cur := limitStatus{limit: lim, remaining: max(lim.Points-w.used, 0), reset: w.end, exceeded: w.used > lim.Points}
		if !ok || cur.tighter(st) {
			st, ok = cur, true
		}
	}
	if len(l.windows) >= l.sweepAt || !now.Before(l.nextSweep) {
		l.sweep(now)
	}
	return st, ok
}

// sweep removes the windows that have ended. It runs once a minute, and
// when the count of windows has doubled since the last sweep.
func (l *limiter) sweep(now time.Time) {
	for k, w := range l.windows {
		if !now.Before(w.end) {
			delete(l.windows, k)
		}
	}
	if len(l.windows) > maxLimiterKeys {
		clear(l.windows)
	}
	l.sweepAt = min(max(1024, 2*len(l.windows)), maxLimiterKeys)
	l.nextSweep = now.Add(time.Minute)
}

// size is how many windows are kept (tests).
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.windows)
}

// clientIP is the request's TCP peer address without the port.
func clientIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// limitCheck is one key and the limits it is counted against.
type limitCheck struct {
	key    string
	limits []RateLimit
}

// rateLimit counts a request against every check and answers 429
// RateLimitExceeded when a limit is exceeded; it sets the RateLimit-*
// headers of the tightest limit either way, as the reference does.
func (s *Server) rateLimit(w http.ResponseWriter, checks ...limitCheck) error {
	var st limitStatus
	have := false
	for _, c := range checks {
		cur, ok := s.limits.take(c.key, c.limits)
		if ok && (!have || cur.tighter(st)) {
			st, have = cur, true
		}
	}
	if !have {
		return nil
	}
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(st.limit.Points))
	h.Set("RateLimit-Remaining", strconv.Itoa(st.remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(st.reset.Unix(), 10))
	h.Set("RateLimit-Policy", strconv.Itoa(st.limit.Points)+";w="+strconv.FormatInt(int64(st.limit.Window/time.Second), 10))
	if st.exceeded {
		return xerr(http.StatusTooManyRequests, "RateLimitExceeded", "Rate Limit Exceeded")
	}
	return nil
}
