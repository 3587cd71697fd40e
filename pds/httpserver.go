package pds

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// Connection limits.
//
// net/http's ReadTimeout is not used: it bounds the whole request, so it
// would cut off a large upload on a slow link, and it stays set on a
// connection a handler takes over, so it would end subscribeRepos
// WebSockets. Instead a request body must keep a minimum transfer rate: by
// time t after the body started it must have delivered at least
// (t - BodyTimeout) * MinBodyRate bytes, and it may never pause for longer
// than BodyTimeout. The deadline is set on the connection before each read
// of the body and removed once the body has been read (or failed), so it
// scales with the size of the upload (uploadBlob, importRepo) and never
// touches a response being written or a WebSocket. A body that falls
// behind is answered 408 RequestTimeout and its connection closed.
//
// Headers must arrive within ReadHeaderTimeout, and a kept-alive
// connection waiting for its next request is closed after IdleTimeout.
// A response is written with a deadline of WriteTimeout set before each
// write, so a client that stops reading (a getRepo or getBlob it never
// reads) is cut off once one write has waited that long, while a long
// download that keeps moving is not; a WebSocket sets its own deadlines.

// Defaults of the connection limits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultBodyTimeout       = 15 * time.Second
	DefaultMinBodyRate       = 16 << 10 // bytes a second
	DefaultWriteTimeout      = time.Minute
)

// HTTPServer returns an http.Server serving s with its connection limits
// (see above). Serve it on a listener; Shutdown it before Close.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// errBodyTooSlow is the answer to a body that fell behind the minimum rate.
func (s *Server) errBodyTooSlow() *XRPCError {
	return xerr(http.StatusRequestTimeout, "RequestTimeout", "request body arrived slower than %d bytes a second, or paused for more than %v", s.cfg.MinBodyRate, s.cfg.BodyTimeout)
}

// pacedBody is a request body held to the minimum rate.
type pacedBody struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	grace time.Duration
	rate  int64

	start, last time.Time
	n           int64
	done        bool // the deadline is removed: EOF, an error, or unsupported
	timedOut    bool
}

func (s *Server) paceBody(w http.ResponseWriter, r *http.Request) *pacedBody {
	now := time.Now()
	return &pacedBody{
		body: r.Body, rc: http.NewResponseController(w),
		grace: s.cfg.BodyTimeout, rate: s.cfg.MinBodyRate,
		start: now, last: now,
	}
}

// deadline is when the next byte must have arrived.
func (b *pacedBody) deadline() time.Time {
	byRate := b.start.Add(b.grace + time.Duration(float64(b.n)/float64(b.rate)*float64(time.Second)))
	return minTime(byRate, b.last.Add(b.grace))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (b *pacedBody) Read(p []byte) (int, error) {
	if b.done {
		return b.body.Read(p)
	}
	if err := b.rc.SetReadDeadline(b.deadline()); err != nil {
		b.done = true // not a net/http connection (tests): no deadline
		return b.body.Read(p)
	}
	n, err := b.body.Read(p)
	if n > 0 {
		b.n += int64(n)
		b.last = time.Now()
	}
	if err != nil {
		b.done = true
		if errors.Is(err, os.ErrDeadlineExceeded) {
			b.timedOut = true
		} else {
			// The connection reads on without a deadline: net/http
			// watches it for the client going away while the handler
			// runs, and a deadline there would cancel the request.
			b.rc.SetReadDeadline(time.Time{})
		}
	}
	return n, err
}

func (b *pacedBody) Close() error { return b.body.Close() }

// stallWriter is a response writer that gives each write WriteTimeout.
type stallWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	off     bool // deadlines not supported (tests' recorders)
}

func (s *Server) stallWriter(w http.ResponseWriter) *stallWriter {
	sw := &stallWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: s.cfg.WriteTimeout}
	// A kept-alive connection may still carry the last response's
	// deadline: none until this response writes (a handler may work for
	// long before its first byte).
	if sw.rc.SetWriteDeadline(time.Time{}) != nil {
		sw.off = true
	}
	return sw
}

func (w *stallWriter) Write(p []byte) (int, error) {
	if !w.off {
		w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController and the WebSocket upgrade reach the
// connection.
func (w *stallWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
