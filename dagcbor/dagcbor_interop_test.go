package dagcbor

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/internal/testfixtures"
)

// interopDir is the AT Protocol interop vectors in testdata/ at the
// repository root (copies of ../shared/interop).
var interopDir = filepath.Join(testfixtures.MustDir(), "interop")

type dataModelFixture struct {
	JSON       json.RawMessage `json:"json"`
	CBORBase64 string          `json:"cbor_base64"`
	CID        string          `json:"cid"`
}

type dataModelCase struct {
	Note string          `json:"note"`
	JSON json.RawMessage `json:"json"`
}

func decodeB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		t.Fatalf("fixture base64: %v", err)
	}
	return b
}

// jsonEqual compares two JSON documents as values (numbers exactly).
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	parse := func(x []byte) any {
		d := json.NewDecoder(bytes.NewReader(x))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("parsing %s: %v", x, err)
		}
		return v
	}
	return reflect.DeepEqual(parse(a), parse(b))
}

func TestDataModelFixturesJSONToCBORMatchesBytesAndCID(t *testing.T) {
	fixtures := dataModelFixtures(t)
	for i, f := range fixtures {
		t.Run(f.CID, func(t *testing.T) {
			want := decodeB64(t, f.CBORBase64)
			v, err := FromJSON(f.JSON)
			if err != nil {
				t.Fatalf("fixture %d: FromJSON: %v", i, err)
			}
			got, err := Encode(v)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("CBOR mismatch\n got %x\nwant %x", got, want)
			}
			if c := SumCID(CodecDagCBOR, got); c.String() != f.CID {
				t.Fatalf("CID %s, want %s", c, f.CID)
			}
		})
	}
}

func TestDataModelFixturesCBORToJSONMatches(t *testing.T) {
	fixtures := dataModelFixtures(t)
	for _, f := range fixtures {
		t.Run(f.CID, func(t *testing.T) {
			v, err := Decode(decodeB64(t, f.CBORBase64))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got, err := ToJSON(v)
			if err != nil {
				t.Fatalf("ToJSON: %v", err)
			}
			if !jsonEqual(t, got, f.JSON) {
				t.Fatalf("JSON mismatch\n got %s\nwant %s", got, f.JSON)
			}
			// Through the fxamacker path too: same bytes back.
			var anyV any
			if err := Unmarshal(decodeB64(t, f.CBORBase64), &anyV); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			back, err := Marshal(anyV)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(back, decodeB64(t, f.CBORBase64)) {
				t.Fatalf("Marshal(Unmarshal(b)) differs\n got %x", back)
			}
		})
	}
}

func TestDataModelValidDocumentsAreAccepted(t *testing.T) {
	cases := dataModelCases(t, "data-model-valid.json")
	for _, c := range cases {
		t.Run(c.Note, func(t *testing.T) {
			v, err := FromJSON(c.JSON)
			if err != nil {
				t.Fatalf("FromJSON(%s): %v", c.JSON, err)
			}
			if _, err := Encode(v); err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if m, ok := v.(map[string]any)["rcrd"]; ok {
				if err := ValidateRecord(m); err != nil {
					t.Fatalf("ValidateRecord: %v", err)
				}
			}
		})
	}
}

func TestDataModelInvalidDocumentsAreRejected(t *testing.T) {
	cases := dataModelCases(t, "data-model-invalid.json")
	// The reason each case must be rejected, read off its note by hand.
	reasons := map[string]error{
		"top-level not an object":        ErrNotObject,
		"float":                          ErrFloat,
		"record with $type null":         ErrBadType,
		"record with $type wrong type":   ErrBadType,
		"record with empty $type string": ErrBadType,
		"blob with string size":          ErrBadBlob,
		"blob with missing key":          ErrBadBlob,
		"bytes with wrong field type":    ErrBadBytes,
		"bytes with extra fields":        ErrBadBytes,
		"link with wrong field type":     ErrBadLink,
		"link with bogus CID":            ErrBadLink,
		"link with extra fields":         ErrBadLink,
	}
	for _, c := range cases {
		t.Run(c.Note, func(t *testing.T) {
			want, ok := reasons[c.Note]
			if !ok {
				t.Fatalf("new invalid case %q: add its expected reason to the table", c.Note)
			}
			v, err := FromJSON(c.JSON)
			if err == nil {
				t.Fatalf("FromJSON(%s) accepted: %#v", c.JSON, v)
			}
			var je *JSONError
			if !errors.As(err, &je) {
				t.Fatalf("error %v is not a *JSONError", err)
			}
			if !errors.Is(err, want) {
				t.Fatalf("FromJSON error %v, want %v", err, want)
			}
		})
	}
}

