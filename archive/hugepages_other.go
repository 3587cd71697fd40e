//go:build !linux

package archive

import "unsafe"

// adviseHugePages does nothing here (see the Linux version).
func adviseHugePages(unsafe.Pointer, uintptr) {}
