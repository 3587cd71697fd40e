package pds

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

// SetAccountActive sets an account's active flag and writes its seq rows in
// the same transaction: one #account row on deactivation; on activation
// #account, #identity (the current handle) and a #sync row of the head
// commit (a commit row with too_big set and a CAR of the commit block), as
// the reference PDS sequences an activation.
func (s *sqliteStore) SetAccountActive(ctx context.Context, did string, active bool, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var handle, head, rev string
	err = tx.QueryRowContext(ctx, `SELECT handle, head, rev FROM accounts WHERE did = ?`, did).Scan(&handle, &head, &rev)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("account %s: %w", did, ErrNotStored)
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET active = ? WHERE did = ?`, active, did); err != nil {
		return err
	}
	at := now.UnixMicro()
	if !active {
		if _, err := tx.ExecContext(ctx, `INSERT INTO seq (did, kind, time) VALUES (?, ?, ?)`, did, seqKindDeactivated, at); err != nil {
			return err
		}
		return tx.Commit()
	}
	for _, kind := range []string{"account", "identity"} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO seq (did, kind, handle, time) VALUES (?, ?, ?, ?)`, did, kind, handle, at); err != nil {
			return err
		}
	}
	if head != "" {
		c, err := cid.Decode(head)
		if err != nil {
			return fmt.Errorf("account %s: head %q: %w", did, head, err)
		}
		var data []byte
		if err := tx.QueryRowContext(ctx, `SELECT data FROM blocks WHERE did = ? AND cid = ?`, did, head).Scan(&data); err != nil {
			return fmt.Errorf("account %s: head commit %s: %w", did, head, err)
		}
		carBytes, err := blocksCAR(c, []Block{{CID: c, Data: data}})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO seq (did, kind, commit_cid, rev, car, too_big, time) VALUES (?, 'commit', ?, ?, ?, 1, ?)`, did, head, rev, carBytes, at); err != nil {
			return err
		}
	}
	return tx.Commit()
}
