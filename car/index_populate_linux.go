//go:build linux

package car

import "golang.org/x/sys/unix"

// populate asks the kernel to map the pages of data[lo:hi] (a part of a
// file mapping) into the process now, so that the first read of a block
// there does not take a page fault. The framing scan calls it, on its own
// goroutine, for the parts of the file where it found MST nodes, which a
// tree walk is about to read. Failure only loses the head start.
func populate(data []byte, lo, hi int64) {
	const page = 4096
	lo &^= page - 1
	if hi > int64(len(data)) {
		hi = int64(len(data))
	}
	if lo >= hi {
		return
	}
	_ = unix.Madvise(data[lo:hi], unix.MADV_POPULATE_READ)
}
