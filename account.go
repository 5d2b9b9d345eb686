package mediagate

import (
	"context"
	"time"
)

// Account owns everything else: users, keys, objects. Every query a caller
// makes is scoped to its account.
type Account struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// User is a person who signs in with an email and a password to act for an
// account. PasswordHash is an argon2id hash in PHC string form.
type User struct {
	ID           string
	AccountID    string
	Email        string // stored lower-cased
	PasswordHash string
	CreatedAt    time.Time
}

// AccountStore keeps accounts and their users.
type AccountStore interface {
	// CreateAccount stores a new account. ID and CreatedAt must be set.
	CreateAccount(ctx context.Context, a *Account) error
	// CreateAccountWithUser stores a new account and its first user in one
	// transaction; it returns ECONFLICT, and stores neither, if the email is taken.
	CreateAccountWithUser(ctx context.Context, a *Account, u *User) error
	// Account returns ENOTFOUND if no account has id.
	Account(ctx context.Context, id string) (*Account, error)
	// Accounts returns every account, oldest first.
	Accounts(ctx context.Context) ([]*Account, error)
	// UserByEmail returns ENOTFOUND if no user has email (compared lower-cased).
	UserByEmail(ctx context.Context, email string) (*User, error)
}
