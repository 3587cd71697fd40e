package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/arbor-atproto/arbor/account"
	"github.com/arbor-atproto/arbor/pdsclient"
	"github.com/arbor-atproto/arbor/plc"
)

// Options say what to move where.
type Options struct {
	From, To  string // PDS URLs (From unused with FromBackup)
	Handle    string // the account on the old PDS (handle or DID)
	Password  string // its password, also the new account's
	NewHandle string // default: Handle
	Email     string // the new account's address (default: the old one's)
	Invite    string
	PLCHost   string
	PLCToken  string
	// DropRotationKeys allows an operation that leaves out rotation keys
	// other than the old PDS's.
	DropRotationKeys bool
	// FromBackup is a directory with the repository CAR and blobs (what
	// arbor fetch writes); RotationKey, a key the user holds, signs.
	FromBackup  string
	RotationKey atcrypto.PrivateKey
	StatePath   string
	DryRun      bool
	HTTP        *http.Client
	// Progress, when set, hears each step as it starts and ends.
	Progress func(step, status string)
	// OnPlan, when set, is given the plan before anything is written.
	OnPlan func(*Plan)
	Now    func() time.Time
}

// StepResult is one step of a run.
type StepResult struct {
	Name   string `json:"name"`
	Status string `json:"status"` // done, already done, waiting
	Detail string `json:"detail,omitempty"`
}

// Check is one check after the move.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Report is what arbor migrate prints.
type Report struct {
	Plan      *Plan        `json:"plan"`
	DryRun    bool         `json:"dryRun"`
	StateFile string       `json:"stateFile,omitempty"`
	Steps     []StepResult `json:"steps"`
	// NeedPLCToken: the run stopped for the emailed PLC token.
	NeedPLCToken bool    `json:"needPlcToken"`
	Checks       []Check `json:"checks,omitempty"`
	Done         bool    `json:"done"`
}

// mover is one run.
type mover struct {
	opts    Options
	old, nw *pdsclient.Client
	dir     *plc.Client
	st      *State
	plan    *Plan
	rep     *Report
	cur     *plc.State
	oldKeys []string // the old PDS's rotation keys
	desc    *pdsclient.ServerDescription
}

type step struct {
	name string
	fn   func(ctx context.Context) (string, error)
}

// Run plans the move and, unless DryRun, carries it out step by step,
// recording each finished step in the state file.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewHandle == "" {
		opts.NewHandle = strings.TrimPrefix(opts.Handle, "@")
	}
	m := &mover{opts: opts, dir: &plc.Client{Host: opts.PLCHost, HTTP: opts.HTTP}, rep: &Report{DryRun: opts.DryRun, StateFile: opts.StatePath}}
	st, err := loadState(opts.StatePath)
	if err != nil {
		return nil, err
	}
	m.st = st
	m.nw = pdsclient.New(opts.To, opts.HTTP)
	if m.desc, err = m.nw.DescribeServer(ctx); err != nil {
		return nil, fmt.Errorf("the new PDS %s: %w", opts.To, err)
	}
	steps, err := m.prepare(ctx)
	if err != nil {
		return m.rep, err
	}
	m.rep.Plan = m.plan
	if opts.OnPlan != nil {
		opts.OnPlan(m.plan)
	}
	if opts.DryRun {
		return m.rep, nil
	}
	if err := m.st.matches(m.plan.DID, m.plan.OldPDS, m.plan.NewPDS); err != nil {
		return m.rep, err
	}
	m.st.NewHandle = opts.NewHandle
	for _, s := range steps {
		if m.st.Done[s.name] {
			m.rep.Steps = append(m.rep.Steps, StepResult{Name: s.name, Status: "already done"})
			continue
		}
		m.progress(s.name, "started")
		detail, err := s.fn(ctx)
		if errors.Is(err, account.ErrNeedPLCToken) {
			m.rep.NeedPLCToken = true
			m.rep.Steps = append(m.rep.Steps, StepResult{Name: s.name, Status: "waiting", Detail: detail})
			return m.rep, errors.Join(err, m.st.save())
		}
		if err != nil {
			m.st.save()
			return m.rep, fmt.Errorf("%w: %s: %w", ErrStepFailed, s.name, err)
		}
		m.st.Done[s.name] = true
		if err := m.st.save(); err != nil {
			return m.rep, fmt.Errorf("saving the state file: %w", err)
		}
		m.rep.Steps = append(m.rep.Steps, StepResult{Name: s.name, Status: "done", Detail: detail})
		m.progress(s.name, "done")
	}
	m.rep.Checks = m.checks(ctx)
	m.rep.Done = true
	for _, c := range m.rep.Checks {
		if !c.OK {
			return m.rep, fmt.Errorf("%w: %s: %s", ErrChecksFailed, c.Name, c.Detail)
		}
	}
	return m.rep, nil
}

