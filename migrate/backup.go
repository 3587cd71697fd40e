package migrate

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/plc"
	"github.com/arbor-atproto/arbor/serviceauth"
)

// A move from a backup directory: DIR holds one repository CAR (as arbor
// fetch -o writes it) and the blobs, each a file named by its CID, in DIR
// or DIR/blobs (as arbor fetch --blobs writes them).

func (m *mover) backupFiles() (carPath, blobDir string, err error) {
	dir := m.opts.FromBackup
	cars, _ := filepath.Glob(filepath.Join(dir, "*.car"))
	if len(cars) != 1 {
		return "", "", fmt.Errorf("%s: want one repository .car file, found %d", dir, len(cars))
	}
	blobDir = dir
	if fi, err := os.Stat(filepath.Join(dir, "blobs")); err == nil && fi.IsDir() {
		blobDir = filepath.Join(dir, "blobs")
	}
	return cars[0], blobDir, nil
}

func (m *mover) backupCAR() ([]byte, error) {
	p, _, err := m.backupFiles()
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

func (m *mover) backupBlob(c string) ([]byte, string, error) {
	parsed, err := cid.Decode(c)
	if err != nil {
		return nil, "", err
	}
	_, dir, err := m.backupFiles()
	if err != nil {
		return nil, "", err
	}
	// The name is the CID as printed here, never a server's string.
	b, err := os.ReadFile(filepath.Join(dir, parsed.String()))
	if err != nil {
		return nil, "", fmt.Errorf("blob %s is not in the backup: %w", parsed, err)
	}
	if sum, err := parsed.Prefix().Sum(b); err != nil || !sum.Equals(parsed) {
		return nil, "", fmt.Errorf("the backup's blob %s does not hash to its name", parsed)
	}
	ctype := http.DetectContentType(b)
	if t, _, err := mime.ParseMediaType(ctype); err == nil {
		ctype = t
	}
	return b, ctype, nil
}

func (m *mover) prepareBackup(ctx context.Context) ([]step, error) {
	if m.opts.RotationKey == nil {
		return nil, fmt.Errorf("a move from a backup needs --rotation-key, a rotation key of the DID you hold")
	}
	car, err := m.backupCAR()
	if err != nil {
		return nil, err
	}
	a, err := archive.Read(bytes.NewReader(car), archive.Options{})
	if err != nil || a.Commit == nil {
		return nil, fmt.Errorf("the backup's repository: %v", errOr(err, "no commit"))
	}
	rep, err := a.Verify(archive.VerifyOptions{RequireCommit: true})
	if err != nil || !rep.Valid() {
		return nil, fmt.Errorf("the backup's repository does not verify: %v", errOr(err, fmt.Sprint(rep.Failure())))
	}
	did := a.Commit.DID.String()
	if err := m.readIdentity(ctx, did); err != nil {
		return nil, err
	}
	pub, err := m.opts.RotationKey.PublicKey()
	if err != nil {
		return nil, err
	}
	mine := pub.DIDKey()
	if !slices.Contains(m.cur.Current().RotationKeys, mine) {
		return nil, fmt.Errorf("%s is not a rotation key of %s", mine, did)
	}
	if m.opts.DropRotationKeys {
		for _, k := range m.cur.Current().RotationKeys {
			if k != mine {
				m.oldKeys = append(m.oldKeys, k)
			}
		}
	}
	_, blobDir, _ := m.backupFiles()
	blobs, _ := os.ReadDir(blobDir)
	nblobs := 0
	for _, b := range blobs {
		if _, err := cid.Decode(b.Name()); err == nil && !b.IsDir() {
			nblobs++
		}
	}
	m.plan = &Plan{DID: did, OldPDS: "", NewPDS: m.nw.Host, NewPDSDID: m.desc.DID, OldHandle: m.cur.Current().PrimaryHandle(),
		NewHandle: strings.TrimPrefix(m.opts.NewHandle, "@"), FromBackup: m.opts.FromBackup, Records: int64(rep.Records), Blobs: nblobs}
	if err := m.planOperation(ctx, "your rotation key "+mine); err != nil {
		return nil, err
	}
	return []step{
		{"name a temporary signing key", m.tempKey},
		{"create account", m.createAccount},
		{"import repository", m.importRepo},
		{"copy blobs", m.copyBlobs},
		{"sign PLC operation", m.signOffline},
		{"submit PLC operation", m.submit},
		{"activate new account", m.activate},
	}, nil
}

// tempKey makes a throwaway signing key, keeps it in the state and has
// the user's rotation key name it as the DID's #atproto key, so that it
// can sign the service-auth token createAccount needs.
func (m *mover) tempKey(ctx context.Context) (string, error) {
	if m.st.TempSigningKey == "" {
		k, err := atcrypto.GeneratePrivateKeyK256()
		if err != nil {
			return "", err
		}
		m.st.TempSigningKey = k.Multibase()
		if err := m.st.save(); err != nil {
			return "", err
		}
	}
	k, err := atcrypto.ParsePrivateMultibase(m.st.TempSigningKey)
	if err != nil {
		return "", err
	}
	pub, _ := k.PublicKey()
	if key, _ := m.cur.Current().VerificationMethodByID("atproto"); key == pub.DIDKey() {
		return "already named", nil
	}
	op, err := plc.NextOperation(m.cur, plc.Update{SigningKey: pub.DIDKey()}, m.opts.RotationKey, m.opts.Now())
	if err != nil {
		return "", err
	}
	if err := m.dir.Submit(ctx, m.cur.DID, op); err != nil {
		return "", err
	}
	return "operation " + op.CID().String(), m.readIdentity(ctx, m.plan.DID)
}

func (m *mover) backupToken() (string, error) {
	k, err := atcrypto.ParsePrivateMultibase(m.st.TempSigningKey)
	if err != nil {
		return "", fmt.Errorf("the state file's temporary key: %w", err)
	}
	return serviceauth.Create(serviceauth.Params{Iss: m.plan.DID, Aud: m.desc.DID, Lxm: "com.atproto.server.createAccount", Now: m.opts.Now()}, k)
}

// signOffline signs the planned operation with the user's rotation key.
func (m *mover) signOffline(ctx context.Context) (string, error) {
	if err := m.readIdentity(ctx, m.plan.DID); err != nil {
		return "", err
	}
	p := m.plan.Operation
	op := &plc.Operation{Type: plc.TypeOperation, RotationKeys: p.RotationKeys, AlsoKnownAs: p.AlsoKnownAs, Prev: m.cur.HeadCID()}
	for _, id := range slices.Sorted(maps.Keys(p.VerificationMethods)) {
		op.VerificationMethods = append(op.VerificationMethods, plc.VerificationMethod{ID: id, Key: p.VerificationMethods[id]})
	}
	for _, id := range slices.Sorted(maps.Keys(p.Services)) {
		op.Services = append(op.Services, plc.Service{ID: id, Type: p.Services[id].Type, Endpoint: p.Services[id].Endpoint})
	}
	if err := plc.CheckLimits(op); err != nil {
		return "", err
	}
	if err := plc.Sign(op, m.opts.RotationKey); err != nil {
		return "", err
	}
	return m.keepSigned(op.AppendJSON(nil))
}
