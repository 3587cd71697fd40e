package commands

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress draws a one-line progress indicator on stderr while long work
// runs, only when stderr is a terminal. Calls on a disabled progress do
// nothing, so commands use it unconditionally.
type progress struct {
	w     io.Writer
	label string
	total int64
	read  func() int64
	stop  chan struct{}
	done  sync.WaitGroup
}

// startProgress starts drawing; read reports how far the work has got, out
// of total bytes (0 if unknown).
func startProgress(w io.Writer, label string, total int64, read func() int64) *progress {
	p := &progress{w: w, label: label, total: total, read: read}
	if !isTerminal(w) || read == nil {
		return p
	}
	p.stop = make(chan struct{})
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(150 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

func (p *progress) draw() {
	n := p.read()
	if p.total > 0 {
		fmt.Fprintf(p.w, "\r\033[K%s %5.1f%% (%s of %s)", p.label, 100*float64(n)/float64(p.total), humanBytes(n), humanBytes(p.total))
		return
	}
	fmt.Fprintf(p.w, "\r\033[K%s %s", p.label, humanBytes(n))
}

// Stop clears the line.
func (p *progress) Stop() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	p.done.Wait()
	p.stop = nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
