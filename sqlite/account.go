package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"mediagate"
)

const (
	sqlInsertAccount = `INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)`
	sqlAccount       = `SELECT id, name, created_at FROM accounts WHERE id = ?`
	sqlAccounts      = `SELECT id, name, created_at FROM accounts ORDER BY created_at, id`
	sqlInsertUser    = `INSERT INTO users (id, account_id, email, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`
	sqlUserByEmail   = `SELECT id, account_id, email, password_hash, created_at FROM users WHERE email = ?`
)

// CreateAccount stores a new account; ECONFLICT if its id is taken.
func (db *DB) CreateAccount(ctx context.Context, a *mediagate.Account) error {
	if a.ID == "" {
		return mediagate.Errorf(mediagate.EINVALID, "account id is required")
	}
	return db.write(ctx, func(tx *sql.Tx) error { return db.insertAccountTx(tx, a) })
}

// CreateAccountWithUser stores a new account and its first user in one
// transaction; ECONFLICT, and neither stored, if the email is taken. It sets
// u.Email to its lower-case form, as stored, and u.AccountID to a.ID.
func (db *DB) CreateAccountWithUser(ctx context.Context, a *mediagate.Account, u *mediagate.User) error {
	if a.ID == "" || u.ID == "" {
		return mediagate.Errorf(mediagate.EINVALID, "account and user ids are required")
	}
	u.Email = strings.ToLower(u.Email)
	u.AccountID = a.ID
	return db.write(ctx, func(tx *sql.Tx) error {
		return savepoint(tx, func() error {
			if err := db.insertAccountTx(tx, a); err != nil {
				return err
			}
			return db.insertUserTx(tx, u)
		})
	})
}

// insertAccountTx stores a within tx; ECONFLICT if its id is taken.
func (db *DB) insertAccountTx(tx *sql.Tx, a *mediagate.Account) error {
	_, err := db.txStmt(tx, db.insertAccount).Exec(a.ID, a.Name, micros(a.CreatedAt))
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return mediagate.Errorf(mediagate.ECONFLICT, "account %s already exists", a.ID)
	}
	return fmt.Errorf("create account %s: %w", a.ID, err)
}

// insertUserTx stores u within tx; ECONFLICT if its email or id is taken.
func (db *DB) insertUserTx(tx *sql.Tx, u *mediagate.User) error {
	_, err := db.txStmt(tx, db.insertUser).Exec(u.ID, u.AccountID, u.Email, u.PasswordHash, micros(u.CreatedAt))
	switch {
	case err == nil:
		return nil
	case uniqueOn(err, "users.email"):
		return mediagate.Errorf(mediagate.ECONFLICT, "email already registered")
	case isUnique(err):
		return mediagate.Errorf(mediagate.ECONFLICT, "user %s already exists", u.ID)
	case isForeignKey(err):
		return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", u.AccountID)
	}
	return fmt.Errorf("create user %s: %w", u.ID, err)
}

// Account returns ENOTFOUND if no account has id.
func (db *DB) Account(ctx context.Context, id string) (*mediagate.Account, error) {
	a, err := scanAccount(db.account.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("get account %s: %w", id, err)
	}
	return a, nil
}

// Accounts returns every account, oldest first.
func (db *DB) Accounts(ctx context.Context) ([]*mediagate.Account, error) {
	rows, err := db.accounts.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var list []*mediagate.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		list = append(list, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return list, nil
}

// UserByEmail returns ENOTFOUND if no user has email, compared lower-cased.
func (db *DB) UserByEmail(ctx context.Context, email string) (*mediagate.User, error) {
	var u mediagate.User
	var created int64
	err := db.userByEmail.QueryRowContext(ctx, strings.ToLower(email)).
		Scan(&u.ID, &u.AccountID, &u.Email, &u.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "no user with email %s", email)
	} else if err != nil {
		return nil, fmt.Errorf("get user by email: %w", err)
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanAccount(s scanner) (*mediagate.Account, error) {
	var a mediagate.Account
	var created int64
	if err := s.Scan(&a.ID, &a.Name, &created); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}
