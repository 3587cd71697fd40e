package sentinel

import (
	"errors"
	"fmt"
	"testing"
)

// TestAliasSaysItsOwnWordsAndMatchesTheOwner: the alias prints its own
// message, errors.Is matches it and its owner (also through a wrap), and
// not another sentinel.
func TestAliasSaysItsOwnWordsAndMatchesTheOwner(t *testing.T) {
	owner := errors.New("missing block")
	other := errors.New("bad block")
	a := Alias("block missing from the event", owner)
	err := fmt.Errorf("%w: record bafy", a)
	if got := err.Error(); got != "block missing from the event: record bafy" {
		t.Fatalf("message %q", got)
	}
	if !errors.Is(err, a) || !errors.Is(err, owner) {
		t.Fatal("errors.Is does not match the alias and its owner")
	}
	if errors.Is(err, other) {
		t.Fatal("errors.Is matches an unrelated sentinel")
	}
}
