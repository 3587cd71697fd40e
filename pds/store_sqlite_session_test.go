package pds

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// A database written before app passwords and email confirmation opens:
// the new columns are added and its rows read as before.
func TestOlderDatabaseGainsSessionColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pds.sqlite")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	// The two tables as the previous version made them.
	for _, q := range []string{
		`CREATE TABLE accounts (did TEXT PRIMARY KEY, handle TEXT NOT NULL UNIQUE, email TEXT UNIQUE, password_hash BLOB NOT NULL,
			signing_key TEXT NOT NULL, created_at INTEGER NOT NULL, active INTEGER NOT NULL DEFAULT 1, head TEXT NOT NULL DEFAULT '', rev TEXT NOT NULL DEFAULT '')`,
		`CREATE TABLE refresh_tokens (id TEXT PRIMARY KEY, did TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
		`INSERT INTO accounts (did, handle, email, password_hash, signing_key, created_at) VALUES ('did:plc:old', 'old.test', 'old@example.com', x'00', 'z', 1)`,
		`INSERT INTO refresh_tokens VALUES ('tok', 'did:plc:old', 4102444800)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	for range 2 { // and again once migrated
		st, err := OpenSQLiteStore(path)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		a, err := st.AccountByDID(ctx, "did:plc:old")
		if err != nil || a.Email != "old@example.com" || !a.EmailConfirmedAt.IsZero() {
			t.Fatalf("old account: %+v, %v", a, err)
		}
		rt, err := st.RefreshToken(ctx, "tok")
		if err != nil || rt.DID != "did:plc:old" || rt.AppPassword != "" || rt.NextID != "" || !rt.ExpiresAt.Equal(time.Unix(4102444800, 0)) {
			t.Fatalf("old refresh token: %+v, %v", rt, err)
		}
		st.Close()
	}
}
