package build

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// GenerateKey makes a new private key of type "k256" or "p256".
func GenerateKey(keyType string) (atcrypto.PrivateKeyExportable, error) {
	switch keyType {
	case "k256":
		return atcrypto.GeneratePrivateKeyK256()
	case "p256":
		return atcrypto.GeneratePrivateKeyP256()
	}
	return nil, fmt.Errorf("%w: key type %q (want k256 or p256)", ErrBadOption, keyType)
}

// WriteKeyFile writes key's multibase form and a newline to a new file at
// path with mode 0600. It never overwrites an existing file
// (ErrKeyFileExists) and leaves nothing behind on failure.
func WriteKeyFile(path string, key atcrypto.PrivateKeyExportable) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrKeyFileExists, path)
		}
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	// The umask may have narrowed the mode; never widen it, but make sure
	// no one else can read the key even if the umask allowed it.
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := io.WriteString(f, key.Multibase()+"\n"); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}
