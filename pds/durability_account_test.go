package pds

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/firehose"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// mailToken is the token of the last mail to addr in a --mail-log file
// (JSON lines, as serve --json writes them).
func mailToken(t *testing.T, file, addr string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tok := ""
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var l struct{ Mail Mail }
		if json.Unmarshal([]byte(line), &l) == nil && l.Mail.To == addr {
			tok = l.Mail.Token
		}
	}
	return tok
}

// TestDurabilityPreferencesAndDeletionsSurviveSIGKILL kills `arbor pds
// serve --data DIR` with SIGKILL while preferences are being put and
// accounts deleted (with their mailed tokens, from --mail-log), twice, and
// checks after each restart that the last acknowledged preferences (or a
// later put) are there, every acknowledged deletion holds (RepoNotFound,
// no login) and the firehose replays in order with each deleted account's
// last event its #account deleted.
func TestDurabilityPreferencesAndDeletionsSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the arbor binary")
	}
	bin := testfixtures.BuildArbor(t)
	dir := t.TempDir()
	mail := filepath.Join(t.TempDir(), "mail.log")
	const accounts = 10
	var (
		prefsDID string
		sent     []string // preference ids in the order they were put
		lastAck  = -1     // index in sent of the last acknowledged put
		deleted  = map[string]bool{}
		gone     = map[string]string{} // handle -> DID, not yet deleted
	)
	for cycle := range 3 {
		srv := startChild(t, bin, dir, "--mail-log", mail)
		cl := newXRPCClient(srv.url, 4)
		if cycle == 0 {
			out, err := cl.call("com.atproto.server.createAccount", "", map[string]any{"handle": "prefs.test", "password": "pw"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			prefsDID = out["did"].(string)
			for i := range accounts {
				h := fmt.Sprintf("gone%02d.test", i)
				out, err := cl.call("com.atproto.server.createAccount", "", map[string]any{"handle": h, "password": "pw", "email": h + "@example.com"}, nil)
				if err != nil {
					t.Fatal(err)
				}
				gone[h] = out["did"].(string)
			}
		} else {
			checkPrefsAndDeletions(t, srv, cl, prefsDID, sent, lastAck, deleted)
		}
		if cycle == 2 {
			break
		}
		sess, err := cl.call("com.atproto.server.createSession", "", map[string]any{"identifier": "prefs.test", "password": "pw"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		token := sess["accessJwt"].(string)
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		acks, dels := 0, 0
		wg.Add(2)
		go func() { // preferences
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("c%dn%04d", cycle, i)
				mu.Lock()
				sent = append(sent, id)
				n := len(sent) - 1
				mu.Unlock()
				_, err := cl.call("app.bsky.actor.putPreferences", token, map[string]any{"preferences": []any{
					map[string]any{"$type": "app.bsky.actor.defs#savedFeedsPrefV2", "items": []any{map[string]any{"id": id, "type": "timeline", "value": "following", "pinned": true}}},
				}}, nil)
				if err != nil {
					return
				}
				mu.Lock()
				lastAck, acks = n, acks+1
				mu.Unlock()
			}
		}()
		go func() { // deletions
			defer wg.Done()
			for h, did := range gone {
				select {
				case <-stop:
					return
				default:
				}
				s, err := cl.call("com.atproto.server.createSession", "", map[string]any{"identifier": h, "password": "pw"}, nil)
				if err != nil {
					return
				}
				if _, err := cl.call("com.atproto.server.requestAccountDelete", s["accessJwt"].(string), map[string]any{}, nil); err != nil {
					return
				}
				tok := mailToken(t, mail, h+"@example.com")
				if _, err := cl.call("com.atproto.server.deleteAccount", "", map[string]any{"did": did, "password": "pw", "token": tok}, nil); err != nil {
					return
				}
				mu.Lock()
				deleted[did], dels = true, dels+1
				delete(gone, h)
				mu.Unlock()
			}
		}()
		for i := 0; i < 4000; i++ {
			mu.Lock()
			ready := acks >= 30 && dels >= 3
			mu.Unlock()
			if ready {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		srv.kill()
		close(stop)
		wg.Wait()
		if acks < 30 || dels < accounts/4 {
			t.Fatalf("cycle %d: only %d preference puts and %d deletions acknowledged", cycle, acks, dels)
		}
		t.Logf("cycle %d: killed after %d preference puts and %d deletions acknowledged", cycle, acks, dels)
	}
}

func checkPrefsAndDeletions(t *testing.T, srv *child, cl *xrpcClient, prefsDID string, sent []string, lastAck int, deleted map[string]bool) {
	t.Helper()
	sess, err := cl.call("com.atproto.server.createSession", "", map[string]any{"identifier": "prefs.test", "password": "pw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cl.call("app.bsky.actor.getPreferences", sess["accessJwt"].(string), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	prefs, _ := out["preferences"].([]any)
	if len(prefs) != 1 {
		t.Fatalf("preferences after the restart: %v", out)
	}
	id := prefs[0].(map[string]any)["items"].([]any)[0].(map[string]any)["id"].(string)
	at := -1
	for i, s := range sent {
		if s == id {
			at = i
		}
	}
	if at < lastAck {
		t.Fatalf("preferences after the restart are put %d (%s), the last acknowledged was put %d (%s)", at, id, lastAck, sent[lastAck])
	}
	for did := range deleted {
		if _, err := cl.call("com.atproto.sync.getLatestCommit", "", nil, url.Values{"did": {did}}); err == nil || !strings.Contains(err.Error(), "RepoNotFound") {
			t.Fatalf("deleted %s after the restart: %v", did, err)
		}
	}
	if _, err := cl.call("com.atproto.sync.getLatestCommit", "", nil, url.Values{"did": {prefsDID}}); err != nil {
		t.Fatal(err)
	}
	st := openStream(t, srv.url, cursorAt(0))
	defer st.close()
	evs := st.waitFor(20*time.Second, "every deletion", func(evs []firehose.Event) bool {
		n := 0
		for _, ev := range evs {
			if a, ok := ev.(*firehose.Account); ok && a.Status == "deleted" {
				n++
			}
		}
		return n >= len(deleted)
	})
	lastOf := map[string]firehose.Event{}
	prev := int64(0)
	for _, ev := range evs {
		seq := lastSeq([]firehose.Event{ev})
		if seq <= prev {
			t.Fatalf("replay after SIGKILL: seq %d after %d", seq, prev)
		}
		prev = seq
		switch e := ev.(type) {
		case *firehose.Account:
			lastOf[e.DID.String()] = ev
		case *firehose.Identity:
			lastOf[e.DID.String()] = ev
		case *firehose.Commit:
			lastOf[e.Repo.String()] = ev
		}
	}
	for did := range deleted {
		a, ok := lastOf[did].(*firehose.Account)
		if !ok || a.Status != "deleted" || a.Active {
			t.Fatalf("the last event of deleted %s is %#v", did, lastOf[did])
		}
	}
}
