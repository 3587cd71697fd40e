package main

// pdsload firehose: events per second delivered by
// com.atproto.sync.subscribeRepos to S subscribers while C clients write,
// and the createRecord latency the subscribers add, for bench/firehose.sh.
//
//	pdsload firehose -url http://localhost:2583 -label arbor -subs 0,1,100 -clients 20 -n 2000 > arbor-fh.json
//	pdsload fhtable arbor-fh.json reference-fh.json
//
// Each phase opens S WebSocket subscribers (live, no cursor), makes sure
// every one of them receives events (a few sentinel writes, not measured),
// then has C clients write n records in total to their own accounts. A
// subscriber counts the #commit frames it receives (the frame header is
// matched, the body is not decoded, so the client spends little CPU on
// it); the phase ends when every subscriber has them all, or at -max-time.
// Delivery rate = n / (time from the first write to the last subscriber's
// last frame), per subscriber; the table also gives the sum over
// subscribers. Subscriber 0 decodes its frames to check they are #commit
// events with increasing seq. A phase runs -runs times; the best run
// (highest delivery rate, or write rate without subscribers) is kept.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	fh "github.com/arbor-atproto/arbor/firehose"
)

// FirehoseResult is what one `pdsload firehose` measured.
type FirehoseResult struct {
	Label   string          `json:"label"`
	URL     string          `json:"url"`
	Clients int             `json:"clients"`
	N       int             `json:"n"`
	Phases  []FirehosePhase `json:"phases"`
}

// FirehosePhase is one subscriber count's best run.
type FirehosePhase struct {
	Subs         int     `json:"subs"`
	Writes       int     `json:"writes"`
	WritesPerSec float64 `json:"writes_per_sec"`
	WriteP50Ms   float64 `json:"write_p50_ms"`
	WriteP99Ms   float64 `json:"write_p99_ms"`
	DeliverSec   float64 `json:"deliver_sec"`     // first write to last frame at every subscriber
	PerSubPerSec float64 `json:"per_sub_per_sec"` // events/s each subscriber received
	TotalPerSec  float64 `json:"total_per_sec"`   // summed over subscribers
	Missing      int64   `json:"missing"`         // frames not received by -max-time, all subscribers
}

type subscriber struct {
	commits atomic.Int64
	lastNs  atomic.Int64 // time of the last #commit, UnixNano
	check   bool         // decode frames and check seq order
	err     atomic.Pointer[error]
}

var commitTag = []byte("#commit")

func (s *subscriber) run(ctx context.Context, wsURL string, ready chan<- error) {
	conn, _, err := websocket.Dial(ctx, wsURL, nil)
	ready <- err
	if err != nil {
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(64 << 20)
	var lastSeq int64
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.err.Store(&err)
			}
			return
		}
		if !bytes.Contains(msg[:min(len(msg), 24)], commitTag) {
			continue
		}
		if s.check {
			ev, err := fh.DecodeFrame(msg)
			if err == nil {
				c, ok := ev.(*fh.Commit)
				switch {
				case !ok:
					err = fmt.Errorf("frame is %s, not #commit", ev.Type())
				case c.Seq <= lastSeq:
					err = fmt.Errorf("seq %d after %d", c.Seq, lastSeq)
				}
				if ok {
					lastSeq = c.Seq
				}
			}
			if err != nil {
				s.err.Store(&err)
				return
			}
		}
		s.commits.Add(1)
		s.lastNs.Store(time.Now().UnixNano())
	}
}

