package pds

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

// The session tables: refresh_tokens (in schema) gains the app password a
// token descends from and its successor; app passwords and mailed tokens
// have tables of their own. Columns are added to an older database.
const sessionSchema = `
CREATE TABLE IF NOT EXISTS app_passwords (
	did TEXT NOT NULL,
	name TEXT NOT NULL,
	hash BLOB NOT NULL,
	privileged INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (did, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS app_passwords_hash ON app_passwords (did, hash);
CREATE TABLE IF NOT EXISTS email_tokens (
	did TEXT NOT NULL,
	purpose TEXT NOT NULL,
	token TEXT NOT NULL,
	requested_at INTEGER NOT NULL,
	PRIMARY KEY (did, purpose)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS email_tokens_token ON email_tokens (purpose, token);
CREATE TABLE IF NOT EXISTS preferences (
	did TEXT NOT NULL,
	idx INTEGER NOT NULL,
	type TEXT NOT NULL,
	value BLOB NOT NULL,
	PRIMARY KEY (did, idx)
) WITHOUT ROWID;
`

// migrateAccountTables brings an older database up to this version's
// account and session tables.
func migrateAccountTables(db *sql.DB) error {
	for _, col := range []struct{ table, name, decl string }{
		{"refresh_tokens", "app_password", "TEXT NOT NULL DEFAULT ''"},
		{"refresh_tokens", "next_id", "TEXT NOT NULL DEFAULT ''"},
		{"accounts", "email_confirmed_at", "INTEGER NOT NULL DEFAULT 0"},
		{"accounts", "invites_disabled", "INTEGER NOT NULL DEFAULT 0"},
	} {
		if err := addColumn(db, col.table, col.name, col.decl); err != nil {
			return err
		}
	}
	if _, err := db.Exec(sessionSchema + inviteSchema); err != nil {
		return fmt.Errorf("creating the session tables: %w", err)
	}
	return nil
}

// addColumn adds a column to a table made by an older version.
func addColumn(db *sql.DB, table, name, decl string) error {
	rows, err := db.Query(`SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return fmt.Errorf("reading the columns of %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		if n == name {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	if _, err := db.Exec(`ALTER TABLE ` + table + ` ADD COLUMN ` + name + ` ` + decl); err != nil {
		return fmt.Errorf("adding %s.%s: %w", table, name, err)
	}
	return nil
}

func (s *sqliteStore) SaveRefreshToken(ctx context.Context, t RefreshToken) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO refresh_tokens (id, did, expires_at, app_password, next_id) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.DID, t.ExpiresAt.Unix(), t.AppPassword, t.NextID)
	return err
}

func (s *sqliteStore) RefreshToken(ctx context.Context, id string) (*RefreshToken, error) {
	return refreshTokenRow(s.db.QueryRowContext(ctx, `SELECT id, did, expires_at, app_password, next_id FROM refresh_tokens WHERE id = ?`, id))
}

func refreshTokenRow(row *sql.Row) (*RefreshToken, error) {
	var t RefreshToken
	var exp int64
	err := row.Scan(&t.ID, &t.DID, &exp, &t.AppPassword, &t.NextID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("refresh token: %w", ErrNotStored)
	}
	if err != nil {
		return nil, err
	}
	t.ExpiresAt = time.Unix(exp, 0)
	return &t, nil
}

func (s *sqliteStore) RotateRefreshToken(ctx context.Context, id string, exp time.Time, next RefreshToken) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET expires_at = MIN(expires_at, ?), next_id = ? WHERE id = ? AND (next_id = '' OR next_id = ?)`,
		exp.Unix(), next.ID, id, next.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("refresh token %s: rotated by another use: %w", id, ErrConflict)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (id, did, expires_at, app_password, next_id) VALUES (?, ?, ?, ?, '') ON CONFLICT (id) DO NOTHING`,
		next.ID, next.DID, next.ExpiresAt.Unix(), next.AppPassword); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *sqliteStore) RevokeRefreshToken(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE id = ?`, id)
	return err
}

func (s *sqliteStore) RevokeRefreshTokens(ctx context.Context, did string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE did = ?`, did)
	return err
}

func (s *sqliteStore) CreateAppPassword(ctx context.Context, did string, p AppPassword, hash []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO app_passwords (did, name, hash, privileged, created_at) VALUES (?, ?, ?, ?, ?)`,
		did, p.Name, hash, p.Privileged, p.CreatedAt.UnixMilli())
	if isUniqueErr(err) {
		return fmt.Errorf("app password %q: %w", p.Name, ErrConflict)
	}
	return err
}

