package pds

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// validationAnswer is what the official client saw for one case of
// pds/e2e/validation.mjs: a write (createRecord, putRecord or applyWrites)
// and its answer ("" for JSON null).
type validationAnswer struct {
	Name             string `json:"name"`
	Method           string `json:"method"`
	Validate         *bool  `json:"validate"`
	OK               bool   `json:"ok"`
	Status           int    `json:"status"`
	Error            string `json:"error"`
	Message          string `json:"message"`
	ValidationStatus string `json:"validationStatus"`
}

func (a validationAnswer) key() string { return a.Name + " / " + a.Method }

func (a validationAnswer) String() string {
	if a.OK {
		return fmt.Sprintf("%d, validationStatus %q", a.Status, a.ValidationStatus)
	}
	return fmt.Sprintf("%d %s %q", a.Status, a.Error, a.Message)
}

// validationAnswers is the script's output, and the golden file's shape
// (which adds its provenance).
type validationAnswers struct {
	Provenance map[string]string  `json:"provenance,omitempty"`
	Client     string             `json:"client,omitempty"`
	Cases      []validationAnswer `json:"cases"`
}

// knownValidationDifferences are the cases, by "NAME / METHOD", where
// arbor answers differently from the reference on purpose (the reference
// being wrong by the spec), each with the reason and the answer arbor
// gives instead, which the test holds arbor to. There are none: arbor
// agrees with the reference on every case. An entry whose case the
// reference answers as arbor does is stale and fails the test.
var knownValidationDifferences = map[string]struct {
	reason string
	arbor  validationAnswer
}{}

// TestValidationMatchesReference runs the record-validation cases of
// pds/e2e/validation.mjs (the official client, @atproto/api) against a
// server and compares each answer with the reference PDS's answer to the
// same case, golden/pds/validation-reference.json (made by
// pds/e2e/reference-golden.sh; ARBOR_VALIDATION_REFERENCE names another
// such file, as reference-golden.sh --live does). ok, the HTTP status, the
// XRPC error name and validationStatus must be the same; an error message
// only loosely (diffValidationAnswer). Without node and pds/e2e's
// packages it skips, unless ARBOR_REQUIRE_E2E=1.
func TestValidationMatchesReference(t *testing.T) {
	node := e2eNode(t, "@atproto/api")
	refPath := os.Getenv("ARBOR_VALIDATION_REFERENCE")
	if refPath == "" {
		refPath = filepath.Join(testfixtures.Root(t), "golden", "pds", "validation-reference.json")
	}
	var ref validationAnswers
	b, err := os.ReadFile(refPath)
	if err == nil {
		err = json.Unmarshal(b, &ref)
	}
	if err != nil || len(ref.Cases) == 0 {
		t.Fatalf("the reference's answers, %s: %v (%d cases)", refPath, err, len(ref.Cases))
	}
	ts := startServer(t, Config{})
	got := runValidationCases(t, node, ts.url)

	byKey := map[string]validationAnswer{}
	for _, a := range got.Cases {
		byKey[a.key()] = a
	}
	seen := map[string]bool{}
	for _, want := range ref.Cases {
		k := want.key()
		seen[k] = true
		a, ok := byKey[k]
		if !ok {
			t.Errorf("%s: the reference answered it, validation.mjs no longer asks it (regenerate the golden file: pds/e2e/reference-golden.sh)", k)
			continue
		}
		diffs := diffValidationAnswer(want, a)
		if known, ok := knownValidationDifferences[k]; ok {
			if len(diffs) == 0 {
				t.Errorf("%s: listed as a known difference (%s), but the reference answers as arbor does: %s", k, known.reason, want)
			} else if d := diffValidationAnswer(known.arbor, a); len(d) > 0 {
				t.Errorf("%s: arbor answered %s, its own answer is %s (known difference: %s): %s", k, a, known.arbor, known.reason, strings.Join(d, "; "))
			}
			continue
		}
		if len(diffs) > 0 {
			t.Errorf("%s:\n\tarbor:     %s\n\treference: %s\n\t%s", k, a, want, strings.Join(diffs, "\n\t"))
		}
	}
	for _, a := range got.Cases {
		if !seen[a.key()] {
			t.Errorf("%s: no answer of the reference to compare with (regenerate the golden file: pds/e2e/reference-golden.sh)", a.key())
		}
	}
	t.Logf("%d cases compared with %s (%s)", len(ref.Cases), filepath.Base(refPath), ref.Provenance["server"])
}

// runValidationCases runs validation.mjs against url and returns its
// answers.
func runValidationCases(t *testing.T, node, url string) validationAnswers {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "validation.mjs", url)
	cmd.Dir = "e2e"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("validation.mjs: %v\n%s%s", err, out, stderr.Bytes())
	}
	var got validationAnswers
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("validation.mjs printed no answers: %v\n%s", err, out)
	}
	return got
}

