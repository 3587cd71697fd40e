//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package car

import "os"

// mapFile reads the file into memory: this platform has no mmap here.
func mapFile(f *os.File) ([]byte, func([]byte) error, error) {
	b, err := readAllFile(f)
	return b, nil, err
}
