package dagcbor

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// seedCBOR adds every interop DAG-CBOR fixture and data-model fixture.
func seedCBOR(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(interopDir, "dag-cbor", "fixtures", "*", "*.dag-cbor"))
	if err != nil || len(files) == 0 {
		f.Fatalf("shared interop fixtures missing: %v", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	fixtures := dataModelFixtures(f)
	for _, fx := range fixtures {
		v, err := FromJSON(fx.JSON)
		if err != nil {
			f.Fatal(err)
		}
		b, err := Encode(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzDecode(f *testing.F) {
	seedCBOR(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b)
		verr := Validate(b)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Decode error %v, Validate error %v", err, verr)
		}
		if err != nil {
			var de, ve *SyntaxError
			if !errors.As(err, &de) || !errors.As(verr, &ve) || de.Err != ve.Err || de.Offset != ve.Offset {
				t.Fatalf("Decode error %v, Validate error %v", err, verr)
			}
			var u any
			if uerr := Unmarshal(b, &u); uerr == nil {
				t.Fatalf("Unmarshal accepted what Decode rejected (%v)", err)
			}
			return
		}
		out, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode(Decode(b)): %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("Encode(Decode(b)) = %x, want %x", out, b)
		}
		var u any
		if err := Unmarshal(b, &u); err != nil {
			t.Fatalf("Unmarshal rejected what Decode accepted: %v", err)
		}
		if !dataEqual(u, v) {
			t.Fatalf("Unmarshal = %#v, Decode = %#v", u, v)
		}
		mb, err := Marshal(u)
		if err != nil {
			t.Fatalf("Marshal(Unmarshal(b)): %v", err)
		}
		if !bytes.Equal(mb, b) {
			t.Fatalf("Marshal(Unmarshal(b)) = %x, want %x", mb, b)
		}
		// Anything the data model holds has a JSON form unless a map uses
		// a reserved key; that form must read back to an equal value.
		if _, isMap := v.(map[string]any); !isMap {
			return
		}
		j, err := ToJSON(v)
		if err != nil {
			return
		}
		back, err := FromJSON(j)
		if err != nil {
			// FromJSON also checks $type and blob conventions, which
			// generic DAG-CBOR need not follow.
			if errors.Is(err, ErrBadType) || errors.Is(err, ErrBadBlob) {
				return
			}
			t.Fatalf("FromJSON(ToJSON(v)) = %v for %s", err, j)
		}
		if !dataEqual(back, v) {
			t.Fatalf("FromJSON(ToJSON(v)) = %#v, want %#v", back, v)
		}
	})
}

func FuzzFromJSON(f *testing.F) {
	addDataModelJSON(f)
	f.Add([]byte(`{"a":123.0,"b":-0,"c":{"$bytes":""},"d":"\u2028\ud800"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := FromJSON(b)
		if err != nil {
			var je *JSONError
			if !errors.As(err, &je) {
				t.Fatalf("error %v is not a *JSONError", err)
			}
			return
		}
		j, err := ToJSON(v)
		if err != nil {
			t.Fatalf("ToJSON(FromJSON(b)): %v", err)
		}
		back, err := FromJSON(j)
		if err != nil {
			t.Fatalf("FromJSON(ToJSON(v)) = %v for %s", err, j)
		}
		if !dataEqual(back, v) {
			t.Fatalf("FromJSON(ToJSON(v)) = %#v, want %#v", back, v)
		}
		c, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode(FromJSON(b)): %v", err)
		}
		d, err := Decode(c)
		if err != nil {
			t.Fatalf("Decode(Encode(v)): %v", err)
		}
		if !dataEqual(d, v) {
			t.Fatalf("Decode(Encode(v)) = %#v, want %#v", d, v)
		}
	})
}
