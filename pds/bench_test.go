package pds

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkCreateRecord measures createRecord over HTTP on loopback, one
// client, into one repository that grows with b.N.
func BenchmarkCreateRecord(b *testing.B) {
	ts := startServer(b, Config{})
	u := ts.createUser("bench")
	body := func(i int) map[string]any {
		return map[string]any{"repo": u.did, "collection": "app.bsky.feed.post", "record": post(fmt.Sprint(i))}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := ts.proc("com.atproto.repo.createRecord", u.access, body(i)); r.status != 200 {
			b.Fatal(r)
		}
	}
	b.StopTimer()
	if _, err := ts.srv.Store().Events(context.Background(), 0, 1); err != nil {
		b.Fatal(err)
	}
}