func (m *mover) progress(name, status string) {
	if m.opts.Progress != nil {
		m.opts.Progress(name, status)
	}
}

// prepare logs in, reads the DID's state and makes the plan; it returns
// the steps of this kind of move.
func (m *mover) prepare(ctx context.Context) ([]step, error) {
	if m.opts.FromBackup != "" {
		return m.prepareBackup(ctx)
	}
	m.old = pdsclient.New(m.opts.From, m.opts.HTTP)
	s, err := m.old.Login(ctx, m.opts.Handle, m.opts.Password)
	if err != nil {
		return nil, fmt.Errorf("logging in to the old PDS %s: %w", m.opts.From, err)
	}
	if m.opts.Email == "" {
		var sess struct{ Email string }
		if err := m.old.Query(ctx, "com.atproto.server.getSession", nil, &sess); err == nil {
			m.opts.Email = sess.Email
		}
	}
	rec, err := m.old.RecommendedCredentials(ctx)
	if err != nil {
		return nil, fmt.Errorf("the old PDS's rotation key: %w", err)
	}
	m.oldKeys = rec.RotationKeys
	if err := m.readIdentity(ctx, s.DID); err != nil {
		return nil, err
	}
	status, err := m.old.CheckAccountStatus(ctx)
	if err != nil {
		return nil, err
	}
	prefs, _ := m.old.Preferences(ctx)
	var list []json.RawMessage
	json.Unmarshal(prefs, &list)
	m.plan = &Plan{DID: s.DID, OldPDS: m.old.Host, NewPDS: m.nw.Host, NewPDSDID: m.desc.DID, OldHandle: s.Handle, NewHandle: m.opts.NewHandle,
		Records: status.IndexedRecords, Blobs: int(status.ExpectedBlobs), Preferences: len(list)}
	if err := m.planOperation(ctx, "the old PDS (with the emailed PLC token)"); err != nil {
		return nil, err
	}
	return []step{
		{"create account", m.createAccount},
		{"import repository", m.importRepo},
		{"copy blobs", m.copyBlobs},
		{"copy preferences", m.copyPreferences},
		{"sign PLC operation", m.signOnline},
		{"submit PLC operation", m.submit},
		{"activate new account", m.activate},
		{"deactivate old account", m.deactivateOld},
	}, nil
}

func (m *mover) readIdentity(ctx context.Context, did string) error {
	d, err := syntax.ParseDID(did)
	if err != nil {
		return err
	}
	cur, _, err := account.Describe(ctx, m.dir, d)
	if err != nil {
		return fmt.Errorf("the DID's log in %s: %w", m.opts.PLCHost, err)
	}
	m.cur = cur
	return nil
}

// planOperation plans the operation with the new PDS's keys when the
// account exists there (a rerun), placeholders before.
func (m *mover) planOperation(ctx context.Context, signer string) error {
	newRot, newSigning := UnknownKey, UnknownKey
	if m.st.Done["create account"] {
		if err := m.loginNew(ctx); err != nil {
			return err
		}
		rec, err := m.nw.RecommendedCredentials(ctx)
		if err != nil {
			return err
		}
		newRot, newSigning = rec.RotationKeys[0], rec.VerificationMethods["atproto"]
	}
	cur := m.cur.Current()
	if m.st.Done["submit PLC operation"] && len(m.st.SignedOperation) > 0 {
		// The directory already has the new operation: plan from the one
		// before it.
		if prev, err := plc.ParseOperation(m.st.SignedOperation); err == nil {
			m.plan.Operation = planFromSigned(prev, signer)
			return nil
		}
	}
	op, err := planOperation(cur, m.oldKeys, newRot, m.nw.Host, m.opts.NewHandle, newSigning, m.opts.DropRotationKeys)
	op.SignedBy = signer
	m.plan.Operation = op
	return err
}

func planFromSigned(op *plc.Operation, signer string) Operation {
	o := Operation{RotationKeys: op.RotationKeys, AlsoKnownAs: op.AlsoKnownAs, VerificationMethods: map[string]string{}, Services: map[string]pdsclient.ServiceEndpoint{}, SignedBy: signer}
	for _, vm := range op.VerificationMethods {
		o.VerificationMethods[vm.ID] = vm.Key
	}
	for _, s := range op.Services {
		o.Services[s.ID] = pdsclient.ServiceEndpoint{Type: s.Type, Endpoint: s.Endpoint}
	}
	return o
}

