//go:build linux

package hugepages

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Advise asks the kernel to back the memory of a large table, n bytes at
// p, with transparent huge pages where it can (the part whole huge pages
// cover, see Range). Only memory not yet touched is affected at once,
// which is what a freshly made table is; failure (huge pages off, an old
// kernel) only loses the gain.
func Advise(p unsafe.Pointer, n uintptr) {
	if lo, hi := Range(uintptr(p), n); hi > lo {
		_ = unix.Madvise(unsafe.Slice((*byte)(p), n)[lo:hi], unix.MADV_HUGEPAGE)
	}
}
