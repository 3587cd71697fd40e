package firehose

import (
	"bytes"
	"testing"
)

// FuzzDecodeFrame: DecodeFrame never panics, and what it accepts encodes
// back to the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	for _, ev := range sampleEvents(f) {
		b, err := EncodeFrame(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	_, evs := history(f)
	for _, ev := range evs {
		b, _ := EncodeFrame(ev)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeFrame(b)
		if err != nil {
			return
		}
		out, err := EncodeFrame(ev)
		if err != nil {
			t.Fatalf("accepted frame does not encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("round trip changed the frame:\n in %x\nout %x", b, out)
		}
	})
}
