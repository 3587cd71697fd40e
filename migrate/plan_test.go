package migrate

import (
	"errors"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/plc"
)

func TestPlanKeepsTheUsersKeysAndServicesAndReplacesOnlyTheOldPDS(t *testing.T) {
	cur := &plc.Operation{
		Type:                plc.TypeOperation,
		RotationKeys:        []string{"did:key:user", "did:key:oldpds", "did:key:backup"},
		AlsoKnownAs:         []string{"at://alice.old.test", "https://alice.example"},
		VerificationMethods: []plc.VerificationMethod{{ID: "atproto", Key: "did:key:oldsigning"}, {ID: "atproto_label", Key: "did:key:label"}},
		Services: []plc.Service{{ID: "atproto_pds", Type: "AtprotoPersonalDataServer", Endpoint: "https://old.test"},
			{ID: "atproto_labeler", Type: "AtprotoLabeler", Endpoint: "https://labeler.test"}},
	}
	cases := []struct {
		name    string
		cur     *plc.Operation
		drop    bool
		keys    string
		dropped string
		err     error
	}{
		{"the old PDS's key is replaced in place", cur, false, "did:key:user did:key:newpds did:key:backup", "", nil},
		{"five user keys and the PDS's would be six", &plc.Operation{Type: plc.TypeOperation, RotationKeys: []string{"did:key:1", "did:key:2", "did:key:3", "did:key:4", "did:key:5"}}, false, "", "", ErrWouldDropKey},
		{"allowed to drop: the last user key goes", &plc.Operation{Type: plc.TypeOperation, RotationKeys: []string{"did:key:1", "did:key:2", "did:key:3", "did:key:4", "did:key:5"}}, true, "did:key:1 did:key:2 did:key:3 did:key:4 did:key:newpds", "did:key:5", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op, err := planOperation(c.cur, []string{"did:key:oldpds"}, "did:key:newpds", "https://new.test", "alice.new.test", "did:key:newsigning", c.drop)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("got %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(op.RotationKeys, " "); got != c.keys {
				t.Fatalf("rotation keys %s, want %s", got, c.keys)
			}
			if got := strings.Join(op.Dropped, " "); got != c.dropped {
				t.Fatalf("dropped %q, want %q", got, c.dropped)
			}
		})
	}
	op, _ := planOperation(cur, []string{"did:key:oldpds"}, "did:key:newpds", "https://new.test", "alice.new.test", "did:key:newsigning", false)
	if op.Services["atproto_labeler"].Endpoint != "https://labeler.test" || op.Services["atproto_pds"].Endpoint != "https://new.test" {
		t.Fatalf("services %v", op.Services)
	}
	if op.VerificationMethods["atproto_label"] != "did:key:label" || op.VerificationMethods["atproto"] != "did:key:newsigning" {
		t.Fatalf("verification methods %v", op.VerificationMethods)
	}
	if strings.Join(op.AlsoKnownAs, " ") != "at://alice.new.test https://alice.example" || strings.Join(op.Replaced, " ") != "did:key:oldpds" {
		t.Fatalf("alsoKnownAs %v, replaced %v", op.AlsoKnownAs, op.Replaced)
	}
}

func TestSignedOperationMustMatchThePlan(t *testing.T) {
	want := Operation{RotationKeys: []string{"did:key:user", "did:key:newpds"}, VerificationMethods: map[string]string{"atproto": "did:key:s"}}
	signed := &plc.Operation{RotationKeys: []string{"did:key:newpds"}, VerificationMethods: []plc.VerificationMethod{{ID: "atproto", Key: "did:key:s"}}}
	if err := matchSigned(signed, want); !errors.Is(err, ErrWouldDropKey) {
		t.Fatalf("a PDS that dropped the user's key: %v", err)
	}
	signed.RotationKeys = want.RotationKeys
	if err := matchSigned(signed, want); err != nil {
		t.Fatalf("the planned operation: %v", err)
	}
}
