package hugepages

import "testing"

func TestHugeRangeCoversWholeHugePagesOnly(t *testing.T) {
	const h = Size
	tests := []struct {
		name   string
		p, n   uintptr
		lo, hi uintptr // hi <= lo: none
	}{
		{"aligned, two pages", 4 * h, 2 * h, 0, 2 * h},
		{"aligned, a page and a bit", 4 * h, h + 100, 0, h},
		{"unaligned start", 4*h + 4096, 3 * h, h - 4096, 3*h - 4096},
		{"smaller than a page", 4*h + 10, h - 20, 0, 0},
		{"inside one page, straddling nothing", 4*h + 10, 100, 0, 0},
		{"empty", 4 * h, 0, 0, 0},
		{"crossing one boundary, no whole page", 5*h - 100, 200, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := Range(tc.p, tc.n)
			if hi <= lo && tc.hi <= tc.lo {
				return
			}
			if lo != tc.lo || hi != tc.hi {
				t.Fatalf("Range(%#x, %#x) = [%#x, %#x), want [%#x, %#x)", tc.p, tc.n, lo, hi, tc.lo, tc.hi)
			}
			if (tc.p+lo)%h != 0 || (tc.p+hi)%h != 0 || hi > tc.n {
				t.Fatalf("range [%#x, %#x) is not whole pages within the slice", lo, hi)
			}
		})
	}
}
