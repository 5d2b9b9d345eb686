// Package client is a Go client for the mediagate HTTP API: one typed method
// per endpoint, plus UploadFile (single or parallel, resumable multipart
// uploads straight from a file) and Download.
//
// Every request is streamed; none holds a whole object in memory. API calls
// get a deadline (Client.Timeout); transfers of object bytes to and from signed
// URLs get none beyond the caller's context, since they may rightly take hours.
// Credentials go only to the API, never to signed blob URLs, which may point
// at another host (an S3 bucket, an edge node).
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxJSONResponse bounds how much of an API answer the client reads.
const maxJSONResponse = 32 << 20

// Client calls one mediagate server. Its fields may be changed before its
// first use; it is then safe for concurrent use.
type Client struct {
	// BaseURL is the server's root, like "http://127.0.0.1:8080".
	BaseURL string
	// Token is an API key ("mg_…") or a user's token, sent as a Bearer credential.
	Token string
	// HTTPClient makes every request. The default has no overall timeout, so
	// long transfers are not cut off; its transport bounds dialing and TLS.
	HTTPClient *http.Client
	// Timeout bounds each API call (not the transfer of object bytes);
	// 0 means no limit beyond the caller's context.
	Timeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
	// Retries is how many times an API call refused with 429 or 503 and a
	// Retry-After of at most MaxRetryAfter is tried again.
	Retries int
	// MaxRetryAfter is the longest Retry-After the client waits out by itself.
	MaxRetryAfter time.Duration
}

// Option configures a Client made by New.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests with hc.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.HTTPClient = hc } }

// WithTimeout sets the deadline of each API call (0: none).
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.Timeout = d } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.UserAgent = ua } }

// New returns a Client for the server at baseURL that authenticates with
// token (an API key or a user's token; "" for signup and login only).
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{
		BaseURL:       strings.TrimRight(baseURL, "/"),
		Token:         token,
		HTTPClient:    DefaultHTTPClient(),
		Timeout:       time.Minute,
		UserAgent:     "mediagate-client/1",
		Retries:       2,
		MaxRetryAfter: 30 * time.Second,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// DefaultHTTPClient returns the http.Client New uses: no overall timeout (a
// part upload or a download may take long; contexts bound them), but bounded
// dialing, TLS handshakes and idle connections, and enough idle connections
// per host for parallel part uploads.
func DefaultHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   10 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
			MaxIdleConns:          64,
			MaxIdleConnsPerHost:   32,
		},
	}
}

// call is one API request: a JSON body in (nil: none) and, unless out is nil,
// a JSON answer decoded into out.
type call struct {
	method  string
	path    string // with its query
	in      any
	out     any
	want    int  // the success status
	noLimit bool // exempt from c.Timeout (completion of a large upload)
	// raw, when not nil, is the body instead of in's JSON, of type rawType.
	raw     []byte
	rawType string
}

// do sends an API call with the Bearer credential, retries refusals that say
// when to come back, and turns an error status into an *Error.
func (c *Client) do(ctx context.Context, k call) error {
	if c.Timeout > 0 && !k.noLimit {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	body := k.raw
	if k.in != nil && k.raw == nil {
		var err error
		if body, err = json.Marshal(k.in); err != nil {
			return fmt.Errorf("encode %s %s: %w", k.method, k.path, err)
		}
	}
	// One key for every try of this call, so a retried POST is not done twice.
	idem := ""
	if k.method == http.MethodPost {
		idem = newIdempotencyKey()
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, k.method, c.BaseURL+k.path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		switch {
		case body == nil:
			req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
		case k.raw != nil:
			req.Header.Set("Content-Type", k.rawType)
		default:
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		if c.Token != "" {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
		c.setUserAgent(req)
		resp, err := c.HTTPClient.Do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode == k.want {
			err = decodeJSON(resp, k.out)
			if err != nil {
				err = fmt.Errorf("%s %s: %w", k.method, k.path, err)
			}
			return err
		}
		wait, retry := c.retryAfter(resp, attempt)
		apiErr := responseError(resp)
		if !retry {
			return apiErr
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return apiErr
		case <-t.C:
		}
	}
}

// send sends one request with the credential as it is — a body of
// contentType ("" for none) and size bytes (≤ 0: unknown, sent chunked), no
// retries, no check of the status — for bodies that are not JSON and
// answers that take several statuses.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, size int64, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, err
	}
	if size > 0 {
		req.ContentLength = size
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	c.setUserAgent(req)
	return c.HTTPClient.Do(req)
}

// retryAfter says whether a refused call is worth trying again, and when.
func (c *Client) retryAfter(resp *http.Response, attempt int) (time.Duration, bool) {
	if attempt >= c.Retries || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0, false
	}
	secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
	if err != nil || secs < 0 {
		return 0, false
	}
	d := time.Duration(secs) * time.Second
	return d, d <= c.MaxRetryAfter
}

func (c *Client) setUserAgent(req *http.Request) {
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
}

// decodeJSON reads the whole answer into out (nil: discards it) and closes it.
func decodeJSON(resp *http.Response, out any) error {
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxJSONResponse)
	if out == nil {
		io.Copy(io.Discard, body)
		return nil
	}
	if err := json.NewDecoder(body).Decode(out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	io.Copy(io.Discard, body) // let the connection be reused
	return nil
}

func newIdempotencyKey() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pathID escapes an id for use as one path segment.
func pathID(id string) string { return url.PathEscape(id) }