func (m *mover) loginNew(ctx context.Context) error {
	if m.nw.Session() != nil {
		return nil
	}
	if _, err := m.nw.Login(ctx, m.plan.DID, m.opts.Password); err != nil {
		return fmt.Errorf("logging in to the new PDS: %w", err)
	}
	return nil
}

// createAccount creates the account on the new PDS with the DID, proven
// by a service-auth token of the old PDS (or signed with the throwaway key
// of a move from a backup).
func (m *mover) createAccount(ctx context.Context) (string, error) {
	tok, err := m.createToken(ctx)
	if err != nil {
		return "", err
	}
	in := map[string]string{"did": m.plan.DID, "handle": m.opts.NewHandle, "password": m.opts.Password}
	if m.opts.Email != "" {
		in["email"] = m.opts.Email
	}
	if m.opts.Invite != "" {
		in["inviteCode"] = m.opts.Invite
	}
	body, _ := json.Marshal(in)
	started := m.st.Started["create account"]
	m.st.Started["create account"] = true
	if err := m.st.save(); err != nil {
		return "", err
	}
	_, _, err = m.nw.Do(ctx, pdsclient.Call{NSID: "com.atproto.server.createAccount", Body: body, ContentType: "application/json", Bearer: tok}, pdsclient.MaxJSONAnswer)
	if pdsclient.IsXRPC(err, "AlreadyExists") {
		// Made by this move's earlier run (stopped before it was recorded)
		// if the password logs in; anyone else's otherwise.
		if !started || m.loginNew(ctx) != nil {
			return "", fmt.Errorf("%w: %s already hosts %s; nothing was changed: %v", ErrAlreadyHosted, m.nw.Host, m.plan.DID, err)
		}
	} else if err != nil {
		return "", err
	}
	if err := m.loginNew(ctx); err != nil {
		return "", err
	}
	// Now the new PDS's keys are known: plan the operation with them.
	m.st.Done["create account"] = true
	return "created " + m.plan.DID + " as " + m.opts.NewHandle + " (deactivated)", m.planOperation(ctx, m.plan.Operation.SignedBy)
}

func (m *mover) createToken(ctx context.Context) (string, error) {
	if m.old != nil {
		return m.old.ServiceAuth(ctx, m.desc.DID, "com.atproto.server.createAccount", time.Time{})
	}
	return m.backupToken()
}