func (s *sqliteStore) AppPasswordByHash(ctx context.Context, did string, hash []byte) (*AppPassword, error) {
	var p AppPassword
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT name, privileged, created_at FROM app_passwords WHERE did = ? AND hash = ?`, did, hash).Scan(&p.Name, &p.Privileged, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("app password: %w", ErrNotStored)
	}
	if err != nil {
		return nil, err
	}
	p.CreatedAt = time.UnixMilli(at)
	return &p, nil
}

func (s *sqliteStore) AppPasswords(ctx context.Context, did string) ([]AppPassword, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, privileged, created_at FROM app_passwords WHERE did = ? ORDER BY created_at DESC, name`, did)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AppPassword{}
	for rows.Next() {
		var p AppPassword
		var at int64
		if err := rows.Scan(&p.Name, &p.Privileged, &at); err != nil {
			return nil, err
		}
		p.CreatedAt = time.UnixMilli(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *sqliteStore) RevokeAppPassword(ctx context.Context, did, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM app_passwords WHERE did = ? AND name = ?`, did, name); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE did = ? AND app_password = ?`, did, name); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *sqliteStore) SetEmailToken(ctx context.Context, did string, purpose EmailTokenPurpose, token string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO email_tokens (did, purpose, token, requested_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (did, purpose) DO UPDATE SET token = excluded.token, requested_at = excluded.requested_at`,
		did, string(purpose), token, at.UnixMilli())
	return err
}

func (s *sqliteStore) EmailToken(ctx context.Context, purpose EmailTokenPurpose, token string) (string, time.Time, error) {
	var did string
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT did, requested_at FROM email_tokens WHERE purpose = ? AND token = ?`, string(purpose), token).Scan(&did, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, fmt.Errorf("email token: %w", ErrNotStored)
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return did, time.UnixMilli(at), nil
}

func (s *sqliteStore) DeleteEmailToken(ctx context.Context, did string, purpose EmailTokenPurpose) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM email_tokens WHERE did = ? AND purpose = ?`, did, string(purpose))
	return err
}

func (s *sqliteStore) SetEmail(ctx context.Context, did, email string, confirmed time.Time) error {
	var at int64
	if !confirmed.IsZero() {
		at = confirmed.UnixMicro()
	}
	res, err := s.db.ExecContext(ctx, `UPDATE accounts SET email = ?, email_confirmed_at = ? WHERE did = ?`, nullable(email), at, did)
	if isUniqueErr(err) {
		return fmt.Errorf("email %s: %w", email, ErrConflict)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("account %s: %w", did, ErrNotStored)
	}
	return nil
}

func (s *sqliteStore) Preferences(ctx context.Context, did string) ([]Preference, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT type, value FROM preferences WHERE did = ? ORDER BY idx`, did)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Preference
	for rows.Next() {
		var p Preference
		if err := rows.Scan(&p.Type, &p.JSON); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *sqliteStore) PutPreferences(ctx context.Context, did string, replace func(string) bool, prefs []Preference) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT type, value FROM preferences WHERE did = ? ORDER BY idx`, did)
	if err != nil {
		return err
	}
	var kept []Preference
	for rows.Next() {
		var p Preference
		if err := rows.Scan(&p.Type, &p.JSON); err != nil {
			rows.Close()
			return err
		}
		if !replace(p.Type) {
			kept = append(kept, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM preferences WHERE did = ?`, did); err != nil {
		return err
	}
	for i, p := range append(kept, prefs...) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO preferences (did, idx, type, value) VALUES (?, ?, ?, ?)`, did, i, p.Type, []byte(p.JSON)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (s *sqliteStore) CountRecords(ctx context.Context, did, collection string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM records WHERE did = ? AND collection = ?`, did, collection).Scan(&n)
	return n, err
}

// accountTables are the tables holding rows of an account, by DID, that
// a deletion removes (seq rows apart).
func accountTables() []string {
	return []string{"blocks", "records", "refresh_tokens", "app_passwords", "email_tokens", "preferences"}
}

func (s *sqliteStore) DeleteAccount(ctx context.Context, did string, now time.Time) ([]cid.Cid, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE did = ?`, did)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("account %s: %w", did, ErrNotStored)
	}
	for _, t := range accountTables() {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE did = ?`, did); err != nil {
			return nil, fmt.Errorf("deleting %s of %s: %w", t, did, err)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT cid FROM blobs b WHERE did = ? AND NOT EXISTS (SELECT 1 FROM blobs o WHERE o.cid = b.cid AND o.did != b.did)`, did)
	if err != nil {
		return nil, err
	}
	var orphans []cid.Cid
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		if c, err := cid.Decode(s); err == nil {
			orphans = append(orphans, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM blobs WHERE did = ?`, did); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM seq WHERE did = ?`, did); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO seq (did, kind, time) VALUES (?, ?, ?)`, did, seqKindDeleted, now.UnixMicro()); err != nil {
		return nil, err
	}
	return orphans, tx.Commit()
}

