package pds

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqliteStore is the Store over one SQLite database file.
type sqliteStore struct {
	db   *sql.DB
	path string
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
	did TEXT PRIMARY KEY,
	handle TEXT NOT NULL UNIQUE,
	email TEXT UNIQUE,
	password_hash BLOB NOT NULL,
	signing_key TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	active INTEGER NOT NULL DEFAULT 1,
	head TEXT NOT NULL DEFAULT '',
	rev TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS blocks (
	did TEXT NOT NULL,
	cid TEXT NOT NULL,
	rev TEXT NOT NULL,
	data BLOB NOT NULL,
	PRIMARY KEY (did, cid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blocks_rev ON blocks (did, rev);
CREATE TABLE IF NOT EXISTS records (
	did TEXT NOT NULL,
	collection TEXT NOT NULL,
	rkey TEXT NOT NULL,
	cid TEXT NOT NULL,
	PRIMARY KEY (did, collection, rkey)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_cid ON records (did, cid);
CREATE TABLE IF NOT EXISTS blobs (
	did TEXT NOT NULL,
	cid TEXT NOT NULL,
	mime TEXT NOT NULL,
	size INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (did, cid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refresh_tokens (
	id TEXT PRIMARY KEY,
	did TEXT NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS plc_ops (
	did TEXT NOT NULL,
	idx INTEGER NOT NULL,
	cid TEXT NOT NULL,
	op BLOB NOT NULL,
	nullified INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (did, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seq (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	did TEXT NOT NULL,
	kind TEXT NOT NULL,
	commit_cid TEXT NOT NULL DEFAULT '',
	rev TEXT NOT NULL DEFAULT '',
	since TEXT NOT NULL DEFAULT '',
	ops BLOB,
	car BLOB,
	too_big INTEGER NOT NULL DEFAULT 0,
	handle TEXT NOT NULL DEFAULT '',
	time INTEGER NOT NULL
);
`

// OpenSQLiteStore opens (creating if needed) the database file path.
func OpenSQLiteStore(path string) (Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	// The database holds the server's secrets (token secret, rotation and
	// signing keys, password hashes): only its owner may read it. SQLite
	// gives the -wal and -shm files the database file's mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{abs, abs + "-wal", abs + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("store %s: %w", path, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: creating schema: %w", path, err)
	}
	if err := migrateAccountTables(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return &sqliteStore{db: db, path: abs}, nil
}

func (s *sqliteStore) Close() error { return s.db.Close() }

func (s *sqliteStore) Meta(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("meta %q: %w", key, ErrNotStored)
	}
	return v, err
}

func (s *sqliteStore) SetMeta(ctx context.Context, key string, val []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, val)
	return err
}

func isUniqueErr(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *sqliteStore) CreateAccount(ctx context.Context, a *Account, first *CommitWrite) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO accounts (did, handle, email, password_hash, signing_key, created_at, active) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.DID, a.Handle, nullable(a.Email), a.PasswordHash, a.SigningKey, a.CreatedAt.UnixMicro(), a.Active)
	if isUniqueErr(err) {
		return fmt.Errorf("account %s (%s): %w", a.DID, a.Handle, ErrConflict)
	}
	if err != nil {
		return err
	}
	// An account created deactivated (a migration) is announced when it
	// is activated, as the reference sequences it.
	for _, kind := range []string{"identity", "account"} {
		if !a.Active {
			break
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO seq (did, kind, handle, time) VALUES (?, ?, ?, ?)`, a.DID, kind, a.Handle, a.CreatedAt.UnixMicro()); err != nil {
			return err
		}
	}
	if err := applyCommitTx(ctx, tx, first); err != nil {
		return err
	}
	return tx.Commit()
}

const accountCols = `did, handle, COALESCE(email, ''), password_hash, signing_key, created_at, active, head, rev, email_confirmed_at`

func scanAccount(row interface{ Scan(...any) error }) (*Account, error) {
	var a Account
	var created int64
	var head string
	var confirmed int64
	if err := row.Scan(&a.DID, &a.Handle, &a.Email, &a.PasswordHash, &a.SigningKey, &created, &a.Active, &head, &a.Rev, &confirmed); err != nil {
		return nil, err
	}
	a.CreatedAt = time.UnixMicro(created).UTC()
	if confirmed != 0 {
		a.EmailConfirmedAt = time.UnixMicro(confirmed).UTC()
	}
	if head != "" {
		c, err := cid.Decode(head)
		if err != nil {
			return nil, fmt.Errorf("account %s: stored head %q: %w", a.DID, head, err)
		}
		a.Head = c
	}
	return &a, nil
}

func (s *sqliteStore) accountWhere(ctx context.Context, col, val string) (*Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE `+col+` = ?`, val))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("account with %s %q: %w", col, val, ErrNotStored)
	}
	return a, err
}

func (s *sqliteStore) AccountByDID(ctx context.Context, did string) (*Account, error) {
	return s.accountWhere(ctx, "did", did)
}

func (s *sqliteStore) AccountByHandle(ctx context.Context, handle string) (*Account, error) {
	return s.accountWhere(ctx, "handle", handle)
}

func (s *sqliteStore) AccountByEmail(ctx context.Context, email string) (*Account, error) {
	return s.accountWhere(ctx, "email", email)
}

func (s *sqliteStore) ListAccounts(ctx context.Context, after string, limit int) ([]*Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE did > ? ORDER BY did LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *sqliteStore) SetPassword(ctx context.Context, did string, hash []byte) error {
	res, err := s.db.ExecContext(ctx, `UPDATE accounts SET password_hash = ? WHERE did = ?`, hash, did)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("account %s: %w", did, ErrNotStored)
	}
	return nil
}

func (s *sqliteStore) SetHandle(ctx context.Context, did, handle string, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE accounts SET handle = ? WHERE did = ?`, handle, did)
	if isUniqueErr(err) {
		return fmt.Errorf("handle %s: %w", handle, ErrConflict)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("account %s: %w", did, ErrNotStored)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO seq (did, kind, handle, time) VALUES (?, 'identity', ?, ?)`, did, handle, now.UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *sqliteStore) ApplyCommit(ctx context.Context, w *CommitWrite) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var head string
	err = tx.QueryRowContext(ctx, `SELECT head FROM accounts WHERE did = ?`, w.DID).Scan(&head)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("account %s: %w", w.DID, ErrNotStored)
	}
	if err != nil {
		return err
	}
	if head != cidString(w.PrevHead) {
		return fmt.Errorf("commit for %s built on %s, head is %s: %w", w.DID, cidString(w.PrevHead), head, ErrStaleHead)
	}
	if err := applyCommitTx(ctx, tx, w); err != nil {
		return err
	}
	return tx.Commit()
}

func cidString(c cid.Cid) string {
	if !c.Defined() {
		return ""
	}
	return c.String()
}

// opJSON is the stored form of an Op (links as strings, null when absent).
type opJSON struct {
	Action string  `json:"action"`
	Path   string  `json:"path"`
	CID    *string `json:"cid"`
	Prev   *string `json:"prev,omitempty"`
}

func encodeOps(ops []Op) ([]byte, error) {
	out := make([]opJSON, len(ops))
	for i, op := range ops {
		out[i] = opJSON{Action: op.Action, Path: op.Path}
		if op.CID.Defined() {
			s := op.CID.String()
			out[i].CID = &s
		}
		if op.Prev.Defined() {
			s := op.Prev.String()
			out[i].Prev = &s
		}
	}
	return json.Marshal(out)
}

func decodeOps(b []byte) ([]Op, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var in []opJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	out := make([]Op, len(in))
	for i, o := range in {
		out[i] = Op{Action: o.Action, Path: o.Path}
		if o.CID != nil {
			c, err := cid.Decode(*o.CID)
			if err != nil {
				return nil, err
			}
			out[i].CID = c
		}
		if o.Prev != nil {
			c, err := cid.Decode(*o.Prev)
			if err != nil {
				return nil, err
			}
			out[i].Prev = c
		}
	}
	return out, nil
}

func applyCommitTx(ctx context.Context, tx *sql.Tx, w *CommitWrite) error {
	if w.ReplaceAll {
		for _, q := range []string{`DELETE FROM blocks WHERE did = ?`, `DELETE FROM records WHERE did = ?`} {
			if _, err := tx.ExecContext(ctx, q, w.DID); err != nil {
				return err
			}
		}
	}
	del, err := tx.PrepareContext(ctx, `DELETE FROM blocks WHERE did = ? AND cid = ?`)
	if err != nil {
		return err
	}
	defer del.Close()
	for _, c := range w.Removed {
		if _, err := del.ExecContext(ctx, w.DID, c.String()); err != nil {
			return err
		}
	}
	ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO blocks (did, cid, rev, data) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, b := range w.Blocks {
		if _, err := ins.ExecContext(ctx, w.DID, b.CID.String(), w.Rev, b.Data); err != nil {
			return err
		}
	}
	for _, r := range w.Records {
		if r.CID.Defined() {
			_, err = tx.ExecContext(ctx, `INSERT INTO records (did, collection, rkey, cid) VALUES (?, ?, ?, ?) ON CONFLICT (did, collection, rkey) DO UPDATE SET cid = excluded.cid`,
				w.DID, r.Collection, r.Rkey, r.CID.String())
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM records WHERE did = ? AND collection = ? AND rkey = ?`, w.DID, r.Collection, r.Rkey)
		}
		if err != nil {
			return err
		}
	}
	for _, c := range w.Unlinked {
		if _, err := tx.ExecContext(ctx, `DELETE FROM blocks WHERE did = ? AND cid = ? AND NOT EXISTS (SELECT 1 FROM records WHERE did = ? AND cid = ?)`,
			w.DID, c.String(), w.DID, c.String()); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET head = ?, rev = ? WHERE did = ?`, w.Commit.String(), w.Rev, w.DID); err != nil {
		return err
	}
	ops, err := encodeOps(w.Ops)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO seq (did, kind, commit_cid, rev, since, ops, car, too_big, time) VALUES (?, 'commit', ?, ?, ?, ?, ?, ?, ?)`,
		w.DID, w.Commit.String(), w.Rev, w.Since, ops, w.EventCAR, w.TooBig, w.Time.UnixMicro())
	return err
}

func (s *sqliteStore) Block(ctx context.Context, did string, c cid.Cid) ([]byte, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, `SELECT data FROM blocks WHERE did = ? AND cid = ?`, did, c.String()).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("block %s of %s: %w", c, did, ErrNotStored)
	}
	return data, err
}

func (s *sqliteStore) Blocks(ctx context.Context, did, since string, fn func(c cid.Cid, data []byte) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT cid, data FROM blocks WHERE did = ? AND rev > ? ORDER BY rev DESC, cid`, did, since)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var cs string
		var data []byte
		if err := rows.Scan(&cs, &data); err != nil {
			return err
		}
		c, err := cid.Decode(cs)
		if err != nil {
			return fmt.Errorf("block %q of %s: %w", cs, did, err)
		}
		if err := fn(c, data); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *sqliteStore) Record(ctx context.Context, did, collection, rkey string) (cid.Cid, error) {
	var cs string
	err := s.db.QueryRowContext(ctx, `SELECT cid FROM records WHERE did = ? AND collection = ? AND rkey = ?`, did, collection, rkey).Scan(&cs)
	if errors.Is(err, sql.ErrNoRows) {
		return cid.Undef, fmt.Errorf("record %s/%s of %s: %w", collection, rkey, did, ErrNotStored)
	}
	if err != nil {
		return cid.Undef, err
	}
	return cid.Decode(cs)
}

func (s *sqliteStore) ListRecords(ctx context.Context, did, collection, cursor string, limit int, ascending bool) ([]RecordRef, error) {
	var q string
	args := []any{did, collection}
	switch {
	case ascending && cursor != "":
		q, args = `AND rkey > ? ORDER BY rkey ASC`, append(args, cursor)
	case ascending:
		q = `ORDER BY rkey ASC`
	case cursor != "":
		q, args = `AND rkey < ? ORDER BY rkey DESC`, append(args, cursor)
	default:
		q = `ORDER BY rkey DESC`
	}
	rows, err := s.db.QueryContext(ctx, `SELECT rkey, cid FROM records WHERE did = ? AND collection = ? `+q+` LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RecordRef
	for rows.Next() {
		var rk, cs string
		if err := rows.Scan(&rk, &cs); err != nil {
			return nil, err
		}
		c, err := cid.Decode(cs)
		if err != nil {
			return nil, err
		}
		out = append(out, RecordRef{Collection: collection, Rkey: rk, CID: c})
	}
	return out, rows.Err()
}

func (s *sqliteStore) Collections(ctx context.Context, did string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT collection FROM records WHERE did = ? ORDER BY collection`, did)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *sqliteStore) PutBlobMeta(ctx context.Context, did string, b BlobMeta) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO blobs (did, cid, mime, size, created_at) VALUES (?, ?, ?, ?, ?)`,
		did, b.CID.String(), b.MimeType, b.Size, b.CreatedAt.UnixMicro())
	return err
}

