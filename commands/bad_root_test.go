package commands

import (
	"bytes"
	"testing"

	"github.com/ipfs/go-cid"

	gen "github.com/arbor-atproto/arbor/build/hostile"
	"github.com/arbor-atproto/arbor/car"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// A CAR whose root is neither a commit nor an MST node (the root block is
// absent, or is a record) is a failed verification in every command that
// reads the repository through its root, as verify lists it among its
// problems: the same exit (1) everywhere, never "unreadable input" (2),
// which stays for files that are not CARs.
func TestRootThatIsNoRepositoryExitsOneInEveryCommand(t *testing.T) {
	rec, recCID := gen.Record("hello")
	absent, _ := gen.Record("not in the file")
	absentCID := mustCID(t, absent)
	cases := map[string]struct {
		root   cid.Cid
		blocks map[cid.Cid][]byte
	}{
		"root block absent": {absentCID, map[cid.Cid][]byte{recCID: rec}},
		"root is a record":  {recCID, map[cid.Cid][]byte{recCID: rec}},
	}
	commands := map[string][]string{
		"verify":  {"verify"},
		"inspect": {"inspect"},
		"ls":      {"ls"},
		"mst":     {"mst"},
		"get":     {"get", "", "app.bsky.feed.post/k00000000"},
	}
	for name, tc := range cases {
		var buf bytes.Buffer
		w, err := car.NewWriter(&buf, []cid.Cid{tc.root})
		if err != nil {
			t.Fatal(err)
		}
		for c, b := range tc.blocks {
			if err := w.Put(c, b); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		file := writeTemp(t, buf.Bytes())
		for cmd, args := range commands {
			t.Run(name+"/"+cmd, func(t *testing.T) {
				a := append([]string{}, args...)
				if len(a) > 1 {
					a[1] = file
				} else {
					a = append(a, file)
				}
				if r := run(t, "", a...); r.code != ExitFail {
					t.Fatalf("exit %d, want %d (stderr %q)", r.code, ExitFail, r.stderr)
				}
			})
		}
	}
}

func mustCID(t *testing.T, b []byte) cid.Cid {
	t.Helper()
	c, err := cid.V1Builder{Codec: cid.DagCBOR, MhType: 0x12}.Sum(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A block whose bytes are not those of its CID is a failed verification
// (1) in every command that reads the whole file, as in verify; only diff,
// whose 1 means "they differ", calls it input it cannot compare (2).
func TestHashMismatchExitsOneInEveryReader(t *testing.T) {
	for _, name := range []string{"node-wrong-hash", "record-wrong-hash"} {
		file := testfixtures.Path(t, "invalid-repos", name+".car")
		for _, args := range [][]string{
			{"verify", file},
			{"inspect", file},
			{"ls", file},
			{"mst", file},
			{"get", file, "app.bsky.feed.post/k00000000"},
			{"export", file, t.TempDir()},
		} {
			t.Run(name+"/"+args[0], func(t *testing.T) {
				if r := run(t, "", args...); r.code != ExitFail {
					t.Fatalf("exit %d, want %d (stderr %q)", r.code, ExitFail, r.stderr)
				}
			})
		}
	}
}
