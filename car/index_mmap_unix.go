//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package car

import (
	"os"
	"syscall"
)

// mapFile maps a regular file read-only and returns the bytes and how to
// release them; anything else, or a file the kernel will not map, is read
// into memory instead (release is then nil).
func mapFile(f *os.File) ([]byte, func([]byte) error, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if !st.Mode().IsRegular() || size == 0 || size != int64(int(size)) {
		b, err := readAllFile(f)
		return b, nil, err
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		b, err := readAllFile(f)
		return b, nil, err
	}
	return b, unmap(f.Name()), nil
}

// unmap returns a function that releases a mapping of the file at path.
func unmap(path string) func([]byte) error {
	return func(b []byte) error {
		if err := syscall.Munmap(b); err != nil {
			return &os.PathError{Op: "munmap", Path: path, Err: err}
		}
		return nil
	}
}
