package backup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/arbor-atproto/arbor/internal/atomicfile"
)

// stagedFiles are the files a refresh replaces, in the order they are
// moved into place; the manifest comes after them.
var stagedFiles = [...]string{RepoFile, DIDDocFile, AuditLogFile, PrefsFile}

// recoverDir finishes or undoes an interrupted refresh (see Atomicity in
// the package documentation) and removes the temporary files an
// interrupted write left. It reports what it did ("" for nothing).
func recoverDir(dir string) (string, error) {
	stage := filepath.Join(dir, incomingDir)
	did := ""
	if _, err := os.Stat(filepath.Join(stage, ManifestFile)); err == nil {
		if err := promote(dir); err != nil {
			return "", fmt.Errorf("finishing an interrupted refresh of %s: %w", dir, err)
		}
		did = "finished an interrupted refresh"
	} else if _, err := os.Stat(stage); err == nil {
		if err := os.RemoveAll(stage); err != nil {
			return "", err
		}
		did = "removed an incomplete refresh"
	}
	for _, d := range []string{dir, filepath.Join(dir, BlobDir)} {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if n := e.Name(); strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".part") && e.Type().IsRegular() {
				os.Remove(filepath.Join(d, n))
			}
		}
	}
	return did, nil
}

// promote moves the staged files into dir, the manifest last, and removes
// the staging folder. It can be run again after an interruption.
func promote(dir string) error {
	stage := filepath.Join(dir, incomingDir)
	for _, name := range append(stagedFiles[:], ManifestFile) {
		err := atomicfile.Move(filepath.Join(stage, name), filepath.Join(dir, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return os.RemoveAll(stage)
}

// newStage makes an empty staging folder.
func newStage(dir string) (string, error) {
	stage := filepath.Join(dir, incomingDir)
	if err := os.RemoveAll(stage); err != nil {
		return "", err
	}
	return stage, os.Mkdir(stage, 0o700)
}

// checkDir refuses a DIR that is neither empty (or absent) nor a backup.
func checkDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		// What an interrupted first run leaves is ours: the staging
		// folder, temporary files, blobs already stored.
		if e.Name() != incomingDir && !strings.HasSuffix(e.Name(), ".part") && !(e.Name() == BlobDir && e.IsDir()) {
			return fmt.Errorf("%w: %s is not empty and has no %s", ErrNotABackup, dir, ManifestFile)
		}
	}
	return nil
}
