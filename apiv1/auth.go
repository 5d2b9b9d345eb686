package apiv1

import "time"

// SignupRequest is the body of POST /v1/auth/signup.
type SignupRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"` // 8 to 1024 bytes
	// AccountName names the new account; "": the email address.
	AccountName string `json:"account_name"`
}

// SignupResponse is the answer to POST /v1/auth/signup: the new account, its
// first user, and a token that acts for it until ExpiresAt.
type SignupResponse struct {
	Account   Account   `json:"account"`
	User      User      `json:"user"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// LoginRequest is the body of POST /v1/auth/login.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// LoginResponse is the answer to POST /v1/auth/login: a token that acts for
// the account until ExpiresAt.
type LoginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	AccountID string    `json:"account_id"`
}

// Account owns users, keys and objects.
type Account struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// User is a person who signs in to act for an account.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}