func firehoseCmd(args []string) error {
	fs := flag.NewFlagSet("firehose", flag.ExitOnError)
	base := fs.String("url", "", "PDS base URL (loopback only)")
	label := fs.String("label", "", "name of the server in the table")
	subsList := fs.String("subs", "0,1,100", "subscriber counts, one phase each")
	clients := fs.Int("clients", 20, "concurrent writers, one account each")
	n := fs.Int("n", 2000, "records written per phase, in total")
	runs := fs.Int("runs", 2, "runs of each phase (the best is kept)")
	maxTime := fs.Duration("max-time", 60*time.Second, "time limit of one phase")
	prefix := fs.String("handle-prefix", "f", "handle prefix (handles are PREFIX-NAME.test)")
	fs.Parse(args)
	if err := checkLoopback(*base); err != nil {
		return err
	}
	var subCounts []int
	for _, f := range strings.Split(*subsList, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 0 || k > 1000 {
			return fmt.Errorf("-subs: %q is not a count from 0 to 1000", f)
		}
		subCounts = append(subCounts, k)
	}
	if *clients < 1 || *n < *clients {
		return errors.New("-n must be at least -clients, and -clients at least 1")
	}
	ctx := context.Background()
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}
	c := &client{base: *base, http: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
	wsURL := "ws" + strings.TrimPrefix(*base, "http") + "/xrpc/com.atproto.sync.subscribeRepos"

	accts := make([]*account, *clients)
	for i := range accts {
		a, err := c.createAccount(ctx, fmt.Sprintf("%s-fh%d.test", *prefix, i))
		if err != nil {
			return err
		}
		accts[i] = a
	}
	// Warm up connections and code paths.
	if _, err := writeAll(ctx, c, accts, 5*len(accts)); err != nil {
		return err
	}
	res := FirehoseResult{Label: *label, URL: *base, Clients: *clients, N: *n}
	for _, k := range subCounts {
		var best *FirehosePhase
		for r := 0; r < *runs; r++ {
			p, err := firehosePhase(ctx, c, wsURL, accts, k, *n, *maxTime)
			if err != nil {
				return fmt.Errorf("%d subscribers: %w", k, err)
			}
			fmt.Fprintf(os.Stderr, "%s: %d subscribers: writes %.0f/s p50 %.2f ms p99 %.2f ms; delivered %.0f events/s per subscriber (%.0f in all), %d missing\n",
				*label, k, p.WritesPerSec, p.WriteP50Ms, p.WriteP99Ms, p.PerSubPerSec, p.TotalPerSec, p.Missing)
			if best == nil || better(p, best) {
				best = p
			}
		}
		res.Phases = append(res.Phases, *best)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

func better(a, b *FirehosePhase) bool {
	if a.Missing != b.Missing {
		return a.Missing < b.Missing
	}
	if a.Subs == 0 {
		return a.WritesPerSec > b.WritesPerSec
	}
	return a.PerSubPerSec > b.PerSubPerSec
}

type writeStats struct {
	done     int
	lat      []time.Duration
	start    time.Time
	duration time.Duration
}

// writeAll has one client per account write n records in total.
func writeAll(ctx context.Context, c *client, accts []*account, n int) (*writeStats, error) {
	st := &writeStats{start: time.Now()}
	lat, err := c.writePosts(ctx, accts, n/len(accts), time.Time{}, nil)
	st.duration = time.Since(st.start)
	if err != nil {
		return nil, err
	}
	st.lat, st.done = lat, len(lat)
	return st, nil
}

// firehosePhase runs one measured phase with k subscribers.
func firehosePhase(ctx context.Context, c *client, wsURL string, accts []*account, k, n int, maxTime time.Duration) (*FirehosePhase, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	subs := make([]*subscriber, k)
	ready := make(chan error, k)
	for i := range subs {
		subs[i] = &subscriber{check: i == 0}
		go subs[i].run(sctx, wsURL, ready)
	}
	for range subs {
		if err := <-ready; err != nil {
			return nil, fmt.Errorf("subscribing: %w", err)
		}
	}
	// Sentinel writes until every subscriber receives events, then until
	// the counts stop moving: the measured writes start from a quiet state.
	if k > 0 {
		deadline := time.Now().Add(30 * time.Second)
		for !allAtLeast(subs, 1) {
			if time.Now().After(deadline) {
				return nil, errors.New("subscribers received no event in 30 s")
			}
			if _, err := writeAll(ctx, c, accts[:1], 1); err != nil {
				return nil, err
			}
			time.Sleep(100 * time.Millisecond)
		}
		for prev := total(subs); ; {
			time.Sleep(300 * time.Millisecond)
			if cur := total(subs); cur == prev {
				break
			} else {
				prev = cur
			}
		}
	}
	base := make([]int64, k)
	for i, s := range subs {
		base[i] = s.commits.Load()
	}
	ws, err := writeAll(ctx, c, accts, n)
	if err != nil {
		return nil, err
	}
	p := &FirehosePhase{
		Subs: k, Writes: ws.done, WritesPerSec: float64(ws.done) / ws.duration.Seconds(),
		WriteP50Ms: ms(pct(ws.lat, 50)), WriteP99Ms: ms(pct(ws.lat, 99)),
	}
	if k == 0 {
		return p, nil
	}
	want := int64(ws.done)
	stopAt := ws.start.Add(maxTime)
	for time.Now().Before(stopAt) {
		doneAll := true
		for i, s := range subs {
			if e := s.err.Load(); e != nil {
				return nil, fmt.Errorf("subscriber %d: %w", i, *e)
			}
			if s.commits.Load()-base[i] < want {
				doneAll = false
			}
		}
		if doneAll {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	var last int64
	for i, s := range subs {
		got := s.commits.Load() - base[i]
		if got < want {
			p.Missing += want - got
		}
		last = max(last, s.lastNs.Load())
	}
	p.DeliverSec = time.Duration(last - ws.start.UnixNano()).Seconds()
	if p.Missing > 0 {
		p.DeliverSec = maxTime.Seconds()
	}
	p.PerSubPerSec = float64(want) / p.DeliverSec
	p.TotalPerSec = p.PerSubPerSec * float64(k)
	return p, nil
}

func allAtLeast(subs []*subscriber, n int64) bool {
	for _, s := range subs {
		if s.commits.Load() < n {
			return false
		}
	}
	return true
}

func total(subs []*subscriber) int64 {
	var t int64
	for _, s := range subs {
		t += s.commits.Load()
	}
	return t
}

// fhTable prints a Markdown table of `pdsload firehose` results, the first
// one (arbor) in the first column and its ratio to each other one.
func fhTable(files []string) error {
	rs, err := readResults[FirehoseResult](files)
	if err != nil {
		return err
	}
	phase := func(r FirehoseResult, k int) *FirehosePhase {
		for i := range r.Phases {
			if r.Phases[i].Subs == k {
				return &r.Phases[i]
			}
		}
		return nil
	}
	type row = tableRow[FirehoseResult]
	var rows []row
	for _, p := range rs[0].Phases {
		k := p.Subs
		get := func(f func(*FirehosePhase) float64) func(FirehoseResult) float64 {
			return func(r FirehoseResult) float64 {
				if ph := phase(r, k); ph != nil {
					return f(ph)
				}
				return 0
			}
		}
		if k > 0 {
			rows = append(rows,
				row{fmt.Sprintf("events/s delivered to each of %d subscriber(s)", k), get(func(p *FirehosePhase) float64 { return p.PerSubPerSec }), "%.0f", true})
			if k > 1 {
				rows = append(rows, row{fmt.Sprintf("events/s delivered, sum over %d subscribers", k), get(func(p *FirehosePhase) float64 { return p.TotalPerSec }), "%.0f", true})
			}
		}
		rows = append(rows,
			row{fmt.Sprintf("createRecord, %d clients, %d subscribers (records/s)", rs[0].Clients, k), get(func(p *FirehosePhase) float64 { return p.WritesPerSec }), "%.0f", true},
			row{fmt.Sprintf("createRecord p50, %d subscribers (ms)", k), get(func(p *FirehosePhase) float64 { return p.WriteP50Ms }), "%.2f", false},
			row{fmt.Sprintf("createRecord p99, %d subscribers (ms)", k), get(func(p *FirehosePhase) float64 { return p.WriteP99Ms }), "%.2f", false},
		)
		if k > 0 && phase(rs[0], 0) != nil {
			rows = append(rows, row{fmt.Sprintf("p50 latency added by %d subscribers (ms)", k), get(func(p *FirehosePhase) float64 { return p.WriteP50Ms }), "added", false})
		}
	}
	labels := make([]string, len(rs))
	for i, r := range rs {
		labels[i] = r.Label
	}
	printTableHeader(labels)
	for _, rw := range rows {
		if rw.format == "added" {
			// The p50 with subscribers minus the p50 without: no ratio
			// (a difference near zero makes one meaningless).
			fmt.Printf("| %s |", rw.name)
			for _, r := range rs {
				if p0 := phase(r, 0); p0 != nil && rw.val(r) != 0 {
					fmt.Printf(" %+.2f |", rw.val(r)-p0.WriteP50Ms)
				} else {
					fmt.Print(" n/a |")
				}
			}
			for range rs[1:] {
				fmt.Print(" |")
			}
			fmt.Println()
			continue
		}
		rw.print(rs)
	}
	fmt.Printf("\n%d records written per phase by %d clients (one account each); events/s = records / (first write to the last #commit at every subscriber). Ratios: >1 means arbor is ahead.\n", rs[0].N, rs[0].Clients)
	for _, r := range rs {
		for _, p := range r.Phases {
			if p.Missing > 0 {
				fmt.Printf("%s, %d subscribers: %d frames not received within the time limit.\n", r.Label, p.Subs, p.Missing)
			}
		}
	}
	return nil
}
