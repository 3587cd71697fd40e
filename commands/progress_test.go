package commands

import (
	"bytes"
	"testing"
	"time"
)

// TestProgressLineShowsPhaseRateAndTimeLeft pins what the progress line
// says in each kind of phase: measured with a total (percent, rate, time
// left), measured without one (amount and rate), not measured (the time
// taken), and nothing about rate in the first half second.
func TestProgressLineShowsPhaseRateAndTimeLeft(t *testing.T) {
	cases := []struct {
		name    string
		ph      phase
		n       int64
		elapsed time.Duration
		want    string
	}{
		{"bytes with total", phase{label: "reading x.car", total: 100 << 20}, 25 << 20, 2 * time.Second,
			"reading x.car  25.0% (25.0 MiB of 100.0 MiB), 12.5 MiB/s, 6s left"},
		{"records with total", phase{label: "writing out.car", total: 1_000_000, unit: "record"}, 250_000, 5 * time.Second,
			"writing out.car  25.0% (250,000 of 1,000,000 records), 50,000 records/s, 15s left"},
		{"done: no time left", phase{label: "writing", total: 10, unit: "record"}, 10, time.Second,
			"writing 100.0% (10 of 10 records), 10 records/s"},
		{"bytes without total", phase{label: "reading standard input"}, 3 << 20, time.Second,
			"reading standard input 3.0 MiB, 3.0 MiB/s"},
		{"not measured", phase{label: "verifying x.car"}, -1, 2300 * time.Millisecond,
			"verifying x.car… 2.3s"},
		{"too early for a rate", phase{label: "reading x.car", total: 1000}, 10, 100 * time.Millisecond,
			"reading x.car   1.0% (10 B of 1000 B)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := progressLine(c.ph, c.n, c.elapsed); got != c.want {
				t.Fatalf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestProgressIsSilentOffATerminal: not on a terminal (a buffer, a pipe, a
// file) nothing is drawn, whatever the phases, and the build callback is
// nil so the core reports nothing.
func TestProgressIsSilentOffATerminal(t *testing.T) {
	var b bytes.Buffer
	p := startProgress(&b, "reading", 10, func() int64 { return 5 })
	p.Phase("writing", 10, "record", func() int64 { return 1 })
	if f := p.buildPhases(func(s string) string { return s }); f != nil {
		t.Fatal("a disabled progress gives a build callback")
	}
	p.Stop()
	st := startStatus(&b, "verifying")
	st.Stop()
	if b.Len() != 0 {
		t.Fatalf("wrote %q off a terminal", b.String())
	}
}
