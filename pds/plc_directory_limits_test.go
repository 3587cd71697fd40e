package pds

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/plc"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// The embedded directory holds a new operation to plc.directory's limits
// (plc.CheckLimits), not only to the log rules: an update with more
// alsoKnownAs entries than the directory takes is refused (400) and the
// log is unchanged; one at the limit is accepted.
func TestEmbeddedDirectoryHoldsNewOperationsToTheLimits(t *testing.T) {
	ts, u := startWithAlice(t)
	client := &plc.Client{Host: ts.url}
	ctx := context.Background()
	for _, tc := range []struct {
		aka    int
		accept bool
	}{{plc.MaxAlsoKnownAs + 1, false}, {plc.MaxAlsoKnownAs, true}} {
		t.Run(fmt.Sprintf("%d alsoKnownAs", tc.aka), func(t *testing.T) {
			entries, _, err := client.AuditLog(ctx, syntax.DID(u.did))
			if err != nil {
				t.Fatal(err)
			}
			st, err := plc.ValidateLog(syntax.DID(u.did), entries)
			if err != nil {
				t.Fatal(err)
			}
			op, err := plc.NextOperation(st, plc.Update{PDS: "http://elsewhere.example"}, ts.srv.rotation, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			op = op.Unsigned()
			op.AlsoKnownAs = nil
			for i := range tc.aka {
				op.AlsoKnownAs = append(op.AlsoKnownAs, fmt.Sprintf("at://alias%d.test", i))
			}
			if err := plc.Sign(op, ts.srv.rotation); err != nil {
				t.Fatal(err)
			}
			err = client.Submit(ctx, syntax.DID(u.did), op)
			after, _, _ := client.AuditLog(ctx, syntax.DID(u.did))
			switch {
			case tc.accept && err != nil:
				t.Fatalf("an operation at the limit is refused: %v", err)
			case tc.accept && len(after) != len(entries)+1:
				t.Fatalf("log has %d entries, want %d", len(after), len(entries)+1)
			case !tc.accept && (err == nil || !strings.Contains(err.Error(), "400")):
				t.Fatalf("an operation over the limit: %v", err)
			case !tc.accept && len(after) != len(entries):
				t.Fatalf("a refused operation changed the log: %d entries, was %d", len(after), len(entries))
			}
		})
	}
}
