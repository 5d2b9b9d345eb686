package client

import (
	"context"
	"net/http"

	"mediagate/apiv1"
)

// Key is an API key. Secret is set only in the answer to CreateKey: the server
// keeps a hash and never shows the secret again.
type Key = apiv1.Key

// CreateKey makes an API key for the caller's account with the given scopes
// (none: the caller's user scopes); a key never gets a scope its maker lacks.
func (c *Client) CreateKey(ctx context.Context, name string, scopes ...string) (*Key, error) {
	in := apiv1.CreateKeyRequest{Name: name, Scopes: scopes}
	var out Key
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/keys", in: in, out: &out, want: http.StatusCreated}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Keys lists the account's API keys, revoked ones included, newest first.
func (c *Client) Keys(ctx context.Context) ([]Key, error) {
	var out apiv1.KeyList
	if err := c.do(ctx, call{method: http.MethodGet, path: "/v1/keys", out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return out.Keys, nil
}

// RevokeKey revokes an API key at once; revoking a revoked key is not an error.
func (c *Client) RevokeKey(ctx context.Context, id string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: "/v1/keys/" + pathID(id), want: http.StatusNoContent})
}
