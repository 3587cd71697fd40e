package repo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

func TestLoadPrivateKeyFromFileOrString(t *testing.T) {
	for _, typ := range []string{"k256", "p256"} {
		t.Run(typ, func(t *testing.T) {
			priv := generateKey(t, typ)
			mb := priv.Multibase()
			dir := t.TempDir()
			file := filepath.Join(dir, "key.txt")
			if err := os.WriteFile(file, []byte("  "+mb+"\r\n\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, arg := range []string{mb, file, " " + mb + "\n"} {
				got, err := LoadPrivateKey(arg)
				if err != nil {
					t.Fatalf("LoadPrivateKey(%q): %v", arg, err)
				}
				if !got.Equal(priv) || KeyType(got) != typ {
					t.Errorf("LoadPrivateKey(%q) gave another key", arg)
				}
				// The public half loads from the same argument.
				pub, err := LoadPublicKey(arg)
				want, _ := priv.PublicKey()
				if err != nil || !pub.Equal(want) {
					t.Errorf("LoadPublicKey(%q) = %v, %v", arg, pub, err)
				}
			}
		})
	}
}

func TestLoadPublicKeyForms(t *testing.T) {
	priv := generateKey(t, "p256")
	pub, _ := priv.PublicKey()
	file := filepath.Join(t.TempDir(), "pub")
	if err := os.WriteFile(file, []byte(pub.DIDKey()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{pub.DIDKey(), pub.Multibase(), file} {
		got, err := LoadPublicKey(arg)
		if err != nil || !got.Equal(pub) {
			t.Errorf("LoadPublicKey(%q) = %v, %v", arg, got, err)
		}
	}
}

func TestKeyErrorsNameTheFileAndHideTheKey(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.key")
	secretish := "zSECRETnotAKey0OIl"
	if err := os.WriteFile(bad, []byte(secretish), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.key")
	if err := os.WriteFile(big, make([]byte, maxKeyFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		load     func(string) error
		arg      string
		mention  string // must appear in the error
		mustHide string // must not appear in the error
	}{
		{"private: file with garbage", loadPriv, bad, bad, secretish},
		{"public: file with garbage", loadPub, bad, bad, secretish},
		{"private: directory", loadPriv, dir, dir, ""},
		{"private: huge file", loadPriv, big, big, ""},
		{"private: neither file nor key", loadPriv, secretish, "neither an existing file nor a key", secretish},
		{"public: neither file nor key", loadPub, secretish, "neither an existing file nor a key", secretish},
		{"private: empty", loadPriv, "", "multibase", ""},
		{"private: public key given", loadPriv, "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "multibase", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.load(tt.arg)
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("got %v, want ErrInvalidKey", err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
			if tt.mustHide != "" && strings.Contains(err.Error(), tt.mustHide) {
				t.Errorf("error %q repeats the key material", err)
			}
		})
	}
}

func loadPriv(s string) error { _, err := LoadPrivateKey(s); return err }
func loadPub(s string) error  { _, err := LoadPublicKey(s); return err }

func TestParsePublicKeyRejects(t *testing.T) {
	for _, s := range []string{"", "z", "did:key:", "did:web:example.com", "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBmX",
		"uQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"} {
		if _, err := ParsePublicKey(s); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParsePublicKey(%q) = %v, want ErrInvalidKey", s, err)
		}
	}
}

func TestKeyTypeNamesCurves(t *testing.T) {
	k := generateKey(t, "k256")
	p := generateKey(t, "p256")
	kp, _ := k.PublicKey()
	pp, _ := p.PublicKey()
	tests := []struct {
		key  any
		want string
	}{
		{k, "k256"}, {kp, "k256"}, {p, "p256"}, {pp, "p256"}, {nil, ""}, {"k256", ""}, {atcrypto.PublicKey(nil), ""},
	}
	for _, tt := range tests {
		if got := KeyType(tt.key); got != tt.want {
			t.Errorf("KeyType(%T) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
