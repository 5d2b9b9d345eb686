package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"mediagate"
)

const (
	sqlInsertAccount = `INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)`
	sqlAccount       = `SELECT id, name, created_at FROM accounts WHERE id = $1`
	sqlAccounts      = `SELECT id, name, created_at FROM accounts ORDER BY created_at, id`
	sqlInsertUser    = `INSERT INTO users (id, account_id, email, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)`
	sqlUserByEmail   = `SELECT id, account_id, email, password_hash, created_at FROM users WHERE email = $1`
)

// CreateAccount stores a new account and its (empty) balance; ECONFLICT if
// its id is taken.
func (db *DB) CreateAccount(ctx context.Context, a *mediagate.Account) error {
	if a.ID == "" {
		return mediagate.Errorf(mediagate.EINVALID, "account id is required")
	}
	return insertAccount(ctx, db.pool, a)
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
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := insertAccount(ctx, tx, a); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sqlInsertUser, u.ID, u.AccountID, u.Email, u.PasswordHash, us(u.CreatedAt))
		switch {
		case err == nil:
			return nil
		case uniqueOn(err, "users_email"):
			return mediagate.Errorf(mediagate.ECONFLICT, "email already registered")
		case isUnique(err):
			return mediagate.Errorf(mediagate.ECONFLICT, "user %s already exists", u.ID)
		}
		return fmt.Errorf("create user %s: %w", u.ID, err)
	})
}

// insertAccount stores a with q; ECONFLICT if its id is taken.
func insertAccount(ctx context.Context, q querier, a *mediagate.Account) error {
	_, err := q.Exec(ctx, sqlInsertAccount, a.ID, a.Name, us(a.CreatedAt))
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return mediagate.Errorf(mediagate.ECONFLICT, "account %s already exists", a.ID)
	}
	return fmt.Errorf("create account %s: %w", a.ID, err)
}

// Account returns ENOTFOUND if no account has id.
func (db *DB) Account(ctx context.Context, id string) (*mediagate.Account, error) {
	a, err := scanAccount(db.pool.QueryRow(ctx, sqlAccount, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("get account %s: %w", id, err)
	}
	return a, nil
}

// Accounts returns every account, oldest first.
func (db *DB) Accounts(ctx context.Context) ([]*mediagate.Account, error) {
	rows, err := db.pool.Query(ctx, sqlAccounts)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*mediagate.Account, error) { return scanAccount(r) })
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return list, nil
}

// UserByEmail returns ENOTFOUND if no user has email, compared lower-cased.
func (db *DB) UserByEmail(ctx context.Context, email string) (*mediagate.User, error) {
	var u mediagate.User
	err := db.pool.QueryRow(ctx, sqlUserByEmail, strings.ToLower(email)).
		Scan(&u.ID, &u.AccountID, &u.Email, &u.PasswordHash, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "no user with email %s", email)
	} else if err != nil {
		return nil, fmt.Errorf("get user by email: %w", err)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

func scanAccount(s pgx.Row) (*mediagate.Account, error) {
	var a mediagate.Account
	if err := s.Scan(&a.ID, &a.Name, &a.CreatedAt); err != nil {
		return nil, err
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return &a, nil
}
