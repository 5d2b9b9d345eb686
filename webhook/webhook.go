// Package webhook delivers signed callbacks: a job's result POSTed to the
// callback_url its owner gave.
//
// Every attempt carries
//
//	Mediagate-Timestamp: <unix seconds>
//	Mediagate-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// signed afresh, with the account's webhook secret (GET
// /v1/account/webhook-secret). A receiver recomputes the HMAC over the raw
// body, compares in constant time and refuses stale timestamps (Verify).
// 2xx is delivered; 408, 429, 5xx and network errors are retried with
// backoff (honouring Retry-After); any other answer is final.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sender delivers callbacks.
type Sender struct {
	Client      *http.Client // dial through internal/safedial in production
	MaxAttempts int          // default 6
	// Backoff is the wait before attempt n+1 (n ≥ 1); default 1 s doubling,
	// at most 5 minutes, with ±20% jitter.
	Backoff func(attempt int) time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Sign returns the signature header value of body at timestamp ts.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a callback's signature and that its timestamp is within
// tolerance of now.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook: bad timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook: stale timestamp")
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return errors.New("webhook: bad signature")
	}
	return nil
}

// errFinal is an answer not worth another attempt.
var errFinal = errors.New("webhook: refused")

// Deliver POSTs body to url, signed with secret, until it is taken, refused
// for good, attempts run out or ctx ends.
func (s *Sender) Deliver(ctx context.Context, url string, secret, body []byte) error {
	attempts := s.MaxAttempts
	if attempts <= 0 {
		attempts = 6
	}
	var err error
	for n := 1; ; n++ {
		var wait time.Duration
		wait, err = s.attempt(ctx, url, secret, body)
		if err == nil || errors.Is(err, errFinal) || n >= attempts {
			return err
		}
		wait = max(wait, s.backoff(n))
		if s.Logger != nil {
			s.Logger.Warn("callback failed; retrying", "url", url, "attempt", n, "wait", wait, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// attempt makes one POST; wait is the Retry-After the receiver asked for.
func (s *Sender) attempt(ctx context.Context, url string, secret, body []byte) (time.Duration, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ts := now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errFinal, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mediagate-webhook")
	req.Header.Set("Mediagate-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("Mediagate-Signature", Sign(secret, ts, body))
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if strings.Contains(err.Error(), "not a public unicast address") {
			return 0, fmt.Errorf("%w: %v", errFinal, err)
		}
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return 0, nil
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return min(time.Duration(max(secs, 0))*time.Second, 5*time.Minute), fmt.Errorf("webhook: %s answered %s", url, resp.Status)
	}
	return 0, fmt.Errorf("%w: %s answered %s", errFinal, url, resp.Status)
}

func (s *Sender) backoff(n int) time.Duration {
	if s.Backoff != nil {
		return s.Backoff(n)
	}
	d := time.Second << min(n-1, 9)
	d = min(d, 5*time.Minute)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
