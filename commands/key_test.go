package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-atproto/arbor/repo"
)

// TestKeyGenerateToFileWritesMode0600AndPrintsOnlyThePublicKey, for both
// key types, with flags after the subcommand's arguments as well.
func TestKeyGenerateToFileWritesMode0600AndPrintsOnlyThePublicKey(t *testing.T) {
	for _, typ := range []string{"k256", "p256"} {
		t.Run(typ, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "signing.key")
			var out struct {
				Type, PrivateKey, File, DIDKey string
			}
			r := runJSON(t, &out, "key", "generate", "--type", typ, "-o", path, "--json")
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Fatalf("key file mode %04o, want 0600", st.Mode().Perm())
			}
			b, _ := os.ReadFile(path)
			secret := strings.TrimSpace(string(b))
			if out.PrivateKey != "" || strings.Contains(r.stdout, secret) || strings.Contains(r.stderr, secret) {
				t.Fatal("the private key was printed although it went to a file")
			}
			priv, err := repo.ParsePrivateKey(secret)
			if err != nil {
				t.Fatalf("key file does not hold a private key: %v", err)
			}
			pub, _ := priv.PublicKey()
			if out.DIDKey != pub.DIDKey() || out.Type != typ || repo.KeyType(priv) != typ {
				t.Fatalf("printed %s %s, file holds %s %s", out.Type, out.DIDKey, repo.KeyType(priv), pub.DIDKey())
			}
			// Never overwrites.
			r = run(t, "", "key", "generate", "-o", path)
			wantOneLineError(t, r, ExitUsage, "exists")
			b2, _ := os.ReadFile(path)
			if string(b2) != string(b) {
				t.Fatal("an existing key file was overwritten")
			}
		})
	}
}

// TestKeyGenerateWithoutFilePrintsAMatchingPair: the private key printed
// parses and its public half is the did:key printed with it.
func TestKeyGenerateWithoutFilePrintsAMatchingPair(t *testing.T) {
	var out struct{ Type, PrivateKey, DIDKey string }
	if r := runJSON(t, &out, "key", "generate", "--json"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	priv, err := repo.ParsePrivateKey(out.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := priv.PublicKey()
	if pub.DIDKey() != out.DIDKey || out.Type != "k256" {
		t.Fatalf("did:key %s does not belong to the private key (%s), or type %s is not the default k256", out.DIDKey, pub.DIDKey(), out.Type)
	}
}

func TestKeyGenerateRejectsUnknownType(t *testing.T) {
	wantOneLineError(t, run(t, "", "key", "generate", "--type", "ed25519"), ExitUsage, "ed25519")
}

// TestKeyInspect reads the W3C did:key vectors' private keys (as 64 hex
// digits, a form LoadPrivateKey accepts) from files, from stdin and from
// the command line, and a did:key; it never echoes a private key.
func TestKeyInspect(t *testing.T) {
	vec := k256Vectors(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "k.key")
	if err := os.WriteFile(file, []byte(vec[0].PrivateKeyBytesHex+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	type inspectOut struct {
		Type, DIDKey, File, Warning string
		Private                     bool
	}
	cases := []struct {
		name    string
		stdin   string
		args    []string
		private bool
		warning bool
	}{
		{"private key file readable by others", "", []string{file}, true, true},
		{"private key on stdin", vec[1].PrivateKeyBytesHex, []string{"-"}, true, false},
		{"private key argument", "", []string{vec[2].PrivateKeyBytesHex}, true, false},
		{"did:key", "", []string{vec[3].PublicDidKey}, false, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out inspectOut
			var r result
			if tc.stdin != "" {
				r = run(t, tc.stdin, append([]string{"key", "inspect", "--json"}, tc.args...)...)
				if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
					t.Fatal(err)
				}
			} else {
				r = runJSON(t, &out, append([]string{"key", "inspect"}, append(tc.args, "--json")...)...)
			}
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if out.DIDKey != vec[i].PublicDidKey || out.Type != "k256" || out.Private != tc.private {
				t.Fatalf("got %+v, want %s private=%v", out, vec[i].PublicDidKey, tc.private)
			}
			if (out.Warning != "") != tc.warning {
				t.Fatalf("warning %q, want one: %v", out.Warning, tc.warning)
			}
			for _, v := range vec {
				if strings.Contains(r.stdout+r.stderr, v.PrivateKeyBytesHex) {
					t.Fatal("a private key was echoed")
				}
			}
		})
	}
}

func TestKeyInspectBadKeyIsOneLineWithoutTheSecret(t *testing.T) {
	secretish := "zNotAKeyButMaybeSecret123"
	r := run(t, "", "key", "inspect", secretish)
	wantOneLineError(t, r, ExitUsage, "neither")
	if strings.Contains(r.stderr, secretish) {
		t.Fatal("the bad key was echoed")
	}
}
