package pds

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/internal/testfixtures"

	"github.com/arbor-atproto/arbor/archive"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/firehose"
)

// child is `arbor pds serve` running as a child process.
type child struct {
	cmd  *exec.Cmd
	url  string
	plc  string
	done chan struct{}
}

// startChild runs `arbor pds serve --data dir` on a free loopback port and
// waits for its ready line.
func startChild(t *testing.T, bin, dir string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"pds", "serve", "--data", dir, "--addr", "127.0.0.1:0", "--json"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(c.done) }()
	t.Cleanup(c.kill)
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		io.Copy(io.Discard, out)
	}()
	select {
	case l, ok := <-line:
		var ready struct{ URL, PLC string }
		if !ok || json.Unmarshal([]byte(l), &ready) != nil || ready.URL == "" {
			t.Fatalf("arbor pds serve: no ready line (got %q)", l)
		}
		c.url, c.plc = ready.URL, ready.PLC
	case <-time.After(20 * time.Second):
		t.Fatal("arbor pds serve did not get ready")
	}
	return c
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *child) kill() {
	c.cmd.Process.Kill()
	<-c.done
}

// didKey fetches the #atproto key of did from a directory.
func didKey(t *testing.T, plcURL, did string) atcrypto.PublicKey {
	t.Helper()
	res, err := http.Get(plcURL + "/" + did)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	docDID, key, err := identity.SigningKeyFromDIDDocument(body)
	if err != nil || docDID.String() != did {
		t.Fatalf("DID document of %s: %v (%s)", did, err, body)
	}
	return key
}

// TestDurabilityAcknowledgedWritesSurviveSIGKILL runs `arbor pds serve
// --data DIR` as a child process, kills it with SIGKILL in the middle of a
// stream of writes, restarts it, and checks that every acknowledged write
// is there, the repository verifies with the key of the DID document, and
// the firehose replays from cursor 0 without a hole; three times over the
// same data. At the end `arbor firehose --verify` checks the stream while
// more writes land.
func TestDurabilityAcknowledgedWritesSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the arbor binary")
	}
	bin := testfixtures.BuildArbor(t)
	dir := t.TempDir()
	var (
		did, token string
		acked      = map[string]string{} // path -> CID
	)
	const cycles, writers, perCycle = 3, 4, 60
	for cycle := range cycles {
		srv := startChild(t, bin, dir)
		cl := newXRPCClient(srv.url, writers)
		if cycle == 0 {
			out, err := cl.call("com.atproto.server.createAccount", "", map[string]any{"handle": "durable.test", "password": "pw"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			did = out["did"].(string)
		} else {
			checkDurable(t, srv, cl, did, acked)
		}
		out, err := cl.call("com.atproto.server.createSession", "", map[string]any{"identifier": "durable.test", "password": "pw"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		token = out["accessJwt"].(string)

		// Writers stream createRecord; the server is killed once perCycle
		// writes are acknowledged, with more in flight.
		var (
			mu sync.Mutex
			n  atomic.Int64
			wg sync.WaitGroup
		)
		stop := make(chan struct{})
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10*perCycle; i++ {
					select {
					case <-stop:
						return
					default:
					}
					rkey := fmt.Sprintf("c%dw%dn%04d", cycle, w, i)
					c, err := cl.createRecord(did, token, rkey, "durable "+rkey)
					if err != nil {
						return // the server is gone
					}
					mu.Lock()
					acked["app.bsky.feed.post/"+rkey] = c
					mu.Unlock()
					n.Add(1)
				}
			}()
		}
		for i := 0; i < 2000 && n.Load() < perCycle; i++ {
			time.Sleep(5 * time.Millisecond)
		}
		if n.Load() < perCycle {
			t.Fatalf("cycle %d: only %d writes acknowledged", cycle, n.Load())
		}
		srv.kill()
		close(stop)
		wg.Wait()
		t.Logf("cycle %d: killed after %d acknowledged writes (%d in all)", cycle, n.Load(), len(acked))
	}
	srv := startChild(t, bin, dir)
	cl := newXRPCClient(srv.url, 2)
	newest := checkDurable(t, srv, cl, did, acked)

	// arbor firehose --verify, replaying everything and then following
	// live writes, must find nothing wrong.
	const more = 20
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	check := exec.CommandContext(ctx, bin, "firehose", srv.url, "--cursor", "0", "--verify",
		"--plc-host", srv.plc, "--limit", fmt.Sprint(newest+more))
	var checkOut bytes.Buffer
	check.Stdout, check.Stderr = &checkOut, &checkOut
	if err := check.Start(); err != nil {
		t.Fatal(err)
	}
	out, err := cl.call("com.atproto.server.createSession", "", map[string]any{"identifier": "durable.test", "password": "pw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range more {
		if _, err := cl.createRecord(did, out["accessJwt"].(string), fmt.Sprintf("checked%02d", i), "under the checker"); err != nil {
			t.Fatal(err)
		}
	}
	if err := check.Wait(); err != nil {
		t.Fatalf("arbor firehose --verify: %v\n%s", err, tail(checkOut.String(), 20))
	}
	// The last line is the summary: every event, every commit checked,
	// none failed.
	summary := tail(checkOut.String(), 1)
	commits := 0
	if _, err := fmt.Sscanf(summary, fmt.Sprintf("%d events, %%d commits checked, 0 failed", newest+more), &commits); err != nil || commits < len(acked) {
		t.Fatalf("arbor firehose --verify summary %q (%v), want %d events and at least %d commits, none failed", summary, err, newest+more, len(acked))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// checkDurable checks a restarted server: every acknowledged record is
// there, getRepo verifies with the DID document's key, and the firehose
// from cursor 0 has every seq once, chains and verifies, up to the head.
// It returns the newest seq.
func checkDurable(t *testing.T, srv *child, cl *xrpcClient, did string, acked map[string]string) int64 {
	t.Helper()
	got, err := cl.records(did)
	if err != nil {
		t.Fatal(err)
	}
	for p, c := range acked {
		if got[p] != c {
			t.Fatalf("acknowledged %s (%s) is %q after the restart", p, c, got[p])
		}
	}
	key := didKey(t, srv.plc, did)
	res, err := http.Get(srv.url + "/xrpc/com.atproto.sync.getRepo?did=" + url.QueryEscape(did))
	if err != nil {
		t.Fatal(err)
	}
	ar, err := archive.ReadNodes(res.Body, archive.Options{})
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ar.Verify(archive.VerifyOptions{Key: key, DID: syntax.DID(did)})
	if err != nil || !rep.Valid() || !rep.SignatureChecked {
		t.Fatalf("repository after restart does not verify: %v %v", err, rep.Problems)
	}
	if rep.Records != len(got) {
		t.Fatalf("repository holds %d records, listRecords %d", rep.Records, len(got))
	}
	head, err := cl.call("com.atproto.sync.getLatestCommit", "", nil, url.Values{"did": {did}})
	if err != nil {
		t.Fatal(err)
	}
	st := openStream(t, srv.url, cursorAt(0))
	defer st.close()
	evs := st.waitFor(20*time.Second, "the head commit", func(evs []firehose.Event) bool {
		if len(evs) == 0 {
			return false
		}
		c, ok := evs[len(evs)-1].(*firehose.Commit)
		return ok && c.Rev.String() == head["rev"]
	})
	newest := lastSeq(evs)
	checkExactly(t, "replay after SIGKILL", seqsOf(evs), 1, newest)
	checkChain(t, evs, key)
	return newest
}