// diffValidationAnswer says how answer got differs from want. ok, status,
// error and validationStatus must be equal. Of an error message, which
// each implementation words its own way, three things must agree:
//
//   - the lead, the text before the first ": " ("Invalid
//     app.bsky.feed.post record", "Could not find blob", "Invalid record
//     key for app.bsky.actor.profile"), when want's message has one;
//   - the first JSON path the message names ($.record.text,
//     $.writes[0].record.embed; a bare $ names none), when want's names
//     one;
//   - every CID want's message names is in got's.
func diffValidationAnswer(want, got validationAnswer) []string {
	var d []string
	if got.OK != want.OK || got.Status != want.Status {
		d = append(d, fmt.Sprintf("ok %v, status %d; want ok %v, status %d", got.OK, got.Status, want.OK, want.Status))
	}
	if got.Error != want.Error {
		d = append(d, fmt.Sprintf("error %q, want %q", got.Error, want.Error))
	}
	if got.ValidationStatus != want.ValidationStatus {
		d = append(d, fmt.Sprintf("validationStatus %q, want %q", got.ValidationStatus, want.ValidationStatus))
	}
	if want.OK || got.OK {
		return d
	}
	if lead, ok := messageLead(want.Message); ok {
		if gl, _ := messageLead(got.Message); gl != lead {
			d = append(d, fmt.Sprintf("message begins %q, want %q", gl, lead))
		}
	}
	if p := messagePath(want.Message); p != "" {
		if gp := messagePath(got.Message); gp != p {
			d = append(d, fmt.Sprintf("message names path %q, want %q", gp, p))
		}
	}
	for _, c := range messageCID.FindAllString(want.Message, -1) {
		if !strings.Contains(got.Message, c) {
			d = append(d, fmt.Sprintf("message does not name %s", c))
		}
	}
	return d
}

// messageLead is a message's text before its first ": ".
func messageLead(m string) (string, bool) {
	lead, _, ok := strings.Cut(m, ": ")
	return lead, ok
}

var (
	messagePathRE = regexp.MustCompile(`(?:^|\s)(\$(?:\.[A-Za-z0-9_$-]+|\[\d+\])*)(?:$|[\s:;,)])`)
	messageCID    = regexp.MustCompile(`\bbaf[a-z2-7]{50,}\b`)
)

// messagePath is the first JSON path a message names, "" for none (a bare
// $ is none).
func messagePath(m string) string {
	s := messagePathRE.FindStringSubmatch(m)
	if s == nil || s[1] == "$" {
		return ""
	}
	return s[1]
}

// TestDiffValidationAnswer pins what the comparison with the reference
// lets differ in an error message and what it does not.
func TestDiffValidationAnswer(t *testing.T) {
	ref := validationAnswer{Status: 400, Error: "InvalidRequest", Message: `Invalid app.bsky.feed.post record: Expected string value type (got 12345) at $.writes[0].record.text`}
	blob := validationAnswer{Status: 400, Error: "BlobNotFound", Message: "Could not find blob: bafkreifynqspwysdkqfkjmgdaqi4hq7veholv5mxuyoegybyfpvocuvm3m"}
	bare := validationAnswer{Status: 400, Error: "InvalidRequest", Message: `Expected one of null, boolean (got 1.5) at $.record.x`}
	with := func(a validationAnswer, f func(*validationAnswer)) validationAnswer { f(&a); return a }
	for _, tc := range []struct {
		name      string
		want, got validationAnswer
		diffs     int
	}{
		{"other words, same lead and path", ref, with(ref, func(a *validationAnswer) {
			a.Message = "Invalid app.bsky.feed.post record: $.writes[0].record.text: expected a string, got an integer"
		}), 0},
		{"another path", ref, with(ref, func(a *validationAnswer) {
			a.Message = "Invalid app.bsky.feed.post record: $.writes[0].record.createdAt: expected a string"
		}), 1},
		{"the path rooted at the record, not the request", ref, with(ref, func(a *validationAnswer) {
			a.Message = "Invalid app.bsky.feed.post record: $.text: expected a string"
		}), 1},
		{"another lead", ref, with(ref, func(a *validationAnswer) {
			a.Message = "writes[0]: Invalid app.bsky.feed.post record: $.writes[0].record.text: expected a string"
		}), 1},
		{"another error name", ref, with(ref, func(a *validationAnswer) { a.Error = "InvalidRecord" }), 1},
		{"accepted instead", ref, validationAnswer{OK: true, Status: 200, ValidationStatus: "valid"}, 3},
		{"another validationStatus", validationAnswer{OK: true, Status: 200, ValidationStatus: "unknown"}, validationAnswer{OK: true, Status: 200}, 1},
		{"the same blob, a suffix", blob, with(blob, func(a *validationAnswer) { a.Message += " (writes[0])" }), 0},
		{"another blob", blob, with(blob, func(a *validationAnswer) {
			a.Message = "Could not find blob: bafkreia5fdhly2flntu6nmdjjmidzmz36xtiksrgfrufcq7h5bidko4ukm"
		}), 1},
		{"no lead in the reference's message: the path alone", bare, with(bare, func(a *validationAnswer) { a.Message = "Invalid record: $.record.x: floating point number" }), 0},
		{"no lead in the reference's message, another path", bare, with(bare, func(a *validationAnswer) { a.Message = "Invalid record: $.record: floating point number" }), 1},
		{"a bare $ names no path", validationAnswer{Status: 400, Error: "InvalidRequest", Message: `Invalid record key for app.bsky.actor.profile: Expected "self" (got "x") at $`},
			validationAnswer{Status: 400, Error: "InvalidRequest", Message: `Invalid record key for app.bsky.actor.profile: record key "x" is not "self"`}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := diffValidationAnswer(tc.want, tc.got); len(d) != tc.diffs {
				t.Errorf("%d differences, want %d: %q", len(d), tc.diffs, d)
			}
		})
	}
}
