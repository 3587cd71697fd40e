//go:build race

package car

// raceDetector: the race detector allocates on its own account, which
// throws off the tests that count allocations.
const raceDetector = true
