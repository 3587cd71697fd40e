package commands

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// fixtureLexicon is what verify --lexicon finds in one repository of
// golden/ or the corpus: record counts, and the invalid records by
// "$type JSON-path rule" of their first issue. Reviewed by hand against
// each fixture's provenance (golden/README.md "Lexicon validation",
// testdata/corpus/README.md "Lexicon validation" say why).
type fixtureLexicon struct {
	file                                        string
	records, valid, invalid, unknown, unchecked int
	rules                                       map[string]int
}

var fixtureLexicons = []fixtureLexicon{
	{"golden/diffs/create-one/new.car", 501, 327, 174, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 150, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/create-one/old.car", 500, 326, 174, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 150, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/create-one/slice.car", 18, 1, 0, 0, 17, map[string]int{}},
	{"golden/diffs/delete-collection/new.car", 400, 226, 174, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 150, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/delete-collection/old.car", 500, 326, 174, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 150, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/delete-collection/slice.car", 8, 0, 0, 0, 8, map[string]int{}},
	{"golden/diffs/delete-one/new.car", 499, 326, 173, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 149, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/delete-one/old.car", 500, 326, 174, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 150, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/delete-one/slice.car", 27, 0, 0, 0, 27, map[string]int{}},
	{"golden/diffs/mixed-100/new.car", 510, 332, 178, 0, 0, map[string]int{"app.bsky.actor.profile $.avatar blob-accept": 1, "app.bsky.feed.like $.subject.cid type": 153, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/mixed-100/old.car", 500, 326, 174, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 150, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/mixed-100/slice.car", 327, 44, 26, 0, 257, map[string]int{"app.bsky.actor.profile $.avatar blob-accept": 1, "app.bsky.feed.like $.subject.cid type": 22, "app.bsky.feed.post $.text graphemes": 3}},
	{"golden/diffs/move-record/new.car", 500, 326, 174, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 150, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/move-record/old.car", 500, 326, 174, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 150, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/move-record/slice.car", 37, 0, 0, 0, 37, map[string]int{}},
	{"golden/diffs/noop/new.car", 500, 326, 174, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 150, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/noop/old.car", 500, 326, 174, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 150, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/noop/slice.car", 0, 0, 0, 0, 0, map[string]int{}},
	{"golden/diffs/update-one/new.car", 500, 326, 174, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 150, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/update-one/old.car", 500, 326, 174, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 150, "app.bsky.feed.post $.text graphemes": 24}},
	{"golden/diffs/update-one/slice.car", 22, 1, 0, 0, 21, map[string]int{}},
	{"golden/repos/empty.car", 0, 0, 0, 0, 0, map[string]int{}},
	{"golden/repos/noncanonical-flat.car", 20, 14, 6, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 6}},
	{"golden/repos/one.car", 1, 1, 0, 0, 0, map[string]int{}},
	{"golden/repos/p256-50.car", 50, 33, 17, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 15, "app.bsky.feed.post $.text graphemes": 2}},
	{"golden/repos/r2000.car", 2000, 1300, 700, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 600, "app.bsky.feed.post $.text graphemes": 100}},
	{"golden/repos/r300.car", 300, 196, 104, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 90, "app.bsky.feed.post $.text graphemes": 14}},
	{"golden/repos/ten.car", 10, 7, 3, 0, 0, map[string]int{"app.bsky.feed.like $.subject.cid type": 3}},
	{"corpus/arroba/arroba/tests/snarfed2.car", 5, 5, 0, 0, 0, map[string]int{}},
	{"corpus/dnproto/test/mst/msttest-01-new.car", 0, 0, 0, 0, 0, map[string]int{}},
	{"corpus/dnproto/test/mst/msttest-02-login.car", 0, 0, 0, 0, 0, map[string]int{}},
	{"corpus/dnproto/test/mst/msttest-03-setprofile.car", 1, 1, 0, 0, 0, map[string]int{}},
	{"corpus/dnproto/test/mst/msttest-04-firstpost.car", 2, 2, 0, 0, 0, map[string]int{}},
	{"corpus/dnproto/test/mst/msttest-05-firstlike.car", 3, 3, 0, 0, 0, map[string]int{}},
	{"corpus/dnproto/test/mst/msttest-06-reply.car", 4, 4, 0, 0, 0, map[string]int{}},
	{"corpus/dnproto/test/mst/msttest-07-handlechange.car", 4, 4, 0, 0, 0, map[string]int{}},
	{"corpus/indigo/atproto/repo/testdata/bnewbold.robocracy.org.20250310005405.car", 38, 35, 0, 3, 0, map[string]int{}},
	{"corpus/indigo/testing/testdata/bafyreieovfuizojpw3zresz7sx3nk4trm2by23pt5rxbey3jme4uo5ogiu.car", 6, 6, 0, 0, 0, map[string]int{}},
	{"corpus/indigo/testing/testdata/fakermaker.repo.car", 142, 142, 0, 0, 0, map[string]int{}},
	{"corpus/indigo/testing/testdata/greenground.repo.car", 2, 2, 0, 0, 0, map[string]int{}},
	{"corpus/indigo/testing/testdata/paul_staging.repo.car", 185, 185, 0, 0, 0, map[string]int{}},
	{"corpus/indigo/testing/testdata/repo_slice.car", 5, 1, 0, 0, 4, map[string]int{}},
	{"corpus/rsky/rsky-repo/resources/test/valid_repo.car", 6, 6, 0, 0, 0, map[string]int{}},
}

