package firehose

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// serve starts a WebSocket server on loopback that sends msgs (binary
// frames, or text for strings) and then closes normally, and reports the
// query it was called with.
func serve(t *testing.T, msgs ...any) (string, <-chan string) {
	t.Helper()
	queries := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries <- r.URL.Path + "?" + r.URL.RawQuery
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := c.CloseRead(r.Context())
		for _, m := range msgs {
			var err error
			switch m := m.(type) {
			case []byte:
				err = c.Write(ctx, websocket.MessageBinary, m)
			case string:
				err = c.Write(ctx, websocket.MessageText, []byte(m))
			}
			if err != nil {
				return
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), queries
}

func encodeAll(t *testing.T, evs ...Event) []any {
	var out []any
	for _, e := range evs {
		b, err := EncodeFrame(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestSubscribe(t *testing.T) {
	_, evs := history(t)
	outdated := &Info{Name: InfoOutdatedCursor}
	frames := encodeAll(t, outdated, evs[0], evs[1])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("delivers every event in order and sends the cursor", func(t *testing.T) {
		url, q := serve(t, append(frames, "text?", []byte{0xff})...)
		var got []Event
		cursor := int64(42)
		err := Subscribe(ctx, url, &cursor, func(e Event) error { got = append(got, e); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if query := <-q; query != Endpoint+"?cursor=42" {
			t.Errorf("request %q", query)
		}
		if len(got) != 5 {
			t.Fatalf("%d events", len(got))
		}
		if i, ok := got[0].(*Info); !ok || !i.OutdatedCursor() {
			t.Errorf("first event %#v", got[0])
		}
		if c, ok := got[2].(*Commit); !ok || c.Rev != evs[1].Rev {
			t.Errorf("third event %#v", got[2])
		}
		for _, i := range []int{3, 4} {
			if m, ok := got[i].(*Malformed); !ok || !errors.Is(m.Err, ErrBadFrame) {
				t.Errorf("event %d: %#v, want Malformed", i, got[i])
			}
		}
	})
	t.Run("an error frame ends with a typed error", func(t *testing.T) {
		url, _ := serve(t, append(frames[:1], encodeAll(t, &ErrorFrame{Name: ErrNameFutureCursor})...)...)
		n := 0
		err := Subscribe(ctx, url, nil, func(Event) error { n++; return nil })
		if !errors.Is(err, ErrFutureCursor) || n != 1 {
			t.Fatalf("error %v after %d events", err, n)
		}
		var ef *ErrorFrame
		if !errors.As(err, &ef) || ef.Name != ErrNameFutureCursor {
			t.Fatalf("error %#v", err)
		}
	})
	t.Run("ConsumerTooSlow", func(t *testing.T) {
		url, _ := serve(t, encodeAll(t, &ErrorFrame{Name: ErrNameConsumerTooSlow, Message: strp("slow")})...)
		err := Subscribe(ctx, url, nil, func(Event) error { return nil })
		if !errors.Is(err, ErrConsumerTooSlow) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("ErrStop from the callback ends cleanly", func(t *testing.T) {
		url, _ := serve(t, frames...)
		n := 0
		err := Subscribe(ctx, url, nil, func(Event) error { n++; return ErrStop })
		if err != nil || n != 1 {
			t.Fatalf("error %v after %d events", err, n)
		}
	})
	t.Run("another callback error is returned", func(t *testing.T) {
		url, _ := serve(t, frames...)
		boom := errors.New("boom")
		if err := Subscribe(ctx, url, nil, func(Event) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("a cancelled context", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			<-c.CloseRead(r.Context()).Done()
		}))
		defer srv.Close()
		cctx, ccancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer ccancel()
		err := Subscribe(cctx, srv.URL, nil, func(Event) error { return nil })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v", err)
		}
	})
}

func TestSubscribeURL(t *testing.T) {
	five := int64(5)
	cases := []struct {
		in     string
		cursor *int64
		want   string
		bad    bool
	}{
		{"https://pds.example.com", nil, "wss://pds.example.com" + Endpoint, false},
		{"http://127.0.0.1:2583/", &five, "ws://127.0.0.1:2583" + Endpoint + "?cursor=5", false},
		{"wss://relay.example/xrpc/com.atproto.sync.subscribeRepos?cursor=1", &five, "wss://relay.example" + Endpoint + "?cursor=5", false},
		{"ws://127.0.0.1:1/custom", nil, "ws://127.0.0.1:1/custom", false},
		{"ftp://x", nil, "", true},
		{"pds.example.com", nil, "", true},
	}
	for _, tc := range cases {
		got, err := SubscribeURL(tc.in, tc.cursor)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("SubscribeURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
