package backup

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/identity"
	"github.com/arbor-atproto/arbor/plc"
)

// checkAuditLog validates a did:plc audit log (as the directory served
// it) and checks that it ends in doc: the current operation's document has
// the same DID, handle, PDS and signing key. It returns the entries.
func checkAuditLog(did syntax.DID, raw []byte, doc *identity.Document) (int, error) {
	entries, err := plc.ParseLog(raw)
	if err != nil {
		return 0, fmt.Errorf("%w: audit log of %s: %w", ErrRejected, did, err)
	}
	st, err := plc.ValidateLog(did, entries)
	if err != nil {
		return len(entries), fmt.Errorf("%w: audit log of %s does not validate: %w", ErrRejected, did, err)
	}
	cur, err := st.Document()
	if err != nil {
		return len(entries), fmt.Errorf("%w: audit log of %s: %w", ErrRejected, did, err)
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return len(entries), err
	}
	fromLog, err := identity.ParseDocument(did, b)
	if err != nil {
		return len(entries), fmt.Errorf("%w: audit log of %s: its document: %w", ErrRejected, did, err)
	}
	if d := docDifference(fromLog, doc); d != "" {
		return len(entries), fmt.Errorf("%w: the audit log of %s does not end in the DID document: %s", ErrRejected, did, d)
	}
	return len(entries), nil
}

// docDifference names the first of DID, handle, PDS and signing key on
// which two documents differ ("" when none).
func docDifference(a, b *identity.Document) string {
	key := func(d *identity.Document) string {
		if d.SigningKey == nil {
			return ""
		}
		return d.SigningKey.DIDKey()
	}
	switch {
	case a.DID != b.DID:
		return fmt.Sprintf("DID %s, not %s", a.DID, b.DID)
	case !slices.Equal(a.AlsoKnownAs, b.AlsoKnownAs):
		return fmt.Sprintf("alsoKnownAs %v, not %v", a.AlsoKnownAs, b.AlsoKnownAs)
	case a.PDS != b.PDS:
		return fmt.Sprintf("PDS %q, not %q", a.PDS, b.PDS)
	case key(a) != key(b):
		return fmt.Sprintf("signing key %q, not %q", key(a), key(b))
	}
	return ""
}

// identityRefresh is what refreshIdentity staged.
type identityRefresh struct {
	Document bool // did.json staged
	AuditLog bool // plc-audit.json staged
	Entries  int  // entries of the audit log fetched
}

// refreshIdentity stages did.json when the served document differs from
// the kept one and, for did:plc, fetches, checks and stages the audit log
// when the document or the rotation keys changed or none is kept.
func refreshIdentity(ctx context.Context, res *identity.Resolver, id *identity.Identity, old *Manifest, dir, stage string) (identityRefresh, error) {
	var r identityRefresh
	var oldFiles map[string]FileEntry
	var oldRot []string
	if old != nil {
		oldFiles, oldRot = old.Files, old.RotationKeys
	}
	docChanged := oldFiles[DIDDocFile].SHA256 != sha256Hex(id.Doc.Raw) || !present(dir, DIDDocFile)
	if docChanged {
		if err := writeStaged(stage, DIDDocFile, id.Doc.Raw); err != nil {
			return r, err
		}
		r.Document = true
	}
	if id.DID.Method() != "plc" {
		return r, nil
	}
	if !docChanged && slices.Equal(oldRot, id.RotationKeys) && present(dir, AuditLogFile) {
		return r, nil
	}
	client := &plc.Client{Host: res.PLCHost, HTTP: res.HTTPClient}
	if err := res.Pace.Wait(ctx); err != nil {
		return r, err
	}
	_, raw, err := client.AuditLog(ctx, id.DID)
	if err != nil {
		return r, fmt.Errorf("audit log of %s: %w", id.DID, err)
	}
	n, err := checkAuditLog(id.DID, raw, id.Doc)
	if err != nil {
		return r, err
	}
	r.AuditLog, r.Entries = true, n
	return r, writeStaged(stage, AuditLogFile, raw)
}

func present(dir, name string) bool {
	st, err := os.Stat(filepath.Join(dir, name))
	return err == nil && st.Mode().IsRegular()
}

// Preferences outcomes (Summary.Preferences).
const (
	PrefsRefreshed   = "refreshed"
	PrefsUnchanged   = "unchanged"
	PrefsNotLoggedIn = "not logged in"
)

// refreshPreferences asks the logged-in client for the account's
// preferences and stages preferences.json when they differ from the kept
// ones.
func (r *runner) refreshPreferences(ctx context.Context) (string, error) {
	c := r.opts.Preferences
	if c == nil {
		return PrefsNotLoggedIn, nil
	}
	if s := c.Session(); s == nil || s.DID != r.id.DID.String() {
		who := "nobody"
		if s != nil {
			who = s.DID
		}
		return "", fmt.Errorf("%w: the session for preferences is of %s, not %s", ErrOtherAccount, who, r.id.DID)
	}
	if err := r.res.Pace.Wait(ctx); err != nil {
		return "", err
	}
	prefs, err := c.Preferences(ctx)
	if err != nil {
		return "", fmt.Errorf("preferences: %w", err)
	}
	b, err := json.MarshalIndent(map[string]json.RawMessage{"preferences": prefs}, "", "  ")
	if err != nil {
		return "", fmt.Errorf("%w: preferences from %s are not JSON: %v", ErrRejected, r.id.Doc.PDS, err)
	}
	b = append(b, '\n')
	if r.old != nil && r.old.Files[PrefsFile].SHA256 == sha256Hex(b) && present(r.dir, PrefsFile) {
		return PrefsUnchanged, nil
	}
	return PrefsRefreshed, writeStaged(r.stage, PrefsFile, b)
}
