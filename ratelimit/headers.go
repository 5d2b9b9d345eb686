package ratelimit

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"mediagate"
)

// Headers returns the headers that describe d to the client, per
// draft-ietf-httpapi-ratelimit-headers (the structured-field form of drafts
// 08 and later), under the policy name policy:
//
//	RateLimit-Policy: "policy";q=<Rate>;w=<Period in seconds, rounded up>
//	RateLimit: "policy";r=<Remaining>;t=<ResetAfter in seconds, rounded up>
//	Retry-After: <RetryAfter in seconds, rounded up, at least 1>   (refused only)
//
// q/w state the sustained policy as configured; r counts down from Burst
// (so r may exceed q when Burst > Rate) and t is when the bucket is full
// again. The API chooses the policy name per route class. The policy name is sent as a
// structured-field string: '"' and '\' are escaped, and bytes outside
// printable ASCII are dropped.
func Headers(d mediagate.Decision, policy string) http.Header {
	name := sfString(policy)
	h := make(http.Header, 3)
	h.Set("RateLimit-Policy", name+";q="+strconv.FormatInt(d.Limit.Rate, 10)+
		";w="+strconv.FormatInt(ceilSeconds(d.Limit.Period), 10))
	h.Set("RateLimit", name+";r="+strconv.FormatInt(max(d.Remaining, 0), 10)+
		";t="+strconv.FormatInt(ceilSeconds(d.ResetAfter), 10))
	if !d.Allowed {
		h.Set("Retry-After", strconv.FormatInt(max(ceilSeconds(d.RetryAfter), 1), 10))
	}
	return h
}

// ceilSeconds returns d in whole seconds, rounded up; 0 for d ≤ 0.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}

// sfString quotes s as an RFC 9651 structured-field string.
func sfString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c <= 0x7e:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
