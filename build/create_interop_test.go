package build

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/repo"
)

// createCase is one entry of golden/create/cases.json.
type createCase struct {
	Name, Kind, Input, Export, Key, DID, Rev string
	DropCollections, KeepCollections         []string
	Compact, Repair                          bool
}

// TestReferenceAcceptedRootsStillBuild reads what the reference verifier
// accepted (golden/create/results.json, made by golden/create/check.sh) and
// rebuilds each case today: the commit CID and MST root must be the ones the
// reference checked.
func TestReferenceAcceptedRootsStillBuild(t *testing.T) {
	var cases []createCase
	readJSON(t, golden("create", "cases.json"), &cases)
	var results struct {
		Results []struct {
			Name      string
			Agree     bool
			Reference struct {
				OK                 bool
				CommitCid, DataCid string
				RecordCount        int
			}
		}
	}
	readJSON(t, golden("create", "results.json"), &results)
	if len(results.Results) != len(cases) {
		t.Fatalf("%d results for %d cases: rerun golden/create/check.sh", len(results.Results), len(cases))
	}
	root := filepath.Join("..") // paths in cases.json are relative to the repository root
	for i, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			ref := results.Results[i]
			if ref.Name != c.Name || !ref.Reference.OK || !ref.Agree {
				t.Fatalf("result %q: reference ok=%v agree=%v", ref.Name, ref.Reference.OK, ref.Agree)
			}
			key, err := repo.LoadPrivateKey(filepath.Join(root, c.Key))
			if err != nil {
				t.Fatal(err)
			}
			var commit, data string
			var records int
			switch c.Kind {
			case "create":
				var recs []Record
				if c.Export != "" {
					dir, _ := exportDir(t, filepath.Join(root, c.Export))
					recs, err = LoadDir(dir)
				} else {
					f, ferr := os.Open(filepath.Join(root, c.Input))
					if ferr != nil {
						t.Fatal(ferr)
					}
					defer f.Close()
					recs, err = LoadJSONLines(f, c.Input)
				}
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				res, err := Create(&out, recs, CreateOptions{DID: syntax.DID(c.DID), Key: key, Rev: syntax.TID(c.Rev)})
				if err != nil {
					t.Fatal(err)
				}
				commit, data, records = res.Commit.String(), res.Data.String(), res.Records
			case "rewrite":
				in := readFile(t, filepath.Join(root, c.Input))
				_, res, err := rewrite(t, in, RewriteOptions{
					Key: key, DID: syntax.DID(c.DID), Rev: syntax.TID(c.Rev), DropCollections: nsids(c.DropCollections),
					KeepCollections: nsids(c.KeepCollections), Compact: c.Compact, Force: c.Repair,
				})
				if err != nil {
					t.Fatal(err)
				}
				commit, data, records = res.NewCommit.String(), res.NewData.String(), res.RecordsOut
			default:
				t.Fatalf("unknown kind %q", c.Kind)
			}
			if commit != ref.Reference.CommitCid || data != ref.Reference.DataCid || records != ref.Reference.RecordCount {
				t.Fatalf("today: commit %s data %s %d records; the reference accepted commit %s data %s %d records",
					commit, data, records, ref.Reference.CommitCid, ref.Reference.DataCid, ref.Reference.RecordCount)
			}
		})
	}
}

func nsids(ss []string) []syntax.NSID {
	var out []syntax.NSID
	for _, s := range ss {
		out = append(out, syntax.NSID(s))
	}
	return out
}
