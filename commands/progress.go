package commands

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-atproto/arbor/build"
)

// progress draws a one-line progress indicator on stderr while long work
// runs, only when stderr is a terminal. The work goes through phases
// (reading, building the tree, writing, checking...): each shows its name
// and the time it has taken, and, when its size is known, how far it has
// got, its rate and the time left. Calls on a disabled progress do nothing,
// so commands use it unconditionally.
type progress struct {
	w    io.Writer
	stop chan struct{}
	done sync.WaitGroup

	mu    sync.Mutex
	ph    phase
	start time.Time // of the phase
}

// phase is what the line shows: a label, and optionally a count out of a
// total (bytes when unit is "", else a count of units).
type phase struct {
	label string
	total int64
	unit  string
	read  func() int64
}

// startProgress starts drawing; read reports how far the work has got, out
// of total bytes (0 if unknown). A nil read shows the label and the time
// taken only.
func startProgress(w io.Writer, label string, total int64, read func() int64) *progress {
	return startPhases(w, phase{label: label, total: total, read: read})
}

// startStatus starts a line that shows label and the time taken, for work
// whose progress cannot be measured.
func startStatus(w io.Writer, label string) *progress {
	return startPhases(w, phase{label: label})
}

func startPhases(w io.Writer, first phase) *progress {
	p := &progress{w: w, ph: first, start: time.Now()}
	if !isTerminal(w) {
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

// Phase moves the line on to the next phase of the work: label, and how far
// it has got (read) out of total units (unit "" for bytes; total 0 or read
// nil when unknown).
func (p *progress) Phase(label string, total int64, unit string, read func() int64) {
	if p == nil || p.stop == nil {
		return
	}
	p.mu.Lock()
	p.ph = phase{label: label, total: total, unit: unit, read: read}
	p.start = time.Now()
	p.mu.Unlock()
}

func (p *progress) draw() {
	p.mu.Lock()
	ph, since := p.ph, time.Since(p.start)
	p.mu.Unlock()
	var n int64 = -1
	if ph.read != nil {
		n = ph.read()
	}
	fmt.Fprintf(p.w, "\r\033[K%s", progressLine(ph, n, since))
}

// progressLine renders one phase that has got to n (-1: not measured) after
// elapsed: "writing out.car  42.0% (531,000 of 1,266,886 blocks), 95,000
// blocks/s, 8s left".
func progressLine(ph phase, n int64, elapsed time.Duration) string {
	amount := func(v int64) string {
		if ph.unit == "" {
			return humanBytes(v)
		}
		return num(v)
	}
	s := ph.label
	switch {
	case n < 0:
		return fmt.Sprintf("%s… %s", s, roundDuration(elapsed))
	case ph.total > 0:
		of := amount(ph.total)
		if ph.unit != "" {
			of = count(ph.total, ph.unit)
		}
		s = fmt.Sprintf("%s %5.1f%% (%s of %s)", s, 100*float64(min(n, ph.total))/float64(ph.total), amount(n), of)
	case ph.unit != "":
		s = fmt.Sprintf("%s %s", s, count(n, ph.unit))
	default:
		s = fmt.Sprintf("%s %s", s, humanBytes(n))
	}
	if elapsed < 500*time.Millisecond || n <= 0 {
		return s
	}
	rate := float64(n) / elapsed.Seconds()
	if ph.unit == "" {
		s += fmt.Sprintf(", %s/s", humanBytes(int64(rate)))
	} else {
		s += fmt.Sprintf(", %s %s/s", num(int64(rate)), pluralOf(ph.unit))
	}
	if ph.total > n {
		s += fmt.Sprintf(", %s left", roundDuration(time.Duration(float64(ph.total-n)/rate*float64(time.Second))))
	}
	return s
}

func roundDuration(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// Stop clears the line.
func (p *progress) Stop() {
	if p == nil || p.stop == nil {
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

// buildPhases returns a build.ProgressFunc that moves p through the phases
// the build package reports, each labelled by label(phase); nil when p is
// disabled (the build package then reports nothing).
func (p *progress) buildPhases(label func(phase string) string) build.ProgressFunc {
	if p == nil || p.stop == nil {
		return nil
	}
	var (
		done atomic.Int64
		mu   sync.Mutex
		last string
	)
	return func(phase, unit string, d, total int64) {
		done.Store(d)
		mu.Lock()
		defer mu.Unlock()
		if phase == last {
			return
		}
		last = phase
		if total > 0 {
			p.Phase(label(phase), total, unit, done.Load)
		} else {
			p.Phase(label(phase), 0, "", nil)
		}
	}
}
