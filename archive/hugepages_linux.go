//go:build linux

package archive

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// adviseHugePages asks the kernel to back the memory of a large table, n
// bytes at p, with transparent huge pages where it can (the 2 MiB-aligned
// part of it, hugeRange). The block table is probed at random: with 4 KiB pages
// nearly every probe of a million-block table also misses the TLB, and a
// page walk costs about as much as the cache miss. Only memory not yet
// touched is affected at once, which is what a freshly made table is;
// failure (huge pages off, an old kernel) only loses the gain.
func adviseHugePages(p unsafe.Pointer, n uintptr) {
	if lo, hi := hugeRange(uintptr(p), n); hi > lo {
		_ = unix.Madvise(unsafe.Slice((*byte)(p), n)[lo:hi], unix.MADV_HUGEPAGE)
	}
}