func (m *mover) importRepo(ctx context.Context) (string, error) {
	if err := m.loginNew(ctx); err != nil {
		return "", err
	}
	car, err := m.repoCAR(ctx)
	if err != nil {
		return "", err
	}
	if _, _, err := m.nw.Do(ctx, pdsclient.Call{NSID: "com.atproto.repo.importRepo", Body: car, ContentType: "application/vnd.ipld.car", Auth: true}, pdsclient.MaxJSONAnswer); err != nil {
		return "", err
	}
	st, err := m.nw.CheckAccountStatus(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d bytes, %d records", len(car), st.IndexedRecords), nil
}

// maxRepo bounds a repository download.
const maxRepo = 256 << 20

func (m *mover) repoCAR(ctx context.Context) ([]byte, error) {
	if m.old == nil {
		return m.backupCAR()
	}
	car, _, err := m.old.Do(ctx, pdsclient.Call{NSID: "com.atproto.sync.getRepo", Params: url.Values{"did": {m.plan.DID}}, Auth: true}, maxRepo)
	return car, err
}

// copyBlobs uploads every blob listMissingBlobs names, each tried up to
// three times, until the list is empty.
func (m *mover) copyBlobs(ctx context.Context) (string, error) {
	if err := m.loginNew(ctx); err != nil {
		return "", err
	}
	copied := 0
	for round := 0; round < 3; round++ {
		missing, err := m.nw.MissingBlobs(ctx)
		if err != nil {
			return "", err
		}
		if len(missing) == 0 {
			return fmt.Sprintf("%d copied, none missing", copied), nil
		}
		for _, b := range missing {
			if m.copyBlob(ctx, b.CID) == nil {
				copied++
			}
		}
	}
	missing, err := m.nw.MissingBlobs(ctx)
	if err == nil && len(missing) > 0 {
		err = fmt.Errorf("%d blobs still missing after three tries (first: %s of %s)", len(missing), missing[0].CID, missing[0].RecordURI)
	}
	return fmt.Sprintf("%d copied", copied), err
}

func (m *mover) copyBlob(ctx context.Context, c string) error {
	data, ctype, err := m.blob(ctx, c)
	if err != nil {
		return err
	}
	_, _, err = m.nw.Do(ctx, pdsclient.Call{NSID: "com.atproto.repo.uploadBlob", Body: data, ContentType: ctype, Auth: true}, pdsclient.MaxJSONAnswer)
	return err
}

// maxBlob bounds a blob download.
const maxBlob = 100 << 20

func (m *mover) blob(ctx context.Context, c string) ([]byte, string, error) {
	if m.old == nil {
		return m.backupBlob(c)
	}
	b, h, err := m.old.Do(ctx, pdsclient.Call{NSID: "com.atproto.sync.getBlob", Params: url.Values{"did": {m.plan.DID}, "cid": {c}}, Auth: true}, maxBlob)
	if err != nil {
		return nil, "", err
	}
	return b, h.Get("Content-Type"), nil
}

func (m *mover) copyPreferences(ctx context.Context) (string, error) {
	if m.old == nil {
		return "no old PDS: preferences are not in a backup", nil
	}
	if err := m.loginNew(ctx); err != nil {
		return "", err
	}
	prefs, err := m.old.Preferences(ctx)
	if err != nil {
		return "", err
	}
	if err := m.nw.PutPreferences(ctx, prefs); err != nil {
		return "", err
	}
	var list []json.RawMessage
	json.Unmarshal(prefs, &list)
	return fmt.Sprintf("%d preferences", len(list)), nil
}

// signOnline gets the operation signed by the old PDS: without a token it
// asks for one (once) and stops; an expired or wrong token is forgotten
// so that the next run without one asks again.
func (m *mover) signOnline(ctx context.Context) (string, error) {
	if m.opts.PLCToken == "" {
		if m.st.Done["request PLC token"] {
			return "the PLC token was mailed earlier", fmt.Errorf("%w: the old PDS mailed a PLC token to %s; rerun with --plc-token TOKEN (or without the state file's request, to have it sent again)", account.ErrNeedPLCToken, m.opts.Email)
		}
		if err := m.old.RequestPLCSignature(ctx); err != nil {
			return "", err
		}
		m.st.Done["request PLC token"] = true
		return "PLC token requested", fmt.Errorf("%w: the old PDS mailed a PLC token to the account's address; rerun with --plc-token TOKEN and the same --state file", account.ErrNeedPLCToken)
	}
	opJSON, err := m.old.SignPLCOperation(ctx, m.opts.PLCToken, m.plan.Operation.credentials())
	if pdsclient.IsXRPC(err, "ExpiredToken") || pdsclient.IsXRPC(err, "InvalidToken") {
		delete(m.st.Done, "request PLC token")
		return "", fmt.Errorf("%w; rerun without --plc-token to have a new one mailed", err)
	}
	if err != nil {
		return "", err
	}
	return m.keepSigned(opJSON)
}

// keepSigned checks a signed operation against the plan and the log and
// keeps it in the state.
func (m *mover) keepSigned(opJSON []byte) (string, error) {
	op, err := plc.ParseOperation(opJSON)
	if err != nil {
		return "", fmt.Errorf("the signed operation: %w", err)
	}
	if err := matchSigned(op, m.plan.Operation); err != nil {
		return "", err
	}
	if err := plc.CheckNext(m.cur, op, m.opts.Now()); err != nil {
		return "", fmt.Errorf("the signed operation does not follow the DID's log: %w", err)
	}
	m.st.SignedOperation = opJSON
	return "operation " + op.CID().String(), nil
}

func (m *mover) submit(ctx context.Context) (string, error) {
	op, err := plc.ParseOperation(m.st.SignedOperation)
	if err != nil {
		return "", fmt.Errorf("the state file's operation: %w", err)
	}
	if m.old != nil {
		if err := m.loginNew(ctx); err != nil {
			return "", err
		}
		if err := m.nw.SubmitPLCOperation(ctx, m.st.SignedOperation); err != nil {
			return "", err
		}
	} else if err := m.dir.Submit(ctx, syntax.DID(m.plan.DID), op); err != nil {
		return "", err
	}
	if err := m.readIdentity(ctx, m.plan.DID); err != nil {
		return "", err
	}
	if m.cur.HeadCID() != op.CID().String() {
		return "", fmt.Errorf("the directory's head is %s, not the submitted %s", m.cur.HeadCID(), op.CID())
	}
	return "the directory's head is " + op.CID().String(), nil
}

func (m *mover) activate(ctx context.Context) (string, error) {
	if err := m.loginNew(ctx); err != nil {
		return "", err
	}
	return "", m.nw.Procedure(ctx, "com.atproto.server.activateAccount", nil, nil)
}

func (m *mover) deactivateOld(ctx context.Context) (string, error) {
	if m.old == nil {
		return "no old PDS", nil
	}
	return "", m.old.Procedure(ctx, "com.atproto.server.deactivateAccount", map[string]any{}, nil)
}
