// Command pdsload drives a PDS on loopback for bench/pds.sh and prints its
// figures as one JSON object: createRecord throughput with 1 client and with
// C concurrent clients (each writing to its own account, as separate users
// would), getRecord latency (p50/p99, one client), and the time of
// com.atproto.sync.getRepo of a big repository, built by importRepo of a CAR
// that `arbor create` makes for the account's DID.
//
//	pdsload run -url http://localhost:2583 -label arbor -arbor ./arbor -records recs.jsonl -key k.txt > arbor.json
//	pdsload table arbor.json reference.json
//
// Counts and times are bounded (-n, -gets, -max-time); only loopback URLs are
// accepted.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/arbor-atproto/arbor/car"
)

// Result is what one run measured.
type Result struct {
	Label   string `json:"label"`
	URL     string `json:"url"`
	Clients int    `json:"clients"`

	Create1N      int     `json:"create1_n"`
	Create1PerSec float64 `json:"create1_per_sec"`
	Create1P50Ms  float64 `json:"create1_p50_ms"`
	CreateCN      int     `json:"createC_n"`
	CreateCPerSec float64 `json:"createC_per_sec"`
	CreateCP50Ms  float64 `json:"createC_p50_ms"`

	GetN     int     `json:"get_n"`
	GetP50Ms float64 `json:"get_p50_ms"`
	GetP99Ms float64 `json:"get_p99_ms"`

	BigRecords  int     `json:"big_records"`
	ImportSec   float64 `json:"import_sec"`
	GetRepoSec  float64 `json:"getrepo_sec"` // best of the runs
	GetRepoMB   float64 `json:"getrepo_mb"`
	GetRepoBlks int     `json:"getrepo_blocks"`

	// CreateBigN records written afterwards into the big repository by
	// one client: the cost of a commit to a large repository.
	CreateBigN      int     `json:"createbig_n"`
	CreateBigPerSec float64 `json:"createbig_per_sec"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pdsload run|table|firehose|fhtable ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = run(os.Args[2:])
	case "table":
		err = table(os.Args[2:])
	case "firehose":
		err = firehoseCmd(os.Args[2:])
	case "fhtable":
		err = fhTable(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pdsload:", err)
		os.Exit(1)
	}
}

type client struct {
	base string
	http *http.Client
}

// xrpcError is a non-200 answer.
type xrpcError struct {
	status int
	body   string
}

func (e *xrpcError) Error() string { return fmt.Sprintf("HTTP %d: %.300s", e.status, e.body) }

// call does one XRPC request: a JSON body (in != nil) or raw bytes with
// contentType, out decoded from JSON when not nil.
func (c *client) call(ctx context.Context, method, nsid, token string, query url.Values, in any, contentType string, out any) error {
	var body io.Reader
	switch b := in.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return err
		}
		body, contentType = bytes.NewReader(j), "application/json"
	}
	u := c.base + "/xrpc/" + nsid
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return &xrpcError{resp.StatusCode, string(b)}
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

type account struct {
	DID    string `json:"did"`
	Access string `json:"accessJwt"`
}

func (c *client) createAccount(ctx context.Context, handle string) (*account, error) {
	var a account
	in := map[string]any{"handle": handle, "email": handle + "@example.com", "password": "bench-password"}
	if err := c.call(ctx, "POST", "com.atproto.server.createAccount", "", nil, in, "", &a); err != nil {
		return nil, fmt.Errorf("createAccount %s: %w", handle, err)
	}
	return &a, nil
}

func post(i int) map[string]any {
	return map[string]any{
		"$type":     "app.bsky.feed.post",
		"text":      fmt.Sprintf("benchmark post number %d, a sentence of ordinary length for a post", i),
		"createdAt": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"langs":     []string{"en"},
	}
}

type created struct {
	URI string `json:"uri"`
	CID string `json:"cid"`
}

// createRecords writes n posts with len(accts) concurrent clients, one
// account each, and returns the rkeys written per account, the throughput
// and the median latency. It stops early at deadline.
func (c *client) createRecords(ctx context.Context, accts []*account, n int, deadline time.Duration) ([][]string, float64, float64, int, error) {
	rkeys := make([][]string, len(accts))
	start := time.Now()
	lat, err := c.writePosts(ctx, accts, n/len(accts), start.Add(deadline), func(ci int, out created) {
		rkeys[ci] = append(rkeys[ci], filepath.Base(out.URI))
	})
	el := time.Since(start)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return rkeys, float64(len(lat)) / el.Seconds(), ms(pct(lat, 50)), len(lat), nil
}

// writePosts has one client per account write per posts, all accounts at
// once, until stopAt (never, when zero). Each answer goes to onCreated (when
// not nil) with the account's index, from that account's goroutine. It
// returns the latency of every write, and the first error (a client stops
// at its first).
func (c *client) writePosts(ctx context.Context, accts []*account, per int, stopAt time.Time, onCreated func(ci int, out created)) ([]time.Duration, error) {
	var (
		mu    sync.Mutex
		lat   = make([]time.Duration, 0, per*len(accts))
		first error
		wg    sync.WaitGroup
	)
	for ci, a := range accts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per && (stopAt.IsZero() || time.Now().Before(stopAt)); i++ {
				t0 := time.Now()
				var out created
				var into any
				if onCreated != nil {
					into = &out
				}
				in := map[string]any{"repo": a.DID, "collection": "app.bsky.feed.post", "record": post(i)}
				err := c.call(ctx, "POST", "com.atproto.repo.createRecord", a.Access, nil, in, "", into)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				lat = append(lat, d)
				mu.Unlock()
				if onCreated != nil {
					onCreated(ci, out)
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return lat, fmt.Errorf("createRecord: %w", first)
	}
	return lat, nil
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	h := u.Hostname()
	if h == "localhost" {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback URL", raw)
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	base := fs.String("url", "", "PDS base URL (loopback only)")
	label := fs.String("label", "", "name of the server in the table")
	n1 := fs.Int("n", 2000, "records written by the single client")
	clients := fs.Int("clients", 20, "concurrent clients in the second createRecord run")
	nc := fs.Int("nc", 4000, "records written in total by the concurrent clients")
	gets := fs.Int("gets", 2000, "getRecord requests")
	maxTime := fs.Duration("max-time", 90*time.Second, "time limit of each createRecord run")
	arbor := fs.String("arbor", "", "arbor binary (for `arbor create`); empty: skip getRepo")
	records := fs.String("records", "", "JSON-lines records of the big repository")
	key := fs.String("key", "", "signing key file for `arbor create`")
	work := fs.String("work", os.TempDir(), "directory for the big repository's CAR")
	getRepoRuns := fs.Int("getrepo-runs", 3, "getRepo downloads (best is reported)")
	nBig := fs.Int("nbig", 500, "records written into the big repository after getRepo")
	prefix := fs.String("handle-prefix", "b", "handle prefix (handles are PREFIX-NAME.test)")
	fs.Parse(args)
	if err := checkLoopback(*base); err != nil {
		return err
	}
	ctx := context.Background()
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}
	c := &client{base: *base, http: &http.Client{Transport: tr, Timeout: 10 * time.Minute}}
	res := Result{Label: *label, URL: *base, Clients: *clients}

	accts := make([]*account, *clients+1)
	for i := range accts {
		a, err := c.createAccount(ctx, fmt.Sprintf("%s-load%d.test", *prefix, i))
		if err != nil {
			return err
		}
		accts[i] = a
	}
	// Warm up connections and code paths on an account not measured.
	if _, _, _, _, err := c.createRecords(ctx, accts[len(accts)-1:], 50, *maxTime); err != nil {
		return err
	}
	rk1, rate, p50, done, err := c.createRecords(ctx, accts[:1], *n1, *maxTime)
	if err != nil {
		return err
	}
	res.Create1N, res.Create1PerSec, res.Create1P50Ms = done, rate, p50
	fmt.Fprintf(os.Stderr, "%s: createRecord, 1 client: %d in %.0f/s\n", *label, done, rate)
	_, rate, p50, done, err = c.createRecords(ctx, accts[1:*clients+1], *nc, *maxTime)
	if err != nil {
		return err
	}
	res.CreateCN, res.CreateCPerSec, res.CreateCP50Ms = done, rate, p50
	fmt.Fprintf(os.Stderr, "%s: createRecord, %d clients: %d in %.0f/s\n", *label, *clients, done, rate)

	// getRecord: random records of the single client's repository.
	rng := rand.New(rand.NewPCG(1, 2))
	keys := rk1[0]
	if len(keys) == 0 {
		return errors.New("no records to read")
	}
	lat := make([]time.Duration, 0, *gets)
	for i := 0; i < *gets; i++ {
		q := url.Values{"repo": {accts[0].DID}, "collection": {"app.bsky.feed.post"}, "rkey": {keys[rng.IntN(len(keys))]}}
		t0 := time.Now()
		if err := c.call(ctx, "GET", "com.atproto.repo.getRecord", "", q, nil, "", nil); err != nil {
			return fmt.Errorf("getRecord: %w", err)
		}
		lat = append(lat, time.Since(t0))
	}
	res.GetN, res.GetP50Ms, res.GetP99Ms = len(lat), ms(pct(lat, 50)), ms(pct(lat, 99))
	fmt.Fprintf(os.Stderr, "%s: getRecord p50 %.3f ms p99 %.3f ms\n", *label, res.GetP50Ms, res.GetP99Ms)

	if *arbor != "" {
		if err := bigRepo(ctx, c, &res, *prefix, *arbor, *records, *key, *work, *getRepoRuns, *nBig, *maxTime); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// bigRepo imports the records as a new account's repository, then times
// sync.getRepo of it.
func bigRepo(ctx context.Context, c *client, res *Result, prefix, arbor, records, key, work string, runs, nBig int, maxTime time.Duration) error {
	a, err := c.createAccount(ctx, prefix+"-big.test")
	if err != nil {
		return err
	}
	carPath := filepath.Join(work, prefix+"-big.car")
	cmd := exec.Command(arbor, "create", "--json", "--did", a.DID, "--key", key, carPath, records)
	cmd.Stderr = os.Stderr
	if out, err := cmd.Output(); err != nil {
		return fmt.Errorf("arbor create: %w (%s)", err, out)
	}
	data, err := os.ReadFile(carPath)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := c.call(ctx, "POST", "com.atproto.repo.importRepo", a.Access, nil, data, "application/vnd.ipld.car", nil); err != nil {
		return fmt.Errorf("importRepo: %w", err)
	}
	res.ImportSec = time.Since(t0).Seconds()
	fmt.Fprintf(os.Stderr, "%s: importRepo of %d bytes: %.2f s\n", res.Label, len(data), res.ImportSec)
	best := time.Duration(0)
	var body []byte
	for i := 0; i < runs; i++ {
		t0 := time.Now()
		req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/xrpc/com.atproto.sync.getRepo?did="+url.QueryEscape(a.DID), nil)
		if err != nil {
			return err
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return err
		}
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("getRepo: HTTP %d: %.300s", resp.StatusCode, body)
		}
		if d := time.Since(t0); best == 0 || d < best {
			best = d
		}
	}
	// Not timed: the answer must be a whole, hash-checked CAR.
	r, err := car.NewReader(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("getRepo answer: %w", err)
	}
	n := 0
	for {
		if _, err := r.Next(); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("getRepo answer, block %d: %w", n, err)
		}
		n++
	}
	recs, err := countLines(records)
	if err != nil {
		return err
	}
	if n < recs {
		return fmt.Errorf("getRepo answer has %d blocks for %d records", n, recs)
	}
	res.BigRecords, res.GetRepoSec, res.GetRepoMB, res.GetRepoBlks = recs, best.Seconds(), float64(len(body))/1e6, n
	fmt.Fprintf(os.Stderr, "%s: getRepo of %d records (%d blocks, %.1f MB): %.3f s\n", res.Label, recs, n, res.GetRepoMB, res.GetRepoSec)
	if nBig > 0 {
		_, rate, _, done, err := c.createRecords(ctx, []*account{a}, nBig, maxTime)
		if err != nil {
			return err
		}
		res.CreateBigN, res.CreateBigPerSec = done, rate
		fmt.Fprintf(os.Stderr, "%s: createRecord into the %d-record repo, 1 client: %d in %.0f/s\n", res.Label, recs, done, rate)
	}
	return nil
}

func countLines(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return bytes.Count(b, []byte{'\n'}), nil
}

// table prints a Markdown table of result files, the first one (arbor) in
// the first column and its ratio to each other one.
func table(files []string) error {
	rs, err := readResults[Result](files)
	if err != nil {
		return err
	}
	type row = tableRow[Result]
	rows := []row{
		{"createRecord, 1 client (records/s)", func(r Result) float64 { return r.Create1PerSec }, "%.0f", true},
		{"createRecord, 1 client, p50 (ms)", func(r Result) float64 { return r.Create1P50Ms }, "%.2f", false},
		{fmt.Sprintf("createRecord, %d clients (records/s)", rs[0].Clients), func(r Result) float64 { return r.CreateCPerSec }, "%.0f", true},
		{fmt.Sprintf("createRecord, %d clients, p50 (ms)", rs[0].Clients), func(r Result) float64 { return r.CreateCP50Ms }, "%.2f", false},
		{"getRecord p50 (ms)", func(r Result) float64 { return r.GetP50Ms }, "%.3f", false},
		{"getRecord p99 (ms)", func(r Result) float64 { return r.GetP99Ms }, "%.3f", false},
		{fmt.Sprintf("sync.getRepo, %d records (s)", rs[0].BigRecords), func(r Result) float64 { return r.GetRepoSec }, "%.3f", false},
		{"createRecord into that repo, 1 client (records/s)", func(r Result) float64 { return r.CreateBigPerSec }, "%.0f", true},
		{"importRepo of that repo (s, not a target)", func(r Result) float64 { return r.ImportSec }, "%.2f", false},
	}
	labels := make([]string, len(rs))
	for i, r := range rs {
		labels[i] = r.Label
	}
	printTableHeader(labels)
	for _, rw := range rows {
		rw.print(rs)
	}
	fmt.Printf("\nratios: how many times better arbor is (higher throughput, or lower time); >1 means ahead. createRecord with %d clients: one account per client. getRecord: one client, random records of a %d-record repo.\n", rs[0].Clients, rs[0].Create1N)
	return nil
}
