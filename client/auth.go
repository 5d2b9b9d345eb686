package client

import (
	"context"
	"net/http"

	"mediagate/apiv1"
)

// Account owns users, keys and objects.
type Account = apiv1.Account

// User is a person who signs in to act for an account.
type User = apiv1.User

// SignupRequest is the body of POST /v1/auth/signup. AccountName "" names the
// account after the email address.
type SignupRequest = apiv1.SignupRequest

// Signup is the answer to a signup: the new account, its first user, and a
// token that acts for it until ExpiresAt.
type Signup = apiv1.SignupResponse

// Session is the answer to a login: a token that acts for the account.
type Session = apiv1.LoginResponse

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
	in := apiv1.LoginRequest{Email: email, Password: password}
	var out Session
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/auth/login", in: in, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}
