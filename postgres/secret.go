package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"mediagate"
)

const (
	sqlInsertSecret = `INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`
	sqlSecret       = `SELECT name, value, created_at FROM secrets WHERE name = $1`
	// starts_with, not LIKE: prefixes are not patterns. The range on name
	// (COLLATE "C") lets the primary key serve it.
	sqlSecrets = `SELECT name, value, created_at FROM secrets WHERE name >= $1 AND starts_with(name, $1)
		ORDER BY created_at DESC, name DESC`
)

// EnsureSecret stores s unless a secret named s.Name exists, and returns the
// stored one with created true only if it was this call that stored it. A
// zero s.CreatedAt is taken as db.Now().
func (db *DB) EnsureSecret(ctx context.Context, s *mediagate.Secret) (*mediagate.Secret, bool, error) {
	if s.Name == "" {
		return nil, false, mediagate.Errorf(mediagate.EINVALID, "secret name is required")
	}
	want := &mediagate.Secret{Name: s.Name, Value: slices.Clone(s.Value), CreatedAt: s.CreatedAt}
	if want.CreatedAt.IsZero() {
		want.CreatedAt = db.Now()
	}
	want.CreatedAt = us(want.CreatedAt)
	if want.Value == nil {
		want.Value = []byte{} // the column is NOT NULL
	}
	// A losing insert waits for the winner's commit, so the read finds it.
	for range 3 {
		tag, err := db.pool.Exec(ctx, sqlInsertSecret, want.Name, want.Value, want.CreatedAt)
		if err != nil {
			return nil, false, fmt.Errorf("ensure secret %s: %w", s.Name, err)
		}
		if tag.RowsAffected() == 1 {
			return want, true, nil
		}
		stored, err := scanSecret(db.pool.QueryRow(ctx, sqlSecret, s.Name))
		if errors.Is(err, pgx.ErrNoRows) {
			continue // deleted in between (secrets are not deleted today)
		} else if err != nil {
			return nil, false, fmt.Errorf("ensure secret %s: %w", s.Name, err)
		}
		return stored, false, nil
	}
	return nil, false, fmt.Errorf("ensure secret %s: neither stored nor found", s.Name)
}

// Secrets returns the secrets whose names start with prefix (compared byte
// for byte), newest first.
func (db *DB) Secrets(ctx context.Context, prefix string) ([]*mediagate.Secret, error) {
	rows, err := db.pool.Query(ctx, sqlSecrets, prefix)
	if err != nil {
		return nil, fmt.Errorf("list secrets %q: %w", prefix, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*mediagate.Secret, error) { return scanSecret(r) })
	if err != nil {
		return nil, fmt.Errorf("list secrets %q: %w", prefix, err)
	}
	return list, nil
}

func scanSecret(s pgx.Row) (*mediagate.Secret, error) {
	var sec mediagate.Secret
	if err := s.Scan(&sec.Name, &sec.Value, &sec.CreatedAt); err != nil {
		return nil, err
	}
	sec.CreatedAt = sec.CreatedAt.UTC()
	return &sec, nil
}
