package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"mediagate/apiv1"
)

// AccountBalance is the caller's account and its money, in micro-credits.
type AccountBalance = apiv1.AccountBalance

// Usage is what the account was charged in a window, grouped.
type Usage = apiv1.Usage

// LedgerPage is one page of the account's ledger, newest first.
type LedgerPage = apiv1.LedgerPage

// Account returns the caller's account with its balance, held and available credit.
func (c *Client) Account(ctx context.Context) (*AccountBalance, error) {
	var out AccountBalance
	if err := c.do(ctx, call{method: http.MethodGet, path: "/v1/account", out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Usage returns the charges of the window [from, to) grouped by groupBy
// ("day", "operation" or "day,operation"); empty strings take the server's
// defaults (the last 30 days, by day).
func (c *Client) Usage(ctx context.Context, from, to, groupBy string) (*Usage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"from": from, "to": to, "group_by": groupBy} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out Usage
	if err := c.do(ctx, call{method: http.MethodGet, path: "/v1/usage?" + q.Encode(), out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Ledger returns one page of the account's ledger; cursor "" is the newest.
func (c *Client) Ledger(ctx context.Context, limit int, cursor string) (*LedgerPage, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out LedgerPage
	if err := c.do(ctx, call{method: http.MethodGet, path: "/v1/ledger?" + q.Encode(), out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}
