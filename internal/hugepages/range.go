package hugepages

// Size is the size of a transparent huge page on the platforms that
// have them (x86-64 and arm64 with 4 KiB pages).
const Size = 2 << 20

// Range returns the part [lo, hi) of n bytes at address p that whole
// huge pages cover (relative to p); hi <= lo when none does.
func Range(p, n uintptr) (lo, hi uintptr) {
	start := (p + Size - 1) &^ (Size - 1)
	end := (p + n) &^ (Size - 1)
	if p+n < p || end <= start {
		return 0, 0
	}
	return start - p, end - p
}