func (s *sqliteStore) BlobMeta(ctx context.Context, did string, c cid.Cid) (*BlobMeta, error) {
	b := BlobMeta{CID: c}
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT mime, size, created_at FROM blobs WHERE did = ? AND cid = ?`, did, c.String()).Scan(&b.MimeType, &b.Size, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("blob %s of %s: %w", c, did, ErrNotStored)
	}
	if err != nil {
		return nil, err
	}
	b.CreatedAt = time.UnixMicro(created).UTC()
	return &b, nil
}

func (s *sqliteStore) ListBlobs(ctx context.Context, did, cursor string, limit int) ([]cid.Cid, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT cid FROM blobs WHERE did = ? AND cid > ? ORDER BY cid LIMIT ?`, did, cursor, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []cid.Cid
	for rows.Next() {
		var cs string
		if err := rows.Scan(&cs); err != nil {
			return nil, err
		}
		c, err := cid.Decode(cs)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *sqliteStore) PLCLog(ctx context.Context, did string) ([]PLCEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT cid, op, nullified, created_at FROM plc_ops WHERE did = ? ORDER BY idx`, did)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PLCEntry
	for rows.Next() {
		var e PLCEntry
		var created int64
		if err := rows.Scan(&e.CID, &e.Operation, &e.Nullified, &created); err != nil {
			return nil, err
		}
		e.CreatedAt = time.UnixMicro(created).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("DID %s: %w", did, ErrNotStored)
	}
	return out, nil
}

func (s *sqliteStore) SetPLCLog(ctx context.Context, did string, log []PLCEntry) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM plc_ops WHERE did = ?`, did); err != nil {
		return err
	}
	for i, e := range log {
		if _, err := tx.ExecContext(ctx, `INSERT INTO plc_ops (did, idx, cid, op, nullified, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			did, i, e.CID, e.Operation, e.Nullified, e.CreatedAt.UnixMicro()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (s *sqliteStore) Events(ctx context.Context, after int64, limit int) ([]SeqEvent, error) {
	return s.EventPage(ctx, after, limit, 0)
}

// EventPage is Events, stopping after the row that brings the CARs read to
// maxBytes or more (0: no byte limit); it returns at least one row when
// there is one.
func (s *sqliteStore) EventPage(ctx context.Context, after int64, limit, maxBytes int) ([]SeqEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, did, kind, commit_cid, rev, since, ops, car, too_big, handle, time FROM seq WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SeqEvent
	size := 0
	for rows.Next() {
		var e SeqEvent
		var commit string
		var ops []byte
		var t int64
		if err := rows.Scan(&e.Seq, &e.DID, &e.Kind, &commit, &e.Rev, &e.Since, &ops, &e.CAR, &e.TooBig, &e.Handle, &t); err != nil {
			return nil, err
		}
		if commit != "" {
			if e.Commit, err = cid.Decode(commit); err != nil {
				return nil, fmt.Errorf("seq %d: commit %q: %w", e.Seq, commit, err)
			}
		}
		if e.Ops, err = decodeOps(ops); err != nil {
			return nil, fmt.Errorf("seq %d: ops: %w", e.Seq, err)
		}
		e.Time = time.UnixMicro(t).UTC()
		out = append(out, e)
		if size += len(e.CAR); maxBytes > 0 && size >= maxBytes {
			break
		}
	}
	return out, rows.Err()
}
