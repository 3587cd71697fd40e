//go:build !linux

package hugepages

import "unsafe"

// Advise does nothing here (see the Linux version).
func Advise(unsafe.Pointer, uintptr) {}