// TestLexiconOnEveryFixtureRepo runs verify --lexicon on every CAR of
// golden/ and testdata/corpus and compares with the reviewed table: a CAR
// not in the table fails (review it and explain it in the README).
func TestLexiconOnEveryFixtureRepo(t *testing.T) {
	root := testfixtures.Root(t)
	want := map[string]fixtureLexicon{}
	for _, f := range fixtureLexicons {
		want[f.file] = f
	}
	var cars []string
	for _, pat := range []string{"golden/repos/*.car", "golden/diffs/*/*.car"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		cars = append(cars, m...)
	}
	for _, pat := range []string{"corpus/*/*.car", "corpus/*/*/*.car", "corpus/*/*/*/*.car", "corpus/*/*/*/*/*.car", "corpus/*/*/*/*/*/*.car"} {
		cars = append(cars, testfixtures.Glob(t, pat)...)
	}
	sort.Strings(cars)
	seen := 0
	for _, car := range cars {
		rel, _ := filepath.Rel(root, car)
		rel = strings.TrimPrefix(filepath.ToSlash(rel), "testdata/")
		w, ok := want[rel]
		if !ok {
			t.Errorf("%s is not in fixtureLexicons: review its verify --lexicon result and add it", rel)
			continue
		}
		seen++
		var rep archive.VerifyReport
		runJSON(t, &rep, "verify", "--json", "--lexicon", car)
		lx := rep.Lexicon
		if lx == nil {
			t.Errorf("%s: no lexicon report", rel)
			continue
		}
		unchecked := 0
		for _, cv := range lx.Collections {
			unchecked += cv.Unchecked
		}
		got := map[string]int{}
		for _, ir := range lx.InvalidRecords {
			got[fmt.Sprintf("%s %s %s", ir.Type, ir.Issues[0].Path, ir.Issues[0].Rule)]++
		}
		if lx.Records != w.records || lx.Valid != w.valid || lx.Invalid != w.invalid || lx.Unknown != w.unknown || unchecked != w.unchecked || fmt.Sprint(got) != fmt.Sprint(w.rules) {
			t.Errorf("%s: %d records, %d valid, %d invalid, %d unknown, %d unchecked, %v; want %+v", rel, lx.Records, lx.Valid, lx.Invalid, lx.Unknown, unchecked, got, w)
		}
	}
	if seen != len(fixtureLexicons) {
		t.Errorf("%d of the %d fixtures of the table found", seen, len(fixtureLexicons))
	}
}
