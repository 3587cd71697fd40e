package atomicfile

import "io"

// asyncWriter buffers writes and hands each full buffer to a goroutine
// that writes it to w, so that producing the next megabyte overlaps the
// system call writing the last one (a CAR of hundreds of megabytes spends
// a good part of its writing time in the kernel).
type asyncWriter struct {
	buf  []byte
	full chan []byte
	free chan []byte
	done chan struct{}
	err  error // the first write error; read only once fail or done is closed
	fail chan struct{}
	once bool
}

func newAsyncWriter(w io.Writer, size int) *asyncWriter {
	a := &asyncWriter{
		buf:  make([]byte, 0, size),
		full: make(chan []byte, 2),
		free: make(chan []byte, 3),
		done: make(chan struct{}),
		fail: make(chan struct{}),
	}
	for range 2 {
		a.free <- make([]byte, 0, size)
	}
	go func() {
		defer close(a.done)
		for b := range a.full {
			if a.err == nil {
				if _, err := w.Write(b); err != nil {
					a.err = err
					close(a.fail)
				}
			}
			a.free <- b[:0]
		}
	}()
	return a
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		select {
		case <-a.fail: // closed after err is set
			return n, a.err
		default:
		}
		k := copy(a.buf[len(a.buf):cap(a.buf)], p)
		a.buf = a.buf[:len(a.buf)+k]
		p, n = p[k:], n+k
		if len(a.buf) == cap(a.buf) {
			a.full <- a.buf
			a.buf = <-a.free
		}
	}
	return n, nil
}

// Close writes what is buffered, waits for every write to finish and
// returns the first error. The writer cannot be used afterwards.
func (a *asyncWriter) Close() error {
	if a.once {
		return a.err
	}
	a.once = true
	if len(a.buf) > 0 {
		a.full <- a.buf
	}
	close(a.full)
	<-a.done
	return a.err
}
