package pds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mail is one message the reference PDS would send by email. There is no
// mail server: the message goes to the server's mail log (Config.Mail).
type Mail struct {
	// To is the account's email address.
	To string `json:"to"`
	// Subject is the reference's subject line for the message.
	Subject string `json:"subject"`
	// Token is the code the message carries (e.g. ABCDE-FGHIJ); empty
	// (and left out) for admin.sendEmail's messages.
	Token string `json:"token,omitempty"`
}

// String is the mail's log line: mail to=ADDRESS subject="..." token=TOKEN.
func (m Mail) String() string {
	s := fmt.Sprintf("mail to=%s subject=%s", m.To, strconv.Quote(m.Subject))
	if m.Token != "" {
		s += " token=" + m.Token
	}
	return s
}

// MailLog writes each mail as one line to each of its writers: the text
// form of Mail.String, or with JSON one object {"mail": {...}}. It is safe
// for concurrent use; a nil *MailLog drops every mail.
type MailLog struct {
	mu   sync.Mutex
	json bool
	out  []io.Writer
}

// NewMailLog writes mail to each of out, as JSON lines when jsonLines.
func NewMailLog(jsonLines bool, out ...io.Writer) *MailLog {
	return &MailLog{json: jsonLines, out: out}
}

// Send writes m to every writer; the first failure is returned after all
// were tried.
func (l *MailLog) Send(m Mail) error {
	if l == nil {
		return nil
	}
	line := m.String() + "\n"
	if l.json {
		b, err := json.Marshal(struct {
			Mail Mail `json:"mail"`
		}{m})
		if err != nil {
			return err
		}
		line = string(b) + "\n"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var first error
	for _, w := range l.out {
		if _, err := io.WriteString(w, line); err != nil && first == nil {
			first = fmt.Errorf("mail log: %w", err)
		}
	}
	return first
}

// EmailTokenPurpose is what a mailed token is good for, as the reference
// names them.
type EmailTokenPurpose string

// The purposes of mailed tokens.
const (
	PurposeConfirmEmail  EmailTokenPurpose = "confirm_email"
	PurposeUpdateEmail   EmailTokenPurpose = "update_email"
	PurposeResetPassword EmailTokenPurpose = "reset_password"
	PurposeDeleteAccount EmailTokenPurpose = "delete_account"
	PurposePLCOperation  EmailTokenPurpose = "plc_operation"
)

// mailSubject is the reference's subject line of each purpose's mail.
func (p EmailTokenPurpose) mailSubject() string {
	switch p {
	case PurposeConfirmEmail:
		return "Email Confirmation"
	case PurposeUpdateEmail:
		return "Email Update Requested"
	case PurposeResetPassword:
		return "Password Reset Requested"
	case PurposeDeleteAccount:
		return "Account Deletion Requested"
	case PurposePLCOperation:
		return "PLC Update Operation Requested"
	}
	return string(p)
}

// emailTokenTTL is how long a mailed token is good for (the reference's
// 15 minutes).
const emailTokenTTL = 15 * time.Minute

// emailTokenStore keeps one mailed token per account and purpose (part
// of Store).
type emailTokenStore interface {
	// SetEmailToken replaces the account's token for purpose.
	SetEmailToken(ctx context.Context, did string, purpose EmailTokenPurpose, token string, at time.Time) error
	// EmailToken finds the token's account and when it was made;
	// ErrNotStored when no account has it for purpose.
	EmailToken(ctx context.Context, purpose EmailTokenPurpose, token string) (did string, at time.Time, err error)
	// DeleteEmailToken removes the account's token for purpose.
	DeleteEmailToken(ctx context.Context, did string, purpose EmailTokenPurpose) error
}

// newEmailToken makes a token as the reference does (ten base32
// characters, upper case, as XXXXX-XXXXX), keeps it for (did, purpose),
// replacing an earlier one, and returns it.
func newEmailToken() (string, error) {
	b, err := randomBytes(10)
	if err != nil {
		return "", err
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	t := make([]byte, 10)
	for i := range t {
		t[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(t[:5]) + "-" + string(t[5:]), nil
}

// mailToken makes a token for (a, purpose), keeps it and mails it to the
// account's email address (the mail log). An account without an email
// address gets 400 InvalidRequest, which is what the reference answers.
func (s *Server) mailToken(ctx context.Context, a *Account, purpose EmailTokenPurpose) error {
	return s.mailTokenTo(ctx, a, a.Email, purpose)
}

// mailTokenTo is mailToken to another address than the account's.
func (s *Server) mailTokenTo(ctx context.Context, a *Account, to string, purpose EmailTokenPurpose) error {
	if to == "" {
		return invalidRequest("account does not have an email address")
	}
	tok, err := newEmailToken()
	if err != nil {
		return err
	}
	if err := s.store.SetEmailToken(ctx, a.DID, purpose, tok, s.now()); err != nil {
		return err
	}
	return s.cfg.Mail.Send(Mail{To: to, Subject: purpose.mailSubject(), Token: tok})
}

// checkEmailToken checks that token is did's live token for purpose, with
// the reference's errors (400 InvalidToken "Token is invalid", 400
// ExpiredToken "Token is expired"). It does not use the token up.
func (s *Server) checkEmailToken(ctx context.Context, did string, purpose EmailTokenPurpose, token string) error {
	owner, err := s.emailTokenOwner(ctx, purpose, token)
	if err != nil {
		return err
	}
	if owner != did {
		return xerr(http.StatusBadRequest, "InvalidToken", "Token is invalid")
	}
	return nil
}

// emailTokenOwner is the account whose live token for purpose token is.
func (s *Server) emailTokenOwner(ctx context.Context, purpose EmailTokenPurpose, token string) (string, error) {
	token = strings.ToUpper(strings.TrimSpace(token))
	if token == "" {
		return "", xerr(http.StatusBadRequest, "InvalidToken", "Token is invalid")
	}
	did, at, err := s.store.EmailToken(ctx, purpose, token)
	if errors.Is(err, ErrNotStored) {
		return "", xerr(http.StatusBadRequest, "InvalidToken", "Token is invalid")
	}
	if err != nil {
		return "", err
	}
	if !s.now().Before(at.Add(emailTokenTTL)) {
		return "", xerr(http.StatusBadRequest, "ExpiredToken", "Token is expired")
	}
	return did, nil
}

// useEmailToken checks the token (checkEmailToken) and removes it.
func (s *Server) useEmailToken(ctx context.Context, did string, purpose EmailTokenPurpose, token string) error {
	if err := s.checkEmailToken(ctx, did, purpose, token); err != nil {
		return err
	}
	return s.store.DeleteEmailToken(ctx, did, purpose)
}
