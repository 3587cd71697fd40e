package atomicfile

import (
	"bytes"
	"errors"
	"testing"
)

// failingWriter fails every write after the first ok bytes.
type failingWriter struct{ ok int }

var errDiskFull = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.ok {
		n := f.ok
		f.ok = 0
		return n, errDiskFull
	}
	f.ok -= len(p)
	return len(p), nil
}

// TestAsyncWriterWritesEverythingInOrderOrReportsTheFailure.
func TestAsyncWriterWritesEverythingInOrderOrReportsTheFailure(t *testing.T) {
	data := make([]byte, 5<<20+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, chunk := range []int{1, 1000, 1 << 20, 3 << 20} {
		var out bytes.Buffer
		a := newAsyncWriter(&out, 1<<20)
		for p := data; len(p) > 0; {
			k := min(chunk, len(p))
			if _, err := a.Write(p[:k]); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("writes of %d bytes: output differs", chunk)
		}
	}
	a := newAsyncWriter(&failingWriter{ok: 1 << 20}, 1<<20)
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		_, err = a.Write(data)
	}
	if cerr := a.Close(); !errors.Is(err, errDiskFull) && !errors.Is(cerr, errDiskFull) {
		t.Fatalf("Write error %v, Close error %v; want the disk-full error", err, cerr)
	}
}
