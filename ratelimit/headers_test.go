package ratelimit

import (
	"net/http"
	"testing"
	"time"

	"mediagate"
)

func TestHeaders(t *testing.T) {
	perMin := mediagate.Limit{Rate: 100, Period: time.Minute, Burst: 100}
	for _, tc := range []struct {
		name   string
		d      mediagate.Decision
		policy string
		want   http.Header
	}{
		{
			name:   "allowed",
			d:      mediagate.Decision{Allowed: true, Limit: perMin, Remaining: 42, ResetAfter: 17 * time.Second},
			policy: "default",
			want: http.Header{
				"Ratelimit-Policy": {`"default";q=100;w=60`},
				"Ratelimit":        {`"default";r=42;t=17`},
			},
		},
		{
			name:   "reset rounded up",
			d:      mediagate.Decision{Allowed: true, Limit: perMin, Remaining: 99, ResetAfter: 600 * time.Millisecond},
			policy: "upload",
			want: http.Header{
				"Ratelimit-Policy": {`"upload";q=100;w=60`},
				"Ratelimit":        {`"upload";r=99;t=1`},
			},
		},
		{
			name:   "full bucket",
			d:      mediagate.Decision{Allowed: true, Limit: mediagate.Limit{Rate: 5, Period: 1500 * time.Millisecond, Burst: 9}, Remaining: 9},
			policy: "p",
			want: http.Header{
				"Ratelimit-Policy": {`"p";q=5;w=2`},
				"Ratelimit":        {`"p";r=9;t=0`},
			},
		},
		{
			name:   "refused",
			d:      mediagate.Decision{Limit: perMin, RetryAfter: 2*time.Second + 1, ResetAfter: time.Minute},
			policy: "ip",
			want: http.Header{
				"Ratelimit-Policy": {`"ip";q=100;w=60`},
				"Ratelimit":        {`"ip";r=0;t=60`},
				"Retry-After":      {"3"},
			},
		},
		{
			name:   "refused for 1ns",
			d:      mediagate.Decision{Limit: perMin, RetryAfter: 1, ResetAfter: time.Minute},
			policy: "ip",
			want: http.Header{
				"Ratelimit-Policy": {`"ip";q=100;w=60`},
				"Ratelimit":        {`"ip";r=0;t=60`},
				"Retry-After":      {"1"},
			},
		},
		{
			name:   "refused exact seconds",
			d:      mediagate.Decision{Limit: perMin, RetryAfter: 5 * time.Second, ResetAfter: 35 * time.Second},
			policy: "ip",
			want: http.Header{
				"Ratelimit-Policy": {`"ip";q=100;w=60`},
				"Ratelimit":        {`"ip";r=0;t=35`},
				"Retry-After":      {"5"},
			},
		},
		{
			name:   "name escaped",
			d:      mediagate.Decision{Allowed: true, Limit: perMin, Remaining: 1, ResetAfter: time.Second},
			policy: "a\"b\\c\nd\x7fé",
			want: http.Header{
				"Ratelimit-Policy": {`"a\"b\\cd";q=100;w=60`},
				"Ratelimit":        {`"a\"b\\cd";r=1;t=1`},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Headers(tc.d, tc.policy)
			if len(got) != len(tc.want) {
				t.Errorf("got %d headers %v, want %d %v", len(got), got, len(tc.want), tc.want)
			}
			for k, v := range tc.want {
				if g := got.Values(k); len(g) != 1 || g[0] != v[0] {
					t.Errorf("%s=%q, want %q", k, g, v[0])
				}
			}
		})
	}
}

func TestCeilSeconds(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int64
	}{
		{-time.Second, 0}, {0, 0}, {1, 1}, {time.Second - 1, 1}, {time.Second, 1},
		{time.Second + 1, 2}, {90 * time.Second, 90}, {1<<63 - 1, 9223372037},
	} {
		if got := ceilSeconds(tc.d); got != tc.want {
			t.Errorf("ceilSeconds(%v)=%d, want %d", tc.d, got, tc.want)
		}
	}
}
