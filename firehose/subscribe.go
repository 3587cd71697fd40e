package firehose

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// Endpoint is the XRPC path of the firehose.
const Endpoint = "/xrpc/com.atproto.sync.subscribeRepos"

// MaxFrameSize bounds one WebSocket message Subscribe accepts. Relays cap a
// #commit's blocks at 2 MB; this leaves room for the rest.
const MaxFrameSize = 16 << 20

// SubscribeURL turns what a user may type into the WebSocket URL of a
// subscribeRepos endpoint: ws:// and wss:// URLs are kept, http:// and
// https:// become ws:// and wss://, and a URL without a path (or with
// "/") gets Endpoint. A cursor, when given, is set as the cursor query
// parameter.
func SubscribeURL(raw string, cursor *int64) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("firehose URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("firehose URL %q: scheme must be ws, wss, http or https", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("firehose URL %q has no host", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = Endpoint
	}
	if cursor != nil {
		q := u.Query()
		q.Set("cursor", strconv.FormatInt(*cursor, 10))
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// Subscribe connects to a subscribeRepos endpoint (a ws:// or wss:// URL,
// or any form SubscribeURL takes), from cursor when it is not nil, and calls
// fn with each event in order: typed events, *Info frames (see
// Info.OutdatedCursor), *Unknown types, and *Malformed for a message that
// does not decode (the stream goes on).
//
// It returns when:
//   - fn returns an error: that error, or nil for ErrStop;
//   - the server sends an error frame: the *ErrorFrame (errors.Is with
//     ErrFutureCursor, ErrConsumerTooSlow);
//   - the server closes the connection normally: nil;
//   - ctx ends: ctx.Err();
//   - anything else breaks the connection: that error.
func Subscribe(ctx context.Context, rawURL string, cursor *int64, fn func(Event) error) error {
	u, err := SubscribeURL(rawURL, cursor)
	if err != nil {
		return err
	}
	conn, resp, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if resp != nil {
			return fmt.Errorf("connecting to %s: %s: %w", u, resp.Status, err)
		}
		return fmt.Errorf("connecting to %s: %w", u, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(MaxFrameSize)
	for {
		typ, msg, err := conn.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			switch websocket.CloseStatus(err) {
			case websocket.StatusNormalClosure, websocket.StatusGoingAway:
				return nil
			}
			return fmt.Errorf("reading from %s: %w", u, err)
		}
		var ev Event
		if typ != websocket.MessageBinary {
			ev = &Malformed{Raw: msg, Err: fmt.Errorf("%w: a text message", ErrBadFrame)}
		} else if ev, err = DecodeFrame(msg); err != nil {
			ev = &Malformed{Raw: msg, Err: err}
		}
		if ef, ok := ev.(*ErrorFrame); ok {
			conn.CloseNow()
			return ef
		}
		if err := fn(ev); err != nil {
			closeSoon(conn)
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
}

// closeSoon closes the connection politely, waiting at most a second for
// the server's answer (a server that never reads would hold Close for five).
func closeSoon(conn *websocket.Conn) {
	done := make(chan struct{})
	go func() {
		conn.Close(websocket.StatusNormalClosure, "")
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		conn.CloseNow()
	}
}
