package benchkit

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// ClientOptions tunes the client NewClient returns.
type ClientOptions struct {
	// IdleConnsPerHost is how many idle keep-alive connections are kept per
	// host (twice as many in all): at least one per worker, so that a run
	// measures the server rather than connection set-up.
	IdleConnsPerHost int
	// Timeout bounds each request and the wait for its response headers;
	// 0 means no limit.
	Timeout time.Duration
	// Dials, when not nil, counts the connections the client dials.
	Dials *atomic.Int64
}

// NewClient returns the HTTP/1.1 client the benchmarks measure with: no
// proxy, no compression, keep-alive connections kept idle for reuse, and
// redirects returned rather than followed.
func NewClient(o ClientOptions) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	dial := d.DialContext
	if o.Dials != nil {
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			o.Dials.Add(1)
			return d.DialContext(ctx, network, addr)
		}
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dial,
		MaxIdleConns:          2 * o.IdleConnsPerHost,
		MaxIdleConnsPerHost:   o.IdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ResponseHeaderTimeout: o.Timeout,
	}
	return &http.Client{Transport: tr, Timeout: o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// WaitReady GETs u every 50 ms until the server answers anything, and
// returns the last error if it has not by the deadline.
func WaitReady(client *http.Client, u string, deadline time.Time) error {
	for {
		resp, err := client.Get(u)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