const inviteSchema = `
CREATE TABLE IF NOT EXISTS invite_codes (
	code TEXT PRIMARY KEY,
	available INTEGER NOT NULL,
	disabled INTEGER NOT NULL DEFAULT 0,
	for_account TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS invite_codes_account ON invite_codes (for_account);
CREATE TABLE IF NOT EXISTS invite_uses (
	code TEXT NOT NULL,
	used_by TEXT NOT NULL,
	used_at INTEGER NOT NULL,
	PRIMARY KEY (code, used_by)
) WITHOUT ROWID;
`

func (s *sqliteStore) CreateInviteCodes(ctx context.Context, codes []InviteCode) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range codes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO invite_codes (code, available, disabled, for_account, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			c.Code, c.Available, c.Disabled, c.ForAccount, c.CreatedBy, c.CreatedAt.UnixMicro()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

const inviteCols = `code, available, disabled, for_account, created_by, created_at`

func (s *sqliteStore) scanInvites(ctx context.Context, rows *sql.Rows) ([]InviteCode, error) {
	var out []InviteCode
	for rows.Next() {
		var c InviteCode
		var at int64
		if err := rows.Scan(&c.Code, &c.Available, &c.Disabled, &c.ForAccount, &c.CreatedBy, &at); err != nil {
			rows.Close()
			return nil, err
		}
		c.CreatedAt = time.UnixMicro(at)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		urows, err := s.db.QueryContext(ctx, `SELECT used_by, used_at FROM invite_uses WHERE code = ? ORDER BY used_at`, out[i].Code)
		if err != nil {
			return nil, err
		}
		out[i].Uses = []InviteUse{}
		for urows.Next() {
			var u InviteUse
			var at int64
			if err := urows.Scan(&u.UsedBy, &at); err != nil {
				urows.Close()
				return nil, err
			}
			u.UsedAt = time.UnixMicro(at)
			out[i].Uses = append(out[i].Uses, u)
		}
		urows.Close()
	}
	return out, nil
}

func (s *sqliteStore) InviteCode(ctx context.Context, code string) (*InviteCode, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+inviteCols+` FROM invite_codes WHERE code = ?`, code)
	if err != nil {
		return nil, err
	}
	out, err := s.scanInvites(ctx, rows)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("invite code %q: %w", code, ErrNotStored)
	}
	return &out[0], nil
}

func (s *sqliteStore) InviteCodes(ctx context.Context, forAccount, cursor string, limit int) ([]InviteCode, error) {
	q := `SELECT ` + inviteCols + ` FROM invite_codes WHERE (? = '' OR for_account = ?) AND (? = '' OR code > ?) ORDER BY code LIMIT ?`
	rows, err := s.db.QueryContext(ctx, q, forAccount, forAccount, cursor, cursor, limit)
	if err != nil {
		return nil, err
	}
	return s.scanInvites(ctx, rows)
}

func (s *sqliteStore) UseInviteCode(ctx context.Context, code, did string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO invite_uses (code, used_by, used_at) VALUES (?, ?, ?)`, code, did, at.UnixMicro())
	return err
}

func (s *sqliteStore) DisableInviteCodes(ctx context.Context, codes, accounts []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range codes {
		if _, err := tx.ExecContext(ctx, `UPDATE invite_codes SET disabled = 1 WHERE code = ?`, c); err != nil {
			return err
		}
	}
	for _, a := range accounts {
		if _, err := tx.ExecContext(ctx, `UPDATE invite_codes SET disabled = 1 WHERE for_account = ?`, a); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (s *sqliteStore) SetInvitesDisabled(ctx context.Context, did string, disabled bool) error {
	res, err := s.db.ExecContext(ctx, `UPDATE accounts SET invites_disabled = ? WHERE did = ?`, disabled, did)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("account %s: %w", did, ErrNotStored)
	}
	return nil
}

func (s *sqliteStore) InvitesDisabled(ctx context.Context, did string) (bool, error) {
	var off bool
	err := s.db.QueryRowContext(ctx, `SELECT invites_disabled FROM accounts WHERE did = ?`, did).Scan(&off)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("account %s: %w", did, ErrNotStored)
	}
	return off, err
}
