package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"mediagate/apiv1"
)

// The edge protocol: a key with the edge scope registers an edge, draws and
// reports credit leases, follows the deletion feed, fills its cache and
// checks its clients' credentials.

// RegisterEdge registers the calling edge, serving region at its public url.
func (c *Client) RegisterEdge(ctx context.Context, region, publicURL string) (*apiv1.EdgeRegistration, error) {
	var out apiv1.EdgeRegistration
	in := apiv1.EdgeRegisterRequest{Region: region, URL: publicURL}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/edge/register", in: in, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// DrawLease draws download credit for an account: up to want bytes, at
// least need (else a 402 *Error), after closing the lease in closing (if
// not nil).
func (c *Client) DrawLease(ctx context.Context, accountID string, want, need int64, closing *apiv1.EdgeLeaseUsage) (*apiv1.EdgeLease, error) {
	var out apiv1.EdgeLease
	in := apiv1.EdgeLeaseRequest{AccountID: accountID, Bytes: want, Need: need, Close: closing}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/edge/leases", in: in, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReportLeases reports the usage of leases (and closes those marked) and
// returns what became of each.
func (c *Client) ReportLeases(ctx context.Context, leases []apiv1.EdgeLeaseUsage) ([]apiv1.EdgeLeaseResult, error) {
	var out apiv1.EdgeReportResponse
	in := apiv1.EdgeReportRequest{Leases: leases}
	if in.Leases == nil {
		in.Leases = []apiv1.EdgeLeaseUsage{}
	}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/edge/report", in: in, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return out.Leases, nil
}

// Deletions returns the page of the deletion feed after the cursor (a zero
// cursor: from the start).
func (c *Client) Deletions(ctx context.Context, after apiv1.EdgeFeedCursor, limit int) (*apiv1.EdgeDeletions, error) {
	q := url.Values{}
	if !after.Time.IsZero() {
		q.Set("after_time", after.Time.UTC().Format(time.RFC3339Nano))
		q.Set("after_id", after.ID)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out apiv1.EdgeDeletions
	if err := c.do(ctx, call{method: http.MethodGet, path: "/v1/edge/deletions?" + q.Encode(), out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// AuthorizeRead asks whether credential may read object id, and returns the
// object as an edge serves it.
func (c *Client) AuthorizeRead(ctx context.Context, credential, id string) (*apiv1.EdgeAuthorization, error) {
	var out apiv1.EdgeAuthorization
	in := apiv1.EdgeAuthorizeRequest{Credential: credential, ObjectID: id}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/edge/authorize", in: in, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// EdgeBlob opens the bytes of the account's object with storage key for an
// edge's cache. The caller reads and closes the body; X-Mg-SHA256 and
// Content-Length say what it must hold.
func (c *Client) EdgeBlob(ctx context.Context, accountID, key string) (*http.Response, error) {
	resp, err := c.send(ctx, http.MethodGet, "/v1/edge/blobs/"+(&url.URL{Path: key}).EscapedPath()+"?account="+url.QueryEscape(accountID), nil, 0, "")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, responseError(resp)
	}
	return resp, nil
}
