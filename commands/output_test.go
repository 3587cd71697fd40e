package commands

import "testing"

func TestCountsForPeople(t *testing.T) {
	cases := []struct {
		got, want string
	}{
		{count(0, "record"), "0 records"},
		{count(1, "record"), "1 record"},
		{count(2, "problem"), "2 problems"},
		{count(1, "node"), "1 node"},
		{count(1000, "block"), "1,000 blocks"},
		{count(1000000, "record"), "1,000,000 records"},
		{count(int64(1234567890), "byte"), "1,234,567,890 bytes"},
		{count(1, "entry"), "1 entry"},
		{count(3, "entry"), "3 entries"},
		{count(2, "key"), "2 keys"},
		{count(2, "match"), "2 matches"},
		{num(999), "999"},
		{num(-12345), "-12,345"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
