package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"mediagate"
)

const (
	sqlInsertSecret = `INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`
	sqlSecret       = `SELECT name, value, created_at FROM secrets WHERE name = ?`
	sqlSecrets      = `SELECT name, value, created_at FROM secrets WHERE name >= ? AND name < ?
		ORDER BY created_at DESC, name DESC`
	sqlSecretsAll = `SELECT name, value, created_at FROM secrets WHERE name >= ? ORDER BY created_at DESC, name DESC`
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
	want.CreatedAt = fromMicros(micros(want.CreatedAt))
	if want.Value == nil {
		want.Value = []byte{} // the column is NOT NULL
	}
	var stored *mediagate.Secret
	var created bool
	err := db.write(ctx, func(tx *sql.Tx) (err error) {
		stored = want
		if created, err = insertSecret(db.txStmt(tx, db.insertSecret), want); err != nil || created {
			return err
		}
		stored, err = scanSecret(db.txStmt(tx, db.secret).QueryRow(s.Name))
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("ensure secret %s: %w", s.Name, err)
	}
	return stored, created, nil
}

// insertSecret stores s with stmt, bound to a transaction, unless its name is taken, and reports
// whether it did.
func insertSecret(stmt *sql.Stmt, s *mediagate.Secret) (bool, error) {
	res, err := stmt.Exec(s.Name, s.Value, micros(s.CreatedAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Secrets returns the secrets whose names start with prefix (compared byte
// for byte), newest first.
func (db *DB) Secrets(ctx context.Context, prefix string) ([]*mediagate.Secret, error) {
	var rows *sql.Rows
	var err error
	if upper, ok := successor(prefix); ok {
		rows, err = db.secrets.QueryContext(ctx, prefix, upper)
	} else {
		rows, err = db.secretsAll.QueryContext(ctx, prefix)
	}
	if err != nil {
		return nil, fmt.Errorf("list secrets %q: %w", prefix, err)
	}
	defer rows.Close()
	var list []*mediagate.Secret
	for rows.Next() {
		s, err := scanSecret(rows)
		if err != nil {
			return nil, fmt.Errorf("list secrets %q: %w", prefix, err)
		}
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list secrets %q: %w", prefix, err)
	}
	return list, nil
}

// successor returns the least string greater than every string that starts
// with prefix, so [prefix, successor) is exactly the strings with that
// prefix; ok is false if there is none (prefix empty or all 0xff bytes).
func successor(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

func scanSecret(s scanner) (*mediagate.Secret, error) {
	var sec mediagate.Secret
	var created int64
	if err := s.Scan(&sec.Name, &sec.Value, &created); err != nil {
		return nil, err
	}
	sec.CreatedAt = fromMicros(created)
	return &sec, nil
}
