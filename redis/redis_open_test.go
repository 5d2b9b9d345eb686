package redis_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/redis"
)

// openURL is the test Redis's URL with a prefix parameter.
func openURL(t *testing.T, prefix string) string {
	u, err := url.Parse(testURL())
	if err != nil {
		t.Fatalf("MEDIAGATE_TEST_REDIS: %v", err)
	}
	q := u.Query()
	q.Set("prefix", prefix)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestOpen(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	rl, err := redis.Open(t.Context(), openURL(t, prefix))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if rl.Prefix() != prefix {
		t.Fatalf("Prefix() = %q, want %q", rl.Prefix(), prefix)
	}
	lim := mediagate.Limit{Rate: 1, Period: time.Minute, Burst: 1}
	if d, err := rl.Allow(t.Context(), "a", lim, 1); err != nil || !d.Allowed {
		t.Fatalf("Allow: %+v, %v; want allowed", d, err)
	}
	if n := c.Exists(t.Context(), prefix+"a").Val(); n != 1 {
		t.Fatalf("key %sa exists=%d, want 1", prefix, n)
	}
	if err := rl.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := rl.Allow(t.Context(), "a", lim, 1); err == nil {
		t.Fatalf("Allow after Close: no error")
	}

	rl, err = redis.Open(t.Context(), testURL())
	if err != nil {
		t.Fatalf("Open without prefix: %v", err)
	}
	if rl.Prefix() != redis.DefaultPrefix {
		t.Fatalf("Prefix() = %q, want %q", rl.Prefix(), redis.DefaultPrefix)
	}
	rl.Close()
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"redis://127.0.0.1:1/0", "unreachable"}, // nothing listens on port 1
		{"redis://127.0.0.1:6379/0?bogus=1", "unexpected option"},
		{"http://127.0.0.1:6379/0", "invalid URL scheme"},
		{"redis://127.0.0.1:6379/x", "invalid database"},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		rl, err := redis.Open(ctx, tc.url)
		cancel()
		if err == nil {
			rl.Close()
			t.Fatalf("Open(%s): no error, want one containing %q", tc.url, tc.want)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("Open(%s): %v, want an error containing %q", tc.url, err, tc.want)
		}
		t.Logf("Open(%s): %v", tc.url, err)
	}
}

// TestOpenTimesOut: a Redis that accepts connections but never answers is
// given up on with a timeout (the limiter's short defaults), not waited for.
func TestOpenTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, silent, until the listener closes
		}
	}()
	_, err = redis.Open(t.Context(), "redis://"+ln.Addr().String()+"/0")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Open of a silent server: %v, want a timeout", err)
	}
}
