package archive

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/dagcbor"
)

// LongKeysFile is where Export puts the records whose RKEY.json would be
// longer than a file name may be (record keys go up to 512 bytes; most file
// systems stop at 255): one JSON line {"collection", "rkey", "record"} each,
// the form arbor create reads.
const LongKeysFile = "_long_keys.jsonl"

// maxFileName is the longest file name Export writes.
const maxFileName = 255

// Export writes every record of the archive's current tree as
// dir/COLLECTION/RKEY.json (atproto JSON form) and the commit as
// dir/_commit.json; records with keys too long for a file name go to
// dir/_long_keys.jsonl. It writes through an os.Root, so no key can make it
// write outside dir whatever it contains. The archive must have been read
// with KeepBodies. It returns the number of records written.
func export(a *Archive, dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	n := 0
	made := map[string]bool{}
	var long []byte
	err = a.Walk(func(key []byte, val cid.Cid) error {
		coll, rkey, ok := strings.Cut(string(key), "/")
		if !ok || !filepath.IsLocal(coll) || !filepath.IsLocal(rkey) || strings.ContainsAny(coll+rkey, `/\`) {
			return fmt.Errorf("record key %q cannot be a file path inside %s", key, dir)
		}
		body, _ := a.block(val)
		if body == nil {
			return fmt.Errorf("record %s: block %s is not in the file", key, val)
		}
		v, err := dagcbor.Decode(body)
		if err != nil {
			return fmt.Errorf("record %s (block %s): %w", key, val, err)
		}
		if len(rkey)+len(".json") > maxFileName {
			js, err := dagcbor.ToJSON(v)
			if err != nil {
				return fmt.Errorf("record %s: %w", key, err)
			}
			line, err := json.Marshal(struct {
				Collection string          `json:"collection"`
				RKey       string          `json:"rkey"`
				Record     json.RawMessage `json:"record"`
			}{coll, rkey, js})
			if err != nil {
				return fmt.Errorf("record %s: %w", key, err)
			}
			long = append(append(long, line...), '\n')
			n++
			return nil
		}
		js, err := dagcbor.ToJSONIndent(v, "  ")
		if err != nil {
			return fmt.Errorf("record %s: %w", key, err)
		}
		if !made[coll] {
			if err := root.Mkdir(coll, 0o755); err != nil && !os.IsExist(err) {
				return err
			}
			made[coll] = true
		}
		if err := root.WriteFile(coll+"/"+rkey+".json", append(js, '\n'), 0o644); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	if long != nil {
		if err := root.WriteFile(LongKeysFile, long, 0o644); err != nil {
			return n, err
		}
	}
	if a.Commit != nil {
		c := a.Commit
		cj := map[string]any{
			"cid":     a.Root.String(),
			"did":     c.DID,
			"version": c.Version,
			"data":    map[string]string{"$link": c.Data.String()},
			"prev":    nil,
			"sig":     map[string]string{"$bytes": base64.RawStdEncoding.EncodeToString(c.Sig)},
		}
		if c.Rev != "" {
			cj["rev"] = c.Rev
		}
		if c.Prev.Defined() {
			cj["prev"] = map[string]string{"$link": c.Prev.String()}
		}
		js, err := json.MarshalIndent(cj, "", "  ")
		if err != nil {
			return n, err
		}
		if err := root.WriteFile("_commit.json", append(js, '\n'), 0o644); err != nil {
			return n, err
		}
	}
	return n, nil
}