// dagJSONProblems walks an IPLD dag-json document (parsed independently of
// this package) and lists why its value is outside the atproto data model:
// ErrFloat for numbers with a fraction or exponent, ErrIntRange for
// integers beyond int64, ErrBadLink for CIDv0 links.
func dagJSONProblems(t *testing.T, v any, out map[error]bool) {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if strings.ContainsAny(s, ".eE") {
			out[ErrFloat] = true
			return
		}
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatalf("dag-json number %q", s)
		}
		if !n.IsInt64() {
			out[ErrIntRange] = true
		}
	case []any:
		for _, e := range x {
			dagJSONProblems(t, e, out)
		}
	case map[string]any:
		if slash, ok := x["/"]; ok && len(x) == 1 {
			switch s := slash.(type) {
			case string:
				c, err := cid.Decode(s)
				if err != nil {
					t.Fatalf("dag-json link %q: %v", s, err)
				}
				if c.Version() != 1 {
					out[ErrBadLink] = true
				}
				return
			case map[string]any:
				if _, ok := s["bytes"]; ok && len(s) == 1 {
					return
				}
			}
		}
		for _, e := range x {
			dagJSONProblems(t, e, out)
		}
	}
}

func TestDagCBORFixturesRoundTripOrFailForTheRightReason(t *testing.T) {
	root := filepath.Join(interopDir, "dag-cbor", "fixtures")
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("shared interop fixtures missing: %v", err)
	}
	seen, accepted, rejected := 0, 0, 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(root, d.Name())
		files, err := filepath.Glob(filepath.Join(dir, "*.dag-cbor"))
		if err != nil || len(files) != 1 {
			t.Fatalf("%s: want one .dag-cbor file, got %v %v", d.Name(), files, err)
		}
		jsonFiles, _ := filepath.Glob(filepath.Join(dir, "*.dag-json"))
		if len(jsonFiles) != 1 {
			t.Fatalf("%s: want one .dag-json file, got %v", d.Name(), jsonFiles)
		}
		seen++
		t.Run(d.Name(), func(t *testing.T) {
			data, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			wantCID := strings.TrimSuffix(filepath.Base(files[0]), ".dag-cbor")
			if got := SumCID(CodecDagCBOR, data); got.String() != wantCID {
				t.Fatalf("fixture file CID %s, want %s (fixture corrupt?)", got, wantCID)
			}
			jb, err := os.ReadFile(jsonFiles[0])
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(jb))
			dec.UseNumber()
			var jv any
			if err := dec.Decode(&jv); err != nil {
				t.Fatalf("dag-json: %v", err)
			}
			problems := map[error]bool{}
			dagJSONProblems(t, jv, problems)

			v, err := Decode(data)
			verr := Validate(data)
			if (err == nil) != (verr == nil) {
				t.Fatalf("Decode error %v but Validate error %v", err, verr)
			}
			if len(problems) > 0 {
				rejected++
				if err == nil {
					t.Fatalf("Decode accepted a value outside the data model (%v)", problems)
				}
				var se *SyntaxError
				if !errors.As(err, &se) || !problems[se.Err] {
					t.Fatalf("Decode error %v, want one of %v", err, problems)
				}
				return
			}
			accepted++
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			out, err := Encode(v)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(out, data) {
				t.Fatalf("re-encoding differs\n got %x\nwant %x", out, data)
			}
			if got := SumCID(CodecDagCBOR, out); got.String() != wantCID {
				t.Fatalf("CID %s, want %s", got, wantCID)
			}
		})
	}
	if seen < 100 {
		t.Fatalf("only %d fixtures found", seen)
	}
	t.Logf("%d fixtures: %d in the data model, %d rejected", seen, accepted, rejected)
}

// eachDuplicateKeyFixture runs check, as a subtest, on the bytes of every
// case of a negative duplicate-keys fixture file (kind: "dag-cbor" or
// "dag-json").
func eachDuplicateKeyFixture(t *testing.T, kind string, check func(t *testing.T, b []byte)) {
	cases := testfixtures.Cases[struct {
		Name string `json:"name"`
		Hex  string `json:"hex"`
	}](t, "interop", "dag-cbor", "negative-fixtures", kind, "decode", "duplicate-keys.json")
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			b, err := hex.DecodeString(c.Hex)
			if err != nil {
				t.Fatal(err)
			}
			check(t, b)
		})
	}
}

func TestNegativeFixtureDuplicateKeysAreRejected(t *testing.T) {
	eachDuplicateKeyFixture(t, "dag-cbor", func(t *testing.T, b []byte) {
		if _, err := Decode(b); !errors.Is(err, ErrDuplicateMapKey) {
			t.Fatalf("Decode = %v, want ErrDuplicateMapKey", err)
		}
		var v any
		if err := Unmarshal(b, &v); !errors.Is(err, ErrDuplicateMapKey) {
			t.Fatalf("Unmarshal = %v, want ErrDuplicateMapKey", err)
		}
	})
}

func TestNegativeFixtureDuplicateJSONKeysAreRejected(t *testing.T) {
	eachDuplicateKeyFixture(t, "dag-json", func(t *testing.T, b []byte) {
		if _, err := FromJSON(b); !errors.Is(err, ErrDuplicateMapKey) {
			t.Fatalf("FromJSON(%s) = %v, want ErrDuplicateMapKey", b, err)
		}
	})
}
