package pds

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Crawlers, as the reference PDS has them (--crawler): each relay is asked
// to crawl the server (POST com.atproto.sync.requestCrawl {hostname}) when
// the server starts and after writes, at most once every crawlInterval.
// Requests run in the background; a failure is reported to Config.Log and
// otherwise ignored, as the reference does.

// crawlInterval is the reference's 20 minutes.
const crawlInterval = 20 * time.Minute

// crawlers asks relays to crawl the server.
type crawlers struct {
	urls     []string
	hostname string
	client   *http.Client
	now      func() time.Time
	report   func(error)

	mu     sync.Mutex
	last   time.Time
	asked  bool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newCrawlers(cfg Config, report func(error)) (*crawlers, error) {
	for _, c := range cfg.Crawlers {
		u, err := url.Parse(c)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("pds: crawler %q is not an http(s) URL", c)
		}
	}
	u, _ := url.Parse(cfg.PublicURL)
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &crawlers{urls: cfg.Crawlers, hostname: u.Host, client: client, now: cfg.Now, report: report, ctx: ctx, cancel: cancel}, nil
}

// notify asks every relay to crawl, unless it was asked less than
// crawlInterval ago.
func (c *crawlers) notify() {
	if c == nil || len(c.urls) == 0 {
		return
	}
	c.mu.Lock()
	now := c.now()
	if c.asked && now.Sub(c.last) < crawlInterval || c.ctx.Err() != nil {
		c.mu.Unlock()
		return
	}
	c.asked, c.last = true, now
	c.wg.Add(len(c.urls))
	c.mu.Unlock()
	for _, base := range c.urls {
		go func() {
			defer c.wg.Done()
			if err := c.requestCrawl(base); err != nil && c.report != nil {
				c.report(err)
			}
		}()
	}
}

func (c *crawlers) requestCrawl(base string) error {
	body, _ := json.Marshal(map[string]string{"hostname": c.hostname})
	req, err := http.NewRequestWithContext(c.ctx, http.MethodPost, strings.TrimRight(base, "/")+"/xrpc/com.atproto.sync.requestCrawl", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("requestCrawl to %s: %w", base, err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("requestCrawl to %s: %s %s", base, res.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// close stops the requests under way and waits for them.
func (c *crawlers) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.cancel()
	c.mu.Unlock()
	c.wg.Wait()
}
