package client

import (
	"context"
	"net/http"
	"time"
)

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

// SignupRequest is the body of POST /v1/auth/signup.
type SignupRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	AccountName string `json:"account_name,omitempty"`
}

// Signup is the answer to a signup: the new account, its first user, and a
// token that acts for it until ExpiresAt.
type Signup struct {
	Account   Account   `json:"account"`
	User      User      `json:"user"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Session is the answer to a login: a token that acts for the account.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	AccountID string    `json:"account_id"`
}

// Signup creates an account and its first user. It needs no credential.
// Use the returned token with New, or set c.Token to it.
func (c *Client) Signup(ctx context.Context, req SignupRequest) (*Signup, error) {
	var out Signup
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/auth/signup", in: req, out: &out, want: http.StatusCreated}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Login signs in with an email and a password; it answers unauthorized for
// a wrong pair. It needs no credential.
func (c *Client) Login(ctx context.Context, email, password string) (*Session, error) {
	in := struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}{email, password}
	var out Session
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/auth/login", in: in, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}
