package pds

import (
	"context"
	"time"
)

// EventBounds returns the oldest and newest seq kept (0, 0 when the table
// is empty). Both are read in one statement, so they are consistent.
func (s *sqliteStore) EventBounds(ctx context.Context) (oldest, newest int64, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM seq`).Scan(&oldest, &newest)
	return oldest, newest, err
}

// TrimEvents removes the seq rows older than before, keeping the newest row
// whatever its age (so that the next seq, and a FutureCursor check, still
// know where the sequence is).
func (s *sqliteStore) TrimEvents(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM seq WHERE time < ? AND seq < (SELECT MAX(seq) FROM seq)`, before.UnixMicro())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
