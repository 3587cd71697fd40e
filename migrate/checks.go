package migrate

import (
	"bytes"
	"context"
	"fmt"
	"net/url"

	"github.com/ipfs/go-cid"

	"github.com/arbor-atproto/arbor/archive"
	"github.com/arbor-atproto/arbor/pdsclient"
	"github.com/arbor-atproto/arbor/plc"
)

// checks are the checks after the move (see the package documentation).
func (m *mover) checks(ctx context.Context) []Check {
	var out []Check
	add := func(name string, ok bool, format string, args ...any) {
		out = append(out, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	rec, err := m.nw.RecommendedCredentials(ctx)
	if err != nil {
		add("new PDS reachable", false, "%v", err)
		return out
	}
	if err := m.readIdentity(ctx, m.plan.DID); err != nil {
		add("DID document names the new PDS and key", false, "%v", err)
	} else {
		cur := m.cur.Current()
		svc, _ := cur.ServiceByID("atproto_pds")
		key, _ := cur.VerificationMethodByID("atproto")
		add("DID document names the new PDS and key", svc.Endpoint == m.nw.Host && key == rec.VerificationMethods["atproto"],
			"pds %s, #atproto %s", svc.Endpoint, key)
	}
	st, err := m.nw.CheckAccountStatus(ctx)
	if err != nil {
		add("new PDS says active", false, "%v", err)
		return out
	}
	add("new PDS says active", st.Activated && st.ValidDid, "activated %v, validDid %v", st.Activated, st.ValidDid)
	newCAR, _, err := m.nw.Do(ctx, pdsclient.Call{NSID: "com.atproto.sync.getRepo", Params: url.Values{"did": {m.plan.DID}}}, maxRepo)
	if err != nil {
		add("new copy verifies against the DID document", false, "%v", err)
		return out
	}
	newData, records, verr := m.verifyCopy(newCAR)
	add("new copy verifies against the DID document", verr == nil, "%s", errOr(verr, fmt.Sprintf("%d records, signature checked with the document's #atproto key", records)))
	oldCAR, err := m.repoCAR(ctx)
	oldData := cid.Undef
	if err == nil {
		if a, rerr := archive.Read(bytes.NewReader(oldCAR), archive.Options{}); rerr == nil {
			oldData = a.Data
		}
	}
	add("same records and commit data", st.IndexedRecords == m.plan.Records && oldData.Defined() && oldData == newData,
		"%d records (old %d), MST root %s (old %s)", st.IndexedRecords, m.plan.Records, newData, oldData)
	if m.old != nil {
		ost, err := m.old.CheckAccountStatus(ctx)
		add("old PDS says deactivated", err == nil && !ost.Activated, "%s", errOr(err, fmt.Sprintf("activated %v", ost != nil && ost.Activated)))
	}
	return out
}

// verifyCopy checks a repository CAR as verify --resolve does: whole, and
// its commit signed by the DID document's #atproto key.
func (m *mover) verifyCopy(car []byte) (cid.Cid, int, error) {
	a, err := archive.Read(bytes.NewReader(car), archive.Options{})
	if err != nil {
		return cid.Undef, 0, err
	}
	keyStr, _ := m.cur.Current().VerificationMethodByID("atproto")
	key, err := plc.ParseDIDKey(keyStr)
	if err != nil {
		return a.Data, 0, err
	}
	rep, err := a.Verify(archive.VerifyOptions{Key: key, DID: m.cur.DID})
	if err != nil {
		return a.Data, 0, err
	}
	if !rep.Valid() || !rep.SignatureChecked {
		return a.Data, rep.Records, rep.Failure()
	}
	return a.Data, rep.Records, nil
}

func errOr(err error, ok string) string {
	if err != nil {
		return err.Error()
	}
	return ok
}
